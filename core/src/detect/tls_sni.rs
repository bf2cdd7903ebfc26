//! `tls_sni_reset` and `tls_sni_drop`: TLS handshakes stopped after the ClientHello.
//!
//! SNI filtering (DPI matching the server name in the ClientHello) shows at the client as
//! one of two failures once the TCP handshake has succeeded:
//! - `tls_sni_reset`: the ClientHello is answered by a TCP RST (from the server's side), with
//!   no ServerHello first. Severity `blocked`; confidence 0.9 when the RST's fingerprint
//!   differs from the server's SYN-ACK (TTL class or ≥ `ttl_hop_delta` hops) or it came
//!   faster than half the handshake RTT, else 0.6 (OONI counts any "connection reset" in the
//!   TLS handshake as an anomaly; a lone server reset is still the textbook SNI-filter sign).
//! - `tls_sni_drop`: the ClientHello is retransmitted (≥ 1 retransmission spanning ≥ 1 s, or
//!   ≥ 2) and nothing comes back with data: the hello is black-holed. Severity `blocked`,
//!   confidence 0.6–0.8; lower when the server ACKed the hello (then it reached the server and
//!   the answer was lost or withheld).
//!
//! # Guards
//! The server must have answered the SYN (else this is `handshake_timeout`), the capture must
//! show two-way traffic, and a ServerHello or TLS alert from the server means TLS worked.
//! A reset after a ServerHello is not SNI filtering. Duplicated frames are ignored.
//!
//! A ClientHello sent TTL-limited (a probe run: [`super::blocking_hop`]) that a router answered
//! with time exceeded, or sent with less TTL than any request that reached the server, is no
//! `tls_sni_drop`.
//!
//! # Known false positives
//! A server that resets TLS hellos it cannot serve (unknown SNI, protocol mismatch) —
//! rare: servers answer with an alert; a server crashing right after accept; heavy loss
//! that eats several ClientHello copies (`tls_sni_drop`).

use super::blocking::{self, has, is_dup, is_rst, ms, ttl_mismatch, BlockingConfig, SEC};
use super::{Detector, Input};
use crate::decode::tcp_flags::{ACK, SYN};
use crate::flow::{Dir, PacketMeta, Transport};
use crate::label::LabeledFlow;
use crate::model::{FindingKind, Severity};
use crate::report::evidence::{TlsSniDropEvidence, TlsSniResetEvidence};
use crate::report::Finding;
use crate::secs;
use crate::tx::TlsKind;

/// The detector (emits `tls_sni_reset` and `tls_sni_drop`).
pub struct TlsSni;

impl Detector for TlsSni {
    fn name(&self) -> &'static str {
        "tls_sni"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        if !input.facts().two_way().any() {
            return;
        }
        let probes = input.facts().probes();
        let reach = input.facts().reach();
        for (i, f) in input.flows.iter().enumerate() {
            if f.transport != Transport::Tcp {
                continue;
            }
            let probe = probes.get(i).and_then(|p| p.as_deref());
            let r = reach.get(&f.server.ip()).copied();
            if let Some(x) = judge(f, &input.config.blocking, probe, r) {
                out.push(x);
            }
        }
    }
}

fn judge(
    f: &LabeledFlow,
    cfg: &BlockingConfig,
    probe: Option<&super::blocking_hop::FlowProbe>,
    reach: Option<u8>,
) -> Option<Finding> {
    // The openings the recorder read with proto::tls: a ClientHello, and no ServerHello or
    // alert (any TLS record a server sends first) back.
    let tx = &f.class.tx;
    let hello = tx
        .tls_opening(Dir::C2s)
        .filter(|t| t.kind == TlsKind::ClientHello)?;
    if tx
        .tls_opening(Dir::S2c)
        .is_some_and(|t| matches!(t.kind, TlsKind::ServerHello | TlsKind::Alert))
    {
        return None;
    }
    let pk: Vec<&PacketMeta> = f.packets.iter().filter(|p| !is_dup(p)).collect();
    let synack = pk.iter().find(|p| p.dir == Dir::S2c && has(p, SYN | ACK))?;
    let syn = pk
        .iter()
        .take_while(|p| p.ts <= synack.ts)
        .filter(|p| p.dir == Dir::C2s && has(p, SYN))
        .last();
    let rtt = syn.map(|s| synack.ts.saturating_sub(s.ts));
    let ch = pk.iter().find(|p| p.dir == Dir::C2s && p.payload_len > 0)?;
    let sni = f.class.sni.clone().or_else(|| hello.sni.clone());
    let name = sni.clone().unwrap_or_else(|| "(no name)".into());
    let server_data = pk.iter().any(|p| p.dir == Dir::S2c && p.payload_len > 0);
    let rst = pk
        .iter()
        .find(|p| p.dir == Dir::S2c && is_rst(p) && p.ts >= ch.ts);

    if let Some(r) = rst {
        // Data from the server before the RST means the hello got an answer (not TLS though).
        if pk
            .iter()
            .any(|p| p.dir == Dir::S2c && p.payload_len > 0 && p.ts < r.ts)
        {
            return None;
        }
        let mismatch = ttl_mismatch(r.ttl, synack.ttl, cfg.ttl_hop_delta);
        let delay = r.ts.saturating_sub(ch.ts);
        let fast = rtt.is_some_and(|t| t >= 1_000_000 && delay.saturating_mul(2) < t);
        let forged = mismatch.is_some() || fast;
        let why = match (mismatch, fast) {
            (Some(_), _) => format!(
                "; the reset arrived with TTL {} while the server's SYN-ACK had TTL {}, so a box on the path sent it",
                r.ttl, synack.ttl
            ),
            (None, true) => "; it came faster than the server could have answered".to_string(),
            _ => String::new(),
        };
        return Some(Finding {
            filter: None,
            kind: FindingKind::TlsSniReset,
            flow: Some(f.id),
            ts: secs(r.ts),
            severity: Severity::Blocked,
            confidence: if forged { 0.9 } else { 0.6 },
            summary: format!(
                "TLS to {} for \"{name}\" was reset {} after the ClientHello, before any answer{why}.",
                f.server,
                blocking::delay_phrase(delay)
            ),
            evidence: TlsSniResetEvidence {
                client_hello_frame: ch.frame,
                faster_than_half_rtt: fast,
                handshake_rtt_ms: rtt.map(|t| t as f64 / 1e6),
                rst_delay_ms: delay as f64 / 1e6,
                rst_df: r.df,
                rst_frame: r.frame,
                rst_ip_id: (r.ip_id != u32::MAX).then_some(r.ip_id),
                rst_ttl: r.ttl,
                rst_window: r.window,
                server_df: synack.df,
                server_ip_id: (synack.ip_id != u32::MAX).then_some(synack.ip_id),
                server_ttl: synack.ttl,
                sni: sni.clone(),
                ttl_reason: mismatch,
            }
            .into(),
            packets: vec![ch.frame, r.frame],
        });
    }
    if server_data {
        return None;
    }
    // A TTL-limited hello (a probe run's) that a router expired, or that had too little TTL
    // to reach the server, was not dropped by a filter (`blocking_hop` judges the run).
    if super::blocking_hop::unreached(probe, reach) {
        return None;
    }
    // Retransmitted hello, no answer.
    let copies: Vec<&&PacketMeta> = pk
        .iter()
        .filter(|p| p.dir == Dir::C2s && p.payload_len > 0 && p.seq == ch.seq)
        .collect();
    let retrans = copies.len().saturating_sub(1);
    let span = copies.last().map_or(0, |l| l.ts.saturating_sub(ch.ts));
    if retrans == 0 || (retrans < 2 && span < SEC) {
        return None;
    }
    let end = ch.seq.wrapping_add(ch.payload_len);
    let acked = pk
        .iter()
        .any(|p| p.dir == Dir::S2c && has(p, ACK) && blocking::seq_le(end, p.ack));
    let conf = match (retrans >= 2, acked) {
        (true, false) => 0.8,
        (false, false) => 0.65,
        (_, true) => 0.5,
    };
    Some(Finding {
        filter: None,
        kind: FindingKind::TlsSniDrop,
        flow: Some(f.id),
        ts: secs(ch.ts),
        severity: Severity::Blocked,
        confidence: conf,
        summary: format!(
            "TLS to {} for \"{name}\" got no answer: the ClientHello was sent {} times over {:.1} s{}.",
            f.server,
            copies.len(),
            blocking::s1(span),
            if acked {
                " (the server acknowledged it but never replied)"
            } else {
                " and never acknowledged, although the TCP handshake had worked"
            }
        ),
        evidence: TlsSniDropEvidence {
            client_hello_frames: copies.iter().map(|p| p.frame).collect(),
            handshake_rtt_ms: rtt.map(|t| t as f64 / 1e6),
            retransmissions: retrans,
            server_acked_hello: acked,
            sni: sni.clone(),
            span_s: ms(span) / 1000.0,
        }
        .into(),
        packets: blocking::frames(copies.into_iter().copied(), 32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::{PSH, RST};
    use crate::testkit::flows::*;

    fn run(flows: &[LabeledFlow]) -> Vec<Finding> {
        run_detector(&TlsSni, flows)
    }

    fn start(id: u32) -> LabeledFlow {
        let mut f = flow(id, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        push(&mut f, &tcp_handshake());
        push(&mut f, &[pkt(4, 30, C, PSH | ACK, 1001, 5001, 200, 64)]);
        prefix(&mut f, C, &client_hello("signal.org"));
        f
    }

    #[test]
    fn reset_after_hello_is_tls_sni_reset() {
        let mut f = start(0);
        push(&mut f, &[pkt(5, 31, S, RST | ACK, 5001, 1201, 0, 64)]);
        let out = run(&[f]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "tls_sni_reset");
        assert_eq!(out[0].confidence, 0.9);
        assert_eq!(ev(&out[0])["sni"], "signal.org");
        assert_eq!(out[0].packets, vec![4, 5]);
        assert!(out[0].summary.contains("signal.org"), "{}", out[0].summary);
    }

    #[test]
    fn server_hello_means_tls_worked() {
        let mut f = start(0);
        push(
            &mut f,
            &[
                pkt(5, 50, S, PSH | ACK, 5001, 1201, 1400, 117),
                pkt(6, 60, S, RST | ACK, 6401, 1201, 0, 117),
            ],
        );
        prefix(&mut f, S, &[0x16, 3, 3, 0, 80, 2, 0, 0, 76]);
        assert!(run(&[f]).is_empty());
    }

    #[test]
    fn retransmitted_hello_without_answer_is_drop() {
        let mut f = start(0);
        push(
            &mut f,
            &[
                pkt(5, 330, C, PSH | ACK, 1001, 5001, 200, 64),
                pkt(6, 930, C, PSH | ACK, 1001, 5001, 200, 64),
            ],
        );
        let out = run(&[f]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "tls_sni_drop");
        assert_eq!(out[0].packets, vec![4, 5, 6]);
        assert_eq!(ev(&out[0])["retransmissions"], 2);
        assert_eq!(out[0].confidence, 0.8);
    }

    #[test]
    fn a_ttl_limited_hello_a_router_expired_is_no_drop() {
        let mut f = start(0);
        push(
            &mut f,
            &[
                pkt(5, 330, C, PSH | ACK, 1001, 5001, 200, 64),
                pkt(6, 930, C, PSH | ACK, 1001, 5001, 200, 64),
            ],
        );
        for p in f.packets.iter_mut().filter(|p| p.payload_len > 0) {
            p.ttl = 2;
        }
        f.icmp_errors.push(crate::flow::IcmpError {
            frame: 7,
            ts: 931_000_000,
            kind: 11,
            code: 0,
            from: "192.0.2.2".parse().unwrap(),
            quoted_ip_id: Some(6 * 7),
        });
        assert!(run(&[f.clone()]).is_empty());
        // Without the time exceeded it still had too little TTL to tell (no request with
        // that TTL reached the server).
        f.icmp_errors.clear();
        assert!(run(&[f]).is_empty());
    }

    #[test]
    fn single_quick_retransmission_is_not_enough() {
        let mut f = start(0);
        push(&mut f, &[pkt(5, 330, C, PSH | ACK, 1001, 5001, 200, 64)]);
        assert!(run(&[f]).is_empty());
    }
}
