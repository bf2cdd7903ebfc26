//! The whole analyzer: no panic, a report always, `complete == false` exactly when an error
//! is set, and byte-identical JSON whatever the chunking (the chunk size comes from the
//! input's length, so real captures work as seeds unchanged).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipwatch_core::{Analyzer, Config};

fn run(data: &[u8], chunk: usize) -> String {
    let mut a = Analyzer::new(Config {
        name: "fuzz.pcap".into(),
        ..Default::default()
    });
    for c in data.chunks(chunk.max(1)) {
        if a.push(c).is_err() {
            break;
        }
    }
    let report = a.finish();
    assert_eq!(report.capture.complete, report.capture.error.is_none());
    report.to_json()
}

fuzz_target!(|data: &[u8]| {
    let chunk = 1 + data.len().wrapping_mul(7) % 4099;
    let whole = run(data, usize::MAX);
    let cut = run(data, chunk);
    assert_eq!(whole, cut, "chunk size {chunk} changed the report");
});
