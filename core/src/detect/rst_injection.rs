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
//! Any of those makes the reset `tcp_reset_injected`. Fingerprint tests add to them:
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
//! `TTL_MISMATCH` with `FAST_RST` or a trigger is also `tcp_reset_injected`; either alone is
//! `tcp_reset_suspicious` (severity `info`). Evidence carries the fingerprint: TTL and hops,
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
use super::{Detector, Input};
use crate::decode::tcp_flags;
use crate::flow::{Dir, PacketMeta, Transport};
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
            .filter_map(|(f, v)| v.as_ref().map(|v| (f, v)))
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
                let conf = if v.tests.len() >= 2 { 0.9 } else { 0.8 };
                (
                    FindingKind::TcpResetInjected,
                    Severity::Blocked,
                    conf,
                    format!(
                        "Connection to {dest} was cut by a forged TCP reset: {} (tests: {}).",
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
                        "Connection to {dest} was reset by a packet that may not come from the server: {} (tests: {}).",
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
    let p = &f.dir[dir.idx()].payload_prefix;
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
) -> Option<RstVerdict> {
    if !f.packets.iter().any(is_rst) {
        return None;
    }
    let pk: Vec<&PacketMeta> = f.packets.iter().filter(|p| !is_dup(p)).collect();
    let mut walk = [DirWalk::default(); 2];
    let mut snaps: Vec<RstSnap> = Vec::new();
    let mut guards: Vec<&'static str> = Vec::new();
    let mut prev_ts: Option<Nanos> = None;
    let mut prev_gap: Nanos = 0;
    for (idx, p) in pk.iter().enumerate() {
        let d = p.dir.idx();
        let o = p.dir.rev().idx();
        let gap = prev_ts.map_or(0, |t| p.ts.saturating_sub(t));
        if is_rst(p) {
            if walk[d].fin {
                guards.push("rst_after_fin");
            } else if gap >= cfg.nat_idle_timeout || prev_gap >= cfg.nat_idle_timeout {
                guards.push("nat_idle_timeout");
            } else if snaps.len() < 64 {
                snaps.push(RstSnap {
                    idx,
                    p: **p,
                    snd_max: walk[d].snd_max,
                    peer_snd_max: walk[o].snd_max,
                    peer_ack_max: walk[o].ack_max,
                });
            }
        } else {
            walk[d].snd_max = max_seq(walk[d].snd_max, seq_end(p));
            if has(p, tcp_flags::ACK) {
                walk[d].ack_max = max_seq(walk[d].ack_max, p.ack);
            }
            if has(p, tcp_flags::FIN) {
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
    let seq_tests = !tests.is_empty();

    // Fingerprint: TTL against the sender's usual TTL.
    let sender_ip = |d: Dir| {
        if d == Dir::C2s {
            f.client.ip()
        } else {
            f.server.ip()
        }
    };
    let mut ttl_pair = None;
    let mut ttl_reason = None;
    let reference = ttl_mode_without_rst(f, first.p.dir)
        .or_else(|| hosts.get(&sender_ip(first.p.dir)).copied());
    if let Some(r) = reference {
        ttl_pair = Some((first.p.ttl, r));
        // A client-side RST with the client's own TTL is the capturing host's doing: no test.
        if let Some(why) = snaps
            .iter()
            .find_map(|s| ttl_mismatch(s.p.ttl, r, cfg.ttl_hop_delta))
        {
            ttl_reason = Some(why);
            add("TTL_MISMATCH", &mut tests);
        }
    }

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

    let fingerprint = tests
        .iter()
        .any(|t| matches!(*t, "TTL_MISMATCH" | "FAST_RST"));
    if !seq_tests && !fingerprint {
        return None;
    }
    let injected = seq_tests
        || (tests.contains(&"TTL_MISMATCH") && (tests.contains(&"FAST_RST") || trigger.is_some()));

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
    if let Some((k, _, delay)) = trigger {
        let what = match k {
            "tls_client_hello" => "the TLS ClientHello",
            "http_request" => "the HTTP request",
            _ => "the first call packet",
        };
        reasons.push(format!("{} after {what}", blocking::delay_phrase(delay)));
    }
    let evidence = RstEvidence {
        contradicting_frames: contradicting.clone(),
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
}
