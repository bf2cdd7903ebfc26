//! Network Service Header (RFC 8300), EtherType 0x894F: service-function chaining metadata
//! in front of the original packet. Like a VLAN tag or an MPLS label it is a shim, not a
//! tunnel: the packet it carries is the flow.
//!
//! [`NshHeader::new_checked`] checks version 0 and that the whole header (its length field,
//! in 4-byte words, at least the 8-byte base and service path headers) was captured;
//! accessors cannot panic after. Next protocol 1 is IPv4, 2 IPv6, 3 Ethernet, 5 MPLS.

use super::bytes::{tail, u8_at};
use super::{ethernet, ip, mpls, Cx};
use crate::model::{DecodeLayer, DecodeReason};

mod field {
    pub const VER_FLAGS: usize = 0;
    /// TTL (low 2 bits of the TTL) and length in 4-byte words (6 bits).
    pub const TTL_LEN: usize = 1;
    pub const NEXT_PROTO: usize = 3;
    /// Base header + service path header.
    pub const MIN_LEN: usize = 8;
}

/// A checked view of an NSH header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NshHeader<'a> {
    buf: &'a [u8],
    len: usize,
}

impl<'a> NshHeader<'a> {
    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        let first = *buf.first().ok_or(DecodeReason::Truncated)?;
        if first >> 6 != 0 {
            return Err(DecodeReason::BadVersion);
        }
        let words = *buf.get(field::TTL_LEN).ok_or(DecodeReason::Truncated)?;
        let len = usize::from(words & 0x3f) * 4;
        if len < field::MIN_LEN {
            return Err(DecodeReason::BadHeaderLength);
        }
        if buf.len() < len {
            return Err(DecodeReason::Truncated);
        }
        Ok(NshHeader { buf, len })
    }

    pub(crate) fn next_protocol(&self) -> u8 {
        u8_at(self.buf, field::NEXT_PROTO)
    }
    #[allow(dead_code)]
    pub(crate) fn version(&self) -> u8 {
        u8_at(self.buf, field::VER_FLAGS) >> 6
    }
    pub(crate) fn payload(&self) -> &'a [u8] {
        tail(self.buf, self.len)
    }
}

/// Decodes an NSH packet at frame offset `off`.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    let h = match NshHeader::new_checked(buf) {
        Ok(h) => h,
        Err(reason) => return cx.fail(DecodeLayer::Nsh, off, reason),
    };
    let (inner, ioff) = (h.payload(), off + h.len);
    match h.next_protocol() {
        1 => ip::decode_v4(cx, inner, ioff),
        2 => ip::decode_v6(cx, inner, ioff),
        3 => ethernet::decode(cx, inner, ioff),
        5 => mpls::decode(cx, inner, ioff),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    #[test]
    fn nsh_md_type_1_then_ipv4() {
        // Length 6 words = 24 bytes: base (4), service path (4), 16 bytes of context.
        let mut n = vec![0x0f, 0xc6, 0x01, 0x01, 0, 0, 1, 0xff];
        n.extend_from_slice(&[0u8; 16]);
        n.extend_from_slice(&ipv4(
            1,
            [192, 168, 10, 1],
            [192, 168, 10, 2],
            &[8, 0, 0xf7, 0xff, 0, 0, 0, 0],
        ));
        let f = eth(0x894f, &n);
        let d = decode(1, &f);
        assert_eq!(d.error, None);
        assert!(matches!(d.l4, L4::Icmp(i) if i.kind == 8));
        assert_eq!(d.tunnel, None);
        sweep(
            1,
            &f,
            &[
                (0, "ethernet"),
                (14, "nsh"),
                (38, "ipv4"),
                (58, "icmp"),
                (62, ""),
            ],
        );
    }

    #[test]
    fn nsh_impossible_length() {
        let e = decode(1, &eth(0x894f, &[0x0f, 0xc1, 0x01, 0x01, 0, 0, 1, 0xff]))
            .error
            .unwrap();
        assert_eq!(
            (e.layer.as_str(), e.reason.as_str()),
            ("nsh", "bad_header_length")
        );
    }
}
