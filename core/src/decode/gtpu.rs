//! GTP-U version 1 (3GPP TS 29.281), UDP port 2152: mobile user traffic between the radio
//! network and the core.
//!
//! [`GtpuHeader::new_checked`] checks version 1 with protocol type GTP, the optional
//! 4-byte field (present when any of E, S, PN is set) and walks at most [`MAX_EXT`]
//! extension headers (each `4 × length` bytes, its last byte naming the next); accessors
//! cannot panic after. Only T-PDUs (message type 0xFF) carry user packets (IPv4 or IPv6 by
//! version nibble); echo, error indication and end marker messages stay outer UDP.

use super::bytes::{be16, head, tail, u8_at};
use super::{ip, tunnel, Cx};
use crate::model::{Anomaly, DecodeLayer, DecodeReason};

mod field {
    use std::ops::Range;
    #[allow(dead_code)]
    pub const FLAGS: usize = 0;
    pub const MSG_TYPE: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    #[allow(dead_code)]
    pub const TEID: Range<usize> = 4..8;
    /// Sequence number (2), N-PDU number (1), next extension header type (1).
    pub const OPTIONAL: usize = 8;
    pub const NEXT_EXT: usize = 11;
    pub const OPTIONAL_END: usize = 12;
}

const FLAG_PT: u8 = 0x10;
const FLAGS_E_S_PN: u8 = 0x07;
const FLAG_E: u8 = 0x04;
const MSG_T_PDU: u8 = 0xff;

/// At most this many extension headers are walked.
pub(crate) const MAX_EXT: usize = 8;

/// A checked view of a GTPv1-U header with its extension headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GtpuHeader<'a> {
    buf: &'a [u8],
    len: usize,
}

impl<'a> GtpuHeader<'a> {
    /// `Ok(None)`: not GTPv1-U (another version, or GTP').
    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Option<Self>, DecodeReason> {
        let flags = *buf.first().ok_or(DecodeReason::Truncated)?;
        if flags >> 5 != 1 || flags & FLAG_PT == 0 {
            return Ok(None);
        }
        if buf.len() < field::OPTIONAL {
            return Err(DecodeReason::Truncated);
        }
        if flags & FLAGS_E_S_PN == 0 {
            return Ok(Some(GtpuHeader {
                buf,
                len: field::OPTIONAL,
            }));
        }
        if buf.len() < field::OPTIONAL_END {
            return Err(DecodeReason::Truncated);
        }
        let mut len = field::OPTIONAL_END;
        if flags & FLAG_E != 0 {
            let mut next = u8_at(buf, field::NEXT_EXT);
            let mut n = 0;
            while next != 0 {
                if n == MAX_EXT {
                    return Err(DecodeReason::TooManyExtensionHeaders);
                }
                let units = usize::from(*buf.get(len).ok_or(DecodeReason::Truncated)?);
                if units == 0 {
                    return Err(DecodeReason::BadExtensionLength);
                }
                let end = len + 4 * units;
                next = *buf.get(end - 1).ok_or(DecodeReason::Truncated)?;
                len = end;
                n += 1;
            }
        }
        Ok(Some(GtpuHeader { buf, len }))
    }

    pub(crate) fn msg_type(&self) -> u8 {
        u8_at(self.buf, field::MSG_TYPE)
    }
    /// The T-PDU, bounded by the length field (which counts from byte 8).
    pub(crate) fn payload(&self) -> &'a [u8] {
        let end = field::OPTIONAL + usize::from(be16(self.buf, field::LENGTH));
        tail(head(self.buf, end), self.len)
    }
    pub(crate) fn header_len(&self) -> usize {
        self.len
    }
}

/// Decodes a GTP-U message at frame offset `off` (the outer UDP datagram is already the flow).
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    let g = match GtpuHeader::new_checked(buf) {
        Ok(Some(g)) => g,
        Ok(None) => return,
        Err(_) => {
            cx.d.anomalies.add(Anomaly::TunnelInnerUndecodable);
            return;
        }
    };
    if g.msg_type() != MSG_T_PDU {
        return;
    }
    let (inner, ioff) = (g.payload(), off + g.header_len());
    tunnel::run(cx, "gtp_u", |cx| {
        ip::decode_by_version(cx, inner, ioff, DecodeLayer::GtpU)
    });
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn gtp(flags: u8, ext: &[u8], inner: &[u8]) -> Vec<u8> {
        let mut v = vec![flags, 0xff];
        let opt = if flags & 0x07 != 0 { 4 } else { 0 };
        v.extend_from_slice(&((opt + ext.len() + inner.len()) as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 1]);
        if opt != 0 {
            let next = if ext.is_empty() { 0 } else { 0x85 };
            v.extend_from_slice(&[0, 0, 0, next]);
        }
        v.extend_from_slice(ext);
        v.extend_from_slice(inner);
        v
    }

    fn outer(g: &[u8]) -> Vec<u8> {
        eth(
            0x0800,
            &ipv4(17, [172, 16, 0, 1], [172, 16, 0, 2], &udp(2152, 2152, g)),
        )
    }

    #[test]
    fn t_pdu_ipv4_and_ipv6_with_extension() {
        let inner = ipv4(17, [10, 45, 0, 2], [8, 8, 8, 8], &udp(40000, 53, b"dns"));
        let f = outer(&gtp(0x30, &[], &inner));
        let d = decode(1, &f);
        assert_eq!(d.tunnel, Some("gtp_u"));
        assert_eq!(d.net.unwrap().src.to_string(), "10.45.0.2");
        assert!(matches!(d.l4, L4::Udp(u) if u.dst_port == 53));

        // PDU session container extension (0x85): length 1 (4 bytes), next 0.
        let inner6 = ipv6(6, 3, 4, &tcp(5060, 5060, 0x18, &[], b"INVITE"));
        let f = outer(&gtp(0x34, &[1, 0x10, 0x01, 0], &inner6));
        let d = decode(1, &f);
        assert_eq!(d.tunnel, Some("gtp_u"));
        assert!(matches!(d.l4, L4::Tcp(t) if t.payload == b"INVITE"));
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
    }

    #[test]
    fn echo_and_bad_headers_stay_outer() {
        let mut echo = gtp(0x32, &[], &[]);
        echo[1] = 1; // echo request
        let f = outer(&echo);
        let d = decode(1, &f);
        assert_eq!(
            (d.tunnel, d.net.unwrap().src.to_string()),
            (None, "172.16.0.1".into())
        );
        assert!(matches!(d.l4, L4::Udp(u) if u.dst_port == 2152));
        assert!(d.anomalies.is_empty());
        // Extension header of length 0: impossible.
        let f = outer(&gtp(0x34, &[0, 0, 0, 0], &[]));
        let d = decode(1, &f);
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.as_str() == "tunnel_inner_undecodable"));
        // T-PDU that is not IP.
        let f = outer(&gtp(0x30, &[], &[0x00, 1, 2, 3]));
        let d = decode(1, &f);
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.as_str() == "tunnel_inner_undecodable"));
        assert!(matches!(d.l4, L4::Udp(_)));
        // Extension chain longer than the cap.
        let mut ext = Vec::new();
        for _ in 0..10 {
            ext.extend_from_slice(&[1, 0, 0, 0x85]);
        }
        let f = outer(&gtp(0x34, &ext, &[]));
        let d = decode(1, &f);
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.as_str() == "tunnel_inner_undecodable"));
    }
}
