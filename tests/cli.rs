//! CLI behaviour: exit codes, error messages, formats, stdin, several files.

use crate::util;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The CLI with a neutral locale, so that the text output is English whatever the shell's.
fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_voipwatch"));
    c.env("LC_ALL", "C")
        .env_remove("LC_MESSAGES")
        .env_remove("LANG");
    c
}

fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("voipwatch-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn analyze_json_reports_packets_and_flows() {
    let p = tmp("two-flows.pcap", &util::sample_capture());
    let out = run(&["analyze", "--format", "json", p.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(r["schema"], "voipwatch.report/1");
    assert_eq!(r["capture"]["name"], "two-flows.pcap");
    assert_eq!(r["capture"]["format"], "pcap");
    assert_eq!(r["capture"]["packets"], 10);
    assert_eq!(r["capture"]["complete"], true);
    let flows = r["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0]["transport"], "tcp");
    assert_eq!(flows[0]["client"], "10.0.0.1:40000");
    assert_eq!(flows[0]["server"], "10.0.0.2:80");
    assert_eq!(flows[0]["conn_state"], "SF");
    assert_eq!(flows[0]["packets"]["c2s"], 5);
    assert_eq!(flows[0]["packets"]["s2c"], 3);
    assert_eq!(flows[1]["transport"], "udp");
    assert_eq!(flows[1]["conn_state"], "SF");
}

#[test]
fn same_bytes_give_identical_json_from_file_and_stdin() {
    let data = util::sample_capture();
    let p = tmp("same.pcap", &data);
    let a = run(&["analyze", "-f", "json", p.to_str().unwrap()]);
    let b = run(&["analyze", "-f", "json", p.to_str().unwrap()]);
    assert_eq!(a.stdout, b.stdout, "two runs differ");
    let mut child = bin()
        .args(["analyze", "-f", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let c = child.wait_with_output().unwrap();
    assert!(c.status.success());
    let (mut ja, mut jc) = (json(&a), json(&c));
    assert_eq!(jc["capture"]["name"], "stdin");
    ja["capture"]["name"] = serde_json::Value::Null;
    jc["capture"]["name"] = serde_json::Value::Null;
    assert_eq!(ja, jc, "stdin and file reports differ beyond the name");
}

#[test]
fn not_a_capture_is_one_clear_error_with_exit_2() {
    let p = tmp("notes.txt", b"<!DOCTYPE html><html>not a capture</html>");
    let out = run(&["analyze", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("notes.txt"), "error names the file: {err}");
    assert!(err.contains("offset 0"), "error names the offset: {err}");
    assert!(
        err.to_lowercase().contains("not a pcap"),
        "error says what was wrong: {err}"
    );
    assert_eq!(err.lines().count(), 1, "one message: {err}");
}

#[test]
fn empty_file_is_an_error() {
    let p = tmp("empty.pcap", b"");
    let out = run(&["analyze", "--format", "json", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty.pcap"));
    let r = json(&out);
    assert_eq!(r["capture"]["complete"], false);
    assert_eq!(r["capture"]["packets"], 0);
}

#[test]
fn truncated_capture_gives_partial_report_and_exit_2() {
    let data = util::sample_capture();
    let cut = &data[..data.len() - 30];
    let p = tmp("cut.pcap", cut);
    let out = run(&["analyze", "--format", "json", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let r = json(&out);
    assert_eq!(r["capture"]["complete"], false);
    assert_eq!(
        r["capture"]["packets"], 9,
        "every whole record before the cut is analysed"
    );
    let e = r["capture"]["error"].as_str().unwrap();
    assert!(e.contains("offset"), "error says where: {e}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cut.pcap"));
}

#[test]
fn several_files_ndjson_in_argument_order() {
    let a = tmp("a.pcap", &util::sample_capture());
    let b = tmp("b.pcap", &util::sample_capture());
    let out = run(&[
        "analyze",
        "--format",
        "ndjson",
        "-j",
        "2",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        a.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["capture"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["a.pcap", "b.pcap", "a.pcap"]);
}

#[test]
fn text_output_leads_with_headline_then_flows_table() {
    let p = tmp("text.pcap", &util::sample_capture());
    let out = run(&["analyze", p.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("text.pcap: pcap [ethernet], 10 packets"),
        "headline: {first}"
    );
    assert!(text.contains("Flows (2 all of 2"), "{text}");
    assert!(text.contains("10.0.0.1:40000"), "{text}");
    let problems = run(&["analyze", "--flows", "problems", p.to_str().unwrap()]);
    let t = String::from_utf8(problems.stdout).unwrap();
    assert!(t.contains("Flows (0 problem of 2"), "{t}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["analyze"][..],
        &["analyze", "--format", "xml", "x"],
        &["analyze", "--flows", "some", "x"],
        &["frobnicate"],
        &[],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "args {args:?}");
        assert!(!out.stderr.is_empty());
    }
    assert!(run(&["--help"]).status.success());
}

#[test]
fn missing_file_names_the_file() {
    let out = run(&["analyze", "/definitely/not/here.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/definitely/not/here.pcap") && err.contains("cannot open"),
        "{err}"
    );
}

/// Issue 15: every subcommand prints its own usage for --help and -h, exit 0.
#[test]
fn every_subcommand_has_help() {
    for cmd in ["analyze", "compare", "verify", "serve", "evidence"] {
        for flag in ["--help", "-h"] {
            let out = run(&[cmd, flag]);
            assert!(out.status.success(), "{cmd} {flag}: {:?}", out.status);
            let s = String::from_utf8_lossy(&out.stdout);
            assert!(
                s.starts_with(&format!("usage: voipwatch {cmd}")),
                "{cmd} {flag}:\n{s}"
            );
        }
    }
    let out = run(&["help", "evidence"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: voipwatch evidence"));
}

/// Issue 15: a mistyped command or option gets a suggestion.
#[test]
fn typos_get_did_you_mean() {
    for (args, want) in [
        (&["analyse", "x"][..], "did you mean 'analyze'"),
        (&["evidense", "x"][..], "did you mean 'evidence'"),
        (
            &["analyze", "--fromat", "json", "x"][..],
            "did you mean '--format'",
        ),
        (
            &["analyze", "--flow=all", "x"][..],
            "did you mean '--flows'",
        ),
        (
            &["compare", "a", "b", "--tagret", "largest"][..],
            "did you mean '--target'",
        ),
        (
            &["verify", "--no-timings", "x"][..],
            "did you mean '--no-timing'",
        ),
        (&["serve", "--prot", "1"][..], "did you mean '--port'"),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains(want), "{args:?}: {e}");
    }
}

/// Issue 15: each finding carries a Wireshark display filter, in JSON and in the text, and
/// tshark selects with it the frames the finding cites.
#[test]
fn findings_carry_a_wireshark_filter() {
    let cap = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/tls_sni_reset.pcap");
    let cap = cap.to_str().unwrap();
    let r = json(&run(&["analyze", "-f", "json", cap]));
    let f = &r["findings"][0];
    let filter = f["filter"].as_str().unwrap();
    assert_eq!(
        filter,
        "ip.addr==10.71.1.2 && ip.addr==10.71.2.2 && tcp.port==46438 && tcp.port==443"
    );
    let text = String::from_utf8_lossy(&run(&["analyze", cap]).stdout).into_owned();
    assert!(
        text.contains(&format!("Wireshark filter: {filter}")),
        "{text}"
    );
    let Ok(t) = Command::new("tshark")
        .args([
            "-r",
            cap,
            "-Y",
            filter,
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .output()
    else {
        eprintln!("tshark absent: filter check skipped");
        return;
    };
    let frames: Vec<u64> = String::from_utf8_lossy(&t.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    for p in f["packets"].as_array().unwrap() {
        assert!(
            frames.contains(&p.as_u64().unwrap()),
            "{p} not selected by {filter}"
        );
    }
}

/// Issue 15: compare never reports a test against a side with too few samples, says so,
/// and prints p-values one way; selectors are shown as written, not as Rust values.
#[test]
fn compare_refuses_a_side_too_small_and_prints_p_one_way() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let cap = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let out = run(&[
        "compare",
        &cap("tls_sni_reset.pcap"),
        &cap("compare_control.pcap"),
    ]);
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        s.contains("Not compared: the target side has too few samples"),
        "{s}"
    );
    assert!(!s.contains("KS test") && !s.contains("Glasnost"), "{s}");
    let j = json(&run(&[
        "compare",
        &cap("tls_sni_reset.pcap"),
        &cap("compare_control.pcap"),
        "-f",
        "json",
    ]));
    assert!(
        j["result"]["ks"].is_null() && j["result"]["area"].is_null(),
        "{j}"
    );
    assert_eq!(j["target_selector"], "largest");
    let s = String::from_utf8_lossy(
        &run(&[
            "compare",
            &cap("compare_target.pcap"),
            &cap("compare_control.pcap"),
        ])
        .stdout,
    )
    .into_owned();
    assert!(s.contains("p = 1.1e-16"), "{s}");
    let out = run(&[
        "compare",
        &cap("tls_sni_reset.pcap"),
        "--target",
        "sni=nope",
        "--control",
        "largest",
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("selector 'sni=nope'") && !e.contains("Sni("),
        "{e}"
    );
}

/// Issue 15: singular counts, ICMP rows without ports, and the checksum-offload note.
#[test]
fn text_counts_icmp_rows_and_checksum_note() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    for p in util::captures_under(&dir) {
        let s = String::from_utf8_lossy(
            &run(&["analyze", "--flows", "all", p.to_str().unwrap()]).stdout,
        )
        .into_owned();
        let head = s.lines().next().unwrap_or("");
        assert!(
            !head.contains(" 1 flows") && !head.contains(" 1 packets"),
            "{head}"
        );
        for line in s.lines().filter(|l| l.contains(" icmp ")) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            for c in cols.get(2..4).unwrap_or(&[]) {
                assert!(
                    c.parse::<std::net::IpAddr>().is_ok(),
                    "ICMP row with a fake port: {line}"
                );
            }
        }
        let r = json(&run(&["analyze", "-f", "json", p.to_str().unwrap()]));
        let bad = r["capture"]["anomalies"]
            .as_object()
            .is_some_and(|m| m.keys().any(|k| k.contains("checksum")));
        assert_eq!(bad, s.contains("checksum offload"), "{}", p.display());
    }
    // A capture with bad checksums: the sample frames with a broken UDP checksum.
    let mut data = util::sample_capture();
    let n = data.len();
    data[n - 1] ^= 0xff;
    let p = tmp("badsum.pcap", &data);
    let s = String::from_utf8_lossy(&run(&["analyze", p.to_str().unwrap()]).stdout).into_owned();
    let r = json(&run(&["analyze", "-f", "json", p.to_str().unwrap()]));
    if r["capture"]["anomalies"]
        .as_object()
        .is_some_and(|m| m.keys().any(|k| k.contains("checksum")))
    {
        assert!(s.contains("checksum offload"), "{s}");
    }
}

/// Issue 13 (item 7): a capture with no packets, or a file that is not a capture, is
/// "inconclusive: …", never "no blocking or throttling found" — in the text and the JSON.
#[test]
fn issue_13_nothing_to_judge_is_inconclusive() {
    let mut header = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    header.extend_from_slice(&[0; 8]);
    header.extend_from_slice(&65535u32.to_le_bytes());
    header.extend_from_slice(&1u32.to_le_bytes());
    let p = tmp("no-packets.pcap", &header);
    let out = run(&["analyze", p.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("inconclusive: the capture holds no packets"),
        "{text}"
    );
    assert!(!text.contains("no blocking or throttling found"), "{text}");
    let r = json(&run(&["analyze", "-f", "json", p.to_str().unwrap()]));
    assert_eq!(r["verdicts"][0]["app"], "capture");
    assert_eq!(r["verdicts"][0]["status"], "inconclusive");
    let p = tmp("page.html", b"<!DOCTYPE html><html>not a capture</html>");
    let out = run(&["analyze", "-f", "json", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let r = json(&out);
    assert_eq!(r["verdicts"][0]["status"], "inconclusive");
    let s = r["verdicts"][0]["summary"].as_str().unwrap();
    assert!(
        s.starts_with("inconclusive: the file could not be read"),
        "{s}"
    );
}

#[test]
fn lang_gives_french_and_arabic_verdicts_and_follows_the_locale() {
    let cap = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/captures/udp_media_blackhole.pcap"
    );
    let run = |args: &[&str], env: Option<&str>| {
        let mut c = bin();
        if let Some(l) = env {
            c.env("LC_ALL", l);
        }
        let out = c.arg("analyze").args(args).arg(cap).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let fr = run(&["--lang", "fr"], None);
    assert!(fr.contains("BLOQUÉ"), "{fr}");
    assert!(fr.contains("Les appels WhatsApp ont été bloqués."), "{fr}");
    assert!(fr.contains("rien n'est revenu"), "{fr}");
    assert!(fr.contains("Autre explication possible"), "{fr}");
    // The flows table and the call line are French too (issue 15).
    assert!(fr.contains("SERVEUR") && fr.contains("OCTETS →/←"), "{fr}");
    assert!(
        fr.contains("WhatsApp appel") && fr.contains("[BLOQUÉ]"),
        "{fr}"
    );
    let ar = run(&["--lang=ar"], None);
    assert!(ar.contains("حُظرت مكالمات WhatsApp."), "{ar}");
    assert!(ar.contains("\u{2066}9.9 ثانية\u{2069}"), "{ar}");
    assert!(ar.contains("الخادم") && ar.contains("المحتوى"), "{ar}");
    assert_eq!(
        run(&[], Some("fr_FR.UTF-8")),
        fr,
        "LC_ALL=fr_FR picks French"
    );
    let en = run(&[], Some("de_DE.UTF-8"));
    assert!(
        en.contains("Verdicts:\n  BLOCKED"),
        "a language we lack falls back to English: {en}"
    );
    let bad = bin()
        .args(["analyze", "--lang", "xx", cap])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not one of en, fr, ar"));
}

/// `voipwatch compare T C --format json` on the lab pair, pinned byte for byte: the page's
/// comparison (wasm `compare`, tested in wasm/tests/node.rs) must print the same document.
/// `UPDATE_GOLDEN=1` rewrites it.
#[test]
fn compare_json_matches_its_golden() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cap = |n: &str| root.join("captures").join(n).to_string_lossy().into_owned();
    let out = run(&[
        "compare",
        &cap("compare_target.pcap"),
        &cap("compare_control.pcap"),
        "--control",
        "largest",
        "-f",
        "json",
    ]);
    assert!(out.status.success());
    let golden = root.join("tests/golden/compare_target_vs_control.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &out.stdout).unwrap();
    }
    let want = std::fs::read(&golden).expect("golden exists (UPDATE_GOLDEN=1 writes it)");
    assert!(
        out.stdout == want,
        "compare JSON differs from {}",
        golden.display()
    );
    let j = json(&out);
    assert_eq!(j["schema"], "voipwatch.compare/1");
    assert_eq!(j["result"]["verdict"], "differentiated");
}

/// `--plot` draws every call's two-lane timeline (the page's picture) and says when there is
/// nothing to draw instead of writing nothing silently.
#[test]
fn plot_draws_call_timelines_and_says_when_there_is_nothing() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("voipwatch-plot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cap = root.join("captures/udp_media_blackhole.pcap");
    let out = run(&[
        "analyze",
        "--plot",
        dir.to_str().unwrap(),
        cap.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let svg = std::fs::read_to_string(dir.join("call-0.svg")).expect("the call's timeline");
    assert!(
        svg.starts_with("<svg") && svg.contains("received by"),
        "{svg}"
    );
    assert!(
        svg.contains("class=\"one-way\""),
        "the one-way period is outlined"
    );
    assert!(
        svg.contains("udp_media_blocked"),
        "the blocking finding is marked"
    );
    // The blocked flow gets its throughput/RTT picture too (issue 15).
    let flow = std::fs::read_to_string(dir.join("flow-1.svg")).expect("the blocked flow's chart");
    assert!(
        flow.contains("udp_media_blocked") && flow.contains("seconds since the capture started"),
        "{flow}"
    );
    let none = run(&[
        "analyze",
        "--plot",
        dir.to_str().unwrap(),
        root.join("captures/tcp_download.pcap").to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&none.stderr);
    assert!(
        e.contains("--plot: nothing to draw for tcp_download.pcap"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
