//! PPPoE sessions (RFC 2516): EtherType 0x8864 and LINKTYPE_PPP_ETHER (51).
//!
//! [`PppoeHeader::new_checked`] checks the 6-byte header; its length field bounds the PPP
//! frame (it may be shorter than the captured data when Ethernet padding follows). Only
//! session data (code 0) carries PPP; discovery packets decode to nothing.

use super::bytes::{be16, head, tail, u8_at};
use super::{ppp, Cx};
use crate::model::{DecodeLayer, DecodeReason};

mod field {
    use std::ops::Range;
    pub const VER_TYPE: usize = 0;
    pub const CODE: usize = 1;
    #[allow(dead_code)]
    pub const SESSION_ID: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const PAYLOAD: usize = 6;
}

/// A checked view of a PPPoE header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PppoeHeader<'a> {
    buf: &'a [u8],
}

impl<'a> PppoeHeader<'a> {
    pub(crate) const LEN: usize = field::PAYLOAD;

    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        if buf.len() < Self::LEN {
            return Err(DecodeReason::Truncated);
        }
        Ok(PppoeHeader { buf })
    }

    pub(crate) fn ver_type(&self) -> u8 {
        u8_at(self.buf, field::VER_TYPE)
    }

    pub(crate) fn code(&self) -> u8 {
        u8_at(self.buf, field::CODE)
    }

    /// The PPP frame, bounded by the length field.
    pub(crate) fn payload(&self) -> &'a [u8] {
        head(
            tail(self.buf, field::PAYLOAD),
            usize::from(be16(self.buf, field::LENGTH)),
        )
    }
}

/// Decodes a PPPoE packet at frame offset `off`.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    let h = match PppoeHeader::new_checked(buf) {
        Ok(h) => h,
        Err(reason) => return cx.fail(DecodeLayer::Pppoe, off, reason),
    };
    if h.ver_type() != 0x11 {
        return cx.fail(DecodeLayer::Pppoe, off, DecodeReason::BadVersion);
    }
    if h.code() != 0 {
        return;
    }
    // Inside PPPoE the PPP frame has no address/control bytes (RFC 2516 §7).
    let body = h.payload();
    match ppp::PppFrame::new_checked(body) {
        Ok(p) => ppp::dispatch(
            cx,
            p.protocol(),
            p.payload(),
            off + PppoeHeader::LEN + p.header_len(),
        ),
        Err(reason) => cx.fail(DecodeLayer::Ppp, off + PppoeHeader::LEN, reason),
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn session(proto: u16, ip: &[u8]) -> Vec<u8> {
        let mut v = vec![0x11, 0x00, 0x12, 0x34];
        v.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(&proto.to_be_bytes());
        v.extend_from_slice(ip);
        v
    }

    #[test]
    fn pppoe_over_ethernet_and_linktype_51() {
        let ip = ipv4(
            6,
            [100, 64, 0, 1],
            [8, 8, 8, 8],
            &tcp(5000, 443, 0x02, &[], b""),
        );
        let f = eth(0x8864, &session(0x0021, &ip));
        let d = decode(1, &f);
        assert_eq!(d.error, None);
        assert!(matches!(d.l4, L4::Tcp(t) if t.dst_port == 443));
        sweep(
            1,
            &f,
            &[
                (0, "ethernet"),
                (14, "pppoe"),
                (20, "ppp"),
                (22, "ipv4"),
                (42, "tcp"),
                (62, ""),
            ],
        );

        let v6 = session(0x0057, &ipv6(17, 1, 2, &udp(1, 2, b"")));
        assert!(matches!(decode(51, &v6).l4, L4::Udp(_)));
    }

    #[test]
    fn padding_after_session_is_ignored_and_discovery_is_not_ip() {
        let ip = ipv4(17, [100, 64, 0, 1], [8, 8, 8, 8], &udp(1, 2, b"a"));
        let mut f = session(0x0021, &ip);
        f.extend_from_slice(&[0u8; 10]);
        let d = decode(51, &f);
        assert!(matches!(d.l4, L4::Udp(u) if u.payload == b"a"));
        let padi = [0x11, 0x09, 0, 0, 0, 0];
        assert_eq!(decode(51, &padi).net, None);
        assert_eq!(decode(51, &padi).error, None);
        let e = decode(51, &[0x21, 0, 0, 0, 0, 0]).error.unwrap();
        assert_eq!(
            (e.layer.as_str(), e.reason.as_str()),
            ("pppoe", "bad_version")
        );
    }
}
