//! The flow table: one hash lookup per packet, flows in a `Vec` in first-seen order.
//!
//! The map (`FlowKey` → index into `flows`) only finds the current flow of a key; when a key
//! starts a new flow (timeout, TCP close or reuse) the map entry moves to the new index and the
//! old flow stays in `flows` unchanged. Map iteration order never reaches the output.

use super::frag::{Fragments, TrainKey};
use super::key::{
    icmp_counterpart, likely_server_port, tunnel_code, Endpoint, FlowKey, KeyHashBuilder,
};
use super::rtt::SegFacts;
use super::seq::{self, Signature};
use super::tcp::{Segment, TcpState};
use super::{
    limit, obs, Dir, DirFacts, Flow, FlowConfig, IcmpError, Observed, PacketMeta, Transport,
};
use crate::decode::tcp_flags::{ACK, FIN, RST, SYN};
use crate::decode::{Decoded, Net, L4};
use crate::Nanos;
use std::collections::HashMap;

/// Most distinct TTL values kept per direction.
const MAX_TTLS: usize = 16;

/// Table-private per-flow state.
#[derive(Clone, Debug)]
struct Aux {
    /// The client's endpoint as keyed (for ICMP the "port" is the message type).
    client: Endpoint,
    /// Last packet of each direction (capture-duplicate detection).
    last_sig: [Option<Signature>; 2],
    /// UDP history letters already added (bit 0 `D`, bit 1 `d`).
    udp_hist: u8,
    /// Next slot of the packet log's ring (see [`Flow::packets`]), counted from `log_gap`.
    ring: usize,
}

/// The flow table. Flows stay in `flows` (first-seen order) until the report is built.
#[derive(Debug, Default)]
pub struct FlowTable {
    cfg: FlowConfig,
    /// Each flow boxed: the array grows by pointers (no copy of a gigabyte of flows when it
    /// doubles), and the flows move into their labelled flows without a copy.
    #[allow(clippy::vec_box)]
    flows: Vec<Box<Flow>>,
    aux: Vec<Aux>,
    map: HashMap<FlowKey, u32, KeyHashBuilder>,
    frags: Fragments,
    budget: Budget,
    /// Flows ended by idle timeout (a later packet of the same key started a new flow).
    pub timeouts: u64,
    /// Packets of new flows refused because `max_flows` was reached, or because memory for
    /// one more flow could not be reserved (those also in `memory_refused`).
    pub untracked_packets: u64,
    /// Packets of new flows refused because memory ran out (listed as the `memory` limit).
    pub memory_refused: u64,
    /// TCP flows ended by a close, an unanswered attempt or port reuse, whose key a later
    /// packet reused (see the module docs of [`crate::flow`]).
    pub ended_reuse: u64,
    /// Non-first IP fragments whose first fragment was not seen (or expired).
    pub unattributed_fragments: u64,
    /// The last few packets' signatures (capture-duplicate detection across keys).
    recent: std::collections::VecDeque<(Nanos, FrameSig, FlowKey)>,
    /// Frames that repeated an IP packet captured just before (same header and payload
    /// within [`DUP_WINDOW`]): a VLAN sub-interface and its parent, a bridge and its port
    /// under `-i any`. Counted as the `duplicate_frame` anomaly and dropped, so a copy never
    /// makes a ghost flow (under another key: VLAN, tunnel) nor doubles a flow's packets,
    /// retransmissions or requests (under the same key: a bridge and its port). A copy
    /// without an IP ID to tell it from a new packet (IPv6) under the same key with no
    /// payload (a pure ACK: a real duplicate ACK is byte-identical too) is dropped only
    /// within [`DUP_WINDOW_NO_ID`].
    pub duplicate_frames: u64,
    /// Keys learnt to carry the same packets as another key (a VLAN sub-interface and its
    /// parent): packets under an alias go to the flow of the key it stands for, whichever
    /// copy arrives first (outgoing frames reach the sub-interface first, incoming ones the
    /// parent). At most [`MAX_ALIASES`].
    alias: HashMap<FlowKey, FlowKey, KeyHashBuilder>,
}

/// Most key aliases remembered (see [`FlowTable::duplicate_frames`]).
const MAX_ALIASES: usize = 4096;

/// Two captures of one IP packet arrive this close together (same host, two interfaces).
pub const DUP_WINDOW: Nanos = 5_000_000;
/// Two captures of one IPv6 pure ACK under one key arrive this close together (the lab's
/// bridge and port: 1–20 µs apart); a real duplicate ACK answers a segment of the peer and
/// comes later.
pub const DUP_WINDOW_NO_ID: Nanos = 200_000;
/// Packets remembered for [`FlowTable::duplicate_frames`].
const DUP_RING: usize = 16;

/// What two captures of one IP packet share: addresses, ports, IP ID, length, TTL, TCP
/// sequence, ack, flags, window and timestamps, and a hash of the first payload bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FrameSig {
    src: Endpoint,
    dst: Endpoint,
    proto: u8,
    ip_id: u32,
    ip_len: u32,
    ttl: u8,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    tsval: Option<(u32, u32)>,
    payload: u64,
}

/// FNV-1a of the first 64 payload bytes.
fn payload_hash(p: &[u8]) -> u64 {
    p.iter().take(64).fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Global allowances shared by all flows (memory stays bounded whatever the capture).
#[derive(Debug, Default)]
struct Budget {
    /// PacketMeta entries kept ([`FlowConfig::max_packets_total`]).
    packets: usize,
    /// Rate bins allocated ([`FlowConfig::max_rate_bins_total`]).
    rate_bins: usize,
    /// RTT samples kept ([`FlowConfig::max_rtt_samples_total`]).
    rtt: usize,
}

/// What the packet contributes, independent of its transport.
struct PacketView<'a> {
    src: Endpoint,
    dst: Endpoint,
    proto: u8,
    transport: Transport,
    payload_len: u32,
    payload: &'a [u8],
}

impl FlowTable {
    pub fn new(cfg: FlowConfig) -> Self {
        FlowTable {
            cfg,
            ..Default::default()
        }
    }

    /// Feeds one decoded packet; None when it has no flow (no IP layer, no transport header,
    /// an unattributable fragment, or the flow cap was hit).
    pub fn observe(&mut self, frame: u64, ts: Nanos, d: &Decoded<'_>) -> Option<Observed> {
        let net = d.net?;
        let view = match d.l4 {
            L4::Tcp(t) => PacketView {
                src: Endpoint::new(net.src, t.src_port),
                dst: Endpoint::new(net.dst, t.dst_port),
                proto: 6,
                transport: Transport::Tcp,
                payload_len: t.seg_len,
                payload: t.payload,
            },
            L4::Udp(u) => PacketView {
                src: Endpoint::new(net.src, u.src_port),
                dst: Endpoint::new(net.dst, u.dst_port),
                proto: 17,
                transport: Transport::Udp,
                payload_len: u.len,
                payload: u.payload,
            },
            L4::Icmp(i) => {
                let (sp, dp) = match icmp_counterpart(i.v6, i.kind) {
                    Some((other, _)) => (u16::from(i.kind), u16::from(other)),
                    None => (u16::from(i.kind), u16::from(i.code)),
                };
                PacketView {
                    src: Endpoint::new(net.src, sp),
                    dst: Endpoint::new(net.dst, dp),
                    proto: net.proto,
                    transport: Transport::Icmp,
                    payload_len: 0,
                    payload: &[],
                }
            }
            L4::Other => PacketView {
                src: Endpoint::new(net.src, 0),
                dst: Endpoint::new(net.dst, 0),
                proto: net.proto,
                transport: Transport::Other(net.proto),
                payload_len: 0,
                payload: &[],
            },
            L4::Fragment => return self.later_fragment(frame, ts, &net),
            L4::None => return None,
        };
        let tun = tunnel_code(d.tunnel);
        let (raw, _) = FlowKey::new(view.proto, view.src, view.dst, d.vlan, tun);
        let key = self.alias.get(&raw).copied().unwrap_or(raw);
        let (seq, ack, flags, window, tsval) = match d.l4 {
            L4::Tcp(t) => (t.seq, t.ack, t.flags, t.window, t.timestamps),
            _ => (0, 0, 0, 0, None),
        };
        let sig = FrameSig {
            src: view.src,
            dst: view.dst,
            proto: view.proto,
            ip_id: net.ip_id.unwrap_or(u32::MAX),
            ip_len: net.ip_len,
            ttl: net.ttl,
            seq,
            ack,
            flags,
            window,
            tsval,
            payload: payload_hash(view.payload),
        };
        let dup_of = self
            .recent
            .iter()
            .rev()
            .take_while(|(t, _, _)| ts.saturating_sub(*t) <= DUP_WINDOW)
            .find(|(_, s, _)| *s == sig)
            .map(|(t, _, k)| (*t, *k));
        if let Some((t, k)) = dup_of {
            let no_id = net.ip_id.is_none() && view.payload_len == 0;
            if k != raw || !no_id || ts.saturating_sub(t) <= DUP_WINDOW_NO_ID {
                self.duplicate_frames += 1;
                if k != raw {
                    // The copy under another key: its key is learnt as an alias of the first
                    // copy's flow, so later packets seen first under it join that flow.
                    let to = self.alias.get(&k).copied().unwrap_or(k);
                    if to != raw && self.alias.len() < MAX_ALIASES {
                        self.alias.entry(raw).or_insert(to);
                    }
                }
                return None;
            }
        }
        if self.recent.len() >= DUP_RING {
            self.recent.pop_front();
        }
        self.recent.push_back((ts, sig, raw));

        let mut new = false;
        let idx = match self.map.get(&key).copied() {
            Some(i) if !self.ends_before(i, ts, d) => i,
            _ => {
                // Unknown key, or `ends_before` counted why its flow ended.
                // The cap, or no memory left for one more flow: counted (and listed in
                // `capture.limits`), never an abort.
                if self.flows.len() >= self.cfg.max_flows {
                    self.untracked_packets += 1;
                    return None;
                }
                if self.flows.try_reserve(1).is_err()
                    || self.aux.try_reserve(1).is_err()
                    || !room_for_flows(self.flows.len())
                {
                    self.untracked_packets += 1;
                    self.memory_refused += 1;
                    return None;
                }
                new = true;
                let i = self.create(frame, ts, d, &view);
                self.map.insert(key, i);
                i
            }
        };
        let dir = match self.aux.get(idx as usize) {
            Some(a) if a.client == view.src => Dir::C2s,
            Some(_) => Dir::S2c,
            None => return None,
        };
        self.account(idx, frame, ts, d, &net, &view, dir);

        if let (Some(f), L4::Tcp(_) | L4::Udp(_)) = (net.frag, d.l4) {
            if f.offset == 0 && f.more {
                let k = TrainKey {
                    src: net.src,
                    dst: net.dst,
                    proto: net.proto,
                    id: f.id,
                };
                self.frags.insert(
                    k,
                    idx,
                    dir,
                    ts,
                    self.cfg.max_frag_trains,
                    self.cfg.frag_timeout,
                );
            }
        }
        if let L4::Icmp(i) = d.l4 {
            if let Some(q) = i.quoted {
                let (qk, _) = FlowKey::new(
                    q.proto,
                    Endpoint::new(q.src.ip(), q.src.port()),
                    Endpoint::new(q.dst.ip(), q.dst.port()),
                    d.vlan,
                    tun,
                );
                if let Some(&qi) = self.map.get(&qk) {
                    if let Some(qf) = self.flows.get_mut(qi as usize) {
                        if qf.icmp_errors.len() < self.cfg.max_icmp_errors {
                            qf.icmp_errors.push(IcmpError {
                                frame,
                                ts,
                                kind: i.kind,
                                code: i.code,
                                from: net.src,
                                quoted_ip_id: q.ip_id,
                            });
                        } else {
                            qf.limits |= limit::ICMP_ERRORS;
                        }
                    }
                }
            }
        }
        Some(Observed { id: idx, dir, new })
    }

    /// True when the flow at `i` ended before this packet (timeouts and TCP lifecycle); counts why.
    fn ends_before(&mut self, i: u32, ts: Nanos, d: &Decoded<'_>) -> bool {
        let Some(f) = self.flows.get(i as usize) else {
            return true;
        };
        let idle = match f.transport {
            Transport::Tcp => self.cfg.tcp_idle_timeout,
            _ => self.cfg.udp_idle_timeout,
        };
        // Idle either way: time that steps back past the timeout (a clock reset, a merged
        // capture) starts a new flow too, so no flow spans a jump.
        if ts.saturating_sub(f.last_ts) > idle || f.last_ts.saturating_sub(ts) > idle {
            self.timeouts += 1;
            return true;
        }
        if let Some(t) = &f.tcp {
            let closed = t
                .closed_at
                .is_some_and(|c| ts >= c.saturating_add(self.cfg.tcp_close_delay));
            let (reuse, retry) = match d.l4 {
                L4::Tcp(s) => (t.is_reuse(s.flags, s.seq), t.is_syn_retry(s.flags, s.seq)),
                _ => (false, false),
            };
            if closed || reuse || t.attempt_expired(ts, self.cfg.tcp_attempt_timeout, retry) {
                self.ended_reuse += 1;
                return true;
            }
        }
        false
    }

    /// Creates the flow for this packet's key, choosing the originator.
    fn create(&mut self, frame: u64, ts: Nanos, d: &Decoded<'_>, v: &PacketView<'_>) -> u32 {
        let flipped = match d.l4 {
            // A SYN-ACK's sender is the responder; mid-stream, trust well-known server ports.
            L4::Tcp(t) if t.flags & SYN != 0 => t.flags & ACK != 0,
            L4::Tcp(t) => port_flip(t.src_port, t.dst_port, true),
            L4::Udp(u) => port_flip(u.src_port, u.dst_port, false),
            // ICMP: the first sender is the originator, as in Zeek (a reply seen first too).
            _ => false,
        };
        let (client, server) = if flipped {
            (v.dst, v.src)
        } else {
            (v.src, v.dst)
        };
        let mut history = String::new();
        let tcp = match v.transport {
            Transport::Tcp => Some(Box::new(TcpState::new(flipped, &mut history))),
            Transport::Udp => {
                if flipped {
                    history.push('^');
                }
                None
            }
            _ => None,
        };
        let id = u32::try_from(self.flows.len()).unwrap_or(u32::MAX);
        self.flows.push(Box::new(Flow {
            id,
            transport: v.transport,
            client: client.socket(),
            server: server.socket(),
            vlan: d.vlan,
            tunnel: d.tunnel,
            first_ts: ts,
            last_ts: ts,
            first_frame: frame,
            dir: [DirFacts::default(), DirFacts::default()],
            tcp,
            history,
            rtt: Default::default(),
            packets: Vec::new(),
            packets_truncated: false,
            log_gap: None,
            log_dropped: 0,
            limits: 0,
            icmp_errors: Default::default(),
        }));
        self.aux.push(Aux {
            client,
            last_sig: [None, None],
            udp_hist: 0,
            ring: 0,
        });
        id
    }

    /// A non-first fragment: attributed to its train's flow, counted, nothing more.
    fn later_fragment(&mut self, frame: u64, ts: Nanos, net: &Net) -> Option<Observed> {
        let Some(f) = net.frag else {
            self.unattributed_fragments += 1;
            return None;
        };
        let k = TrainKey {
            src: net.src,
            dst: net.dst,
            proto: net.proto,
            id: f.id,
        };
        let Some((idx, dir)) = self.frags.lookup(&k, ts, self.cfg.frag_timeout) else {
            self.unattributed_fragments += 1;
            return None;
        };
        let (cfg, budget) = (&self.cfg, &mut self.budget);
        let flow = self.flows.get_mut(idx as usize)?;
        let aux = self.aux.get_mut(idx as usize)?;
        common(cfg, budget, flow, dir, ts, net, 0);
        let m = meta(frame, ts, dir, net, 0);
        streaming(flow, &m);
        push_meta(cfg, &mut budget.packets, flow, &mut aux.ring, m);
        Some(Observed {
            id: idx,
            dir,
            new: false,
        })
    }

    /// Updates the flow's facts with one packet.
    #[allow(clippy::too_many_arguments)]
    fn account(
        &mut self,
        idx: u32,
        frame: u64,
        ts: Nanos,
        d: &Decoded<'_>,
        net: &Net,
        v: &PacketView<'_>,
        dir: Dir,
    ) {
        let (cfg, budget) = (&self.cfg, &mut self.budget);
        let (Some(flow), Some(aux)) = (
            self.flows.get_mut(idx as usize),
            self.aux.get_mut(idx as usize),
        ) else {
            return;
        };
        common(cfg, budget, flow, dir, ts, net, v.payload_len);
        let mut m = meta(frame, ts, dir, net, v.payload_len);
        let di = dir.idx();
        match d.l4 {
            L4::Tcp(t) => {
                m.tcp_flags = t.flags;
                m.seq = t.seq;
                m.ack = t.ack;
                m.window = t.window;
                m.obs = tcp_packet(cfg, budget, flow, aux, dir, ts, net, &t);
                if !d.anomalies.is_empty() {
                    m.obs |= obs::ODD;
                }
            }
            L4::Udp(_) => {
                let bit = 1u8 << di;
                if aux.udp_hist & bit == 0 {
                    aux.udp_hist |= bit;
                    flow.history.push(if di == 0 { 'D' } else { 'd' });
                }
                let sig = Signature {
                    ip_id: m.ip_id,
                    seq: 0,
                    len: v.payload_len,
                    flags: 0,
                };
                if m.ip_id != u32::MAX && aux.last_sig.get(di).copied().flatten() == Some(sig) {
                    m.obs |= obs::DUPLICATE;
                }
                if let Some(s) = aux.last_sig.get_mut(di) {
                    *s = Some(sig);
                }
            }
            _ => {}
        }
        if m.obs & (obs::RETRANSMISSION | obs::DUPLICATE) == 0 {
            if let Some(df) = flow.dir.get_mut(di) {
                let room = cfg.payload_prefix.saturating_sub(df.payload_prefix.len());
                if room > 0 && !v.payload.is_empty() {
                    let take = room.min(v.payload.len());
                    df.payload_prefix
                        .extend_from_slice(v.payload.get(..take).unwrap_or(&[]));
                }
            }
        }
        streaming(flow, &m);
        push_meta(cfg, &mut budget.packets, flow, &mut aux.ring, m);
    }

    /// The flows so far, in first-seen order. A packet log that dropped packets is in ring
    /// order here; [`FlowTable::into_flows`] puts it back in capture order.
    pub fn flows(&self) -> &[Box<Flow>] {
        &self.flows
    }
    pub fn flow_mut(&mut self, id: u32) -> Option<&mut Flow> {
        self.flows.get_mut(id as usize).map(|f| &mut **f)
    }
    /// The flows, each packet log in capture order (its first packets, then its last ones).
    pub fn into_flows(mut self) -> Vec<Box<Flow>> {
        for (f, a) in self.flows.iter_mut().zip(&self.aux) {
            if let Some(tail) = f.log_gap.and_then(|g| f.packets.get_mut(g..)) {
                if !tail.is_empty() {
                    tail.rotate_left(a.ring % tail.len());
                }
            }
        }
        self.flows
    }
}

/// Flows boxed between memory probes (see [`room_for_flows`]).
const PROBE_FLOWS: usize = 1024;

/// Bytes a flow may still need per flow tracked, beyond what is already allocated: the next
/// doubling of the per-flow arrays that grow infallibly (the classifier's states, about 330
/// bytes a flow, the key map) and what building the report takes (the labelled-flow array,
/// about 300 bytes a flow, and a report row, about 420).
const PROBE_BYTES_PER_FLOW: usize = 1536;

/// Whether memory for what the flows tracked so far may still need can be reserved now:
/// probed (reserved and released at once, address space only) every [`PROBE_FLOWS`] new
/// flows, so running out of memory refuses flows (the `memory` limit) instead of aborting in
/// an allocation that cannot fail softly (a flow's box, a doubling array, the report).
fn room_for_flows(len: usize) -> bool {
    if !len.is_multiple_of(PROBE_FLOWS) {
        return true;
    }
    let bytes = len
        .saturating_add(PROBE_FLOWS)
        .saturating_mul(PROBE_BYTES_PER_FLOW);
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(bytes).is_ok()
}

/// Zeek's mid-stream role guess from ports: flip when the source looks like a server and the
/// destination does not; when both do, a non-SYN TCP packet flips if the source port is lower.
fn port_flip(sp: u16, dp: u16, tcp: bool) -> bool {
    if !likely_server_port(sp) {
        return false;
    }
    if likely_server_port(dp) {
        tcp && sp < dp
    } else {
        true
    }
}

fn meta(frame: u64, ts: Nanos, dir: Dir, net: &Net, payload_len: u32) -> PacketMeta {
    PacketMeta {
        frame,
        ts,
        dir,
        ip_len: net.ip_len,
        payload_len,
        ttl: net.ttl,
        ip_id: net.ip_id.unwrap_or(u32::MAX),
        df: net.df,
        tcp_flags: 0,
        seq: 0,
        ack: 0,
        window: 0,
        obs: 0,
    }
}

/// Whole-flow counters that need the packet's [`obs`] bits: duplicates, payload packets, and
/// how many packets each side sent since the other's last one.
fn streaming(flow: &mut Flow, m: &PacketMeta) {
    let [c, s] = &mut flow.dir;
    let (mine, peer) = match m.dir {
        Dir::C2s => (c, s),
        Dir::S2c => (s, c),
    };
    if m.obs & obs::DUPLICATE != 0 {
        mine.duplicates += 1;
    } else {
        mine.after_peer_last += 1;
        peer.after_peer_last = 0;
        if m.payload_len > 0 {
            mine.payload_packets += 1;
        }
    }
}

/// Logs one packet. Past the per-flow or the global cap the log keeps its first half as it
/// is and overwrites the second half as a ring, so it always holds the first and the last
/// packets; what it drops is counted (`log_dropped`, per direction `log_omitted`) and the
/// cap that cut it is named in `limits`.
fn push_meta(cfg: &FlowConfig, kept: &mut usize, flow: &mut Flow, ring: &mut usize, m: PacketMeta) {
    let len = flow.packets.len();
    if flow.log_gap.is_none() {
        let per_flow = len >= cfg.max_packets_per_flow;
        if !per_flow && *kept < cfg.max_packets_total {
            if len == 0 {
                // Most flows of a big capture have one packet: no room for four.
                flow.packets.reserve_exact(1);
            }
            flow.packets.push(m);
            *kept += 1;
            return;
        }
        flow.limits |= if per_flow {
            limit::PACKETS_PER_FLOW
        } else {
            limit::PACKETS_TOTAL
        };
        flow.packets_truncated = true;
        flow.log_gap = Some(len - len / 2);
    }
    flow.log_dropped += 1;
    let gap = flow.log_gap.unwrap_or(len);
    let tail = len.saturating_sub(gap);
    let dropped = if tail == 0 {
        Some(m.dir)
    } else {
        let at = gap + *ring % tail;
        *ring = (*ring + 1) % tail;
        flow.packets
            .get_mut(at)
            .map(|slot| std::mem::replace(slot, m).dir)
    };
    if let Some(df) = dropped.and_then(|d| flow.dir.get_mut(d.idx())) {
        df.log_omitted += 1;
    }
}

/// Counters every packet updates: packets, bytes, times, TTLs, DF, the rate series.
fn common(
    cfg: &FlowConfig,
    budget: &mut Budget,
    flow: &mut Flow,
    dir: Dir,
    ts: Nanos,
    net: &Net,
    payload_len: u32,
) {
    if ts > flow.last_ts {
        flow.last_ts = ts;
    }
    let first = flow.first_ts;
    let Some(df) = flow.dir.get_mut(dir.idx()) else {
        return;
    };
    df.packets += 1;
    df.bytes += u64::from(net.ip_len);
    df.payload_bytes += u64::from(payload_len);
    if df.first_ts.is_none() {
        df.first_ts = Some(ts);
    }
    if !matches!(df.last_ts, Some(l) if l >= ts) {
        df.last_ts = Some(ts);
    }
    match df.ttls.binary_search_by_key(&net.ttl, |x| x.0) {
        Ok(i) => {
            if let Some(e) = df.ttls.get_mut(i) {
                e.1 = e.1.saturating_add(1);
            }
        }
        Err(i) if df.ttls.len() < MAX_TTLS => {
            if df.ttls.is_empty() {
                df.ttls.reserve_exact(1);
            }
            df.ttls.insert(i, (net.ttl, 1))
        }
        Err(_) => {}
    }
    if net.df {
        df.df_packets += 1;
    }
    let mut cut = 0;
    if cfg.rate_bin > 0 {
        let bin =
            usize::try_from(ts.saturating_sub(first).max(0) / cfg.rate_bin).unwrap_or(usize::MAX);
        if bin < cfg.max_rate_bins {
            if df.rate.len() <= bin {
                let need = bin + 1 - df.rate.len();
                if budget.rate_bins.saturating_add(need) <= cfg.max_rate_bins_total {
                    budget.rate_bins += need;
                    if df.rate.is_empty() {
                        df.rate.reserve_exact(need);
                    }
                    df.rate.resize(bin + 1, 0);
                } else {
                    df.rate_truncated = true;
                    cut = limit::RATE_BINS_TOTAL;
                }
            }
            if let Some(b) = df.rate.get_mut(bin) {
                *b += u64::from(net.ip_len);
            }
        } else {
            df.rate_truncated = true;
            cut = limit::RATE_BINS_PER_FLOW;
        }
    }
    flow.limits |= cut;
}

/// TCP work for one segment: sequence tracking, Zeek state and history, RTT. Returns obs bits.
#[allow(clippy::too_many_arguments)]
fn tcp_packet(
    cfg: &FlowConfig,
    budget: &mut Budget,
    flow: &mut Flow,
    aux: &mut Aux,
    dir: Dir,
    ts: Nanos,
    net: &Net,
    t: &crate::decode::Tcp<'_>,
) -> u8 {
    let Flow {
        tcp,
        history,
        dir: dirs,
        rtt,
        limits,
        ..
    } = flow;
    let Some(st) = tcp.as_mut() else { return 0 };
    let di = dir.idx();
    let (syn, fin, rst, ack) = (
        t.flags & SYN != 0,
        t.flags & FIN != 0,
        t.flags & RST != 0,
        t.flags & ACK != 0,
    );
    let ip_id = net.ip_id.unwrap_or(u32::MAX);
    let sig = Signature {
        ip_id,
        seq: t.seq,
        len: t.seg_len,
        flags: t.flags,
    };
    let dup = ip_id != u32::MAX && aux.last_sig.get(di).copied().flatten() == Some(sig);
    if let Some(s) = aux.last_sig.get_mut(di) {
        *s = Some(sig);
    }
    let seq_len = if rst { 0 } else { t.seg_len }
        .saturating_add(u32::from(syn))
        .saturating_add(u32::from(fin));
    let [c, s] = dirs;
    let (mine, peer) = if di == 0 { (c, s) } else { (s, c) };
    if syn {
        mine.syn_count += 1;
        mine.wscale = t.wscale;
    }
    if fin {
        mine.fin_count += 1;
    }
    if rst {
        mine.rst_count += 1;
    }
    // RST payloads are not stream data, and their sequence numbers are not trusted.
    let bits = if rst {
        0
    } else {
        seq::on_segment(mine, t.seq, seq_len, syn, dup)
    };
    if ack && !rst {
        seq::note_ack_sent(mine, t.ack);
        seq::on_ack(peer, t.ack);
    }
    let captured = u32::try_from(t.payload.len()).map_or(true, |n| n >= t.seg_len);
    let seg = Segment {
        flags: t.flags,
        seq: t.seq,
        ack: t.ack,
        len: t.seg_len,
        window: t.window,
        captured,
    };
    st.on_segment(history, dir, &seg, ts);
    let facts = SegFacts {
        dir,
        ts,
        syn,
        ack_flag: ack,
        rst,
        seq: t.seq,
        ack: t.ack,
        len: t.seg_len,
        end: t.seq.wrapping_add(seq_len),
        resent: bits & (obs::RETRANSMISSION | obs::DUPLICATE | obs::HOLE_FILLED) != 0,
        holes_open: seq::has_holes(mine),
        tsopt: t.timestamps,
    };
    let before = rtt.len();
    let room = cfg.max_rtt_samples_total.saturating_sub(budget.rtt);
    let cap = cfg.max_rtt_samples.min(before.saturating_add(room));
    // A segment completes at most three samples (handshake, data, timestamps): room for
    // them past the cap tells a dropped sample from none.
    st.rtt.on_segment(&facts, rtt, cap.saturating_add(3));
    if rtt.len() > cap {
        rtt.truncate(cap);
        *limits |= if cap >= cfg.max_rtt_samples {
            limit::RTT_PER_FLOW
        } else {
            limit::RTT_TOTAL
        };
    }
    budget.rtt += rtt.len().saturating_sub(before);
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::PSH;
    use crate::decode::{Anomalies, Frag, Icmp, Quoted, Tcp, Udp};
    use std::net::SocketAddr;

    const SEC: Nanos = 1_000_000_000;
    const MS: Nanos = 1_000_000;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn net(src: SocketAddr, dst: SocketAddr, proto: u8, ip_len: u32, ip_id: u32) -> Net {
        Net {
            src: src.ip(),
            dst: dst.ip(),
            ttl: 64,
            ip_id: Some(ip_id),
            df: true,
            ip_len,
            proto,
            frag: None,
        }
    }

    fn decoded(net: Net, l4: L4<'_>) -> Decoded<'_> {
        Decoded {
            net: Some(net),
            l4,
            vlan: 0,
            tunnel: None,
            anomalies: Anomalies::default(),
            error: None,
            arp: None,
        }
    }

    fn tcp<'a>(
        src: &str,
        dst: &str,
        flags: u8,
        seq: u32,
        ack: u32,
        payload: &'a [u8],
        ip_id: u32,
    ) -> Decoded<'a> {
        let (s, d) = (sa(src), sa(dst));
        let len = payload.len() as u32;
        decoded(
            net(s, d, 6, 40 + len, ip_id),
            L4::Tcp(Tcp {
                src_port: s.port(),
                dst_port: d.port(),
                seq,
                ack,
                flags,
                window: 65535,
                mss: None,
                wscale: None,
                sack_permitted: false,
                timestamps: None,
                seg_len: len,
                payload,
            }),
        )
    }

    fn udp<'a>(src: &str, dst: &str, payload: &'a [u8], ip_id: u32) -> Decoded<'a> {
        let (s, d) = (sa(src), sa(dst));
        let len = payload.len() as u32;
        decoded(
            net(s, d, 17, 28 + len, ip_id),
            L4::Udp(Udp {
                src_port: s.port(),
                dst_port: d.port(),
                len,
                payload,
            }),
        )
    }

    fn icmp(src: &str, dst: &str, kind: u8, code: u8, quoted: Option<Quoted>) -> Decoded<'static> {
        let (s, d) = (sa(&format!("{src}:0")), sa(&format!("{dst}:0")));
        decoded(
            net(s, d, 1, 56, 1),
            L4::Icmp(Icmp {
                v6: false,
                kind,
                code,
                quoted,
            }),
        )
    }

    const C: &str = "10.0.0.1:40000";
    const S: &str = "192.0.2.9:443";

    /// A full TCP connection client → server with one request and one response.
    fn connection(t: &mut FlowTable, t0: Nanos) -> Vec<Observed> {
        let req = [1u8; 10];
        let resp = [2u8; 20];
        let pkts = [
            tcp(C, S, SYN, 100, 0, &[], 1),
            tcp(S, C, SYN | ACK, 500, 101, &[], 1),
            tcp(C, S, ACK, 101, 501, &[], 2),
            tcp(C, S, ACK | PSH, 101, 501, &req, 3),
            tcp(S, C, ACK | PSH, 501, 111, &resp, 2),
            tcp(C, S, ACK, 111, 521, &[], 4),
            tcp(C, S, FIN | ACK, 111, 521, &[], 5),
            tcp(S, C, FIN | ACK, 521, 112, &[], 3),
            tcp(C, S, ACK, 112, 522, &[], 6),
        ];
        pkts.iter()
            .enumerate()
            .map(|(i, d)| {
                t.observe(i as u64 + 1, t0 + i as Nanos * 10 * MS, d)
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn tcp_connection_facts() {
        let mut t = FlowTable::new(FlowConfig::default());
        let obs = connection(&mut t, 0);
        assert!(obs[0].new && obs.iter().skip(1).all(|o| !o.new && o.id == 0));
        assert_eq!(obs[1].dir, Dir::S2c);
        let f = &t.flows()[0];
        assert_eq!((f.client, f.server), (sa(C), sa(S)));
        assert_eq!((f.conn_state(), f.history.as_str()), ("SF", "ShADdFf"));
        assert_eq!((f.dir[0].packets, f.dir[1].packets), (6, 3));
        assert_eq!((f.dir[0].payload_bytes, f.dir[1].payload_bytes), (10, 20));
        assert_eq!(f.dir[0].bytes, 6 * 40 + 10);
        assert_eq!((f.dir[0].isn, f.dir[1].isn), (Some(100), Some(500)));
        assert_eq!((f.dir[0].snd_max, f.dir[1].snd_max), (Some(112), Some(522)));
        assert_eq!((f.dir[0].ack_max, f.dir[1].ack_max), (Some(522), Some(112)));
        assert_eq!(
            (f.dir[0].syn_count, f.dir[0].fin_count, f.dir[1].fin_count),
            (1, 1, 1)
        );
        assert_eq!(f.dir[0].payload_prefix, vec![1u8; 10]);
        assert_eq!(f.dir[0].ttls, vec![(64, 6)]);
        assert_eq!(f.dir[0].df_packets, 6);
        assert_eq!(f.packets.len(), 9);
        assert_eq!(f.packets[4].dir, Dir::S2c);
        assert_eq!(f.packets[4].frame, 5);
        // Handshake RTTs (10 ms each way); the request → response is no sample: the response is
        // the server's first data, sent when its application chose to (issue 12).
        let sources: Vec<_> = f.rtt.iter().map(|r| (r.source, r.dir, r.rtt)).collect();
        assert!(
            sources.contains(&("handshake", Dir::C2s, 10 * MS)),
            "{sources:?}"
        );
        assert!(
            sources.contains(&("handshake", Dir::S2c, 10 * MS)),
            "{sources:?}"
        );
        assert!(
            !sources.iter().any(|s| s.0 == "data" && s.1 == Dir::C2s),
            "{sources:?}"
        );
        // Rate series: 100 ms bins, all in bin 0.
        assert_eq!(f.dir[0].rate, vec![250]);
    }

    #[test]
    fn synack_first_flips_roles() {
        let mut t = FlowTable::new(FlowConfig::default());
        let o = t
            .observe(1, 0, &tcp(S, C, SYN | ACK, 500, 101, &[], 1))
            .unwrap();
        assert_eq!(o.dir, Dir::S2c);
        t.observe(2, MS, &tcp(C, S, ACK, 101, 501, &[], 2));
        let f = &t.flows()[0];
        assert_eq!((f.client, f.server), (sa(C), sa(S)));
        assert_eq!(f.history, "^hA");
        assert_eq!(f.dir[0].packets, 1);
    }

    #[test]
    fn midstream_flip_by_server_port() {
        let mut t = FlowTable::new(FlowConfig::default());
        t.observe(1, 0, &tcp(S, C, ACK | PSH, 500, 101, &[1; 5], 1));
        let f = &t.flows()[0];
        assert_eq!((f.client, f.history.as_str()), (sa(C), "^d"));
        // Neither port a server port: the first sender is the client.
        t.observe(
            2,
            0,
            &tcp("10.0.0.5:50000", "10.0.0.6:50001", ACK, 1, 1, &[1], 1),
        );
        assert_eq!(t.flows()[1].client, sa("10.0.0.5:50000"));
        // UDP: a DNS answer seen first.
        t.observe(3, 0, &udp("192.0.2.53:53", "10.0.0.1:3333", &[0; 30], 1));
        let f = &t.flows()[2];
        assert_eq!(
            (f.client, f.conn_state(), f.history.as_str()),
            (sa("10.0.0.1:3333"), "SHR", "^d")
        );
    }

    #[test]
    fn udp_states_and_idle_timeout() {
        let mut t = FlowTable::new(FlowConfig::default());
        t.observe(1, 0, &udp("10.0.0.1:5000", "10.0.0.2:6000", b"x", 1));
        assert_eq!(
            (t.flows()[0].conn_state(), t.flows()[0].history.as_str()),
            ("S0", "D")
        );
        t.observe(2, SEC, &udp("10.0.0.2:6000", "10.0.0.1:5000", b"y", 1));
        assert_eq!(
            (t.flows()[0].conn_state(), t.flows()[0].history.as_str()),
            ("SF", "Dd")
        );
        // 61 s of silence: the next packet starts flow 1.
        let o = t
            .observe(3, 62 * SEC, &udp("10.0.0.2:6000", "10.0.0.1:5000", b"z", 2))
            .unwrap();
        assert_eq!((o.id, o.new, o.dir), (1, true, Dir::C2s));
        assert_eq!(t.timeouts, 1);
        assert_eq!(t.flows()[1].client, sa("10.0.0.2:6000"));
    }

    #[test]
    fn tcp_close_then_new_flow_after_delay_and_port_reuse() {
        let mut t = FlowTable::new(FlowConfig::default());
        connection(&mut t, 0);
        // A late ACK within the close delay still belongs to flow 0.
        let o = t
            .observe(20, 2 * SEC, &tcp(C, S, ACK, 112, 522, &[], 9))
            .unwrap();
        assert_eq!(o.id, 0);
        // After the delay a plain ACK starts a new (partial) flow.
        let o = t
            .observe(21, 10 * SEC, &tcp(C, S, ACK, 112, 522, &[], 10))
            .unwrap();
        assert_eq!((o.id, o.new), (1, true));
        assert_eq!(t.ended_reuse, 1);
        // A SYN with a new ISN on an open connection: port reuse, a new flow at once.
        let o = t
            .observe(22, 11 * SEC, &tcp(C, S, SYN, 9_000, 0, &[], 11))
            .unwrap();
        assert_eq!((o.id, o.new), (2, true));
        // Its retransmission stays.
        let o = t
            .observe(23, 12 * SEC, &tcp(C, S, SYN, 9_000, 0, &[], 12))
            .unwrap();
        assert_eq!((o.id, o.new), (2, false));
        assert_eq!(t.flows()[2].dir[0].retransmissions, 1);
    }

    #[test]
    fn unanswered_attempt_splits_like_zeek() {
        let mut t = FlowTable::new(FlowConfig::default());
        t.observe(1, 0, &tcp(C, S, SYN, 1, 0, &[], 1));
        t.observe(2, SEC, &tcp(C, S, ACK | PSH, 2, 7, &[1; 4], 2));
        let o = t
            .observe(3, 6 * SEC, &tcp(C, S, FIN | ACK, 6, 7, &[], 3))
            .unwrap();
        assert_eq!((o.id, o.new), (1, true));
        assert_eq!(
            (t.flows()[0].conn_state(), t.flows()[0].history.as_str()),
            ("S0", "SD")
        );
        assert_eq!(
            (t.flows()[1].conn_state(), t.flows()[1].history.as_str()),
            ("SH", "F")
        );
        let cfg = FlowConfig {
            tcp_attempt_timeout: 0,
            ..Default::default()
        };
        let mut t = FlowTable::new(cfg);
        t.observe(1, 0, &tcp(C, S, SYN, 1, 0, &[], 1));
        let late = tcp(C, S, ACK | PSH, 2, 7, &[1; 4], 2);
        assert_eq!(
            t.observe(2, 6 * SEC, &late).unwrap().id,
            0,
            "timer disabled"
        );
        // SYN retries (same ISN) stay one flow past the attempt timer: one S0 with retries.
        let mut t = FlowTable::new(FlowConfig::default());
        for (i, at) in [0, 1, 3, 7, 15].into_iter().enumerate() {
            let o = t
                .observe(i as u64, at * SEC, &tcp(C, S, SYN, 1, 0, &[], i as u32))
                .unwrap();
            assert_eq!(o.id, 0);
        }
        let f = &t.flows()[0];
        assert_eq!(
            (f.conn_state(), f.dir[0].syn_count, f.dir[0].retransmissions),
            ("S0", 5, 4)
        );
    }

    /// Issue 13: time that steps back past the idle timeout starts a new flow, as a step
    /// forward does; a small step back stays in the flow, and first_ts ≤ last_ts holds.
    #[test]
    fn issue_13_time_stepping_back_past_idle_splits() {
        let mut t = FlowTable::new(FlowConfig::default());
        let (c, s) = ("10.0.0.1:4000", "10.0.0.2:5000");
        assert_eq!(t.observe(1, 100 * SEC, &udp(c, s, b"a", 1)).unwrap().id, 0);
        assert_eq!(t.observe(2, 90 * SEC, &udp(c, s, b"b", 2)).unwrap().id, 0);
        let o = t.observe(3, 20 * SEC, &udp(c, s, b"c", 3)).unwrap();
        assert_eq!((o.id, o.new), (1, true));
        assert_eq!(t.timeouts, 1);
        for f in t.flows() {
            assert!(f.first_ts <= f.last_ts);
        }
        assert_eq!(
            (t.flows()[0].first_ts, t.flows()[0].last_ts),
            (100 * SEC, 100 * SEC)
        );
    }

    #[test]
    fn flow_cap_counts_untracked_packets() {
        let cfg = FlowConfig {
            max_flows: 1,
            ..Default::default()
        };
        let mut t = FlowTable::new(cfg);
        assert!(t
            .observe(1, 0, &udp("10.0.0.1:1", "10.0.0.2:2", b"a", 1))
            .is_some());
        assert!(t
            .observe(2, 0, &udp("10.0.0.1:1", "10.0.0.3:2", b"a", 2))
            .is_none());
        assert!(t
            .observe(3, 0, &udp("10.0.0.2:2", "10.0.0.1:1", b"a", 3))
            .is_some());
        assert_eq!((t.untracked_packets, t.flows().len()), (1, 1));
    }

    #[test]
    fn icmp_errors_attributed_and_echo_paired() {
        let mut t = FlowTable::new(FlowConfig::default());
        t.observe(1, 0, &udp("10.0.0.1:5000", "10.0.0.2:53", b"q", 1));
        let q = Quoted {
            proto: 17,
            src: sa("10.0.0.1:5000"),
            dst: sa("10.0.0.2:53"),
            ip_id: Some(7),
        };
        let o = t
            .observe(2, MS, &icmp("10.0.0.2", "10.0.0.1", 3, 3, Some(q)))
            .unwrap();
        assert_eq!(o.id, 1, "the ICMP error is also its own flow");
        assert_eq!(
            t.flows()[0].icmp_errors.to_vec(),
            vec![IcmpError {
                frame: 2,
                ts: MS,
                kind: 3,
                code: 3,
                from: "10.0.0.2".parse().unwrap(),
                quoted_ip_id: Some(7),
            }]
        );
        assert_eq!(
            (t.flows()[1].transport, t.flows()[1].conn_state()),
            (Transport::Icmp, "OTH")
        );
        // Echo request and reply: one flow, the requester is the client.
        let a = t
            .observe(3, 0, &icmp("10.0.0.1", "192.0.2.1", 8, 0, None))
            .unwrap();
        let b = t
            .observe(4, 0, &icmp("192.0.2.1", "10.0.0.1", 0, 0, None))
            .unwrap();
        assert_eq!((a.id, a.dir, b.id, b.dir), (2, Dir::C2s, 2, Dir::S2c));
        assert_eq!(
            (t.flows()[2].client, t.flows()[2].server),
            (sa("10.0.0.1:8"), sa("192.0.2.1:0"))
        );
        // A reply seen alone: its sender is the originator, as Zeek logs it.
        t.observe(5, 0, &icmp("192.0.2.7", "10.0.0.1", 0, 0, None));
        assert_eq!(t.flows()[3].client, sa("192.0.2.7:0"));
    }

    #[test]
    fn fragments_follow_their_first_fragment() {
        let mut t = FlowTable::new(FlowConfig::default());
        let mut first = udp("10.0.0.1:5000", "10.0.0.2:6000", &[0; 100], 77);
        if let Some(n) = first.net.as_mut() {
            n.frag = Some(Frag {
                id: 77,
                offset: 0,
                more: true,
            });
        }
        t.observe(1, 0, &first);
        let mut later = decoded(
            net(sa("10.0.0.1:0"), sa("10.0.0.2:0"), 17, 1000, 77),
            L4::Fragment,
        );
        if let Some(n) = later.net.as_mut() {
            n.frag = Some(Frag {
                id: 77,
                offset: 1480,
                more: false,
            });
        }
        let o = t.observe(2, MS, &later).unwrap();
        assert_eq!((o.id, o.dir), (0, Dir::C2s));
        assert_eq!(t.flows()[0].dir[0].packets, 2);
        assert_eq!(t.flows()[0].dir[0].bytes, 128 + 1000);
        if let Some(n) = later.net.as_mut() {
            n.frag = Some(Frag {
                id: 78,
                offset: 1480,
                more: false,
            });
        }
        assert!(t.observe(3, MS, &later).is_none());
        assert_eq!(t.unattributed_fragments, 1);
    }

    #[test]
    fn packet_log_caps() {
        let cfg = FlowConfig {
            max_packets_per_flow: 3,
            max_packets_total: 4,
            ..Default::default()
        };
        let mut t = FlowTable::new(cfg);
        for i in 0..5 {
            t.observe(i, 0, &udp("10.0.0.1:1", "10.0.0.2:2", b"a", i as u32));
        }
        for i in 0..5 {
            t.observe(10 + i, 0, &udp("10.0.0.3:1", "10.0.0.2:2", b"a", i as u32));
        }
        let f = t.flows();
        assert_eq!((f[0].packets.len(), f[0].packets_truncated), (3, true));
        assert_eq!(
            (f[1].packets.len(), f[1].packets_truncated),
            (1, true),
            "global cap"
        );
        assert_eq!(
            f[0].dir[0].packets, 5,
            "counters do not stop at the log cap"
        );
        assert_eq!(f[0].limits, limit::PACKETS_PER_FLOW);
        assert_eq!(f[1].limits, limit::PACKETS_TOTAL);
        let flows = t.into_flows();
        let frames: Vec<u64> = flows[0].packets.iter().map(|p| p.frame).collect();
        assert_eq!(frames, vec![0, 1, 4], "the first packets and the last one");
        assert_eq!((flows[0].log_gap, flows[0].log_dropped), (Some(2), 2));
    }

    /// Issue 13: past the log cap the log keeps the first half and rings over the rest, and
    /// whole-flow counts after a silence come from streaming counters, not the log.
    #[test]
    fn issue_13_log_keeps_first_and_last_and_counts_stream() {
        let cfg = FlowConfig {
            max_packets_per_flow: 10,
            ..Default::default()
        };
        let mut t = FlowTable::new(cfg);
        let (c, s) = ("10.0.0.1:4000", "10.0.0.2:5000");
        let mut frame = 0u64;
        // 100 s: both ways every second until 60 s, then only the client.
        for sec in 0..100i64 {
            frame += 1;
            t.observe(frame, sec * SEC, &udp(c, s, b"c", frame as u32));
            if sec < 60 {
                frame += 1;
                t.observe(frame, sec * SEC + MS, &udp(s, c, b"s", frame as u32));
            }
        }
        let flows = t.into_flows();
        let f = &flows[0];
        assert_eq!((f.dir[0].packets, f.dir[1].packets), (100, 60));
        assert_eq!(f.packets.len(), 10);
        assert_eq!(f.log_gap, Some(5));
        let ts: Vec<Nanos> = f.packets.iter().map(|p| p.ts / SEC).collect();
        assert_eq!(ts, vec![0, 0, 1, 1, 2, 95, 96, 97, 98, 99], "capture order");
        assert_eq!(f.log_dropped, 150);
        assert_eq!(f.dir[0].log_omitted + f.dir[1].log_omitted, 150);
        let stop = f.dir[1].last_ts.unwrap();
        assert_eq!(
            f.sent_after(Dir::C2s, stop),
            (40, true),
            "streaming counter"
        );
        assert_eq!(f.sent_after(Dir::C2s, 96 * SEC), (3, true), "from the tail");
        assert_eq!(
            f.sent_after(Dir::C2s, 0),
            (99, true),
            "head + omitted + tail"
        );
        assert_eq!(
            f.sent_after(Dir::C2s, 30 * SEC),
            (5, false),
            "in the gap: a lower bound"
        );
        assert_eq!(f.contiguous().len(), 5);
    }

    #[test]
    fn issue_10_frame_doubled_on_a_vlan_sub_interface_is_one_packet() {
        let mut t = FlowTable::new(FlowConfig::default());
        let p = [7u8; 100];
        // The parent interface sees the tagged copy, the sub-interface the untagged one.
        let first = tcp(S, C, ACK | PSH, 1, 1, &p, 1);
        let mut tagged = tcp(S, C, ACK | PSH, 1, 1, &p, 1);
        tagged.vlan = 71;
        assert!(t.observe(1, 0, &first).is_some());
        assert!(t.observe(2, MS / 2, &tagged).is_none(), "no ghost flow");
        assert_eq!(t.flows().len(), 1);
        assert_eq!(t.duplicate_frames, 1);
        // Same bytes much later (another packet, e.g. a keep-alive copy): not a duplicate,
        // and VLAN 71 is now known to carry this flow's packets: it joins the flow.
        let mut later = tcp(S, C, ACK | PSH, 1, 1, &p, 1);
        later.vlan = 71;
        assert!(t.observe(3, 20 * MS, &later).is_some());
        assert_eq!(t.flows().len(), 1);
        assert_eq!(t.duplicate_frames, 1);
        // The other direction arrives on the parent first (incoming frames): the tagged copy
        // comes first, joins the flow through the alias, and the untagged copy is dropped.
        let mut back = tcp(C, S, ACK, 1, 101, &[], 9);
        back.vlan = 71;
        let o = t.observe(4, 30 * MS, &back).map(|o| o.id);
        assert_eq!(o, Some(0));
        assert!(t
            .observe(5, 30 * MS + MS / 10, &tcp(C, S, ACK, 1, 101, &[], 9))
            .is_none());
        assert_eq!(t.flows().len(), 1, "no ghost flow either way");
        assert_eq!(t.duplicate_frames, 2);
        assert_eq!(t.flows()[0].dir[0].packets + t.flows()[0].dir[1].packets, 3);
    }

    #[test]
    fn issue_10_frame_doubled_on_a_bridge_and_its_port_is_one_packet() {
        // `tcpdump -i any` on a host whose address sits on a bridge: every packet twice,
        // under the same key, microseconds apart (the lab's dup_frames_any).
        let mut t = FlowTable::new(FlowConfig::default());
        let p = [7u8; 100];
        let us = MS / 1000;
        let pkts = [
            tcp(C, S, SYN, 1000, 0, &[], 1),
            tcp(S, C, SYN | ACK, 5000, 1001, &[], 0),
            tcp(C, S, ACK, 1001, 5001, &[], 2),
            tcp(C, S, ACK | PSH, 1001, 5001, &p, 3),
        ];
        let mut frame = 0;
        for (i, d) in pkts.iter().enumerate() {
            let at = i as Nanos * MS;
            frame += 1;
            assert!(t.observe(frame, at, d).is_some());
            frame += 1;
            assert!(
                t.observe(frame, at + 15 * us, d).is_none(),
                "copy {i} dropped"
            );
        }
        assert_eq!(t.flows().len(), 1);
        assert_eq!(t.duplicate_frames, 4);
        let f = &t.flows()[0];
        assert_eq!((f.dir[0].packets, f.dir[1].packets), (3, 1));
        assert_eq!((f.dir[0].retransmissions, f.dir[0].duplicates), (0, 0));
        // The sequence tracker marks nothing (no copy reached it).
        assert!(f.packets.iter().all(|m| m.obs & obs::DUPLICATE == 0));
    }

    #[test]
    fn issue_10_ipv6_pure_ack_copies_need_the_tight_window() {
        // IPv6 carries no IP ID: a byte-identical pure ACK 1 ms later may be a real duplicate
        // ACK, kept; 20 µs later it is a capture copy, dropped.
        let (c6, s6) = ("[fd00::1]:4000", "[fd00::2]:443");
        let mut t = FlowTable::new(FlowConfig::default());
        let mut ack = tcp(c6, s6, ACK, 1001, 5001, &[], 0);
        if let Some(n) = ack.net.as_mut() {
            n.ip_id = None;
        }
        assert!(t.observe(1, 0, &ack).is_some());
        assert!(t.observe(2, 20_000, &ack).is_none(), "capture copy");
        assert!(t.observe(3, MS, &ack).is_some(), "a real duplicate ACK");
        assert_eq!(t.duplicate_frames, 1);
    }

    #[test]
    fn holes_retransmissions_and_duplicates_marked() {
        let mut t = FlowTable::new(FlowConfig::default());
        let p = [7u8; 100];
        t.observe(1, 0, &tcp(S, C, ACK | PSH, 1, 1, &p, 1));
        t.observe(2, MS, &tcp(S, C, ACK | PSH, 201, 1, &p, 2));
        t.observe(3, 2 * MS, &tcp(S, C, ACK | PSH, 101, 1, &p, 3));
        t.observe(4, 3 * MS, &tcp(S, C, ACK | PSH, 101, 1, &p, 4));
        // The same IP packet again, later than a capture copy would come (a copy within
        // DUP_WINDOW is dropped by the table): marked by the sequence tracker.
        let late = 3 * MS + DUP_WINDOW + MS;
        t.observe(5, late, &tcp(S, C, ACK | PSH, 101, 1, &p, 4));
        assert_eq!(t.duplicate_frames, 0);
        let f = &t.flows()[0];
        let bits: Vec<u8> = f.packets.iter().map(|m| m.obs).collect();
        assert_eq!(
            bits,
            vec![
                0,
                obs::HOLE_OPENED,
                obs::HOLE_FILLED,
                obs::RETRANSMISSION,
                obs::DUPLICATE
            ]
        );
        let d = &f.dir[1];
        assert_eq!(
            (d.holes_opened, d.holes_filled, d.retransmissions),
            (1, 1, 1)
        );
        assert_eq!(
            d.payload_prefix.len(),
            300,
            "retransmitted and duplicate payload not repeated"
        );
    }

    #[test]
    fn ttl_histogram_bounded_and_rate_bins() {
        let mut t = FlowTable::new(FlowConfig::default());
        for i in 0..40u8 {
            let mut d = udp("10.0.0.1:1", "10.0.0.2:2", b"a", u32::from(i));
            if let Some(n) = d.net.as_mut() {
                n.ttl = i;
            }
            t.observe(u64::from(i), Nanos::from(i) * 50 * MS, &d);
        }
        let f = &t.flows()[0];
        assert_eq!(f.dir[0].ttls.len(), 16);
        assert_eq!(
            f.dir[0].rate.len(),
            20,
            "40 packets over 1.95 s in 100 ms bins"
        );
        assert_eq!(f.dir[0].rate.iter().sum::<u64>(), 40 * 29);
        let cfg = FlowConfig {
            max_rate_bins: 3,
            ..Default::default()
        };
        let mut t = FlowTable::new(cfg);
        t.observe(1, 0, &udp("10.0.0.1:1", "10.0.0.2:2", b"a", 1));
        t.observe(2, 10 * SEC, &udp("10.0.0.1:1", "10.0.0.2:2", b"a", 2));
        assert_eq!(t.flows()[0].dir[0].rate, vec![29]);
    }

    #[test]
    fn global_rate_budget() {
        let cfg = FlowConfig {
            max_rate_bins_total: 5,
            ..Default::default()
        };
        let mut t = FlowTable::new(cfg);
        t.observe(1, 0, &udp("10.0.0.1:1", "10.0.0.2:2", b"a", 1));
        t.observe(2, 300 * MS, &udp("10.0.0.1:1", "10.0.0.2:2", b"a", 2));
        t.observe(3, 0, &udp("10.0.0.3:1", "10.0.0.2:2", b"a", 3));
        t.observe(4, 900 * MS, &udp("10.0.0.3:1", "10.0.0.2:2", b"a", 4));
        let f = t.flows();
        assert_eq!(
            (f[0].dir[0].rate.len(), f[0].dir[0].rate_truncated),
            (4, false)
        );
        assert_eq!(
            (f[1].dir[0].rate.len(), f[1].dir[0].rate_truncated),
            (1, true)
        );
        assert_eq!(
            f[1].dir[0].rate,
            vec![29],
            "bins already allocated still count"
        );
    }

    #[test]
    fn no_flow_without_ip_or_transport() {
        let mut t = FlowTable::new(FlowConfig::default());
        let d = Decoded::empty();
        assert!(t.observe(1, 0, &d).is_none());
        let d = decoded(net(sa("10.0.0.1:0"), sa("10.0.0.2:0"), 6, 20, 1), L4::None);
        assert!(t.observe(2, 0, &d).is_none());
        let d = decoded(
            net(sa("10.0.0.1:0"), sa("10.0.0.2:0"), 47, 60, 1),
            L4::Other,
        );
        let o = t.observe(3, 0, &d).unwrap();
        assert_eq!(t.flows()[o.id as usize].transport, Transport::Other(47));
    }

    #[test]
    fn vlan_separates_flows() {
        let mut t = FlowTable::new(FlowConfig::default());
        let a = udp("10.0.0.1:1", "10.0.0.2:2", b"a", 1);
        // Another datagram (not a copy of `a`: that would be a duplicate frame, issue 10).
        let mut b = udp("10.0.0.1:1", "10.0.0.2:2", b"b", 2);
        b.vlan = 10;
        assert_eq!(t.observe(1, 0, &a).unwrap().id, 0);
        assert_eq!(t.observe(2, 0, &b).unwrap().id, 1);
        assert_eq!(t.flows()[1].vlan, 10);
    }

    /// Random packets (flags, sequence numbers, times going backwards, fragments, ICMP errors)
    /// under small caps: nothing panics, every packet is accounted for once, caps hold.
    #[test]
    fn random_packets_keep_invariants() {
        let cfg = FlowConfig {
            max_flows: 40,
            max_packets_per_flow: 30,
            max_packets_total: 500,
            max_rate_bins: 50,
            max_rate_bins_total: 300,
            max_rtt_samples: 5,
            max_rtt_samples_total: 50,
            max_frag_trains: 4,
            payload_prefix: 16,
            ..Default::default()
        };
        let mut t = FlowTable::new(cfg.clone());
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let payload = [0u8; 64];
        let (mut fed, mut ts): (u64, Nanos) = (0, 0);
        for frame in 0..20_000u64 {
            let r = rnd();
            ts = (ts + (r % 3_000) as Nanos * MS - 500 * MS).max(0);
            let a = format!("10.0.0.{}:{}", r % 3, 1000 + (r >> 8) % 3);
            let b = format!(
                "10.0.1.{}:{}",
                (r >> 16) % 2,
                [80u64, 443, 5000][((r >> 20) % 3) as usize]
            );
            let (src, dst) = if r & (1 << 30) != 0 { (a, b) } else { (b, a) };
            let len = ((r >> 32) % 65) as usize;
            let mut d = match (r >> 40) % 8 {
                0..=4 => tcp(
                    &src,
                    &dst,
                    (r >> 44) as u8,
                    (r >> 12) as u32 % 5000,
                    (r >> 24) as u32 % 5000,
                    &payload[..len],
                    (r >> 50) as u32 % 4,
                ),
                5 | 6 => udp(&src, &dst, &payload[..len], (r >> 50) as u32 % 4),
                _ => {
                    let q = Quoted {
                        proto: 6,
                        src: sa(&src),
                        dst: sa(&dst),
                        ip_id: None,
                    };
                    icmp("10.0.1.9", "10.0.0.1", (r >> 44) as u8 % 12, 0, Some(q))
                }
            };
            if (r >> 58) % 16 == 0 {
                if let Some(n) = d.net.as_mut() {
                    let offset = if (r >> 62) & 1 == 0 { 0 } else { 1480 };
                    n.frag = Some(Frag {
                        id: (r >> 4) as u32 % 3,
                        offset,
                        more: offset == 0,
                    });
                    if offset != 0 {
                        d.l4 = L4::Fragment;
                    }
                }
            }
            fed += 1;
            t.observe(frame, ts, &d);
        }
        let counted: u64 = t
            .flows()
            .iter()
            .map(|f| f.dir[0].packets + f.dir[1].packets)
            .sum();
        assert_eq!(
            counted + t.untracked_packets + t.unattributed_fragments + t.duplicate_frames,
            fed
        );
        assert!(t.flows().len() <= cfg.max_flows);
        let kept: usize = t.flows().iter().map(|f| f.packets.len()).sum();
        assert!(kept <= cfg.max_packets_total);
        let bins: usize = t
            .flows()
            .iter()
            .map(|f| f.dir[0].rate.len() + f.dir[1].rate.len())
            .sum();
        assert!(bins <= cfg.max_rate_bins_total);
        let rtts: usize = t.flows().iter().map(|f| f.rtt.len()).sum();
        assert!(rtts <= cfg.max_rtt_samples_total);
        for f in t.flows() {
            assert!(f.packets.len() <= cfg.max_packets_per_flow);
            assert!(f.history.len() <= super::super::tcp::MAX_HISTORY);
            assert!(f.icmp_errors.len() <= cfg.max_icmp_errors);
            for d in &f.dir {
                assert!(d.open_holes.len() <= seq::MAX_HOLES);
                assert!(d.payload_prefix.len() <= cfg.payload_prefix);
                assert!(d.ttls.len() <= MAX_TTLS);
            }
        }
    }
}
