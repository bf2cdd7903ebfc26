//! GRE (RFC 2784/2890) and PPTP's enhanced GRE (RFC 2637), IP protocol 47.
//!
//! [`GreHeader::new_checked`] computes the header length from the flags (checksum, key and
//! sequence fields for version 0; key, sequence and acknowledgement for version 1) and
//! checks that it was captured; accessors cannot panic after. The payload is named by an
//! EtherType: IPv4, IPv6, MPLS and transparent Ethernet bridging (0x6558) are followed, as
//! are ERSPAN type I/II/III mirrors (an Ethernet frame after the ERSPAN header). Version 1
//! carries PPP (usually compressed or encrypted, then not decoded). RFC 1701 source routing
//! (R bit) and other versions are not decoded: the outer packet stays the flow.

use super::bytes::{be16, tail, u8_at};
use super::ethernet::{self, ethertype};
use super::{ppp, tunnel, Cx};
use crate::model::{Anomaly, DecodeLayer, DecodeReason};

mod field {
    use std::ops::Range;
    pub const FLAGS_VERSION: Range<usize> = 0..2;
    pub const PROTOCOL: Range<usize> = 2..4;
    pub const OPTIONAL: usize = 4;
}

const FLAG_CHECKSUM: u16 = 0x8000;
const FLAG_ROUTING: u16 = 0x4000;
const FLAG_KEY: u16 = 0x2000;
const FLAG_SEQ: u16 = 0x1000;
/// Version 1 only: an acknowledgement number is present.
const FLAG_ACK: u16 = 0x0080;
const VERSION_MASK: u16 = 0x0007;

/// PPTP's protocol type in enhanced GRE.
const PROTO_PPP: u16 = 0x880B;
/// ERSPAN type I/II (type I has no sequence number and no ERSPAN header).
const PROTO_ERSPAN: u16 = 0x88BE;
const PROTO_ERSPAN3: u16 = 0x22EB;

/// A checked view of a GRE header of version 0 or 1.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GreHeader<'a> {
    buf: &'a [u8],
    len: usize,
}

impl<'a> GreHeader<'a> {
    /// Checks the header length implied by the flags. `Ok(None)`: a valid GRE variant we do
    /// not decode (routing present, or a version other than 0 and 1).
    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Option<Self>, DecodeReason> {
        if buf.len() < field::OPTIONAL {
            return Err(DecodeReason::Truncated);
        }
        let flags = be16(buf, field::FLAGS_VERSION);
        let bit = |f: u16| if flags & f != 0 { 4 } else { 0 };
        let len = match flags & VERSION_MASK {
            0 if flags & FLAG_ROUTING == 0 => {
                field::OPTIONAL + bit(FLAG_CHECKSUM) + bit(FLAG_KEY) + bit(FLAG_SEQ)
            }
            // PPTP: the key (payload length + call id) is mandatory.
            1 if flags & FLAG_KEY != 0 => field::OPTIONAL + 4 + bit(FLAG_SEQ) + bit(FLAG_ACK),
            _ => return Ok(None),
        };
        if buf.len() < len {
            return Err(DecodeReason::Truncated);
        }
        Ok(Some(GreHeader { buf, len }))
    }

    pub(crate) fn version(&self) -> u16 {
        be16(self.buf, field::FLAGS_VERSION) & VERSION_MASK
    }
    pub(crate) fn has_seq(&self) -> bool {
        be16(self.buf, field::FLAGS_VERSION) & FLAG_SEQ != 0
    }
    pub(crate) fn protocol(&self) -> u16 {
        be16(self.buf, field::PROTOCOL)
    }
    pub(crate) fn header_len(&self) -> usize {
        self.len
    }
    pub(crate) fn payload(&self) -> &'a [u8] {
        tail(self.buf, self.len)
    }
}

/// Decodes a GRE packet at frame offset `off` (the outer IP packet is already the flow).
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    let g = match GreHeader::new_checked(buf) {
        Ok(Some(g)) => g,
        Ok(None) => return,
        Err(_) => {
            cx.d.anomalies.add(Anomaly::TunnelInnerUndecodable);
            return;
        }
    };
    let (payload, poff) = (g.payload(), off + g.header_len());
    match (g.version(), g.protocol()) {
        (1, PROTO_PPP) if !payload.is_empty() => {
            tunnel::run(cx, "gre", |cx| ppp::decode_frame(cx, payload, poff));
        }
        (1, _) => {}
        (0, ethertype::TEB) => tunnel::run(cx, "gre", |cx| ethernet::decode(cx, payload, poff)),
        (0, PROTO_ERSPAN) if !g.has_seq() => {
            tunnel::run(cx, "gre", |cx| ethernet::decode(cx, payload, poff));
        }
        (0, PROTO_ERSPAN) | (0, PROTO_ERSPAN3) => {
            // ERSPAN II: 8-byte header (version 1). ERSPAN III: 12 bytes (version 2), plus an
            // 8-byte platform subheader when its O bit is set.
            let ver = u8_at(payload, 0) >> 4;
            let skip = match ver {
                1 => 8,
                2 if u8_at(payload, 11) & 0x01 != 0 => 20,
                2 => 12,
                _ => return,
            };
            let inner = tail(payload, skip);
            tunnel::run(cx, "gre", |cx| {
                if payload.len() < skip {
                    cx.fail(DecodeLayer::Erspan, poff, DecodeReason::Truncated);
                } else {
                    ethernet::decode(cx, inner, poff + skip);
                }
            });
        }
        (0, et) => tunnel::run(cx, "gre", |cx| ethernet::dispatch(cx, et, payload, poff)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn outer(gre: &[u8]) -> Vec<u8> {
        eth(0x0800, &ipv4(47, [198, 51, 100, 1], [198, 51, 100, 2], gre))
    }

    #[test]
    fn gre_ipv4_with_key_and_seq() {
        let inner = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(3478, 50000, b"stun"));
        let mut g = vec![0x30, 0x00, 0x08, 0x00, 0, 0, 0, 42, 0, 0, 0, 7];
        g.extend_from_slice(&inner);
        let f = outer(&g);
        let d = decode(1, &f);
        assert_eq!(d.tunnel, Some("gre"));
        assert_eq!(d.net.unwrap().src.to_string(), "10.0.0.1");
        assert!(matches!(d.l4, L4::Udp(u) if u.src_port == 3478));
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
        // Cut inside the GRE header or the inner packet: the outer flow with an anomaly.
        for cut in 34..(34 + 12 + 20) {
            let d = decode(1, &f[..cut]);
            assert_eq!(d.net.unwrap().proto, 47, "cut {cut}");
            assert_eq!(d.l4, L4::Other);
            assert!(
                d.anomalies
                    .iter()
                    .any(|a| a.as_str() == "tunnel_inner_undecodable"),
                "cut {cut}"
            );
            assert_eq!(d.tunnel, None);
        }
        // Cut inside the inner UDP header: inner flow, inner error.
        let e = decode(1, &f[..34 + 12 + 24]).error.unwrap();
        assert_eq!(
            (e.layer.as_str(), e.offset, e.reason.as_str()),
            ("udp", 34 + 12 + 20, "truncated")
        );
    }

    #[test]
    fn gre_checksum_ipv6_and_teb() {
        let inner6 = ipv6(6, 1, 2, &tcp(1, 443, 0x02, &[], b""));
        let mut g = vec![0x80, 0x00, 0x86, 0xdd, 0, 0, 0, 0];
        g.extend_from_slice(&inner6);
        let f = outer(&g);
        let d = decode(1, &f);
        assert!(matches!(d.l4, L4::Tcp(t) if t.dst_port == 443));
        assert_eq!(d.tunnel, Some("gre"));

        let mut g = vec![0x00, 0x00, 0x65, 0x58];
        g.extend_from_slice(&eth(
            0x0800,
            &ipv4(17, [10, 1, 0, 1], [10, 1, 0, 2], &udp(1, 2, b"")),
        ));
        let f = outer(&g);
        let d = decode(1, &f);
        assert_eq!(d.net.unwrap().src.to_string(), "10.1.0.1");
    }

    #[test]
    fn erspan_ii_and_pptp() {
        let mut g = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1];
        g.extend_from_slice(&[0x10, 0x01, 0, 1, 0, 0, 0, 0]); // ERSPAN II header
        g.extend_from_slice(&eth(
            0x0800,
            &ipv4(6, [10, 2, 0, 1], [10, 2, 0, 2], &tcp(1, 2, 0x10, &[], b"")),
        ));
        let f = outer(&g);
        let d = decode(1, &f);
        assert_eq!(d.net.unwrap().src.to_string(), "10.2.0.1");
        assert_eq!(d.tunnel, Some("gre"));

        // PPTP: version 1, key present, sequence present, PPP (FF 03 00 21) IPv4.
        let inner = ipv4(17, [192, 168, 0, 5], [8, 8, 4, 4], &udp(1234, 53, b"q"));
        let mut g = vec![0x30, 0x01, 0x88, 0x0b];
        g.extend_from_slice(&((inner.len() + 4) as u16).to_be_bytes());
        g.extend_from_slice(&[0, 9, 0, 0, 0, 1, 0xff, 0x03, 0x00, 0x21]);
        g.extend_from_slice(&inner);
        let f = outer(&g);
        let d = decode(1, &f);
        assert!(matches!(d.l4, L4::Udp(u) if u.dst_port == 53));
        // PPTP ack-only packet: no payload, the outer flow, no anomaly.
        let f = outer(&[0x20, 0x81, 0x88, 0x0b, 0, 0, 0, 9, 0, 0, 0, 1]);
        let d = decode(1, &f);
        assert_eq!((d.l4, d.tunnel), (L4::Other, None));
        assert!(d.anomalies.is_empty());
    }

    #[test]
    fn routing_present_is_left_alone() {
        let f = outer(&[0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0x45]);
        let d = decode(1, &f);
        assert_eq!((d.l4, d.tunnel, d.error), (L4::Other, None, None));
        assert!(d.anomalies.is_empty());
    }
}
