//! `voipwatch verify`: checks the engine against captures with known truth
//! (`<capture-stem>.truth.json`, format `voipwatch.truth/1`, docs/truth.md).
//!
//! Every capture that has a truth file is analysed (in parallel) and checked with
//! `voipwatch_core::truth`, the engine the test suite runs on `captures/`. The output is a
//! table (capture, expected, found, pass/fail, what decided it), the failed expectations as
//! expected/actual blocks, then totals per finding kind and per verdict status (true/false
//! positives and negatives, precision, recall) and the throttling rate error. Throughput is
//! measured on this machine: it is shown in its own columns and a separate JSON `timing`
//! section, and `--no-timing` leaves it out, so the JSON of two runs is byte-identical.
//! `--compare EARLIER.json` lists what moved since an earlier `--format json` run.

use crate::analyze::analyze_path;
use crate::render::esc;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use voipwatch_core::truth::{self, Check, Level, Outcome, RateCheck, Totals, Truth};

/// The format id of `voipwatch verify --format json`.
pub const SCHEMA: &str = "voipwatch.verify/1";

/// Widest an expected/found cell gets in the text table.
const CELL: usize = 44;

struct Opts {
    json: bool,
    timing: bool,
    jobs: usize,
    compare: Option<String>,
    paths: Vec<String>,
}

pub const USAGE: &str = "\
usage: voipwatch verify [OPTIONS] DIR|FILE...

Checks voipwatch against captures with known truth (<capture>.truth.json beside each
capture, docs/truth.md). Exit status 1 when some expectation failed.

OPTIONS:
    -f, --format text|json          table with totals (default), or JSON for CI
    --compare EARLIER.json          also list what moved since an earlier --format json run
    --no-timing                     leave out the throughput (MB/s, packets/s) numbers, which
                                    vary by machine: the JSON of two runs is then identical
    -j, --jobs N                    captures checked in parallel (default: all cores)
    -h, --help                      this help
";

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        json: false,
        timing: true,
        jobs: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        compare: None,
        paths: Vec::new(),
    };
    let mut it = crate::args::Options::new(args);
    while let Some((a, name)) = it.next_arg() {
        match name {
            "-f" | "--format" => {
                o.json = match it.value("--format")?.as_str() {
                    "json" => true,
                    "text" => false,
                    v => return Err(format!("--format: '{v}' is not text or json")),
                }
            }
            "--compare" => o.compare = Some(it.value("--compare")?),
            "--no-timing" => o.timing = false,
            "-j" | "--jobs" => {
                let v = it.value("--jobs")?;
                o.jobs = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("--jobs: '{v}' is not a positive number"))?;
            }
            s if s.starts_with('-') => {
                return Err(crate::args::unknown_option(
                    "verify",
                    a,
                    &["--format", "--compare", "--no-timing", "--jobs", "--help"],
                ))
            }
            _ => o.paths.push(a.to_string()),
        }
    }
    if o.paths.is_empty() {
        return Err(
            "verify: no folder or file given (a folder of captures with \
                    <name>.truth.json files, a truth file or a capture)"
                .into(),
        );
    }
    Ok(o)
}

fn is_capture(p: &Path) -> bool {
    let n = p
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".cap")
}

fn is_truth(p: &Path) -> bool {
    p.to_string_lossy().ends_with(".truth.json")
}

/// The truth file beside a capture: `x.pcap` → `x.truth.json`.
fn truth_of(capture: &Path) -> PathBuf {
    let stem = capture
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    capture.with_file_name(format!("{stem}.truth.json"))
}

/// Truth files under the arguments (folders recursively, sorted; argument order kept), and
/// captures given without one.
fn discover(paths: &[String]) -> Result<(Vec<PathBuf>, Vec<String>), String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
        let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if is_truth(&p) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut truths = Vec::new();
    let mut skipped = Vec::new();
    for a in paths {
        let p = PathBuf::from(a);
        if p.is_dir() {
            walk(&p, &mut truths)?;
        } else if !p.exists() {
            return Err(format!("{a}: cannot open: no such file or folder"));
        } else if is_truth(&p) {
            truths.push(p);
        } else if is_capture(&p) {
            let t = truth_of(&p);
            if t.is_file() {
                truths.push(t);
            } else {
                skipped.push(format!("{a}: no truth file ({})", t.display()));
            }
        } else {
            return Err(format!(
                "{a}: neither a folder, a .truth.json file nor a capture"
            ));
        }
    }
    let mut seen = Vec::new();
    truths.retain(|t| {
        let new = !seen.contains(t);
        seen.push(t.clone());
        new
    });
    Ok((truths, skipped))
}

/// One capture's result, as the JSON shows it.
#[derive(Serialize)]
struct CaptureResult {
    truth: String,
    capture: String,
    pass: bool,
    /// Set when the truth file or the capture could not be read (then `pass` is false).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    expected: String,
    found: String,
    decided_by: String,
    failed: usize,
    checks: Vec<Check>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rates: Vec<RateCheck>,
    #[serde(skip)]
    outcome: Outcome,
    #[serde(skip)]
    timing: Option<Timing>,
}

#[derive(Clone, Copy, Serialize)]
struct Timing {
    seconds: f64,
    bytes: u64,
    packets: u64,
    mb_per_s: f64,
    packets_per_s: f64,
}

impl Timing {
    fn new(seconds: f64, bytes: u64, packets: u64) -> Timing {
        let s = seconds.max(1e-9);
        Timing {
            seconds,
            bytes,
            packets,
            mb_per_s: bytes as f64 / 1e6 / s,
            packets_per_s: packets as f64 / s,
        }
    }
}

fn fail(truth: String, capture: String, error: String) -> CaptureResult {
    CaptureResult {
        truth,
        capture,
        pass: false,
        decided_by: format!("ERROR {error}"),
        error: Some(error),
        expected: "-".into(),
        found: "-".into(),
        failed: 0,
        checks: Vec::new(),
        rates: Vec::new(),
        outcome: Outcome::default(),
        timing: None,
    }
}

fn verify_one(truth_path: &Path) -> CaptureResult {
    let shown = truth_path.display().to_string();
    let text = match std::fs::read_to_string(truth_path) {
        Ok(t) => t,
        Err(e) => return fail(shown, "-".into(), format!("cannot read: {e}")),
    };
    let t = match Truth::parse(&text) {
        Ok(t) => t,
        Err(e) => return fail(shown, "-".into(), e),
    };
    let dir = truth_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let cap_path = dir.join(&t.capture);
    let start = Instant::now();
    let analysed = analyze_path(&cap_path.to_string_lossy());
    let seconds = start.elapsed().as_secs_f64();
    let Some(report) = analysed.report else {
        let e = analysed.error.unwrap_or_else(|| "no report".into());
        return fail(shown, t.capture, e);
    };
    let timing = Timing::new(seconds, report.capture.file_bytes, report.capture.packets);
    let load = |cap: &str| {
        let p = dir.join(cap);
        std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))
    };
    let outcome = truth::check(&t, &report, &load);
    let levels = [Level::Core, Level::Analysis];
    CaptureResult {
        truth: shown,
        capture: t.capture.clone(),
        pass: outcome.pass(&levels),
        error: None,
        expected: outcome.expected.clone(),
        found: outcome.found.clone(),
        decided_by: outcome.decided_by(),
        failed: outcome.failures(&levels).len(),
        checks: outcome.checks.clone(),
        rates: outcome.rates.clone(),
        outcome,
        timing: Some(timing),
    }
}

#[derive(Serialize)]
struct Summary {
    captures: usize,
    passed: usize,
    failed: usize,
    errors: usize,
    checks: usize,
    checks_failed: usize,
    #[serde(flatten)]
    totals: Totals,
}

pub fn run(args: &[String]) -> Result<i32, String> {
    let o = parse(args)?;
    let earlier = match &o.compare {
        Some(p) => Some(load_earlier(p)?),
        None => None,
    };
    let (truths, skipped) = discover(&o.paths)?;
    for s in &skipped {
        eprintln!("voipwatch: verify: {s}, skipped");
    }
    if truths.is_empty() {
        return Err(format!(
            "verify: no truth file (<name>.truth.json) under {}",
            o.paths.join(", ")
        ));
    }
    let n = truths.len();
    let slots: Vec<Mutex<Option<CaptureResult>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let wall = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..o.jobs.min(n) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = truths.get(i) else { break };
                let r = verify_one(p);
                if let Some(slot) = slots.get(i) {
                    if let Ok(mut slot) = slot.lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    let wall = wall.elapsed().as_secs_f64();
    let results: Vec<CaptureResult> = slots
        .into_iter()
        .filter_map(|s| s.into_inner().ok().flatten())
        .collect();
    let levels = [Level::Core, Level::Analysis];
    let summary = Summary {
        captures: results.len(),
        passed: results.iter().filter(|r| r.pass).count(),
        failed: results
            .iter()
            .filter(|r| !r.pass && r.error.is_none())
            .count(),
        errors: results.iter().filter(|r| r.error.is_some()).count(),
        checks: results.iter().map(|r| r.checks.len()).sum(),
        checks_failed: results.iter().map(|r| r.failed).sum(),
        totals: truth::totals(results.iter().map(|r| &r.outcome), &levels),
    };
    let total_timing = {
        let bytes = results
            .iter()
            .filter_map(|r| r.timing)
            .map(|t| t.bytes)
            .sum();
        let packets = results
            .iter()
            .filter_map(|r| r.timing)
            .map(|t| t.packets)
            .sum();
        Timing::new(wall, bytes, packets)
    };
    let doc = serde_json::json!({
        "schema": SCHEMA,
        "pass": summary.passed == summary.captures,
        "captures": results,
        "skipped": skipped,
        "totals": summary,
    });
    let changes = earlier.as_ref().map(|e| changes(e, &doc));
    if o.json {
        let mut doc = doc;
        if let Some(c) = &changes {
            doc["changes"] = serde_json::to_value(c).unwrap_or(Value::Null);
        }
        if o.timing {
            let per: BTreeMap<&str, Timing> = results
                .iter()
                .filter_map(|r| r.timing.map(|t| (r.truth.as_str(), t)))
                .collect();
            doc["timing"] = serde_json::json!({
                "note": "measured on this machine: varies from run to run; --no-timing omits it",
                "jobs": o.jobs.min(n),
                "all": total_timing,
                "captures": per,
            });
        }
        let mut s = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        s.push('\n');
        crate::print_out(&s);
    } else {
        let mut s = text(
            &results,
            &summary,
            o.timing.then_some(total_timing),
            o.jobs.min(n),
        );
        if let Some(c) = &changes {
            s.push_str(&changes_text(c, o.compare.as_deref().unwrap_or("")));
        }
        crate::print_out(&s);
    }
    Ok(if summary.errors > 0 {
        2
    } else if summary.passed < summary.captures {
        1
    } else {
        0
    })
}

fn cell(s: &str) -> String {
    if s.chars().count() <= CELL {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(CELL - 1).collect();
        t.push('…');
        t
    }
}

fn ratio(v: Option<f64>) -> String {
    v.map_or("-".into(), |r| format!("{r:.3}"))
}

fn table(rows: &[Vec<String>], right: &[usize]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let mut s = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            let pad = " ".repeat(w.saturating_sub(c.chars().count()));
            if i > 0 {
                line.push_str("  ");
            }
            if right.contains(&i) {
                line.push_str(&pad);
                line.push_str(c);
            } else {
                line.push_str(c);
                line.push_str(&pad);
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

fn text(results: &[CaptureResult], sum: &Summary, timing: Option<Timing>, jobs: usize) -> String {
    let mut s = format!(
        "voipwatch verify: {} capture{}, {} passed, {} failed{} ({} checks, {} failed)\n\n",
        sum.captures,
        if sum.captures == 1 { "" } else { "s" },
        sum.passed,
        sum.failed,
        if sum.errors > 0 {
            format!(", {} errors", sum.errors)
        } else {
            String::new()
        },
        sum.checks,
        sum.checks_failed
    );
    let mut head = vec!["capture", "expected", "found", "result", "decided by"];
    if timing.is_some() {
        head.extend(["MB/s", "pkt/s"]);
    }
    let mut rows = vec![head.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for r in results {
        let shown = Path::new(&r.capture)
            .file_name()
            .map_or(r.capture.clone(), |n| n.to_string_lossy().into_owned());
        let mut row = vec![
            esc(&shown).into_owned(),
            cell(&esc(&r.expected)),
            cell(&esc(&r.found)),
            if r.error.is_some() {
                "ERROR"
            } else if r.pass {
                "pass"
            } else {
                "FAIL"
            }
            .to_string(),
            esc(&r.decided_by).into_owned(),
        ];
        if timing.is_some() {
            let (mb, pk) = r.timing.map_or(("-".into(), "-".into()), |t| {
                (
                    format!("{:.1}", t.mb_per_s),
                    format!("{:.0}", t.packets_per_s),
                )
            });
            row.extend([mb, pk]);
        }
        rows.push(row);
    }
    s.push_str(&table(&rows, &[5, 6]));
    for r in results.iter().filter(|r| !r.pass) {
        s.push_str(&format!("\n== {} ({})\n", esc(&r.capture), esc(&r.truth)));
        if let Some(e) = &r.error {
            s.push_str(&format!("  error: {}\n", esc(e)));
        }
        for c in r.checks.iter().filter(|c| !c.pass) {
            s.push_str(&format!(
                "  {}\n    expected: {}\n    actual:   {}\n",
                esc(&c.what),
                esc(&c.expected),
                esc(&c.actual)
            ));
            if let Some(by) = &c.by {
                s.push_str(&format!("    by:       {}\n", esc(by)));
            }
        }
    }
    let mut rows = vec![["", "tp", "fp", "fn", "tn", "precision", "recall"]
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()];
    for (what, map) in [
        ("finding", &sum.totals.findings),
        ("verdict", &sum.totals.verdicts),
    ] {
        for (k, c) in map {
            rows.push(vec![
                format!("{what} {}", esc(k)),
                c.tp.to_string(),
                c.fp.to_string(),
                c.fn_.to_string(),
                c.tn.to_string(),
                ratio(c.precision),
                ratio(c.recall),
            ]);
        }
    }
    s.push_str("\nTotals (an expectation of presence is a positive, of absence a negative)\n");
    s.push_str(&table(&rows, &[1, 2, 3, 4, 5, 6]));
    let re = &sum.totals.rate_error;
    if re.expected > 0 {
        s.push_str(&format!(
            "throttling rate: {} expected, {} estimated, mean |error| {}, max |error| {}\n",
            re.expected,
            re.estimated,
            re.mean_abs
                .map_or("-".into(), |e| format!("{:.1} %", e * 100.0)),
            re.max_abs
                .map_or("-".into(), |e| format!("{:.1} %", e * 100.0)),
        ));
    }
    if let Some(t) = timing {
        s.push_str(&format!(
            "throughput (this machine, {jobs} jobs): {:.1} MB, {} packets in {:.2} s wall: {:.1} MB/s, {:.0} packets/s\n",
            t.bytes as f64 / 1e6,
            t.packets,
            t.seconds,
            t.mb_per_s,
            t.packets_per_s
        ));
    }
    s
}

fn load_earlier(path: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: cannot open: {e}"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))?;
    if v["schema"].as_str() != Some(SCHEMA) {
        return Err(format!(
            "{path}: not a `voipwatch verify --format json` output (schema {SCHEMA})"
        ));
    }
    Ok(v)
}

/// What moved between an earlier run and this one, per capture (keyed by truth path).
#[derive(Serialize)]
struct Changes {
    /// Captures whose result, checks or findings changed.
    captures: Vec<CaptureChange>,
    /// Finding kinds and verdict statuses whose totals changed: "tp 7→6, fn 0→1".
    totals: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct CaptureChange {
    truth: String,
    /// `pass→fail`, `fail→pass`, `new`, `gone` or `same`.
    result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    found: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checks: Vec<String>,
}

fn word(pass: bool) -> &'static str {
    if pass {
        "pass"
    } else {
        "fail"
    }
}

fn changes(earlier: &Value, now: &Value) -> Changes {
    let by_truth = |v: &Value| -> BTreeMap<String, Value> {
        v["captures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c["truth"].as_str()?.to_string(), c.clone())))
            .collect()
    };
    let (a, b) = (by_truth(earlier), by_truth(now));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut captures = Vec::new();
    for k in keys {
        let ch = match (a.get(k), b.get(k)) {
            (None, Some(_)) => CaptureChange {
                truth: k.clone(),
                result: "new".into(),
                found: None,
                checks: Vec::new(),
            },
            (Some(_), None) => CaptureChange {
                truth: k.clone(),
                result: "gone".into(),
                found: None,
                checks: Vec::new(),
            },
            (Some(x), Some(y)) => {
                let (px, py) = (
                    x["pass"].as_bool() == Some(true),
                    y["pass"].as_bool() == Some(true),
                );
                let result = if px == py {
                    "same".to_string()
                } else {
                    format!("{}→{}", word(px), word(py))
                };
                let found = (x["found"] != y["found"]).then(|| {
                    format!(
                        "{} → {}",
                        x["found"].as_str().unwrap_or("-"),
                        y["found"].as_str().unwrap_or("-")
                    )
                });
                type Seen = (bool, String, String);
                let checks_of = |v: &Value| -> BTreeMap<String, Seen> {
                    v["checks"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| {
                            Some((
                                c["what"].as_str()?.to_string(),
                                (
                                    c["pass"].as_bool() == Some(true),
                                    c["actual"].as_str().unwrap_or("").to_string(),
                                    c["expected"].as_str().unwrap_or("").to_string(),
                                ),
                            ))
                        })
                        .collect()
                };
                let (cx, cy) = (checks_of(x), checks_of(y));
                let mut checks = Vec::new();
                for (w, (p, act, exp)) in &cy {
                    match cx.get(w) {
                        None => checks.push(format!("new check {w}: {}", word(*p))),
                        Some((q, old, old_exp)) if q != p || old != act || old_exp != exp => {
                            let wanted = if old_exp == exp {
                                String::new()
                            } else {
                                format!(" [expected {old_exp} → {exp}]")
                            };
                            checks.push(format!(
                                "{w}: {} (got {old}) → {} (got {act}){wanted}",
                                word(*q),
                                word(*p)
                            ))
                        }
                        _ => {}
                    }
                }
                for w in cx.keys().filter(|w| !cy.contains_key(*w)) {
                    checks.push(format!("check removed: {w}"));
                }
                if result == "same" && found.is_none() && checks.is_empty() {
                    continue;
                }
                CaptureChange {
                    truth: k.clone(),
                    result,
                    found,
                    checks,
                }
            }
            (None, None) => continue,
        };
        captures.push(ch);
    }
    let mut totals = BTreeMap::new();
    for (what, key) in [("finding", "findings"), ("verdict", "verdicts")] {
        let (x, y) = (&earlier["totals"][key], &now["totals"][key]);
        let mut names: Vec<String> = x
            .as_object()
            .into_iter()
            .flatten()
            .chain(y.as_object().into_iter().flatten())
            .map(|(k, _)| k.clone())
            .collect();
        names.sort();
        names.dedup();
        for n in names {
            let moved: Vec<String> = ["tp", "fp", "fn", "tn"]
                .iter()
                .filter_map(|f| {
                    let (u, v) = (
                        x[&n][f].as_u64().unwrap_or(0),
                        y[&n][f].as_u64().unwrap_or(0),
                    );
                    (u != v).then(|| format!("{f} {u}→{v}"))
                })
                .collect();
            if !moved.is_empty() {
                totals.insert(format!("{what} {n}"), moved.join(", "));
            }
        }
    }
    Changes { captures, totals }
}

fn changes_text(c: &Changes, path: &str) -> String {
    let mut s = format!("\nChanges since {path}:");
    if c.captures.is_empty() && c.totals.is_empty() {
        s.push_str(" none\n");
        return s;
    }
    s.push('\n');
    for ch in &c.captures {
        s.push_str(&format!("  {}: {}\n", ch.truth, ch.result));
        if let Some(f) = &ch.found {
            s.push_str(&format!("    found: {f}\n"));
        }
        for x in &ch.checks {
            s.push_str(&format!("    {x}\n"));
        }
    }
    for (k, v) in &c.totals {
        s.push_str(&format!("  {k}: {v}\n"));
    }
    s
}
