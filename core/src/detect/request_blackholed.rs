//! `request_blackholed`: the TCP handshake worked, the request went out, and then nothing —
//! the server never answered, not even with an ACK (issue 10, item 7).
//!
//! # Heuristic
//! A TCP connection whose server answered the SYN (a SYN-ACK reached the capture), whose
//! client then sent its first payload (*the request*: an HTTP request, or any other first
//! bytes), and after which **no** packet of the server arrived: the request was
//! retransmitted (≥ `request_min_copies` copies, 3, or 2 spanning ≥ `request_min_span`, 1 s:
//! Linux's first retransmission comes after about 200 ms + RTT and doubles, RFC 6298) or the
//! client's FIN after it went unanswered for as long. What matched the request (a filter's
//! trigger) is named: the `Host` of an HTTP request, else the connection's server name.
//!
//! Judged against a **control**, per host and trigger: `blocked` when another connection in
//! the capture got an answer to its request — the same server for another trigger
//! (confidence 0.85: the server is up, only this request dies) or another server (0.7: the
//! path works). Without one the finding is `info` and says it is inconclusive: the server
//! may simply be down, or the whole path cut.
//!
//! TLS ClientHellos that meet the same fate are `tls_sni_drop` (that detector's); they are
//! not reported twice. A capture taken on the server itself is not judged (its silence is
//! its own), and the finding cites the SYN-ACK, a packet that reached the capture host,
//! beside the request copies it sent.
//!
//! A request sent TTL-limited (a probe run's, [`super::blocking_hop`]) that a router answered
//! with time exceeded expired on the way and is no hole; a silent one counts only when a
//! request to the same server with no more TTL got an answer (the [`super::facts::Facts::reach`]
//! fact). A server packet after the client's own reset (an RFC 5961 challenge ACK) answers the
//! reset, not the request.
//!
//! # Known false positives
//! A server that accepts connections and then hangs (an overloaded application with a full
//! accept queue still completes handshakes); heavy loss of everything the server sends after
//! the handshake; a middlebox that drops the server's answers rather than the request (the
//! same thing to the user, but not always a filter).

use super::blocking::{has, is_dup, s1, BlockingConfig, SEC};
use super::blocking_hop::FlowProbe;
use super::vantage::Side;
use super::{Detector, Input};
use crate::decode::tcp_flags::{ACK, FIN, RST, SYN};
use crate::flow::{Dir, PacketMeta, Transport};
use crate::label::LabeledFlow;
use crate::model::{FindingKind, Severity};
use crate::report::evidence::RequestBlackholedEvidence;
use crate::report::Finding;
use crate::secs;
use crate::tx::TlsKind;
use crate::Nanos;

/// The detector (emits `request_blackholed`).
pub struct RequestBlackholed;

/// Copies of the request (first send included) that make it black-holed on their own…
pub const MIN_COPIES: usize = 3;
/// …or this many copies spanning [`MIN_SPAN`].
pub const MIN_COPIES_SPANNED: usize = 2;
/// The span two copies (or the request and an unanswered FIN) must cover.
pub const MIN_SPAN: Nanos = SEC;

/// A black-holed request found in one flow.
struct Hole<'a> {
    synack: &'a PacketMeta,
    copies: Vec<&'a PacketMeta>,
    fin: Option<&'a PacketMeta>,
    span: Nanos,
    trigger: Option<String>,
    trigger_kind: Option<&'static str>,
}

fn hole<'a>(
    f: &'a LabeledFlow,
    _cfg: &BlockingConfig,
    probe: Option<&FlowProbe>,
    reach: Option<u8>,
) -> Option<Hole<'a>> {
    let tx = &f.class.tx;
    if tx
        .tls_opening(Dir::C2s)
        .is_some_and(|t| t.kind == TlsKind::ClientHello)
    {
        return None; // tls_sni_drop's
    }
    let pk: Vec<&PacketMeta> = f.packets.iter().filter(|p| !is_dup(p)).collect();
    let synack = *pk.iter().find(|p| p.dir == Dir::S2c && has(p, SYN | ACK))?;
    let req = *pk
        .iter()
        .find(|p| p.dir == Dir::C2s && p.payload_len > 0 && !has(p, SYN) && p.ts >= synack.ts)?;
    // The client's own reset ends the wait: what the server sends after it answers the reset
    // (an RFC 5961 challenge ACK), not the request.
    let end = pk
        .iter()
        .filter(|p| p.dir == Dir::C2s && has(p, RST) && p.ts >= req.ts)
        .map(|p| p.ts)
        .next()
        .unwrap_or(Nanos::MAX);
    if pk
        .iter()
        .any(|p| p.dir == Dir::S2c && p.ts >= req.ts && p.ts < end)
    {
        return None; // the server said something after the request
    }
    // A TTL-limited request (a probe run's): one a router answered with time exceeded
    // expired, it was not black-holed; a silent one counts only when a request sent with no
    // more TTL got an answer from the same server (so the TTL was enough to reach it).
    if super::blocking_hop::unreached(probe, reach) {
        return None;
    }
    let copies: Vec<&PacketMeta> = pk
        .iter()
        .copied()
        .filter(|p| p.dir == Dir::C2s && p.payload_len > 0 && p.seq == req.seq)
        .collect();
    let fin = pk
        .iter()
        .copied()
        .find(|p| p.dir == Dir::C2s && has(p, FIN) && p.ts >= req.ts);
    // Count only what came before the client's own reset.
    let last = pk
        .iter()
        .filter(|p| p.dir == Dir::C2s && p.ts < end)
        .map(|p| p.ts)
        .max()
        .unwrap_or(req.ts);
    let span = last.saturating_sub(req.ts);
    let enough = copies.len() >= MIN_COPIES
        || (copies.len() >= MIN_COPIES_SPANNED && span >= MIN_SPAN)
        || (fin.is_some() && span >= MIN_SPAN);
    if !enough {
        return None;
    }
    let (trigger, trigger_kind) = match super::blocking_hop::trigger(f) {
        Some((t, k)) => (Some(t), Some(k)),
        None => (None, None),
    };
    Some(Hole {
        synack,
        copies,
        fin,
        span,
        trigger,
        trigger_kind,
    })
}

/// A connection that got an answer to its request: the client sent payload and the server
/// sent payload after it.
fn answered(f: &LabeledFlow) -> bool {
    if f.transport != Transport::Tcp {
        return false;
    }
    let first_req = f
        .packets
        .iter()
        .find(|p| p.dir == Dir::C2s && p.payload_len > 0)
        .map(|p| p.ts);
    first_req.is_some_and(|t| {
        f.packets
            .iter()
            .any(|p| p.dir == Dir::S2c && p.payload_len > 0 && p.ts >= t)
    })
}

impl Detector for RequestBlackholed {
    fn name(&self) -> &'static str {
        "request_blackholed"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let cfg = &input.config.blocking;
        let vantage = input.facts().vantage();
        let probes = input.facts().probes();
        // Per server address, the lowest TTL a request that got an answer was sent with
        // (only asked about when a TTL-limited request went unanswered).
        let reach = input.facts().reach();
        let holes: Vec<(&LabeledFlow, Hole<'_>)> = input
            .flows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.transport == Transport::Tcp)
            .filter(|(_, f)| !(vantage.side == Side::Server && vantage.host == Some(f.server.ip())))
            .filter_map(|(i, f)| {
                let probe = probes.get(i).and_then(|p| p.as_deref());
                let r = reach.get(&f.server.ip()).copied();
                hole(f, cfg, probe, r).map(|h| (f, h))
            })
            .collect();
        if holes.is_empty() {
            return;
        }
        // Controls: connections whose request was answered (one scan of the flows): the first
        // two per server address and overall, so each hole finds one other than itself.
        let mut by_server: std::collections::BTreeMap<std::net::IpAddr, Vec<&LabeledFlow>> =
            Default::default();
        let mut first_two: Vec<&LabeledFlow> = Vec::new();
        for c in input.flows.iter().filter(|f| answered(f)) {
            let v = by_server.entry(c.server.ip()).or_default();
            if v.len() < 2 {
                v.push(c);
            }
            if first_two.len() < 2 {
                first_two.push(c);
            }
        }
        for (f, h) in holes {
            let same = by_server
                .get(&f.server.ip())
                .and_then(|v| v.iter().find(|c| c.id != f.id));
            let other = first_two.iter().find(|c| c.id != f.id);
            let (control, control_flow, severity, confidence) = match (same, other) {
                (Some(c), _) => ("same_server", Some(c.id), Severity::Blocked, 0.85),
                (None, Some(c)) => ("other_server", Some(c.id), Severity::Blocked, 0.7),
                _ => ("none", None, Severity::Info, 0.3),
            };
            let what = match (&h.trigger, h.trigger_kind) {
                (Some(t), Some("http_host")) => format!("the HTTP request for \"{t}\""),
                (Some(t), _) => format!("the request to \"{t}\""),
                _ => "the request".to_string(),
            };
            let sent = match (h.copies.len(), h.fin.is_some()) {
                (n, true) => format!(
                    "sent {n} time{} and closed with a FIN",
                    if n == 1 { "" } else { "s" }
                ),
                (n, false) => format!("sent {n} times"),
            };
            let tail = match (control, control_flow) {
                ("same_server", Some(c)) => format!(
                    "the same server answered another request (flow {c}), so only this request is dropped"
                ),
                ("other_server", Some(c)) => {
                    format!("other connections got answers (flow {c}), so the path works")
                }
                _ => "inconclusive: no other connection in this capture got an answer, so the server may be down or the whole path cut".to_string(),
            };
            let summary = format!(
                "Connection to {} opened, but {what} was never answered — {sent} over {:.1} s, nothing came back, not even an acknowledgement; {tail}.",
                f.server,
                s1(h.span)
            );
            let mut packets: Vec<u64> = vec![h.synack.frame];
            packets.extend(h.copies.iter().map(|p| p.frame));
            packets.extend(h.fin.map(|p| p.frame));
            packets.sort_unstable();
            packets.dedup();
            packets.truncate(32);
            out.push(Finding {
                filter: None,
                kind: FindingKind::RequestBlackholed,
                flow: Some(f.id),
                ts: secs(h.copies.first().map_or(h.synack.ts, |p| p.ts)),
                severity,
                confidence,
                summary,
                evidence: RequestBlackholedEvidence {
                    control,
                    control_flow,
                    fin_unanswered: h.fin.is_some(),
                    request_frames: h.copies.iter().map(|p| p.frame).take(32).collect(),
                    retransmissions: h.copies.len().saturating_sub(1),
                    span_s: s1(h.span),
                    synack_frame: h.synack.frame,
                    trigger: h.trigger,
                    trigger_kind: h.trigger_kind,
                }
                .into(),
                packets,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::PSH;
    use crate::testkit::flows::*;

    fn run(flows: &[LabeledFlow]) -> Vec<Finding> {
        run_detector(&RequestBlackholed, flows)
    }

    /// A GET for `host` on flow `id` to `server`, retransmitted at 0.3, 0.9 and 2.1 s, then a FIN.
    fn dropped(id: u32, server: &str, host: &str) -> LabeledFlow {
        let mut f = flow(id, Transport::Tcp, "10.0.0.2:40000", server);
        push(&mut f, &tcp_handshake());
        push(
            &mut f,
            &[
                pkt(4, 30, C, PSH | ACK, 1001, 5001, 60, 64),
                pkt(5, 330, C, PSH | ACK, 1001, 5001, 60, 64),
                pkt(6, 930, C, PSH | ACK, 1001, 5001, 60, 64),
                pkt(7, 2130, C, FIN | PSH | ACK, 1001, 5001, 60, 64),
            ],
        );
        prefix(
            &mut f,
            C,
            format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes(),
        );
        f
    }

    fn answered_flow(id: u32, server: &str) -> LabeledFlow {
        let mut f = flow(id, Transport::Tcp, "10.0.0.2:40010", server);
        push(&mut f, &tcp_handshake());
        push(
            &mut f,
            &[
                pkt(4, 30, C, PSH | ACK, 1001, 5001, 60, 64),
                pkt(5, 50, S, PSH | ACK, 5001, 1061, 500, 117),
            ],
        );
        f
    }

    #[test]
    fn dropped_request_with_an_answered_control_on_the_same_server_is_blocked() {
        let out = run(&[
            answered_flow(0, "203.0.113.5:80"),
            dropped(1, "203.0.113.5:80", "blocked.example"),
        ]);
        assert_eq!(out.len(), 1, "{out:?}");
        let x = &out[0];
        assert_eq!(
            (x.kind.as_str(), x.severity.as_str()),
            ("request_blackholed", "blocked")
        );
        let e = ev(x);
        assert_eq!(e["control"], "same_server");
        assert_eq!(e["control_flow"], 0);
        assert_eq!(e["trigger"], "blocked.example");
        assert_eq!(e["trigger_kind"], "http_host");
        assert_eq!(e["retransmissions"], 3);
        assert_eq!(e["fin_unanswered"], true);
        // The SYN-ACK (which reached the capture host) is cited beside the copies it sent.
        assert_eq!(x.packets, vec![2, 4, 5, 6, 7]);
        assert!(x.summary.contains("blocked.example"), "{}", x.summary);
    }

    #[test]
    fn without_a_control_it_is_inconclusive_and_says_why() {
        let out = run(&[dropped(1, "203.0.113.5:80", "blocked.example")]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, "info");
        assert_eq!(ev(&out[0])["control"], "none");
        assert!(
            out[0].summary.contains("inconclusive"),
            "{}",
            out[0].summary
        );
        // Another server's answer is a control too.
        let out = run(&[
            dropped(1, "203.0.113.5:80", "blocked.example"),
            answered_flow(2, "198.51.100.9:80"),
        ]);
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(ev(&out[0])["control"], "other_server");
    }

    #[test]
    fn any_answer_after_the_request_or_too_short_a_wait_is_not_a_black_hole() {
        // The server ACKed the request (then went quiet): it got it.
        let mut f = dropped(1, "203.0.113.5:80", "x.example");
        push(&mut f, &[pkt(8, 2200, S, ACK, 5001, 1062, 0, 117)]);
        assert!(run(&[f, answered_flow(0, "203.0.113.5:80")]).is_empty());
        // One copy and the capture ends 0.2 s later: too short to tell.
        let mut g = flow(1, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(&mut g, &tcp_handshake());
        push(
            &mut g,
            &[
                pkt(4, 30, C, PSH | ACK, 1001, 5001, 60, 64),
                pkt(5, 230, C, PSH | ACK, 1001, 5001, 60, 64),
            ],
        );
        assert!(run(&[g, answered_flow(0, "203.0.113.5:80")]).is_empty());
        // A black-holed ClientHello is tls_sni_drop's.
        let mut h = dropped(1, "203.0.113.5:443", "x.example");
        h.dir[0].payload_prefix = client_hello("blocked.example");
        assert!(run(&[h, answered_flow(0, "203.0.113.5:443")]).is_empty());
    }

    #[test]
    fn a_ttl_limited_request_that_expired_is_not_black_holed_and_a_challenge_ack_hides_nothing() {
        // The GET of `dropped` sent with TTL 3, each copy answered by a router's time exceeded.
        let mut f = dropped(1, "203.0.113.5:80", "blocked.example");
        for p in f.packets.iter_mut().filter(|p| p.payload_len > 0) {
            p.ttl = 3;
        }
        let copies: Vec<(u64, i64)> = f
            .packets
            .iter()
            .filter(|p| p.payload_len > 0)
            .map(|p| (p.frame, p.ts))
            .collect();
        for (fr, ts) in copies {
            f.icmp_errors.push(crate::flow::IcmpError {
                frame: fr + 100,
                ts: ts + 1,
                kind: 11,
                code: 0,
                from: "192.0.2.3".parse().unwrap(),
                quoted_ip_id: Some((fr as u32 * 7) as u16),
            });
        }
        assert!(run(&[answered_flow(0, "203.0.113.5:80"), f]).is_empty());
        // The client's own reset, then the server's challenge ACK (RFC 5961): still a hole.
        let mut g = dropped(1, "203.0.113.5:80", "blocked.example");
        push(
            &mut g,
            &[
                pkt(8, 2300, C, RST | ACK, 1062, 5001, 0, 64),
                pkt(9, 2301, S, ACK, 5001, 1001, 0, 117),
            ],
        );
        let out = run(&[answered_flow(0, "203.0.113.5:80"), g]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].severity, "blocked");
    }
}
