//! Lab captures with known truth (DESIGN §5, docs/lab.md): for every `captures/<name>.truth.json`,
//! analyse the capture it names and check the expectations the engine can answer.
//!
//! Two levels, so a scenario can land before the detector or classifier it needs:
//! - core facts (always enforced, for every truth file): measured with tshark/capinfos when the capture was made — the packet
//!   count, and per flow the transport, endpoints (which side is the client), packets each way and,
//!   for TCP, Zeek's `conn_state`. These need only the capture reader, decoder and flow table.
//! - everything else in the truth file — flow `app`/`service`/`protocols`/`sni`,
//!   per-flow `findings`/`findings_any`/`no_findings` and throttling `rate_bps` within `rate_tolerance`,
//!   and capture-wide `findings_absent_everywhere`, `verdicts`, `no_verdict_status`, `calls`,
//!   `calls_total`, and `compare` (the `voipwatch compare` verdict), enforced for every scenario
//!   not listed in [`FINDINGS_PENDING`].
//!
//! Failures print, per capture, each expectation with the expected and the actual value.
//! `LAB_ALL=1` applies the second level to the pending scenarios too (to list what is still missing).

use serde_json::Value;
use std::path::PathBuf;
use voipwatch_core::analyzer::{analyze_bytes, Config};
use voipwatch_core::compare::{self, CompareConfig, Selector};

/// Scenarios whose classification, findings, verdicts, calls and compare expectations are not
/// enforced yet (their core facts always are). A new lab scenario is checked in full by default;
/// list it here only while the feature it exercises is being built, and say why.
/// `LAB_ALL=1 cargo test --test tests lab` enforces these too, to see what is still missing.
const FINDINGS_PENDING: &[&str] = &[];

fn captures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// Every truth file, sorted by scenario name: (scenario, truth).
fn truths() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(captures_dir()) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.retain(|p| p.to_string_lossy().ends_with(".truth.json"));
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let name = v["scenario"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no scenario", p.display()))
            .to_string();
        out.push((name, v));
    }
    out
}

fn analyze(truth: &Value) -> Value {
    let cap = truth["capture"].as_str().expect("truth names its capture");
    let data = std::fs::read(captures_dir().join(cap)).unwrap_or_else(|e| panic!("{cap}: {e}"));
    let report = analyze_bytes(
        Config {
            name: cap.to_string(),
            ..Default::default()
        },
        &data,
    );
    serde_json::from_str(&report.to_json()).expect("report is JSON")
}

/// Collects mismatches for one capture: `what`, expected, actual.
#[derive(Default)]
struct Mismatches(Vec<(String, String, String)>);

impl Mismatches {
    fn eq(&mut self, what: impl Into<String>, expected: &Value, actual: &Value) {
        if expected != actual {
            self.0
                .push((what.into(), expected.to_string(), actual.to_string()));
        }
    }
    fn fail(
        &mut self,
        what: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) {
        self.0.push((what.into(), expected.into(), actual.into()));
    }
}

fn endpoints(v: &Value) -> (String, String, String) {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    (s("transport"), s("client"), s("server"))
}

/// The report flow for an expected flow: same transport and the same endpoint pair, either way round
/// (a swapped client/server is then reported as a mismatch rather than as a missing flow).
fn find_flow<'a>(report: &'a Value, m: &Value) -> Option<&'a Value> {
    let (t, c, s) = endpoints(m);
    report["flows"].as_array()?.iter().find(|f| {
        let (ft, fc, fs) = endpoints(f);
        ft == t && ((fc == c && fs == s) || (fc == s && fs == c))
    })
}

fn describe(m: &Value) -> String {
    let (t, c, s) = endpoints(m);
    format!("{t} {c} -> {s}")
}

fn check_core(truth: &Value, report: &Value, out: &mut Mismatches) {
    let expect = &truth["expect"];
    out.eq(
        "capture.packets",
        &expect["packets"],
        &report["capture"]["packets"],
    );
    out.eq(
        "capture.complete",
        &Value::Bool(true),
        &report["capture"]["complete"],
    );
    for ef in expect["flows"].as_array().into_iter().flatten() {
        let m = &ef["match"];
        let label = describe(m);
        let Some(f) = find_flow(report, m) else {
            out.fail(format!("flow {label}"), "present", "absent");
            continue;
        };
        out.eq(format!("flow {label}: client"), &m["client"], &f["client"]);
        out.eq(
            format!("flow {label}: packets"),
            &ef["packets"],
            &f["packets"],
        );
        if let Some(cs) = ef.get("conn_state") {
            out.eq(format!("flow {label}: conn_state"), cs, &f["conn_state"]);
        }
    }
}

fn kinds_on(report: &Value, flow_id: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| &x["flow"] == flow_id)
        .filter_map(|x| x["kind"].as_str().map(str::to_string))
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn check_findings(truth: &Value, report: &Value, out: &mut Mismatches) {
    let expect = &truth["expect"];
    for ef in expect["flows"].as_array().into_iter().flatten() {
        let label = describe(&ef["match"]);
        let Some(f) = find_flow(report, &ef["match"]) else {
            continue;
        };
        for key in ["app", "service", "sni"] {
            if let Some(v) = ef.get(key) {
                out.eq(format!("flow {label}: {key}"), v, &f[key]);
            }
        }
        if let Some(v) = ef.get("service_not") {
            if &f["service"] == v {
                out.fail(
                    format!("flow {label}: service"),
                    format!("not {v}"),
                    f["service"].to_string(),
                );
            }
        }
        let protos = strings(&f["protocols"]);
        for p in strings(&ef["protocols_include"]) {
            if !protos.contains(&p) {
                out.fail(
                    format!("flow {label}: protocols include {p}"),
                    p.clone(),
                    format!("{protos:?}"),
                );
            }
        }
        let kinds = kinds_on(report, &f["id"]);
        for k in strings(&ef["findings"]) {
            if !kinds.contains(&k) {
                out.fail(
                    format!("flow {label}: finding {k}"),
                    "present",
                    format!("{kinds:?}"),
                );
            }
        }
        let any = strings(&ef["findings_any"]);
        if !any.is_empty() && !any.iter().any(|k| kinds.contains(k)) {
            out.fail(
                format!("flow {label}: one of {any:?}"),
                "present",
                format!("{kinds:?}"),
            );
        }
        for k in strings(&ef["no_findings"]) {
            if kinds.contains(&k) {
                out.fail(
                    format!("flow {label}: finding {k}"),
                    "absent",
                    format!("{kinds:?}"),
                );
            }
        }
        if let Some(rate) = ef["rate_bps"].as_f64() {
            let tol = ef["rate_tolerance"].as_f64().unwrap_or(0.15);
            let rates: Vec<f64> = report["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|x| x["flow"] == f["id"])
                .filter_map(|x| x["evidence"]["rate_bps"].as_f64())
                .collect();
            if !rates.iter().any(|r| (r - rate).abs() <= tol * rate) {
                out.fail(
                    format!("flow {label}: estimated rate_bps"),
                    format!("{rate} ± {:.0} %", tol * 100.0),
                    format!("{rates:?}"),
                );
            }
        }
    }
    let all_kinds: Vec<String> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["kind"].as_str().map(str::to_string))
        .collect();
    for k in strings(&expect["findings_absent_everywhere"]) {
        if all_kinds.contains(&k) {
            out.fail(format!("finding {k} anywhere"), "absent", "present");
        }
    }
    let verdicts: Vec<(String, String)> = report["verdicts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            (
                v["app"].as_str().unwrap_or("").to_string(),
                v["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for v in expect["verdicts"].as_array().into_iter().flatten() {
        let want = (
            v["app"].as_str().unwrap_or("").to_string(),
            v["status"].as_str().unwrap_or("").to_string(),
        );
        if !verdicts.contains(&want) {
            out.fail(
                format!("verdict {} {}", want.0, want.1),
                "present",
                format!("{verdicts:?}"),
            );
        }
    }
    for s in strings(&expect["no_verdict_status"]) {
        if verdicts.iter().any(|(_, st)| st == &s) {
            out.fail(
                format!("any verdict {s}"),
                "absent",
                format!("{verdicts:?}"),
            );
        }
    }
    let calls: Vec<String> = report["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["app"].as_str().unwrap_or("").to_string())
        .collect();
    for c in expect["calls"].as_array().into_iter().flatten() {
        let app = c["app"].as_str().unwrap_or("");
        let n = calls.iter().filter(|a| a.as_str() == app).count() as u64;
        out.eq(format!("calls of {app}"), &c["count"], &Value::from(n));
    }
    if let Some(total) = expect.get("calls_total") {
        out.eq("calls in total", total, &Value::from(calls.len() as u64));
    }
}

/// `expect.compare`: the verdict of `voipwatch compare` — two captures (the largest flow of each),
/// or a target and a control selector (`sni=…`, `server=…`) within this capture.
fn check_compare(truth: &Value, out: &mut Mismatches) {
    let c = &truth["expect"]["compare"];
    let (Some(t), Some(k)) = (c["target"].as_str(), c["control"].as_str()) else {
        return;
    };
    let load = |cap: &str| {
        let data = std::fs::read(captures_dir().join(cap)).unwrap_or_else(|e| panic!("{cap}: {e}"));
        compare::analyze_capture(cap, &data).1
    };
    let cfg = CompareConfig::default();
    let pick = |flows: &[voipwatch_core::label::LabeledFlow], sel: &str| {
        let sel = Selector::parse(sel).unwrap_or_else(|e| panic!("selector {sel}: {e}"));
        compare::throughput_samples(&sel.select(flows), cfg.samples)
    };
    let (ts, cs) = if t.ends_with(".pcap") || t.ends_with(".pcapng") {
        (pick(&load(t), "largest"), pick(&load(k), "largest"))
    } else {
        let flows = load(truth["capture"].as_str().unwrap_or_default());
        (pick(&flows, t), pick(&flows, k))
    };
    let actual = match (ts, cs) {
        (Some(ts), Some(cs)) => compare::compare(ts, cs, &cfg).verdict.to_string(),
        _ => "no samples (a selector matched no flow with data)".to_string(),
    };
    out.eq(
        format!("compare {t} vs {k}"),
        &c["verdict"],
        &Value::from(actual),
    );
}

/// Checks every scenario: core facts always, the rest unless the scenario is pending.
#[test]
fn lab_expectations_hold() {
    let all = truths();
    if all.is_empty() {
        eprintln!("no captures/*.truth.json: nothing to check");
        return;
    }
    let every = std::env::var_os("LAB_ALL").is_some();
    let mut report_text = String::new();
    for (name, truth) in &all {
        let report = analyze(truth);
        let mut out = Mismatches::default();
        check_core(truth, &report, &mut out);
        if every || !FINDINGS_PENDING.contains(&name.as_str()) {
            check_findings(truth, &report, &mut out);
            check_compare(truth, &mut out);
        }
        if !out.0.is_empty() {
            report_text.push_str(&format!(
                "\n== {name} ({})\n",
                truth["capture"].as_str().unwrap_or("")
            ));
            for (what, exp, act) in &out.0 {
                report_text.push_str(&format!(
                    "  {what}\n    expected: {exp}\n    actual:   {act}\n"
                ));
            }
        }
    }
    assert!(
        report_text.is_empty(),
        "lab expectations not met:{report_text}"
    );
}

#[test]
fn lab_every_truth_file_is_checked_and_names_its_capture() {
    let all = truths();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    for (name, truth) in &all {
        let cap = truth["capture"].as_str().unwrap_or_default();
        assert!(
            captures_dir().join(cap).is_file(),
            "{name}: capture {cap} missing"
        );
        assert!(
            truth["expect"]["packets"].as_u64().is_some(),
            "{name}: expect.packets missing"
        );
        assert!(
            truth["expect"]["flows"].is_array(),
            "{name}: expect.flows missing"
        );
    }
    if all.is_empty() {
        eprintln!("no captures/*.truth.json: nothing to check");
        return;
    }
    for n in FINDINGS_PENDING {
        assert!(
            names.contains(n),
            "{n} is listed in tests/lab.rs but captures/{n}.truth.json does not exist"
        );
    }
}
