//! Hostile-but-valid captures from the complexity generator (`tests/complexity_gen.rs`), beside the
//! byte mutator: each test is a row of docs/robustness.md (issue 13).

use crate::complexity_gen::{self as hostile, SEC};
use serde_json::Value;
use voipwatch_core::analyzer::analyze_bytes;
use voipwatch_core::Config;

fn analyze(name: &str, data: &[u8]) -> Value {
    let cfg = Config {
        name: name.into(),
        ..Default::default()
    };
    let r = analyze_bytes(cfg, data);
    serde_json::from_str(&r.to_json()).unwrap()
}

/// The per-flow log cap when issue 13 was filed: a 20-minute call overflows it.
const ISSUE_CAP: usize = 50_000;

fn analyze_capped(name: &str, data: &[u8]) -> Value {
    let mut cfg = Config {
        name: name.into(),
        ..Default::default()
    };
    cfg.flow.max_packets_per_flow = ISSUE_CAP;
    serde_json::from_str(&analyze_bytes(cfg, data).to_json()).unwrap()
}

fn limit<'a>(r: &'a Value, id: &str) -> Option<&'a Value> {
    r["capture"]["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["limit"] == id)
}

/// Issue 13's example: a 20-minute call whose incoming media stops at minute 15. The packet
/// log holds 50,000 of its 105,000 packets; the cut is still found (from streaming counters)
/// and counted exactly, and the log's cap is listed in `capture.limits`.
#[test]
fn issue_13_long_call_cut_at_minute_15_is_blocked() {
    let data = hostile::long_call(Vec::new(), 20, 15).unwrap();
    let r = analyze_capped("long_call.pcap", &data);
    assert_eq!(r["capture"]["packets"], 105_000);
    let cut = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "rtp_cut")
        .unwrap_or_else(|| panic!("no rtp_cut: {:#} {:#}", r["findings"], r["flows"]));
    assert_eq!(cut["severity"], "blocked");
    // Client packets after the server's last one (at 14:59.98 + 7 ms): 5 minutes at 50/s.
    assert_eq!(cut["evidence"]["other_dir_packets_after"], 15_000);
    assert_eq!(cut["evidence"]["stopped_dir"], "s2c");
    let stopped = cut["evidence"]["stopped_at"].as_f64().unwrap();
    let t0 = hostile::T0 as f64 / 1e9;
    assert!((stopped - t0 - 899.987).abs() < 0.01, "{stopped}");
    let vs = r["verdicts"].as_array().unwrap();
    assert!(
        vs.iter().any(|v| v["status"] == "blocked"),
        "verdicts: {vs:#?}"
    );
    assert!(vs.iter().all(|v| v["status"] != "ok"), "verdicts: {vs:#?}");
    let l = limit(&r, "packets_per_flow").expect("the log cap is listed");
    assert_eq!(l["flows"], serde_json::json!([0]));
    assert_eq!(l["dropped"], 105_000 - 50_000);
    // The CLI (default caps) says blocked too.
    let dir = std::env::temp_dir().join(format!("voipwatch-complexity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("long_call.pcap");
    std::fs::write(&p, &data).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_voipwatch"))
        .args(["analyze", p.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BLOCKED"), "{text}");
    // With the default cap (an hour of a call) the 20-minute log is whole: no limit.
    assert!(!text.contains("LIMIT"), "{text}");
    let whole = analyze("long_call.pcap", &data);
    assert_eq!(whole["capture"]["limits"], serde_json::json!([]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same call without the cut: both directions flow to the end. Nothing is wrong in what
/// was analysed, but the log dropped the middle, so the verdict says inconclusive, not ok.
#[test]
fn issue_13_long_clean_call_is_not_ok_when_the_log_was_cut() {
    let data = hostile::long_call(Vec::new(), 20, 20).unwrap();
    let r = analyze_capped("long_clean_call.pcap", &data);
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] == "info"));
    assert!(limit(&r, "packets_per_flow").is_some());
    let vs = r["verdicts"].as_array().unwrap();
    assert!(!vs.is_empty(), "no verdict would read as reassurance");
    for v in vs {
        assert_eq!(v["status"], "inconclusive", "{v:#}");
    }
    let s = vs[0]["summary"].as_str().unwrap();
    assert!(
        s.contains("limits cut the evidence (packets_per_flow)"),
        "{s}"
    );
}

/// A short call stays within every cap: no limit listed.
#[test]
fn short_call_lists_no_limits() {
    let data = hostile::long_call(Vec::new(), 1, 1).unwrap();
    let r = analyze("short_call.pcap", &data);
    assert_eq!(r["capture"]["limits"], serde_json::json!([]));
    let _ = SEC;
}

/// Every flow and the capture have `first_ts ≤ last_ts`.
fn times_ordered(r: &Value) {
    let c = &r["capture"];
    assert!(c["first_ts"].as_f64() <= c["last_ts"].as_f64(), "{c:#}");
    for f in r["flows"].as_array().unwrap() {
        assert!(f["first_ts"].as_f64() <= f["last_ts"].as_f64(), "{f:#}");
        assert!(f["duration"].as_f64().unwrap() >= 0.0, "{f:#}");
    }
}

/// Issue 13 (item 6): a clock that steps back 10 minutes, then jumps 5 years, then a record
/// whose nanosecond fraction is 1.5 s. Each is named; the step back past the idle timeout and
/// the jump start new flows, so no flow spans them; first_ts ≤ last_ts everywhere.
#[test]
fn issue_13_time_backwards_and_jumps_are_named_and_split_flows() {
    let data = hostile::time_travel(Vec::new()).unwrap();
    let r = analyze("time_travel.pcap", &data);
    let a = &r["capture"]["anomalies"];
    assert_eq!(a["time_backwards"], 1, "{a:#}");
    assert_eq!(a["time_jump"], 1, "{a:#}");
    assert_eq!(a["ts_fraction_overflow"], 1, "{a:#}");
    let flows = r["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 3, "one flow per leg: {flows:#?}");
    let pk: Vec<(u64, u64)> = flows
        .iter()
        .map(|f| {
            (
                f["packets"]["c2s"].as_u64().unwrap(),
                f["packets"]["s2c"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(pk, vec![(10, 10), (10, 10), (11, 10)]);
    assert_eq!(r["capture"]["flow_timeouts"], 2);
    times_ordered(&r);
    let t0 = hostile::T0 as f64 / 1e9;
    assert_eq!(r["capture"]["first_ts"].as_f64(), Some(t0 - 600.0));
    // The 1.5 s fraction is carried into the seconds.
    let last = t0 + 5.0 * 365.0 * 86_400.0 + 21.5;
    assert_eq!(r["capture"]["last_ts"].as_f64(), Some(last));
}

/// Issue 13 (item 6): an absurd `if_tsresol` (10^-127 s, 2^-127 s) is named on every packet
/// of its interface and reading goes on; a sane one (10^-9) is not.
#[test]
fn issue_13_absurd_tsresol_is_named() {
    for (resol, absurd) in [(127u8, true), (0xff, true), (9, false), (0x80 | 30, false)] {
        let data = hostile::pcapng_tsresol(resol, 1 << 40, 3);
        let r = analyze("tsresol.pcapng", &data);
        assert_eq!(r["capture"]["complete"], true);
        assert_eq!(r["capture"]["packets"], 3);
        let n = &r["capture"]["anomalies"]["ts_resolution_absurd"];
        assert_eq!(n.as_u64(), absurd.then_some(3), "tsresol {resol:#x}");
        times_ordered(&r);
    }
}

/// Issue 13: a capture past the flow cap. 3,000 answered one-packet flows under a cap of
/// 1,000, then a call-like UDP flow nobody answers: the refused packets are listed as the
/// `flows` limit and nothing reads "ok" or "no blocking found".
#[test]
fn issue_13_flow_cap_is_listed_and_never_reads_clean() {
    let mut data = hostile::many_flows(Vec::new(), 3_000, true).unwrap();
    // The same writer continued: records only (skip the second file header).
    let mut tail = hostile::Pcap::new(Vec::new()).unwrap();
    for i in 0..20 {
        let ts = hostile::T0 + 10 * SEC + i * 500 * hostile::MS;
        tail.udp(
            ts,
            hostile::CLIENT,
            hostile::SERVER,
            &hostile::rtp(i as u16, 0, 7),
        )
        .unwrap();
    }
    data.extend_from_slice(&tail.finish()[24..]);
    let mut cfg = Config {
        name: "flow_cap.pcap".into(),
        ..Default::default()
    };
    cfg.flow.max_flows = 1_000;
    let r: Value = serde_json::from_str(&analyze_bytes(cfg, &data).to_json()).unwrap();
    assert_eq!(r["capture"]["flows"], 1_000);
    let l = limit(&r, "flows").expect("the flow cap is listed");
    assert_eq!(l["dropped"], 2 * 2_000 + 20);
    assert_eq!(l["max"], 1_000);
    let vs = r["verdicts"].as_array().unwrap();
    assert!(!vs.is_empty());
    for v in vs {
        assert_eq!(v["status"], "inconclusive", "{v:#}");
    }
    assert!(
        vs[0]["summary"].as_str().unwrap().contains("(flows)"),
        "{vs:#?}"
    );
}

/// Issue 13 (item 3): the per-capture work budget. A budget too small for the RTP rate
/// analysis of a one-minute call skips it, names it in `capture.limits`, and nothing reads
/// clean; the call's blocking facts (streaming counters) are still judged.
#[test]
fn issue_13_work_budget_names_what_it_skipped() {
    let data = hostile::long_call(Vec::new(), 1, 1).unwrap();
    let mut cfg = Config {
        name: "budget.pcap".into(),
        ..Default::default()
    };
    cfg.detect.work_budget = Some(10);
    let r: Value = serde_json::from_str(&analyze_bytes(cfg, &data).to_json()).unwrap();
    let l = limit(&r, "work_budget").expect("the budget is listed");
    assert_eq!(l["flows"], serde_json::json!([0]));
    let effect = l["effect"].as_str().unwrap();
    assert!(effect.contains("skipped rtp_quality on 1 flow"), "{effect}");
    for v in r["verdicts"].as_array().unwrap() {
        assert_eq!(v["status"], "inconclusive", "{v:#}");
    }
    // The default budget covers it.
    let r = analyze("budget.pcap", &data);
    assert!(limit(&r, "work_budget").is_none());
}
