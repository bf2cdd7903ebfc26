//! The bidirectional flow table and per-direction facts.
//!
//! Key = (transport, unordered endpoint pair, VLAN, tunnel kind). The originator ("client")
//! is the SYN sender, else the first packet's sender — with Zeek's role flips: a flow first
//! seen through a SYN-ACK has the SYN-ACK's sender as responder, and a flow first seen
//! mid-stream from a likely server port (well-known ports, see [`key::likely_server_port`])
//! to a port that is not one is flipped too; `history` then starts with `^`.
//! Flow ids are dense, in first-seen order.
//! Facts only: counts, TCP state (Zeek-compatible `conn_state` and `history`), seq/ack
//! tracking, RTT samples, a rate series and a bounded per-packet log for detectors.
//!
//! # When a key starts a new flow
//! - Idle timeouts ([`FlowConfig::udp_idle_timeout`], [`FlowConfig::tcp_idle_timeout`]), counted
//!   in `FlowTable::timeouts`.
//! - TCP, as Zeek does: [`FlowConfig::tcp_close_delay`] after the connection closed (both FINs,
//!   a RST, or a FIN with a silent peer); [`FlowConfig::tcp_attempt_timeout`] after a SYN that
//!   got no answer at all (retransmissions of that SYN excepted, see below); and a SYN (no ACK)
//!   after either side closed or reset, or whose sequence number differs from the flow's
//!   initial one (port reuse). Counted in `FlowTable::ended_reuse`.
//!
//! # ICMP, fragments, memory
//! - ICMP flows are keyed like Zeek's: the "ports" are the message type and, for
//!   request/reply types, the matching type (so an echo and its reply share a flow), else the
//!   code; the first sender is the originator. An ICMP error is its own flow and is also
//!   recorded in the quoted flow's `icmp_errors` (TCP/UDP quotes only: the decoder gives no
//!   ports for a quoted ICMP message).
//! - Non-first IP fragments join the flow of their first fragment (see [`frag`]); others are
//!   counted in `FlowTable::unattributed_fragments`.
//! - Memory is bounded by the caps in [`FlowConfig`]: flows, the packet log, rate bins and RTT
//!   samples (per flow and in total), holes, TTLs, history, ICMP errors, fragment trains.
//!
//! # Known differences from Zeek
//! - Zeek drops TCP packets with bad checksums (history `C`) unless run with `-C`; we keep them
//!   (the decoder names them `bad_tcp_checksum`, [`obs::ODD`] marks them).
//! - A SYN/SYN-ACK reversal seen after both sides already sent something is not flipped.
//! - Retransmissions of an unanswered SYN (same ISN) stay in their flow after the attempt
//!   timeout, so a blocked handshake is one S0 flow with its retries; Zeek logs one S0 row
//!   per 5 s of retries.
//! - Zeek's DNS analyzer ends DNS connections after 10 s idle; every UDP flow here uses
//!   [`FlowConfig::udp_idle_timeout`].
//! - Zeek also logs the outer connection of a tunnel (Teredo, GTP-U …); only the inner flow is
//!   a flow here.

pub mod frag;
pub mod key;
pub mod rtt;
pub mod seq;
mod table;
pub mod tcp;

pub use table::FlowTable;

use crate::Nanos;
use std::net::SocketAddr;
use std::ops::{Index, IndexMut};

/// Direction relative to the flow's originator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dir {
    /// Client (originator) to server.
    C2s = 0,
    /// Server (responder) to client.
    S2c = 1,
}

impl Dir {
    pub fn idx(self) -> usize {
        self as usize
    }
    pub fn rev(self) -> Dir {
        match self {
            Dir::C2s => Dir::S2c,
            Dir::S2c => Dir::C2s,
        }
    }
}

/// One value per direction, indexed by [`Dir`] (`pair[dir]`): unlike a `[T; 2]` indexed by
/// `dir.idx()`, there is no index that could be out of bounds, so no check and no panic path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerDir<T> {
    pub c2s: T,
    pub s2c: T,
}

impl<T> Index<Dir> for PerDir<T> {
    type Output = T;
    #[inline]
    fn index(&self, d: Dir) -> &T {
        match d {
            Dir::C2s => &self.c2s,
            Dir::S2c => &self.s2c,
        }
    }
}

impl<T> IndexMut<Dir> for PerDir<T> {
    #[inline]
    fn index_mut(&mut self, d: Dir) -> &mut T {
        match d {
            Dir::C2s => &mut self.c2s,
            Dir::S2c => &mut self.s2c,
        }
    }
}

/// Transport of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Tcp,
    Udp,
    Icmp,
    Other(u8),
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Icmp => "icmp",
            Transport::Other(_) => "other",
        }
    }
}

/// Limits and timeouts of the flow table.
#[derive(Clone, Debug)]
pub struct FlowConfig {
    /// A UDP/ICMP/other flow idle longer than this ends; the next packet starts a new flow (Zeek: 60 s).
    pub udp_idle_timeout: Nanos,
    /// A TCP flow idle longer than this ends (Zeek: 5 min).
    pub tcp_idle_timeout: Nanos,
    /// Most flows tracked; packets of further new flows are counted in `FlowTable::untracked_packets`.
    pub max_flows: usize,
    /// Per-flow cap on [`PacketMeta`] entries kept: 360,000 holds an hour of a call at 50
    /// packets/s each way, so a call's log is whole (past it the log keeps the first and the
    /// last packets and `capture.limits` says so); [`FlowConfig::max_packets_total`] bounds
    /// the memory.
    pub max_packets_per_flow: usize,
    /// Global cap on [`PacketMeta`] entries kept across all flows.
    pub max_packets_total: usize,
    /// Payload prefix bytes kept per direction (for classifiers and trigger context).
    pub payload_prefix: usize,
    /// Width of a rate-series bin.
    pub rate_bin: Nanos,
    /// Most bins per direction.
    pub max_rate_bins: usize,
    /// Most rate bins across all flows (a sparse long flow allocates every bin in between).
    pub max_rate_bins_total: usize,
    /// A closed TCP connection's key starts a new flow this long after the close (Zeek's
    /// `tcp_close_delay`, 5 s).
    pub tcp_close_delay: Nanos,
    /// A SYN with no answer at all ends its flow after this long (Zeek's `tcp_attempt_delay`,
    /// 5 s): later packets of the key start a new flow. 0 disables.
    pub tcp_attempt_timeout: Nanos,
    /// Most RTT samples kept per flow.
    pub max_rtt_samples: usize,
    /// Most RTT samples kept across all flows.
    pub max_rtt_samples_total: usize,
    /// Most ICMP errors kept per flow.
    pub max_icmp_errors: usize,
    /// Most IP fragment trains remembered (first fragment → flow) at once.
    pub max_frag_trains: usize,
    /// A fragment train is forgotten this long after its first fragment.
    pub frag_timeout: Nanos,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            udp_idle_timeout: 60_000_000_000,
            tcp_idle_timeout: 300_000_000_000,
            max_flows: 1_000_000,
            max_packets_per_flow: 360_000,
            max_packets_total: 4_000_000,
            payload_prefix: 512,
            rate_bin: 100_000_000,
            max_rate_bins: 36_000,
            max_rate_bins_total: 8_000_000,
            tcp_close_delay: 5_000_000_000,
            tcp_attempt_timeout: 5_000_000_000,
            max_rtt_samples: 10_000,
            max_rtt_samples_total: 2_000_000,
            max_icmp_errors: 64,
            max_frag_trains: 4096,
            frag_timeout: 30_000_000_000,
        }
    }
}

/// Bits of [`PacketMeta::obs`]: what the flow table observed about this packet.
pub mod obs {
    /// TCP: the segment's data was seen before (seq below snd_max with no hole to fill).
    /// Zero-length segments are never retransmissions.
    pub const RETRANSMISSION: u8 = 0x01;
    /// TCP: the segment's seq is past snd_max: a hole opened (data lost before the capture point).
    pub const HOLE_OPENED: u8 = 0x02;
    /// TCP: the segment filled (part of) a previously opened hole.
    pub const HOLE_FILLED: u8 = 0x04;
    /// A TCP segment whose checksum or header was odd (see anomalies).
    pub const ODD: u8 = 0x08;
    /// IP-level duplicate of the previous packet in this direction (same IP ID, seq, length).
    pub const DUPLICATE: u8 = 0x10;
}

/// Bits of [`Flow::limits`]: which bounded record of the flow a cap cut. Whole-flow counters
/// (packets, bytes, first/last packet each way, packets after the peer fell silent) are
/// streaming and never cut; these bits name what is partial, and `capture.limits` lists them.
pub mod limit {
    /// The packet log reached [`super::FlowConfig::max_packets_per_flow`]: it keeps the first
    /// and the last packets, the middle is counted in `log_dropped`.
    pub const PACKETS_PER_FLOW: u8 = 0x01;
    /// The packet log was cut by the global [`super::FlowConfig::max_packets_total`].
    pub const PACKETS_TOTAL: u8 = 0x02;
    /// A rate series reached [`super::FlowConfig::max_rate_bins`].
    pub const RATE_BINS_PER_FLOW: u8 = 0x04;
    /// A rate series was cut by the global [`super::FlowConfig::max_rate_bins_total`].
    pub const RATE_BINS_TOTAL: u8 = 0x08;
    /// RTT samples past [`super::FlowConfig::max_rtt_samples`] were dropped.
    pub const RTT_PER_FLOW: u8 = 0x10;
    /// RTT samples were dropped by the global [`super::FlowConfig::max_rtt_samples_total`].
    pub const RTT_TOTAL: u8 = 0x20;
    /// ICMP errors past [`super::FlowConfig::max_icmp_errors`] were dropped.
    pub const ICMP_ERRORS: u8 = 0x40;
    /// The per-capture work budget ran out before an analysis of this flow (set by the
    /// analyzer from `detect::facts::Facts::skipped`).
    pub const WORK_BUDGET: u8 = 0x80;
}

/// Per-packet facts kept (bounded) for detectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    /// 1-based frame number.
    pub frame: u64,
    pub ts: Nanos,
    pub dir: Dir,
    /// IP total length (wire).
    pub ip_len: u32,
    /// Transport payload length (wire).
    pub payload_len: u32,
    pub ttl: u8,
    /// IPv4 ID (u32::MAX when absent).
    pub ip_id: u32,
    pub df: bool,
    /// TCP flags (0 for non-TCP).
    pub tcp_flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// [`obs`] bits.
    pub obs: u8,
}

/// An RTT sample measured at the capture point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RttSample {
    /// When the acknowledgement was seen.
    pub ts: Nanos,
    pub rtt: Nanos,
    /// Direction of the data (or SYN) that was acknowledged.
    pub dir: Dir,
    /// "handshake", "data" or "tsopt".
    pub source: &'static str,
}

/// Per-direction counters and facts.
#[derive(Clone, Debug, Default)]
pub struct DirFacts {
    pub packets: u64,
    /// IP bytes (wire lengths of the IP packets).
    pub bytes: u64,
    pub payload_bytes: u64,
    pub first_ts: Option<Nanos>,
    pub last_ts: Option<Nanos>,
    /// (ttl, count), sorted by ttl; at most 16 distinct values kept.
    pub ttls: Vec<(u8, u32)>,
    pub df_packets: u64,
    /// First payload bytes of this direction, concatenated in capture order, capped
    /// ([`FlowConfig::payload_prefix`]); TCP retransmissions and duplicates are skipped.
    pub payload_prefix: Vec<u8>,
    /// Highest sequence number sent + 1 (TCP), wrapping-aware.
    pub snd_max: Option<u32>,
    /// Highest ACK sent by this direction.
    pub ack_max: Option<u32>,
    /// Initial sequence number (SYN's seq).
    pub isn: Option<u32>,
    pub retransmissions: u64,
    pub holes_opened: u64,
    /// Segments that filled (part of) an open hole.
    pub holes_filled: u64,
    /// Sequence space the peer acknowledged but the capture never showed (Zeek's
    /// `missed_bytes`: capture loss, or a one-sided capture).
    pub missed_bytes: u64,
    /// Sequence space currently in open holes (bounded list, oldest dropped past 16).
    pub open_holes: crate::slim::Slim<(u32, u32)>,
    /// IP bytes per rate bin ([`FlowConfig::rate_bin`] wide), bin 0 starting at the flow's
    /// first packet; at most [`FlowConfig::max_rate_bins`] bins.
    pub rate: Vec<u64>,
    /// Packets fell past the last bin kept (per-flow or global bin cap): `rate` is incomplete.
    pub rate_truncated: bool,
    pub syn_count: u32,
    pub fin_count: u32,
    pub rst_count: u32,
    pub wscale: Option<u8>,
    /// Packets of this direction sent since the other direction's last packet (capture
    /// duplicates excluded; reset to 0 by each packet of the other direction): how long this
    /// side went on after the other fell silent, counted over every packet, not the log.
    pub after_peer_last: u64,
    /// Packets marked as capture duplicates ([`obs::DUPLICATE`]).
    pub duplicates: u64,
    /// Packets with transport payload (capture duplicates excluded, TCP retransmissions included).
    pub payload_packets: u64,
    /// Packets of this direction the packet log dropped from its middle (see [`Flow::packets`]).
    pub log_omitted: u64,
}

impl DirFacts {
    /// The most common TTL seen in this direction.
    pub fn ttl_mode(&self) -> Option<u8> {
        self.ttls
            .iter()
            .max_by_key(|(t, c)| (*c, std::cmp::Reverse(*t)))
            .map(|(t, _)| *t)
    }
}

/// One bidirectional flow.
#[derive(Clone, Debug)]
pub struct Flow {
    /// Dense id, first-seen order, from 0... reported as is.
    pub id: u32,
    pub transport: Transport,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub vlan: u16,
    pub tunnel: Option<&'static str>,
    pub first_ts: Nanos,
    pub last_ts: Nanos,
    pub first_frame: u64,
    pub dir: [DirFacts; 2],
    /// TCP state machine (None for non-TCP), boxed: most flows of a big capture are UDP, and
    /// the state is larger than the rest of the flow.
    pub tcp: Option<Box<tcp::TcpState>>,
    /// Zeek history letters (for UDP too: D/d).
    pub history: String,
    pub rtt: crate::slim::Slim<RttSample>,
    /// Bounded per-packet log in capture order. Past its cap it keeps the first packets
    /// (`packets[..log_head]`) and the last ones (a ring over the rest, put back in order when
    /// the table hands the flows over): `packets_truncated` is then set, `log_gap` says where
    /// the packets in between were, and they are counted in `log_dropped` and per direction
    /// in [`DirFacts::log_omitted`].
    pub packets: Vec<PacketMeta>,
    pub packets_truncated: bool,
    /// Index of the first entry of `packets` after the gap, when the log dropped packets from
    /// its middle; detectors that need an unbroken sequence read [`Flow::contiguous`].
    pub log_gap: Option<usize>,
    /// Packets the log dropped (never kept, or overwritten in the ring).
    pub log_dropped: u64,
    /// [`limit`] bits: which of the flow's bounded records a cap cut.
    pub limits: u8,
    /// ICMP errors that quoted this flow, in capture order.
    pub icmp_errors: crate::slim::Slim<IcmpError>,
}

/// An ICMP error that quoted a flow (`Flow::icmp_errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpError {
    /// The ICMP message's frame and time.
    pub frame: u64,
    pub ts: Nanos,
    /// ICMP (or ICMPv6) type and code.
    pub kind: u8,
    pub code: u8,
    /// Who sent the error (a router on the path, or the far end).
    pub from: std::net::IpAddr,
    /// The quoted packet's IPv4 ID ([`crate::decode::Quoted::ip_id`]).
    pub quoted_ip_id: Option<u16>,
}

impl IcmpError {
    /// Time exceeded in transit (ICMP 11 code 0, ICMPv6 3 code 0): a router dropped the quoted
    /// packet because its TTL (hop limit) ran out. `v6` is the flow's address family.
    pub fn time_exceeded(&self, v6: bool) -> bool {
        self.code == 0 && self.kind == if v6 { 3 } else { 11 }
    }
}

impl Flow {
    /// Zeek-compatible conn_state ("S0", "SF", "REJ", … ; for UDP: "S0" one-way, "SF" both
    /// ways, "SHR" only the responder; ICMP and other transports: "OTH", as Zeek logs them).
    pub fn conn_state(&self) -> &'static str {
        match &self.tcp {
            Some(t) => t.conn_state(),
            None if self.transport != Transport::Udp => "OTH",
            None => {
                if self.dir[1].packets > 0 && self.dir[0].packets > 0 {
                    "SF"
                } else if self.dir[0].packets > 0 {
                    "S0"
                } else if self.dir[1].packets > 0 {
                    "SHR"
                } else {
                    "OTH"
                }
            }
        }
    }
    /// RST segments seen, both directions (streaming: every packet counts).
    pub fn rst_packets(&self) -> u64 {
        self.dir.iter().map(|d| u64::from(d.rst_count)).sum()
    }
    pub fn duration(&self) -> Nanos {
        self.last_ts.saturating_sub(self.first_ts)
    }

    /// The unbroken start of the packet log: every packet up to the first one the log dropped
    /// (the whole log when it dropped none).
    pub fn contiguous(&self) -> &[PacketMeta] {
        match self.log_gap {
            Some(g) => self.packets.get(..g).unwrap_or(&self.packets),
            None => &self.packets,
        }
    }

    /// Packets of `dir` (capture duplicates excluded) captured after time `t`, and whether the
    /// count is exact. Exact from the streaming counter when `t` is the other direction's last
    /// packet, from the log when it dropped nothing of `dir` or `t` falls outside its gap;
    /// otherwise the packets kept after `t`, a lower bound (`false`).
    pub fn sent_after(&self, dir: Dir, t: Nanos) -> (u64, bool) {
        let [c, s] = &self.dir;
        let (d, peer) = match dir {
            Dir::C2s => (c, s),
            Dir::S2c => (s, c),
        };
        if peer.last_ts == Some(t) {
            return (d.after_peer_last, true);
        }
        let later = |ps: &[PacketMeta]| {
            ps.iter()
                .filter(|p| p.dir == dir && p.ts > t && p.obs & obs::DUPLICATE == 0)
                .count() as u64
        };
        let head = self.contiguous();
        let tail = match self.log_gap {
            Some(g) => self.packets.get(g..).unwrap_or(&[]),
            None => &[],
        };
        if d.log_omitted == 0 {
            return (later(head) + later(tail), true);
        }
        match (head.last(), tail.first()) {
            (Some(h), _) if t < h.ts => (later(head) + d.log_omitted + later(tail), true),
            (_, Some(f)) if t >= f.ts => (later(tail), true),
            _ => (later(tail), false),
        }
    }
}

/// Result of feeding one packet to the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    /// Index into [`FlowTable::flows`].
    pub id: u32,
    pub dir: Dir,
    /// True when this packet created the flow.
    pub new: bool,
}
