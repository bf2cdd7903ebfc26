//! Writes a capture from the complexity generator (`tests/complexity_gen.rs`) to a file, for
//! measurements too big for the test suite (docs/robustness.md):
//!
//! ```text
//! cargo run --release --example complexity -- long_call MINUTES STOP_MINUTE OUT.pcap
//! cargo run --release --example complexity -- many_flows N OUT.pcap
//! ```

#[path = "../tests/complexity_gen.rs"]
mod complexity_gen;
use complexity_gen as hostile;

use std::io::{BufWriter, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| args.get(i).and_then(|s| s.parse::<i64>().ok());
    let out = |i: usize| -> std::io::Result<BufWriter<std::fs::File>> {
        let path = args.get(i).map(String::as_str).unwrap_or("complexity.pcap");
        Ok(BufWriter::new(std::fs::File::create(path)?))
    };
    let r = match (args.first().map(String::as_str), num(1), num(2)) {
        (Some("long_call"), Some(m), Some(stop)) => {
            out(3).and_then(|w| hostile::long_call(w, m, stop)?.flush())
        }
        (Some("many_flows"), Some(n), _) => {
            out(2).and_then(|w| hostile::many_flows(w, n.max(0) as u64, false)?.flush())
        }
        _ => {
            eprintln!("usage: complexity long_call MINUTES STOP OUT | many_flows N OUT");
            return ExitCode::from(2);
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("complexity: {e}");
            ExitCode::FAILURE
        }
    }
}
