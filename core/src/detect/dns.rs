//! DNS tampering: `dns_injection`, `dns_bogon` and `dns_nxdomain`.
//!
//! DNS messages come from each UDP/53 flow's transactions (`crate::tx`: parsed once by
//! `proto::dns` during classification), so every message keeps its frame number, arrival time
//! and IP TTL. A flow holds the queries of one client socket; each
//! query is matched with the answers that carry its question (same name and type).
//! Limit: only the messages inside the first `FlowConfig::payload_prefix` bytes (512 by
//! default) of each direction are read, so a client that sends many queries from one socket
//! has its later transactions unjudged. Duplicated frames (same IP ID and length) are left out
//! of the prefix by the flow table, so a forged answer that copies the real one's IP ID is not
//! seen (Suricata's `dns-response-2x` trace).
//!
//! # Heuristics
//! - `dns_injection`: one query, two or more answers, and the **first** answer either arrived
//!   with another IP TTL than the last one (another initial-TTL class, or ≥ `ttl_hop_delta`
//!   hops apart: it came from another box), or arrived faster than `dns_fast_ratio` (½) of the
//!   resolver's own answer time (the last answer's delay), or carried another transaction id
//!   (an unsolicited answer). On-path injectors (the GFW's DNS poisoner; Duan et al., "Hold-On",
//!   2012) answer before the resolver and cannot forge the resolver's distance. Severity
//!   `blocked` when the answers' addresses differ, else `info`. Exact duplicates (same bytes
//!   and TTL: duplicated frames, Zeek's `dns-two-responses` trace) are not injection.
//! - `dns_injection` also fires on an NXDOMAIN followed by an answer with addresses for the
//!   same query (`nxdomain_then_answer`): a resolver answers once, so the NXDOMAIN was
//!   injected; the summary says the block did not hold (the real answer came too).
//! - `dns_bogon`: an A/AAAA answer in a private, loopback, link-local, shared (100.64/10),
//!   unspecified, multicast or reserved range (RFC 6890) for a call-app name
//!   (`classify::apps`). Severity `blocked` only when the network itself is not private
//!   (`evidence.public_evidence`: the name resolves publicly elsewhere in the capture, the
//!   device reaches a public address both ways, or the resolver hands out public addresses
//!   for other names); otherwise `info`, saying the network may be private. Other names are not judged: ad blockers and
//!   split-horizon DNS answer private addresses for them every day. Names under `.local`, `.lan`,
//!   `.home`, `.internal`, `.corp`, `.localdomain`, `.arpa`, and single-label names are skipped
//!   (split-horizon DNS is normal there).
//! - `dns_nxdomain`: NXDOMAIN (rcode 3) for a call-app name: `blocked`, confidence 0.6;
//!   `info` when another query for the same name in the capture got addresses.
//!
//! # Known false positives
//! Ad/tracker blockers (Pi-hole answers 0.0.0.0; a corporate resolver may NXDOMAIN an app by
//! policy — that is blocking too, but by the user's own network); resolvers that forward to
//! several upstreams and relay every answer (dnsmasq `--all-servers`): their answers share
//! the resolver's TTL, so only the speed test could fire.

use super::blocking::{self, ttl_mismatch, BlockingConfig};
use super::{Detector, Input};
use crate::classify::apps;
use crate::flow::{Dir, Flow, Transport};
use crate::label::LabeledFlow;
use crate::model::{FindingKind, Severity};
use crate::report::evidence::{
    DnsAnswer, DnsBogonEvidence, DnsInjectionEvidence, DnsNxdomainEvidence,
};
use crate::report::Finding;
use crate::secs;
use crate::tx::DnsTx;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The detector (emits `dns_injection`, `dns_bogon`, `dns_nxdomain`).
pub struct DnsTampering;

/// Per-message DNS facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsFact {
    pub frame: u64,
    pub ts: crate::Nanos,
    /// IP TTL / hop limit of the datagram.
    pub ip_ttl: u8,
    pub txid: u16,
    pub response: bool,
    pub rcode: u8,
    pub qname: String,
    pub qtype: u16,
    /// A/AAAA addresses of the answer section (at most 32).
    pub addrs: Vec<IpAddr>,
    /// Smallest record TTL of the answer section.
    pub min_ttl: Option<u32>,
    /// The payload's bytes hash (FNV-1a), to recognise exact duplicates.
    pub digest: u64,
}

/// The detector's rule over a recorded DNS message: one question and a standard opcode (≤ 2).
pub fn fact(m: &DnsTx) -> Option<DnsFact> {
    if m.qdcount != 1 || m.opcode > 2 {
        return None;
    }
    Some(DnsFact {
        frame: m.at.frame,
        ts: m.at.ts,
        ip_ttl: m.at.ip_ttl,
        txid: m.id,
        response: m.response,
        rcode: m.rcode,
        qname: m.qname.clone(),
        qtype: m.qtype,
        addrs: m.answers.iter().filter_map(|r| r.addr).collect(),
        min_ttl: m.answers.iter().map(|r| r.ttl).min(),
        digest: m.digest,
    })
}

/// The DNS messages of one flow, client's (queries) and server's (answers), from the flow's
/// transactions.
pub fn messages(f: &LabeledFlow) -> (Vec<DnsFact>, Vec<DnsFact>) {
    let of = |dir: Dir, response: bool| -> Vec<DnsFact> {
        f.class
            .tx
            .dns
            .iter()
            .filter(|m| m.at.dir == dir)
            .filter_map(fact)
            .filter(|m| m.response == response)
            .collect()
    };
    (of(Dir::C2s, false), of(Dir::S2c, true))
}

/// True for addresses no public name should resolve to (RFC 6890 special-purpose ranges).
pub fn is_bogon(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            let [a, b, ..] = v.octets();
            v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v.to_ipv4_mapped().is_some_and(|m| is_bogon(IpAddr::V4(m)))
        }
    }
}

/// Names where private answers are normal.
fn local_name(n: &str) -> bool {
    let n = n.trim_end_matches('.');
    !n.contains('.')
        || [
            ".local",
            ".lan",
            ".home",
            ".internal",
            ".corp",
            ".localdomain",
            ".arpa",
            ".home.arpa",
            ".localhost",
        ]
        .iter()
        .any(|s| n.ends_with(s))
}

fn answer(m: &DnsFact, query_ts: crate::Nanos) -> DnsAnswer {
    DnsAnswer {
        addrs: m.addrs.iter().map(|a| a.to_string()).collect(),
        delay_ms: m.ts.saturating_sub(query_ts) as f64 / 1e6,
        frame: m.frame,
        hops: blocking::hops(m.ip_ttl),
        ip_ttl: m.ip_ttl,
        rcode: m.rcode,
        record_ttl: m.min_ttl,
        txid: m.txid,
    }
}

impl Detector for DnsTampering {
    fn name(&self) -> &'static str {
        "dns"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let cfg = &input.config.blocking;
        let dns_flows: Vec<(&LabeledFlow, Vec<DnsFact>, Vec<DnsFact>)> = input
            .flows
            .iter()
            .filter(|f| f.transport == Transport::Udp && f.server.port() == 53)
            .map(|f| {
                let (q, a) = messages(f);
                (f, q, a)
            })
            .collect();
        // Names that resolved to public addresses somewhere in the capture.
        let resolved: BTreeSet<&str> = dns_flows
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .filter(|m| m.rcode == 0 && m.addrs.iter().any(|ip| !is_bogon(*ip)))
            .map(|m| m.qname.as_str())
            .collect();
        // Is the network itself private? A private answer is tampering only when the device
        // reaches public addresses, the resolver hands them out, or the name resolves
        // publicly elsewhere (issue 10, item 9).
        let reaches_public = input
            .flows
            .iter()
            .any(|g| g.dir[0].packets > 0 && g.dir[1].packets > 0 && !is_bogon(g.server.ip()));
        let resolver_public = !resolved.is_empty();
        let mut bogon_names: BTreeSet<String> = BTreeSet::new();
        for (f, queries, answers) in &dns_flows {
            // Each query once (retransmissions share txid and name).
            let mut seen: BTreeSet<(u16, &str, u16)> = BTreeSet::new();
            for q in queries {
                if !seen.insert((q.txid, q.qname.as_str(), q.qtype)) {
                    continue;
                }
                let mine: Vec<&DnsFact> = answers
                    .iter()
                    .filter(|a| a.qname == q.qname && a.qtype == q.qtype && a.ts >= q.ts)
                    .filter(|a| a.txid == q.txid || !queries.iter().any(|o| o.txid == a.txid))
                    .collect();
                if let Some(x) = injection(f, q, &mine, cfg) {
                    out.push(x);
                }
                let Some(first) = mine.first() else { continue };
                // Wildcards and other non-hostnames are not lookups an app makes.
                let hostname = q
                    .qname
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
                let app = apps::lookup(&q.qname).map(|(a, _)| a).filter(|_| hostname);
                if first.rcode == 3 {
                    if let Some(app) = app {
                        let elsewhere = resolved.contains(q.qname.as_str());
                        out.push(Finding {
                            filter: None,
                            kind: FindingKind::DnsNxdomain,
                            flow: Some(f.id),
                            ts: secs(first.ts),
                            severity: if elsewhere {
                                Severity::Info
                            } else {
                                Severity::Blocked
                            },
                            confidence: if elsewhere { 0.3 } else { 0.6 },
                            summary: format!(
                                "The resolver {} said {} ({}) does not exist (NXDOMAIN){}.",
                                f.server.ip(),
                                q.qname,
                                app.name(),
                                if elsewhere {
                                    ", although another lookup of it succeeded"
                                } else {
                                    ""
                                }
                            ),
                            evidence: DnsNxdomainEvidence {
                                answer: answer(first, q.ts),
                                app,
                                name: q.qname.clone(),
                                query_frame: q.frame,
                                resolved_elsewhere: elsewhere,
                                resolver: f.server.ip().to_string(),
                            }
                            .into(),
                            packets: vec![q.frame, first.frame],
                        });
                    }
                }
                let bogons: Vec<IpAddr> = first
                    .addrs
                    .iter()
                    .copied()
                    .filter(|ip| is_bogon(*ip))
                    .collect();
                let Some(app) = app else { continue };
                if !bogons.is_empty()
                    && !local_name(&q.qname)
                    && bogon_names.insert(q.qname.clone())
                {
                    let public = if resolved.contains(q.qname.as_str()) {
                        Some("name_resolves_publicly")
                    } else if reaches_public {
                        Some("device_reaches_public")
                    } else if resolver_public {
                        Some("resolver_answers_public")
                    } else {
                        None
                    };
                    out.push(Finding {
                        filter: None,
                        kind: FindingKind::DnsBogon,
                        flow: Some(f.id),
                        ts: secs(first.ts),
                        severity: if public.is_some() {
                            Severity::Blocked
                        } else {
                            Severity::Info
                        },
                        confidence: if public.is_some() { 0.7 } else { 0.3 },
                        summary: format!(
                            "The resolver {} answered {} ({}) with {}, an address that cannot be on the Internet{}.",
                            f.server.ip(),
                            q.qname,
                            app.name(),
                            bogons.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", "),
                            if public.is_some() {
                                ""
                            } else {
                                "; inconclusive: nothing in this capture reaches or names a public address, so the network itself may be private"
                            }
                        ),
                        evidence: DnsBogonEvidence {
                            answer: answer(first, q.ts),
                            app,
                            bogons: bogons.iter().map(|b| b.to_string()).collect(),
                            name: q.qname.clone(),
                            public_evidence: public,
                            query_frame: q.frame,
                            resolver: f.server.ip().to_string(),
                        }
                        .into(),
                        packets: vec![q.frame, first.frame],
                    });
                }
            }
        }
    }
}

/// Two or more answers to one query, the first one not from the resolver.
fn injection(f: &Flow, q: &DnsFact, answers: &[&DnsFact], cfg: &BlockingConfig) -> Option<Finding> {
    let (first, last) = (answers.first()?, answers.last()?);
    if answers.len() < 2 {
        return None;
    }
    if answers
        .iter()
        .all(|a| a.digest == first.digest && a.ip_ttl == first.ip_ttl)
    {
        return None; // duplicated frames
    }
    let ttl = ttl_mismatch(first.ip_ttl, last.ip_ttl, cfg.ttl_hop_delta);
    let (d1, d2) = (first.ts.saturating_sub(q.ts), last.ts.saturating_sub(q.ts));
    let fast = d2 > 0 && (d1 as f64) < cfg.dns_fast_ratio * d2 as f64;
    let txid = first.txid != q.txid;
    // NXDOMAIN first, then an answer with addresses: a resolver gives one answer, so the
    // first was injected (the real one still came; a stub resolver takes the first).
    let nx_then_real = first.rcode == 3
        && answers
            .iter()
            .skip(1)
            .any(|a| a.rcode == 0 && !a.addrs.is_empty());
    if ttl.is_none() && !fast && !txid && !nx_then_real {
        return None;
    }
    let a1: BTreeSet<IpAddr> = first.addrs.iter().copied().collect();
    let a2: BTreeSet<IpAddr> = last.addrs.iter().copied().collect();
    let differ = a1 != a2 || first.rcode != last.rcode;
    let app = apps::lookup(&q.qname).map(|(a, _)| a);
    let mut why = Vec::new();
    if let Some(_r) = ttl {
        why.push(format!(
            "it arrived with IP TTL {} where the resolver's answer had {}",
            first.ip_ttl, last.ip_ttl
        ));
    }
    if fast {
        why.push(format!(
            "it came after {:.1} ms, the resolver's after {:.1} ms",
            d1 as f64 / 1e6,
            d2 as f64 / 1e6
        ));
    }
    if txid {
        why.push("its transaction id did not match the query".into());
    }
    if nx_then_real {
        why.push("it said the name does not exist, and then the real answer came: a resolver answers once, so the block was injected (it did not hold: the real answer got through, but the device takes the first)".into());
    }
    let mut tests: Vec<&str> = Vec::new();
    if ttl.is_some() {
        tests.push("ttl");
    }
    if fast {
        tests.push("faster_than_resolver");
    }
    if txid {
        tests.push("txid_mismatch");
    }
    if nx_then_real {
        tests.push("nxdomain_then_answer");
    }
    let fmt_addrs = |s: &BTreeSet<IpAddr>| {
        if s.is_empty() {
            "no address".to_string()
        } else {
            s.iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    Some(Finding {
        filter: None,
        kind: FindingKind::DnsInjection,
        flow: Some(f.id),
        ts: secs(first.ts),
        severity: if differ { Severity::Blocked } else { Severity::Info },
        confidence: if differ && ttl.is_some() { 0.9 } else if differ { 0.7 } else { 0.4 },
        summary: format!(
            "Two answers came back for {}{}: the first ({}) was forged on the path — {}; the resolver's answer was {}.",
            q.qname,
            app.map(|a| format!(" ({})", a.name())).unwrap_or_default(),
            fmt_addrs(&a1),
            why.join("; "),
            fmt_addrs(&a2)
        ),
        evidence: DnsInjectionEvidence {
            answers: answers.iter().take(8).map(|a| answer(a, q.ts)).collect(),
            answers_differ: differ,
            app,
            name: q.qname.clone(),
            query_frame: q.frame,
            resolver: f.server.ip().to_string(),
            tests,
            ttl_reason: ttl,
        }
        .into(),
        packets: {
            let mut v = vec![q.frame];
            v.extend(answers.iter().take(8).map(|a| a.frame));
            v
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::flows::*;
    use serde_json::json;

    fn run(flows: &[LabeledFlow]) -> Vec<Finding> {
        run_detector(&DnsTampering, flows)
    }

    fn name(n: &str) -> Vec<u8> {
        let mut v = Vec::new();
        for l in n.split('.') {
            v.push(l.len() as u8);
            v.extend_from_slice(l.as_bytes());
        }
        v.push(0);
        v
    }

    fn query(id: u16, n: &str) -> Vec<u8> {
        let mut m = id.to_be_bytes().to_vec();
        m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        m.extend(name(n));
        m.extend_from_slice(&[0, 1, 0, 1]);
        m
    }

    fn answer(id: u16, n: &str, rcode: u8, addrs: &[[u8; 4]], ttl: u32) -> Vec<u8> {
        let mut m = id.to_be_bytes().to_vec();
        m.extend_from_slice(&[0x81, 0x80 | rcode, 0, 1]);
        m.extend_from_slice(&(addrs.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend(name(n));
        m.extend_from_slice(&[0, 1, 0, 1]);
        for a in addrs {
            m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
            m.extend_from_slice(&ttl.to_be_bytes());
            m.extend_from_slice(&[0, 4]);
            m.extend_from_slice(a);
        }
        m
    }

    /// A DNS flow: (ms, dir, ip ttl, payload).
    fn dns(msgs: &[(i64, Dir, u8, Vec<u8>)]) -> LabeledFlow {
        let mut f = flow(0, Transport::Udp, "10.0.0.2:53000", "192.0.2.53:53");
        for (i, (ms, d, ttl, b)) in msgs.iter().enumerate() {
            push(
                &mut f,
                &[pkt(i as u64 + 1, *ms, *d, 0, 0, 0, b.len() as u32, *ttl)],
            );
            prefix(&mut f, *d, b);
        }
        f
    }

    #[test]
    fn forged_first_answer_is_injection() {
        let f = dns(&[
            (0, Dir::C2s, 64, query(7, "web.whatsapp.com")),
            (
                2,
                Dir::S2c,
                62,
                answer(7, "web.whatsapp.com", 0, &[[10, 10, 34, 34]], 300),
            ),
            (
                40,
                Dir::S2c,
                57,
                answer(7, "web.whatsapp.com", 0, &[[157, 240, 1, 53]], 60),
            ),
        ]);
        let out = run(&[f]);
        let kinds: Vec<&str> = out.iter().map(|x| x.kind.as_str()).collect();
        assert_eq!(kinds, vec!["dns_injection", "dns_bogon"], "{out:?}");
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(out[0].packets, vec![1, 2, 3]);
        assert_eq!(ev(&out[0])["tests"], json!(["ttl", "faster_than_resolver"]));
        assert!(out[0].summary.contains("10.10.34.34"), "{}", out[0].summary);
        assert_eq!(out[1].severity, "blocked");
        assert_eq!(ev(&out[1])["app"], "whatsapp");
    }

    #[test]
    fn nxdomain_then_the_real_answer_is_injection_and_private_networks_are_inconclusive() {
        // Same TTL, no speed difference: only the two answers betray the NXDOMAIN.
        let f = dns(&[
            (0, Dir::C2s, 64, query(7, "g.whatsapp.net")),
            (20, Dir::S2c, 57, answer(7, "g.whatsapp.net", 3, &[], 0)),
            (
                25,
                Dir::S2c,
                57,
                answer(7, "g.whatsapp.net", 0, &[[157, 240, 1, 53]], 60),
            ),
        ]);
        let out = run(&[f]);
        let inj = out
            .iter()
            .find(|x| x.kind == "dns_injection")
            .expect("injection");
        assert_eq!(inj.severity, "blocked");
        assert_eq!(ev(inj)["tests"], json!(["nxdomain_then_answer"]));
        assert!(inj.summary.contains("did not hold"), "{}", inj.summary);
        // A private answer on a network where nothing public shows: info, and it says why.
        let g = dns(&[
            (0, Dir::C2s, 64, query(1, "g.whatsapp.net")),
            (
                20,
                Dir::S2c,
                64,
                answer(1, "g.whatsapp.net", 0, &[[10, 1, 2, 3]], 60),
            ),
        ]);
        let mut g = g;
        g.server = "10.0.0.53:53".parse().unwrap();
        let out = run(&[g]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(
            (out[0].kind.as_str(), out[0].severity.as_str()),
            ("dns_bogon", "info")
        );
        assert!(
            out[0].summary.contains("may be private"),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn duplicate_answers_are_not_injection() {
        let a = answer(7, "example.org", 0, &[[93, 184, 216, 34]], 300);
        let f = dns(&[
            (0, Dir::C2s, 64, query(7, "example.org")),
            (20, Dir::S2c, 57, a.clone()),
            (20, Dir::S2c, 57, a),
        ]);
        assert!(run(&[f]).is_empty());
    }

    #[test]
    fn nxdomain_for_call_app_only() {
        let f = dns(&[
            (0, Dir::C2s, 64, query(1, "g.whatsapp.net")),
            (20, Dir::S2c, 57, answer(1, "g.whatsapp.net", 3, &[], 0)),
            (30, Dir::C2s, 64, query(2, "nosuch.example.org")),
            (50, Dir::S2c, 57, answer(2, "nosuch.example.org", 3, &[], 0)),
        ]);
        let out = run(&[f]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].kind, "dns_nxdomain");
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(out[0].packets, vec![1, 2]);
    }

    #[test]
    fn local_names_may_be_private() {
        let f = dns(&[
            (0, Dir::C2s, 64, query(1, "printer.lan")),
            (
                20,
                Dir::S2c,
                64,
                answer(1, "printer.lan", 0, &[[192, 168, 1, 9]], 60),
            ),
        ]);
        assert!(run(&[f]).is_empty());
        assert!(is_bogon("100.64.1.1".parse().unwrap()) && !is_bogon("8.8.8.8".parse().unwrap()));
        assert!(
            is_bogon("fe80::1".parse().unwrap()) && !is_bogon("2001:4860::8888".parse().unwrap())
        );
    }

    #[test]
    fn truncated_messages_are_not_recorded() {
        let q = query(1, "a.example");
        for cut in 0..q.len() - 4 {
            let f = dns(&[(0, C, 64, q[..cut].to_vec())]);
            let f = &recorded(&[f])[0];
            assert!(messages(f).0.is_empty(), "cut {cut}");
        }
        let f = dns(&[(0, C, 64, q)]);
        assert_eq!(messages(&recorded(&[f])[0]).0.len(), 1);
    }

    /// Classify and detect agree: the message the classifier labelled DNS is the one the
    /// detector reads, recorded during the engine's pass (not re-parsed).
    #[test]
    fn engine_records_what_the_detector_reads() {
        let q = query(7, "web.whatsapp.com");
        let flows = through_engine("10.0.0.2:40000", "192.0.2.53:53", &[(C, 5, &q)]);
        let f = &flows[0];
        assert!(f.class.has_protocol(crate::model::Protocol::Dns));
        let (qs, _) = messages(f);
        assert_eq!(qs.len(), 1);
        assert_eq!(
            (qs[0].frame, qs[0].txid, qs[0].qname.as_str()),
            (1, 7, "web.whatsapp.com")
        );
        assert_eq!(f.class.tx.datagrams_in_prefix, [1, 0]);
    }
}
