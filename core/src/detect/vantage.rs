//! The vantage point: who the capture host is, and which side of the path it sits on.
//!
//! Every blocking detector reasons in capture-host terms — what we sent, what reached us —
//! and one rule holds everywhere: **a packet the capture host sent is never forged** (it
//! left this machine; nothing on the path touched it before the capture saw it).
//!
//! # How the host is found (first rule that answers wins)
//! 1. `linux_cooked_outgoing`: Linux cooked captures (`-i any`, SLL/SLL2) mark each frame
//!    with its packet type; the source address of most `PACKET_OUTGOING` frames is the host.
//!    The analyzer collects these [`Hints`] during the pass.
//! 2. `zero_hop_ttl` + `most_flows`: among senders whose usual TTL is exactly an initial TTL
//!    (32, 64, 128, 255: the packet crossed no router before the capture), the address that
//!    takes part in the most flows. A host's own packets are captured before any hop; a
//!    forged packet from the first router also arrives with an initial TTL, but the
//!    address it claims (the server's) usually arrives with fewer, so its *mode* is not 0 hops.
//!
//! No zero-hop sender at all means the capture was taken on the path (a router or tap):
//! `side` is `path` and no packet is exempt.
//!
//! A packet is the host's own when it comes from the host address with the host's usual hop
//! count ([`Vantage::sent_by_host`]): a packet spoofed as the host but arriving from
//! further away (another TTL) is not.
//!
//! # Side
//! `client` when the host originated most of its flows, `server` when it answered most of
//! them.
//!
//! # Known limits
//! A capture on a router port next to the client looks client-side (its packets are 0 hops
//! away there too). MAC addresses are not used yet.

use super::blocking::hops;
use crate::label::LabeledFlow;
use crate::report::VantageInfo;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Facts about the capture host gathered while reading frames (link-layer only).
#[derive(Clone, Debug, Default)]
pub struct Hints {
    /// Source address → frames a Linux cooked capture marked `PACKET_OUTGOING` (bounded).
    pub outgoing: BTreeMap<IpAddr, u64>,
    /// Frames a Linux cooked capture marked as addressed to this host (`PACKET_HOST`).
    pub incoming: u64,
    /// The first ARP messages of the capture with their frame numbers (at most [`MAX_ARP`]).
    pub arp: Vec<(crate::decode::Arp, u64, crate::Nanos)>,
}

/// Most ARP messages remembered.
pub const MAX_ARP: usize = 64;

/// Most distinct outgoing source addresses remembered.
pub const MAX_OUTGOING: usize = 64;

impl Hints {
    /// Notes one ARP message (frame `frame`).
    pub fn note_arp(&mut self, arp: crate::decode::Arp, frame: u64, ts: crate::Nanos) {
        if self.arp.len() < MAX_ARP {
            self.arp.push((arp, frame, ts));
        }
    }

    /// Notes one Linux cooked frame of packet type `pkttype` from `src`.
    pub fn note_cooked(&mut self, pkttype: u16, src: Option<IpAddr>) {
        match pkttype {
            0 => self.incoming = self.incoming.saturating_add(1),
            4 => {
                if let Some(ip) = src {
                    if self.outgoing.len() < MAX_OUTGOING || self.outgoing.contains_key(&ip) {
                        let n = self.outgoing.entry(ip).or_default();
                        *n = n.saturating_add(1);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Where the capture was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
    Path,
    Unknown,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
            Side::Path => "path",
            Side::Unknown => "unknown",
        }
    }
}

/// The capture host and its side of the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vantage {
    pub host: Option<IpAddr>,
    /// The host's usual TTL (its packets' mode), when seen.
    pub host_ttl: Option<u8>,
    /// Flows the host takes part in.
    pub host_flows: u64,
    pub side: Side,
    /// The rules that decided (see the module docs).
    pub basis: Vec<&'static str>,
}

impl Vantage {
    /// True when a packet from `src` with `ttl` was sent by the capture host itself.
    pub fn sent_by_host(&self, src: IpAddr, ttl: u8) -> bool {
        self.host == Some(src) && self.host_ttl.is_none_or(|t| hops(t) == hops(ttl))
    }

    /// The report's `capture.vantage`.
    pub fn info(&self) -> VantageInfo {
        VantageInfo {
            basis: self.basis.clone(),
            host: self.host.map(|h| h.to_string()),
            host_flows: self.host_flows,
            side: self.side.as_str(),
        }
    }
}

/// The first frame that shows the return path toward the capture host was captured without
/// being part of a two-way IP flow (issue 10, item 8): an ARP message from another machine
/// to the host (the gateway asking for it), or an ICMP message that reached the host.
/// `Some(0)` when only Linux cooked "incoming" frames show it (no single frame to cite).
pub fn link_inbound(v: &Vantage, hints: &Hints, flows: &[LabeledFlow]) -> Option<u64> {
    let host = v.host?;
    let arp = hints
        .arp
        .iter()
        .find(|(a, _, _)| IpAddr::V4(a.target) == host && IpAddr::V4(a.sender) != host)
        .map(|(_, fr, _)| *fr);
    let icmp = flows
        .iter()
        .filter(|f| f.transport == crate::flow::Transport::Icmp)
        .flat_map(|f| {
            f.packets.iter().filter(move |p| {
                let (src, dst) = match p.dir {
                    crate::flow::Dir::C2s => (f.client.ip(), f.server.ip()),
                    crate::flow::Dir::S2c => (f.server.ip(), f.client.ip()),
                };
                dst == host && !v.sent_by_host(src, p.ttl)
            })
        })
        .map(|p| p.frame)
        .min();
    match (arp, icmp) {
        (Some(a), Some(i)) => Some(a.min(i)),
        (a, i) => a.or(i).or((hints.incoming > 0).then_some(0)),
    }
}

/// Works out the vantage point of a capture from its flows and link-layer hints.
/// `ttls` is the capture's [`super::blocking::ttl_by_host`].
pub fn infer(flows: &[LabeledFlow], ttls: &BTreeMap<IpAddr, u8>, hints: &Hints) -> Vantage {
    let mut flows_of: BTreeMap<IpAddr, (u64, u64)> = BTreeMap::new();
    for f in flows {
        let c = flows_of.entry(f.client.ip()).or_default();
        c.0 += 1;
        let s = flows_of.entry(f.server.ip()).or_default();
        s.1 += 1;
    }
    let mut basis = Vec::new();
    let host = if let Some((ip, _)) = hints
        .outgoing
        .iter()
        .max_by_key(|(ip, n)| (**n, std::cmp::Reverse(**ip)))
    {
        basis.push("linux_cooked_outgoing");
        Some(*ip)
    } else {
        let best = flows_of
            .iter()
            .filter(|(ip, _)| ttls.get(ip).is_some_and(|t| hops(*t) == 0))
            .max_by_key(|(ip, (c, s))| (c + s, std::cmp::Reverse(**ip)))
            .map(|(ip, _)| *ip);
        if best.is_some() {
            basis.push("zero_hop_ttl");
            basis.push("most_flows");
        }
        best
    };
    let (c, s) = host
        .and_then(|h| flows_of.get(&h).copied())
        .unwrap_or_default();
    let side = match host {
        Some(_) if c >= s && c > 0 => Side::Client,
        Some(_) if s > 0 => Side::Server,
        Some(_) => Side::Unknown,
        None if flows.is_empty() => Side::Unknown,
        None => {
            basis.push("no_zero_hop_sender");
            Side::Path
        }
    };
    Vantage {
        host,
        host_ttl: host.and_then(|h| ttls.get(&h).copied()),
        host_flows: c + s,
        side,
        basis,
    }
}

#[cfg(test)]
mod tests {
    use super::super::blocking::ttl_by_host;
    use super::*;
    use crate::decode::tcp_flags::{ACK, SYN};
    use crate::flow::Transport;
    use crate::testkit::flows::*;

    fn conn(id: u32, client: &str, server: &str, cttl: u8, sttl: u8) -> LabeledFlow {
        let mut f = flow(id, Transport::Tcp, client, server);
        push(
            &mut f,
            &[
                pkt(1, 0, C, SYN, 1, 0, 0, cttl),
                pkt(2, 1, S, SYN | ACK, 9, 2, 0, sttl),
            ],
        );
        f
    }

    #[test]
    fn client_side_capture_finds_the_client() {
        let flows = vec![
            conn(0, "10.0.0.2:4000", "203.0.113.5:443", 64, 117),
            conn(1, "10.0.0.2:4001", "198.51.100.7:443", 64, 50),
        ];
        let v = infer(&flows, &ttl_by_host(&flows), &Hints::default());
        assert_eq!(v.host, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(v.side, Side::Client);
        assert_eq!(v.host_flows, 2);
        assert!(v.sent_by_host("10.0.0.2".parse().unwrap(), 64));
        assert!(
            !v.sent_by_host("10.0.0.2".parse().unwrap(), 61),
            "spoofed from afar"
        );
        assert!(!v.sent_by_host("203.0.113.5".parse().unwrap(), 64));
    }

    #[test]
    fn server_side_and_path_captures() {
        let flows = vec![
            conn(0, "10.0.0.2:4000", "203.0.113.5:443", 60, 128),
            conn(1, "10.0.0.9:4001", "203.0.113.5:443", 55, 128),
        ];
        let v = infer(&flows, &ttl_by_host(&flows), &Hints::default());
        assert_eq!(v.host, Some("203.0.113.5".parse().unwrap()));
        assert_eq!(v.side, Side::Server);
        let path = vec![conn(0, "10.0.0.2:4000", "203.0.113.5:443", 63, 120)];
        let v = infer(&path, &ttl_by_host(&path), &Hints::default());
        assert_eq!((v.host, v.side), (None, Side::Path));
        assert!(!v.sent_by_host("10.0.0.2".parse().unwrap(), 63));
    }

    #[test]
    fn cooked_outgoing_frames_win() {
        let flows = vec![conn(0, "10.0.0.2:4000", "203.0.113.5:443", 64, 128)];
        let mut h = Hints::default();
        h.note_cooked(4, Some("203.0.113.5".parse().unwrap()));
        h.note_cooked(0, Some("10.0.0.2".parse().unwrap()));
        let v = infer(&flows, &ttl_by_host(&flows), &h);
        assert_eq!(v.host, Some("203.0.113.5".parse().unwrap()));
        assert_eq!(v.side, Side::Server);
        assert_eq!(v.basis, vec!["linux_cooked_outgoing"]);
        assert_eq!(h.incoming, 1);
    }
}
