//! Overlay networks over UDP: VXLAN (RFC 7348, port 4789), VXLAN-GPE (port 4790; its next
//! protocol is followed whether or not the P bit is set, as Wireshark does) and
//! Geneve (RFC 8926, port 6081). Each wraps an Ethernet frame (or, for GPE and Geneve, a
//! payload named by its protocol field) after a small header.
//!
//! The header views check their length (Geneve: 8 bytes plus its options) and the flag that
//! makes the header valid (VXLAN's I bit, Geneve version 0); a packet on those ports without
//! it is left as plain UDP.

use super::bytes::{be16, tail, u8_at};
use super::ethernet::{self, ethertype};
use super::udp::port;
use super::{ip, nsh, tunnel, Cx};
use crate::model::{Anomaly, DecodeReason};

mod field {
    pub const FLAGS: usize = 0;
    /// VXLAN-GPE: next protocol.
    pub const GPE_NEXT: usize = 3;
    /// Geneve: version (2 bits) and options length in 4-byte words (6 bits).
    pub const GENEVE_VER_OPT: usize = 0;
    pub const GENEVE_PROTOCOL: std::ops::Range<usize> = 2..4;
    pub const HEADER_LEN: usize = 8;
}

const VXLAN_I: u8 = 0x08;
const GPE_P: u8 = 0x04;

/// A checked view of an 8-byte VXLAN / VXLAN-GPE header or a Geneve header with options.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OverlayHeader<'a> {
    buf: &'a [u8],
    len: usize,
}

impl<'a> OverlayHeader<'a> {
    /// `Ok(None)` when the header is not valid for the port's protocol.
    pub(crate) fn new_checked(buf: &'a [u8], dport: u16) -> Result<Option<Self>, DecodeReason> {
        let first = *buf.first().ok_or(DecodeReason::Truncated)?;
        let len = if dport == port::GENEVE {
            if first >> 6 != 0 {
                return Ok(None);
            }
            field::HEADER_LEN + usize::from(first & 0x3f) * 4
        } else {
            if first & VXLAN_I == 0 {
                return Ok(None);
            }
            field::HEADER_LEN
        };
        if buf.len() < len {
            return Err(DecodeReason::Truncated);
        }
        Ok(Some(OverlayHeader { buf, len }))
    }

    pub(crate) fn flags(&self) -> u8 {
        u8_at(self.buf, field::FLAGS)
    }
    pub(crate) fn gpe_next(&self) -> u8 {
        u8_at(self.buf, field::GPE_NEXT)
    }
    pub(crate) fn geneve_protocol(&self) -> u16 {
        be16(self.buf, field::GENEVE_PROTOCOL)
    }
    #[allow(dead_code)]
    pub(crate) fn geneve_opt_len(&self) -> usize {
        usize::from(u8_at(self.buf, field::GENEVE_VER_OPT) & 0x3f) * 4
    }
    pub(crate) fn header_len(&self) -> usize {
        self.len
    }
    pub(crate) fn payload(&self) -> &'a [u8] {
        tail(self.buf, self.len)
    }
}

/// Decodes a VXLAN, VXLAN-GPE or Geneve payload (chosen by `dport`) at frame offset `off`.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, dport: u16, buf: &'a [u8], off: usize) {
    let h = match OverlayHeader::new_checked(buf, dport) {
        Ok(Some(h)) => h,
        Ok(None) => return,
        Err(_) => {
            cx.d.anomalies.add(Anomaly::TunnelInnerUndecodable);
            return;
        }
    };
    let (inner, ioff) = (h.payload(), off + h.header_len());
    match dport {
        port::GENEVE => {
            let et = h.geneve_protocol();
            tunnel::run(cx, "geneve", |cx| {
                if et == ethertype::TEB {
                    ethernet::decode(cx, inner, ioff)
                } else {
                    ethernet::dispatch(cx, et, inner, ioff)
                }
            });
        }
        port::VXLAN_GPE => match h.gpe_next() {
            1 => tunnel::run(cx, "vxlan", |cx| ip::decode_v4(cx, inner, ioff)),
            2 => tunnel::run(cx, "vxlan", |cx| ip::decode_v6(cx, inner, ioff)),
            3 => tunnel::run(cx, "vxlan", |cx| ethernet::decode(cx, inner, ioff)),
            4 => tunnel::run(cx, "vxlan", |cx| nsh::decode(cx, inner, ioff)),
            // No next protocol: plain VXLAN framing.
            0 if h.flags() & GPE_P == 0 => {
                tunnel::run(cx, "vxlan", |cx| ethernet::decode(cx, inner, ioff))
            }
            _ => {}
        },
        _ => tunnel::run(cx, "vxlan", |cx| ethernet::decode(cx, inner, ioff)),
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn outer(dport: u16, payload: &[u8]) -> Vec<u8> {
        eth(
            0x0800,
            &ipv4(
                17,
                [192, 0, 2, 1],
                [192, 0, 2, 2],
                &udp(55555, dport, payload),
            ),
        )
    }

    #[test]
    fn vxlan_inner_ethernet_with_vlan() {
        let inner_ip = ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &tcp(1, 80, 0x02, &[], b""));
        let mut tagged = vec![0x00, 0x07, 0x08, 0x00];
        tagged.extend_from_slice(&inner_ip);
        let mut v = vec![0x08, 0, 0, 0, 0, 0x12, 0x34, 0];
        v.extend_from_slice(&eth(0x8100, &tagged));
        let mut f = outer(4789, &v);
        // The outer frame is untagged: the inner tag must not become the flow's VLAN.
        let d = decode(1, &f);
        assert_eq!((d.tunnel, d.vlan), (Some("vxlan"), 0));
        assert!(matches!(d.l4, L4::Tcp(t) if t.dst_port == 80));
        // Without the I flag: plain UDP.
        f[42] = 0;
        let d = decode(1, &f);
        assert_eq!(d.tunnel, None);
        assert!(matches!(d.l4, L4::Udp(u) if u.dst_port == 4789));
    }

    #[test]
    fn vxlan_inner_arp_is_outer_without_anomaly() {
        let mut v = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        v.extend_from_slice(&eth(0x0806, &[0u8; 28]));
        let f = outer(4789, &v);
        let d = decode(1, &f);
        assert_eq!(d.tunnel, None);
        assert!(d.anomalies.is_empty());
        assert!(matches!(d.l4, L4::Udp(_)));
        // A truncated inner Ethernet header is an anomaly.
        let f = outer(4789, &[0x08, 0, 0, 0, 0, 0, 1, 0, 1, 2, 3]);
        let d = decode(1, &f);
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.as_str() == "tunnel_inner_undecodable"));
    }

    #[test]
    fn geneve_and_gpe() {
        let inner = ipv6(17, 5, 6, &udp(1, 2, b"g"));
        // Geneve: 4 bytes of options, protocol IPv6.
        let mut g = vec![0x01, 0x00, 0x86, 0xdd, 0, 0, 9, 0, 1, 2, 3, 4];
        g.extend_from_slice(&inner);
        let f = outer(6081, &g);
        let d = decode(1, &f);
        assert_eq!(d.tunnel, Some("geneve"));
        assert!(matches!(d.l4, L4::Udp(u) if u.payload == b"g"));
        // GPE with next protocol IPv6.
        let mut p = vec![0x0c, 0, 0, 2, 0, 0, 9, 0];
        p.extend_from_slice(&inner);
        let f = outer(4790, &p);
        let d = decode(1, &f);
        assert_eq!(d.tunnel, Some("vxlan"));
        assert_eq!(d.net.unwrap().src.to_string(), "2001:db8::5");
    }
}
