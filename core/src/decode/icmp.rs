//! ICMP (RFC 792) and ICMPv6 (RFC 4443), with the packet quoted in error messages.
//!
//! [`IcmpMessage::new_checked`] checks the 4 bytes of type, code and checksum; accessors
//! cannot panic after. Error messages (ICMP 3, 4, 5, 11, 12; ICMPv6 1–4) quote the offending
//! packet from byte 8: its IP header and at least the first 8 bytes of its transport header,
//! which name the flow the error is about ([`Quoted`]). The quote is read laxly (its lengths
//! describe the original packet, not the quote) and is `None` when its IP header is not there.

use super::bytes::{arr16, arr4, be16, tail, u8_at};
use super::ip::{proto, IpPayload};
use super::ipv6::walk_ext;
use super::{Cx, Icmp, Quoted, L4};
use crate::model::{DecodeLayer, DecodeReason};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    #[allow(dead_code)]
    pub const CHECKSUM: std::ops::Range<usize> = 2..4;
    /// The quoted packet of an error message starts after the 4 "unused"/MTU/pointer bytes.
    pub const QUOTE: usize = 8;
}

/// A checked view of an ICMP or ICMPv6 message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IcmpMessage<'a> {
    buf: &'a [u8],
}

impl<'a> IcmpMessage<'a> {
    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        if buf.len() < 4 {
            return Err(DecodeReason::Truncated);
        }
        Ok(IcmpMessage { buf })
    }
    pub(crate) fn kind(&self) -> u8 {
        u8_at(self.buf, field::TYPE)
    }
    pub(crate) fn code(&self) -> u8 {
        u8_at(self.buf, field::CODE)
    }
    pub(crate) fn quote(&self) -> &'a [u8] {
        tail(self.buf, field::QUOTE)
    }
}

/// True for the message types that quote the packet that caused them.
pub(crate) fn is_error(v6: bool, kind: u8) -> bool {
    if v6 {
        matches!(kind, 1..=4)
    } else {
        matches!(kind, 3 | 4 | 5 | 11 | 12)
    }
}

/// Decodes an ICMP or ICMPv6 message (`p.v6` tells which).
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, p: &IpPayload<'a>) {
    let layer = if p.v6 {
        DecodeLayer::Icmpv6
    } else {
        DecodeLayer::Icmp
    };
    let m = match IcmpMessage::new_checked(p.data) {
        Ok(m) => m,
        Err(reason) => return cx.fail(layer, p.off, reason),
    };
    let quoted = if is_error(p.v6, m.kind()) {
        quoted(m.quote())
    } else {
        None
    };
    cx.d.l4 = L4::Icmp(Icmp {
        v6: p.v6,
        kind: m.kind(),
        code: m.code(),
        quoted,
    });
}

/// Reads the flow named by a quoted IP packet (either version, by its version nibble).
pub(crate) fn quoted(q: &[u8]) -> Option<Quoted> {
    let (src, dst, proto, l4, ip_id): (IpAddr, IpAddr, u8, &[u8], Option<u16>) =
        match u8_at(q, 0) >> 4 {
            4 => {
                let hl = usize::from(u8_at(q, 0) & 0x0f) * 4;
                if hl < 20 || q.len() < hl {
                    return None;
                }
                let src = Ipv4Addr::from(arr4(q, 12..16));
                let dst = Ipv4Addr::from(arr4(q, 16..20));
                (
                    src.into(),
                    dst.into(),
                    u8_at(q, 9),
                    tail(q, hl),
                    Some(be16(q, 4..6)),
                )
            }
            6 => {
                if q.len() < 40 {
                    return None;
                }
                let rest = tail(q, 40);
                // The quote may be cut anywhere: walk what is there, stop at the first problem.
                let (proto, skip) = match walk_ext(u8_at(q, 6), rest, rest.len()) {
                    Ok(w) => (w.proto, w.len),
                    Err(_) => (u8_at(q, 6), rest.len()),
                };
                let src = Ipv6Addr::from(arr16(q, 8..24));
                let dst = Ipv6Addr::from(arr16(q, 24..40));
                (src.into(), dst.into(), proto, tail(rest, skip), None)
            }
            _ => return None,
        };
    let (sport, dport) = if matches!(proto, proto::TCP | proto::UDP) && l4.len() >= 4 {
        (be16(l4, 0..2), be16(l4, 2..4))
    } else {
        (0, 0)
    };
    Some(Quoted {
        proto,
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        ip_id,
    })
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn icmp_msg(kind: u8, code: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![kind, code, 0, 0, 0, 0, 0, 0];
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn echo_has_no_quote() {
        let ip = ipv4(1, [10, 0, 0, 1], [10, 0, 0, 2], &icmp_msg(8, 0, b"ping"));
        let d = decode(228, &ip);
        assert!(matches!(d.l4, L4::Icmp(i) if i.kind == 8 && !i.v6 && i.quoted.is_none()));
        sweep(228, &ip, &[(0, "ipv4"), (20, "icmp"), (24, "")]);
    }

    #[test]
    fn port_unreachable_quotes_udp() {
        let orig = ipv4(17, [10, 0, 0, 2], [10, 0, 0, 1], &udp(33000, 53, b"query"));
        let ip = ipv4(
            1,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &icmp_msg(3, 3, &orig[..28]),
        );
        let d = decode(228, &ip);
        match d.l4 {
            L4::Icmp(i) => {
                assert_eq!((i.kind, i.code), (3, 3));
                let q = i.quoted.unwrap();
                assert_eq!(
                    (q.proto, q.src.to_string(), q.dst.to_string()),
                    (17, "10.0.0.2:33000".into(), "10.0.0.1:53".into())
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn time_exceeded_quotes_tcp_and_gre_has_no_ports() {
        let orig = ipv4(
            6,
            [10, 0, 0, 2],
            [192, 0, 2, 9],
            &tcp(45000, 443, 0x02, &[], b""),
        );
        let buf = ipv4(
            1,
            [10, 9, 9, 9],
            [10, 0, 0, 2],
            &icmp_msg(11, 0, &orig[..28]),
        );
        let d = decode(228, &buf);
        let q = match d.l4 {
            L4::Icmp(i) => i.quoted.unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!((q.proto, q.src.port(), q.dst.port()), (6, 45000, 443));
        // The quoted IPv4 ID names the packet the error answers.
        assert_eq!(q.ip_id, Some(u16::from_be_bytes([orig[4], orig[5]])));
        let gre = ipv4(
            47,
            [10, 0, 0, 2],
            [192, 0, 2, 9],
            &[0, 0, 0x08, 0, 0x45, 0, 0, 0],
        );
        let buf = ipv4(1, [10, 9, 9, 9], [10, 0, 0, 2], &icmp_msg(3, 4, &gre));
        let d = decode(228, &buf);
        assert!(
            matches!(d.l4, L4::Icmp(i) if i.quoted.is_some_and(|q| q.proto == 47 && q.src.port() == 0))
        );
        // A quote too short for its IP header: no quoted flow, still an ICMP message.
        let buf = ipv4(
            1,
            [10, 9, 9, 9],
            [10, 0, 0, 2],
            &icmp_msg(3, 1, &orig[..12]),
        );
        let d = decode(228, &buf);
        assert!(matches!(d.l4, L4::Icmp(i) if i.kind == 3 && i.quoted.is_none()));
    }

    #[test]
    fn icmpv6_packet_too_big_quotes_udp_after_ext_header() {
        let mut inner_payload = vec![17u8, 0, 1, 4, 0, 0, 0, 0]; // dest options, then UDP
        inner_payload.extend_from_slice(&udp(5000, 3478, b"stun"));
        let orig = ipv6_raw(60, 2, 9, &inner_payload);
        let ip = ipv6(58, 9, 2, &icmp_msg(2, 0, &orig));
        let d = decode(229, &ip);
        match d.l4 {
            L4::Icmp(i) => {
                assert!(i.v6);
                let q = i.quoted.unwrap();
                assert_eq!(
                    (q.proto, q.src.to_string(), q.dst.port()),
                    (17, "[2001:db8::2]:5000".into(), 3478)
                );
            }
            other => panic!("{other:?}"),
        }
        // Echo request (128) is not an error.
        let buf = ipv6(58, 1, 2, &icmp_msg(128, 0, b""));
        let d = decode(229, &buf);
        assert!(matches!(d.l4, L4::Icmp(i) if i.kind == 128 && i.quoted.is_none()));
        sweep(229, &ip, &[(0, "ipv6"), (40, "icmpv6"), (44, "")]);
    }
}
