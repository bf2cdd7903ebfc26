//! Teredo (RFC 4380): IPv6 carried in UDP/IPv4, usually on port 3544.
//!
//! Before the IPv6 packet may come an authentication indicator (`00 01`, id length, auth
//! length, client id, auth value, 8-byte nonce, 1-byte confirmation) and then an origin
//! indicator (`00 00`, port, address: 8 bytes). The inner packet is accepted only when it is
//! a whole IPv6 header whose payload length matches the rest of the datagram exactly (or,
//! for a snaplen-cut capture, is not shorter than it).
//!
//! Off port 3544 (relays use any port) the check is stricter, to avoid taking other UDP
//! payloads for IPv6: one address must be a Teredo address (2001:0::/32, RFC 4380 §2.6) or
//! link-local (bubbles and router solicitations). Known false positives: none seen; a UDP
//! payload would need version 6, an exact length and such an address.

use super::bytes::{be16, tail, u8_at};
use super::{ip, tunnel, Cx};

/// Teredo's IANA-assigned prefix: 2001:0000::/32.
const PREFIX: [u8; 4] = [0x20, 0x01, 0x00, 0x00];
const AUTH: u16 = 0x0001;
const ORIGIN: u16 = 0x0000;
const ORIGIN_LEN: usize = 8;
/// Indicator, id length, auth length, nonce, confirmation: 2 + 1 + 1 + 8 + 1.
const AUTH_FIXED_LEN: usize = 13;
const IPV6_HEADER: usize = 40;

/// Cheap pre-check for the off-port heuristic: the payload starts like an indicator or IPv6.
pub(crate) fn may_be(payload: &[u8]) -> bool {
    payload.len() >= IPV6_HEADER && (u8_at(payload, 0) >> 4 == 6 || be16(payload, 0..2) <= AUTH)
}

/// Skips the indicators; returns the offset of the IPv6 packet, or None when malformed.
fn skip_indicators(p: &[u8]) -> Option<usize> {
    let mut pos = 0;
    if be16(p, 0..2) == AUTH && p.len() >= 4 {
        pos = AUTH_FIXED_LEN + usize::from(u8_at(p, 2)) + usize::from(u8_at(p, 3));
    }
    if p.len() >= pos + 2 && be16(tail(p, pos), 0..2) == ORIGIN {
        pos += ORIGIN_LEN;
    }
    (p.len() >= pos).then_some(pos)
}

/// Decodes a UDP payload as Teredo if it is one; `on_port` when a port is 3544.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, payload: &'a [u8], off: usize, on_port: bool) {
    let Some(pos) = skip_indicators(payload) else {
        return;
    };
    let v6 = tail(payload, pos);
    if v6.len() < IPV6_HEADER || u8_at(v6, 0) >> 4 != 6 {
        return;
    }
    let want = IPV6_HEADER + usize::from(be16(v6, 4..6));
    let fits = want == v6.len() || (cx.snap_short && want > v6.len());
    if !fits {
        return;
    }
    if !on_port {
        let addr = |r: std::ops::Range<usize>| v6.get(r).unwrap_or(&[]);
        let teredo = |a: &[u8]| a.get(..4) == Some(&PREFIX[..]);
        let link_local =
            |a: &[u8]| a.first() == Some(&0xfe) && a.get(1).is_some_and(|b| b & 0xc0 == 0x80);
        let (src, dst) = (addr(8..24), addr(24..40));
        if !(teredo(src) || teredo(dst) || link_local(src) || link_local(dst)) {
            return;
        }
    }
    let ioff = off + pos;
    tunnel::run(cx, "teredo", |cx| ip::decode_v6(cx, v6, ioff));
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn teredo_v6(payload: &[u8]) -> Vec<u8> {
        teredo_v6_nh(6, payload)
    }

    fn teredo_v6_nh(nh: u8, payload: &[u8]) -> Vec<u8> {
        // 2001:0:4136:e378:8000:63bf:3fff:fdd2 → 2001:4860::1 style pair.
        let src = [
            0x20, 0x01, 0, 0, 0x41, 0x36, 0xe3, 0x78, 0x80, 0, 0x63, 0xbf, 0x3f, 0xff, 0xfd, 0xd2,
        ];
        let dst = [0x20, 0x01, 0x48, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        ipv6_addrs(nh, src, dst, payload)
    }

    fn outer(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        eth(
            0x0800,
            &ipv4(
                17,
                [65, 54, 227, 120],
                [192, 0, 2, 7],
                &udp(sport, dport, payload),
            ),
        )
    }

    #[test]
    fn teredo_on_port_with_origin_indicator() {
        let inner = teredo_v6(&tcp(1, 80, 0x02, &[], b""));
        let mut p = vec![0, 0, 0x9c, 0x40, 0xbe, 0xc9, 0x1c, 0x87];
        p.extend_from_slice(&inner);
        let f = outer(3544, 50000, &p);
        let d = decode(1, &f);
        assert_eq!(d.tunnel, Some("teredo"));
        assert!(matches!(d.l4, L4::Tcp(t) if t.dst_port == 80));
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
    }

    #[test]
    fn teredo_off_port_needs_teredo_address() {
        let inner = teredo_v6(&tcp(1, 80, 0x02, &[], b""));
        let f = outer(40000, 50000, &inner);
        let d = decode(1, &f);
        assert_eq!(d.tunnel, Some("teredo"));
        // Same packet between two non-Teredo addresses, off port: plain UDP.
        let plain = ipv6(6, 1, 2, &tcp(1, 80, 0x02, &[], b""));
        let f = outer(40000, 50000, &plain);
        let d = decode(1, &f);
        assert_eq!(d.tunnel, None);
        assert!(matches!(d.l4, L4::Udp(_)));
        // On port 3544 it is accepted.
        let f = outer(3544, 50000, &plain);
        let d = decode(1, &f);
        assert_eq!(d.tunnel, Some("teredo"));
    }

    #[test]
    fn teredo_auth_indicator_and_length_check() {
        let inner = teredo_v6_nh(59, &[]); // a bubble: no next header, no payload
        let mut p = vec![0, 1, 2, 0, 0xaa, 0xbb];
        p.extend_from_slice(&[0u8; 9]); // nonce + confirmation
        p.extend_from_slice(&inner);
        let f = outer(50000, 3544, &p);
        let d = decode(1, &f);
        assert_eq!(d.tunnel, Some("teredo"));
        // Payload length inconsistent with the datagram: not Teredo.
        let mut bad = p.clone();
        bad.push(0);
        let f = outer(50000, 3544, &bad);
        let d = decode(1, &f);
        assert_eq!(d.tunnel, None);
        assert!(matches!(d.l4, L4::Udp(_)));
    }
}
