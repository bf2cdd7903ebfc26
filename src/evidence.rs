//! `voipwatch evidence CAPTURE -o OUT.pcapng [--redact]`: the frames the findings cite, with
//! the first packets of their flows, each commented with its finding, in a pcapng file one
//! can hand over (the engine's [`voipwatch_core::evidence_pack`]).

use crate::args::{plural, unknown_option};
use std::io::Read;
use voipwatch_core::evidence_pack::{self, Pack, PackOptions};
use voipwatch_core::{Analyzer, Config};

pub const USAGE: &str = "\
usage: voipwatch evidence CAPTURE -o OUT.pcapng [--redact]

Writes an evidence pack: the frames the findings cite plus the first packets of their flows
(handshake, ClientHello, first datagrams each way), each frame carrying a pcapng comment
naming its finding(s), original timestamps and link types kept; the section comment holds
the tool version, the SHA-256 of CAPTURE and the findings with their Wireshark filters.
Open it in Wireshark, or: tshark -r OUT.pcapng -T fields -e frame.comment

OPTIONS:
    -o, --output FILE   the pcapng file to write (required)
    --redact            cut payloads after the transport header and replace the capture
                        host's own address (the one in most flows) by 192.0.2.1 / 2001:db8::1
    -h, --help          this help
";

const OPTIONS: &[&str] = &["--output", "--redact", "--help"];

struct Opts {
    capture: String,
    output: String,
    redact: bool,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let (mut capture, mut output, mut redact) = (None, None, false);
    let mut it = crate::args::Options::new(args);
    while let Some((a, name)) = it.next_arg() {
        match name {
            "-o" | "--output" => {
                output = Some(
                    it.value("--output")
                        .map_err(|_| "--output needs a file name")?,
                )
            }
            "--redact" => redact = true,
            s if s.starts_with('-') && s != "-" => {
                return Err(unknown_option("evidence", a, OPTIONS))
            }
            _ if capture.is_some() => {
                return Err(format!(
                    "evidence: one capture at a time ('{a}' is a second one)\n\n{USAGE}"
                ))
            }
            _ => capture = Some(a.to_string()),
        }
    }
    Ok(Opts {
        capture: capture.ok_or(format!("evidence: no capture given\n\n{USAGE}"))?,
        output: output.ok_or(format!(
            "evidence: no output file given (-o OUT.pcapng)\n\n{USAGE}"
        ))?,
        redact,
    })
}

/// Chunk size of the two passes over a capture file.
const CHUNK: usize = 4 << 20;

/// Feeds the file at `path` to `sink` in chunks; returns the bytes read.
fn stream(path: &str, mut sink: impl FnMut(&[u8])) -> Result<u64, String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("{path}: cannot open: {e}"))?;
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                total += n as u64;
                sink(buf.get(..n).unwrap_or(&buf));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{path}: read error after {total} bytes: {e}")),
        }
    }
}

/// Builds the pack of a capture file in two streaming passes (the analysis, then the
/// frames), so memory holds the analysis and the kept frames, never the file; standard
/// input, which cannot be read twice, is read into memory.
fn pack_of(path: &str, name: &str, opts: &PackOptions) -> Result<Pack, String> {
    if path == "-" {
        let mut data = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut data)
            .map_err(|e| format!("stdin: read error: {e}"))?;
        return Ok(evidence_pack::build(&data, name, opts));
    }
    let mut a = Analyzer::new(Config {
        name: name.to_string(),
        ..Default::default()
    });
    let first = stream(path, |chunk| {
        let _ = a.push(chunk);
    })?;
    let (report, plan) = a.finish_with_plan();
    let mut w = plan.writer(&report, opts);
    let second = stream(path, |chunk| {
        let _ = w.push(chunk);
    })?;
    if second != first {
        return Err(format!(
            "{path}: the file changed while it was read ({first} bytes, then {second})"
        ));
    }
    let file = w.finish();
    Ok(Pack {
        bytes: file.bytes,
        frames: file.frames,
        cited: file.cited,
        sha256: file.sha256,
        redacted_hosts: file.redacted_hosts,
        error: report.capture.error.clone(),
        report,
    })
}

pub fn run(args: &[String]) -> Result<i32, String> {
    let o = parse(args)?;
    let name = crate::analyze::display_name(&o.capture);
    let pack = pack_of(
        &o.capture,
        &name,
        &PackOptions {
            redact: o.redact,
            tool: format!("voipwatch {}", env!("CARGO_PKG_VERSION")),
        },
    )?;
    if pack.report.capture.packets == 0 {
        return Err(format!(
            "{}: {}",
            o.capture,
            pack.error.as_deref().unwrap_or("no packets")
        ));
    }
    std::fs::write(&o.output, &pack.bytes)
        .map_err(|e| format!("{}: cannot write: {e}", o.output))?;
    let n = pack.report.findings.len() as u64;
    let mut s = format!(
        "{}: {} → {}: {} ({} cited by {}, the rest context of their flows), {}\n",
        name,
        plural(pack.report.capture.packets, "packet", "packets"),
        o.output,
        plural(pack.frames.len() as u64, "frame", "frames"),
        pack.cited.len(),
        plural(n, "finding", "findings"),
        crate::render::text::size(pack.bytes.len() as u64),
    );
    s.push_str(&format!("SHA-256 of {name}: {}\n", pack.sha256));
    if o.redact {
        s.push_str(&format!(
            "Redacted: payloads cut after the transport header; {} replaced.\n",
            plural(
                pack.redacted_hosts.len() as u64,
                "capture-host address",
                "capture-host addresses"
            )
        ));
    }
    if n == 0 {
        s.push_str("No finding: the pack holds no frame, only the section comment.\n");
    }
    for (i, f) in pack.report.findings.iter().enumerate() {
        s.push_str(&format!(
            "  #{i} {}: {}\n",
            f.kind.as_str(),
            plural(f.packets.len() as u64, "frame", "frames")
        ));
    }
    s.push_str(&format!(
        "Read the comments: tshark -r {} -T fields -e frame.number -e frame.comment\n",
        o.output
    ));
    crate::print_out(&s);
    if let Some(e) = &pack.error {
        eprintln!(
            "voipwatch: {}: {e} (the pack covers the packets before that point)",
            o.capture
        );
        return Ok(2);
    }
    Ok(0)
}
