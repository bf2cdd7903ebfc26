//! `voipwatch verify` (issue 17): exit codes, the table, `--format json`, `--compare`, a
//! truth file written by hand for a capture of the reference corpus, and a wrong one.

use crate::util;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voipwatch"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(out)))
}

/// A fresh folder for one test.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("voipwatch-verify-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The two-flow sample capture and a truth file for it with `expect` as given.
fn sample_with_truth(d: &Path, expect: Value) -> PathBuf {
    std::fs::write(d.join("two.pcap"), util::sample_capture()).unwrap();
    let t = d.join("two.truth.json");
    let doc = json!({"schema": "voipwatch.truth/1", "capture": "two.pcap", "expect": expect});
    std::fs::write(&t, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    t
}

fn sample_expect() -> Value {
    json!({
        "packets": 10,
        "flows": [
            {"match": {"transport": "tcp", "client": "10.0.0.1:40000", "server": "10.0.0.2:80"},
             "packets": {"c2s": 5, "s2c": 3}, "conn_state": "SF", "no_findings": ["tcp_reset_injected"]},
            {"match": {"transport": "udp", "select": "server=:5004"}, "packets": {"c2s": 1, "s2c": 1}}
        ],
        "findings_absent_everywhere": ["throttling_policer", {"kind": "udp_one_way", "severity": "blocked"}],
        "no_verdict_status": ["blocked", "throttled"],
        "calls_total": 0
    })
}

#[test]
fn verify_captures_passes_with_table_and_totals() {
    let out = run(&["verify", "captures/"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("voipwatch verify: "), "{first}");
    assert!(first.contains(" 0 failed"), "{first}");
    for h in [
        "capture",
        "expected",
        "found",
        "result",
        "decided by",
        "MB/s",
    ] {
        assert!(text.contains(h), "column {h}: {text}");
    }
    assert!(text.contains("policer_1mbit.pcap"), "{text}");
    assert!(text.contains("finding throttling_policer"), "{text}");
    assert!(text.contains("precision"), "{text}");
    assert!(text.contains("throttling rate:"), "{text}");
    assert!(text.contains("packets/s"), "{text}");
}

#[test]
fn verify_json_is_identical_across_runs_without_timing() {
    let a = run(&["verify", "--format", "json", "--no-timing", "captures/"]);
    let b = run(&[
        "verify",
        "-f",
        "json",
        "--no-timing",
        "-j",
        "1",
        "captures/",
    ]);
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(a.stdout, b.stdout, "two runs (2 and 1 jobs) differ");
    let v = json_of(&a);
    assert_eq!(v["schema"], "voipwatch.verify/1");
    assert_eq!(v["pass"], true);
    assert!(v.get("timing").is_none());
    let caps = v["captures"].as_array().unwrap();
    assert!(caps.len() >= 30, "{} captures", caps.len());
    assert!(caps.iter().all(|c| c["pass"] == true));
    let p = &v["totals"]["findings"]["throttling_policer"];
    assert_eq!(p["fp"], 0);
    assert_eq!(p["fn"], 0);
    assert!(p["tp"].as_u64().unwrap() >= 4);
    // With timing, only the `timing` section differs.
    let c = json_of(&run(&["verify", "-f", "json", "captures/"]));
    assert!(c["timing"]["all"]["mb_per_s"].as_f64().unwrap() > 0.0);
    let mut c = c;
    c.as_object_mut().unwrap().remove("timing");
    assert_eq!(c, v);
}

#[test]
fn failed_expectation_exits_1_and_says_what_and_why() {
    let d = dir("fail");
    let mut e = sample_expect();
    e["packets"] = json!(11);
    e["flows"][0]["findings"] = json!([{"kind": "tcp_reset_injected", "severity": "blocked"}]);
    let t = sample_with_truth(&d, e);
    let out = run(&["verify", t.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL"), "{text}");
    assert!(
        text.contains("capture.packets\n    expected: 11\n    actual:   10"),
        "{text}"
    );
    assert!(
        text.contains(
            "finding tcp_reset_injected (blocked)\n    expected: present\n    actual:   []"
        ),
        "{text}"
    );
    let j = json_of(&run(&["verify", "-f", "json", t.to_str().unwrap()]));
    assert_eq!(j["pass"], false);
    assert_eq!(j["captures"][0]["failed"], 2);
    assert_eq!(j["totals"]["findings"]["tcp_reset_injected"]["fn"], 1);
}

#[test]
fn passing_truth_given_as_capture_or_truth_exits_0() {
    let d = dir("pass");
    let t = sample_with_truth(&d, sample_expect());
    for arg in [t.clone(), d.join("two.pcap"), d.clone()] {
        let out = run(&["verify", "--no-timing", arg.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{arg:?}: {}", stdout(&out));
        assert!(stdout(&out).contains("two.pcap"));
        assert!(!stdout(&out).contains("MB/s"), "--no-timing");
    }
}

#[test]
fn bad_truth_or_usage_exits_2_with_one_clear_reason() {
    let d = dir("bad");
    let mut e = sample_expect();
    e["findings_absnt_everywhere"] = json!(["rtp_cut"]);
    let t = sample_with_truth(&d, e);
    let out = run(&["verify", t.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("expect.findings_absnt_everywhere: unknown key"),
        "{text}"
    );
    std::fs::write(d.join("lonely.pcap"), util::sample_capture()).unwrap();
    for args in [
        &["verify"][..],
        &["verify", "--format", "xml", "captures/"],
        &["verify", "--frobnicate", "captures/"],
        &["verify", "/definitely/not/here"],
        &[
            "verify",
            "--compare",
            "/definitely/not/here.json",
            "captures/",
        ],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "args {args:?}");
        assert!(!out.stderr.is_empty(), "args {args:?}");
    }
    let lonely = d.join("lonely.pcap");
    let out = run(&["verify", lonely.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no truth file"), "{err}");
}

#[test]
fn compare_shows_which_captures_and_checks_moved() {
    let d = dir("compare");
    let t = sample_with_truth(&d, sample_expect());
    let before = run(&["verify", "-f", "json", t.to_str().unwrap()]);
    assert_eq!(before.status.code(), Some(0));
    let earlier = d.join("earlier.json");
    std::fs::write(&earlier, &before.stdout).unwrap();
    let same = run(&[
        "verify",
        "--compare",
        earlier.to_str().unwrap(),
        t.to_str().unwrap(),
    ]);
    assert!(stdout(&same).contains(": none"), "{}", stdout(&same));
    let mut e = sample_expect();
    e["flows"][0]["conn_state"] = json!("S0");
    sample_with_truth(&d, e);
    let out = run(&[
        "verify",
        "--compare",
        earlier.to_str().unwrap(),
        t.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Changes since"), "{text}");
    assert!(text.contains("two.truth.json: pass→fail"), "{text}");
    assert!(
        text.contains(
            "flow tcp 10.0.0.1:40000 -> 10.0.0.2:80: conn_state: pass (got \"SF\") → fail (got \"SF\") [expected \"SF\" → \"S0\"]"
        ),
        "{text}"
    );
    let j = json_of(&run(&[
        "verify",
        "-f",
        "json",
        "--no-timing",
        "--compare",
        earlier.to_str().unwrap(),
        t.to_str().unwrap(),
    ]));
    assert_eq!(j["changes"]["captures"][0]["result"], "pass→fail");
}

/// The hand-written truth file for a capture of ../shared/corpus (never copied here).
fn corpus_truth() -> Option<PathBuf> {
    let t =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/verify/ndpi_whatsapp_voice.truth.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&t).unwrap()).unwrap();
    let cap = t.parent().unwrap().join(doc["capture"].as_str().unwrap());
    if util::corpus_dir().is_none() || !cap.is_file() {
        eprintln!("skipped: ../shared/corpus (and {}) absent", cap.display());
        return None;
    }
    Some(t)
}

#[test]
fn hand_written_truth_for_a_corpus_capture_passes() {
    let Some(t) = corpus_truth() else { return };
    let out = run(&["verify", "--no-timing", t.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("whatsapp_voice_and_message.pcap"), "{text}");
    assert!(text.contains("pass"), "{text}");
}

#[test]
fn deliberately_wrong_truth_for_a_corpus_capture_fails_readably() {
    let Some(t) = corpus_truth() else { return };
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&t).unwrap()).unwrap();
    let cap = t.parent().unwrap().join(doc["capture"].as_str().unwrap());
    doc["capture"] = json!(cap.canonicalize().unwrap().to_str().unwrap());
    // Wrong on purpose: the call was not blocked, and it has no RTP cut.
    doc["expect"]["verdicts"] = json!([{"app": "whatsapp", "status": "blocked"}]);
    doc["expect"]["findings"] = json!([{"kind": "rtp_cut", "call_app": "whatsapp"}]);
    let d = dir("corpus-wrong");
    let wrong = d.join("wrong.truth.json");
    std::fs::write(&wrong, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = run(&["verify", "--no-timing", wrong.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "verdict whatsapp=blocked\n    expected: present\n    actual:   [whatsapp=ok]"
        ),
        "{text}"
    );
    assert!(
        text.contains("finding rtp_cut on a whatsapp call\n    expected: present"),
        "{text}"
    );
    assert!(text.contains("FAILED finding rtp_cut"), "{text}");
}
