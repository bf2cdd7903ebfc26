//! `blocking_hop`: where on the path a blocked request's answers stop, from a TTL-limited
//! probe run (issue 10, item 7) — the traceroute-style runs of censorship measurement tools
//! (CenTrace, Raman et al., "Network Measurement Methods for Locating and Examining
//! Censorship Devices", CoNEXT 2022; OONI and Quack-style path probes).
//!
//! # The probe fact
//! A connection is a *probe* when its request (the client's first payload) was sent with a
//! TTL (hop limit) below the client's SYN's: a tool completed the handshake with the normal
//! TTL, then set `IP_TTL` and sent the request, so it expires at hop *TTL* unless something
//! before that hop answers or drops it. [`flow_probe`] lists the request's copies with their
//! TTLs and, for each, the ICMP time exceeded that quoted it (matched by the quoted IPv4 ID,
//! else the latest packet of the flow sent before the error). It is a shared fact
//! ([`super::facts::Facts::probes`]): `request_blackholed` does not call an expired request
//! black-holed, `http_block_page` calls an answer to a request that expired before reaching
//! the server injected (`REQUEST_EXPIRED`), and this detector reads whole runs.
//!
//! # Heuristic
//! A *run* is the set of probes to one server (address and port) carrying one trigger (the
//! HTTP `Host`, else the TLS server name) whose requests were sent with at least
//! [`MIN_RUN_TTLS`] different TTLs — one connection per TTL, or one connection whose
//! retransmissions step the TTL up; connections to the same server and trigger with the
//! normal TTL join it as the far end of the run. Per TTL, its outcome (the most telling one
//! over the run's requests sent with that TTL):
//!
//! | outcome | when |
//! | --- | --- |
//! | `injected` | an answer came that `http_block_page` judged injected (any test, the page look alone included) or a reset `rst_injection` judged forged, or any answer (data, FIN, RST) to a request a router had already expired ([`FlowProbe::expired_before`]: it cannot be the server's) |
//! | `server` | the server's answer (data, FIN or RST that no test flags) |
//! | `expired` | no answer, an ICMP time exceeded quoting the request (the router that sent it is hop *TTL*) |
//! | `silent` | nothing at all |
//!
//! The blocking starts at the smallest TTL *t* from which every TTL of the run is `injected`
//! or `silent` (so a run whose highest TTLs got past has none, whatever a silent router in
//! the middle did). The last hop that answered is the highest TTL below *t* whose request
//! expired, and its address. An injected answer at *t* puts the injector beyond that hop and
//! no further than hop *t* ("between hop t−1 and hop t"); silence from *t* on puts the drop
//! after hop *t*−1 forwarded the request (in that router's forwarding path, or before hop
//! *t* checked the TTL).
//!
//! Judged against a **control**: another run (another trigger) through the same server —
//! else any other run — whose request with a TTL ≥ *t* got past (expired at a hop ≥ *t*, or
//! reached the server). Severity: an injected onset is `blocked` when the answer at *t* was
//! judged on more than its look (`conclusive` or two fingerprints, e.g. `REQUEST_EXPIRED`),
//! confidence 0.9 with a control, 0.8 without; silence is `blocked` only with a control
//! (0.85 same server, 0.7 another), otherwise `info` and inconclusive: the routers beyond
//! the last hop may simply not send time exceeded.
//!
//! A capture taken on the server is not judged (the server sees only the probes that reached
//! it). Every finding cites the last hop's time exceeded or the injected answer: frames that
//! reached the capture host.
//!
//! # Known false positives
//! Load-balanced paths (ECMP, per-flow hashing) give each connection of a run its own path,
//! so hop *t* of one probe and hop *t* of the next can be different routers and the hop
//! count can change between them: the located hop is then a hop of *some* path, and a hop
//! address may repeat or vanish. Where the routers of the run and of its control (or of the
//! run's own probes at one TTL) differ up to the onset, `evidence.paths_differ_at` names the
//! TTLs, the confidence drops by 0.15 and the sentence says the hop is approximate. Routers that never send time exceeded, or rate-limit it
//! (Linux: one per second per destination after a burst of 6, `net.ipv4.icmp_ratelimit`),
//! leave silent TTLs that look like the start of a black hole when they are the last TTLs
//! of a run: hence silence needs a control that got past. Middleboxes that reset or answer
//! expired-looking traffic themselves, and injectors that copy the server's TTL, move the
//! onset but not the fact of blocking.

use super::blocking::{has, is_dup, is_rst};
use super::vantage::Side;
use super::{Detector, Input};
use crate::decode::tcp_flags::{FIN, SYN};
use crate::flow::{Dir, PacketMeta, Transport};
use crate::label::LabeledFlow;
use crate::model::{FindingKind, Severity};
use crate::report::evidence::{BlockingHopEvidence, ProbeStep};
use crate::report::Finding;
use crate::secs;
use crate::Nanos;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The detector (emits `blocking_hop`).
pub struct BlockingHop;

/// Distinct request TTLs a run needs (one TTL is a single limited request, not a run).
pub const MIN_RUN_TTLS: usize = 2;

/// The ICMP time exceeded that answered a request copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub frame: u64,
    pub ts: Nanos,
    /// The router that sent it.
    pub from: IpAddr,
}

/// One copy of a probe's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub frame: u64,
    pub ts: Nanos,
    pub ttl: u8,
    pub expired: Option<Expiry>,
}

/// A connection whose request went out TTL-limited (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowProbe {
    /// The TTL of the client's SYN (its normal TTL).
    pub syn_ttl: u8,
    /// The request's copies (payload at the request's sequence number), in capture order.
    pub copies: Vec<Sent>,
}

impl FlowProbe {
    /// The highest TTL any copy was sent with.
    pub fn max_ttl(&self) -> u8 {
        self.copies.iter().map(|c| c.ttl).max().unwrap_or(0)
    }

    /// The copy that expired, when every copy sent before `ts` was TTL-limited and the one
    /// sent with the highest of their TTLs drew a time exceeded before `ts`: the request
    /// never got past that router, so nothing beyond it (the server) can have answered it.
    pub fn expired_before(&self, ts: Nanos) -> Option<&Sent> {
        let before: Vec<&Sent> = self.copies.iter().filter(|c| c.ts <= ts).collect();
        let top = before.iter().map(|c| c.ttl).max()?;
        if top >= self.syn_ttl {
            return None;
        }
        before
            .iter()
            .copied()
            .find(|c| c.ttl == top && c.expired.is_some_and(|e| e.ts <= ts))
    }
}

/// The probe fact of one flow: `None` unless it is TCP, starts with the client's SYN and
/// sent its request with a TTL below the SYN's.
pub fn flow_probe(f: &LabeledFlow) -> Option<FlowProbe> {
    if f.transport != Transport::Tcp {
        return None;
    }
    let syn = f
        .packets
        .iter()
        .find(|p| p.dir == Dir::C2s && has(p, SYN) && !is_dup(p))?;
    let req = f
        .packets
        .iter()
        .find(|p| p.dir == Dir::C2s && p.payload_len > 0 && !has(p, SYN) && !is_dup(p))?;
    if req.ttl >= syn.ttl && f.icmp_errors.is_empty() {
        return None; // the common case, decided on the flow's first packets
    }
    let v6 = f.server.is_ipv6();
    let mut copies: Vec<Sent> = f
        .packets
        .iter()
        .filter(|p| p.dir == Dir::C2s && p.payload_len > 0 && p.seq == req.seq && !is_dup(p))
        .map(|p| Sent {
            frame: p.frame,
            ts: p.ts,
            ttl: p.ttl,
            expired: None,
        })
        .collect();
    if !copies.iter().any(|c| c.ttl < syn.ttl) {
        return None;
    }
    let sent: Vec<&PacketMeta> = f
        .packets
        .iter()
        .filter(|p| p.dir == Dir::C2s && !is_dup(p))
        .collect();
    for e in f.icmp_errors.iter().filter(|e| e.time_exceeded(v6)) {
        // The packet it quotes: same IPv4 ID, else the flow's latest packet before it.
        let quoted = sent
            .iter()
            .rev()
            .filter(|p| p.ts <= e.ts)
            .find(|p| match e.quoted_ip_id {
                Some(id) if p.ip_id != u32::MAX => p.ip_id & 0xffff == u32::from(id),
                _ => true,
            });
        if let Some(c) = quoted.and_then(|q| copies.iter_mut().find(|c| c.frame == q.frame)) {
            c.expired.get_or_insert(Expiry {
                frame: e.frame,
                ts: e.ts,
                from: e.from,
            });
        }
    }
    Some(FlowProbe {
        syn_ttl: syn.ttl,
        copies,
    })
}

/// Per server address, the lowest TTL a request to it was sent with that got data back: a
/// TTL-limited request sent with at least that TTL could reach the server. One pass over
/// the TCP flows (the [`super::facts::Facts::reach`] fact).
pub fn reach(flows: &[LabeledFlow]) -> BTreeMap<IpAddr, u8> {
    let mut out: BTreeMap<IpAddr, u8> = BTreeMap::new();
    for c in flows.iter().filter(|c| c.transport == Transport::Tcp) {
        let Some(req) = c
            .packets
            .iter()
            .find(|p| p.dir == Dir::C2s && p.payload_len > 0)
        else {
            continue;
        };
        if c.packets
            .iter()
            .any(|p| p.dir == Dir::S2c && p.payload_len > 0 && p.ts >= req.ts)
        {
            let e = out.entry(c.server.ip()).or_insert(req.ttl);
            *e = (*e).min(req.ttl);
        }
    }
    out
}

/// True when an unanswered request says nothing about a filter because it was a probe that
/// never had to reach the server: a router expired a copy (time exceeded), or it was sent
/// with less TTL than any request that got the server's answer (`reach`, [`reach`]).
/// `request_blackholed` and `tls_sni_drop` leave such requests alone.
pub fn unreached(probe: Option<&FlowProbe>, reach: Option<u8>) -> bool {
    probe.is_some_and(|p| {
        p.copies.iter().any(|c| c.expired.is_some()) || reach.is_none_or(|r| r > p.max_ttl())
    })
}

/// What a request was sent to match (a filter's trigger): the HTTP `Host`, else the
/// connection's server name; (name, "http_host" | "server_name").
pub fn trigger(f: &LabeledFlow) -> Option<(String, &'static str)> {
    let host = f
        .class
        .tx
        .http_opening(Dir::C2s)
        .filter(|h| h.method.is_some())
        .and_then(|h| h.head.host.clone());
    match (host, &f.class.sni) {
        (Some(h), _) => Some((h, "http_host")),
        (None, Some(s)) => Some((s.clone(), "server_name")),
        _ => None,
    }
}

/// The outcome of the requests sent with one TTL, most telling first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Injected,
    Server,
    Expired,
    Silent,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Injected => "injected",
            Outcome::Server => "server",
            Outcome::Expired => "expired",
            Outcome::Silent => "silent",
        }
    }
    fn blocked(self) -> bool {
        matches!(self, Outcome::Injected | Outcome::Silent)
    }
}

/// One TTL of a run.
#[derive(Clone, Copy, Debug)]
struct Step {
    ttl: u8,
    outcome: Outcome,
    flow: u32,
    /// The request copy.
    request: u64,
    request_ts: Nanos,
    /// The answer (injected or the server's), if any.
    answer: Option<u64>,
    /// Whether the injected answer was judged on more than its look.
    strong: bool,
    expiry: Option<Expiry>,
}

/// The steps of one flow: per TTL its requests were sent with, the outcome.
fn steps(
    f: &LabeledFlow,
    probe: Option<&FlowProbe>,
    injected_answer: Option<(&PacketMeta, bool)>,
) -> Vec<Step> {
    let copies: Vec<Sent> = match probe {
        Some(p) => p.copies.clone(),
        None => {
            // A full-TTL connection of the run: its request is the run's far end.
            let Some(req) = f
                .packets
                .iter()
                .find(|p| p.dir == Dir::C2s && p.payload_len > 0 && !has(p, SYN) && !is_dup(p))
            else {
                return Vec::new();
            };
            vec![Sent {
                frame: req.frame,
                ts: req.ts,
                ttl: req.ttl,
                expired: None,
            }]
        }
    };
    let mut ttls: Vec<u8> = copies.iter().map(|c| c.ttl).collect();
    ttls.sort_unstable();
    ttls.dedup();
    let mut out = Vec::new();
    for (k, ttl) in ttls.iter().enumerate() {
        let Some(first) = copies.iter().find(|c| c.ttl == *ttl) else {
            continue;
        };
        // The answer window: from the first copy with this TTL to the first with a higher one.
        let until = ttls
            .get(k + 1)
            .and_then(|next| copies.iter().find(|c| c.ttl == *next))
            .map_or(Nanos::MAX, |c| c.ts);
        // Stop at the client's own reset: what follows answers the reset (RFC 5961).
        let own_rst = f
            .packets
            .iter()
            .find(|p| p.dir == Dir::C2s && is_rst(p) && p.ts >= first.ts)
            .map_or(Nanos::MAX, |p| p.ts);
        let answer = f.packets.iter().find(|p| {
            // (an injected answer is one of these: the first such packet or a later one)
            p.dir == Dir::S2c
                && p.ts >= first.ts
                && p.ts < until
                && p.ts < own_rst
                && !has(p, SYN)
                && !is_dup(p)
                && (p.payload_len > 0 || has(p, FIN) || is_rst(p))
        });
        let expiry = copies
            .iter()
            .filter(|c| c.ttl == *ttl)
            .find_map(|c| c.expired);
        // Any answer (data, FIN, RST) to a request that expired before reaching the server
        // came from the path: conclusive, whatever it looks like.
        let expired_first =
            answer.is_some_and(|a| probe.is_some_and(|p| p.expired_before(a.ts).is_some()));
        let (outcome, strong) = match (answer, injected_answer) {
            (Some(a), Some((inj, strong))) if inj.ts >= a.ts && inj.ts < until => {
                (Outcome::Injected, strong || expired_first)
            }
            (Some(_), _) if expired_first => (Outcome::Injected, true),
            (Some(_), _) => (Outcome::Server, false),
            (None, _) if expiry.is_some() => (Outcome::Expired, false),
            (None, _) => (Outcome::Silent, false),
        };
        out.push(Step {
            ttl: *ttl,
            outcome,
            flow: f.id,
            request: first.frame,
            request_ts: first.ts,
            answer: answer.map(|a| a.frame),
            strong,
            expiry,
        });
    }
    out
}

/// One run: its key and its steps merged per TTL.
struct Run {
    server: std::net::SocketAddr,
    trigger: String,
    trigger_kind: &'static str,
    steps: Vec<Step>,
    /// Every router that expired one of the run's requests, per TTL (before the steps are
    /// merged per TTL): more than one at a TTL means the probes took different paths.
    routers: BTreeMap<u8, std::collections::BTreeSet<IpAddr>>,
}

/// The TTLs up to `upto` at which the routers of two runs (or of one run's own probes)
/// differ: load-balanced paths, so a hop number names no single router.
fn paths_differ(run: &Run, control: Option<&Run>, upto: u8) -> Vec<u8> {
    run.routers
        .iter()
        .filter(|(t, _)| **t <= upto)
        .filter(|(t, own)| {
            own.len() > 1
                || control
                    .and_then(|c| c.routers.get(t))
                    .is_some_and(|theirs| theirs != *own)
        })
        .map(|(t, _)| *t)
        .collect()
}

impl Run {
    /// The TTL the blocking starts at, if the run shows one.
    fn onset(&self) -> Option<usize> {
        let mut at = None;
        for (i, s) in self.steps.iter().enumerate().rev() {
            if !s.outcome.blocked() {
                break;
            }
            at = Some(i);
        }
        at
    }
    /// The first step with a TTL ≥ `ttl` whose request got past (expired at a farther hop
    /// or reached the server).
    fn past(&self, ttl: u8) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| s.ttl >= ttl && matches!(s.outcome, Outcome::Expired | Outcome::Server))
    }
}

fn hop_phrase(ttl: u8, from: Option<IpAddr>) -> String {
    match from {
        Some(a) => format!("hop {ttl} ({a})"),
        None => format!("hop {ttl}"),
    }
}

impl Detector for BlockingHop {
    fn name(&self) -> &'static str {
        "blocking_hop"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let facts = input.facts();
        let probes = facts.probes();
        if probes.iter().all(Option::is_none) {
            return;
        }
        let vantage = facts.vantage();
        let pages = facts.block_pages();
        let resets = facts.rst_verdicts();
        // Runs by (server, trigger), in order of first appearance.
        let mut runs: BTreeMap<(std::net::SocketAddr, String), (usize, Run)> = BTreeMap::new();
        let mut limited: BTreeMap<(std::net::SocketAddr, String), Vec<u8>> = BTreeMap::new();
        for (i, f) in input.flows.iter().enumerate() {
            if f.transport != Transport::Tcp
                || (vantage.side == Side::Server && vantage.host == Some(f.server.ip()))
            {
                continue;
            }
            let Some((name, kind)) = trigger(f) else {
                continue;
            };
            let probe = probes.get(i).and_then(|p| p.as_deref());
            let page = pages.get(i).and_then(|p| p.as_ref()).map(|j| {
                (
                    j.response,
                    matches!(j.basis, "conclusive" | "two_fingerprints"),
                )
            });
            let reset = resets
                .get(i)
                .and_then(|v| v.as_deref())
                .filter(|v| v.injected)
                .and_then(|_| {
                    f.packets
                        .iter()
                        .find(|p| p.dir == Dir::S2c && is_rst(p))
                        .map(|p| (p, true))
                });
            let key = (f.server, name.clone());
            if let Some(p) = probe {
                limited
                    .entry(key.clone())
                    .or_default()
                    .extend(p.copies.iter().filter(|c| c.ttl < p.syn_ttl).map(|c| c.ttl));
            }
            let st = steps(f, probe, page.or(reset));
            let order = runs.len();
            let run = &mut runs
                .entry(key)
                .or_insert_with(|| {
                    (
                        order,
                        Run {
                            server: f.server,
                            trigger: name,
                            trigger_kind: kind,
                            steps: Vec::new(),
                            routers: BTreeMap::new(),
                        },
                    )
                })
                .1;
            run.steps.extend(st);
        }
        let mut runs: Vec<(usize, Run)> = runs
            .into_iter()
            .filter(|(k, _)| {
                limited.get(k).is_some_and(|t| {
                    let mut t = t.clone();
                    t.sort_unstable();
                    t.dedup();
                    t.len() >= MIN_RUN_TTLS
                })
            })
            .map(|(_, v)| v)
            .collect();
        runs.sort_by_key(|(o, _)| *o);
        let runs: Vec<Run> = runs
            .into_iter()
            .map(|(_, mut r)| {
                for s in &r.steps {
                    if let Some(e) = s.expiry {
                        r.routers.entry(s.ttl).or_default().insert(e.from);
                    }
                }
                // One step per TTL: the most telling outcome, then the earliest.
                r.steps.sort_by(|a, b| {
                    a.ttl
                        .cmp(&b.ttl)
                        .then(a.outcome.cmp(&b.outcome))
                        .then(a.request_ts.cmp(&b.request_ts))
                });
                r.steps.dedup_by_key(|s| s.ttl);
                r
            })
            .collect();
        for (ri, run) in runs.iter().enumerate() {
            let Some(oi) = run.onset() else { continue };
            let Some(onset) = run.steps.get(oi) else {
                continue;
            };
            let last_hop = run
                .steps
                .iter()
                .take(oi)
                .rev()
                .find(|s| s.outcome == Outcome::Expired);
            let control = runs
                .iter()
                .enumerate()
                .filter(|(ci, c)| *ci != ri && c.server.ip() == run.server.ip())
                .find_map(|(_, c)| c.past(onset.ttl).map(|s| ("same_server", c, s)))
                .or_else(|| {
                    runs.iter()
                        .enumerate()
                        .filter(|(ci, _)| *ci != ri)
                        .find_map(|(_, c)| c.past(onset.ttl).map(|s| ("other_server", c, s)))
                });
            let injected = onset.outcome == Outcome::Injected;
            let (severity, confidence) = match (injected, onset.strong, control) {
                (true, true, Some(_)) => (Severity::Blocked, 0.9),
                (true, true, None) => (Severity::Blocked, 0.8),
                (true, false, _) => (Severity::Info, 0.5),
                (false, _, Some(("same_server", _, _))) => (Severity::Blocked, 0.85),
                (false, _, Some(_)) => (Severity::Blocked, 0.7),
                (false, _, None) => (Severity::Info, 0.3),
            };
            // Routers that differ between the run and its control (or within the run) up to
            // the onset: the hop is a hop of some path, not of every one.
            let differ = paths_differ(run, control.map(|(_, c, _)| c), onset.ttl);
            let confidence: f64 = if differ.is_empty() {
                confidence
            } else {
                ((confidence - 0.15) * 100.0_f64).round() / 100.0
            };
            let last_from = last_hop.and_then(|s| s.expiry.map(|e| e.from));
            let what = match run.trigger_kind {
                "http_host" => format!("the HTTP request for \"{}\"", run.trigger),
                _ => format!("the TLS ClientHello for \"{}\"", run.trigger),
            };
            let lo = run.steps.first().map_or(0, |s| s.ttl);
            let before = match last_hop {
                Some(h) if h.ttl > lo => format!(
                    "{what} expired at the routers on the way when sent with TTL {lo}–{} (time exceeded, the last from {})",
                    h.ttl,
                    hop_phrase(h.ttl, last_from)
                ),
                Some(h) => format!(
                    "{what} expired on the way when sent with TTL {} (time exceeded from {})",
                    h.ttl,
                    hop_phrase(h.ttl, last_from)
                ),
                None => format!("{what} drew no time exceeded from any router below TTL {}", onset.ttl),
            };
            let prev = last_hop.map_or_else(
                || "the capture host".to_string(),
                |h| hop_phrase(h.ttl, last_from),
            );
            let beyond = onset
                .expiry
                .map(|e| format!(" (which itself expired at hop {} ({}))", onset.ttl, e.from))
                .unwrap_or_default();
            let located = if injected {
                format!(
                    "from TTL {t} on an injected answer came back: it answered the request sent with TTL {t}{beyond}, so the injector sits between {prev} and hop {t}",
                    t = onset.ttl
                )
            } else if last_hop.is_some() {
                format!(
                    "from TTL {t} on nothing came back, so the request is dropped after {prev} forwarded it, before hop {t}",
                    t = onset.ttl
                )
            } else {
                format!(
                    "from TTL {t} on nothing came back, so the request dies within the first {t} hop{}",
                    if onset.ttl == 1 { "" } else { "s" },
                    t = onset.ttl
                )
            };
            let tail = match control {
                Some((_, c, s)) => format!(
                    "; \"{}\" through the same {} got past with TTL {} ({}, flow {})",
                    c.trigger,
                    if c.server.ip() == run.server.ip() {
                        "server"
                    } else {
                        "capture"
                    },
                    s.ttl,
                    match (s.outcome, s.expiry) {
                        (Outcome::Expired, Some(e)) => format!("time exceeded from {}", e.from),
                        _ => "the server answered".to_string(),
                    },
                    s.flow
                ),
                None if injected => String::new(),
                None => "; inconclusive: no other run in this capture got past that hop, so the routers beyond it may just not send time exceeded".to_string(),
            };
            let caveat = match differ.as_slice() {
                [] => String::new(),
                d => format!(
                    " (the routers differ between probes at TTL {}: load-balanced paths, so the hop is approximate)",
                    d.iter().map(u8::to_string).collect::<Vec<_>>().join(", ")
                ),
            };
            let summary = format!(
                "TTL-limited probe run to {}: {before}; {located}{tail}{caveat}.",
                run.server
            );
            let mut packets: Vec<u64> = Vec::new();
            packets.extend(last_hop.and_then(|h| h.expiry.map(|e| e.frame)));
            packets.push(onset.request);
            packets.extend(onset.answer);
            packets.extend(onset.expiry.map(|e| e.frame));
            if packets.len() == 1 {
                // Only the probe (which the capture host sent): cite its SYN-ACK too, a packet
                // that reached the host.
                packets.extend(
                    input
                        .flows
                        .iter()
                        .find(|f| f.id == onset.flow)
                        .and_then(|f| f.packets.iter().find(|p| p.dir == Dir::S2c && has(p, SYN)))
                        .map(|p| p.frame),
                );
            }
            packets.sort_unstable();
            packets.dedup();
            out.push(Finding {
                filter: None,
                kind: FindingKind::BlockingHop,
                flow: Some(onset.flow),
                ts: secs(onset.request_ts),
                severity,
                confidence,
                summary,
                evidence: BlockingHopEvidence {
                    control: control.map_or("none", |(k, _, _)| k),
                    control_flow: control.map(|(_, _, s)| s.flow),
                    control_trigger: control.map(|(_, c, _)| c.trigger.clone()),
                    control_ttl: control.map(|(_, _, s)| s.ttl),
                    first_blocked_ttl: onset.ttl,
                    last_hop_from: last_from.map(|a| a.to_string()),
                    last_hop_ttl: last_hop.map(|h| h.ttl),
                    onset: if injected { "injected" } else { "silence" },
                    onset_hop_from: onset.expiry.map(|e| e.from.to_string()),
                    paths_differ_at: differ,
                    probes: run
                        .steps
                        .iter()
                        .take(64)
                        .map(|s| ProbeStep {
                            answer_frame: s.answer,
                            flow: s.flow,
                            from: s.expiry.map(|e| e.from.to_string()),
                            outcome: s.outcome.as_str(),
                            request_frame: s.request,
                            ttl: s.ttl,
                        })
                        .collect(),
                    server: run.server.to_string(),
                    trigger: run.trigger.clone(),
                    trigger_kind: run.trigger_kind,
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
    use crate::decode::tcp_flags::{ACK, PSH, RST};
    use crate::flow::IcmpError;
    use crate::testkit::flows::*;

    fn run(flows: &[LabeledFlow]) -> Vec<Finding> {
        run_detector(&BlockingHop, flows)
    }

    #[derive(Clone, Copy)]
    enum Then {
        /// A router at this address answers each copy with time exceeded.
        Expired(&'static str),
        Silent,
        Served,
    }

    /// One probe of a run: handshake at the normal TTL 64, then a GET for `host` sent with
    /// `ttl` three times (0, 200, 600 ms after the handshake), then the client's RST.
    fn probe(id: u32, host: &str, ttl: u8, then: Then) -> LabeledFlow {
        let port = 40000 + id;
        let mut f = flow(
            id,
            Transport::Tcp,
            &format!("10.0.0.2:{port}"),
            "203.0.113.5:80",
        );
        let t0 = i64::from(id) * 2000;
        let base = u64::from(id) * 100;
        let mut hs = tcp_handshake();
        for (k, p) in hs.iter_mut().enumerate() {
            p.m.frame = base + k as u64 + 1;
            p.m.ts += t0 * 1_000_000;
        }
        push(&mut f, &hs);
        prefix(
            &mut f,
            C,
            format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes(),
        );
        match then {
            Then::Served => {
                push(
                    &mut f,
                    &[
                        pkt(base + 4, t0 + 30, C, PSH | ACK, 1001, 5001, 60, ttl),
                        pkt(base + 5, t0 + 50, S, PSH | ACK, 5001, 1061, 500, 117),
                    ],
                );
            }
            Then::Expired(_) | Then::Silent => {
                for (k, dt) in [30, 230, 630].iter().enumerate() {
                    push(
                        &mut f,
                        &[pkt(
                            base + 4 + 2 * k as u64,
                            t0 + dt,
                            C,
                            PSH | ACK,
                            1001,
                            5001,
                            60,
                            ttl,
                        )],
                    );
                    if let Then::Expired(from) = then {
                        let req = base + 4 + 2 * k as u64;
                        f.icmp_errors.push(IcmpError {
                            frame: req + 1,
                            ts: (t0 + dt + 1) * 1_000_000,
                            kind: 11,
                            code: 0,
                            from: from.parse().unwrap(),
                            quoted_ip_id: Some((req as u32 * 7) as u16),
                        });
                    }
                }
                push(
                    &mut f,
                    &[pkt(base + 20, t0 + 1000, C, RST | ACK, 1061, 5001, 0, ttl)],
                );
            }
        }
        f
    }

    const HOPS: [&str; 3] = ["192.0.2.1", "192.0.2.2", "192.0.2.3"];

    /// A run for `host` of TTL 1..=4: routers at TTL 1..=3, the server at 4; silent from
    /// `silent_from` on.
    fn run_of(first_id: u32, host: &str, silent_from: u8) -> Vec<LabeledFlow> {
        (1..=4u8)
            .map(|ttl| {
                let then = if ttl >= silent_from {
                    Then::Silent
                } else if ttl == 4 {
                    Then::Served
                } else {
                    Then::Expired(HOPS[usize::from(ttl) - 1])
                };
                probe(first_id + u32::from(ttl) - 1, host, ttl, then)
            })
            .collect()
    }

    #[test]
    fn the_probe_fact_matches_each_time_exceeded_to_its_copy_by_ip_id() {
        let f = probe(1, "x.example", 2, Then::Expired("192.0.2.2"));
        let p = flow_probe(&f).expect("a TTL-limited request");
        assert_eq!((p.syn_ttl, p.max_ttl(), p.copies.len()), (64, 2, 3));
        for c in &p.copies {
            let e = c.expired.expect("each copy answered");
            assert_eq!(e.frame, c.frame + 1);
            assert_eq!(e.from.to_string(), "192.0.2.2");
        }
        assert!(p.expired_before(Nanos::MAX).is_some());
        // A request sent with the normal TTL is no probe.
        assert!(flow_probe(&probe(2, "x.example", 64, Then::Served)).is_none());
    }

    #[test]
    fn silence_from_a_ttl_with_a_control_run_that_got_past_is_blocked_and_located() {
        let mut flows = run_of(1, "allowed.example", 9);
        flows.extend(run_of(5, "blocked.example", 3));
        let out = run(&flows);
        assert_eq!(out.len(), 1, "{out:?}");
        let x = &out[0];
        assert_eq!(
            (x.kind.as_str(), x.severity.as_str()),
            ("blocking_hop", "blocked")
        );
        let e = ev(x);
        assert_eq!(e["onset"], "silence");
        assert_eq!(e["first_blocked_ttl"], 3);
        assert_eq!(e["last_hop_ttl"], 2);
        assert_eq!(e["last_hop_from"], "192.0.2.2");
        assert_eq!(e["control"], "same_server");
        assert_eq!(e["control_trigger"], "allowed.example");
        assert_eq!(e["control_ttl"], 3);
        assert_eq!(e["trigger"], "blocked.example");
        let outcomes: Vec<&str> = e["probes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["expired", "expired", "silent", "silent"]);
        assert!(
            x.summary
                .contains("dropped after hop 2 (192.0.2.2) forwarded it, before hop 3"),
            "{}",
            x.summary
        );
        // The last hop's time exceeded (a frame that reached the capture host) is cited.
        assert_eq!(x.packets, vec![605, 704], "{:?}", x.packets);
    }

    #[test]
    fn silence_without_a_control_is_inconclusive_and_a_clean_run_says_nothing() {
        let out = run(&run_of(1, "blocked.example", 3));
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].severity, "info");
        assert_eq!(ev(&out[0])["control"], "none");
        assert!(
            out[0].summary.contains("inconclusive"),
            "{}",
            out[0].summary
        );
        // Two clean runs: every TTL got past, nothing to report.
        let mut flows = run_of(1, "allowed.example", 9);
        flows.extend(run_of(5, "other.example", 9));
        assert!(run(&flows).is_empty());
        // A single TTL-limited request is no run.
        assert!(run(&[probe(1, "blocked.example", 3, Then::Silent)]).is_empty());
        // A run silent from its first TTL: no router to cite, so the SYN-ACK is cited beside
        // the probe (a frame that reached the capture host).
        let flows: Vec<LabeledFlow> = (1..=3u8)
            .map(|t| probe(u32::from(t), "blocked.example", t, Then::Silent))
            .collect();
        let out = run(&flows);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].packets, vec![102, 104]);
        assert!(
            out[0].summary.contains("drew no time exceeded"),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn one_connection_stepping_its_ttl_is_a_run_and_an_answer_to_an_expired_request_is_injected() {
        // The request retransmitted with TTL 1, 2, 3; each copy expires at its router, and a
        // reset follows the TTL-3 copy's time exceeded: the server never saw the request.
        let mut f = flow(1, Transport::Tcp, "10.0.0.2:40001", "203.0.113.5:80");
        push(&mut f, &tcp_handshake());
        prefix(
            &mut f,
            C,
            b"GET / HTTP/1.1\r\nHost: blocked.example\r\n\r\n",
        );
        for (k, ttl) in [1u8, 2, 3].iter().enumerate() {
            let fr = 4 + 2 * k as u64;
            let ts = 30 + 300 * k as i64;
            push(&mut f, &[pkt(fr, ts, C, PSH | ACK, 1001, 5001, 60, *ttl)]);
            f.icmp_errors.push(IcmpError {
                frame: fr + 1,
                ts: (ts + 1) * 1_000_000,
                kind: 11,
                code: 0,
                from: HOPS[k].parse().unwrap(),
                quoted_ip_id: Some((fr as u32 * 7) as u16),
            });
        }
        push(&mut f, &[pkt(20, 632, S, RST | ACK, 5001, 1061, 0, 62)]);
        let out = run(&[f]);
        assert_eq!(out.len(), 1, "{out:?}");
        let e = ev(&out[0]);
        assert_eq!(
            (e["onset"].as_str(), e["first_blocked_ttl"].as_u64()),
            (Some("injected"), Some(3))
        );
        assert_eq!(e["last_hop_from"], "192.0.2.2");
        assert_eq!(e["onset_hop_from"], "192.0.2.3");
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(e["control"], "none");
        assert!(
            out[0]
                .summary
                .contains("the injector sits between hop 2 (192.0.2.2) and hop 3"),
            "{}",
            out[0].summary
        );
        assert_eq!(out[0].packets, vec![7, 8, 9, 20]);
    }

    #[test]
    fn routers_that_differ_between_the_run_and_its_control_lower_the_confidence() {
        // The control's TTL-2 probe expired at another router than the target's: ECMP.
        let mut flows = run_of(1, "allowed.example", 9);
        for e in flows[1].icmp_errors.iter_mut() {
            e.from = "198.51.100.2".parse().unwrap();
        }
        flows.extend(run_of(5, "blocked.example", 3));
        let out = run(&flows);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(ev(&out[0])["paths_differ_at"], serde_json::json!([2]));
        assert_eq!(out[0].confidence, 0.7);
        assert!(
            out[0].summary.contains("load-balanced"),
            "{}",
            out[0].summary
        );
        // The same paths: nothing differs, full confidence.
        let mut same = run_of(1, "allowed.example", 9);
        same.extend(run_of(5, "blocked.example", 3));
        let out = run(&same);
        assert_eq!(ev(&out[0])["paths_differ_at"], serde_json::json!([]));
        assert_eq!(out[0].confidence, 0.85);
    }
}
