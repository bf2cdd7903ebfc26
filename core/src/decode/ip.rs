//! What IPv4 and IPv6 share: choosing the version, and handing the payload to the
//! transport (or tunnel) decoder with the facts it needs (wire length, pseudo-header,
//! fragment state).

use super::{gre, icmp, ipv4, ipv6, tcp, tunnel, udp, Cx, L4};
use crate::model::{DecodeLayer, DecodeReason};

/// Protocol numbers we follow after the IP header.
pub(crate) mod proto {
    pub const ICMP: u8 = 1;
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const GRE: u8 = 47;
    pub const AH: u8 = 51;
    pub const ICMPV6: u8 = 58;
}

/// An IP packet's payload and what its transport decoder needs to know.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IpPayload<'a> {
    /// Captured payload bytes (trimmed to the IP length: no Ethernet padding).
    pub data: &'a [u8],
    /// Frame offset of `data`.
    pub off: usize,
    /// Payload length claimed by the IP header (≥ `data.len()` unless the header lied).
    pub wire_len: u32,
    /// Transport protocol.
    pub proto: u8,
    /// One's-complement sum of the pseudo-header addresses.
    pub addr_sum: u16,
    /// Part of a fragmented packet (first or not): lengths and checksums cannot be checked.
    pub fragment: bool,
    /// A fragment other than the first: no transport header here.
    pub later_fragment: bool,
    /// The transport checksum cannot be verified (e.g. an IPv6 routing header changes the
    /// pseudo-header's destination).
    pub skip_checksum: bool,
    pub v6: bool,
}

impl IpPayload<'_> {
    /// True when the whole transport segment was captured and its checksum may be verified.
    pub(crate) fn checkable(&self) -> bool {
        !self.fragment && !self.skip_checksum && self.data.len() as u64 == u64::from(self.wire_len)
    }
}

/// Decodes an IP packet of either version, chosen by its version nibble.
pub(crate) fn decode_by_version<'a>(
    cx: &mut Cx<'a>,
    buf: &'a [u8],
    off: usize,
    layer: DecodeLayer,
) {
    match buf.first().map(|b| b >> 4) {
        None => cx.fail(layer, off, DecodeReason::Truncated),
        Some(4) => decode_v4(cx, buf, off),
        Some(6) => decode_v6(cx, buf, off),
        Some(_) => cx.fail(layer, off, DecodeReason::BadVersion),
    }
}

/// Decodes an IPv4 packet at frame offset `off`.
pub(crate) fn decode_v4<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    if cx.enter_layer(off) {
        ipv4::decode(cx, buf, off)
    }
}

/// Decodes an IPv6 packet at frame offset `off`.
pub(crate) fn decode_v6<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    if cx.enter_layer(off) {
        ipv6::decode(cx, buf, off)
    }
}

/// Decodes what follows the IP header(s); `Decoded::net` is already set.
pub(crate) fn transport<'a>(cx: &mut Cx<'a>, p: IpPayload<'a>) {
    if p.later_fragment {
        cx.d.l4 = L4::Fragment;
        return;
    }
    match p.proto {
        proto::TCP => tcp::decode(cx, &p),
        proto::UDP => udp::decode(cx, &p),
        proto::ICMP if !p.v6 => icmp::decode(cx, &p),
        proto::ICMPV6 if p.v6 => icmp::decode(cx, &p),
        proto::IPIP | proto::IPV6 if !p.fragment => {
            cx.d.l4 = L4::Other;
            let (data, off) = (p.data, p.off);
            if p.proto == proto::IPIP {
                tunnel::run(cx, "ipip", |cx| decode_v4(cx, data, off));
            } else {
                tunnel::run(cx, "ipip", |cx| decode_v6(cx, data, off));
            }
        }
        proto::GRE if !p.fragment => {
            cx.d.l4 = L4::Other;
            gre::decode(cx, p.data, p.off);
        }
        _ => cx.d.l4 = L4::Other,
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    #[test]
    fn raw_ip_by_version_nibble() {
        let v4 = ipv4(17, [1, 1, 1, 1], [2, 2, 2, 2], &udp(1, 2, b""));
        let v6 = ipv6(17, 1, 2, &udp(1, 2, b""));
        for lt in [101, 12, 14] {
            assert!(matches!(decode(lt, &v4).l4, L4::Udp(_)));
            assert!(matches!(decode(lt, &v6).l4, L4::Udp(_)));
        }
        assert!(matches!(decode(228, &v4).l4, L4::Udp(_)));
        assert!(matches!(decode(229, &v6).l4, L4::Udp(_)));
        // A mislabelled raw capture: decoded by the version nibble, with an anomaly.
        let d = decode(228, &v6);
        assert!(matches!(d.l4, L4::Udp(_)));
        assert_eq!(
            d.anomalies.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            ["ip_version_mismatch"]
        );
        let e = decode(229, &[0x50, 0, 0, 0]).error.unwrap();
        assert_eq!(
            (e.layer.as_str(), e.reason.as_str()),
            ("ipv6", "bad_version")
        );
        let e = decode(101, &[0x50, 0, 0, 0]).error.unwrap();
        assert_eq!(
            (e.layer.as_str(), e.reason.as_str()),
            ("raw_ip", "bad_version")
        );
        let e = decode(101, &[]).error.unwrap();
        assert_eq!(
            (e.layer.as_str(), e.reason.as_str()),
            ("raw_ip", "truncated")
        );
        sweep(
            101,
            &v6,
            &[(0, "raw_ip"), (1, "ipv6"), (40, "udp"), (48, "")],
        );
    }

    #[test]
    fn ip_in_ip_both_ways() {
        let inner6 = ipv6(6, 7, 8, &tcp(1000, 80, 0x02, &[], b""));
        let f = ipv4(41, [192, 0, 2, 1], [192, 0, 2, 2], &inner6);
        let d = decode(101, &f);
        assert_eq!(d.tunnel, Some("ipip"));
        assert_eq!(d.net.unwrap().src.to_string(), "2001:db8::7");
        assert!(matches!(d.l4, L4::Tcp(t) if t.dst_port == 80));

        let inner4 = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(9, 9, b"z"));
        let buf = ipv6(4, 1, 2, &inner4);
        let d = decode(101, &buf);
        assert_eq!(d.tunnel, Some("ipip"));
        assert_eq!(d.net.unwrap().dst.to_string(), "10.0.0.2");

        // Inner garbage: the outer packet is reported with an anomaly.
        let buf = ipv4(4, [192, 0, 2, 1], [192, 0, 2, 2], &[0x45, 0, 0]);
        let d = decode(101, &buf);
        assert_eq!(d.tunnel, None);
        assert_eq!(d.net.unwrap().src.to_string(), "192.0.2.1");
        assert_eq!(d.l4, L4::Other);
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.as_str() == "tunnel_inner_undecodable"));
        assert_eq!(d.error, None);
    }

    #[test]
    fn tunnel_depth_is_capped() {
        let mut p = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(9, 9, b"z"));
        for _ in 0..6 {
            p = ipv4(4, [192, 0, 2, 1], [192, 0, 2, 2], &p);
        }
        let d = decode(101, &p);
        assert!(d
            .anomalies
            .iter()
            .any(|a| a.as_str() == "tunnel_depth_exceeded"));
        assert_eq!(d.tunnel, Some("ipip"));
        assert_eq!(d.l4, L4::Other);
        assert_eq!(d.net.unwrap().proto, 4);
    }
}
