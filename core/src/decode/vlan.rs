//! IEEE 802.1Q / 802.1ad VLAN tags (QinQ stacks them).
//!
//! [`VlanTag::new_checked`] checks the 4-byte tag is present; accessors cannot panic after.

use super::bytes::{be16, tail};
use crate::model::DecodeReason;

/// At most this many stacked tags are followed (real networks use 1–2).
pub(crate) const MAX_TAGS: usize = 8;

mod field {
    use std::ops::Range;
    /// Priority (3 bits), drop eligible (1 bit), VLAN id (12 bits).
    pub const TCI: Range<usize> = 0..2;
    pub const ETHERTYPE: Range<usize> = 2..4;
    pub const PAYLOAD: usize = 4;
}

/// A checked view of one VLAN tag (the part after the TPID).
#[derive(Clone, Copy, Debug)]
pub(crate) struct VlanTag<'a> {
    buf: &'a [u8],
}

impl<'a> VlanTag<'a> {
    pub(crate) const LEN: usize = field::PAYLOAD;

    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        if buf.len() < Self::LEN {
            return Err(DecodeReason::Truncated);
        }
        Ok(VlanTag { buf })
    }

    pub(crate) fn vid(&self) -> u16 {
        be16(self.buf, field::TCI) & 0x0fff
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

    fn tagged(tags: &[(u16, u16)], inner_type: u16, inner: &[u8]) -> Vec<u8> {
        // tags: (tpid, vid) outermost first.
        let mut body = Vec::new();
        for (i, (_, vid)) in tags.iter().enumerate() {
            body.extend_from_slice(&vid.to_be_bytes());
            let next = tags.get(i + 1).map(|t| t.0).unwrap_or(inner_type);
            body.extend_from_slice(&next.to_be_bytes());
        }
        body.extend_from_slice(inner);
        eth(tags[0].0, &body)
    }

    #[test]
    fn single_tag_sets_vlan() {
        let ip = ipv4(17, [192, 168, 1, 1], [192, 168, 1, 2], &udp(1000, 53, b"q"));
        let f = tagged(&[(0x8100, 0x2064)], 0x0800, &ip);
        let d = decode(1, &f);
        assert_eq!(d.vlan, 0x064, "priority bits are not part of the id");
        assert!(matches!(d.l4, L4::Udp(_)));
    }

    #[test]
    fn qinq_keeps_outer_id() {
        let ip = ipv4(17, [192, 168, 1, 1], [192, 168, 1, 2], &udp(1000, 53, b"q"));
        let f = tagged(&[(0x88a8, 100), (0x8100, 200)], 0x0800, &ip);
        let d = decode(1, &f);
        assert_eq!(d.vlan, 100);
        assert_eq!(d.error, None);
        assert!(d.net.is_some());
        sweep(
            1,
            &f,
            &[
                (0, "ethernet"),
                (14, "vlan"),
                (18, "vlan"),
                (22, "ipv4"),
                (42, "udp"),
                (50, ""),
            ],
        );
    }

    #[test]
    fn tag_loop_is_capped() {
        let tags: Vec<(u16, u16)> = (0..12).map(|i| (0x8100, i + 1)).collect();
        let f = tagged(
            &tags,
            0x0800,
            &ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &udp(1, 2, b"")),
        );
        let e = decode(1, &f).error.unwrap();
        assert_eq!(
            (e.layer.as_str(), e.reason.as_str(), e.offset),
            ("vlan", "too_many_tags", 14 + 8 * 4)
        );
    }
}
