//! The truth engine: checks a report against a `voipwatch.truth/1` file (docs/truth.md).
//!
//! A truth file pairs one capture with *partial* expectations — what must be found (finding
//! kinds on a flow, a call or anywhere, with severity; verdicts per app; calls per app; a
//! throttling rate within a tolerance; a `voipwatch compare` verdict) and what must not (no
//! finding of these kinds, no verdict with this status) — in the manner of suricata-verify,
//! so that an unrelated change to the report does not break it. `voipwatch verify` and the
//! test suite (`tests/lab.rs`) both run this one engine.
//!
//! The engine reads the report through its serialised JSON (the stable ids of
//! `voipwatch.report/1`), so it does not depend on the report's Rust types. It has no OS
//! calls: the captures an `expect.compare` names are read through the caller's loader.
//! Every check is kept, passed or failed, with its expected and actual value, and is tagged
//! for the totals: a finding kind or a verdict status expected present (a positive) or absent
//! (a negative).

use crate::compare::{self, CompareConfig, Selector};
use crate::model::{FindingKind, Severity, Status};
use crate::report::Report;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The format id every truth file carries in `"schema"`.
pub const SCHEMA: &str = "voipwatch.truth/1";

/// Keys of `expect` the engine checks.
const EXPECT_KEYS: &[&str] = &[
    "packets",
    "complete",
    "flows",
    "findings",
    "findings_absent_everywhere",
    "verdicts",
    "no_verdict_status",
    "calls",
    "calls_total",
    "compare",
    "anomalies",
];

/// Keys of an `expect.flows` entry the engine checks.
const FLOW_KEYS: &[&str] = &[
    "match",
    "packets",
    "conn_state",
    "app",
    "service",
    "service_not",
    "sni",
    "protocols_include",
    "findings",
    "findings_any",
    "no_findings",
    "rate_bps",
    "rate_tolerance",
];

/// Keys of an `expect.flows` entry kept for people and ignored by the engine (the lab's
/// measured facts), plus any key starting with `note`.
const FLOW_INFO_KEYS: &[&str] = &[
    "role",
    "ttl_seen",
    "first_last_rel_s",
    "measured_s2c",
    "dns_query",
];

/// The default relative tolerance of `rate_bps`.
pub const DEFAULT_RATE_TOLERANCE: f64 = 0.15;

/// A parsed, validated truth file.
#[derive(Clone, Debug)]
pub struct Truth {
    /// The capture's path, relative to the truth file's folder (or absolute).
    pub capture: String,
    /// The whole document (provenance and informational keys included).
    pub doc: Value,
}

impl Truth {
    /// Parses and validates a truth file: its schema, its capture and every key of `expect`
    /// (a misspelt key would otherwise check nothing), finding kinds and statuses included.
    pub fn parse(text: &str) -> Result<Truth, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if !doc.is_object() {
            return Err("not a JSON object".into());
        }
        match doc.get("schema").and_then(Value::as_str) {
            Some(SCHEMA) => {}
            Some(other) => {
                return Err(format!(
                    "schema {other:?} is not {SCHEMA:?} (this voipwatch reads {SCHEMA})"
                ))
            }
            None => return Err(format!("no \"schema\": \"{SCHEMA}\" key")),
        }
        let capture = doc
            .get("capture")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .ok_or("no \"capture\" (the capture's path, relative to the truth file)")?
            .to_string();
        let expect = doc
            .get("expect")
            .and_then(Value::as_object)
            .ok_or("no \"expect\" object")?;
        for k in expect.keys() {
            if !EXPECT_KEYS.contains(&k.as_str()) {
                return Err(format!(
                    "expect.{k}: unknown key (known: {})",
                    EXPECT_KEYS.join(", ")
                ));
            }
        }
        for (i, f) in array(at(&doc, &["expect", "flows"])).iter().enumerate() {
            let o = f
                .as_object()
                .ok_or(format!("expect.flows[{i}]: not an object"))?;
            for k in o.keys() {
                let known = FLOW_KEYS.contains(&k.as_str())
                    || FLOW_INFO_KEYS.contains(&k.as_str())
                    || k.starts_with("note");
                if !known {
                    return Err(format!(
                        "expect.flows[{i}].{k}: unknown key (known: {})",
                        FLOW_KEYS.join(", ")
                    ));
                }
            }
            FlowMatch::parse(&f["match"]).map_err(|e| format!("expect.flows[{i}].match: {e}"))?;
            for key in ["findings", "findings_any", "no_findings"] {
                for (j, x) in array(&f[key]).iter().enumerate() {
                    FindingSpec::parse(x)
                        .map_err(|e| format!("expect.flows[{i}].{key}[{j}]: {e}"))?;
                }
            }
        }
        for (j, x) in array(at(&doc, &["expect", "findings"])).iter().enumerate() {
            FindingSpec::parse(x).map_err(|e| format!("expect.findings[{j}]: {e}"))?;
        }
        for (j, x) in array(at(&doc, &["expect", "findings_absent_everywhere"]))
            .iter()
            .enumerate()
        {
            FindingSpec::parse(x)
                .map_err(|e| format!("expect.findings_absent_everywhere[{j}]: {e}"))?;
        }
        if let Some(a) = doc.get("expect").and_then(|e| e.get("anomalies")) {
            let a = a
                .as_object()
                .ok_or("expect.anomalies: not an object (anomaly → count)")?;
            for (name, n) in a {
                if crate::model::Anomaly::from_id(name).is_none() {
                    return Err(format!("expect.anomalies.{name}: not an anomaly"));
                }
                if n.as_u64().is_none() {
                    return Err(format!("expect.anomalies.{name}: not a count"));
                }
            }
        }
        for (j, v) in array(at(&doc, &["expect", "verdicts"])).iter().enumerate() {
            let st = v["status"].as_str().unwrap_or_default();
            if Status::from_id(st).is_none() {
                return Err(format!(
                    "expect.verdicts[{j}].status: {st:?} is not a status ({})",
                    ids(Status::ALL.iter().map(|s| s.as_str()))
                ));
            }
            if v["app"].as_str().is_none() {
                return Err(format!("expect.verdicts[{j}]: no \"app\""));
            }
        }
        for st in array(at(&doc, &["expect", "no_verdict_status"])) {
            let st = st.as_str().unwrap_or_default();
            if Status::from_id(st).is_none() {
                return Err(format!(
                    "expect.no_verdict_status: {st:?} is not a status ({})",
                    ids(Status::ALL.iter().map(|s| s.as_str()))
                ));
            }
        }
        Ok(Truth { capture, doc })
    }

    fn expect(&self) -> &Value {
        at(&self.doc, &["expect"])
    }
}

/// The value at `path` (object keys) in `v`, `null` where a key is missing, never a panic
/// (the `Index` form `v["a"]["b"]` does the same but reads as if it could panic).
fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .unwrap_or(&Value::Null)
}

fn ids<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn strings(v: &Value) -> Vec<String> {
    array(v)
        .iter()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// One expected (or forbidden) finding: a kind, optionally a severity and, at capture level,
/// the app of the call it must be about; for throttling findings also the direction it names
/// (`evidence.dir`), its rate (`evidence.rate_bps` within a tolerance) and the verdict of its
/// in-capture comparison (`evidence.comparison.verdict`, or `none` for no comparison).
#[derive(Clone, Debug)]
struct FindingSpec {
    kind: String,
    severity: Option<String>,
    call_app: Option<String>,
    dir: Option<String>,
    rate: Option<(f64, f64)>,
    comparison: Option<String>,
    /// Members the finding's `evidence` must hold, each equal (JSON values).
    evidence: Option<serde_json::Map<String, Value>>,
}

/// Keys of a finding written as an object.
const FINDING_KEYS: &[&str] = &[
    "kind",
    "severity",
    "call_app",
    "dir",
    "rate_bps",
    "rate_tolerance",
    "comparison",
    "evidence",
];

/// The in-capture comparison verdicts a finding spec may name.
const COMPARISON_VERDICTS: &[&str] = &["selective", "whole_link", "inconclusive", "none"];

impl FindingSpec {
    fn parse(v: &Value) -> Result<FindingSpec, String> {
        let spec = match v {
            Value::String(k) => FindingSpec {
                kind: k.clone(),
                severity: None,
                call_app: None,
                dir: None,
                rate: None,
                comparison: None,
                evidence: None,
            },
            Value::Object(o) => {
                for k in o.keys() {
                    if !FINDING_KEYS.contains(&k.as_str()) {
                        return Err(format!(
                            "{k}: unknown key (known: {})",
                            FINDING_KEYS.join(", ")
                        ));
                    }
                }
                let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
                let kind = text("kind").ok_or("no \"kind\"")?;
                let rate = match (o.get("rate_bps"), o.get("rate_tolerance")) {
                    (Some(r), t) => Some((
                        r.as_f64().ok_or("rate_bps: not a number")?,
                        match t {
                            Some(t) => t.as_f64().ok_or("rate_tolerance: not a number")?,
                            None => DEFAULT_RATE_TOLERANCE,
                        },
                    )),
                    (None, Some(_)) => return Err("rate_tolerance without rate_bps".into()),
                    (None, None) => None,
                };
                FindingSpec {
                    kind,
                    severity: text("severity"),
                    call_app: text("call_app"),
                    dir: text("dir"),
                    rate,
                    comparison: text("comparison"),
                    evidence: match o.get("evidence") {
                        None => None,
                        Some(Value::Object(m)) => Some(m.clone()),
                        Some(_) => {
                            return Err("evidence: an object of evidence members and values".into())
                        }
                    },
                }
            }
            _ => {
                return Err(format!(
                    "a finding kind, or an object with {}",
                    FINDING_KEYS.join(", ")
                ))
            }
        };
        if FindingKind::from_id(&spec.kind).is_none() {
            return Err(format!(
                "{:?} is not a finding kind (known: {})",
                spec.kind,
                ids(FindingKind::ALL.iter().map(|k| k.as_str()))
            ));
        }
        if let Some(s) = &spec.severity {
            if Severity::from_id(s).is_none() {
                return Err(format!(
                    "severity {s:?} is not one of {}",
                    ids(Severity::ALL.iter().map(|s| s.as_str()))
                ));
            }
        }
        if let Some(d) = &spec.dir {
            if d != "c2s" && d != "s2c" {
                return Err(format!("dir {d:?} is not one of c2s, s2c"));
            }
        }
        if let Some(c) = &spec.comparison {
            if !COMPARISON_VERDICTS.contains(&c.as_str()) {
                return Err(format!(
                    "comparison {c:?} is not one of {}",
                    COMPARISON_VERDICTS.join(", ")
                ));
            }
        }
        Ok(spec)
    }

    fn label(&self) -> String {
        let mut s = self.kind.clone();
        if let Some(sev) = &self.severity {
            s.push_str(&format!(" ({sev})"));
        }
        if let Some(d) = &self.dir {
            s.push_str(&format!(" {d}"));
        }
        if let Some((r, t)) = self.rate {
            s.push_str(&format!(" at {r} ± {:.0} %", t * 100.0));
        }
        if let Some(c) = &self.comparison {
            s.push_str(&format!(" comparison {c}"));
        }
        if let Some(a) = &self.call_app {
            s.push_str(&format!(" on a {a} call"));
        }
        if let Some(e) = &self.evidence {
            s.push_str(&format!(" with evidence {}", Value::Object(e.clone())));
        }
        s
    }

    /// Kind, severity and direction match (the rate and the comparison aside).
    fn matches_kind(&self, f: &Value) -> bool {
        f["kind"].as_str() == Some(self.kind.as_str())
            && self
                .severity
                .as_ref()
                .is_none_or(|s| f["severity"].as_str() == Some(s.as_str()))
            && self
                .dir
                .as_ref()
                .is_none_or(|d| at(f, &["evidence", "dir"]).as_str() == Some(d.as_str()))
    }

    fn matches(&self, f: &Value) -> bool {
        self.matches_kind(f)
            && self.rate.is_none_or(|(r, t)| {
                at(f, &["evidence", "rate_bps"])
                    .as_f64()
                    .is_some_and(|e| (e - r).abs() <= t * r)
            })
            && self.comparison.as_ref().is_none_or(|c| {
                let v = at(f, &["evidence", "comparison", "verdict"]);
                match v.as_str() {
                    Some(x) => x == c,
                    None => c == "none",
                }
            })
            && self
                .evidence
                .as_ref()
                .is_none_or(|m| m.iter().all(|(k, v)| at(f, &["evidence", k.as_str()]) == v))
    }
}

/// How an expected flow is found in the report.
#[derive(Clone, Debug)]
enum FlowMatch {
    /// Transport and endpoint pair, either way round (a swapped orientation is then a
    /// mismatch of `client`, not a missing flow).
    Tuple {
        transport: String,
        client: String,
        server: String,
    },
    /// A selector: `sni=`, `app=`, `server=IP:PORT|:PORT|IP`, `client=IP:PORT|IP`, `flow=ID`
    /// or `largest`, optionally restricted to a transport.
    Select {
        select: String,
        transport: Option<String>,
    },
}

impl FlowMatch {
    fn parse(v: &Value) -> Result<FlowMatch, String> {
        let o = v.as_object().ok_or("not an object")?;
        let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        if let Some(select) = s("select") {
            let ok = select == "largest"
                || select.split_once('=').is_some_and(|(k, v)| {
                    !v.is_empty() && ["sni", "app", "server", "client", "flow"].contains(&k)
                });
            if !ok {
                return Err(format!(
                    "select {select:?}: expected sni=…, app=…, server=…, client=…, flow=ID or largest"
                ));
            }
            return Ok(FlowMatch::Select {
                select,
                transport: s("transport"),
            });
        }
        match (s("transport"), s("client"), s("server")) {
            (Some(transport), Some(client), Some(server)) => Ok(FlowMatch::Tuple {
                transport,
                client,
                server,
            }),
            _ => Err("needs transport, client and server, or select".into()),
        }
    }

    fn describe(&self) -> String {
        match self {
            FlowMatch::Tuple {
                transport,
                client,
                server,
            } => format!("{transport} {client} -> {server}"),
            FlowMatch::Select {
                select,
                transport: Some(t),
            } => format!("{t} {select}"),
            FlowMatch::Select { select, .. } => select.clone(),
        }
    }

    /// The report flows this matches, in report order.
    fn find<'a>(&self, flows: &'a [Value]) -> Vec<&'a Value> {
        let st = |f: &Value, k: &str| f[k].as_str().unwrap_or_default().to_string();
        match self {
            FlowMatch::Tuple {
                transport,
                client,
                server,
            } => flows
                .iter()
                .filter(|f| {
                    let (c, s) = (st(f, "client"), st(f, "server"));
                    &st(f, "transport") == transport
                        && ((&c == client && &s == server) || (&c == server && &s == client))
                })
                .take(1)
                .collect(),
            FlowMatch::Select { select, transport } => {
                let flows: Vec<&Value> = flows
                    .iter()
                    .filter(|f| transport.as_ref().is_none_or(|t| &st(f, "transport") == t))
                    .collect();
                if select == "largest" {
                    let bytes = |f: &Value| {
                        at(f, &["bytes", "c2s"]).as_u64().unwrap_or(0)
                            + at(f, &["bytes", "s2c"]).as_u64().unwrap_or(0)
                    };
                    let mut best: Option<&Value> = None;
                    for f in flows {
                        if best.is_none_or(|b| bytes(f) > bytes(b)) {
                            best = Some(f);
                        }
                    }
                    return best.into_iter().collect();
                }
                let (k, v) = select.split_once('=').unwrap_or_default();
                let v = v.to_ascii_lowercase();
                flows
                    .into_iter()
                    .filter(|f| match k {
                        "sni" => st(f, "sni").to_ascii_lowercase() == v,
                        "app" => st(f, "app") == v,
                        "flow" => f["id"].as_u64().map(|i| i.to_string()) == Some(v.clone()),
                        "server" | "client" => endpoint_matches(&st(f, k), &v),
                        _ => false,
                    })
                    .collect()
            }
        }
    }
}

/// `IP:PORT`, `[IPv6]:PORT`, `:PORT` or a bare IP against a report endpoint.
fn endpoint_matches(ep: &str, want: &str) -> bool {
    if ep == want {
        return true;
    }
    if let Some(port) = want.strip_prefix(':') {
        return ep.rsplit_once(':').is_some_and(|(_, p)| p == port);
    }
    let ip = ep
        .rsplit_once(':')
        .map(|(ip, _)| ip)
        .unwrap_or(ep)
        .trim_matches(|c| c == '[' || c == ']');
    ip == want.trim_matches(|c| c == '[' || c == ']')
}

/// Which checks a caller enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Facts measured independently when the capture was made (packet count, flows, their
    /// client, packets each way, TCP state): need only the reader, decoder and flow table.
    Core,
    /// Classification, findings, rates, verdicts, calls and compare.
    Analysis,
}

/// What a check counts towards in the totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Metric {
    /// A finding kind (or `a|b` for one-of), expected present (`true`) or absent.
    Finding(String, bool),
    /// A verdict status, expected present or absent.
    Verdict(String, bool),
}

/// One expectation and how it went.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was checked, e.g. `flow tcp 10.0.0.1:40000 -> 10.0.0.2:443: finding tls_sni_reset`.
    pub what: String,
    pub expected: String,
    pub actual: String,
    pub pass: bool,
    /// The report item that decided it (the finding that satisfied a positive, or that broke
    /// a negative), when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(skip)]
    pub level: Level,
    #[serde(skip)]
    pub metric: Option<Metric>,
}

/// A throttling rate expectation: the estimate closest to the expected rate.
#[derive(Clone, Debug, Serialize)]
pub struct RateCheck {
    pub flow: String,
    pub expected_bps: f64,
    pub tolerance: f64,
    pub estimated_bps: Option<f64>,
    /// (estimated − expected) / expected.
    pub error: Option<f64>,
}

/// The result of checking one report against one truth file.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub checks: Vec<Check>,
    pub rates: Vec<RateCheck>,
    /// What the truth expects, in a few words (its positive expectations, or `clean`).
    pub expected: String,
    /// What the report found: its finding kinds and non-ok verdicts.
    pub found: String,
}

impl Outcome {
    /// Whether every check of these levels passed.
    pub fn pass(&self, levels: &[Level]) -> bool {
        self.checks
            .iter()
            .filter(|c| levels.contains(&c.level))
            .all(|c| c.pass)
    }

    /// The failed checks of these levels.
    pub fn failures(&self, levels: &[Level]) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| levels.contains(&c.level) && !c.pass)
            .collect()
    }

    /// One line saying what decided the outcome: the first failure, else the first positive
    /// expectation met and the finding that met it, else how many absences held.
    pub fn decided_by(&self) -> String {
        if let Some(c) = self.checks.iter().find(|c| !c.pass) {
            let by = c.by.as_ref().map(|b| format!(" [{b}]")).unwrap_or_default();
            return format!(
                "FAILED {}: expected {}, got {}{by}",
                c.what, c.expected, c.actual
            );
        }
        let positive = |c: &&Check| {
            matches!(
                c.metric,
                Some(Metric::Finding(_, true)) | Some(Metric::Verdict(_, true))
            )
        };
        if let Some(c) = self.checks.iter().find(positive) {
            return c.by.clone().unwrap_or_else(|| c.what.clone());
        }
        if let Some(c) = self.checks.iter().find(|c| c.what.starts_with("compare ")) {
            return format!("{}: {}", c.what, c.actual);
        }
        let absent = self
            .checks
            .iter()
            .filter(|c| {
                matches!(
                    c.metric,
                    Some(Metric::Finding(_, false)) | Some(Metric::Verdict(_, false))
                )
            })
            .count();
        if absent > 0 {
            format!("none of {absent} forbidden findings/verdicts")
        } else {
            format!("{} core facts", self.checks.len())
        }
    }
}

/// Reads a capture named by a truth file (`expect.compare`), relative to the truth file.
pub type Loader<'a> = &'a dyn Fn(&str) -> Result<Vec<u8>, String>;

/// Checks a report against a truth file. `load` reads the captures `expect.compare` names
/// (and the truth's own capture, for a compare of two selectors within it).
pub fn check(truth: &Truth, report: &Report, load: Loader<'_>) -> Outcome {
    let mut out = Outcome::default();
    let report = match serde_json::to_value(report) {
        Ok(v) => v,
        Err(e) => {
            out.push(Level::Core, "report", "JSON", format!("{e}"), false);
            return out;
        }
    };
    check_core(truth, &report, &mut out);
    check_flows(truth, &report, &mut out);
    check_capture(truth, &report, &mut out);
    check_compare(truth, load, &mut out);
    out.expected = expected_summary(truth);
    out.found = found_summary(&report);
    out
}

impl Outcome {
    fn push(
        &mut self,
        level: Level,
        what: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
        pass: bool,
    ) -> &mut Check {
        self.checks.push(Check {
            what: what.into(),
            expected: expected.into(),
            actual: actual.into(),
            pass,
            by: None,
            level,
            metric: None,
        });
        self.checks
            .last_mut()
            .unwrap_or_else(|| unreachable!("a check was just pushed"))
    }

    fn eq(&mut self, level: Level, what: impl Into<String>, expected: &Value, actual: &Value) {
        self.push(
            level,
            what,
            expected.to_string(),
            actual.to_string(),
            expected == actual,
        );
    }
}

fn check_core(truth: &Truth, report: &Value, out: &mut Outcome) {
    let expect = truth.expect();
    if let Some(p) = expect.get("packets") {
        out.eq(
            Level::Core,
            "capture.packets",
            p,
            at(report, &["capture", "packets"]),
        );
    }
    let complete = expect.get("complete").cloned().unwrap_or(Value::Bool(true));
    out.eq(
        Level::Core,
        "capture.complete",
        &complete,
        at(report, &["capture", "complete"]),
    );
    if let Some(want) = expect.get("anomalies").and_then(Value::as_object) {
        for (name, n) in want {
            // An anomaly the report does not list occurred 0 times.
            let got = at(report, &["capture", "anomalies", name.as_str()])
                .as_u64()
                .unwrap_or(0);
            out.eq(
                Level::Core,
                format!("capture.anomalies.{name}"),
                n,
                &Value::from(got),
            );
        }
    }
    let flows = array(&report["flows"]);
    for ef in array(&expect["flows"]) {
        let Ok(m) = FlowMatch::parse(&ef["match"]) else {
            continue;
        };
        let label = m.describe();
        let found = m.find(flows);
        if found.is_empty() {
            out.push(
                Level::Core,
                format!("flow {label}"),
                "present",
                "absent",
                false,
            );
            continue;
        }
        if let FlowMatch::Tuple { client, .. } = &m {
            for f in &found {
                out.eq(
                    Level::Core,
                    format!("flow {label}: client"),
                    &Value::from(client.as_str()),
                    &f["client"],
                );
            }
        }
        for key in ["packets", "conn_state"] {
            if let Some(v) = ef.get(key) {
                for f in &found {
                    out.eq(Level::Core, format!("flow {label}: {key}"), v, &f[key]);
                }
            }
        }
    }
}

/// Describes a report finding for `by`: index, kind, severity, flow and rate.
fn describe_finding(i: usize, f: &Value) -> String {
    let mut s = format!(
        "#{i} {} ({})",
        f["kind"].as_str().unwrap_or("?"),
        f["severity"].as_str().unwrap_or("?")
    );
    if let Some(id) = f["flow"].as_u64() {
        s.push_str(&format!(" on flow {id}"));
    }
    if let Some(r) = at(f, &["evidence", "rate_bps"]).as_f64() {
        s.push_str(&format!(", {:.3} Mbit/s", r / 1e6));
    }
    s
}

fn findings_on<'a>(report: &'a Value, flows: &[&Value]) -> Vec<(usize, &'a Value)> {
    let ids: Vec<&Value> = flows.iter().map(|f| &f["id"]).collect();
    array(&report["findings"])
        .iter()
        .enumerate()
        .filter(|(_, x)| ids.contains(&&x["flow"]))
        .collect()
}

fn kinds(found: &[(usize, &Value)]) -> String {
    let k: Vec<&str> = found
        .iter()
        .filter_map(|(_, x)| x["kind"].as_str())
        .collect();
    format!("{k:?}")
}

fn check_flows(truth: &Truth, report: &Value, out: &mut Outcome) {
    let flows = array(&report["flows"]);
    for ef in array(&truth.expect()["flows"]) {
        let Ok(m) = FlowMatch::parse(&ef["match"]) else {
            continue;
        };
        let label = m.describe();
        let found = m.find(flows);
        if found.is_empty() {
            continue; // reported once, by check_core
        }
        for key in ["app", "service", "sni"] {
            if let Some(v) = ef.get(key) {
                for f in &found {
                    out.eq(Level::Analysis, format!("flow {label}: {key}"), v, &f[key]);
                }
            }
        }
        if let Some(v) = ef.get("service_not") {
            for f in &found {
                out.push(
                    Level::Analysis,
                    format!("flow {label}: service"),
                    format!("not {v}"),
                    f["service"].to_string(),
                    &f["service"] != v,
                );
            }
        }
        for p in strings(&ef["protocols_include"]) {
            for f in &found {
                let protos = strings(&f["protocols"]);
                out.push(
                    Level::Analysis,
                    format!("flow {label}: protocols include {p}"),
                    p.clone(),
                    format!("{protos:?}"),
                    protos.contains(&p),
                );
            }
        }
        let on = findings_on(report, &found);
        for spec in array(&ef["findings"])
            .iter()
            .filter_map(|x| FindingSpec::parse(x).ok())
        {
            let hit = on.iter().find(|(_, x)| spec.matches(x));
            let c = out.push(
                Level::Analysis,
                format!("flow {label}: finding {}", spec.label()),
                "present",
                kinds(&on),
                hit.is_some(),
            );
            c.by = hit.map(|(i, x)| describe_finding(*i, x));
            c.metric = Some(Metric::Finding(spec.kind.clone(), true));
            if let Some((rate, tol)) = spec.rate {
                let est = on
                    .iter()
                    .filter(|(_, x)| spec.matches_kind(x))
                    .filter_map(|(_, x)| at(x, &["evidence", "rate_bps"]).as_f64())
                    .min_by(|a, b| (a - rate).abs().total_cmp(&(b - rate).abs()));
                out.rates.push(RateCheck {
                    flow: format!("{label} {}", spec.label()),
                    expected_bps: rate,
                    tolerance: tol,
                    estimated_bps: est,
                    error: est.filter(|_| rate > 0.0).map(|r| (r - rate) / rate),
                });
            }
        }
        let any: Vec<FindingSpec> = array(&ef["findings_any"])
            .iter()
            .filter_map(|x| FindingSpec::parse(x).ok())
            .collect();
        if !any.is_empty() {
            let hit = on.iter().find(|(_, x)| any.iter().any(|s| s.matches(x)));
            let names: Vec<String> = any.iter().map(FindingSpec::label).collect();
            let c = out.push(
                Level::Analysis,
                format!("flow {label}: one of {}", names.join(" | ")),
                "present",
                kinds(&on),
                hit.is_some(),
            );
            c.by = hit.map(|(i, x)| describe_finding(*i, x));
            let key: Vec<&str> = any.iter().map(|s| s.kind.as_str()).collect();
            c.metric = Some(Metric::Finding(key.join("|"), true));
        }
        for spec in array(&ef["no_findings"])
            .iter()
            .filter_map(|x| FindingSpec::parse(x).ok())
        {
            let hit = on.iter().find(|(_, x)| spec.matches(x));
            let c = out.push(
                Level::Analysis,
                format!("flow {label}: no finding {}", spec.label()),
                "absent",
                kinds(&on),
                hit.is_none(),
            );
            c.by = hit.map(|(i, x)| describe_finding(*i, x));
            c.metric = Some(Metric::Finding(spec.kind.clone(), false));
        }
        if let Some(rate) = ef["rate_bps"].as_f64() {
            let tol = ef["rate_tolerance"]
                .as_f64()
                .unwrap_or(DEFAULT_RATE_TOLERANCE);
            let mut best: Option<(usize, &Value, f64)> = None;
            for (i, x) in &on {
                if let Some(r) = at(x, &["evidence", "rate_bps"]).as_f64() {
                    if best.is_none_or(|(_, _, b)| (r - rate).abs() < (b - rate).abs()) {
                        best = Some((*i, x, r));
                    }
                }
            }
            let est = best.map(|(_, _, r)| r);
            let pass = est.is_some_and(|r| (r - rate).abs() <= tol * rate);
            let c = out.push(
                Level::Analysis,
                format!("flow {label}: estimated rate_bps"),
                format!("{rate} ± {:.0} %", tol * 100.0),
                est.map_or("no rate estimate".to_string(), |r| format!("{r:.0}")),
                pass,
            );
            c.by = best.map(|(i, x, _)| describe_finding(i, x));
            out.rates.push(RateCheck {
                flow: label.clone(),
                expected_bps: rate,
                tolerance: tol,
                estimated_bps: est,
                error: est.filter(|_| rate > 0.0).map(|r| (r - rate) / rate),
            });
        }
    }
}

/// Whether a finding is about a call of `app`: its flow belongs to one, or its evidence
/// names one.
fn on_call_of(report: &Value, finding: &Value, app: &str) -> bool {
    array(&report["calls"]).iter().any(|c| {
        c["app"].as_str() == Some(app)
            && (array(&c["flows"]).contains(&finding["flow"])
                || (!at(finding, &["evidence", "call"]).is_null()
                    && *at(finding, &["evidence", "call"]) == c["id"]))
    })
}

fn check_capture(truth: &Truth, report: &Value, out: &mut Outcome) {
    let expect = truth.expect();
    let all: Vec<(usize, &Value)> = array(&report["findings"]).iter().enumerate().collect();
    for spec in array(&expect["findings"])
        .iter()
        .filter_map(|x| FindingSpec::parse(x).ok())
    {
        let hit = all.iter().find(|(_, x)| {
            spec.matches(x)
                && spec
                    .call_app
                    .as_ref()
                    .is_none_or(|a| on_call_of(report, x, a))
        });
        let c = out.push(
            Level::Analysis,
            format!("finding {}", spec.label()),
            "present",
            kinds(&all),
            hit.is_some(),
        );
        c.by = hit.map(|(i, x)| describe_finding(*i, x));
        c.metric = Some(Metric::Finding(spec.kind.clone(), true));
    }
    for spec in array(&expect["findings_absent_everywhere"])
        .iter()
        .filter_map(|x| FindingSpec::parse(x).ok())
    {
        let hit = all.iter().find(|(_, x)| spec.matches(x));
        let c = out.push(
            Level::Analysis,
            format!("no finding {} anywhere", spec.label()),
            "absent",
            if hit.is_some() { "present" } else { "absent" },
            hit.is_none(),
        );
        c.by = hit.map(|(i, x)| describe_finding(*i, x));
        c.metric = Some(Metric::Finding(spec.kind.clone(), false));
    }
    let verdicts: Vec<(String, String)> = array(&report["verdicts"])
        .iter()
        .map(|v| {
            (
                v["app"].as_str().unwrap_or("").to_string(),
                v["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let listed = || {
        let v: Vec<String> = verdicts.iter().map(|(a, s)| format!("{a}={s}")).collect();
        format!("[{}]", v.join(", "))
    };
    for v in array(&expect["verdicts"]) {
        let app = v["app"].as_str().unwrap_or("").to_string();
        let status = v["status"].as_str().unwrap_or("").to_string();
        let hit = verdicts.contains(&(app.clone(), status.clone()));
        let c = out.push(
            Level::Analysis,
            format!("verdict {app}={status}"),
            "present",
            listed(),
            hit,
        );
        c.by = hit.then(|| format!("verdict {app}={status}"));
        c.metric = Some(Metric::Verdict(status, true));
    }
    for s in strings(&expect["no_verdict_status"]) {
        let hit = verdicts.iter().find(|(_, st)| st == &s);
        let c = out.push(
            Level::Analysis,
            format!("no verdict {s}"),
            "absent",
            listed(),
            hit.is_none(),
        );
        c.by = hit.map(|(a, st)| format!("verdict {a}={st}"));
        c.metric = Some(Metric::Verdict(s, false));
    }
    let calls: Vec<String> = array(&report["calls"])
        .iter()
        .map(|c| c["app"].as_str().unwrap_or("").to_string())
        .collect();
    for c in array(&expect["calls"]) {
        let app = c["app"].as_str().unwrap_or("");
        let n = calls.iter().filter(|a| a.as_str() == app).count() as u64;
        out.eq(
            Level::Analysis,
            format!("calls of {app}"),
            &c["count"],
            &Value::from(n),
        );
    }
    if let Some(total) = expect.get("calls_total") {
        out.eq(
            Level::Analysis,
            "calls in total",
            total,
            &Value::from(calls.len() as u64),
        );
    }
}

/// `expect.compare`: the verdict of `voipwatch compare` — two captures (the largest flow of
/// each, paths relative to the truth file), or a target and a control selector within this
/// capture.
fn check_compare(truth: &Truth, load: Loader<'_>, out: &mut Outcome) {
    let c = &truth.expect()["compare"];
    let (Some(t), Some(k)) = (c["target"].as_str(), c["control"].as_str()) else {
        return;
    };
    let what = format!("compare {t} vs {k}");
    let expected = c["verdict"].as_str().unwrap_or("").to_string();
    let cfg = CompareConfig::default();
    let flows_of = |cap: &str| load(cap).map(|data| compare::analyze_capture(cap, &data).1);
    let pick = |flows: &[crate::label::LabeledFlow], sel: &str| -> Result<_, String> {
        let sel = Selector::parse(sel)?;
        Ok(compare::throughput_samples(&sel.select(flows), cfg.samples))
    };
    let two_files = is_capture_path(t) && is_capture_path(k);
    let samples = if two_files {
        flows_of(t).and_then(|a| {
            let b = flows_of(k)?;
            Ok((pick(&a, "largest")?, pick(&b, "largest")?))
        })
    } else {
        flows_of(&truth.capture).and_then(|f| Ok((pick(&f, t)?, pick(&f, k)?)))
    };
    let actual = match samples {
        Ok((Some(ts), Some(cs))) => compare::compare(ts, cs, &cfg).verdict.to_string(),
        Ok(_) => "no samples (a selector matched no flow with data)".to_string(),
        Err(e) => format!("error: {e}"),
    };
    let pass = actual == expected;
    out.push(Level::Analysis, what, expected, actual, pass);
}

fn is_capture_path(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.ends_with(".pcap") || l.ends_with(".pcapng") || l.ends_with(".cap")
}

fn expected_summary(truth: &Truth) -> String {
    let e = truth.expect();
    let mut parts: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if !parts.contains(&s) {
            parts.push(s);
        }
    };
    for f in array(&e["flows"]) {
        for x in array(&f["findings"]) {
            if let Ok(s) = FindingSpec::parse(x) {
                add(s.kind);
            }
        }
        let any: Vec<String> = array(&f["findings_any"])
            .iter()
            .filter_map(|x| FindingSpec::parse(x).ok().map(|s| s.kind))
            .collect();
        if !any.is_empty() {
            add(any.join("|"));
        }
    }
    for x in array(&e["findings"]) {
        if let Ok(s) = FindingSpec::parse(x) {
            add(s.kind);
        }
    }
    for v in array(&e["verdicts"]) {
        add(format!(
            "{}={}",
            v["app"].as_str().unwrap_or(""),
            v["status"].as_str().unwrap_or("")
        ));
    }
    if let Some(v) = at(e, &["compare", "verdict"]).as_str() {
        add(v.to_string());
    }
    if parts.is_empty() {
        let negatives = !array(&e["findings_absent_everywhere"]).is_empty()
            || !array(&e["no_verdict_status"]).is_empty();
        return if negatives { "clean" } else { "-" }.to_string();
    }
    parts.join(", ")
}

fn found_summary(report: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    for f in array(&report["findings"]) {
        let k = f["kind"].as_str().unwrap_or("?").to_string();
        if !parts.contains(&k) {
            parts.push(k);
        }
    }
    for v in array(&report["verdicts"]) {
        let s = v["status"].as_str().unwrap_or("");
        if s != "ok" {
            let t = format!("{}={s}", v["app"].as_str().unwrap_or(""));
            if !parts.contains(&t) {
                parts.push(t);
            }
        }
    }
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

/// True/false positives and negatives of one finding kind or verdict status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// tp / (tp + fp); None when nothing was reported.
    pub precision: Option<f64>,
    /// tp / (tp + fn); None when nothing was expected.
    pub recall: Option<f64>,
}

impl Confusion {
    fn add(&mut self, expected_present: bool, pass: bool) {
        match (expected_present, pass) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.tn += 1,
            (false, false) => self.fp += 1,
        }
        let ratio = |a: u64, b: u64| (a + b > 0).then(|| a as f64 / (a + b) as f64);
        self.precision = ratio(self.tp, self.fp);
        self.recall = ratio(self.tp, self.fn_);
    }
}

/// Throttling rate error over every `rate_bps` expectation that got an estimate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RateError {
    /// Expectations in all.
    pub expected: u64,
    /// Those with an estimate.
    pub estimated: u64,
    /// Mean of |estimated − expected| / expected.
    pub mean_abs: Option<f64>,
    /// Largest |estimated − expected| / expected.
    pub max_abs: Option<f64>,
}

/// Totals over many outcomes: per finding kind and per verdict status, and the rate error.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    pub findings: BTreeMap<String, Confusion>,
    pub verdicts: BTreeMap<String, Confusion>,
    pub rate_error: RateError,
}

/// Adds up the checks of `outcomes` (the levels given only).
pub fn totals<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>, levels: &[Level]) -> Totals {
    let mut t = Totals::default();
    let mut errs: Vec<f64> = Vec::new();
    for o in outcomes {
        for c in o.checks.iter().filter(|c| levels.contains(&c.level)) {
            match &c.metric {
                Some(Metric::Finding(k, p)) => {
                    t.findings.entry(k.clone()).or_default().add(*p, c.pass)
                }
                Some(Metric::Verdict(s, p)) => {
                    t.verdicts.entry(s.clone()).or_default().add(*p, c.pass)
                }
                None => {}
            }
        }
        for r in &o.rates {
            t.rate_error.expected += 1;
            if let Some(e) = r.error {
                errs.push(e.abs());
            }
        }
    }
    t.rate_error.estimated = errs.len() as u64;
    if !errs.is_empty() {
        t.rate_error.mean_abs = Some(errs.iter().sum::<f64>() / errs.len() as f64);
        t.rate_error.max_abs = errs.iter().copied().reduce(f64::max);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(expect: &str) -> Result<Truth, String> {
        Truth::parse(&format!(
            r#"{{"schema": "voipwatch.truth/1", "capture": "x.pcap", "expect": {expect}}}"#
        ))
    }

    #[test]
    fn parse_rejects_wrong_schema_unknown_keys_and_kinds() {
        assert!(truth("{}").is_ok());
        let e = Truth::parse(r#"{"schema": "voipwatch.truth/2", "capture": "x", "expect": {}}"#)
            .unwrap_err();
        assert!(e.contains("voipwatch.truth/2"), "{e}");
        let e = truth(r#"{"findings_absent": ["rtp_cut"]}"#).unwrap_err();
        assert!(e.contains("expect.findings_absent: unknown key"), "{e}");
        let e = truth(r#"{"findings": ["rtp_cutt"]}"#).unwrap_err();
        assert!(e.contains("\"rtp_cutt\" is not a finding kind"), "{e}");
        let e = truth(r#"{"verdicts": [{"app": "sip", "status": "bad"}]}"#).unwrap_err();
        assert!(e.contains("not a status"), "{e}");
        let e = truth(r#"{"anomalies": {"duplicate_frames": 2}}"#).unwrap_err();
        assert!(e.contains("not an anomaly"), "{e}");
        let e = truth(r#"{"anomalies": {"duplicate_frame": -1}}"#).unwrap_err();
        assert!(e.contains("not a count"), "{e}");
        assert!(truth(r#"{"anomalies": {"duplicate_frame": 0}}"#).is_ok());
        let e = truth(r#"{"flows": [{"match": {"select": "port=1"}}]}"#).unwrap_err();
        assert!(e.contains("expect.flows[0].match"), "{e}");
    }

    #[test]
    fn finding_spec_checks_direction_rate_and_comparison() {
        let spec = |v: &str| FindingSpec::parse(&serde_json::from_str(v).expect("json"));
        let s = spec(
            r#"{"kind": "throttling_policer", "dir": "c2s", "rate_bps": 140000,
                "comparison": "selective"}"#,
        )
        .expect("valid");
        let f = |dir: &str, rate: f64, verdict: Option<&str>| {
            let mut e = serde_json::json!({"dir": dir, "rate_bps": rate});
            if let Some(v) = verdict {
                e["comparison"] = serde_json::json!({"verdict": v});
            }
            serde_json::json!({"kind": "throttling_policer", "severity": "throttled", "evidence": e})
        };
        assert!(s.matches(&f("c2s", 141_012.0, Some("selective"))));
        assert!(
            !s.matches(&f("s2c", 141_012.0, Some("selective"))),
            "direction"
        );
        assert!(
            !s.matches(&f("c2s", 170_000.0, Some("selective"))),
            "rate off by 21 %"
        );
        assert!(
            !s.matches(&f("c2s", 141_012.0, Some("whole_link"))),
            "comparison"
        );
        assert!(s.matches_kind(&f("c2s", 170_000.0, None)));
        // Evidence members must each be equal.
        let ev = spec(
            r#"{"kind": "blocking_hop", "evidence": {"first_blocked_ttl": 3, "onset": "silence"}}"#,
        )
        .expect("valid");
        let hop = |ttl: u64, onset: &str| {
            serde_json::json!({"kind": "blocking_hop", "severity": "blocked",
                               "evidence": {"first_blocked_ttl": ttl, "onset": onset, "trigger": "x"}})
        };
        assert!(ev.matches(&hop(3, "silence")));
        assert!(!ev.matches(&hop(4, "silence")), "ttl");
        assert!(!ev.matches(&hop(3, "injected")), "onset");
        assert!(ev.label().contains("with evidence"), "{}", ev.label());
        assert!(spec(r#"{"kind": "blocking_hop", "evidence": 3}"#).is_err());
        let none = spec(r#"{"kind": "throttling_policer", "comparison": "none"}"#).expect("valid");
        assert!(none.matches(&f("s2c", 1.0, None)));
        assert!(!none.matches(&f("s2c", 1.0, Some("selective"))));
        for (bad, why) in [
            (r#"{"kind": "throttling_policer", "dir": "up"}"#, "dir"),
            (
                r#"{"kind": "throttling_policer", "comparison": "yes"}"#,
                "comparison",
            ),
            (
                r#"{"kind": "throttling_policer", "rate_tolerance": 0.1}"#,
                "rate_tolerance",
            ),
            (
                r#"{"kind": "throttling_policer", "rate_bps": "fast"}"#,
                "rate_bps",
            ),
            (
                r#"{"kind": "throttling_policer", "rate": 1}"#,
                "unknown key",
            ),
        ] {
            let e = spec(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn endpoints_match_by_port_ip_or_both() {
        assert!(endpoint_matches("10.0.0.2:443", ":443"));
        assert!(endpoint_matches("10.0.0.2:443", "10.0.0.2"));
        assert!(endpoint_matches("[fd71::2]:443", "fd71::2"));
        assert!(endpoint_matches("[fd71::2]:443", "[fd71::2]:443"));
        assert!(!endpoint_matches("10.0.0.2:443", ":80"));
    }

    #[test]
    fn confusion_counts_and_ratios() {
        let mut c = Confusion::default();
        c.add(true, true);
        c.add(true, false);
        c.add(false, false);
        c.add(false, true);
        assert_eq!((c.tp, c.fn_, c.fp, c.tn), (1, 1, 1, 1));
        assert_eq!(c.precision, Some(0.5));
        assert_eq!(c.recall, Some(0.5));
    }
}
