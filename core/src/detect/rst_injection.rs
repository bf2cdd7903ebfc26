//! `tcp_reset_injected` / `tcp_reset_suspicious`: TCP resets that did not come from the endpoint.
//!
//! # Heuristic
//! Every RST of a TCP flow is checked against the packets around it (duplicated frames are
//! skipped). The sequence tests are Weaver, Sommer & Paxson, "Detecting Forged TCP Reset
//! Packets" (NDSS 2009), adapted to one capture point:
//! - `RST_SEQ_CHANGE`: two RSTs from one side within `rst_pair_window` (2 s) whose sequence
//!   numbers differ, the later one beyond both what that side ever sent and what its peer
//!   ACKed (injectors spray RSTs across the window; a stack repeats `snd_nxt`).
//! - `RST_ACK_CHANGE`: two RSTs from one side within 2 s with different ACK numbers while the
//!   peer sent no new data in between.
//! - `RST_SEQ_DATA`: after the RST the same side sends data at or past the RST's sequence
//!   number — the real endpoint never reset (it cannot send past its own RST).
//! - `SYNACK_AFTER_RST`: the server answers the client's SYN with a SYN-ACK after a RST for
//!   that same SYN (Zeek's `rst-inject-rae` trace): the RST raced the real answer.
//! - `DATA_SEQ_RST`: the RST's sequence number is below what the peer already ACKed.
//!
//! `RST_SEQ_DATA` and `SYNACK_AFTER_RST` are conclusive (a race); the rest are fingerprints,
//! grouped in independent families ([`FAMILIES`]). `tcp_reset_injected` needs one conclusive
//! test or two families, and the summary says which (`evidence.basis`); one family alone is
//! `tcp_reset_suspicious`. Further fingerprints (issue 10): `SEQ_PAST_SENT`, `ACK_UNSENT`,
//! `IP_ID_COPY`, `IP_ID_BREAK`, `RST_WINDOW` (see their constants and `docs/findings.md`).
//! A RST the capture host sent ([`Vantage::sent_by_host`]) is never judged. Fingerprints:
//! - `TTL_MISMATCH`: the RST's TTL implies another initial TTL (32/64/128/255) or differs by
//!   ≥ `ttl_hop_delta` (2) hops from the sender's usual TTL (its other packets in the flow,
//!   else in the whole capture). A middlebox is rarely as far away as the server.
//! - `FAST_RST`: a server-side RST arrives sooner after the client packet it answers than
//!   half the handshake RTT, and no earlier client packet was in flight it could answer:
//!   it came from something closer than the server.
//! - trigger context (not a test, it raises confidence): the RST comes ≤ `trigger_window`
//!   (1 s) after the peer's first payload and that payload was a TLS ClientHello, an HTTP
//!   request or VoIP (STUN/RTP/SIP): what a censor matches on.
//!
//! A trigger raises the confidence of a `tcp_reset_suspicious` (severity `info`), never
//! its severity. Evidence carries the fingerprint: TTL and hops,
//! IP ID, DF, window, seq/ack offsets against the sender's and peer's state.
//!
//! After an injected reset, later connections to the same server within `penalty_box`
//! (120 s) that are reset again carry `penalty_box` evidence (the GFW's ~90 s residual block:
//! Clayton, Murdoch & Watson, PET 2006).
//!
//! # Guards (no finding)
//! - RST after a FIN from the same side (ordinary abortive close of a half-closed socket).
//! - NAT/firewall idle timeouts: the RST follows ≥ `nat_idle_timeout` (30 s) of silence.
//! - The capturing host's own resets: a client-side RST whose TTL matches the client's.
//! - Reordering: the sequence tests compare with the highest sequence sent, so late older
//!   segments never fire `RST_SEQ_DATA`; duplicated frames are ignored.
//!
//! # Known false positives
//! Load balancers and TCP proxies that reset on a server's behalf from another box (another
//! TTL); stacks that keep sending after a RST (rare, Weaver et al. §4); route changes of
//! ≥ 2 hops exactly at the RST.

use super::blocking::{
    self, has, is_call_flow, is_dup, is_rst, ms, seq_diff, seq_le, seq_lt, ttl_mismatch,
    ttl_mode_without_rst, BlockingConfig,
};
use super::vantage::Vantage;
use super::{Detector, Input};
use crate::decode::tcp_flags;
use crate::flow::{Dir, PacketMeta, PerDir, Transport};
use crate::label::LabeledFlow;
use crate::model::{FindingKind, Severity};
use crate::report::evidence::{PenaltyBox, PenaltyBoxResetEvidence, RstEvidence, RstPacket};
use crate::report::Finding;
use crate::tx::TlsKind;
use crate::{secs, Nanos};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The detector (emits `tcp_reset_injected` and `tcp_reset_suspicious`).
pub struct RstInjection;

/// The outcome for one flow.
#[derive(Clone, Debug)]
pub struct RstVerdict {
    pub injected: bool,
    /// "conclusive", "two_fingerprints" or "one_fingerprint" (see the module docs).
    pub basis: &'static str,
    /// Fingerprint families that fired.
    pub families: Vec<&'static str>,
    pub tests: Vec<&'static str>,
    pub trigger: Option<&'static str>,
    /// Time of the first RST judged.
    pub ts: Nanos,
    pub frames: Vec<u64>,
    pub evidence: RstEvidence,
    pub summary_reason: String,
    /// The TTL and hop count of the RST vs the sender's reference, when known.
    pub ttl: Option<(u8, u8)>,
}

impl Detector for RstInjection {
    fn name(&self) -> &'static str {
        "tcp_reset_injected"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let cfg = &input.config.blocking;
        // The shared judgements (also read by `handshake`), in flow order.
        let judged: Vec<(&LabeledFlow, &RstVerdict)> = input
            .flows
            .iter()
            .zip(input.facts().rst_verdicts())
            .filter_map(|(f, v)| v.as_deref().map(|v| (f, v)))
            .collect();
        let boxes = penalty_boxes(input.flows, cfg, &judged);
        for (f, v) in &judged {
            let mut evidence = v.evidence.clone();
            if let Some((src, delay)) = boxes.get(&f.id) {
                evidence.penalty_box = Some(PenaltyBox {
                    after_flow: *src,
                    after_s: ms(*delay) / 1000.0,
                });
            }
            let dest = dest(f);
            let (kind, severity, confidence, summary) = if v.injected {
                let (conf, why) = if v.basis == "conclusive" {
                    (
                        0.9,
                        "conclusive: the real endpoint carried on after it".to_string(),
                    )
                } else {
                    (
                        if v.families.len() >= 3 { 0.9 } else { 0.8 },
                        format!(
                            "{} independent fingerprints: {}",
                            v.families.len(),
                            v.families.join(", ")
                        ),
                    )
                };
                (
                    FindingKind::TcpResetInjected,
                    Severity::Blocked,
                    conf,
                    format!(
                        "Connection to {dest} was cut by a forged TCP reset ({why}): {} (tests: {}).",
                        v.summary_reason,
                        v.tests.join(", ")
                    ),
                )
            } else {
                let conf = if v.trigger.is_some() || boxes.contains_key(&f.id) {
                    0.6
                } else {
                    0.4
                };
                (
                    FindingKind::TcpResetSuspicious,
                    Severity::Info,
                    conf,
                    format!(
                        "Connection to {dest} was reset by a packet that may not come from the server (one fingerprint, not enough to call it forged): {} (tests: {}).",
                        v.summary_reason,
                        v.tests.join(", ")
                    ),
                )
            };
            out.push(Finding {
                filter: None,
                kind,
                flow: Some(f.id),
                ts: secs(v.ts),
                severity,
                confidence,
                summary,
                evidence: evidence.into(),
                packets: v.frames.clone(),
            });
        }
        // Later reset connections to a boxed server that no test flagged on their own.
        let by_id: BTreeMap<u32, &LabeledFlow> = input.flows.iter().map(|f| (f.id, f)).collect();
        let judged_ids: std::collections::BTreeSet<u32> =
            judged.iter().map(|(f, _)| f.id).collect();
        for (id, (src, delay)) in &boxes {
            if judged_ids.contains(id) {
                continue;
            }
            let Some(f) = by_id.get(id) else {
                continue;
            };
            let rsts: Vec<&PacketMeta> = f
                .packets
                .iter()
                .filter(|p| is_rst(p) && p.dir == Dir::S2c && !is_dup(p))
                .collect();
            let Some(first) = rsts.first() else { continue };
            out.push(Finding {
                filter: None,
                kind: FindingKind::TcpResetSuspicious,
                flow: Some(f.id),
                ts: secs(first.ts),
                severity: Severity::Info,
                confidence: 0.5,
                summary: format!(
                    "Connection to {} was reset {:.0} s after a forged reset on flow {src} to the same server (a residual \"penalty box\").",
                    dest(f),
                    ms(*delay) / 1000.0
                ),
                evidence: PenaltyBoxResetEvidence {
                    penalty_box: PenaltyBox {
                        after_flow: *src,
                        after_s: ms(*delay) / 1000.0,
                    },
                    rst_frames: rsts.iter().map(|p| p.frame).collect(),
                    tests: vec!["PENALTY_BOX"],
                }
                .into(),
                packets: blocking::frames(rsts.into_iter(), 32),
            });
        }
    }
}

/// Server address plus SNI when known, for summaries.
fn dest(f: &LabeledFlow) -> String {
    match &f.class.sni {
        Some(s) => format!("{} ({s})", f.server),
        None => f.server.to_string(),
    }
}

/// Flows (by id) that fall in the penalty box of an earlier injected reset: id → (earlier flow, delay).
fn penalty_boxes(
    flows: &[LabeledFlow],
    cfg: &BlockingConfig,
    judged: &[(&LabeledFlow, &RstVerdict)],
) -> BTreeMap<u32, (u32, Nanos)> {
    let mut out = BTreeMap::new();
    let mut injected: BTreeMap<IpAddr, Vec<(Nanos, u32)>> = BTreeMap::new();
    for (f, v) in judged.iter().filter(|(_, v)| v.injected) {
        injected
            .entry(f.server.ip())
            .or_default()
            .push((v.ts, f.id));
    }
    for f in flows.iter().filter(|f| f.transport == Transport::Tcp) {
        let failed = f.dir[1].payload_bytes == 0
            && f.dir[1].rst_count > 0
            && f.packets.iter().any(|p| p.dir == Dir::S2c && is_rst(p));
        if !failed || injected.is_empty() {
            continue;
        }
        let Some(earlier) = injected.get(&f.server.ip()) else {
            continue;
        };
        if let Some((ts, src)) = earlier
            .iter()
            .filter(|(ts, src)| {
                *src != f.id
                    && f.first_ts > *ts
                    && f.first_ts.saturating_sub(*ts) <= cfg.penalty_box
            })
            .min_by_key(|(ts, _)| f.first_ts.saturating_sub(*ts))
        {
            out.insert(f.id, (*src, f.first_ts.saturating_sub(*ts)));
        }
    }
    out
}

/// Per-RST state snapshot taken while walking the flow.
#[derive(Clone, Copy, Debug)]
struct RstSnap {
    idx: usize,
    p: PacketMeta,
    snd_max: Option<u32>,
    peer_snd_max: Option<u32>,
    peer_ack_max: Option<u32>,
}

/// Walk state of one direction.
#[derive(Clone, Copy, Debug, Default)]
struct DirWalk {
    snd_max: Option<u32>,
    ack_max: Option<u32>,
    fin: bool,
}

fn seq_end(p: &PacketMeta) -> u32 {
    let mut len = p.payload_len;
    if has(p, tcp_flags::SYN) {
        len = len.wrapping_add(1);
    }
    if has(p, tcp_flags::FIN) {
        len = len.wrapping_add(1);
    }
    p.seq.wrapping_add(len)
}

fn max_seq(a: Option<u32>, b: u32) -> Option<u32> {
    Some(match a {
        Some(a) if seq_lt(b, a) => a,
        _ => b,
    })
}

/// The first payload type of a direction: its recorded TLS/HTTP opening, else call traffic
/// (the flow's labels, or a SIP request line at the start of the prefix).
fn payload_kind(f: &LabeledFlow, dir: Dir) -> Option<&'static str> {
    let p: &[u8] = f.dir.get(dir.idx()).map_or(&[], |d| &d.payload_prefix);
    let tx = &f.class.tx;
    if tx
        .tls_opening(dir)
        .is_some_and(|t| t.kind == TlsKind::ClientHello)
    {
        Some("tls_client_hello")
    } else if tx.http_opening(dir).is_some_and(|h| h.method.is_some()) {
        Some("http_request")
    } else if is_call_flow(f) || p.starts_with(b"INVITE ") || p.starts_with(b"REGISTER ") {
        Some("voip_payload")
    } else {
        None
    }
}

/// Judges the RSTs of one TCP flow. None when the flow has no RST or a guard applies.
/// `hosts` is the capture's [`blocking::ttl_by_host`]. Run once per flow for the whole
/// analysis by [`super::facts::Facts::rst_verdicts`], which every reader uses.
pub fn judge_flow(
    f: &LabeledFlow,
    cfg: &BlockingConfig,
    hosts: &BTreeMap<IpAddr, u8>,
    vantage: &Vantage,
) -> Option<RstVerdict> {
    if !f.packets.iter().any(is_rst) {
        return None;
    }
    let pk: Vec<&PacketMeta> = f.packets.iter().filter(|p| !is_dup(p)).collect();
    let sender_ip = |d: Dir| {
        if d == Dir::C2s {
            f.client.ip()
        } else {
            f.server.ip()
        }
    };
    // Each direction's usual TTL: its own non-RST packets, else the sender's elsewhere —
    // also when its own packets split evenly between two foreign TTLs (a forged SYN-ACK
    // beside the real one: which is the sender's cannot be told from this flow).
    let reference = |d: Dir| {
        let own = ttl_mode_without_rst(f, d).filter(|_| !even_split(f, d, cfg));
        own.or_else(|| hosts.get(&sender_ip(d)).copied())
            .or_else(|| ttl_mode_without_rst(f, d))
    };
    let refs = [reference(Dir::C2s), reference(Dir::S2c)];
    let foreign = |p: &PacketMeta| {
        refs.get(p.dir.idx())
            .copied()
            .flatten()
            .is_some_and(|r| ttl_mismatch(p.ttl, r, cfg.ttl_hop_delta).is_some())
    };
    let mut walk: PerDir<DirWalk> = PerDir::default();
    let mut reset: PerDir<bool> = PerDir::default();
    let mut snaps: Vec<RstSnap> = Vec::new();
    let mut guards: Vec<&'static str> = Vec::new();
    let guard = |g: &'static str, guards: &mut Vec<&'static str>| {
        if !guards.contains(&g) {
            guards.push(g);
        }
    };
    let mut prev_ts: Option<Nanos> = None;
    let mut prev_gap: Nanos = 0;
    for (idx, p) in pk.iter().enumerate() {
        let d = p.dir;
        let o = p.dir.rev();
        let gap = prev_ts.map_or(0, |t| p.ts.saturating_sub(t));
        if is_rst(p) {
            if vantage.sent_by_host(sender_ip(p.dir), p.ttl) {
                // What the capture host sent left this machine untouched: never forged.
                guard("sent_by_capture_host", &mut guards);
            } else if walk[d].fin {
                guard("rst_after_fin", &mut guards);
            } else if reset[o] {
                // The peer already reset the connection: this reset cuts nothing.
                guard("rst_after_reset", &mut guards);
            } else if gap >= cfg.nat_idle_timeout || prev_gap >= cfg.nat_idle_timeout {
                guard("nat_idle_timeout", &mut guards);
            } else if snaps.len() < 64 {
                snaps.push(RstSnap {
                    idx,
                    p: **p,
                    snd_max: walk[d].snd_max,
                    peer_snd_max: walk[o].snd_max,
                    peer_ack_max: walk[o].ack_max,
                });
            }
            reset[d] = true;
        } else {
            walk[d].snd_max = max_seq(walk[d].snd_max, seq_end(p));
            if has(p, tcp_flags::ACK) {
                walk[d].ack_max = max_seq(walk[d].ack_max, p.ack);
            }
            // A FIN with a foreign fingerprint is not the endpoint closing: it does not
            // excuse the reset after it.
            if has(p, tcp_flags::FIN) && !foreign(p) {
                walk[d].fin = true;
            }
        }
        prev_gap = gap;
        prev_ts = Some(p.ts);
    }
    let first = *snaps.first()?;
    let mut tests: Vec<&'static str> = Vec::new();
    let mut contradicting: Vec<u64> = Vec::new();
    let add = |t: &'static str, tests: &mut Vec<&'static str>| {
        if !tests.contains(&t) {
            tests.push(t);
        }
    };

    // Pair tests.
    for (i, b) in snaps.iter().enumerate() {
        for a in snaps.iter().take(i) {
            if a.p.dir != b.p.dir || b.p.ts.saturating_sub(a.p.ts) > cfg.rst_pair_window {
                continue;
            }
            let beyond = [b.snd_max, b.peer_ack_max]
                .iter()
                .flatten()
                .all(|m| seq_lt(*m, b.p.seq))
                && (b.snd_max.is_some() || b.peer_ack_max.is_some());
            if a.p.seq != b.p.seq && beyond {
                add("RST_SEQ_CHANGE", &mut tests);
            }
            if has(&a.p, tcp_flags::ACK)
                && has(&b.p, tcp_flags::ACK)
                && a.p.ack != b.p.ack
                && a.peer_snd_max == b.peer_snd_max
            {
                add("RST_ACK_CHANGE", &mut tests);
            }
        }
    }
    for s in &snaps {
        // RST_SEQ_DATA / SYNACK_AFTER_RST: the sender carries on after its "reset".
        let client_isns: Vec<u32> = pk
            .iter()
            .take(s.idx)
            .filter(|p| p.dir == Dir::C2s && has(p, tcp_flags::SYN) && !has(p, tcp_flags::ACK))
            .map(|p| p.seq)
            .collect();
        // The reset answered the SYN itself (no SYN-ACK before it, the client's last packet
        // a SYN): only then can a later SYN-ACK show a race. A server resetting an
        // unacceptable ACK and retransmitting its SYN-ACK (RFC 9293 §3.10.7.3, SYN proxies)
        // is genuine.
        let before = pk.get(..s.idx).unwrap_or(&[]);
        let answered_syn = !before
            .iter()
            .any(|p| p.dir == Dir::S2c && has(p, tcp_flags::SYN | tcp_flags::ACK))
            && before
                .iter()
                .rev()
                .find(|p| p.dir == Dir::C2s)
                .is_some_and(|p| has(p, tcp_flags::SYN) && !has(p, tcp_flags::ACK));
        for p in pk.iter().skip(s.idx + 1).take(4096) {
            if p.dir == Dir::C2s
                && has(p, tcp_flags::SYN)
                && !has(p, tcp_flags::ACK)
                && !client_isns.contains(&p.seq)
            {
                break; // a new connection on the same ports
            }
            if p.dir != s.p.dir || is_rst(p) {
                continue;
            }
            if p.payload_len > 0 && seq_le(s.p.seq, p.seq) && !has(p, tcp_flags::SYN) {
                add("RST_SEQ_DATA", &mut tests);
                contradicting.push(p.frame);
                break;
            }
            if s.p.dir == Dir::S2c
                && answered_syn
                && has(p, tcp_flags::SYN | tcp_flags::ACK)
                && client_isns.iter().any(|isn| isn.wrapping_add(1) == p.ack)
            {
                add("SYNACK_AFTER_RST", &mut tests);
                contradicting.push(p.frame);
                break;
            }
        }
        if let Some(acked) = s.peer_ack_max {
            if seq_lt(s.p.seq, acked) && s.snd_max.is_some() {
                add("DATA_SEQ_RST", &mut tests);
            }
        }
    }
    // Fingerprints of the packets themselves, against the sender's other packets.
    for (i, s) in snaps.iter().enumerate() {
        let rst_ack = has(&s.p, tcp_flags::ACK);
        // BSD/macOS stacks put the socket's current receive window in a RST/ACK: the same
        // window as the sender's last segment. Any other non-zero window is foreign.
        let last_window = pk
            .get(..s.idx)
            .unwrap_or(&[])
            .iter()
            .rev()
            .find(|p| p.dir == s.p.dir && !is_rst(p))
            .map(|p| p.window);
        if rst_ack && s.p.window != 0 && last_window != Some(s.p.window) {
            add("RST_WINDOW", &mut tests);
        }
        if let Some(sent) = s.peer_snd_max {
            if rst_ack && seq_lt(sent, s.p.ack) {
                add("ACK_UNSENT", &mut tests);
            }
        }
        let past = |m: Option<u32>| m.is_none_or(|m| seq_lt(m, s.p.seq));
        if s.snd_max.is_some() && past(s.snd_max) && past(s.peer_ack_max) {
            add("SEQ_PAST_SENT", &mut tests);
        }
        // Only the reset that cut the connection: a stack answers later segments of a
        // connection it already reset from its control socket, with another ID counter.
        if i == 0 && ip_id_break(&pk, s) {
            add("IP_ID_BREAK", &mut tests);
        }
    }
    for (i, b) in snaps.iter().enumerate() {
        if snaps.iter().take(i).any(|a| {
            a.p.dir == b.p.dir && a.p.ip_id == b.p.ip_id && a.p.ip_id != u32::MAX && a.p.ip_id != 0
        }) {
            add("IP_ID_COPY", &mut tests);
        }
    }

    // Fingerprint: TTL against the same sender's other packets, per direction.
    let mut ttl_pair = None;
    let mut ttl_reason = None;
    let first_ref = refs.get(first.p.dir.idx()).copied().flatten();
    if let Some(r) = first_ref {
        ttl_pair = Some((first.p.ttl, r));
    }
    if let Some((why, t, r)) = snaps.iter().find_map(|s| {
        let r = refs.get(s.p.dir.idx()).copied().flatten()?;
        ttl_mismatch(s.p.ttl, r, cfg.ttl_hop_delta).map(|w| (w, s.p.ttl, r))
    }) {
        ttl_reason = Some(why);
        ttl_pair = Some((t, r));
        add("TTL_MISMATCH", &mut tests);
    }
    let reference = first_ref;

    // Handshake RTT (client SYN → server SYN-ACK) and the RST's response time.
    let synack = pk
        .iter()
        .position(|p| p.dir == Dir::S2c && has(p, tcp_flags::SYN | tcp_flags::ACK));
    let rtt = synack.and_then(|i| {
        let sa = pk.get(i)?;
        let syn = pk
            .iter()
            .take(i)
            .rev()
            .find(|p| p.dir == Dir::C2s && has(p, tcp_flags::SYN))?;
        Some(sa.ts.saturating_sub(syn.ts))
    });
    let mut response = None;
    if first.p.dir == Dir::S2c {
        // Client packets that draw an answer (data, SYN or FIN; not bare ACKs).
        let before: Vec<&&PacketMeta> = pk
            .iter()
            .take(first.idx)
            .filter(|p| {
                p.dir == Dir::C2s
                    && (p.payload_len > 0 || has(p, tcp_flags::SYN) || has(p, tcp_flags::FIN))
            })
            .collect();
        if let Some(trig) = before.last() {
            let resp = first.p.ts.saturating_sub(trig.ts);
            response = Some((resp, trig.frame));
            let earlier_in_flight = before.len() >= 2
                && before
                    .get(before.len() - 2)
                    .is_some_and(|q| rtt.is_some_and(|r| first.p.ts.saturating_sub(q.ts) < r));
            if let Some(r) = rtt {
                if r >= 1_000_000 && resp.saturating_mul(2) < r && !earlier_in_flight {
                    add("FAST_RST", &mut tests);
                }
            }
        }
    }

    // Trigger context: the peer's first payload, shortly before the RST.
    let peer = first.p.dir.rev();
    let first_data = pk
        .iter()
        .take(first.idx)
        .find(|p| p.dir == peer && p.payload_len > 0);
    let trigger = first_data
        .filter(|p| first.p.ts.saturating_sub(p.ts) <= cfg.trigger_window)
        .and_then(|p| payload_kind(f, peer).map(|k| (k, p.frame, first.p.ts.saturating_sub(p.ts))));

    if tests.is_empty() {
        return None;
    }
    let conclusive = tests.iter().any(|t| CONCLUSIVE.contains(t));
    let families: Vec<&'static str> = FAMILIES
        .iter()
        .filter(|(_, members)| members.iter().any(|m| tests.contains(m)))
        .map(|(name, _)| *name)
        .collect();
    let basis = if conclusive {
        "conclusive"
    } else if families.len() >= 2 {
        "two_fingerprints"
    } else {
        "one_fingerprint"
    };
    let injected = basis != "one_fingerprint";

    // Sender's own fingerprint, nearest non-RST packet.
    let sender_pk: Vec<&&PacketMeta> = pk
        .iter()
        .filter(|p| p.dir == first.p.dir && !is_rst(p))
        .collect();
    let near = sender_pk
        .iter()
        .min_by_key(|p| p.ts.abs_diff(first.p.ts))
        .copied();
    let rst_list: Vec<RstPacket> = snaps
        .iter()
        .take(16)
        .map(|s| RstPacket {
            ack: s.p.ack,
            ack_offset: s.peer_snd_max.map(|m| seq_diff(s.p.ack, m)),
            df: s.p.df,
            dir: dir_str(s.p.dir),
            flags: s.p.tcp_flags,
            frame: s.p.frame,
            hops: blocking::hops(s.p.ttl),
            ip_id: (s.p.ip_id != u32::MAX).then_some(s.p.ip_id),
            seq: s.p.seq,
            seq_offset: s.snd_max.map(|m| seq_diff(s.p.seq, m)),
            seq_vs_peer_ack: s.peer_ack_max.map(|m| seq_diff(s.p.seq, m)),
            ts: secs(s.p.ts),
            ttl: s.p.ttl,
            window: s.p.window,
        })
        .collect();
    // The sender's resets (the peer's own answering resets are in `rsts`, not in the frames).
    let mut frames: Vec<u64> = snaps
        .iter()
        .filter(|s| s.p.dir == first.p.dir)
        .map(|s| s.p.frame)
        .collect();
    frames.extend(contradicting.iter().copied());
    if let Some((_, fr, _)) = trigger {
        frames.push(fr);
    }
    frames.sort_unstable();
    frames.dedup();
    frames.truncate(64);

    let mut reasons: Vec<String> = Vec::new();
    if let (Some((t, r)), Some(_)) = (ttl_pair, ttl_reason) {
        reasons.push(format!(
            "it arrived with {} where the sender's packets arrive with {}",
            blocking::ttl_phrase(t),
            blocking::ttl_phrase(r)
        ));
    }
    if tests.contains(&"FAST_RST") {
        if let (Some((resp, _)), Some(r)) = (response, rtt) {
            reasons.push(format!(
                "it came {:.1} ms after the client's packet, faster than half the {:.1} ms round trip",
                resp as f64 / 1e6,
                r as f64 / 1e6
            ));
        }
    }
    if tests.contains(&"RST_SEQ_DATA") || tests.contains(&"SYNACK_AFTER_RST") {
        reasons.push("the real endpoint kept sending after it".into());
    }
    if tests.contains(&"RST_SEQ_CHANGE") || tests.contains(&"RST_ACK_CHANGE") {
        reasons.push("several resets with jumping sequence numbers arrived together".into());
    }
    if tests.contains(&"DATA_SEQ_RST") {
        reasons.push("its sequence number was already acknowledged".into());
    }
    if tests.contains(&"SEQ_PAST_SENT") && !tests.contains(&"RST_SEQ_CHANGE") {
        reasons.push("its sequence number is past anything the sender had sent".into());
    }
    if tests.contains(&"ACK_UNSENT") {
        reasons.push("it acknowledged data the other side never sent".into());
    }
    if tests.contains(&"IP_ID_COPY") {
        reasons.push("several resets shared one IP ID".into());
    }
    if tests.contains(&"IP_ID_BREAK") {
        reasons.push("its IP ID breaks the sender's IP ID sequence".into());
    }
    if tests.contains(&"RST_WINDOW") {
        reasons.push(format!(
            "it carried a receive window ({}) where stacks send 0",
            first.p.window
        ));
    }
    if let Some((k, _, delay)) = trigger {
        let what = match k {
            "tls_client_hello" => "the TLS ClientHello",
            "http_request" => "the HTTP request",
            _ => "the first call packet",
        };
        reasons.push(format!("{} after {what}", blocking::delay_phrase(delay)));
    }
    let evidence = RstEvidence {
        basis,
        contradicting_frames: contradicting.clone(),
        fingerprint_families: families.clone(),
        guards_applied: guards,
        handshake_rtt_ms: rtt.map(|r| r as f64 / 1e6),
        penalty_box: None,
        rst_frames: snaps.iter().map(|s| s.p.frame).collect(),
        rst_response_ms: response.map(|(r, _)| r as f64 / 1e6),
        rsts: rst_list,
        sender: dir_str(first.p.dir),
        sender_df: near.map(|p| p.df),
        sender_hops: reference.map(blocking::hops),
        sender_ip_id_near: near.and_then(|p| (p.ip_id != u32::MAX).then_some(p.ip_id)),
        sender_ttl: reference,
        sender_window: near.map(|p| p.window),
        sni: f.class.sni.clone(),
        tests: tests.clone(),
        trigger: trigger.map(|(k, _, _)| k),
        trigger_delay_ms: trigger.map(|(_, _, d)| d as f64 / 1e6),
        trigger_frame: trigger.map(|(_, fr, _)| fr),
        ttl_reason,
    };
    Some(RstVerdict {
        injected,
        basis,
        families,
        tests,
        trigger: trigger.map(|(k, _, _)| k),
        ts: first.p.ts,
        frames,
        evidence,
        summary_reason: if reasons.is_empty() {
            "its fingerprint differs from the server's".into()
        } else {
            reasons.join("; ")
        },
        ttl: ttl_pair,
    })
}

/// True when `dir`'s non-RST packets split evenly between their two most common TTLs and
/// those TTLs mismatch (another initial TTL or ≥ `ttl_hop_delta` hops apart).
fn even_split(f: &LabeledFlow, dir: Dir, cfg: &BlockingConfig) -> bool {
    let mut counts: BTreeMap<u8, u32> = BTreeMap::new();
    for p in f
        .packets
        .iter()
        .filter(|p| p.dir == dir && !is_rst(p) && !is_dup(p))
    {
        *counts.entry(p.ttl).or_default() += 1;
    }
    let mut v: Vec<(u32, u8)> = counts.into_iter().map(|(t, c)| (c, t)).collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    match v.as_slice() {
        [(c1, t1), (c2, t2), ..] => c1 == c2 && ttl_mismatch(*t1, *t2, cfg.ttl_hop_delta).is_some(),
        _ => false,
    }
}

/// Race tests: the real endpoint's data or handshake continued after the reset. One is
/// conclusive on its own.
const CONCLUSIVE: &[&str] = &["RST_SEQ_DATA", "SYNACK_AFTER_RST"];

/// Fingerprint tests grouped by what they measure: two tests of one family are one piece of
/// evidence (a spray both jumps its seq and passes `snd_max`), two families are independent.
const FAMILIES: &[(&str, &[&str])] = &[
    ("ack", &["RST_ACK_CHANGE", "ACK_UNSENT"]),
    ("ip_id", &["IP_ID_COPY", "IP_ID_BREAK"]),
    ("seq", &["RST_SEQ_CHANGE", "SEQ_PAST_SENT", "DATA_SEQ_RST"]),
    ("timing", &["FAST_RST"]),
    ("ttl", &["TTL_MISMATCH"]),
    ("window", &["RST_WINDOW"]),
];

/// Most IP ID steps between a sender's consecutive packets for its IDs to count as one
/// sequential counter (Linux: per-socket counter, +1 per segment; Windows: global, + other
/// connections' traffic).
const IP_ID_STEP: u16 = 64;
/// A RST whose IP ID is further than this from the sender's neighbouring IDs breaks the
/// sequence.
const IP_ID_GAP: u16 = 1024;

/// `IP_ID_BREAK`: the sender's other packets in this direction carry a sequential IP ID
/// (≥ 2 non-zero IDs, steps 1..=[`IP_ID_STEP`]) and the RST's ID is more than [`IP_ID_GAP`]
/// away from the nearest of them. IDs 0 are ignored (Linux sends DF resets from its
/// control socket with ID 0; SYN-ACKs often carry 0).
fn ip_id_break(pk: &[&PacketMeta], s: &RstSnap) -> bool {
    let id16 = |v: u32| u16::try_from(v & 0xffff).unwrap_or(0);
    if s.p.ip_id == u32::MAX || s.p.ip_id == 0 {
        return false;
    }
    let ids: Vec<u16> = pk
        .iter()
        .filter(|p| p.dir == s.p.dir && !is_rst(p) && p.ip_id != u32::MAX && p.ip_id != 0)
        .map(|p| id16(p.ip_id))
        .take(4096)
        .collect();
    if ids.len() < 2 {
        return false;
    }
    let sequential = ids.windows(2).all(|w| match w {
        [a, b] => (1..=IP_ID_STEP).contains(&b.wrapping_sub(*a)),
        _ => true,
    });
    let rst = id16(s.p.ip_id);
    let dist = |a: u16| a.wrapping_sub(rst).min(rst.wrapping_sub(a));
    sequential && ids.iter().all(|a| dist(*a) > IP_ID_GAP)
}

fn dir_str(d: Dir) -> &'static str {
    match d {
        Dir::C2s => "c2s",
        Dir::S2c => "s2c",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::{ACK, FIN, PSH, RST, SYN};
    use crate::testkit::flows::*;

    fn run(flows: &[LabeledFlow]) -> Vec<Finding> {
        run_detector(&RstInjection, flows)
    }

    /// A TLS connection: handshake with 20 ms RTT, ClientHello at 30 ms. Server TTL 117.
    fn tls_start(f: &mut LabeledFlow) {
        push(
            f,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 64),
                pkt(2, 20, S, SYN | ACK, 5000, 1001, 0, 117),
                pkt(3, 21, C, ACK, 1001, 5001, 0, 64),
                pkt(4, 30, C, PSH | ACK, 1001, 5001, 200, 64),
            ],
        );
        prefix(f, C, &client_hello("blocked.example"));
    }

    #[test]
    fn race_injection_then_real_server_data_is_injected() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        tls_start(&mut f);
        push(
            &mut f,
            &[
                // forged RST from a box 2 hops away, 2 ms after the hello
                pkt(5, 32, S, RST | ACK, 5001, 1201, 0, 62),
                // the real ServerHello arrives later, at the same seq
                pkt(6, 50, S, PSH | ACK, 5001, 1201, 1400, 117),
            ],
        );
        let out = run(&[f]);
        assert_eq!(out.len(), 1, "{out:?}");
        let x = &out[0];
        assert_eq!(x.kind, "tcp_reset_injected");
        assert_eq!(x.severity, "blocked");
        let e = ev(x);
        let tests: Vec<&str> = e["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(tests.contains(&"RST_SEQ_DATA"), "{tests:?}");
        assert!(tests.contains(&"TTL_MISMATCH"), "{tests:?}");
        assert!(tests.contains(&"FAST_RST"), "{tests:?}");
        assert_eq!(ev(x)["trigger"], "tls_client_hello");
        assert_eq!(x.packets, vec![4, 5, 6]);
        assert_eq!(ev(x)["rsts"][0]["hops"], 2);
    }

    #[test]
    fn in_path_reject_with_other_ttl_class_and_trigger_is_injected() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        tls_start(&mut f);
        push(&mut f, &[pkt(5, 31, S, RST | ACK, 5001, 1201, 0, 64)]);
        let out = run(&[f]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "tcp_reset_injected");
        assert_eq!(ev(&out[0])["ttl_reason"], "init_ttl_class");
    }

    #[test]
    fn ordinary_server_reset_is_not_flagged() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(&mut f, &tcp_handshake());
        push(
            &mut f,
            &[
                pkt(4, 30, C, PSH | ACK, 1001, 5001, 100, 64),
                pkt(5, 50, S, ACK, 5001, 1101, 0, 117),
                pkt(6, 52, S, RST | ACK, 5001, 1101, 0, 117),
            ],
        );
        prefix(&mut f, C, b"GET / HTTP/1.1\r\n");
        assert!(run(&[f]).is_empty());
    }

    #[test]
    fn client_own_reset_and_rst_after_fin_are_not_flagged() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(&mut f, &tcp_handshake());
        push(
            &mut f,
            &[
                pkt(4, 40, S, FIN | ACK, 5001, 1001, 0, 117),
                pkt(5, 41, C, RST | ACK, 1001, 5002, 0, 64),
                // a stray server RST after its own FIN, odd TTL: guarded
                pkt(6, 60, S, RST, 5002, 0, 0, 60),
            ],
        );
        let out = run(&[f]);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn nat_idle_timeout_reset_is_guarded() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        push(&mut f, &tcp_handshake());
        push(
            &mut f,
            &[
                pkt(4, 600_000, C, PSH | ACK, 1001, 5001, 10, 64),
                pkt(5, 600_001, S, RST, 5001, 0, 0, 63),
            ],
        );
        assert!(run(&[f]).is_empty());
    }

    #[test]
    fn syn_answered_by_rst_then_real_synack_is_injected() {
        // The shape of Zeek's rst-inject-rae trace.
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(
            &mut f,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 64),
                pkt(2, 230, S, RST | ACK, 0, 1001, 0, 117),
                pkt(3, 250, S, SYN | ACK, 7000, 1001, 0, 117),
            ],
        );
        let out = run(&[f]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "tcp_reset_injected");
        assert_eq!(ev(&out[0])["tests"][0], "SYNACK_AFTER_RST");
        assert_eq!(out[0].packets, vec![2, 3]);
    }

    #[test]
    fn rst_sprays_fire_seq_change_and_penalty_box() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(&mut f, &tcp_handshake());
        push(
            &mut f,
            &[
                pkt(4, 30, C, PSH | ACK, 1001, 5001, 100, 64),
                pkt(5, 35, S, RST, 5001, 0, 0, 117),
                pkt(6, 36, S, RST, 6461, 0, 0, 117),
                pkt(7, 37, S, RST, 9381, 0, 0, 117),
            ],
        );
        prefix(&mut f, C, b"GET /x HTTP/1.1\r\n");
        let mut g = flow(1, Transport::Tcp, "10.0.0.2:40002", "203.0.113.5:80");
        push(
            &mut g,
            &[
                pkt(8, 10_000, C, SYN, 300, 0, 0, 64),
                pkt(9, 10_020, S, RST | ACK, 0, 301, 0, 117),
            ],
        );
        let out = run(&[f, g]);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].kind, "tcp_reset_injected");
        assert!(ev(&out[0])["tests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "RST_SEQ_CHANGE"));
        assert_eq!(out[1].kind, "tcp_reset_suspicious");
        assert_eq!(out[1].flow, Some(1));
        assert_eq!(ev(&out[1])["penalty_box"]["after_flow"], 0);
    }

    fn tests_of(x: &Finding) -> Vec<String> {
        ev(x)["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn resets_with_changing_acks_and_stale_seq_fire_their_tests() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(&mut f, &tcp_handshake());
        push(
            &mut f,
            &[
                pkt(4, 40, S, PSH | ACK, 5001, 1001, 500, 117),
                pkt(5, 41, C, ACK, 1001, 5501, 0, 64),
                // two resets, acks jumping while the client sent nothing new; the seq (5001) is
                // below what the client already acknowledged (5501)
                pkt(6, 60, S, RST | ACK, 5001, 1001, 0, 117),
                pkt(7, 61, S, RST | ACK, 5001, 2461, 0, 117),
            ],
        );
        let out = run(&[f]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].kind, "tcp_reset_injected");
        let t = tests_of(&out[0]);
        assert!(t.contains(&"RST_ACK_CHANGE".to_string()), "{t:?}");
        assert!(t.contains(&"DATA_SEQ_RST".to_string()), "{t:?}");
        assert!(!t.contains(&"RST_SEQ_CHANGE".to_string()), "{t:?}");
        assert_eq!(ev(&out[0])["rsts"][0]["seq_vs_peer_ack"], -500);
    }

    #[test]
    fn reset_answering_an_earlier_packet_is_not_fast() {
        // The client sent data at 30 ms and again at 50 ms; the server's RST at 52 ms answers the
        // first one (22 ms later, RTT 20 ms): not faster than the server could be.
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(&mut f, &tcp_handshake());
        push(
            &mut f,
            &[
                pkt(4, 40, C, PSH | ACK, 1001, 5001, 100, 64),
                pkt(5, 50, C, PSH | ACK, 1101, 5001, 100, 64),
                pkt(6, 52, S, RST | ACK, 5001, 1101, 0, 117),
            ],
        );
        assert!(run(&[f]).is_empty());
    }

    #[test]
    fn duplicated_rst_frames_do_not_pair() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        let mut dup = pkt(6, 36, S, RST, 5001, 0, 0, 117);
        dup.m.obs = crate::flow::obs::DUPLICATE;
        push(&mut f, &tcp_handshake());
        push(&mut f, &[pkt(5, 35, S, RST, 5001, 0, 0, 117), dup]);
        assert!(run(&[f]).is_empty());
    }

    fn judge(flows: &[LabeledFlow]) -> Vec<Finding> {
        run(flows)
    }

    #[test]
    fn issue_10_resets_the_capture_host_sent_are_never_forged() {
        // A server-side capture: the server (capture host, TTL 128 at 0 hops) resets a
        // connection itself; the client's packets arrive from 8 hops away.
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(
            &mut f,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 56),
                pkt(2, 0, S, SYN | ACK, 5000, 1001, 0, 128),
                pkt(3, 20, C, ACK, 1001, 5001, 0, 56),
                pkt(4, 21, C, PSH | ACK, 1001, 5001, 100, 56),
                // its own reset, with an odd window and a seq jump: still the host's packet
                pkt(5, 22, S, RST | ACK, 9000, 1101, 0, 128),
                pkt(6, 23, S, RST | ACK, 12000, 1101, 0, 128),
            ],
        );
        prefix(&mut f, C, b"GET / HTTP/1.1\r\n");
        assert!(judge(&[f]).is_empty());
    }

    #[test]
    fn issue_10_fingerprints_beyond_ttl_need_two_families() {
        // TTL copied from the server (IPS reject): IP ID off the server's sequence and a
        // non-zero window betray it: two families → injected.
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        tls_start(&mut f);
        let mut ps = vec![
            pkt(5, 40, S, ACK, 5001, 1201, 0, 117),
            pkt(6, 41, S, ACK, 5001, 1201, 0, 117),
            pkt(7, 42, S, RST | ACK, 5001, 1201, 0, 117),
        ];
        ps[0].m.ip_id = 300;
        ps[1].m.ip_id = 301;
        ps[2].m.ip_id = 40_000;
        ps[2].m.window = 8192;
        push(&mut f, &ps);
        // Linux SYN-ACKs carry IP ID 0; the server's counter starts with its data.
        if let Some(sa) = f.packets.get_mut(1) {
            sa.ip_id = 0;
        }
        let out = judge(&[f.clone()]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].kind, "tcp_reset_injected");
        let t = tests_of(&out[0]);
        assert!(t.contains(&"IP_ID_BREAK".to_string()), "{t:?}");
        assert!(t.contains(&"RST_WINDOW".to_string()), "{t:?}");
        assert!(!t.contains(&"TTL_MISMATCH".to_string()), "{t:?}");
        assert_eq!(ev(&out[0])["basis"], "two_fingerprints");
        assert!(
            out[0].summary.contains("2 independent fingerprints"),
            "{}",
            out[0].summary
        );
        // One fingerprint alone (the window) is only suspicious, and says so.
        let mut g = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        tls_start(&mut g);
        let mut r = pkt(5, 42, S, RST | ACK, 5001, 1201, 0, 117);
        r.m.window = 8192;
        push(&mut g, &[r]);
        let out = judge(&[g]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].kind, "tcp_reset_suspicious");
        assert_eq!(ev(&out[0])["basis"], "one_fingerprint");
        assert!(out[0].summary.contains("one fingerprint"));
    }

    #[test]
    fn issue_10_ack_of_unsent_data_and_shared_ip_ids() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        tls_start(&mut f);
        // two copies sharing one IP ID, acking 1000 bytes the client never sent
        let mut a = pkt(5, 31, S, RST | ACK, 5001, 2201, 0, 117);
        let mut b = pkt(6, 31, S, RST | ACK, 5001, 2201, 0, 117);
        a.m.ip_id = 777;
        b.m.ip_id = 777;
        push(&mut f, &[a, b]);
        let out = judge(&[f]);
        assert_eq!(out.len(), 1, "{out:?}");
        let t = tests_of(&out[0]);
        assert!(t.contains(&"ACK_UNSENT".to_string()), "{t:?}");
        assert!(t.contains(&"IP_ID_COPY".to_string()), "{t:?}");
        assert_eq!(out[0].kind, "tcp_reset_injected");
    }

    #[test]
    fn issue_10_ttl_is_compared_per_direction() {
        // The client's own reset with the client's TTL, while the server arrives at 117:
        // comparing it with the server's TTL would call it forged.
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        tls_start(&mut f);
        push(
            &mut f,
            &[
                pkt(5, 50, S, PSH | ACK, 5001, 1201, 100, 117),
                pkt(6, 51, C, RST | ACK, 1201, 5101, 0, 64),
            ],
        );
        let hosts = BTreeMap::new();
        let path = Vantage {
            host: None,
            host_ttl: None,
            host_flows: 0,
            side: crate::detect::vantage::Side::Path,
            basis: vec![],
        };
        assert!(judge_flow(&f, &BlockingConfig::default(), &hosts, &path).is_none());
    }

    #[test]
    fn issue_10_server_resetting_an_unacceptable_ack_then_resending_synack_is_genuine() {
        // SYN proxy / RFC 9293 §3.10.7.3: SYN-ACK, the client's ACK is refused with a RST,
        // the SYN-ACK is retransmitted. Same TTL as the server: no race, nothing forged.
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(
            &mut f,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 64),
                pkt(2, 20, S, SYN | ACK, 5000, 1001, 0, 117),
                pkt(3, 21, C, ACK, 1001, 5001, 0, 64),
                pkt(4, 41, S, RST, 5001, 0, 0, 117),
                pkt(5, 1020, S, SYN | ACK, 5000, 1001, 0, 117),
            ],
        );
        assert!(judge(&[f]).is_empty());
    }

    #[test]
    fn issue_10_foreign_fin_does_not_excuse_the_reset_after_it() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        tls_start(&mut f);
        push(
            &mut f,
            &[
                pkt(5, 31, S, FIN | ACK, 5001, 1201, 0, 64),
                pkt(6, 31, S, RST | ACK, 5001, 1201, 0, 64),
                pkt(7, 50, S, PSH | ACK, 5001, 1201, 1400, 117),
            ],
        );
        let out = judge(&[f]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].kind, "tcp_reset_injected");
        assert_eq!(ev(&out[0])["basis"], "conclusive");
    }
}
