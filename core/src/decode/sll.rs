//! Linux "cooked" capture, version 1 (LINKTYPE_LINUX_SLL = 113): a 16-byte pseudo-header
//! whose last field is the payload's EtherType.
//!
//! [`SllHeader::new_checked`] checks the 16 bytes are present; accessors cannot panic after.

use super::bytes::{be16, tail};
use super::{ethernet, Cx};
use crate::model::{DecodeLayer, DecodeReason};

mod field {
    use std::ops::Range;
    #[allow(dead_code)]
    pub const PKTTYPE: Range<usize> = 0..2;
    #[allow(dead_code)]
    pub const HATYPE: Range<usize> = 2..4;
    #[allow(dead_code)]
    pub const ADDR_LEN: Range<usize> = 4..6;
    #[allow(dead_code)]
    pub const ADDR: Range<usize> = 6..14;
    pub const PROTOCOL: Range<usize> = 14..16;
    pub const PAYLOAD: usize = 16;
}

/// A checked view of a Linux SLL header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SllHeader<'a> {
    buf: &'a [u8],
}

impl<'a> SllHeader<'a> {
    pub(crate) const LEN: usize = field::PAYLOAD;

    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        if buf.len() < Self::LEN {
            return Err(DecodeReason::Truncated);
        }
        Ok(SllHeader { buf })
    }

    pub(crate) fn protocol(&self) -> u16 {
        be16(self.buf, field::PROTOCOL)
    }

    pub(crate) fn payload(&self) -> &'a [u8] {
        tail(self.buf, field::PAYLOAD)
    }
}

/// Decodes a Linux SLL frame.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, buf: &'a [u8]) {
    match SllHeader::new_checked(buf) {
        // Protocol values below 0x0600 (802.2 LLC, CAN, netlink families…) are not EtherTypes
        // of IP and fall through the dispatch as "not IP".
        Ok(h) => ethernet::dispatch(cx, h.protocol(), h.payload(), SllHeader::LEN),
        Err(reason) => cx.fail(DecodeLayer::Sll, 0, reason),
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn sll(proto: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        v.extend_from_slice(&proto.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn sll_ipv4_tcp() {
        let f = sll(
            0x0800,
            &ipv4(
                6,
                [1, 2, 3, 4],
                [5, 6, 7, 8],
                &tcp(80, 1234, 0x12, &[], b""),
            ),
        );
        let d = decode(113, &f);
        assert_eq!(d.error, None);
        assert!(matches!(d.l4, L4::Tcp(t) if t.src_port == 80 && t.flags == 0x12));
        sweep(113, &f, &[(0, "sll"), (16, "ipv4"), (36, "tcp"), (56, "")]);
    }

    #[test]
    fn sll_vlan_and_ipv6() {
        let mut tag = vec![0x00, 0x0a, 0x86, 0xdd];
        tag.extend_from_slice(&ipv6(17, 1, 2, &udp(1, 2, b"")));
        let buf = sll(0x8100, &tag);
        let d = decode(113, &buf);
        assert_eq!(d.vlan, 10);
        assert!(matches!(d.l4, L4::Udp(_)));
    }
}
