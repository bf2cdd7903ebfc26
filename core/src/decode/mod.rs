//! Packet decoding: link layer → IP → transport, through tunnels.
//!
//! [`decode_frame`] is lax and zero-copy: it returns every layer it could read plus, when it
//! stopped early, a [`DecodeError`] naming the layer, offset and reason. Payload slices
//! borrow from the caller's buffer. For tunnels (GRE incl. PPTP and ERSPAN, GTP-U, VXLAN,
//! VXLAN-GPE, Geneve, IP-in-IP, Teredo) the innermost IP packet is the one reported: the
//! inner flow is the flow. Give it the frame's wire length (pcap `orig_len`) so a snaplen
//! cut can be told from a lying length; [`decode`] assumes the frame was captured whole
//! (tests, fuzzing, frames without a wire length).
//!
//! Each protocol has its own file with a view type over the caller's bytes: its constructor
//! checks the lengths once (the buffer's and the lengths the header claims) and from then on
//! no accessor can panic (field offsets are named ranges in a private `mod field`, and the
//! readers in `bytes` fall back to zero rather than index out of bounds). Nothing here
//! allocates; every loop the input drives (VLAN tags, MPLS labels, extension headers, TCP
//! options, GTP extension headers, tunnel nesting) has a hard cap.
//!
//! # Link types
//! 0 BSD null (address family in either byte order), 1 Ethernet (802.1Q/802.1ad/QinQ tags,
//! Cisco MetaData, MPLS label stacks, NSH, PPPoE sessions), 9 PPP, 50 PPP in HDLC framing
//! (and Cisco HDLC), 51 PPPoE, 12/14/101 raw IP (version nibble), 108 OpenBSD loopback
//! (address family in network order), 113 Linux SLL, 228 raw IPv4, 229 raw IPv6 (a packet
//! of the other version is still decoded, see `ip_version_mismatch`), 276 Linux SLL2.
//! Frames that carry no IP (ARP, LLDP, PPP control, STP…) decode to `net: None` with no
//! error: they are not failures.
//!
//! # Heuristics (what is guessed, and when it can be wrong)
//! - Tunnels over UDP are found by port: GTP-U 2152 (either port), VXLAN 4789, VXLAN-GPE
//!   4790 and Geneve 6081 (destination port first, then source), Teredo 3544 (either port).
//!   Each header must also be valid (GTP version 1 T-PDU, VXLAN I flag, Geneve version 0);
//!   otherwise the datagram stays plain UDP. An application that happens to use one of
//!   these ports with a payload that passes the check would be taken for the tunnel.
//! - Teredo off port 3544 (relays use any port): the payload must be a whole IPv6 packet
//!   whose length matches the datagram exactly and one address must be Teredo
//!   (2001:0::/32) or link-local (see `teredo`).
//! - MPLS does not name its payload: the first nibble decides (4, 6, or 0 for a pseudowire
//!   control word and Ethernet), as Wireshark does.
//! - IPv4/IPv6 length 0 with TCP/UDP data following is taken for segmentation offload.
//! - Fragments: only the first fragment carries the transport header; lengths and
//!   checksums are not checked on fragments and tunnels inside them are not entered.
//!
//! # Decode errors (`DecodeError::reason`, per `layer`)
//! Both are closed enums of `model` ([`DecodeReason`], [`DecodeLayer`]) whose ids below are
//! the report's `"layer.reason"` keys.
//! Layers: `link`, `ethernet`, `vlan`, `cmd`, `mpls`, `nsh`, `sll`, `sll2`, `null`, `loop`, `ppp`,
//! `pppoe`, `raw_ip`, `ipv4`, `ah`, `ipv6`, `tcp`, `udp`, `icmp`, `icmpv6`. Errors inside a tunnel
//! (`gtp_u`, `erspan` and the layers above) are reported only when the inner packet got as
//! far as its IP header; otherwise the outer flow is kept (`tunnel_inner_undecodable`).
//! - `truncated`: the captured bytes end inside this layer's header.
//! - `unsupported_linktype` (layer `link`): a LINKTYPE we do not decode.
//! - `bad_version` (`ipv4`, `ipv6`, `raw_ip`, `gtp_u`): the IP version nibble is wrong for
//!   the layer; (`pppoe`): the version/type byte is not 0x11; (`nsh`): version ≠ 0.
//! - `bad_header_length` (`ipv4`): IHL < 5; (`nsh`): length < 8 bytes.
//! - `bad_total_length` (`ipv4`): total length < header length (but not 0, see anomalies).
//! - `bad_extension_length` (`ipv6`): an extension header runs past the IPv6 payload length.
//! - `too_many_extension_headers` (`ipv6`), `too_many_tags` (`vlan`), `too_many_labels`
//!   (`mpls`), `too_many_layers` (`link`): a hard cap was hit.
//! - `bad_data_offset` (`tcp`): data offset < 5 or beyond the segment's wire length.
//! - `bad_length` (`udp`): UDP length < 8; (`ah`): an IPv4 Authentication Header longer
//!   than the packet.
//!
//! # Anomalies (stable names, counted in the report)
//! [`Anomaly`] (in `model`) has one variant per id below, plus the capture reader's
//! `snaplen_truncated`, `ts_fraction_overflow` and `ts_resolution_absurd`, the analyzer's
//! `time_backwards` and `time_jump`, and the flow table's `duplicate_frame` (see `model`).
//! - `bad_ipv4_checksum`: the IPv4 header checksum does not verify (decoding goes on).
//! - `ipv4_truncated` / `ipv6_truncated`: the IP length exceeds the captured bytes and the
//!   capture was cut by its snaplen (caplen < wire length); the captured bytes are used.
//! - `ipv4_length_exceeds_frame` / `ipv6_length_exceeds_frame`: the IP length exceeds the
//!   bytes of the frame although the whole frame was captured: the header lies.
//! - `ipv4_total_length_zero` / `ipv6_payload_length_zero`: length 0 with data following
//!   (for IPv6: a TCP or UDP header at least), as segmentation offload shows on the sending
//!   host; the captured bytes are used.
//! - `bad_tcp_checksum`, `bad_udp_checksum`: checked only when the whole segment or
//!   datagram was captured and is not an IP fragment (a zero UDP checksum means "none").
//!   Known false positives: captures taken on the sending host with checksum offload.
//! - `bad_tcp_options`: an option length is < 2 or runs past the header; parsing stops.
//! - `tcp_syn_fin`, `tcp_syn_rst`: impossible flag combinations (scans, evasion, injection).
//! - `tcp_no_flags`: no flag at all (a "null scan").
//! - `udp_length_mismatch`: the UDP length is larger than the IP payload; the IP payload is used.
//! - `ip_version_mismatch`: a raw IPv4 (228) or raw IPv6 (229) capture holds a packet of
//!   the other version; it is decoded by its version nibble.
//! - `tunnel_inner_undecodable`: a tunnel was recognised but its header was cut short or
//!   the packet inside it did not decode to an IP header; the outer flow is reported.
//! - `tunnel_depth_exceeded`: more than [`MAX_TUNNEL_DEPTH`] nested tunnels; the packet is
//!   reported at the deepest tunnel allowed.

pub use crate::model::{Anomaly, DecodeLayer, DecodeReason};
use std::net::IpAddr;

/// TCP flag bits as on the wire (low byte of the flags field).
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// The network-layer facts of the (innermost) IP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification (None for IPv6 unless a fragment header carries one).
    pub ip_id: Option<u32>,
    /// IPv4 don't-fragment bit (false for IPv6).
    pub df: bool,
    /// Total IP packet length claimed by the header (IPv4 total length, IPv6 40 + payload length).
    pub ip_len: u32,
    /// Transport protocol number after extension headers.
    pub proto: u8,
    /// Set when this packet is a fragment.
    pub frag: Option<Frag>,
}

/// IP fragment facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frag {
    pub id: u32,
    /// Offset in bytes.
    pub offset: u32,
    pub more: bool,
}

/// Transport layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4<'a> {
    Tcp(Tcp<'a>),
    Udp(Udp<'a>),
    Icmp(Icmp),
    /// A non-first IP fragment: no transport header here.
    Fragment,
    /// A transport we do not decode (protocol number in `Net::proto`).
    Other,
    /// Nothing beyond the network layer could be read (see `Decoded::error`).
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// See [`tcp_flags`].
    pub flags: u8,
    pub window: u16,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    /// TCP timestamp option (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
    /// Segment payload length on the wire, from the IP length (may exceed `payload.len()` when truncated).
    pub seg_len: u32,
    /// Captured payload bytes.
    pub payload: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    /// Payload length on the wire, from the UDP length field (or IP length when that lies).
    pub len: u32,
    /// Captured payload bytes.
    pub payload: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmp {
    /// ICMPv6 when true.
    pub v6: bool,
    pub kind: u8,
    pub code: u8,
    /// For error messages: the flow quoted in the error (original src → dst).
    pub quoted: Option<Quoted>,
}

/// The header quoted inside an ICMP error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quoted {
    pub proto: u8,
    pub src: std::net::SocketAddr,
    pub dst: std::net::SocketAddr,
    /// The quoted IPv4 header's identification (`None` for IPv6): which of the flow's
    /// packets the error answers (a TTL-limited probe's copies differ only in it).
    pub ip_id: Option<u16>,
}

/// Where and why decoding stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The layer that could not be read (its id is stable snake_case: "ethernet", "ipv4", …).
    pub layer: DecodeLayer,
    /// Byte offset in the frame where the layer starts.
    pub offset: usize,
    /// Why (its id is stable snake_case: "truncated", "bad_version", …).
    pub reason: DecodeReason,
}

/// A set of named oddities seen while decoding (bounded, no allocation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Anomalies {
    names: [Option<Anomaly>; 4],
}

impl Anomalies {
    /// Records an anomaly (at most 4 per packet are kept).
    pub fn add(&mut self, name: Anomaly) {
        for slot in self.names.iter_mut() {
            match slot {
                Some(n) if *n == name => return,
                None => {
                    *slot = Some(name);
                    return;
                }
                _ => {}
            }
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = Anomaly> + '_ {
        self.names.iter().flatten().copied()
    }
    pub fn is_empty(&self) -> bool {
        self.names[0].is_none()
    }
}

/// Everything decoded from one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub net: Option<Net>,
    pub l4: L4<'a>,
    /// Outer VLAN ID (0 when untagged); part of the flow key.
    pub vlan: u16,
    /// Tunnel encapsulation the inner packet came through, if any: "gre", "gtp_u", "vxlan", "ipip", "teredo",
    /// "geneve" (the innermost one when tunnels nest).
    pub tunnel: Option<&'static str>,
    pub anomalies: Anomalies,
    pub error: Option<DecodeError>,
    /// An Ethernet/IPv4 ARP message (RFC 826), when the frame carries one: not IP, no flow,
    /// but evidence of who talks to whom on the link (the gateway asking for the capture host).
    pub arp: Option<Arp>,
}

/// An ARP message's operation and protocol addresses (Ethernet hardware, IPv4 protocol only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    /// 1 request, 2 reply.
    pub op: u16,
    pub sender: std::net::Ipv4Addr,
    pub target: std::net::Ipv4Addr,
}

impl Arp {
    /// Reads an ARP message for Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4).
    pub fn parse(b: &[u8]) -> Option<Arp> {
        let g = |r: std::ops::Range<usize>| b.get(r);
        if g(0..2)? != [0, 1] || g(2..4)? != [8, 0] || g(4..6)? != [6, 4] {
            return None;
        }
        let op = u16::from_be_bytes(g(6..8)?.try_into().ok()?);
        let ip = |r: std::ops::Range<usize>| -> Option<std::net::Ipv4Addr> {
            let a: [u8; 4] = g(r)?.try_into().ok()?;
            Some(a.into())
        };
        Some(Arp {
            op,
            sender: ip(14..18)?,
            target: ip(24..28)?,
        })
    }
}

/// How many tunnels may nest (IP-in-IP inside GRE inside GTP-U …) before we stop.
pub const MAX_TUNNEL_DEPTH: u8 = 4;

/// How many link/network layers may stack in one frame (Ethernet in MPLS in Ethernet …).
const MAX_LAYERS: u8 = 24;

/// Decodes one frame of the given LINKTYPE, assuming it was captured whole.
pub fn decode(linktype: u32, data: &[u8]) -> Decoded<'_> {
    decode_frame(
        linktype,
        data,
        u32::try_from(data.len()).unwrap_or(u32::MAX),
    )
}

/// Decodes one frame of the given LINKTYPE; `origlen` is its length on the wire, which tells
/// snaplen truncation (`ipv4_truncated`) apart from a lying IP length
/// (`ipv4_length_exceeds_frame`).
pub fn decode_frame(linktype: u32, data: &[u8], origlen: u32) -> Decoded<'_> {
    let mut cx = Cx {
        d: Decoded::empty(),
        snap_short: (data.len() as u64) < u64::from(origlen),
        depth: 0,
        layers: 0,
    };
    link::decode(&mut cx, linktype, data);
    cx.d
}

impl Decoded<'_> {
    /// Nothing decoded yet.
    pub fn empty() -> Self {
        Decoded {
            net: None,
            l4: L4::None,
            vlan: 0,
            tunnel: None,
            anomalies: Anomalies::default(),
            error: None,
            arp: None,
        }
    }
}

/// Decoding state threaded through the layers of one frame.
pub(crate) struct Cx<'a> {
    pub(crate) d: Decoded<'a>,
    /// Captured length < wire length.
    pub(crate) snap_short: bool,
    /// Tunnels entered so far.
    pub(crate) depth: u8,
    /// Link/network layers entered so far (bounded by [`MAX_LAYERS`]).
    pub(crate) layers: u8,
}

impl Cx<'_> {
    /// Records where and why decoding stopped.
    pub(crate) fn fail(&mut self, layer: DecodeLayer, offset: usize, reason: DecodeReason) {
        self.d.error = Some(DecodeError {
            layer,
            offset,
            reason,
        });
    }

    /// Counts one more stacked layer; false (and an error) when the cap is hit.
    pub(crate) fn enter_layer(&mut self, offset: usize) -> bool {
        if self.layers >= MAX_LAYERS {
            self.fail(DecodeLayer::Link, offset, DecodeReason::TooManyLayers);
            return false;
        }
        self.layers += 1;
        true
    }
}

mod ah;
mod bytes;
pub mod checksum;
mod cmd;
mod ethernet;
mod gre;
mod gtpu;
mod icmp;
mod ip;
mod ipv4;
mod ipv6;
mod link;
mod mpls;
mod nsh;
mod null;
mod ppp;
mod pppoe;
mod sll;
mod sll2;
mod tcp;
mod teredo;
mod tunnel;
mod udp;
mod vlan;
mod vxlan;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::frames::*;

    /// One sample frame per path through the decoder, with its link type.
    fn samples() -> Vec<(u32, Vec<u8>)> {
        let t4 = ipv4(
            6,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &tcp(1, 2, 0x18, &[2, 4, 5, 0xb4], b"data"),
        );
        let u6 = ipv6(17, 1, 2, &udp(1, 2, b"payload"));
        let mut icmp = vec![3u8, 3, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&t4[..28]);
        let gtp = {
            let mut g = vec![0x30, 0xff];
            g.extend_from_slice(&(t4.len() as u16).to_be_bytes());
            g.extend_from_slice(&[0, 0, 0, 1]);
            g.extend_from_slice(&t4);
            g
        };
        let vxlan = {
            let mut v = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
            v.extend_from_slice(&eth(0x86dd, &u6));
            v
        };
        let gre = {
            let mut g = vec![0x20, 0x00, 0x08, 0x00, 0, 0, 0, 5];
            g.extend_from_slice(&t4);
            g
        };
        let teredo = {
            let mut t = vec![0, 0, 1, 2, 3, 4, 5, 6];
            t.extend_from_slice(&u6);
            t
        };
        let outer = |p: u8, payload: &[u8]| ipv4(p, [192, 0, 2, 1], [192, 0, 2, 2], payload);
        let frames = vec![
            (1, eth(0x0800, &t4)),
            (1, eth(0x86dd, &u6)),
            (
                1,
                eth(0x0800, &ipv4(1, [10, 0, 0, 9], [10, 0, 0, 1], &icmp)),
            ),
            (1, eth(0x0800, &outer(17, &udp(2152, 2152, &gtp)))),
            (1, eth(0x0800, &outer(17, &udp(9, 4789, &vxlan)))),
            (1, eth(0x0800, &outer(47, &gre))),
            (1, eth(0x0800, &outer(17, &udp(3544, 9, &teredo)))),
            (1, eth(0x0800, &outer(4, &t4))),
            (101, u6.clone()),
            (0, [&[2u8, 0, 0, 0][..], &t4].concat()),
        ];
        frames
    }

    /// Checks what must hold for any input: slices point into it, offsets lie within it.
    fn invariants(data: &[u8], d: &Decoded<'_>) {
        let range = data.as_ptr() as usize..=data.as_ptr() as usize + data.len();
        let inside = |s: &[u8]| {
            s.is_empty()
                || (range.contains(&(s.as_ptr() as usize))
                    && range.contains(&(s.as_ptr() as usize + s.len())))
        };
        match d.l4 {
            L4::Tcp(t) => assert!(inside(t.payload)),
            L4::Udp(u) => assert!(inside(u.payload)),
            _ => {}
        }
        if let Some(e) = d.error {
            assert!(e.offset <= data.len(), "{e:?} beyond {}", data.len());
        }
    }

    #[test]
    fn every_prefix_of_every_sample_decodes_without_panic() {
        for (lt, f) in samples() {
            assert_eq!(decode(lt, &f).error, None, "sample {lt} {f:02x?}");
            for len in 0..=f.len() {
                let d = decode(lt, &f[..len]);
                invariants(&f[..len], &d);
                if len < f.len() && d.error.is_none() {
                    // Cut inside a tunnel or a payload: the outer flow or a shorter payload.
                    assert!(
                        d.net.is_some(),
                        "prefix {len}: neither an error nor a packet"
                    );
                }
            }
        }
    }

    #[test]
    fn mutated_samples_never_panic_under_any_linktype() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let linktypes = [
            0u32, 1, 9, 12, 14, 50, 51, 101, 108, 113, 228, 229, 276, 999,
        ];
        for (_, f) in samples() {
            for _ in 0..300 {
                let mut m = f.clone();
                for _ in 0..(1 + next() % 4) {
                    let i = (next() as usize) % m.len();
                    m[i] = next() as u8;
                }
                let cut = (next() as usize) % (m.len() + 1);
                for lt in linktypes {
                    invariants(&m, &decode(lt, &m));
                    invariants(&m[..cut], &decode_frame(lt, &m[..cut], m.len() as u32));
                }
            }
        }
    }

    /// Every decoder file: the documentation checks below read their production code.
    const SOURCES: &[&str] = &[
        include_str!("ah.rs"),
        include_str!("cmd.rs"),
        include_str!("ethernet.rs"),
        include_str!("gre.rs"),
        include_str!("gtpu.rs"),
        include_str!("icmp.rs"),
        include_str!("ip.rs"),
        include_str!("ipv4.rs"),
        include_str!("ipv6.rs"),
        include_str!("link.rs"),
        include_str!("mpls.rs"),
        include_str!("nsh.rs"),
        include_str!("null.rs"),
        include_str!("ppp.rs"),
        include_str!("pppoe.rs"),
        include_str!("sll.rs"),
        include_str!("sll2.rs"),
        include_str!("tcp.rs"),
        include_str!("teredo.rs"),
        include_str!("tunnel.rs"),
        include_str!("udp.rs"),
        include_str!("vlan.rs"),
        include_str!("vxlan.rs"),
    ];

    /// Production code of every decoder file and of this one.
    fn production() -> Vec<&'static str> {
        let mut v: Vec<&str> = SOURCES
            .iter()
            .chain([&include_str!("mod.rs")])
            .map(|src| &src[..src.find("#[cfg(test)]").unwrap_or(src.len())])
            .collect();
        v.retain(|s| !s.is_empty());
        v
    }

    #[test]
    fn every_error_layer_and_reason_is_documented_and_used() {
        let docs = include_str!("mod.rs");
        let code = production().concat();
        for l in DecodeLayer::ALL {
            assert!(
                docs.contains(&format!("`{l}`")),
                "layer {l} is not documented"
            );
            assert!(
                code.contains(&format!("DecodeLayer::{l:?}")),
                "layer {l} unused"
            );
        }
        for r in DecodeReason::ALL {
            assert!(
                docs.contains(&format!("`{r}`")),
                "reason {r} is not documented"
            );
            assert!(
                code.contains(&format!("DecodeReason::{r:?}")),
                "reason {r} unused"
            );
        }
    }

    #[test]
    fn every_anomaly_is_documented_used_and_snake_case() {
        let docs = include_str!("mod.rs");
        let code = production().concat();
        for a in Anomaly::ALL {
            let id = a.as_str();
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{id}"
            );
            if matches!(
                *a,
                Anomaly::SnaplenTruncated
                    | Anomaly::DuplicateFrame
                    | Anomaly::TimeBackwards
                    | Anomaly::TimeJump
                    | Anomaly::TsFractionOverflow
                    | Anomaly::TsResolutionAbsurd
            ) {
                // the analyzer's (caplen < wire length, time; issue 13), the capture
                // reader's (timestamp fields) and the flow table's (issue 10), not the decoder's
                continue;
            }
            assert!(docs.contains(&format!("`{id}`")), "{id} is not documented");
            assert!(code.contains(&format!("Anomaly::{a:?}")), "{id} unused");
        }
    }
}
