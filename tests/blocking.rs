//! Blocking detectors and verdicts on real captures from other projects' test suites
//! (`../shared/corpus`, see its README): forged resets must be found, ordinary resets,
//! refusals, one-sided captures and nDPI's negative captures must not be called blocking.
//! Skips cleanly (with a message) when the corpus is absent.

use serde_json::Value;
use std::path::{Path, PathBuf};
use voipwatch_core::analyzer::{analyze_bytes, Config};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// Analyses one capture; None (with a message) when the corpus is absent.
fn report(rel: &str) -> Option<Value> {
    let Some(dir) = corpus() else {
        eprintln!("../shared/corpus absent: {rel} skipped");
        return None;
    };
    let path = dir.join(rel);
    // The corpus is there (else `corpus()` returned None): a missing file is a wrong path.
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let r = analyze_bytes(
        Config {
            name,
            ..Default::default()
        },
        &data,
    );
    Some(serde_json::from_str(&r.to_json()).expect("report is JSON"))
}

fn findings(r: &Value) -> Vec<&Value> {
    r["findings"]
        .as_array()
        .map(|v| v.iter().collect())
        .unwrap_or_default()
}

fn kinds(r: &Value) -> Vec<String> {
    findings(r)
        .iter()
        .filter_map(|x| x["kind"].as_str().map(str::to_string))
        .collect()
}

/// Findings of severity `blocked` and verdicts with status `blocked`, as readable lines.
fn blocked(r: &Value) -> Vec<String> {
    let mut out: Vec<String> = findings(r)
        .iter()
        .filter(|x| x["severity"] == "blocked")
        .map(|x| format!("finding {}: {}", x["kind"], x["summary"]))
        .collect();
    out.extend(
        r["verdicts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["status"] == "blocked")
            .map(|v| format!("verdict {}: {}", v["app"], v["summary"])),
    );
    out
}

#[test]
fn zeek_rst_inject_rae_is_a_forged_reset_with_its_frame() {
    let Some(r) = report("refcaps/zeek/Traces/tcp/rst-inject-rae.pcap") else {
        return;
    };
    // Frame 2 is the RST/ACK with seq 0 that races the real SYN-ACK (frame 3).
    let hit = findings(&r).into_iter().find(|x| {
        matches!(
            x["kind"].as_str(),
            Some("tcp_reset_injected" | "tcp_reset_suspicious")
        ) && x["packets"]
            .as_array()
            .is_some_and(|p| p.contains(&Value::from(2)))
    });
    let hit = hit.unwrap_or_else(|| {
        panic!(
            "no forged-reset finding naming frame 2: {:#?}",
            findings(&r)
        )
    });
    assert_eq!(hit["kind"], "tcp_reset_injected", "{hit:#}");
    let tests = hit["evidence"]["tests"].as_array().expect("tests listed");
    assert!(
        tests.contains(&Value::from("SYNACK_AFTER_RST")),
        "{tests:?}"
    );
    assert!(
        hit["packets"]
            .as_array()
            .is_some_and(|p| p.contains(&Value::from(3))),
        "{hit:#}"
    );
}

#[test]
fn suricata_handshake_evasion_resets_are_not_the_servers() {
    // Suricata bug 3286: the "server" answers the SYN with RST/ACK (frame 2) and then
    // completes the handshake with a SYN-ACK for the same SYN: the reset was not real.
    for rel in [
        "refcaps/suricata-verify/bug-3286-02-linux-evasion/with_evasion_linux.pcap",
        "refcaps/suricata-verify/bug-3286-03-windows-evasion/with_evasion_windows.pcap",
    ] {
        let Some(r) = report(rel) else { return };
        let hit = findings(&r)
            .into_iter()
            .find(|x| x["kind"] == "tcp_reset_injected");
        let hit =
            hit.unwrap_or_else(|| panic!("{rel}: no tcp_reset_injected: {:#?}", findings(&r)));
        assert!(
            hit["packets"]
                .as_array()
                .is_some_and(|p| p.contains(&Value::from(2))),
            "{rel}: {hit:#}"
        );
        assert!(hit["evidence"]["tests"]
            .as_array()
            .is_some_and(|t| t.contains(&Value::from("SYNACK_AFTER_RST"))));
    }
}

/// Connections that end with an ordinary reset from one of the two endpoints (Zeek's RSTO,
/// RSTR, RSTOS0, OTH with R; Suricata's and Arkime's reset sessions).
const ORDINARY_RESETS: &[&str] = &[
    "refcaps/zeek/Traces/http/http-to-ssh.pcap",
    "refcaps/zeek/Traces/tls/https-to-http.pcap",
    "refcaps/zeek/Traces/ftp/ftp-auth-tls.pcap",
    "refcaps/zeek/Traces/ldap/simpleauth.pcap",
    "refcaps/zeek/Traces/tcp/retransmit-fast009.pcap",
    "refcaps/zeek/Traces/tcp/ctu-64702-888.pcap",
    "refcaps/zeek/Traces/tcp/single-rst.pcap",
    "refcaps/zeek/Traces/tcp/syn-then-rst.pcap",
    "refcaps/zeek/Traces/tcp/syn-then-ack-then-rst.pcap",
    "refcaps/zeek/Traces/tcp/syn-then-stuff-then-rst.pcap",
    "refcaps/zeek/Traces/ssh/ssh.pcap",
    "refcaps/zeek/Traces/modbus/modbus-and-non-modbus-p502.pcap",
    "refcaps/zeek/Traces/pop3/pop3.pcap",
    "refcaps/suricata-verify/bug-2646-02/input.pcap",
    "refcaps/suricata-verify/bug-78-uricontent/input.pcap",
    "refcaps/suricata-verify/tcp-rst-unacked-stream-01-raw/input.pcap",
    "refcaps/suricata-verify/bug-6244-tcp-rst-with-data/tcp-rst-with-data.pcap",
    "refcaps/suricata-verify/bug-3286-01-no-evasion/without_evasion.pcap",
    "refcaps/arkime/smtp-decrypted.pcap",
    "refcaps/arkime/tls-split-client-hello.pcap",
    "refcaps/arkime/CVE-2018-6794.pcap",
    "refcaps/arkime/tcp_handshake_synthetic.pcap",
    "refcaps/arkime/tcpseq_synthetic.pcap",
    "refcaps/arkime/no-syn-ack.pcap",
    "refcaps/arkime/http-syn-ack.pcap",
    "refcaps/suricata-verify/tcp-split-handshake-01-4whs/split-handshake-4whs.pcap",
];

/// Zeek's Quantum-Insert trace (`core.tcp.quantum-insert`: one `rexmit_inconsistency`, a forged
/// "BANG!" reply racing nginx's): the forged HTTP response is found, citing the request, the
/// forged answer and the real one; its resets are the client's own and stay unflagged (issue 10).
#[test]
fn zeek_quantum_insert_is_an_injected_http_response() {
    let Some(r) = report("refcaps/zeek/Traces/tcp/qi_internet_SYNACK_curl_jsonip.pcap") else {
        return;
    };
    let k = kinds(&r);
    assert!(!k.iter().any(|k| k.starts_with("tcp_reset")), "{k:?}");
    let hit = findings(&r)
        .into_iter()
        .find(|x| x["kind"] == "http_block_page")
        .unwrap_or_else(|| panic!("no http_block_page: {k:?}"));
    assert_eq!(hit["severity"], "blocked");
    assert_eq!(hit["evidence"]["basis"], "conclusive");
    assert_eq!(hit["packets"], serde_json::json!([4, 5, 9]));
}

#[test]
fn ordinary_resets_are_not_called_injected() {
    let mut bad = String::new();
    for rel in ORDINARY_RESETS {
        let Some(r) = report(rel) else { continue };
        let k = kinds(&r);
        if k.iter().any(|k| k == "tcp_reset_injected") || !blocked(&r).is_empty() {
            bad.push_str(&format!("\n{rel}: {k:?} {:?}", blocked(&r)));
        }
    }
    assert!(bad.is_empty(), "ordinary resets flagged:{bad}");
}

#[test]
fn refused_connections_are_reported_but_not_blocking() {
    let Some(r) = report("refcaps/zeek/Traces/pop3/pop3.pcap") else {
        return;
    };
    // Zeek: 6 × REJ (SYN answered by RST from the server itself), 5 × SF.
    let rej: Vec<&Value> = findings(&r)
        .into_iter()
        .filter(|x| x["kind"] == "handshake_rejected")
        .collect();
    assert_eq!(rej.len(), 6, "{:#?}", findings(&r));
    assert!(rej.iter().all(|x| x["severity"] == "info"), "{rej:#?}");
}

/// Captures that saw only one direction, or one-way UDP by design.
const ONE_SIDED: &[&str] = &[
    "refcaps/zeek/Traces/ssh/ssh.client-side-half-duplex.pcap",
    "refcaps/zeek/Traces/ssh/ssh.server-side-half-duplex.pcap",
    "refcaps/zeek/Traces/tcp/one-sided-2745.pcap",
    "refcaps/zeek/Traces/rdp/rdpeudp-handshake-fail.pcap",
    "refcaps/zeek/Traces/wikipedia.pcap",
    "refcaps/suricata-verify/bug-8629-async-oneside/input.pcap",
    "refcaps/arkime/arkime_synthetic.pcap",
    "refcaps/arkime/stun.pcap",
];

#[test]
fn one_sided_captures_are_never_blocking() {
    let mut bad = String::new();
    for rel in ONE_SIDED {
        let Some(r) = report(rel) else { continue };
        let b = blocked(&r);
        if !b.is_empty() {
            bad.push_str(&format!("\n{rel}: {b:?}"));
        }
    }
    assert!(bad.is_empty(), "one-sided captures called blocking:{bad}");
}

#[test]
fn duplicated_dns_answers_are_not_injection() {
    let Some(r) = report("refcaps/zeek/Traces/dns-two-responses.pcap") else {
        return;
    };
    assert!(
        !kinds(&r).contains(&"dns_injection".to_string()),
        "{:#?}",
        findings(&r)
    );
}

#[test]
fn ndpi_negative_captures_have_no_blocked_verdict() {
    let Some(dir) = corpus() else {
        eprintln!("corpus absent, skipped");
        return;
    };
    let Ok(labels) = std::fs::read_to_string(dir.join("ndpi/labels.csv")) else {
        eprintln!("ndpi/labels.csv absent, skipped");
        return;
    };
    let mut head = labels.lines().next().unwrap_or_default().split(',');
    let (Some(pi), Some(si)) = (
        head.clone().position(|c| c == "pcap"),
        head.position(|c| c == "set"),
    ) else {
        panic!("labels.csv lacks pcap/set columns");
    };
    let mut negatives: Vec<String> = labels
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (cols.get(si) == Some(&"negative"))
                .then(|| cols.get(pi).map(|p| p.to_string()))
                .flatten()
        })
        .collect();
    negatives.sort();
    negatives.dedup();
    assert!(
        !negatives.is_empty(),
        "labels.csv lists no negative capture"
    );
    let mut bad = String::new();
    for p in &negatives {
        let Some(r) = report(&format!("ndpi/pcap/{p}")) else {
            continue;
        };
        let b = blocked(&r);
        if !b.is_empty() {
            bad.push_str(&format!("\n{p}: {b:?}"));
        }
    }
    assert!(bad.is_empty(), "negative captures called blocked:{bad}");
}
