//! Golden reports: every capture in `captures/` has `tests/golden/<capture>.json`, the exact
//! JSON `voipwatch analyze --format json` prints. `UPDATE_GOLDEN=1 cargo test golden` rewrites
//! them (review the diff). Also checks that the report does not depend on how the bytes are
//! chunked, which is what makes the CLI and the browser produce identical files.

use std::path::{Path, PathBuf};
use voipwatch_core::{Analyzer, Config};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every capture shipped in `captures/`, sorted.
pub fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("captures"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| {
        matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        )
    });
    v.sort();
    v
}

fn analyze_chunked(path: &Path, data: &[u8], chunk: usize) -> String {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut a = Analyzer::new(Config {
        name,
        ..Default::default()
    });
    for c in data.chunks(chunk.max(1)) {
        if a.push(c).is_err() {
            break;
        }
    }
    a.finish().to_json()
}

#[test]
fn golden_reports_match() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let dir = repo().join("tests/golden");
    let mut failures = Vec::new();
    let caps = captures();
    assert!(
        !caps.is_empty(),
        "captures/ holds the reference captures; none found"
    );
    for cap in &caps {
        let data = std::fs::read(cap).unwrap();
        let json = analyze_chunked(cap, &data, data.len());
        let golden = dir.join(format!(
            "{}.json",
            cap.file_name().unwrap().to_string_lossy()
        ));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&golden, &json).unwrap();
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(want) if want == json => {}
            Ok(want) => {
                let line = want
                    .lines()
                    .zip(json.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                failures.push(format!(
                    "{}: report differs from {} from line {}:\n  expected: {}\n  actual:   {}",
                    cap.display(),
                    golden.display(),
                    line + 1,
                    want.lines().nth(line).unwrap_or("<end>"),
                    json.lines().nth(line).unwrap_or("<end>")
                ));
            }
            Err(_) => failures.push(format!(
                "{}: no golden file {} (UPDATE_GOLDEN=1 writes it)",
                cap.display(),
                golden.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{} golden mismatch(es); if the change is intended run UPDATE_GOLDEN=1 cargo test golden and review the diff\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn report_does_not_depend_on_chunking() {
    for cap in captures() {
        let data = std::fs::read(&cap).unwrap();
        let whole = analyze_chunked(&cap, &data, data.len());
        for chunk in [1usize << 16, 4096, 1499] {
            assert!(
                whole == analyze_chunked(&cap, &data, chunk),
                "{}: chunks of {chunk} bytes change the report",
                cap.display()
            );
        }
    }
}

#[test]
fn synthetic_capture_is_deterministic() {
    let data = crate::util::sample_capture();
    let p = Path::new("sample.pcap");
    let a = analyze_chunked(p, &data, data.len());
    let b = analyze_chunked(p, &data, 7);
    assert_eq!(a, b);
    assert!(a.contains("\"packets\": 10"), "{a}");
}

/// Every finding and verdict of every shipped capture renders as a complete sentence in every
/// language: its message id is in the table and each parameter its template names is present.
#[test]
fn every_message_renders_in_every_language() {
    use voipwatch_core::report::message::{render, Lang};
    let mut failures = Vec::new();
    for cap in captures() {
        let data = std::fs::read(&cap).unwrap();
        let mut a = Analyzer::new(Config::default());
        let _ = a.push(&data);
        let r = a.finish();
        let msgs = r
            .findings
            .iter()
            .map(|f| (f.kind.as_str(), f.message()))
            .chain(r.verdicts.iter().map(|v| ("verdict", v.message())));
        for (what, m) in msgs {
            for lang in Lang::ALL {
                match render(&m, lang) {
                    Some(s) if !s.contains('{') && !s.contains('}') => {}
                    other => failures.push(format!(
                        "{}: {what} {} in {}: {other:?}",
                        cap.display(),
                        m.id,
                        lang.as_str()
                    )),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
