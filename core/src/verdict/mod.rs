//! Verdicts: findings + classification → per-app and per-call status in plain language.
//!
//! # Rules
//! - A finding belongs to each subject it names ([`Finding::subjects`]): the flow (and so
//!   that flow's app and the calls that hold the flow), and the app or call its evidence
//!   names (`evidence.app`, `evidence.call`: DNS lookups of an app's names, call-level UDP
//!   findings).
//! - Status is the worst severity among the findings that belong: `blocked` > `throttled` >
//!   `degraded`; `info` findings are cited but change nothing. With none, the status is `ok`,
//!   or `inconclusive` when the capture cannot tell: it saw only one direction (no flow of the
//!   capture, or of the app/call, carried packets both ways), or it is too short (under
//!   [`MIN_SPAN`] of the app's traffic and under [`MIN_PACKETS`] packets), or the app made no
//!   call attempt (only chat or web traffic: it worked, but says nothing about calls).
//! - One verdict per app (sorted by app id), then one per call when an app has several, then
//!   an `other` verdict for trouble on flows no app was recognised on. `Call::status` is set for
//!   every call. Each summary is one sentence that cites the numbers of the worst finding.
//! - Nothing to judge is not reassurance: when no verdict came out and the capture holds no
//!   packets, no flow, or only one direction of traffic, one `capture` verdict says
//!   `inconclusive` and why ([`nothing_to_judge`]), so no reader takes silence for "no blocking".

use crate::classify::Service;
use crate::label::LabeledFlow;
use crate::model::{App, FindingKind, Severity, Status};
use crate::report::message::Reason;
use crate::report::{Call, Finding, Subject, Verdict, VerdictApp};
use crate::Nanos;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// Traffic shorter than this (and with fewer than [`MIN_PACKETS`]) is too short to judge.
pub const MIN_SPAN: Nanos = 2_000_000_000;
/// See [`MIN_SPAN`].
pub const MIN_PACKETS: u64 = 10;

/// An app as a map key ordered by its id, so verdicts come sorted by app id.
#[derive(Clone, Copy, PartialEq, Eq)]
struct ById(App);

impl Ord for ById {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.as_str().cmp(other.0.as_str())
    }
}

impl PartialOrd for ById {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The worst finding among `idx`: highest severity, then confidence, then earliest.
fn worst<'a>(findings: &'a [Finding], idx: &[usize]) -> Option<(usize, &'a Finding)> {
    idx.iter()
        .filter_map(|i| findings.get(*i).map(|f| (*i, f)))
        .filter(|(_, f)| f.severity > Severity::Info)
        .max_by(|(ia, a), (ib, b)| {
            a.severity
                .cmp(&b.severity)
                .then(a.confidence.total_cmp(&b.confidence))
                .then(b.ts.total_cmp(&a.ts))
                .then(ib.cmp(ia))
        })
}

/// What a group of flows looks like, for inconclusive verdicts.
struct Traffic {
    two_way: bool,
    packets: u64,
    span: Nanos,
}

fn traffic(flows: &[&LabeledFlow]) -> Traffic {
    let first = flows.iter().map(|f| f.first_ts).min().unwrap_or(0);
    let last = flows.iter().map(|f| f.last_ts).max().unwrap_or(0);
    Traffic {
        two_way: flows
            .iter()
            .any(|f| f.dir[0].packets > 0 && f.dir[1].packets > 0),
        packets: flows
            .iter()
            .map(|f| f.dir[0].packets + f.dir[1].packets)
            .sum(),
        span: last.saturating_sub(first),
    }
}

/// Finding kinds that, at info severity, mean "asked and never answered, with no control":
/// they keep a verdict from reading `ok`. Only a request black-holed after a completed
/// handshake: its flow carries packets both ways, so without this the verdict would read "its
/// traffic flowed both ways". Unanswered SYNs, STUN checks and one-way UDP are left out on
/// purpose: ICE probes candidates that never answer and Happy Eyeballs abandons a dead IPv6
/// path as a matter of course, while the app works on its other flows.
const UNANSWERED: &[FindingKind] = &[FindingKind::RequestBlackholed];

/// Status and sentence for a group with findings `idx`.
fn decide(
    subject: &str,
    findings: &[Finding],
    idx: &[usize],
    t: &Traffic,
    capture_two_way: bool,
    quiet: &str,
    prefix: &str,
) -> (Status, String, Option<Reason>) {
    if let Some((_, w)) = worst(findings, idx) {
        let status = w.severity.status();
        let others = idx
            .iter()
            .filter(|i| {
                findings
                    .get(**i)
                    .is_some_and(|f| f.severity > Severity::Info)
            })
            .count()
            - 1;
        let body = w.summary.trim_end_matches('.');
        let more = match others {
            0 => String::new(),
            1 => " (and 1 more finding)".into(),
            n => format!(" (and {n} more findings)"),
        };
        let sentence = if body.starts_with(subject) || body.starts_with(prefix) {
            format!("{body}{more}.")
        } else {
            format!("{subject}: {status} — {}{more}.", lower_first(body))
        };
        return (status, sentence, None);
    }
    // Something went unanswered and no control in the capture says whether the other end
    // was reachable (the detector left it at info): not blocked, but not "worked" either.
    let unanswered = idx
        .iter()
        .filter_map(|i| findings.get(*i))
        .filter(|f| f.severity == Severity::Info && UNANSWERED.contains(&f.kind))
        .min_by(|a, b| a.ts.total_cmp(&b.ts));
    if let Some(f) = unanswered {
        return (
            Status::Inconclusive,
            format!(
                "{subject}: inconclusive — {} (nothing else in the capture shows whether that end was reachable, so this is not called blocking).",
                lower_first(f.summary.trim_end_matches('.'))
            ),
            Some(Reason::Unanswered),
        );
    }
    if !capture_two_way {
        return (
            Status::Inconclusive,
            format!("{subject}: inconclusive — the capture holds only one direction of traffic, so answers that never came cannot be told from answers that were not captured."),
            Some(Reason::OneDirectionCapture),
        );
    }
    if !t.two_way {
        return (
            Status::Inconclusive,
            format!("{subject}: inconclusive — only one direction of its traffic was captured ({} packets) and no detector could explain why.", t.packets),
            Some(Reason::OneDirectionFlows { packets: t.packets }),
        );
    }
    if t.span < MIN_SPAN && t.packets < MIN_PACKETS {
        return (
            Status::Inconclusive,
            format!(
                "{subject}: inconclusive — too little traffic to judge ({} packets over {}).",
                t.packets,
                span_phrase(t.span)
            ),
            Some(Reason::TooLittle {
                packets: t.packets,
                span_s: crate::secs(t.span),
            }),
        );
    }
    (
        Status::Ok,
        format!(
            "{subject}: ok — {quiet} ({} packets over {}, both directions).",
            t.packets,
            span_phrase(t.span)
        ),
        None,
    )
}

/// A duration for sentences: "0.4 s", "12 s", "7 min", "2.5 h", "3 days".
fn span_phrase(ns: Nanos) -> String {
    let s = ns as f64 / 1e9;
    if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.0} days", s / 86400.0)
    }
}

fn lower_first(s: &str) -> String {
    // Keep names and acronyms ("TLS", "QUIC", "WhatsApp", "SIP") as they are: lower only a
    // first word whose other letters are all lower case ("Connection", "The").
    let word = s.split(' ').next().unwrap_or_default();
    let mut c = s.chars();
    match c.next() {
        Some(f)
            if f.is_uppercase()
                && word.chars().skip(1).all(|n| n.is_lowercase())
                && word.len() > 1 =>
        {
            f.to_lowercase().chain(c).collect()
        }
        _ => s.to_string(),
    }
}

/// The server addresses of a call's flows, for the subject ("WhatsApp call to 157.240.1.1").
fn call_subject(call: &Call, by_id: &BTreeMap<u32, &LabeledFlow>) -> String {
    let main = call
        .flows
        .iter()
        .filter_map(|id| by_id.get(id))
        .max_by_key(|f| (f.dir[0].packets + f.dir[1].packets, std::cmp::Reverse(f.id)));
    match main {
        // The far end is whichever end of the flow is not the caller's host: when the far end
        // sent first, the flow's originator ("client") is the far end.
        Some(f) => {
            let far = if f.server.ip().to_string() == call.client {
                f.client.ip()
            } else {
                f.server.ip()
            };
            format!("{} to {}", call.app.call_noun(), far)
        }
        None => call.app.call_noun(),
    }
}

/// Judges each app seen (and each call), setting `Call::status`.
pub fn judge(flows: &[LabeledFlow], calls: &mut [Call], findings: &[Finding]) -> Vec<Verdict> {
    let by_id: BTreeMap<u32, &LabeledFlow> = flows.iter().map(|f| (f.id, f)).collect();
    let capture_two_way = flows
        .iter()
        .any(|f| f.dir[0].packets > 0 && f.dir[1].packets > 0);

    // Attribution of findings.
    let mut app_findings: BTreeMap<ById, BTreeSet<usize>> = BTreeMap::new();
    let mut call_findings: BTreeMap<u32, BTreeSet<usize>> = BTreeMap::new();
    let mut other_findings: BTreeSet<usize> = BTreeSet::new();
    let flow_calls: BTreeMap<u32, Vec<u32>> = calls.iter().fold(BTreeMap::new(), |mut m, c| {
        for f in &c.flows {
            m.entry(*f).or_insert_with(Vec::new).push(c.id);
        }
        m
    });
    let call_app: BTreeMap<u32, App> = calls.iter().map(|c| (c.id, c.app)).collect();
    for (i, f) in findings.iter().enumerate() {
        let mut placed = false;
        let mut cids: Vec<u32> = Vec::new();
        for subject in f.subjects() {
            let app = match subject {
                Subject::Flow(id) => {
                    cids.extend(flow_calls.get(&id).into_iter().flatten().copied());
                    by_id.get(&id).and_then(|fl| fl.class.app)
                }
                Subject::Call(c) => {
                    cids.push(c);
                    None
                }
                Subject::App(a) => Some(a),
                Subject::Capture => None,
            };
            if let Some(app) = app {
                app_findings.entry(ById(app)).or_default().insert(i);
                placed = true;
            }
        }
        for c in cids {
            call_findings.entry(c).or_default().insert(i);
            if let Some(app) = call_app.get(&c) {
                app_findings.entry(ById(*app)).or_default().insert(i);
            }
            placed = true;
        }
        if !placed {
            other_findings.insert(i);
        }
    }

    // Per call.
    let mut call_verdicts: BTreeMap<u32, Verdict> = BTreeMap::new();
    for call in calls.iter_mut() {
        let idx: Vec<usize> = call_findings
            .get(&call.id)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        let members: Vec<&LabeledFlow> = call
            .flows
            .iter()
            .filter_map(|id| by_id.get(id).copied())
            .collect();
        let t = traffic(&members);
        let subject = call_subject(call, &by_id);
        let prefix = call.app.call_noun();
        let (status, summary, reason) = decide(
            &subject,
            findings,
            &idx,
            &t,
            capture_two_way,
            "media flowed both ways",
            &prefix,
        );
        call.status = status;
        call_verdicts.insert(
            call.id,
            Verdict {
                app: VerdictApp::App(call.app),
                service: Service::Call,
                status,
                summary,
                reason,
                calls: vec![call.id],
                flows: call.flows.clone(),
                findings: idx,
            },
        );
    }

    // Per app.
    let mut apps: BTreeSet<ById> = flows.iter().filter_map(|f| f.class.app.map(ById)).collect();
    apps.extend(calls.iter().map(|c| ById(c.app)));
    apps.extend(app_findings.keys().copied());
    let mut out = Vec::new();
    for key in apps {
        let app = key.0;
        let members: Vec<&LabeledFlow> =
            flows.iter().filter(|f| f.class.app == Some(app)).collect();
        let app_calls: Vec<&Call> = calls.iter().filter(|c| c.app == app).collect();
        let idx: Vec<usize> = app_findings
            .get(&key)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        let service =
            if !app_calls.is_empty() || members.iter().any(|f| f.class.service == Service::Call) {
                Service::Call
            } else {
                let mut count: BTreeMap<Service, usize> = BTreeMap::new();
                for f in &members {
                    *count.entry(f.class.service).or_default() += 1;
                }
                count
                    .into_iter()
                    .max_by_key(|(s, n)| (*n, std::cmp::Reverse(*s)))
                    .map_or(Service::Other, |(s, _)| s)
            };
        let label = app.name();
        let subject = match (app_calls.len(), app_calls.first()) {
            (1, Some(c)) => call_subject(c, &by_id),
            (0, _) if service != Service::Call => label.to_string(),
            _ => format!("{label} calls"),
        };
        let quiet = if service == Service::Call {
            "its calls' traffic flowed both ways".to_string()
        } else {
            format!(
                "no call in this capture; its {} traffic worked",
                service_word(service)
            )
        };
        let t = traffic(&members);
        let prefix = app.call_noun();
        let (mut status, mut summary, mut reason) = decide(
            &subject,
            findings,
            &idx,
            &t,
            capture_two_way,
            &quiet,
            &prefix,
        );
        // No call attempt: the capture cannot say whether calls would be blocked.
        if status == Status::Ok && service != Service::Call {
            status = Status::Inconclusive;
            summary = summary.replacen(": ok — ", ": inconclusive — ", 1);
            reason = Some(Reason::NoCall);
        }
        let mut fl: Vec<u32> = members.iter().map(|f| f.id).collect();
        for c in &app_calls {
            fl.extend(c.flows.iter().copied());
        }
        fl.sort_unstable();
        fl.dedup();
        out.push(Verdict {
            app: VerdictApp::App(app),
            service,
            status,
            summary,
            reason,
            calls: app_calls.iter().map(|c| c.id).collect(),
            flows: fl,
            findings: idx,
        });
        if app_calls.len() > 1 {
            for c in &app_calls {
                if let Some(v) = call_verdicts.remove(&c.id) {
                    out.push(v);
                }
            }
        }
    }

    // Trouble on unrecognised flows.
    let idx: Vec<usize> = other_findings.into_iter().collect();
    if worst(findings, &idx).is_some() {
        let members: Vec<&LabeledFlow> = idx
            .iter()
            .filter_map(|i| findings.get(*i).and_then(|f| f.flow))
            .filter_map(|id| by_id.get(&id).copied())
            .collect();
        let mut fl: Vec<u32> = members.iter().map(|f| f.id).collect();
        fl.sort_unstable();
        fl.dedup();
        let service = members.first().map_or(Service::Other, |f| f.class.service);
        let t = traffic(&members);
        let (status, summary, reason) = decide(
            "Other traffic",
            findings,
            &idx,
            &t,
            capture_two_way,
            "",
            "Other traffic",
        );
        out.push(Verdict {
            app: VerdictApp::Other,
            service,
            status,
            summary,
            reason,
            calls: Vec::new(),
            flows: fl,
            findings: idx,
        });
    }
    out
}

/// Turns the `ok` verdicts and calls a limit could have changed into `inconclusive`, saying
/// which: every one when the flow table refused packets (`untracked_packets`), else those
/// holding a flow whose bounded records a cap cut ([`crate::report::limits::cuts_evidence`]).
/// Findings stand on the evidence they cite; only "nothing wrong" needs the whole capture.
pub fn apply_limits(
    verdicts: &mut [Verdict],
    calls: &mut [Call],
    flows: &[LabeledFlow],
    untracked_packets: u64,
) {
    let by_id: BTreeMap<u32, &LabeledFlow> = flows.iter().map(|f| (f.id, f)).collect();
    let reason = |ids: &[u32]| -> Option<String> {
        if untracked_packets > 0 {
            return Some(format!(
                "{untracked_packets} packets of flows the flow table could not hold were not analysed"
            ));
        }
        let cut = ids
            .iter()
            .filter_map(|id| by_id.get(id))
            .find(|f| crate::report::limits::cuts_evidence(f.limits))?;
        Some(if cut.limits & crate::flow::limit::WORK_BUDGET != 0 {
            format!(
                "the work budget ran out before every analysis of flow {} was done",
                cut.id
            )
        } else if cut.packets_truncated {
            format!(
                "the packet log of flow {} dropped {} of its {} packets",
                cut.id,
                cut.log_dropped,
                cut.dir[0].packets + cut.dir[1].packets
            )
        } else {
            format!("a limit cut the records of flow {}", cut.id)
        })
    };
    for v in verdicts.iter_mut().filter(|v| v.status == Status::Ok) {
        if let Some(r) = reason(&v.flows) {
            v.status = Status::Inconclusive;
            v.reason = Some(Reason::LimitsCut);
            let body = v.summary.replacen(": ok — ", ": inconclusive — ", 1);
            v.summary = format!(
                "{}; but {r}, so what was cut cannot be judged (see capture.limits).",
                body.trim_end_matches('.')
            );
        }
    }
    for c in calls.iter_mut().filter(|c| c.status == Status::Ok) {
        if reason(&c.flows).is_some() {
            c.status = Status::Inconclusive;
        }
    }
}

/// The `capture` verdict when no verdict came out but limits cut evidence: "nothing found"
/// would rest on what the caps dropped, so it says `inconclusive` and names them.
pub fn cut_capture(limits: &[crate::report::Limit]) -> Option<Verdict> {
    let cut: Vec<&str> = limits
        .iter()
        .filter(|l| l.limit != "icmp_errors_per_flow")
        .map(|l| l.limit)
        .collect();
    if cut.is_empty() {
        return None;
    }
    Some(Verdict {
        app: VerdictApp::Capture,
        service: Service::Other,
        status: Status::Inconclusive,
        summary: format!(
            "inconclusive: no call app seen and nothing wrong in what was analysed, but limits cut the evidence ({}), so what was cut cannot be judged (see capture.limits).",
            cut.join(", ")
        ),
        reason: Some(Reason::LimitsCut),
        calls: Vec::new(),
        flows: Vec::new(),
        findings: Vec::new(),
    })
}

/// The `capture` verdict for a capture that gives nothing to judge, or None when it does.
/// `packets` counts the frames read, `error` is what stopped reading (if anything).
/// Called when [`judge`] returned no verdict: a file that is not a capture, an empty capture,
/// frames that decode to no IP flow, or traffic seen one way only get `inconclusive: <reason>`
/// instead of a silence the reader could take for "no blocking or throttling found".
pub fn nothing_to_judge(
    packets: u64,
    error: Option<&str>,
    flows: &[LabeledFlow],
) -> Option<Verdict> {
    let one_way = !flows
        .iter()
        .any(|f| f.dir[0].packets > 0 && f.dir[1].packets > 0);
    let why = if packets > 0 && !flows.is_empty() && one_way {
        Reason::OneDirectionCapture
    } else {
        Reason::NothingToJudge
    };
    let reason = if packets == 0 {
        match error {
            Some(e) => format!(
                "the file could not be read as a capture ({e}), so there is nothing to judge"
            ),
            None => "the capture holds no packets, so there is nothing to judge".to_string(),
        }
    } else if flows.is_empty() {
        format!(
            "none of its {packets} packet{} carried an IP flow (see the decode errors), so there is nothing to judge",
            if packets == 1 { "" } else { "s" }
        )
    } else if one_way {
        let n = flows.len();
        format!(
            "the capture holds only one direction of traffic ({n} flow{}), so answers that never came cannot be told from answers that were not captured",
            if n == 1 { "" } else { "s" }
        )
    } else {
        return None;
    };
    Some(Verdict {
        app: VerdictApp::Capture,
        service: Service::Other,
        status: Status::Inconclusive,
        summary: format!("inconclusive: {reason}."),
        reason: Some(why),
        calls: Vec::new(),
        flows: Vec::new(),
        findings: Vec::new(),
    })
}

fn service_word(s: Service) -> &'static str {
    match s {
        Service::Call => "call",
        Service::Chat => "chat",
        Service::Web => "web",
        Service::Dns => "DNS",
        Service::Other => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Dir, Transport};
    use crate::model::FindingKind;
    use crate::report::evidence::{UdpMediaBlockedEvidence, UdpOneWayEvidence};
    use crate::report::{Evidence, Media};
    use crate::testkit::flows::{flow, pkt, push};

    /// Evidence naming no app or call.
    fn none() -> Evidence {
        UdpOneWayEvidence {
            app: None,
            packets_sent: 0,
            span_s: 0.0,
        }
        .into()
    }

    /// Evidence naming an app and maybe a call.
    fn naming(app: App, call: Option<u32>) -> Evidence {
        UdpMediaBlockedEvidence {
            app: Some(app),
            call,
            icmp_errors: 0,
            never_answered: true,
            packets_sent: 0,
            sent_after_silence: 0,
            servers: vec![],
            silence_s: 0.0,
            span_s: 0.0,
            stun_unanswered_flows: vec![],
            udp_flows: vec![],
        }
        .into()
    }

    fn finding(
        kind: &'static str,
        flow: Option<u32>,
        severity: &'static str,
        summary: &str,
        ev: Evidence,
    ) -> Finding {
        Finding {
            filter: None,
            kind: FindingKind::from_id(kind).unwrap(),
            flow,
            ts: 1.0,
            severity: Severity::from_id(severity).unwrap(),
            confidence: 0.8,
            summary: summary.into(),
            evidence: ev,
            packets: vec![1],
        }
    }

    fn two_way(id: u32, app: Option<&'static str>, service: Service) -> LabeledFlow {
        let mut f = flow(id, Transport::Udp, "10.0.0.2:50000", "157.240.1.1:3478");
        f.class.app = app.and_then(App::from_id);
        f.class.service = service;
        let ps: Vec<_> = (0..20)
            .map(|i| {
                pkt(
                    i + 1,
                    i as i64 * 200,
                    if i % 2 == 0 { Dir::C2s } else { Dir::S2c },
                    0,
                    0,
                    0,
                    100,
                    64,
                )
            })
            .collect();
        push(&mut f, &ps);
        f
    }

    fn call(id: u32, flows: Vec<u32>) -> Call {
        Call {
            id,
            app: App::WhatsApp,
            client: "10.0.0.2".into(),
            flows,
            first_ts: 0.0,
            last_ts: 4.0,
            media: Media::default(),
            status: Status::Ok,
        }
    }

    #[test]
    fn blocked_call_cites_the_finding_and_sets_status() {
        let flows = [
            two_way(0, Some("whatsapp"), Service::Call),
            two_way(1, None, Service::Web),
        ];
        let mut calls = [call(0, vec![0])];
        let findings = [
            finding("stun_unanswered", Some(0), "info", "STUN to x was never answered.", none()),
            finding(
                "udp_media_blocked",
                Some(0),
                "blocked",
                "WhatsApp call to 157.240.1.1: media black-holed — 412 packets sent over 14 s, none received.",
                naming(App::WhatsApp, Some(0)),
            ),
        ];
        let v = judge(&flows, &mut calls, &findings);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].status, "blocked");
        assert_eq!(v[0].service, Service::Call);
        assert_eq!(v[0].findings, vec![0, 1]);
        assert_eq!(v[0].summary, "WhatsApp call to 157.240.1.1: media black-holed — 412 packets sent over 14 s, none received.");
        assert_eq!(calls[0].status, "blocked");
    }

    #[test]
    fn worst_severity_wins_and_info_does_not_count() {
        let flows = [
            two_way(0, Some("zoom"), Service::Call),
            two_way(1, Some("zoom"), Service::Call),
        ];
        let findings = [
            finding(
                "rtp_degraded",
                Some(0),
                "degraded",
                "Audio lost 8% of packets.",
                none(),
            ),
            finding(
                "throttling_policer",
                Some(1),
                "throttled",
                "Traffic was policed at 250 kbit/s.",
                none(),
            ),
            finding("udp_one_way", Some(1), "info", "UDP one way.", none()),
        ];
        let v = judge(&flows, &mut [], &findings);
        assert_eq!(v[0].status, "throttled");
        assert_eq!(
            v[0].summary,
            "Zoom calls: throttled — traffic was policed at 250 kbit/s (and 1 more finding)."
        );
        let v = judge(&flows, &mut [], &findings[2..]);
        assert_eq!(v[0].status, "ok");
    }

    #[test]
    fn one_sided_capture_is_inconclusive() {
        let mut f = flow(0, Transport::Udp, "10.0.0.2:50000", "157.240.1.1:3478");
        f.class.app = Some(App::WhatsApp);
        f.class.service = Service::Call;
        push(
            &mut f,
            &(0..30)
                .map(|i| pkt(i + 1, i as i64 * 100, Dir::C2s, 0, 0, 0, 100, 64))
                .collect::<Vec<_>>(),
        );
        let mut calls = [call(3, vec![0])];
        let v = judge(&[f], &mut calls, &[]);
        assert_eq!(v[0].status, "inconclusive");
        assert!(v[0].summary.contains("one direction"), "{}", v[0].summary);
        assert_eq!(calls[0].status, "inconclusive");
    }

    #[test]
    fn an_unanswered_request_without_a_control_is_inconclusive_not_ok() {
        let flows = [two_way(0, Some("whatsapp"), Service::Call)];
        let findings = [finding(
            "request_blackholed",
            Some(0),
            "info",
            "The request to g.whatsapp.net got no answer after the handshake.",
            none(),
        )];
        let v = judge(&flows, &mut [], &findings);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].status, "inconclusive", "{}", v[0].summary);
        assert!(
            v[0].summary
                .contains("the request to g.whatsapp.net got no answer"),
            "{}",
            v[0].summary
        );
        assert_eq!(v[0].reason, Some(Reason::Unanswered));
        assert_eq!(v[0].message().id, "verdict.inconclusive.unanswered");
        // An odd reset, or SYNs abandoned on another path, do not stop an ok verdict.
        for kind in [
            "tcp_reset_suspicious",
            "handshake_timeout",
            "stun_unanswered",
        ] {
            let f = [finding(kind, Some(0), "info", "Something odd.", none())];
            assert_eq!(judge(&flows, &mut [], &f)[0].status, "ok", "{kind}");
        }
    }

    #[test]
    fn chat_only_app_is_ok_and_unattributed_trouble_goes_to_other() {
        let flows = [
            two_way(0, Some("telegram"), Service::Chat),
            two_way(1, None, Service::Web),
        ];
        let findings = [finding(
            "tls_sni_reset",
            Some(1),
            "blocked",
            "TLS to 1.2.3.4:443 was reset.",
            none(),
        )];
        let v = judge(&flows, &mut [], &findings);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].app, "telegram");
        assert_eq!(v[0].status, "inconclusive");
        assert!(
            v[0].summary.contains("no call in this capture"),
            "{}",
            v[0].summary
        );
        assert_eq!(v[1].app, "other");
        assert_eq!(v[1].status, "blocked");
        assert_eq!(
            v[1].summary,
            "Other traffic: blocked — TLS to 1.2.3.4:443 was reset."
        );
        assert_eq!(v[1].flows, vec![1]);
    }

    #[test]
    fn dns_findings_reach_the_app_by_evidence() {
        let flows = [two_way(0, None, Service::Dns)];
        let findings = [finding(
            "dns_nxdomain",
            Some(0),
            "blocked",
            "The resolver said g.whatsapp.net does not exist.",
            naming(App::WhatsApp, None),
        )];
        let v = judge(&flows, &mut [], &findings);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].app, "whatsapp");
        assert_eq!(v[0].status, "blocked");
    }

    #[test]
    fn several_calls_get_their_own_verdicts() {
        let flows = [
            two_way(0, Some("whatsapp"), Service::Call),
            two_way(1, Some("whatsapp"), Service::Call),
        ];
        let mut calls = [call(0, vec![0]), call(1, vec![1])];
        let findings = [finding(
            "rtp_cut",
            Some(1),
            "blocked",
            "Call media stopped arriving.",
            none(),
        )];
        let v = judge(&flows, &mut calls, &findings);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].status, "blocked");
        assert_eq!((v[1].calls.clone(), v[1].status), (vec![0], Status::Ok));
        assert_eq!(
            (v[2].calls.clone(), v[2].status),
            (vec![1], Status::Blocked)
        );
        assert_eq!(calls[0].status, "ok");
    }

    #[test]
    fn issue_13_nothing_to_judge_is_inconclusive_not_reassurance() {
        let v = nothing_to_judge(0, None, &[]).unwrap();
        assert_eq!(
            (v.app, v.status),
            (VerdictApp::Capture, Status::Inconclusive)
        );
        assert_eq!(
            v.summary,
            "inconclusive: the capture holds no packets, so there is nothing to judge."
        );
        let v = nothing_to_judge(0, Some("not a pcap or pcapng file at offset 0"), &[]).unwrap();
        assert!(v
            .summary
            .starts_with("inconclusive: the file could not be read as a capture (not a pcap"));
        let v = nothing_to_judge(3, None, &[]).unwrap();
        assert!(v
            .summary
            .contains("none of its 3 packets carried an IP flow"));
        let mut one_way = flow(0, Transport::Udp, "10.0.0.2:5", "10.0.0.9:6");
        push(&mut one_way, &[pkt(1, 0, Dir::C2s, 0, 0, 0, 10, 64)]);
        let v = nothing_to_judge(1, None, &[one_way]).unwrap();
        assert!(v.summary.contains("only one direction of traffic (1 flow)"));
        assert!(nothing_to_judge(20, None, &[two_way(0, None, Service::Other)]).is_none());
    }

    #[test]
    fn issue_13_a_cut_flow_turns_ok_into_inconclusive() {
        let mut f = two_way(0, Some("whatsapp"), Service::Call);
        let mut calls = [call(0, vec![0])];
        let mut v = judge(std::slice::from_ref(&f), &mut calls, &[]);
        assert_eq!(v[0].status, Status::Ok);
        apply_limits(&mut v, &mut calls, std::slice::from_ref(&f), 0);
        assert_eq!(v[0].status, Status::Ok, "nothing cut");
        f.limits = crate::flow::limit::PACKETS_PER_FLOW;
        f.packets_truncated = true;
        f.log_dropped = 7;
        apply_limits(&mut v, &mut calls, std::slice::from_ref(&f), 0);
        assert_eq!(
            (v[0].status, calls[0].status),
            (Status::Inconclusive, Status::Inconclusive)
        );
        assert!(
            v[0].summary.contains(": inconclusive — "),
            "{}",
            v[0].summary
        );
        assert!(
            v[0].summary.ends_with("; but the packet log of flow 0 dropped 7 of its 20 packets, so what was cut cannot be judged (see capture.limits)."),
            "{}",
            v[0].summary
        );
        // The flow cap touches every ok verdict.
        let f = two_way(0, Some("whatsapp"), Service::Call);
        let mut calls = [call(0, vec![0])];
        let mut v = judge(std::slice::from_ref(&f), &mut calls, &[]);
        apply_limits(&mut v, &mut calls, std::slice::from_ref(&f), 3);
        assert!(v[0]
            .summary
            .contains("3 packets of flows the flow table could not hold were not analysed"));
    }

    #[test]
    fn issue_13_capture_and_limits_verdicts_have_messages() {
        use crate::report::message::{render, Lang};
        let v = nothing_to_judge(0, None, &[]).unwrap();
        let m = v.message();
        assert_eq!(m.id, "verdict.inconclusive.nothing_to_judge");
        let en = render(&m, Lang::En).unwrap();
        assert!(en.starts_with("The capture: nothing to judge"), "{en}");
        let fr = render(&m, Lang::Fr).unwrap();
        assert!(fr.starts_with("La capture : rien à juger"), "{fr}");
        let v = cut_capture(&[crate::report::Limit {
            limit: "packets_per_flow",
            max: 1,
            flow_count: 1,
            flows: vec![0],
            dropped: 1,
            effect: String::new(),
        }])
        .unwrap();
        assert_eq!(v.message().id, "verdict.inconclusive.limits_cut");
    }
}
