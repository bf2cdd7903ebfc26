//! Shared thresholds and packet-level helpers of the blocking detectors
//! (`rst_injection`, `handshake`, `tls_sni`, `quic`, `udp`, `dns`).
//!
//! Everything here is a pure function of finished flows: TCP sequence arithmetic, the
//! TTL/hop-count fingerprint and the capture-wide facts several detectors use as guards
//! (did the capture see two-way traffic at all?). Each threshold names its source in
//! [`BlockingConfig`]'s field docs and in `docs/findings.md`.

use crate::classify::Service;
use crate::decode::tcp_flags;
use crate::flow::{obs, Dir, Flow, PacketMeta};
use crate::label::LabeledFlow;
use crate::model::Protocol;
use crate::Nanos;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// One second in [`Nanos`].
pub const SEC: Nanos = 1_000_000_000;

/// Thresholds of the blocking detectors. The defaults are the values documented in
/// `docs/findings.md`, each with its source.
#[derive(Clone, Debug)]
pub struct BlockingConfig {
    /// Two RSTs closer than this form a Weaver RST_SEQ_CHANGE / RST_ACK_CHANGE pair
    /// (Weaver, Sommer & Paxson, NDSS 2009, §3: "within a short window"; they use 2 s).
    pub rst_pair_window: Nanos,
    /// A RST whose hop count differs from its sender's usual one by at least this many hops
    /// is a TTL mismatch (Weaver et al. use any difference; 2 tolerates route changes).
    pub ttl_hop_delta: u8,
    /// A RST sent within this time after a ClientHello / HTTP request / first VoIP payload
    /// has trigger context (censors react within milliseconds; 1 s leaves room for queues).
    pub trigger_window: Nanos,
    /// A TCP flow idle at least this long before the packet that drew the RST is treated as a
    /// NAT/firewall state timeout, not injection (RFC 5382 requires ≥ 2 h 4 min, but many
    /// home and carrier NATs time established TCP out after 30 s to 5 min).
    pub nat_idle_timeout: Nanos,
    /// Later connections to a server whose connection was reset by injection, failing within
    /// this time, are in the "penalty box" (the GFW keeps one for about 90 s: Clayton,
    /// Murdoch & Watson, PET 2006; Xu, Mao & Halderman, PAM 2011).
    pub penalty_box: Nanos,
    /// SYNs at least this far apart count as a real retry for `handshake_timeout` (Linux's
    /// first SYN retransmission comes after 1 s, RFC 6298 §2.1).
    pub syn_retry_span: Nanos,
    /// A STUN transaction is unanswered when sent at least this many times… (RFC 8489 §6.2.1:
    /// Rc = 7 sends, RTO 500 ms, so 3 sends take ≥ 1.5 s).
    pub stun_min_sends: u32,
    /// …over at least this long.
    pub stun_min_span: Nanos,
    /// A one-way UDP flow needs this many packets… (a handful of probes is normal ICE work).
    pub udp_one_way_min_packets: u64,
    /// …over at least this long.
    pub udp_one_way_min_span: Nanos,
    /// One direction of RTP silent this long while the other goes on is an `rtp_cut`
    /// (DESIGN §6: 5 s; Opus DTX still sends a frame every 400 ms, G.711 VAD every ≤ 1 s).
    pub rtp_cut_gap: Nanos,
    /// A TCP fallback flow must start within this time of the failed UDP attempt
    /// (ICE gathers TURN/TCP and TURN/TLS candidates in parallel; apps give UDP ~ 10–20 s).
    pub fallback_window: Nanos,
    /// QUIC is blocked when the client sent at least this many Initial-sized datagrams (the
    /// first send and two probe-timeout retransmissions, as for STUN: one retry alone is too
    /// little to call a block)…
    pub quic_min_initials: u32,
    /// …over at least this long (RFC 9002 §6.2.2: first PTO ≈ 3 × 333 ms ≈ 1 s; Chrome
    /// retries after ~300 ms).
    pub quic_min_span: Nanos,
    /// A DNS answer arriving faster than this fraction of the resolver's own answer time
    /// counts as "faster than the resolver" (an on-path injector sits closer than the resolver).
    pub dns_fast_ratio: f64,
}

impl Default for BlockingConfig {
    fn default() -> Self {
        BlockingConfig {
            rst_pair_window: 2 * SEC,
            ttl_hop_delta: 2,
            trigger_window: SEC,
            nat_idle_timeout: 30 * SEC,
            penalty_box: 120 * SEC,
            syn_retry_span: SEC / 2,
            stun_min_sends: 3,
            stun_min_span: 3 * SEC / 2,
            udp_one_way_min_packets: 10,
            udp_one_way_min_span: 3 * SEC,
            rtp_cut_gap: 5 * SEC,
            fallback_window: 30 * SEC,
            quic_min_initials: 3,
            quic_min_span: SEC / 2,
            dns_fast_ratio: 0.5,
        }
    }
}

/// `a < b` in 32-bit sequence space (RFC 1982 style).
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a <= b` in sequence space.
pub fn seq_le(a: u32, b: u32) -> bool {
    a == b || seq_lt(a, b)
}

/// Signed distance `a - b` in sequence space.
pub fn seq_diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

/// True for a packet with all of `flags` set.
pub fn has(p: &PacketMeta, flags: u8) -> bool {
    p.tcp_flags & flags == flags
}

/// True for a RST segment.
pub fn is_rst(p: &PacketMeta) -> bool {
    has(p, tcp_flags::RST)
}

/// True for a frame the flow table marked as an IP-level duplicate (guard: duplicated frames).
pub fn is_dup(p: &PacketMeta) -> bool {
    p.obs & obs::DUPLICATE != 0
}

/// The initial TTL a sender most likely used: the smallest of 32, 64, 128, 255 not below `ttl`.
pub fn initial_ttl(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32,
        33..=64 => 64,
        65..=128 => 128,
        _ => 255,
    }
}

/// Hops travelled: initial TTL class minus the arrival TTL.
pub fn hops(ttl: u8) -> u8 {
    initial_ttl(ttl).saturating_sub(ttl)
}

/// "TTL 62 (2 hops from an initial 64)", for summaries.
pub fn ttl_phrase(ttl: u8) -> String {
    let h = hops(ttl);
    format!(
        "TTL {ttl} ({h} hop{} from an initial {})",
        if h == 1 { "" } else { "s" },
        initial_ttl(ttl)
    )
}

/// How a packet's TTL compares with a reference TTL from the same sender.
/// Returns `Some(reason)` when the initial-TTL class differs or the hop counts differ by
/// at least `delta`.
pub fn ttl_mismatch(ttl: u8, reference: u8, delta: u8) -> Option<&'static str> {
    if initial_ttl(ttl) != initial_ttl(reference) {
        Some("init_ttl_class")
    } else if hops(ttl).abs_diff(hops(reference)) >= delta {
        Some("hop_count")
    } else {
        None
    }
}

/// The most common TTL among `dir`'s non-RST, non-duplicate packets of `flow`.
pub fn ttl_mode_without_rst(flow: &Flow, dir: Dir) -> Option<u8> {
    let mut counts: BTreeMap<u8, u32> = BTreeMap::new();
    for p in flow
        .packets
        .iter()
        .filter(|p| p.dir == dir && !is_rst(p) && !is_dup(p))
    {
        *counts.entry(p.ttl).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(t, c)| (*c, std::cmp::Reverse(*t)))
        .map(|(t, _)| t)
}

/// Capture-wide TTL mode per sender address, from non-RST packets (a server's other flows
/// give a reference when the flow itself holds only the RST).
pub fn ttl_by_host(flows: &[LabeledFlow]) -> BTreeMap<IpAddr, u8> {
    let mut counts: BTreeMap<IpAddr, BTreeMap<u8, u32>> = BTreeMap::new();
    // Counted per flow and direction first (a sender rarely uses more than a couple of TTLs),
    // so the capture-wide map sees one update per (flow, direction, TTL), not per packet.
    let mut c2s: Vec<(u8, u32)> = Vec::new();
    let mut s2c: Vec<(u8, u32)> = Vec::new();
    for f in flows {
        c2s.clear();
        s2c.clear();
        for p in f.packets.iter().filter(|p| !is_rst(p) && !is_dup(p)) {
            let l = match p.dir {
                Dir::C2s => &mut c2s,
                Dir::S2c => &mut s2c,
            };
            match l.iter_mut().find(|(t, _)| *t == p.ttl) {
                Some((_, c)) => *c = c.saturating_add(1),
                None => l.push((p.ttl, 1)),
            }
        }
        for (dir, l) in [(Dir::C2s, &c2s), (Dir::S2c, &s2c)] {
            if l.is_empty() {
                continue;
            }
            let ip = match dir {
                Dir::C2s => f.client.ip(),
                Dir::S2c => f.server.ip(),
            };
            let m = counts.entry(ip).or_default();
            for &(t, c) in l {
                *m.entry(t).or_default() += c;
            }
        }
    }
    counts
        .into_iter()
        .filter_map(|(ip, m)| {
            m.into_iter()
                .max_by_key(|(t, c)| (*c, std::cmp::Reverse(*t)))
                .map(|(t, _)| (ip, t))
        })
        .collect()
}

/// Which flows saw both directions, computed once per capture so that "is there two-way
/// traffic outside these flows?" costs O(|exclude| log n), not a scan of every flow.
#[derive(Clone, Debug, Default)]
pub struct TwoWay {
    ids: std::collections::BTreeSet<u32>,
    /// The return path shows outside IP flows (ARP/ICMP toward the capture host, cooked
    /// incoming frames): see [`super::vantage::link_inbound`].
    link: bool,
}

impl TwoWay {
    pub fn new(flows: &[LabeledFlow]) -> TwoWay {
        TwoWay {
            ids: flows
                .iter()
                .filter(|f| f.dir[0].packets > 0 && f.dir[1].packets > 0)
                .map(|f| f.id)
                .collect(),
            link: false,
        }
    }
    /// The same, with link-layer evidence that the return path was captured.
    pub fn with_link(mut self, link: bool) -> TwoWay {
        self.link = link;
        self
    }
    /// True when the capture shows two-way traffic somewhere (guard against one-sided
    /// captures).
    pub fn any(&self) -> bool {
        self.link || !self.ids.is_empty()
    }
    /// True when some flow other than those in `exclude` saw both directions.
    pub fn elsewhere(&self, exclude: &[u32]) -> bool {
        if self.link {
            return true;
        }
        let excluded: std::collections::BTreeSet<&u32> =
            exclude.iter().filter(|id| self.ids.contains(id)).collect();
        self.ids.len() > excluded.len()
    }
}

/// True when a flow carries call media or call set-up (classification, or STUN/RTP protocols).
pub fn is_call_flow(f: &LabeledFlow) -> bool {
    f.class.service == Service::Call
        || f.class.protocols.iter().any(|p| {
            matches!(
                p,
                Protocol::Rtp | Protocol::Srtp | Protocol::Rtcp | Protocol::Stun | Protocol::Turn
            )
        })
}

/// Seconds with millisecond precision, for evidence.
pub fn ms(ns: Nanos) -> f64 {
    (ns as f64 / 1e6).round()
}

/// A short delay for summaries: "under 0.1 ms", "0.4 ms", "12 ms", "1.5 s".
pub fn delay_phrase(ns: Nanos) -> String {
    let ms = ns as f64 / 1e6;
    if ms < 0.1 {
        "under 0.1 ms".to_string()
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// Seconds rounded to 0.1 s, for summaries.
pub fn s1(ns: Nanos) -> f64 {
    (ns as f64 / 1e8).round() / 10.0
}

/// Frame numbers of packets, sorted and unique, capped at `max`.
pub fn frames<'a>(it: impl Iterator<Item = &'a PacketMeta>, max: usize) -> Vec<u64> {
    let mut v: Vec<u64> = it.map(|p| p.frame).collect();
    v.sort_unstable();
    v.dedup();
    v.truncate(max);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Transport;
    use crate::model::App;
    use crate::testkit::flows::*;

    #[test]
    fn seq_arithmetic_wraps() {
        assert!(seq_lt(0xFFFF_FFF0, 0x10));
        assert!(!seq_lt(0x10, 0xFFFF_FFF0));
        assert_eq!(seq_diff(0x10, 0xFFFF_FFF0), 0x20);
        assert!(seq_le(5, 5));
    }

    #[test]
    fn ttl_classes_and_mismatch() {
        assert_eq!(initial_ttl(57), 64);
        assert_eq!(hops(120), 8);
        assert_eq!(ttl_mismatch(64, 120, 2), Some("init_ttl_class"));
        assert_eq!(ttl_mismatch(60, 57, 2), Some("hop_count"));
        assert_eq!(ttl_mismatch(58, 57, 2), None);
    }

    /// Every blocking detector and the verdict layer on flows with extreme timestamps (pcapng
    /// `if_tsoffset` can push them to either end of i64) and odd packets: no panic, and the
    /// same findings twice.
    #[test]
    fn extreme_timestamps_do_not_panic_and_output_is_deterministic() {
        use crate::decode::tcp_flags::{ACK, PSH, RST, SYN};
        let mut flows = Vec::new();
        for (id, (a, b)) in [
            (0, 5_000_000),
            (i64::MIN, i64::MAX),
            (i64::MAX, i64::MIN),
            (0, i64::MAX),
        ]
        .into_iter()
        .enumerate()
        {
            let id = id as u32;
            let mut t = flow(id * 3, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
            let mut ps = vec![
                pkt(1, 0, Dir::C2s, SYN, 1, 0, 0, 64),
                pkt(2, 0, Dir::S2c, SYN | ACK, 9, 2, 0, 120),
                pkt(3, 0, Dir::C2s, PSH | ACK, 2, 10, 200, 64),
                pkt(4, 0, Dir::S2c, RST | ACK, 10, 202, 0, 60),
                pkt(5, 0, Dir::S2c, PSH | ACK, 10, 202, 100, 120),
                pkt(6, 0, Dir::C2s, SYN, 1, 0, 0, 64),
            ];
            for (i, p) in ps.iter_mut().enumerate() {
                p.m.ts = if i % 2 == 0 { a } else { b };
            }
            push(&mut t, &ps);
            prefix(&mut t, Dir::C2s, &client_hello("x.example"));
            let mut u = flow(id * 3 + 1, Transport::Udp, "10.0.0.2:5000", "192.0.2.53:53");
            let mut us: Vec<P> = (0..12)
                .map(|i| pkt(10 + i, 0, Dir::C2s, 0, 0, 0, 1250, 64))
                .collect();
            us.push(pkt(30, 0, Dir::S2c, 0, 0, 0, 40, 120));
            for (i, p) in us.iter_mut().enumerate() {
                p.m.ts = if i % 3 == 0 { a } else { b };
            }
            push(&mut u, &us);
            prefix(
                &mut u,
                Dir::C2s,
                &[0xC3, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
            );
            u.class.service = crate::classify::Service::Call;
            u.class.app = Some(App::WhatsApp);
            let mut q = u.clone();
            q.id = id * 3 + 2;
            q.server = "192.0.2.9:443".parse().unwrap();
            flows.extend([t, u, q]);
        }
        let config = crate::detect::DetectConfig::default();
        let flows = recorded(&flows);
        let input = crate::detect::Input::new(&flows, &[], &config);
        let a = crate::detect::run_all(&input);
        let b = crate::detect::run_all(&input);
        let show = |v: &[crate::report::Finding]| {
            serde_json::to_string(
                &v.iter()
                    .map(|f| {
                        (
                            f.kind,
                            f.flow,
                            f.summary.clone(),
                            f.evidence.clone(),
                            f.packets.clone(),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap()
        };
        assert_eq!(show(&a), show(&b));
        // The sane variant (flows 0–2) is judged; the extreme ones must just not panic.
        assert!(
            a.iter()
                .any(|f| f.kind == "tcp_reset_injected" && f.flow == Some(0)),
            "{a:?}"
        );
        let v = crate::verdict::judge(&flows, &mut [], &a);
        assert!(!v.is_empty());
    }
}
