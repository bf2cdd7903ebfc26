//! IPv4 (RFC 791).
//!
//! [`Ipv4Packet::new_checked`] checks the version, that IHL ≥ 5 and that the whole header
//! (options included) was captured; accessors cannot panic after. The total length is then
//! reconciled with the captured bytes by [`decode`]: Ethernet padding beyond it is cut off,
//! a total length beyond the captured bytes is an anomaly (the captured bytes are used), and
//! a total length smaller than the header is an error.

use super::bytes::{arr4, be16, head, tail, u8_at};
use super::ip::{self, IpPayload};
use super::{ah, checksum, Cx, Frag, Net};
use crate::model::{Anomaly, DecodeLayer, DecodeReason};
use std::net::{IpAddr, Ipv4Addr};

mod field {
    use std::ops::Range;
    pub const VER_IHL: usize = 0;
    #[allow(dead_code)]
    pub const DSCP_ECN: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    #[allow(dead_code)]
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

/// The fixed header length (IHL 5).
pub(crate) const MIN_HEADER_LEN: usize = 20;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

/// A checked view of an IPv4 header over the captured bytes of the packet.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ipv4Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Ipv4Packet<'a> {
    /// Checks version 4, IHL ≥ 5 and that the header with its options is in `buf`.
    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        let first = *buf.first().ok_or(DecodeReason::Truncated)?;
        if first >> 4 != 4 {
            return Err(DecodeReason::BadVersion);
        }
        if buf.len() < MIN_HEADER_LEN {
            return Err(DecodeReason::Truncated);
        }
        let hl = usize::from(first & 0x0f) * 4;
        if hl < MIN_HEADER_LEN {
            return Err(DecodeReason::BadHeaderLength);
        }
        if buf.len() < hl {
            return Err(DecodeReason::Truncated);
        }
        Ok(Ipv4Packet { buf })
    }

    pub(crate) fn header_len(&self) -> usize {
        usize::from(u8_at(self.buf, field::VER_IHL) & 0x0f) * 4
    }
    pub(crate) fn total_len(&self) -> usize {
        usize::from(be16(self.buf, field::TOTAL_LEN))
    }
    pub(crate) fn ident(&self) -> u16 {
        be16(self.buf, field::IDENT)
    }
    pub(crate) fn df(&self) -> bool {
        be16(self.buf, field::FLAGS_FRAG) & FLAG_DF != 0
    }
    pub(crate) fn more_fragments(&self) -> bool {
        be16(self.buf, field::FLAGS_FRAG) & FLAG_MF != 0
    }
    /// Fragment offset in bytes.
    pub(crate) fn frag_offset(&self) -> u32 {
        u32::from(be16(self.buf, field::FLAGS_FRAG) & FRAG_OFFSET_MASK) * 8
    }
    pub(crate) fn ttl(&self) -> u8 {
        u8_at(self.buf, field::TTL)
    }
    pub(crate) fn protocol(&self) -> u8 {
        u8_at(self.buf, field::PROTOCOL)
    }
    pub(crate) fn src(&self) -> [u8; 4] {
        arr4(self.buf, field::SRC)
    }
    pub(crate) fn dst(&self) -> [u8; 4] {
        arr4(self.buf, field::DST)
    }
    /// The header with its options.
    pub(crate) fn header(&self) -> &'a [u8] {
        head(self.buf, self.header_len())
    }
    /// True when the header checksum verifies.
    pub(crate) fn checksum_ok(&self) -> bool {
        checksum::is_valid(checksum::sum(self.header()))
    }
    /// Every captured byte after the header (may include link-layer padding).
    pub(crate) fn rest(&self) -> &'a [u8] {
        tail(self.buf, self.header_len())
    }
}

/// Decodes an IPv4 packet at frame offset `off`, then its payload.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    let p = match Ipv4Packet::new_checked(buf) {
        Ok(p) => p,
        Err(reason) => return cx.fail(DecodeLayer::Ipv4, off, reason),
    };
    let hl = p.header_len();
    let total = p.total_len();
    let rest = p.rest();
    // (captured payload, wire payload length, wire packet length)
    let (data, wire_len, ip_len) = if total == 0 && !rest.is_empty() {
        // TCP segmentation offload on the sending host leaves the length at zero.
        cx.d.anomalies.add(Anomaly::Ipv4TotalLengthZero);
        (rest, rest.len(), buf.len())
    } else if total < hl {
        return cx.fail(DecodeLayer::Ipv4, off, DecodeReason::BadTotalLength);
    } else if total > buf.len() {
        cx.d.anomalies.add(if cx.snap_short {
            Anomaly::Ipv4Truncated
        } else {
            Anomaly::Ipv4LengthExceedsFrame
        });
        (rest, total - hl, total)
    } else {
        // Shorter than the frame: Ethernet padding follows.
        (head(rest, total - hl), total - hl, total)
    };
    if !p.checksum_ok() {
        cx.d.anomalies.add(Anomaly::BadIpv4Checksum);
    }
    let (src, dst) = (p.src(), p.dst());
    let more = p.more_fragments();
    let frag_off = p.frag_offset();
    let ident = p.ident();
    let fragment = more || frag_off != 0;
    // An Authentication Header sits between IPv4 and the transport: skip it.
    let (mut data, mut wire_len, mut poff, mut proto) = (data, wire_len, off + hl, p.protocol());
    let mut ah_error = None;
    for _ in 0..ah::MAX_AH {
        if proto != ip::proto::AH || frag_off != 0 {
            break;
        }
        match ah::AhHeader::new_checked(data, wire_len) {
            Ok(a) => {
                proto = a.next_header();
                data = a.payload();
                wire_len = wire_len.saturating_sub(a.len());
                poff += a.len();
            }
            Err(reason) => {
                ah_error = Some((poff, reason));
                break;
            }
        }
    }
    cx.d.net = Some(Net {
        src: IpAddr::V4(Ipv4Addr::from(src)),
        dst: IpAddr::V4(Ipv4Addr::from(dst)),
        ttl: p.ttl(),
        ip_id: Some(u32::from(ident)),
        df: p.df(),
        ip_len: u32::try_from(ip_len).unwrap_or(u32::MAX),
        proto,
        frag: fragment.then_some(Frag {
            id: u32::from(ident),
            offset: frag_off,
            more,
        }),
    });
    if let Some((at, reason)) = ah_error {
        return cx.fail(DecodeLayer::Ah, at, reason);
    }
    ip::transport(
        cx,
        IpPayload {
            data,
            off: poff,
            wire_len: u32::try_from(wire_len).unwrap_or(u32::MAX),
            proto,
            addr_sum: checksum::addr_sum(&src, &dst),
            fragment,
            later_fragment: frag_off != 0,
            skip_checksum: false,
            v6: false,
        },
    );
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, decode_frame, Frag, L4};
    use crate::testkit::frames::*;

    fn has(d: &crate::decode::Decoded<'_>, a: &str) -> bool {
        d.anomalies.iter().any(|x| x.as_str() == a)
    }

    #[test]
    fn fields_and_padding_trim() {
        let mut ip = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, b"ab"));
        ip[8] = 57; // TTL
        ip[4..6].copy_from_slice(&0xbeefu16.to_be_bytes());
        fix_ipv4_checksum(&mut ip);
        let mut f = eth(0x0800, &ip);
        f.extend_from_slice(&[0u8; 12]); // Ethernet padding
        let d = decode(1, &f);
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
        let n = d.net.unwrap();
        assert_eq!(
            (n.ttl, n.ip_id, n.df, n.ip_len, n.proto, n.frag),
            (57, Some(0xbeef), true, 30, 17, None)
        );
        match d.l4 {
            L4::Udp(u) => assert_eq!((u.len, u.payload), (2, &b"ab"[..])),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_are_skipped() {
        // IHL 6: one 4-byte option (NOP NOP NOP EOL).
        let inner = udp(1, 2, b"x");
        let mut ip = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &inner);
        ip.splice(20..20, [1u8, 1, 1, 0]);
        ip[0] = 0x46;
        let total = ip.len() as u16;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        fix_ipv4_checksum(&mut ip);
        fix_udp4_checksum(&mut ip, 24);
        let d = decode(228, &ip);
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
        assert!(matches!(d.l4, L4::Udp(u) if u.payload == b"x"));
        sweep(228, &ip, &[(0, "ipv4"), (24, "udp"), (32, "")]);
    }

    #[test]
    fn impossible_lengths() {
        let good = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, b"ab"));
        let mut ihl4 = good.clone();
        ihl4[0] = 0x44;
        let e = decode(228, &ihl4).error.unwrap();
        assert_eq!(
            (e.layer.as_str(), e.offset, e.reason.as_str()),
            ("ipv4", 0, "bad_header_length")
        );

        let mut short_total = good.clone();
        short_total[2..4].copy_from_slice(&19u16.to_be_bytes());
        fix_ipv4_checksum(&mut short_total);
        let d = decode(228, &short_total);
        assert_eq!(d.error.unwrap().reason.as_str(), "bad_total_length");
        assert!(d.net.is_none());

        // IHL 15 (60 bytes) but only 30 captured.
        let mut long_ihl = good.clone();
        long_ihl[0] = 0x4f;
        assert_eq!(
            decode(228, &long_ihl).error.unwrap().reason.as_str(),
            "truncated"
        );

        let mut v = good.clone();
        v[0] = 0x55;
        assert_eq!(
            decode(228, &v).error.unwrap().reason.as_str(),
            "bad_version"
        );
    }

    #[test]
    fn total_length_beyond_frame_snaplen_or_lie() {
        let full = ipv4(
            6,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &tcp(1, 2, 0x18, &[], &[7u8; 100]),
        );
        let cut = &full[..60];
        // Cut by the snaplen: the wire had all 140 bytes.
        let d = decode_frame(228, cut, 140);
        assert!(has(&d, "ipv4_truncated"));
        assert!(
            !has(&d, "bad_tcp_checksum"),
            "a partial segment is not checked"
        );
        match d.l4 {
            L4::Tcp(t) => assert_eq!((t.seg_len, t.payload.len()), (100, 20)),
            other => panic!("{other:?}"),
        }
        // The whole frame was captured: the header lies.
        let d = decode(228, cut);
        assert!(has(&d, "ipv4_length_exceeds_frame"));
        assert!(!has(&d, "ipv4_truncated"));
        assert_eq!(d.net.unwrap().ip_len, 140);
    }

    #[test]
    fn zero_total_length_is_tso() {
        let mut ip = ipv4(
            6,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &tcp(1, 2, 0x10, &[], &[1u8; 3000]),
        );
        ip[2..4].copy_from_slice(&0u16.to_be_bytes());
        fix_ipv4_checksum(&mut ip);
        let d = decode(228, &ip);
        assert!(has(&d, "ipv4_total_length_zero"));
        assert_eq!(d.net.unwrap().ip_len, 3040);
        assert!(matches!(d.l4, L4::Tcp(t) if t.seg_len == 3000));
    }

    #[test]
    fn bad_header_checksum_still_decodes() {
        let mut ip = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, b"ab"));
        ip[10] ^= 0x55;
        let d = decode(228, &ip);
        assert!(has(&d, "bad_ipv4_checksum"));
        assert!(matches!(d.l4, L4::Udp(_)));
    }

    #[test]
    fn fragments() {
        let seg = udp(5000, 6000, &[9u8; 40]);
        // First fragment: offset 0, MF, carries the UDP header.
        let mut first = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &seg[..24]);
        first[4..6].copy_from_slice(&77u16.to_be_bytes());
        first[6..8].copy_from_slice(&0x2000u16.to_be_bytes());
        fix_ipv4_checksum(&mut first);
        let d = decode(228, &first);
        let n = d.net.unwrap();
        assert_eq!(
            n.frag,
            Some(Frag {
                id: 77,
                offset: 0,
                more: true
            })
        );
        assert!(!n.df);
        match d.l4 {
            L4::Udp(u) => assert_eq!((u.src_port, u.len, u.payload.len()), (5000, 40, 16)),
            other => panic!("{other:?}"),
        }
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
        // Second fragment: offset 24 bytes (3 units), no MF.
        let mut second = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &seg[24..]);
        second[4..6].copy_from_slice(&77u16.to_be_bytes());
        second[6..8].copy_from_slice(&3u16.to_be_bytes());
        fix_ipv4_checksum(&mut second);
        let d = decode(228, &second);
        assert_eq!(
            d.net.unwrap().frag,
            Some(Frag {
                id: 77,
                offset: 24,
                more: false
            })
        );
        assert_eq!(d.l4, L4::Fragment);
    }
}
