//! IPv6 (RFC 8200) and its extension headers.
//!
//! [`Ipv6Packet::new_checked`] checks the version and that the 40-byte header was captured;
//! accessors cannot panic after. [`decode`] reconciles the payload length with the captured
//! bytes (as IPv4 does with its total length) and walks at most [`MAX_EXT_HEADERS`]
//! extension headers: hop-by-hop, routing, destination options, fragment (its id becomes
//! `Net::ip_id`), AH, and the mobility/HIP/shim6 headers that share the generic layout.
//! ESP encrypts what follows, so the walk stops there (`Net::proto` = 50, `L4::Other`).

use super::bytes::{arr16, be16, be32, head, tail, u8_at};
use super::ip::{self, IpPayload};
use super::{checksum, Cx, Frag, Net, L4};
use crate::model::{Anomaly, DecodeLayer, DecodeReason};
use std::net::{IpAddr, Ipv6Addr};

mod field {
    use std::ops::Range;
    #[allow(dead_code)]
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
    pub const PAYLOAD: usize = 40;
}

/// Fragment extension header fields (RFC 8200 §4.5).
mod frag_field {
    use std::ops::Range;
    pub const OFFSET_FLAGS: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..8;
    pub const LEN: usize = 8;
}

/// The fixed header length.
pub(crate) const HEADER_LEN: usize = field::PAYLOAD;

/// At most this many extension headers are walked.
pub(crate) const MAX_EXT_HEADERS: usize = 8;

/// Extension header numbers.
pub(crate) mod ext {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const DEST_OPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
}

/// A checked view of an IPv6 header over the captured bytes of the packet.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ipv6Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Ipv6Packet<'a> {
    /// Checks version 6 and that the fixed header is in `buf`.
    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        let first = *buf.first().ok_or(DecodeReason::Truncated)?;
        if first >> 4 != 6 {
            return Err(DecodeReason::BadVersion);
        }
        if buf.len() < HEADER_LEN {
            return Err(DecodeReason::Truncated);
        }
        Ok(Ipv6Packet { buf })
    }

    pub(crate) fn payload_len(&self) -> usize {
        usize::from(be16(self.buf, field::PAYLOAD_LEN))
    }
    pub(crate) fn next_header(&self) -> u8 {
        u8_at(self.buf, field::NEXT_HEADER)
    }
    pub(crate) fn hop_limit(&self) -> u8 {
        u8_at(self.buf, field::HOP_LIMIT)
    }
    pub(crate) fn src(&self) -> [u8; 16] {
        arr16(self.buf, field::SRC)
    }
    pub(crate) fn dst(&self) -> [u8; 16] {
        arr16(self.buf, field::DST)
    }
    /// Every captured byte after the fixed header.
    pub(crate) fn rest(&self) -> &'a [u8] {
        tail(self.buf, field::PAYLOAD)
    }
}

/// The result of walking the extension headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ExtWalk {
    /// The protocol after the last extension header.
    pub proto: u8,
    /// Bytes of extension headers.
    pub len: usize,
    pub frag: Option<Frag>,
    /// A routing header with segments left: the checksum's destination is not `dst`.
    pub routed: bool,
}

/// Walks the extension headers of a payload whose first header is `nh`. `captured` is the
/// payload as captured, `wire` its length per the header. Errors are decode reasons.
pub(crate) fn walk_ext(mut nh: u8, captured: &[u8], wire: usize) -> Result<ExtWalk, DecodeReason> {
    let mut pos = 0usize;
    let mut frag = None;
    let mut routed = false;
    for _ in 0..MAX_EXT_HEADERS {
        let len = match nh {
            ext::HOP_BY_HOP
            | ext::ROUTING
            | ext::DEST_OPTS
            | ext::MOBILITY
            | ext::HIP
            | ext::SHIM6 => ext_len(captured, pos, wire, |b1| (usize::from(b1) + 1) * 8)?,
            ext::AH => ext_len(captured, pos, wire, |b1| (usize::from(b1) + 2) * 4)?,
            ext::FRAGMENT => ext_len(captured, pos, wire, |_| frag_field::LEN)?,
            _ => {
                return Ok(ExtWalk {
                    proto: nh,
                    len: pos,
                    frag,
                    routed,
                })
            }
        };
        let h = captured
            .get(pos..pos + len)
            .ok_or(DecodeReason::Truncated)?;
        if nh == ext::FRAGMENT {
            let of = be16(h, frag_field::OFFSET_FLAGS);
            frag = Some(Frag {
                id: be32(h, frag_field::IDENT),
                offset: u32::from(of & 0xfff8),
                more: of & 1 != 0,
            });
        } else if nh == ext::ROUTING && u8_at(h, 3) != 0 {
            routed = true;
        }
        nh = u8_at(h, 0);
        pos += len;
        if frag.is_some_and(|f| f.offset != 0) {
            // A later fragment: what follows is the middle of the payload.
            return Ok(ExtWalk {
                proto: nh,
                len: pos,
                frag,
                routed,
            });
        }
    }
    match nh {
        ext::HOP_BY_HOP
        | ext::ROUTING
        | ext::DEST_OPTS
        | ext::MOBILITY
        | ext::HIP
        | ext::SHIM6
        | ext::AH
        | ext::FRAGMENT => Err(DecodeReason::TooManyExtensionHeaders),
        _ => Ok(ExtWalk {
            proto: nh,
            len: pos,
            frag,
            routed,
        }),
    }
}

/// The length of the extension header at `pos`, checked against the wire and captured lengths.
fn ext_len(
    captured: &[u8],
    pos: usize,
    wire: usize,
    f: impl Fn(u8) -> usize,
) -> Result<usize, DecodeReason> {
    if pos + 2 > wire {
        return Err(DecodeReason::BadExtensionLength);
    }
    let b1 = *captured.get(pos + 1).ok_or(DecodeReason::Truncated)?;
    let len = f(b1);
    if pos + len > wire {
        return Err(DecodeReason::BadExtensionLength);
    }
    if pos + len > captured.len() {
        return Err(DecodeReason::Truncated);
    }
    Ok(len)
}

/// Decodes an IPv6 packet at frame offset `off`, then its payload.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    let p = match Ipv6Packet::new_checked(buf) {
        Ok(p) => p,
        Err(reason) => return cx.fail(DecodeLayer::Ipv6, off, reason),
    };
    let rest = p.rest();
    let plen = p.payload_len();
    let offload = matches!(p.next_header(), ip::proto::TCP | ip::proto::UDP);
    let (data, wire) = if plen == 0 && offload && rest.len() >= 8 {
        // Segmentation offload on the sending host. Only TCP/UDP (what offload produces) and
        // at least a UDP header: an empty packet followed by Ethernet padding is not one.
        cx.d.anomalies.add(Anomaly::Ipv6PayloadLengthZero);
        (rest, rest.len())
    } else if plen > rest.len() {
        cx.d.anomalies.add(if cx.snap_short {
            Anomaly::Ipv6Truncated
        } else {
            Anomaly::Ipv6LengthExceedsFrame
        });
        (rest, plen)
    } else {
        (head(rest, plen), plen)
    };
    let w = match walk_ext(p.next_header(), data, wire) {
        Ok(w) => w,
        Err(reason) => return cx.fail(DecodeLayer::Ipv6, off, reason),
    };
    let (src, dst) = (p.src(), p.dst());
    cx.d.net = Some(Net {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        ttl: p.hop_limit(),
        ip_id: w.frag.map(|f| f.id),
        df: false,
        ip_len: u32::try_from(HEADER_LEN + wire).unwrap_or(u32::MAX),
        proto: w.proto,
        frag: w.frag,
    });
    if w.proto == ext::ESP {
        cx.d.l4 = L4::Other;
        return;
    }
    ip::transport(
        cx,
        IpPayload {
            data: tail(data, w.len),
            off: off + HEADER_LEN + w.len,
            wire_len: u32::try_from(wire.saturating_sub(w.len)).unwrap_or(u32::MAX),
            proto: w.proto,
            addr_sum: checksum::addr_sum(&src, &dst),
            fragment: w.frag.is_some(),
            later_fragment: w.frag.is_some_and(|f| f.offset != 0),
            skip_checksum: w.routed,
            v6: true,
        },
    );
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, decode_frame, Frag, L4};
    use crate::testkit::frames::*;

    /// An IPv6 packet whose payload starts with the given extension headers.
    fn with_ext(exts: &[(u8, Vec<u8>)], proto: u8, upper: &[u8]) -> Vec<u8> {
        // exts: (header number, body after the 2-byte next/len prefix, padded by caller)
        let mut payload = Vec::new();
        for (i, (_, body)) in exts.iter().enumerate() {
            let next = exts.get(i + 1).map(|e| e.0).unwrap_or(proto);
            payload.push(next);
            payload.extend_from_slice(body);
        }
        payload.extend_from_slice(upper);
        let first = exts.first().map(|e| e.0).unwrap_or(proto);
        ipv6_raw(first, 1, 2, &payload)
    }

    #[test]
    fn header_fields() {
        let p = ipv6(17, 1, 2, &udp(1, 2, b"hi"));
        let d = decode(229, &p);
        let n = d.net.unwrap();
        assert_eq!(
            (n.ttl, n.ip_id, n.df, n.ip_len, n.proto, n.frag),
            (64, None, false, 50, 17, None)
        );
        assert_eq!(n.dst.to_string(), "2001:db8::2");
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
    }

    #[test]
    fn hop_by_hop_and_dest_options_then_tcp() {
        let t = tcp6(1, 2, 80, 0x02, &[]);
        // 8-byte HBH: len 0, PadN(4) → 2 + 6 bytes total.
        let hbh = vec![0u8, 1, 4, 0, 0, 0, 0];
        let dst = vec![0u8, 1, 4, 0, 0, 0, 0];
        let p = with_ext(&[(0, hbh), (60, dst)], 6, &t);
        let d = decode(229, &p);
        assert_eq!(d.error, None);
        assert_eq!(d.net.unwrap().proto, 6);
        assert!(matches!(d.l4, L4::Tcp(t) if t.dst_port == 80));
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
        sweep(229, &p, &[(0, "ipv6"), (56, "tcp"), (76, "")]);
    }

    #[test]
    fn fragment_header() {
        let u = udp(1, 2, &[5u8; 32]);
        // offset 0, M=1, id 0x01020304
        let fh = vec![0u8, 0x00, 0x01, 1, 2, 3, 4];
        let p = with_ext(&[(44, fh)], 17, &u[..16]);
        let d = decode(229, &p);
        let n = d.net.unwrap();
        assert_eq!(
            n.frag,
            Some(Frag {
                id: 0x0102_0304,
                offset: 0,
                more: true
            })
        );
        assert_eq!(n.ip_id, Some(0x0102_0304));
        assert!(matches!(d.l4, L4::Udp(u) if u.len == 32));
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
        let fh2 = vec![0u8, 0x00, 0x10, 1, 2, 3, 4]; // offset 16, last
        let buf = with_ext(&[(44, fh2)], 17, &u[16..]);
        let d = decode(229, &buf);
        assert_eq!(
            d.net.unwrap().frag,
            Some(Frag {
                id: 0x0102_0304,
                offset: 16,
                more: false
            })
        );
        assert_eq!(d.l4, L4::Fragment);
    }

    #[test]
    fn ah_then_udp_and_esp_stops() {
        // AH with payload len 4 → (4+2)*4 = 24 bytes.
        let mut ah = vec![4u8, 0, 0];
        ah.extend_from_slice(&[0u8; 20]);
        let p = with_ext(&[(51, ah)], 17, &udp6(1, 2, 53, b"q"));
        let d = decode(229, &p);
        assert!(matches!(d.l4, L4::Udp(u) if u.dst_port == 53), "{:?}", d);
        let esp = ipv6_raw(50, 1, 2, &[0u8; 24]);
        let d = decode(229, &esp);
        assert_eq!((d.net.unwrap().proto, d.l4), (50, L4::Other));
    }

    #[test]
    fn zero_payload_length() {
        // Segmentation offload: TCP with payload length 0.
        let mut p = ipv6(6, 1, 2, &tcp(1, 2, 0x10, &[], &[3u8; 2000]));
        p[4..6].copy_from_slice(&[0, 0]);
        let d = decode(229, &p);
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.as_str() == "ipv6_payload_length_zero"));
        assert!(matches!(d.l4, L4::Tcp(t) if t.seg_len == 2000));
        // An empty packet (no next header) padded by Ethernet: not offload, padding dropped.
        let mut f = eth(0x86dd, &ipv6_raw(59, 1, 2, &[]));
        f.extend_from_slice(&[0u8; 6]);
        let d = decode(1, &f);
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
        assert_eq!((d.net.unwrap().ip_len, d.l4), (40, L4::Other));
    }

    #[test]
    fn extension_header_past_the_end() {
        // HBH claims 16 bytes but the payload length is 8.
        let p = ipv6_raw(0, 1, 2, &[17, 1, 0, 0, 0, 0, 0, 0]);
        let e = decode(229, &p).error.unwrap();
        assert_eq!(
            (e.layer.as_str(), e.reason.as_str()),
            ("ipv6", "bad_extension_length")
        );
        // Payload length says 16 but only 8 captured (snaplen): truncated.
        let mut p = ipv6_raw(0, 1, 2, &[17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        p.truncate(48);
        let d = decode_frame(229, &p, 56);
        assert_eq!(d.error.unwrap().reason.as_str(), "truncated");
        assert!(d.anomalies.iter().any(|a| a.as_str() == "ipv6_truncated"));
    }

    #[test]
    fn extension_loop_is_capped() {
        let exts: Vec<(u8, Vec<u8>)> = (0..10)
            .map(|_| (60u8, vec![0u8, 1, 4, 0, 0, 0, 0]))
            .collect();
        let p = with_ext(&exts, 59, &[]);
        let e = decode(229, &p).error.unwrap();
        assert_eq!(
            (e.layer.as_str(), e.reason.as_str()),
            ("ipv6", "too_many_extension_headers")
        );
    }
}
