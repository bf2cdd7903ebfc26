//! `tcp_synack_injected`: a SYN answered by a SYN-ACK the server did not send (issue 10,
//! item 5) — the "residual blocking" some censors apply after a trigger (the GFW answers
//! later SYNs to a blocked server itself; Wang et al., "Your State is Not Mine", IMC 2017),
//! and a classic way to hijack or kill a connection before it starts.
//!
//! # Heuristic
//! Client side (the capture host sent the SYN), per client ISN, among the SYN-ACKs that
//! acknowledge it:
//! - `SYNACK_ISN_CHANGE`: two SYN-ACKs with different ISNs. A stack keeps one ISN per
//!   connection and retransmits its SYN-ACK with it (RFC 9293 §3.8.1). **Conclusive** when the
//!   client had sent only one copy of its SYN before the second answer (one SYN, two
//!   answers); after a SYN retransmission, a SYN proxy answering each copy with its own
//!   cookie, or a server that lost its state (SYN cookies across a 64 s slot, a restarted
//!   listener), can pick a new ISN, so it is a fingerprint (nDPI's KakaoTalk captures show a
//!   TTL-248 proxy answering a SYN and its retry with two cookies).
//! - `SYNACK_TTL`: the two SYN-ACKs' TTLs imply another initial TTL or ≥ `ttl_hop_delta`
//!   hops apart (a fingerprint).
//!
//! Server side (the capture host sent the SYN-ACK): `ACK_UNSENT_ISN` — the client's
//! handshake ACK (its sequence number is its ISN + 1) acknowledges an ISN the server never
//! sent: the client got its SYN-ACK from someone else (conclusive: the capture host's own
//! SYN-ACKs are all in the capture).
//!
//! `blocked` when conclusive or with two tests; one fingerprint alone is `info`. The
//! evidence lists the SYN-ACKs (frame, ISN, TTL, IP ID, window) and, when one of them
//! carries another TTL than the server's other packets, which one is forged. A packet the
//! capture host sent is never called forged.
//!
//! # Known false positives
//! Two servers answering one SYN (an anycast or ECMP change exactly at the handshake, a
//! misconfigured load balancer): both genuine, and both ISNs differ — the TTL usually
//! differs too. TCP stacks or middleboxes that rewrite ISNs (sequence randomisers) translate
//! both directions, so they do not show at either end.

use super::blocking::{has, hops, is_dup, is_rst, ttl_mismatch, BlockingConfig};
use super::vantage::Vantage;
use super::{Detector, Input};
use crate::decode::tcp_flags::{ACK, SYN};
use crate::flow::{Dir, PacketMeta, Transport};
use crate::label::LabeledFlow;
use crate::model::{FindingKind, Severity};
use crate::report::evidence::{SynackInjectedEvidence, SynackPacket};
use crate::report::Finding;
use crate::secs;

/// The detector (emits `tcp_synack_injected`).
pub struct SynackInjection;

impl Detector for SynackInjection {
    fn name(&self) -> &'static str {
        "tcp_synack_injected"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let cfg = &input.config.blocking;
        let vantage = input.facts().vantage();
        for f in input.flows.iter().filter(|f| f.transport == Transport::Tcp) {
            if let Some(x) = judge(f, cfg, vantage) {
                out.push(x);
            }
        }
    }
}

fn synack_packet(p: &PacketMeta) -> SynackPacket {
    SynackPacket {
        frame: p.frame,
        ip_id: (p.ip_id != u32::MAX).then_some(p.ip_id),
        isn: p.seq,
        ttl: p.ttl,
        window: p.window,
    }
}

fn judge(f: &LabeledFlow, cfg: &BlockingConfig, vantage: &Vantage) -> Option<Finding> {
    let pk: Vec<&PacketMeta> = f.packets.iter().filter(|p| !is_dup(p)).collect();
    let is_syn = |p: &PacketMeta| p.dir == Dir::C2s && has(p, SYN) && !has(p, ACK);
    let is_synack = |p: &PacketMeta| p.dir == Dir::S2c && has(p, SYN | ACK);
    let syn = *pk.iter().find(|p| is_syn(p))?;
    let isn = syn.seq;
    let server = f.server.ip();
    let synacks: Vec<(usize, &PacketMeta)> = pk
        .iter()
        .enumerate()
        .filter(|(_, p)| is_synack(p) && p.ack == isn.wrapping_add(1))
        .map(|(i, p)| (i, *p))
        .take(64)
        .collect();
    let (&(ia, a), _) = synacks.split_first()?;
    let own = |p: &PacketMeta| vantage.sent_by_host(server, p.ttl);
    let mut tests: Vec<&'static str> = Vec::new();
    let mut conclusive = false;
    let mut shown: Vec<&PacketMeta> = vec![a];
    let mut ack_frame = None;
    let mut acked_isn = None;
    let side;
    if own(a) {
        // Server side: every SYN-ACK the host sent is here; did the client ACK one of them?
        side = "server";
        let ack = pk.iter().skip(ia + 1).copied().find(|p| {
            p.dir == Dir::C2s
                && has(p, ACK)
                && !has(p, SYN)
                && !is_rst(p)
                && p.seq == isn.wrapping_add(1)
        })?;
        let sent: Vec<u32> = synacks
            .iter()
            .filter(|(i, p)| pk.get(*i).is_some_and(|q| q.ts <= ack.ts) && own(p))
            .map(|(_, p)| p.seq)
            .collect();
        if sent.iter().any(|s| s.wrapping_add(1) == ack.ack) {
            return None;
        }
        tests.push("ACK_UNSENT_ISN");
        conclusive = true;
        ack_frame = Some(ack.frame);
        acked_isn = Some(ack.ack.wrapping_sub(1));
        shown = synacks.iter().map(|(_, p)| *p).collect();
        shown.push(ack);
    } else {
        side = "client";
        let (ib, b) = synacks.iter().skip(1).copied().find(|(_, b)| {
            b.seq != a.seq || ttl_mismatch(b.ttl, a.ttl, cfg.ttl_hop_delta).is_some()
        })?;
        if b.seq != a.seq {
            tests.push("SYNACK_ISN_CHANGE");
            // One copy of the SYN before the second answer: one question, two answers.
            let copies = pk
                .get(..ib)
                .unwrap_or(&[])
                .iter()
                .filter(|p| is_syn(p) && p.seq == isn)
                .count();
            conclusive = copies == 1;
        }
        if ttl_mismatch(b.ttl, a.ttl, cfg.ttl_hop_delta).is_some() {
            tests.push("SYNACK_TTL");
        }
        shown.push(b);
    }
    let basis = if conclusive {
        "conclusive"
    } else if tests.len() >= 2 {
        "two_fingerprints"
    } else {
        "one_fingerprint"
    };
    // Which SYN-ACK is forged: the one whose hop count is not that of the server's other
    // packets in this flow (non-SYN; resets only when nothing else came).
    let mut counts: std::collections::BTreeMap<u8, u32> = Default::default();
    let others = |rst: bool| {
        pk.iter()
            .filter(move |p| p.dir == Dir::S2c && !has(p, SYN) && is_rst(p) == rst)
    };
    let plain = others(false).count() > 0;
    for p in others(!plain) {
        *counts.entry(hops(p.ttl)).or_default() += 1;
    }
    let usual = counts
        .into_iter()
        .max_by_key(|(h, c)| (*c, std::cmp::Reverse(*h)))
        .map(|(h, _)| h);
    let forged = if side == "client" {
        let odd: Vec<&&PacketMeta> = shown
            .iter()
            .filter(|p| is_synack(p) && usual.is_some_and(|u| hops(p.ttl) != u))
            .collect();
        match odd.as_slice() {
            [one] => Some(one.frame),
            _ => None,
        }
    } else {
        None
    };
    let blocked = basis != "one_fingerprint";
    let dest = match &f.class.sni {
        Some(s) => format!("{} ({s})", f.server),
        None => f.server.to_string(),
    };
    let why = if side == "server" {
        format!(
            "the client acknowledged ISN {} which this server never sent (it sent {}), so the client got its SYN-ACK from someone else",
            acked_isn.unwrap_or(0),
            synacks
                .iter()
                .map(|(_, p)| p.seq.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        let b = shown.get(1).copied().unwrap_or(a);
        let mut s = format!(
            "two SYN-ACKs answered {} (ISN {}, TTL {}; ISN {}, TTL {})",
            if conclusive {
                "one SYN"
            } else {
                "the SYN and its retry"
            },
            a.seq,
            a.ttl,
            b.seq,
            b.ttl
        );
        if let Some(fr) = forged {
            s.push_str(&format!(
                "; frame {fr} has another TTL than the server's other packets"
            ));
        }
        s
    };
    let lead = match basis {
        "conclusive" => "conclusive",
        "two_fingerprints" => "two independent signs",
        _ => "one sign only, not enough to call it forged",
    };
    let mut packets: Vec<u64> = vec![syn.frame];
    packets.extend(shown.iter().map(|p| p.frame));
    packets.sort_unstable();
    packets.dedup();
    packets.truncate(32);
    Some(Finding {
        filter: None,
        kind: FindingKind::TcpSynackInjected,
        flow: Some(f.id),
        ts: secs(shown.get(1).map_or(a.ts, |p| p.ts)),
        severity: if blocked {
            Severity::Blocked
        } else {
            Severity::Info
        },
        confidence: match basis {
            "conclusive" => 0.9,
            "two_fingerprints" => 0.8,
            _ => 0.4,
        },
        summary: format!(
            "Connection to {dest} {} a forged SYN-ACK ({lead}): {why} (tests: {}).",
            if blocked {
                "was answered by"
            } else {
                "may have been answered by"
            },
            tests.join(", ")
        ),
        evidence: SynackInjectedEvidence {
            ack_frame,
            acked_isn,
            basis,
            forged_frame: forged,
            server_isns: synacks.iter().map(|(_, p)| p.seq).take(16).collect(),
            side,
            synacks: synacks
                .iter()
                .map(|(_, p)| synack_packet(p))
                .take(16)
                .collect(),
            tests,
        }
        .into(),
        packets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::{PSH, RST};
    use crate::testkit::flows::*;

    fn run(flows: &[LabeledFlow]) -> Vec<Finding> {
        run_detector(&SynackInjection, flows)
    }

    #[test]
    fn a_forged_synack_racing_the_real_one_is_blocked() {
        // Client side: the box answers first (TTL 64, ISN 777), the server 20 ms later
        // (TTL 117, ISN 5000); the client ACKs the forged one, the server resets.
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:8080");
        push(
            &mut f,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 64),
                pkt(2, 2, S, SYN | ACK, 777, 1001, 0, 64),
                pkt(3, 3, C, ACK, 1001, 778, 0, 64),
                pkt(4, 4, C, PSH | ACK, 1001, 778, 60, 64),
                pkt(5, 20, S, SYN | ACK, 5000, 1001, 0, 117),
                pkt(6, 21, C, ACK, 1061, 778, 0, 64),
                pkt(7, 40, S, RST, 778, 0, 0, 117),
            ],
        );
        let out = run(&[f]);
        assert_eq!(out.len(), 1, "{out:?}");
        let x = &out[0];
        assert_eq!(
            (x.kind.as_str(), x.severity.as_str()),
            ("tcp_synack_injected", "blocked")
        );
        let e = ev(x);
        assert_eq!(e["basis"], "conclusive");
        assert_eq!(
            e["tests"],
            serde_json::json!(["SYNACK_ISN_CHANGE", "SYNACK_TTL"])
        );
        assert_eq!(e["forged_frame"], 2);
        assert_eq!(e["side"], "client");
        assert_eq!(x.packets, vec![1, 2, 5]);
    }

    #[test]
    fn synack_retransmissions_and_new_attempts_are_genuine() {
        // The same ISN again (the ACK was lost): a retransmission.
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(
            &mut f,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 64),
                pkt(2, 20, S, SYN | ACK, 5000, 1001, 0, 117),
                pkt(3, 1020, S, SYN | ACK, 5000, 1001, 0, 117),
                pkt(4, 1021, C, ACK, 1001, 5001, 0, 64),
            ],
        );
        assert!(run(&[f]).is_empty());
        // A new ISN after the client's SYN retry, same TTL (SYN cookies, a restarted
        // listener): one sign only, info.
        let mut g = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(
            &mut g,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 64),
                pkt(2, 20, S, SYN | ACK, 5000, 1001, 0, 117),
                pkt(3, 1000, C, SYN, 1000, 0, 0, 64),
                pkt(4, 1020, S, SYN | ACK, 9000, 1001, 0, 117),
            ],
        );
        let out = run(&[g]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, "info");
    }

    #[test]
    fn server_side_ack_for_an_isn_never_sent() {
        // Server-side capture: the server (TTL 128, 0 hops) sent ISN 5000; the client ACKs 778.
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:8080");
        push(
            &mut f,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 56),
                pkt(2, 0, S, SYN | ACK, 5000, 1001, 0, 128),
                pkt(3, 20, C, ACK, 1001, 778, 0, 56),
                pkt(4, 20, S, RST, 778, 0, 0, 128),
            ],
        );
        let mut g = flow(1, Transport::Tcp, "10.0.0.9:40001", "203.0.113.5:80");
        push(
            &mut g,
            &[
                pkt(5, 30, C, SYN, 300, 0, 0, 50),
                pkt(6, 30, S, SYN | ACK, 9000, 301, 0, 128),
                pkt(7, 50, C, ACK, 301, 9001, 0, 50),
            ],
        );
        let out = run(&[f, g]);
        assert_eq!(out.len(), 1, "{out:?}");
        let e = ev(&out[0]);
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(e["side"], "server");
        assert_eq!(e["acked_isn"], 777);
        assert_eq!(e["tests"][0], "ACK_UNSENT_ISN");
        // It cites the client's ACK, which reached the capture host.
        assert!(out[0].packets.contains(&3));
    }
}
