//! Capture reading on the reference corpus (`../shared/corpus`: ndpi/pcap and refcaps).
//!
//! Every pcap/pcapng file there must read without error, give the same packets whatever
//! the chunk size, and — when Wireshark's `capinfos` is installed — the same packet count
//! and the same earliest/latest timestamps as `capinfos`. Skips cleanly when the corpus is
//! absent (a user's clone has no `../shared`); the capinfos comparison is skipped when the
//! tool is not installed. Gzip-compressed captures are decompressed with the system's
//! `gzip -dc` when it exists (the core itself reads no gzip), else skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use voipwatch_core::capture::{CaptureError, CaptureReader};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// Every file under `dir` (recursively), sorted.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn captures(root: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut files = vec![];
    walk(&root.join("ndpi/pcap"), &mut files);
    walk(&root.join("refcaps"), &mut files);
    let (mut caps, mut gz) = (vec![], vec![]);
    for f in files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if name.ends_with(".pcap.gz") || name.ends_with(".pcapng.gz") {
            gz.push(f);
        } else if name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".cap") {
            caps.push(f);
        }
    }
    (caps, gz)
}

/// What one reading of a file gave: count, earliest/latest ts, a digest of every packet.
#[derive(Debug, PartialEq, Eq)]
struct Summary {
    packets: u64,
    min_ts: Option<i64>,
    max_ts: Option<i64>,
    digest: u64,
    result: Result<(), CaptureError>,
}

fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

fn read(data: &[u8], chunk: usize) -> Summary {
    let mut r = CaptureReader::new();
    let mut s = Summary {
        packets: 0,
        min_ts: None,
        max_ts: None,
        digest: 0xcbf2_9ce4_8422_2325,
        result: Ok(()),
    };
    for c in data.chunks(chunk) {
        let res = r.push(c, |p| {
            s.packets += 1;
            assert_eq!(p.frame, s.packets, "frame numbers are 1-based and dense");
            s.min_ts = Some(s.min_ts.map_or(p.ts, |m| m.min(p.ts)));
            s.max_ts = Some(s.max_ts.map_or(p.ts, |m| m.max(p.ts)));
            fnv(&mut s.digest, &p.ts.to_le_bytes());
            fnv(&mut s.digest, &p.linktype.to_le_bytes());
            fnv(&mut s.digest, &p.origlen.to_le_bytes());
            fnv(&mut s.digest, p.data);
        });
        if let Err(e) = res {
            s.result = Err(e);
            return s;
        }
    }
    s.result = r.finish();
    s
}

/// `capinfos` facts: packet count and earliest/latest packet time in ns (None when absent).
struct Capinfos {
    packets: u64,
    first: Option<i64>,
    last: Option<i64>,
}

/// "1569520466.080774" → ns since the epoch.
fn parse_epoch(s: &str) -> Option<i64> {
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    let sec: i64 = sec.parse().ok()?;
    let mut frac = frac.to_string();
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    while frac.len() < 9 {
        frac.push('0');
    }
    Some(sec * 1_000_000_000 + frac.parse::<i64>().ok()?)
}

fn capinfos(path: &Path) -> Option<Capinfos> {
    // Table output: name, packet count, earliest, latest (-M: exact counts, -S: epoch seconds).
    let out = Command::new("capinfos")
        .args(["-T", "-r", "-M", "-c", "-a", "-e", "-S"])
        .arg(path)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?;
    let cols: Vec<&str> = line.split('\t').collect();
    let n = cols.len();
    if n < 4 {
        return None;
    }
    Some(Capinfos {
        packets: cols[n - 3].trim().parse().ok()?,
        first: parse_epoch(cols[n - 2].trim()),
        last: parse_epoch(cols[n - 1].trim()),
    })
}

fn have_capinfos() -> bool {
    Command::new("capinfos")
        .arg("-h")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn corpus_captures_read_like_capinfos() {
    let Some(root) = corpus() else {
        eprintln!("skipping: ../shared/corpus not present");
        return;
    };
    let (caps, gz) = captures(&root);
    if caps.is_empty() {
        eprintln!("skipping: no captures under {}", root.display());
        return;
    }
    let use_capinfos = have_capinfos();
    if !use_capinfos {
        eprintln!("capinfos not installed: checking only that every capture reads without error");
    }
    let mut failures = vec![];
    let mut compared = 0;
    let inputs = caps
        .iter()
        .map(|p| (p, false))
        .chain(gz.iter().map(|p| (p, true)));
    for (path, gzipped) in inputs {
        let name = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let data = if gzipped {
            match Command::new("gzip").arg("-dc").arg(path).output() {
                Ok(o) if o.status.success() => o.stdout,
                _ => {
                    eprintln!("skipping {name}: gzip not available to decompress it");
                    continue;
                }
            }
        } else {
            std::fs::read(path).unwrap()
        };
        let whole = read(&data, 1 << 16);
        // No corpus capture is broken: capinfos and tshark read all of them to the end.
        if let Err(e) = &whole.result {
            failures.push(format!("{name}: read error {e}"));
            continue;
        }
        // Chunk boundaries must not change anything (an odd size cuts records everywhere).
        let odd = read(&data, 1013);
        if odd != whole {
            failures.push(format!(
                "{name}: 1013-byte chunks differ from 64 KiB chunks"
            ));
        }
        if !use_capinfos {
            continue;
        }
        let Some(ci) = capinfos(path) else {
            failures.push(format!("{name}: capinfos failed on a file we read"));
            continue;
        };
        compared += 1;
        if ci.packets != whole.packets {
            failures.push(format!(
                "{name}: {} packets, capinfos says {}",
                whole.packets, ci.packets
            ));
        }
        // capinfos prints µs or ns digits: allow the sub-µs rounding of µs output.
        for (what, ours, theirs) in [
            ("earliest", whole.min_ts, ci.first),
            ("latest", whole.max_ts, ci.last),
        ] {
            if let (Some(a), Some(b)) = (ours, theirs) {
                if (a - b).abs() >= 1000 {
                    failures.push(format!(
                        "{name}: {what} packet at {a} ns, capinfos says {b} ns"
                    ));
                }
            }
        }
    }
    eprintln!(
        "{} captures read, {compared} compared with capinfos",
        caps.len() + gz.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} captures differ:\n{}",
        failures.len(),
        caps.len(),
        failures.join("\n")
    );
}

#[test]
fn parse_epoch_handles_us_and_ns_digits() {
    assert_eq!(
        parse_epoch("1569520466.080774"),
        Some(1_569_520_466_080_774_000)
    );
    assert_eq!(parse_epoch("1.000000001"), Some(1_000_000_001));
    assert_eq!(parse_epoch("12"), Some(12_000_000_000));
    assert_eq!(parse_epoch("n/a"), None);
}
