//! Linux "cooked" capture, version 2 (LINKTYPE_LINUX_SLL2 = 276): a 20-byte pseudo-header
//! that starts with the payload's EtherType.
//!
//! [`Sll2Header::new_checked`] checks the 20 bytes are present; accessors cannot panic after.

use super::bytes::{be16, tail};
use super::{ethernet, Cx};
use crate::model::{DecodeLayer, DecodeReason};

mod field {
    use std::ops::Range;
    pub const PROTOCOL: Range<usize> = 0..2;
    #[allow(dead_code)]
    pub const RESERVED: Range<usize> = 2..4;
    #[allow(dead_code)]
    pub const IFINDEX: Range<usize> = 4..8;
    #[allow(dead_code)]
    pub const HATYPE: Range<usize> = 8..10;
    #[allow(dead_code)]
    pub const PKTTYPE: usize = 10;
    #[allow(dead_code)]
    pub const ADDR_LEN: usize = 11;
    #[allow(dead_code)]
    pub const ADDR: Range<usize> = 12..20;
    pub const PAYLOAD: usize = 20;
}

/// A checked view of a Linux SLL2 header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sll2Header<'a> {
    buf: &'a [u8],
}

impl<'a> Sll2Header<'a> {
    pub(crate) const LEN: usize = field::PAYLOAD;

    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        if buf.len() < Self::LEN {
            return Err(DecodeReason::Truncated);
        }
        Ok(Sll2Header { buf })
    }

    pub(crate) fn protocol(&self) -> u16 {
        be16(self.buf, field::PROTOCOL)
    }

    pub(crate) fn payload(&self) -> &'a [u8] {
        tail(self.buf, field::PAYLOAD)
    }
}

/// Decodes a Linux SLL2 frame.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, buf: &'a [u8]) {
    match Sll2Header::new_checked(buf) {
        Ok(h) => ethernet::dispatch(cx, h.protocol(), h.payload(), Sll2Header::LEN),
        Err(reason) => cx.fail(DecodeLayer::Sll2, 0, reason),
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    #[test]
    fn sll2_ipv6_udp() {
        let mut f = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0,
        ];
        f.extend_from_slice(&ipv6(17, 1, 2, &udp(3478, 5000, b"stun")));
        let d = decode(276, &f);
        assert_eq!(d.error, None);
        assert!(matches!(d.l4, L4::Udp(u) if u.dst_port == 5000 && u.payload == b"stun"));
        sweep(276, &f, &[(0, "sll2"), (20, "ipv6"), (60, "udp"), (68, "")]);
    }
}
