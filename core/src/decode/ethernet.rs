//! Ethernet II framing and the EtherType dispatch shared by every layer that names its
//! payload with an EtherType (Ethernet, Linux SLL/SLL2, GRE, Geneve, Cisco HDLC).
//!
//! [`EthernetFrame::new_checked`] checks that the 14-byte header is present; the accessors
//! cannot panic afterwards. 802.3 frames (length ≤ 1500 in the type field) carry LLC, not IP,
//! and decode to nothing.

use super::bytes::{be16, tail};
use super::{cmd, ip, mpls, nsh, pppoe, vlan, Cx};
use crate::model::{DecodeLayer, DecodeReason};

/// EtherType values we follow.
pub(crate) mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const IPV6: u16 = 0x86DD;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88A8;
    /// Pre-standard QinQ outer tags.
    pub const QINQ_OLD: [u16; 3] = [0x9100, 0x9200, 0x9300];
    pub const MPLS_UC: u16 = 0x8847;
    pub const MPLS_MC: u16 = 0x8848;
    pub const PPPOE_SESSION: u16 = 0x8864;
    /// Transparent Ethernet bridging (an Ethernet frame inside GRE or Geneve).
    pub const TEB: u16 = 0x6558;
    /// Network Service Header (RFC 8300).
    pub const NSH: u16 = 0x894F;
    /// Cisco MetaData (security group tag), followed like a VLAN tag.
    pub const CISCO_METADATA: u16 = 0x8909;
}

mod field {
    use std::ops::Range;
    #[allow(dead_code)]
    pub const DST: Range<usize> = 0..6;
    #[allow(dead_code)]
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// A checked view of an Ethernet II header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EthernetFrame<'a> {
    buf: &'a [u8],
}

impl<'a> EthernetFrame<'a> {
    pub(crate) const HEADER_LEN: usize = field::PAYLOAD;

    /// Checks that the header is present.
    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        if buf.len() < Self::HEADER_LEN {
            return Err(DecodeReason::Truncated);
        }
        Ok(EthernetFrame { buf })
    }

    pub(crate) fn ethertype(&self) -> u16 {
        be16(self.buf, field::ETHERTYPE)
    }

    pub(crate) fn payload(&self) -> &'a [u8] {
        tail(self.buf, field::PAYLOAD)
    }
}

/// Decodes an Ethernet frame starting at frame offset `off`.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    if !cx.enter_layer(off) {
        return;
    }
    match EthernetFrame::new_checked(buf) {
        Ok(f) => dispatch(
            cx,
            f.ethertype(),
            f.payload(),
            off + EthernetFrame::HEADER_LEN,
        ),
        Err(reason) => cx.fail(DecodeLayer::Ethernet, off, reason),
    }
}

fn is_vlan(et: u16) -> bool {
    et == ethertype::VLAN || et == ethertype::QINQ || ethertype::QINQ_OLD.contains(&et)
}

/// Follows a payload named by EtherType `et` (802.1Q/802.1ad tags and Cisco MetaData first,
/// at most [`vlan::MAX_TAGS`] in all). The outermost tag of the outermost frame becomes `Decoded::vlan`.
pub(crate) fn dispatch<'a>(cx: &mut Cx<'a>, mut et: u16, mut buf: &'a [u8], mut off: usize) {
    let mut tags = 0usize;
    while et == ethertype::CISCO_METADATA || is_vlan(et) {
        if tags >= vlan::MAX_TAGS {
            cx.fail(DecodeLayer::Vlan, off, DecodeReason::TooManyTags);
            return;
        }
        if et == ethertype::CISCO_METADATA {
            let tag = match cmd::CmdTag::new_checked(buf) {
                Ok(t) => t,
                Err(reason) => return cx.fail(DecodeLayer::Cmd, off, reason),
            };
            et = tag.ethertype();
            buf = tag.payload();
            off += cmd::CmdTag::LEN;
            tags += 1;
            continue;
        }
        let tag = match vlan::VlanTag::new_checked(buf) {
            Ok(t) => t,
            Err(reason) => {
                cx.fail(DecodeLayer::Vlan, off, reason);
                return;
            }
        };
        if cx.depth == 0 && cx.d.vlan == 0 {
            cx.d.vlan = tag.vid();
        }
        et = tag.ethertype();
        buf = tag.payload();
        off += vlan::VlanTag::LEN;
        tags += 1;
    }
    match et {
        ethertype::IPV4 => ip::decode_v4(cx, buf, off),
        ethertype::IPV6 => ip::decode_v6(cx, buf, off),
        ethertype::MPLS_UC | ethertype::MPLS_MC => mpls::decode(cx, buf, off),
        ethertype::PPPOE_SESSION => pppoe::decode(cx, buf, off),
        ethertype::NSH => nsh::decode(cx, buf, off),
        ethertype::ARP if cx.depth == 0 => cx.d.arp = crate::decode::Arp::parse(buf),
        // LLDP, PPPoE discovery, 802.3 lengths…: not IP, nothing to report.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    #[test]
    fn arp_request_is_read_and_cut_ones_are_not() {
        let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
        arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 10, 71, 1, 1]);
        arp.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 71, 1, 2]);
        let f = eth(0x0806, &arp);
        let d = decode(1, &f);
        let a = d.arp.unwrap();
        assert_eq!(
            (a.op, a.sender.to_string(), a.target.to_string()),
            (1, "10.71.1.1".into(), "10.71.1.2".into())
        );
        assert!(d.net.is_none() && d.error.is_none());
        for cut in 0..arp.len() {
            assert!(
                decode(1, &eth(0x0806, &arp[..cut])).arp.is_none(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn ethernet_ipv4_udp() {
        let f = eth(
            0x0800,
            &ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(5060, 5061, b"hello")),
        );
        let d = decode(1, &f);
        assert_eq!(d.error, None);
        let net = d.net.unwrap();
        assert_eq!(net.src.to_string(), "10.0.0.1");
        match d.l4 {
            L4::Udp(u) => assert_eq!(
                (u.src_port, u.dst_port, u.payload),
                (5060, 5061, &b"hello"[..])
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn non_ip_ethertype_is_not_an_error() {
        let f = eth(0x0806, &[0u8; 28]);
        let d = decode(1, &f);
        assert_eq!((d.net, d.error, d.l4), (None, None, L4::None));
    }

    #[test]
    fn truncation_sweep() {
        let f = eth(
            0x0800,
            &ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &tcp(1, 2, 0x02, &[], b"")),
        );
        sweep(
            1,
            &f,
            &[(0, "ethernet"), (14, "ipv4"), (34, "tcp"), (54, "")],
        );
    }
}
