//! BSD null/loopback encapsulation: a 4-byte address family before the IP packet.
//!
//! LINKTYPE_NULL (0) stores the family in the capturing host's byte order, so both orders
//! are accepted; LINKTYPE_LOOP (108, OpenBSD) stores it in network byte order. AF_INET is 2
//! everywhere; AF_INET6 is 24 (NetBSD, OpenBSD, BSD/OS), 28 (FreeBSD, DragonFly) or 30
//! (Darwin/macOS). Other families (not IP) decode to nothing.

use super::bytes::{arr4, tail};
use super::{ip, Cx};
use crate::model::{DecodeLayer, DecodeReason};

mod field {
    use std::ops::Range;
    pub const FAMILY: Range<usize> = 0..4;
    pub const PAYLOAD: usize = 4;
}

const AF_INET: u32 = 2;
const AF_INET6: [u32; 3] = [24, 28, 30];

/// A checked view of the 4-byte family header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NullHeader<'a> {
    buf: &'a [u8],
}

impl<'a> NullHeader<'a> {
    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        if buf.len() < field::PAYLOAD {
            return Err(DecodeReason::Truncated);
        }
        Ok(NullHeader { buf })
    }

    /// The family read in network order and in little-endian order.
    pub(crate) fn families(&self) -> (u32, u32) {
        let b = arr4(self.buf, field::FAMILY);
        (u32::from_be_bytes(b), u32::from_le_bytes(b))
    }

    pub(crate) fn payload(&self) -> &'a [u8] {
        tail(self.buf, field::PAYLOAD)
    }
}

/// Decodes a NULL (`network_order == false`) or LOOP frame.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, buf: &'a [u8], network_order: bool) {
    let layer = if network_order {
        DecodeLayer::Loop
    } else {
        DecodeLayer::Null
    };
    let h = match NullHeader::new_checked(buf) {
        Ok(h) => h,
        Err(reason) => return cx.fail(layer, 0, reason),
    };
    let (be, le) = h.families();
    let fams: &[u32] = if network_order { &[be] } else { &[be, le] };
    if fams.contains(&AF_INET) {
        ip::decode_v4(cx, h.payload(), field::PAYLOAD)
    } else if fams.iter().any(|f| AF_INET6.contains(f)) {
        ip::decode_v6(cx, h.payload(), field::PAYLOAD)
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn frame(fam: [u8; 4], ip: &[u8]) -> Vec<u8> {
        let mut v = fam.to_vec();
        v.extend_from_slice(ip);
        v
    }

    #[test]
    fn null_both_byte_orders_and_all_inet6_values() {
        let v4 = ipv4(17, [127, 0, 0, 1], [127, 0, 0, 1], &udp(1, 2, b""));
        for fam in [[2, 0, 0, 0], [0, 0, 0, 2]] {
            let buf = frame(fam, &v4);
            let d = decode(0, &buf);
            assert!(matches!(d.l4, L4::Udp(_)), "{fam:?}");
        }
        let v6 = ipv6(6, 1, 1, &tcp(1, 2, 0x02, &[], b""));
        for af in [24u32, 28, 30] {
            for fam in [af.to_le_bytes(), af.to_be_bytes()] {
                let buf = frame(fam, &v6);
                let d = decode(0, &buf);
                assert!(matches!(d.l4, L4::Tcp(_)), "{fam:?}");
            }
        }
        sweep(
            0,
            &frame([2, 0, 0, 0], &v4),
            &[(0, "null"), (4, "ipv4"), (24, "udp"), (32, "")],
        );
    }

    #[test]
    fn loop_is_network_order_only() {
        let v4 = ipv4(17, [127, 0, 0, 1], [127, 0, 0, 1], &udp(1, 2, b""));
        assert!(decode(108, &frame([0, 0, 0, 2], &v4)).net.is_some());
        assert!(decode(108, &frame([2, 0, 0, 0], &v4)).net.is_none());
        let e = decode(108, &[0, 0]).error.unwrap();
        assert_eq!((e.layer.as_str(), e.reason.as_str()), ("loop", "truncated"));
    }

    #[test]
    fn other_family_is_not_ip() {
        let buf = frame([18, 0, 0, 0], &[0u8; 30]);
        let d = decode(0, &buf);
        assert_eq!((d.net, d.error), (None, None));
    }
}
