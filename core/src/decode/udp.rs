//! UDP (RFC 768) and the tunnels found by UDP port (GTP-U, VXLAN, Geneve, Teredo).
//!
//! [`UdpDatagram::new_checked`] checks the 8-byte header and that the length field is at
//! least 8; accessors cannot panic after. A length field larger than the IP payload is the
//! anomaly `udp_length_mismatch` and the IP payload is used; a smaller one trims the payload.
//! A fragmented datagram is not checked against its length or checksum, and the tunnel it may
//! carry is not entered (the inner packet is incomplete): the outer datagram is the flow.

use super::bytes::{be16, head, tail};
use super::ip::IpPayload;
use super::{checksum, gtpu, teredo, vxlan, Cx, Udp, L4};
use crate::model::{Anomaly, DecodeLayer, DecodeReason};

mod field {
    use std::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// The header length.
pub(crate) const HEADER_LEN: usize = field::PAYLOAD;

/// Well-known tunnel ports (IANA).
pub(crate) mod port {
    pub const GTP_U: u16 = 2152;
    pub const VXLAN: u16 = 4789;
    pub const VXLAN_GPE: u16 = 4790;
    pub const GENEVE: u16 = 6081;
    pub const TEREDO: u16 = 3544;
}

/// Overlay ports, decoded by `vxlan`.
const OVERLAY: [u16; 3] = [port::VXLAN, port::VXLAN_GPE, port::GENEVE];

/// A checked view of a UDP header over the captured bytes of the datagram.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UdpDatagram<'a> {
    buf: &'a [u8],
}

impl<'a> UdpDatagram<'a> {
    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        if buf.len() < HEADER_LEN {
            return Err(DecodeReason::Truncated);
        }
        if usize::from(be16(buf, field::LENGTH)) < HEADER_LEN {
            return Err(DecodeReason::BadLength);
        }
        Ok(UdpDatagram { buf })
    }

    pub(crate) fn src_port(&self) -> u16 {
        be16(self.buf, field::SRC_PORT)
    }
    pub(crate) fn dst_port(&self) -> u16 {
        be16(self.buf, field::DST_PORT)
    }
    pub(crate) fn length(&self) -> usize {
        usize::from(be16(self.buf, field::LENGTH))
    }
    pub(crate) fn checksum(&self) -> u16 {
        be16(self.buf, field::CHECKSUM)
    }
}

/// Decodes a UDP datagram, then any tunnel it carries.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, p: &IpPayload<'a>) {
    let u = match UdpDatagram::new_checked(p.data) {
        Ok(u) => u,
        Err(reason) => return cx.fail(DecodeLayer::Udp, p.off, reason),
    };
    let wire = p.wire_len as usize;
    let claimed = u.length();
    let (len, lied) = if claimed > wire && !p.fragment {
        cx.d.anomalies.add(Anomaly::UdpLengthMismatch);
        (wire, true)
    } else {
        (claimed, false)
    };
    let datagram = head(p.data, len);
    if !lied && u.checksum() != 0 && p.checkable() && datagram.len() == len {
        let total = checksum::add(
            checksum::pseudo(p.addr_sum, p.proto, len as u32),
            checksum::sum(datagram),
        );
        if !checksum::is_valid(total) {
            cx.d.anomalies.add(Anomaly::BadUdpChecksum);
        }
    }
    let payload = tail(datagram, HEADER_LEN);
    let (sport, dport) = (u.src_port(), u.dst_port());
    cx.d.l4 = L4::Udp(Udp {
        src_port: sport,
        dst_port: dport,
        len: len.saturating_sub(HEADER_LEN) as u32,
        payload,
    });
    if p.fragment {
        // The inner packet is incomplete here: report the outer datagram.
        return;
    }
    let off = p.off + HEADER_LEN;
    let either = |port: u16| sport == port || dport == port;
    if either(port::GTP_U) {
        gtpu::decode(cx, payload, off);
    } else if let Some(p) = [dport, sport].into_iter().find(|p| OVERLAY.contains(p)) {
        // Senders put the overlay port in the destination (the source is a flow hash), but
        // replies from it come from it too: either port, the destination first.
        vxlan::decode(cx, p, payload, off);
    } else if either(port::TEREDO) {
        teredo::decode(cx, payload, off, true);
    } else if teredo::may_be(payload) {
        teredo::decode(cx, payload, off, false);
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn anomalies(d: &crate::decode::Decoded<'_>) -> Vec<&'static str> {
        d.anomalies.iter().map(|a| a.as_str()).collect()
    }

    #[test]
    fn udp_fields_and_checksum() {
        let ip = ipv4(
            17,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &udp(5004, 5006, &[0x80; 20]),
        );
        let d = decode(228, &ip);
        assert!(d.anomalies.is_empty(), "{:?}", anomalies(&d));
        assert!(
            matches!(d.l4, L4::Udp(u) if u.len == 20 && u.payload.len() == 20 && u.src_port == 5004)
        );
        let mut bad = ip.clone();
        bad[30] ^= 1;
        assert_eq!(anomalies(&decode(228, &bad)), ["bad_udp_checksum"]);
        // Zero checksum: not computed by the sender, not checked.
        let mut none = bad.clone();
        none[26..28].copy_from_slice(&[0, 0]);
        assert!(decode(228, &none).anomalies.is_empty());
        let v6 = ipv6(17, 1, 2, &udp(1, 2, b"abc"));
        assert!(decode(229, &v6).anomalies.is_empty());
        sweep(228, &ip, &[(0, "ipv4"), (20, "udp"), (28, "")]);
    }

    #[test]
    fn length_lies() {
        // UDP length 100 in a 28-byte IP packet.
        let mut seg = udp(1, 2, &[1, 2, 3, 4]);
        seg[4..6].copy_from_slice(&100u16.to_be_bytes());
        let buf = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &seg);
        let d = decode(228, &buf);
        assert_eq!(anomalies(&d), ["udp_length_mismatch"]);
        assert!(matches!(d.l4, L4::Udp(u) if u.len == 4 && u.payload == [1, 2, 3, 4]));
        // UDP length 10 with 4 payload bytes: trimmed to 2.
        seg[4..6].copy_from_slice(&10u16.to_be_bytes());
        let buf = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &seg);
        let d = decode(228, &buf);
        assert!(
            matches!(d.l4, L4::Udp(u) if u.len == 2 && u.payload == [1, 2]),
            "{:?}",
            d.l4
        );
        // UDP length < 8 is impossible.
        seg[4..6].copy_from_slice(&7u16.to_be_bytes());
        let e = decode(228, &ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &seg))
            .error
            .unwrap();
        assert_eq!(
            (e.layer.as_str(), e.offset, e.reason.as_str()),
            ("udp", 20, "bad_length")
        );
    }
}
