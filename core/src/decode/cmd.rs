//! Cisco MetaData (EtherType 0x8909): an 8-byte tag carrying a security group tag (SGT)
//! before the real EtherType, much like an 802.1Q tag. It is followed in the same capped
//! loop as VLAN tags.
//!
//! [`CmdTag::new_checked`] checks the 6 bytes of metadata and the 2-byte EtherType.

use super::bytes::{be16, tail};
use crate::model::DecodeReason;

mod field {
    use std::ops::Range;
    #[allow(dead_code)]
    pub const VERSION: usize = 0;
    #[allow(dead_code)]
    pub const LENGTH: usize = 1;
    #[allow(dead_code)]
    pub const OPTION: Range<usize> = 2..4;
    #[allow(dead_code)]
    pub const SGT: Range<usize> = 4..6;
    pub const ETHERTYPE: Range<usize> = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// A checked view of a Cisco MetaData tag (after its EtherType).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CmdTag<'a> {
    buf: &'a [u8],
}

impl<'a> CmdTag<'a> {
    pub(crate) const LEN: usize = field::PAYLOAD;

    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        if buf.len() < Self::LEN {
            return Err(DecodeReason::Truncated);
        }
        Ok(CmdTag { buf })
    }
    pub(crate) fn ethertype(&self) -> u16 {
        be16(self.buf, field::ETHERTYPE)
    }
    pub(crate) fn payload(&self) -> &'a [u8] {
        tail(self.buf, field::PAYLOAD)
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    #[test]
    fn cmd_then_ipv4() {
        let mut c = vec![1, 1, 0, 1, 0, 0x10, 0x08, 0x00];
        c.extend_from_slice(&ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, b"")));
        let f = eth(0x8909, &c);
        assert!(matches!(decode(1, &f).l4, L4::Udp(_)));
        sweep(
            1,
            &f,
            &[
                (0, "ethernet"),
                (14, "cmd"),
                (22, "ipv4"),
                (42, "udp"),
                (50, ""),
            ],
        );
    }
}
