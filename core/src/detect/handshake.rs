//! `handshake_timeout` and `handshake_rejected`: TCP connections that never opened.
//!
//! # Heuristic
//! - `handshake_timeout`: the client sent SYNs, retried at least once (two SYNs at least
//!   `syn_retry_span` = 0.5 s apart; Linux retries after 1 s, RFC 6298 §2.1), and nothing
//!   came back — Zeek's `S0` with SYN retries. A single SYN at the end of a capture is not
//!   enough: the answer may simply be after the capture stopped.
//! - `handshake_rejected`: the SYN was answered by a RST (Zeek's `REJ`), or by an ICMP
//!   "destination unreachable" quoting it (type 3; codes 9, 10, 13 mean "administratively
//!   prohibited": a filter said so).
//!
//! # Severity
//! A timeout is always reported (issue 10). It is `blocked` when the server is known to be
//! alive (another connection to it got data back), when another flow of the same app got
//! answers, or when it sits in the "penalty box" of an injected reset — the frame of that
//! answer is cited beside the SYNs. Otherwise it is `info` and says it is inconclusive: a
//! server that is down looks the same, and when nothing in the capture came back from
//! anywhere the answers may not have been captured. Confidence grows with the retries. A REJ is `blocked` only when the RST's TTL differs from
//! the server's usual one (seen on its other flows), when the ICMP code says "prohibited", or
//! in a penalty box; otherwise it is `info`: a closed port answers the same way.
//!
//! # Known false positives
//! A server that is down or overloaded (SYN timeouts); a closed port (REJ); the capturing
//! host's own firewall dropping the answers before the capture point (rare: captures are
//! usually taken before the host firewall).

use super::blocking::{self, has, is_dup, is_rst, ttl_mismatch};
use super::{Detector, Input};
use crate::decode::tcp_flags::{ACK, SYN};
use crate::flow::{Dir, Flow, PacketMeta, Transport};
use crate::model::{FindingKind, Severity};
use crate::report::evidence::{
    HandshakeIcmpEvidence, HandshakeRstEvidence, HandshakeTimeoutEvidence, PenaltyBox,
};
use crate::report::Finding;
use crate::{secs, Nanos};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The detector (emits `handshake_timeout` and `handshake_rejected`).
pub struct Handshake;

impl Detector for Handshake {
    fn name(&self) -> &'static str {
        "handshake"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let cfg = &input.config.blocking;
        let facts = input.facts();
        let hosts = facts.ttl_by_host();
        let two_way = facts.two_way();
        // Injected resets per server address (`rst_injection`'s shared judgements), and
        // servers that answered with data.
        let mut injected: BTreeMap<IpAddr, Vec<(u32, Nanos)>> = BTreeMap::new();
        for (id, ip, ts) in facts.injected_resets() {
            injected.entry(ip).or_default().push((id, ts));
        }
        // Servers that answered with data, and apps whose other flows got answers: the frame
        // of the first answer proves it (and is cited: a packet that reached the capture host).
        let mut answered: BTreeMap<IpAddr, u64> = BTreeMap::new();
        // Keyed by app and address family: an app that answered over IPv4 says nothing about an
        // IPv6 SYN that went unanswered (a broken IPv6 path, then Happy Eyeballs falling back to
        // IPv4, is ordinary and not blocking).
        let mut app_answered: BTreeMap<(crate::model::App, bool), (u32, u64)> = BTreeMap::new();
        for g in input.flows {
            let Some(first) = g.packets.iter().find(|p| {
                p.dir == Dir::S2c && (p.payload_len > 0 || g.transport != Transport::Tcp)
            }) else {
                continue;
            };
            if g.transport == Transport::Tcp {
                answered.entry(g.server.ip()).or_insert(first.frame);
            }
            if let Some(app) = g.class.app {
                app_answered
                    .entry((app, g.server.is_ipv6()))
                    .or_insert((g.id, first.frame));
            }
        }
        let boxed = |f: &Flow| -> Option<(u32, Nanos)> {
            injected
                .get(&f.server.ip())?
                .iter()
                .filter(|(id, ts)| {
                    *id != f.id
                        && f.first_ts > *ts
                        && f.first_ts.saturating_sub(*ts) <= cfg.penalty_box
                })
                .map(|(id, ts)| (*id, f.first_ts.saturating_sub(*ts)))
                .min_by_key(|(_, d)| *d)
        };
        for f in input.flows.iter().filter(|f| f.transport == Transport::Tcp) {
            // Fast path, same outcome as below without collecting packets: no client SYN,
            // or a SYN-ACK came back (both checks stop at the handshake's first packets).
            let real = |p: &&PacketMeta| !is_dup(p);
            if !f
                .packets
                .iter()
                .filter(real)
                .any(|p| p.dir == Dir::C2s && has(p, SYN) && !has(p, ACK))
                || f.packets
                    .iter()
                    .filter(real)
                    .any(|p| p.dir == Dir::S2c && has(p, SYN | ACK))
            {
                continue;
            }
            let pk: Vec<&PacketMeta> = f.packets.iter().filter(|p| !is_dup(p)).collect();
            let syns: Vec<&&PacketMeta> = pk
                .iter()
                .filter(|p| p.dir == Dir::C2s && has(p, SYN) && !has(p, ACK))
                .collect();
            let Some(first_syn) = syns.first() else {
                continue;
            };
            let s2c: Vec<&&PacketMeta> = pk.iter().filter(|p| p.dir == Dir::S2c).collect();
            let synack = s2c.iter().any(|p| has(p, SYN | ACK));
            // (This flow got no data back, so it is not among them itself.)
            let server_answer = answered.get(&f.server.ip()).copied();
            let succeeded_elsewhere = server_answer.is_some();
            let app_answer = f
                .class
                .app
                .and_then(|a| app_answered.get(&(a, f.server.is_ipv6())))
                .filter(|(id, _)| *id != f.id)
                .map(|(_, fr)| *fr);
            let pbox = boxed(f);
            let sni = f.class.sni.as_deref();
            let dest = match sni {
                Some(s) => format!("{} ({s})", f.server),
                None => f.server.to_string(),
            };
            if s2c.is_empty() {
                // ICMP errors quoting the SYN are rejections.
                if !f.icmp_errors.is_empty() {
                    emit_icmp(f, &dest, out);
                    continue;
                }
                let span = syns.last().map_or(0, |l| l.ts.saturating_sub(first_syn.ts));
                if syns.len() < 2 || span < cfg.syn_retry_span {
                    continue;
                }
                // Always reported (issue 10): `blocked` only when the same server or the same
                // app answered elsewhere, or in a penalty box; otherwise a silent server is as
                // likely down as filtered, and without any answer in the capture the return
                // path may not even have been captured: `info`, saying which.
                let one_sided = !two_way.elsewhere(&[f.id]);
                let filtered = succeeded_elsewhere || pbox.is_some() || app_answer.is_some();
                let mut conf: f64 = if syns.len() >= 3 { 0.7 } else { 0.55 };
                if succeeded_elsewhere || pbox.is_some() {
                    conf += 0.15;
                }
                if !filtered {
                    conf = if one_sided { 0.2 } else { 0.3 };
                }
                let proof = server_answer.or(app_answer);
                let ev = HandshakeTimeoutEvidence {
                    answer_frame: proof,
                    app_answered_other_flows: app_answer.is_some(),
                    penalty_box: pbox.map(|(src, d)| PenaltyBox {
                        after_flow: src,
                        after_s: blocking::ms(d) / 1000.0,
                    }),
                    server_answered_other_flows: succeeded_elsewhere,
                    sni: sni.map(str::to_string),
                    span_s: blocking::ms(span) / 1000.0,
                    syn_frames: syns.iter().map(|p| p.frame).collect(),
                    syns: syns.len(),
                };
                out.push(Finding {
                    filter: None,
                    kind: FindingKind::HandshakeTimeout,
                    flow: Some(f.id),
                    ts: secs(first_syn.ts),
                    severity: if filtered { Severity::Blocked } else { Severity::Info },
                    confidence: conf.min(0.9),
                    summary: format!(
                        "Connection to {dest} never opened: {} SYNs sent over {:.1} s, no answer{}.",
                        syns.len(),
                        blocking::s1(span),
                        if pbox.is_some() {
                            " (shortly after a forged reset to the same server)"
                        } else if succeeded_elsewhere {
                            " although the same server answered other connections"
                        } else if app_answer.is_some() {
                            " although the same app's other connections got answers"
                        } else if one_sided {
                            "; inconclusive: nothing in this capture came back from anywhere, so answers may simply not have been captured"
                        } else if !filtered {
                            "; inconclusive: the server may be down, or a filter drops the SYNs"
                        } else {
                            ""
                        }
                    ),
                    evidence: ev.into(),
                    packets: {
                        let mut v = blocking::frames(syns.iter().map(|p| **p), 31);
                        v.extend(proof);
                        v.sort_unstable();
                        v.dedup();
                        v
                    },
                });
                continue;
            }
            if synack {
                continue;
            }
            // REJ: SYN answered by RST only.
            let rsts: Vec<&&PacketMeta> = s2c.iter().filter(|p| is_rst(p)).copied().collect();
            let Some(rst) = rsts.first() else { continue };
            if s2c.len() != rsts.len() {
                continue;
            }
            let reference = hosts.get(&f.server.ip()).copied();
            // The capture host's own refusal (a server-side capture) is never forged.
            let own = facts.vantage().sent_by_host(f.server.ip(), rst.ttl);
            let mismatch = reference
                .filter(|_| !own)
                .and_then(|r| ttl_mismatch(rst.ttl, r, cfg.ttl_hop_delta));
            let blocked = mismatch.is_some() || pbox.is_some();
            let response = rst.ts.saturating_sub(first_syn.ts);
            let ev = HandshakeRstEvidence {
                penalty_box: pbox.map(|(src, d)| PenaltyBox {
                    after_flow: src,
                    after_s: blocking::ms(d) / 1000.0,
                }),
                response_ms: response as f64 / 1e6,
                rst_frame: rst.frame,
                rst_hops: blocking::hops(rst.ttl),
                rst_ip_id: (rst.ip_id != u32::MAX).then_some(rst.ip_id),
                rst_ttl: rst.ttl,
                rst_window: rst.window,
                server_answered_other_flows: succeeded_elsewhere,
                server_ttl: reference,
                syns: syns.len(),
                ttl_reason: mismatch,
            };
            let why = if let (Some(t), Some(r)) = (mismatch.map(|_| rst.ttl), reference) {
                format!("; the refusal arrived with TTL {t} but the server's packets arrive with TTL {r}, so something on the path answered for it")
            } else if pbox.is_some() {
                "; it came right after a forged reset to the same server".to_string()
            } else {
                "; the port may simply be closed".to_string()
            };
            out.push(Finding {
                filter: None,
                kind: FindingKind::HandshakeRejected,
                flow: Some(f.id),
                ts: secs(rst.ts),
                severity: if blocked { Severity::Blocked } else { Severity::Info },
                confidence: if blocked { 0.7 } else { 0.3 },
                summary: format!(
                    "Connection to {dest} was refused with a TCP reset {:.0} ms after the SYN{why}.",
                    response as f64 / 1e6
                ),
                evidence: ev.into(),
                packets: vec![first_syn.frame, rst.frame],
            });
        }
    }
}

/// ICMP unreachable quoting a SYN that got no other answer.
fn emit_icmp(f: &Flow, dest: &str, out: &mut Vec<Finding>) {
    let Some(e) = f.icmp_errors.first().copied() else {
        return;
    };
    let (frame, ts, ty, code, from) = (e.frame, e.ts, e.kind, e.code, e.from);
    let prohibited = ty == 3 && matches!(code, 9 | 10 | 13);
    out.push(Finding {
        filter: None,
        kind: FindingKind::HandshakeRejected,
        flow: Some(f.id),
        ts: secs(ts),
        severity: if prohibited {
            Severity::Blocked
        } else {
            Severity::Info
        },
        confidence: if prohibited { 0.8 } else { 0.4 },
        summary: format!(
            "Connection to {dest} was refused by {from} with ICMP type {ty} code {code}{}.",
            if prohibited {
                " (\"administratively prohibited\": a filter)"
            } else {
                ""
            }
        ),
        evidence: HandshakeIcmpEvidence {
            icmp_code: code,
            icmp_frame: frame,
            icmp_from: from.to_string(),
            icmp_type: ty,
        }
        .into(),
        packets: vec![frame],
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::{PSH, RST};
    use crate::label::LabeledFlow;
    use crate::testkit::flows::*;

    fn run(flows: &[LabeledFlow]) -> Vec<Finding> {
        run_detector(&Handshake, flows)
    }

    fn good(id: u32) -> LabeledFlow {
        let mut g = flow(id, Transport::Tcp, "10.0.0.2:50000", "198.51.100.9:443");
        push(
            &mut g,
            &[
                pkt(100, 0, C, SYN, 1, 0, 0, 64),
                pkt(101, 10, S, SYN | ACK, 9, 2, 0, 120),
                pkt(102, 20, S, PSH | ACK, 10, 2, 100, 120),
            ],
        );
        g
    }

    #[test]
    fn syn_retries_without_answer_time_out() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        push(
            &mut f,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 64),
                pkt(2, 1000, C, SYN, 1000, 0, 0, 64),
                pkt(3, 3000, C, SYN, 1000, 0, 0, 64),
            ],
        );
        // A server that is not known to be alive: maybe down, so only `info`.
        let out = run(&[f.clone(), good(1)]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "handshake_timeout");
        assert_eq!(out[0].severity, "info");
        // The same server answered on port 80: the SYNs to 443 were filtered.
        let mut alive = good(2);
        alive.server = "203.0.113.5:80".parse().unwrap();
        let out = run(&[f.clone(), alive]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(ev(&out[0])["server_answered_other_flows"], true);
        // The SYNs and the other connection's answer, which reached the capture host.
        assert_eq!(out[0].packets, vec![1, 2, 3, 102]);
        assert_eq!(ev(&out[0])["syns"], 3);
        // One-sided capture: reported, but info and inconclusive (issue 10).
        let out = run(&[f]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, "info");
        assert!(
            out[0].summary.contains("inconclusive"),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn an_app_answering_over_ipv4_does_not_make_its_dead_ipv6_path_blocked() {
        // Happy Eyeballs: the IPv6 SYNs go unanswered, the app then works over IPv4.
        let mut v6 = flow(
            0,
            Transport::Tcp,
            "[2001:db8::2]:40000",
            "[2001:db8:1::5]:443",
        );
        push(
            &mut v6,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 64),
                pkt(2, 1000, C, SYN, 1000, 0, 0, 64),
                pkt(3, 3000, C, SYN, 1000, 0, 0, 64),
            ],
        );
        v6.class.app = Some(crate::model::App::WhatsApp);
        let mut v4 = good(1);
        v4.class.app = Some(crate::model::App::WhatsApp);
        let out = run(&[v6.clone(), v4]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, "info", "{}", out[0].summary);
        assert_eq!(ev(&out[0])["app_answered_other_flows"], false);
        // The same app answering over IPv6 elsewhere does make it filtered.
        let mut other_v6 = good(2);
        other_v6.client = "[2001:db8::2]:40001".parse().unwrap();
        other_v6.server = "[2001:db8:2::9]:443".parse().unwrap();
        other_v6.class.app = Some(crate::model::App::WhatsApp);
        let out = run(&[v6, other_v6]);
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(ev(&out[0])["app_answered_other_flows"], true);
    }

    #[test]
    fn single_syn_is_not_a_timeout() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        push(&mut f, &[pkt(1, 0, C, SYN, 1000, 0, 0, 64)]);
        assert!(run(&[f, good(1)]).is_empty());
    }

    #[test]
    fn rej_is_info_unless_fingerprint_differs() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "198.51.100.9:443");
        push(
            &mut f,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 64),
                pkt(2, 10, S, RST | ACK, 0, 1001, 0, 120),
            ],
        );
        let out = run(&[f.clone(), good(1)]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "handshake_rejected");
        assert_eq!(out[0].severity, "info");
        let mut g = flow(0, Transport::Tcp, "10.0.0.2:40000", "198.51.100.9:443");
        push(
            &mut g,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 64),
                pkt(2, 1, S, RST | ACK, 0, 1001, 0, 64),
            ],
        );
        let out = run(&[g, good(1)]);
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(ev(&out[0])["ttl_reason"], "init_ttl_class");
    }

    #[test]
    fn icmp_prohibited_is_blocked() {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        push(
            &mut f,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 64),
                pkt(3, 1000, C, SYN, 1000, 0, 0, 64),
            ],
        );
        f.icmp_errors.push(crate::flow::IcmpError {
            frame: 2,
            ts: 5_000_000,
            kind: 3,
            code: 13,
            from: "192.0.2.1".parse().unwrap(),
            quoted_ip_id: None,
        });
        let out = run(&[f, good(1)]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "handshake_rejected");
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(out[0].packets, vec![2]);
    }
}
