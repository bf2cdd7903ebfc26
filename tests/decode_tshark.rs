//! Cross-checks the decoder against tshark on reference captures, when both are present
//! (`../shared/corpus`, relative to the repository root). Skips cleanly, saying so,
//! otherwise. tshark is not the only cross-check: `decode_oracle` compares every packet with
//! etherparse, which needs no external tool. (Moved here from `core/src/decode`, issue 9:
//! test tooling stays out of production folders; its throughput part is the `decode` group of
//! `benches/throughput.rs`.)
//!
//! For each packet we compare the innermost addresses and ports that tshark reports (last
//! occurrence of each field, reassembly off) with ours. For ICMP errors the outer addresses
//! are compared with tshark's next-to-last IP header and the quoted ports with its last ones.

use std::path::{Path, PathBuf};
use std::process::Command;
use voipwatch_core::capture::{CaptureReader, Packet};
use voipwatch_core::decode::{decode_frame, L4};

fn corpus() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    root.is_dir().then_some(root)
}

fn tshark_ok() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One line per packet: src dst sport dport (innermost), icmp type, quoted ports.
fn tshark_rows(path: &Path) -> Vec<Vec<String>> {
    let out = Command::new("tshark")
        .args([
            "-n",
            "-o",
            "ip.defragment:FALSE",
            "-o",
            "ipv6.defragment:FALSE",
            "-o",
            "ip.check_checksum:FALSE",
        ])
        .args(["-o", "teredo.heuristic_teredo:TRUE"])
        .arg("-r")
        .arg(path)
        .args([
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "separator=|",
            "-E",
            "aggregator=,",
        ])
        .args([
            "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
        ])
        .args([
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
            "-e",
            "udp.srcport",
            "-e",
            "udp.dstport",
        ])
        .args([
            "-e",
            "icmp.type",
            "-e",
            "icmpv6.type",
            "-e",
            "frame.protocols",
        ])
        .output()
        .expect("tshark runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

/// Our view of one packet in the same shape: (src, dst, sport, dport), None when no IP.
type Ours = Option<(String, String, Option<(u16, u16)>, bool)>;

fn ours(path: &Path) -> Vec<Ours> {
    let data = std::fs::read(path).expect("read capture");
    let mut r = CaptureReader::new();
    let mut v = Vec::new();
    let mut sink = |p: Packet<'_>| {
        let d = decode_frame(p.linktype, p.data, p.origlen);
        v.push(d.net.map(|n| {
            let (ports, icmp_err) = match d.l4 {
                L4::Tcp(t) => (Some((t.src_port, t.dst_port)), false),
                L4::Udp(u) => (Some((u.src_port, u.dst_port)), false),
                L4::Icmp(i) => match i.quoted {
                    Some(q) => (Some((q.src.port(), q.dst.port())), true),
                    None => (None, false),
                },
                _ => (None, false),
            };
            (n.src.to_string(), n.dst.to_string(), ports, icmp_err)
        }));
    };
    r.push(&data, &mut sink).expect("capture reads");
    r.finish().expect("capture ends cleanly");
    v
}

fn last(field: &str) -> &str {
    field.rsplit(',').next().unwrap_or("")
}

/// Compares one capture; returns (packets compared, mismatches as text).
fn compare(path: &Path) -> (usize, Vec<String>) {
    let theirs = tshark_rows(path);
    let mine = ours(path);
    let mut bad = Vec::new();
    if theirs.len() != mine.len() {
        bad.push(format!(
            "packet count: tshark {} ours {}",
            theirs.len(),
            mine.len()
        ));
        return (0, bad);
    }
    for (i, (t, m)) in theirs.iter().zip(&mine).enumerate() {
        let f = |k: usize| t.get(k).map(String::as_str).unwrap_or("");
        let protos = f(10);
        let Some((src, dst, ports, icmp_err)) = m else {
            if !f(0).is_empty() || !f(2).is_empty() {
                bad.push(format!(
                    "frame {}: tshark sees IP ({protos}), we do not",
                    i + 1
                ));
            }
            continue;
        };
        let quoting = protos.contains("icmp:ip") || protos.contains("icmpv6:ipv6");
        if *icmp_err != quoting {
            bad.push(format!(
                "frame {}: quoted header: tshark {quoting} ours {icmp_err}",
                i + 1
            ));
            continue;
        }
        let v6 = src.contains(':');
        let (ts, td) = if v6 {
            (last(f(2)), last(f(3)))
        } else {
            (last(f(0)), last(f(1)))
        };
        // The innermost IP layer tshark saw must be the one we report.
        let inner_is_v6 = protos.rfind(":ipv6").unwrap_or(0) > protos.rfind(":ip:").unwrap_or(0);
        if quoting {
            // The addresses we report are the error's; tshark's last are the quote's.
            let (fs, fd) = if v6 { (f(2), f(3)) } else { (f(0), f(1)) };
            let outer = |x: &str| x.rsplit(',').nth(1).map(str::to_string);
            if outer(fs).as_deref() != Some(src.as_str())
                || outer(fd).as_deref() != Some(dst.as_str())
            {
                bad.push(format!(
                    "frame {}: icmp addr tshark {fs}>{fd} ours {src}>{dst}",
                    i + 1
                ));
                continue;
            }
        } else if inner_is_v6 != v6 || ts != src || td != dst {
            bad.push(format!(
                "frame {}: addr tshark {ts}>{td} ours {src}>{dst} ({protos})",
                i + 1
            ));
            continue;
        }
        let tport = |a: usize, b: usize| -> Option<(u16, u16)> {
            Some((last(f(a)).parse().ok()?, last(f(b)).parse().ok()?))
        };
        let want = if protos.rsplit(':').any(|p| p == "tcp")
            && !f(4).is_empty()
            && protos.rfind(":tcp") > protos.rfind(":udp")
        {
            tport(4, 5)
        } else if !f(6).is_empty() {
            tport(6, 7)
        } else {
            tport(4, 5)
        };
        if want.is_some() && ports.is_some() && want != *ports {
            bad.push(format!(
                "frame {}: ports tshark {want:?} ours {ports:?} ({protos})",
                i + 1
            ));
        }
    }
    (mine.len(), bad)
}

fn check(files: &[&str], strict: bool) {
    let root = match std::env::var("VOIPWATCH_DECODE_CHECK_DIR") {
        Ok(dir) if !strict => PathBuf::from(dir),
        _ => match corpus() {
            Some(root) => root,
            None => {
                eprintln!("corpus absent: skipping");
                return;
            }
        },
    };
    if !tshark_ok() {
        eprintln!("tshark absent: skipping");
        return;
    }
    let mut failures = Vec::new();
    for rel in files {
        let path = root.join(rel);
        if !path.is_file() {
            eprintln!("{rel}: absent, skipped");
            continue;
        }
        let (n, bad) = compare(&path);
        eprintln!("{rel}: {n} packets, {} mismatches", bad.len());
        for b in bad.iter().take(5) {
            eprintln!("  {b}");
        }
        if !bad.is_empty() {
            failures.push(rel.to_string());
        }
    }
    if strict {
        assert!(failures.is_empty(), "mismatches in {failures:?}");
    }
}

#[test]
fn tunnels_vlan_mpls_icmp_agree_with_tshark() {
    check(
        &[
            "refcaps/zeek/Traces/tunnels/Teredo.pcap",
            "refcaps/zeek/Traces/mixed-vlan-mpls.pcap",
            "refcaps/zeek/Traces/icmp/icmp-destunreach-udp.pcap",
            "refcaps/arkime/gtp-iphone.pcap",
            "refcaps/suricata-verify/decode-teredo-01/input.pcap",
            "ndpi/pcap/gre.pcapng",
            "refcaps/arkime/arkime_synthetic.pcap",
        ],
        true,
    );
}

/// Every capture of the corpus (slow: one tshark run per file). `cargo test -- --ignored`.
/// Known differences: tshark hands an IPv4 EtherType with version 6 to its IPv6 dissector
/// (one fuzzed frame in nDPI's fuzz-2006-06-26-2594.pcap); we report `ipv4/bad_version`.
#[test]
#[ignore]
fn whole_corpus_agrees_with_tshark() {
    // VOIPWATCH_DECODE_CHECK_DIR points the check at another folder of captures.
    let root = match std::env::var("VOIPWATCH_DECODE_CHECK_DIR") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => match corpus() {
            Some(root) => root,
            None => {
                eprintln!("corpus absent: skipping");
                return;
            }
        },
    };
    let Ok(out) = Command::new("find")
        .arg(&root)
        .args([
            "-name", "*.pcap", "-o", "-name", "*.pcapng", "-o", "-name", "*.cap",
        ])
        .output()
    else {
        return;
    };
    let prefix = format!("{}/", root.to_string_lossy());
    let mut files: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_start_matches(prefix.as_str()).to_string())
        .collect();
    files.sort();
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    check(&refs, false);
}

/// Prints the decode errors and anomalies over every corpus capture (for eyeballing; the
/// assertions are that nothing panics and every capture reads). `cargo test -- --ignored`.
#[test]
#[ignore]
fn corpus_error_and_anomaly_tally() {
    let Some(root) = corpus() else {
        eprintln!("corpus absent: skipping");
        return;
    };
    let out = Command::new("find")
        .arg(&root)
        .args(["-name", "*.pcap*", "-o", "-name", "*.cap"])
        .output();
    let Ok(out) = out else { return };
    let mut files: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    files.sort();
    let mut total = std::collections::BTreeMap::<String, u64>::new();
    for f in &files {
        let Ok(data) = std::fs::read(f) else { continue };
        let mut r = CaptureReader::new();
        let mut local = std::collections::BTreeMap::<String, u64>::new();
        let _ = r.push(&data, |p| {
            let d = decode_frame(p.linktype, p.data, p.origlen);
            if let Some(e) = d.error {
                *local
                    .entry(format!("error {}/{}", e.layer, e.reason))
                    .or_default() += 1;
            }
            for a in d.anomalies.iter() {
                *local.entry(format!("anomaly {a}")).or_default() += 1;
            }
            if let Some(t) = d.tunnel {
                *local.entry(format!("tunnel {t}")).or_default() += 1;
            }
        });
        if !local.is_empty() {
            eprintln!(
                "{}: {local:?}",
                f.trim_start_matches(root.to_string_lossy().as_ref())
            );
        }
        for (k, v) in local {
            *total.entry(k).or_default() += v;
        }
    }
    eprintln!("TOTAL {total:#?}");
}
