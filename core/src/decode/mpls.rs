//! MPLS label stacks (RFC 3032) over Ethernet (EtherType 0x8847/0x8848).
//!
//! Labels are popped until the bottom-of-stack bit, at most [`MAX_LABELS`]. MPLS does not
//! name its payload: like Wireshark we look at the first nibble — 4 IPv4, 6 IPv6, 0 a
//! pseudowire control word (RFC 4385) followed by an Ethernet frame. Anything else is not
//! decoded (no error: it may be a valid payload we do not know); nothing at all after the
//! bottom label is `truncated` in layer `mpls`.

use super::bytes::{be32, tail, u8_at};
use super::{ethernet, ip, Cx};
use crate::model::{DecodeLayer, DecodeReason};

/// At most this many labels are popped.
pub(crate) const MAX_LABELS: usize = 16;

mod field {
    use std::ops::Range;
    /// Label (20 bits), traffic class (3), bottom of stack (1), TTL (8).
    pub const ENTRY: Range<usize> = 0..4;
    pub const LEN: usize = 4;
}

/// A checked view of one label stack entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LabelEntry<'a> {
    buf: &'a [u8],
}

impl<'a> LabelEntry<'a> {
    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        if buf.len() < field::LEN {
            return Err(DecodeReason::Truncated);
        }
        Ok(LabelEntry { buf })
    }

    #[allow(dead_code)]
    pub(crate) fn label(&self) -> u32 {
        be32(self.buf, field::ENTRY) >> 12
    }

    pub(crate) fn bottom(&self) -> bool {
        be32(self.buf, field::ENTRY) & 0x100 != 0
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        tail(self.buf, field::LEN)
    }
}

/// Pops the label stack at frame offset `off` and decodes what it carries.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, mut buf: &'a [u8], mut off: usize) {
    for _ in 0..MAX_LABELS {
        let e = match LabelEntry::new_checked(buf) {
            Ok(e) => e,
            Err(reason) => return cx.fail(DecodeLayer::Mpls, off, reason),
        };
        buf = e.rest();
        off += field::LEN;
        if e.bottom() {
            return payload(cx, buf, off);
        }
    }
    cx.fail(DecodeLayer::Mpls, off, DecodeReason::TooManyLabels);
}

fn payload<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    match u8_at(buf, 0) >> 4 {
        4 => ip::decode_v4(cx, buf, off),
        6 => ip::decode_v6(cx, buf, off),
        0 if buf.len() >= 4 + ethernet::EthernetFrame::HEADER_LEN => {
            // Pseudowire control word, then the emulated Ethernet frame.
            ethernet::decode(cx, tail(buf, 4), off + 4)
        }
        _ if buf.is_empty() => cx.fail(DecodeLayer::Mpls, off, DecodeReason::Truncated),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn labels(n: usize, inner: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for i in 0..n {
            let bos = if i + 1 == n { 0x100 } else { 0 };
            let entry: u32 = ((16 + i as u32) << 12) | bos | 64;
            v.extend_from_slice(&entry.to_be_bytes());
        }
        v.extend_from_slice(inner);
        v
    }

    #[test]
    fn two_labels_then_ipv4() {
        let ip = ipv4(
            6,
            [10, 1, 1, 1],
            [10, 2, 2, 2],
            &tcp(23, 4000, 0x10, &[], b"x"),
        );
        let f = eth(0x8847, &labels(2, &ip));
        let d = decode(1, &f);
        assert_eq!(d.error, None);
        assert!(matches!(d.l4, L4::Tcp(t) if t.src_port == 23));
        sweep(
            1,
            &f,
            &[
                (0, "ethernet"),
                (14, "mpls"),
                (18, "mpls"),
                (23, "ipv4"),
                (42, "tcp"),
                (62, ""),
            ],
        );
    }

    #[test]
    fn pseudowire_ethernet() {
        let ip = ipv6(17, 1, 2, &udp(1, 2, b"abc"));
        let inner = eth(0x86dd, &ip);
        let mut pw = vec![0, 0, 0, 0];
        pw.extend_from_slice(&inner);
        let f = eth(0x8847, &labels(1, &pw));
        let d = decode(1, &f);
        assert_eq!(d.error, None);
        assert!(matches!(d.l4, L4::Udp(u) if u.payload == b"abc"));
    }

    #[test]
    fn label_loop_is_capped() {
        let mut v = Vec::new();
        for _ in 0..20 {
            v.extend_from_slice(&(16u32 << 12).to_be_bytes());
        }
        let e = decode(1, &eth(0x8847, &v)).error.unwrap();
        assert_eq!(
            (e.layer.as_str(), e.reason.as_str()),
            ("mpls", "too_many_labels")
        );
    }
}
