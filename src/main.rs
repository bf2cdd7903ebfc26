//! voipwatch: is my network operator blocking or throttling my calls?
//!
//! `main` only parses arguments, runs a command and turns its result into an exit code:
//! 0 success, 2 error (bad usage, unreadable file, or a capture that could not be read to
//! the end — the partial report is still printed). A broken pipe is not an error.
#![forbid(unsafe_code)]

mod analyze;
mod capture;
mod compare;
mod plot;
mod render;
mod serve;
mod verify;

use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "\
voipwatch — is my network operator blocking or throttling my calls?

USAGE:
    voipwatch analyze [OPTIONS] CAPTURE...   analyse pcap/pcapng files ('-' reads stdin)
    voipwatch compare TARGET CONTROL         differential throughput test of two captures
    voipwatch compare CAPTURE --target SEL --control SEL
    voipwatch verify [OPTIONS] DIR|FILE...   check voipwatch against captures with known truth
                                             (<capture>.truth.json beside each capture)
    voipwatch capture [-i IFACE] [-f BPF] [-d S] [-w FILE.pcapng] [--ring MB] [--format F]
                                             capture live, show the running answer, then
                                             the report (details: voipwatch capture --help)
    voipwatch interfaces                     list the devices capture can open
    voipwatch serve [--port N]               serve the in-browser page on 127.0.0.1
    voipwatch help | --help | --version

ANALYZE OPTIONS:
    -f, --format text|json|ndjson   output format (default text); json = one pretty report per
                                    file; ndjson = one report per line
    --flows auto|all|voip|problems  which flows the text table lists (default auto: all flows
                                    when there are at most 40, else VoIP and problem flows)
    --plot DIR                      write SVG throughput/RTT charts of flagged flows into DIR
    -j, --jobs N                    files analysed in parallel (default: all cores)

VERIFY OPTIONS (docs/truth.md):
    -f, --format text|json          table with totals (default), or JSON for CI
    --compare EARLIER.json          also list what moved since an earlier --format json run
    --no-timing                     leave out the throughput (MB/s, packets/s) numbers, which
                                    vary by machine: the JSON of two runs is then identical
    -j, --jobs N                    captures checked in parallel (default: all cores)

EXIT STATUS:
    0  every capture was read completely (verify: every truth held)
    1  verify: some expectation of a truth file failed
    2  usage error, unreadable file, or a capture that stopped early (its partial report,
       with \"complete\": false, is still printed; the error goes to stderr)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("analyze") => analyze::run(&args[1..]),
        Some("compare") => compare::run(&args[1..]),
        Some("capture") => capture::run(&args[1..]),
        Some("interfaces") => capture::interfaces(&args[1..]),
        Some("serve") => serve_cmd(&args[1..]),
        Some("verify") => verify::run(&args[1..]),
        Some("help" | "--help" | "-h") => {
            print_out(USAGE);
            Ok(0)
        }
        Some("--version" | "-V") => {
            print_out(&format!("voipwatch {}\n", env!("CARGO_PKG_VERSION")));
            Ok(0)
        }
        Some(other) => Err(format!("unknown command '{other}'\n\n{USAGE}")),
        None => Err(format!("missing command\n\n{USAGE}")),
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(msg) => {
            eprintln!("voipwatch: {msg}");
            ExitCode::from(2)
        }
    }
}

fn serve_cmd(args: &[String]) -> Result<i32, String> {
    let mut port: u16 = 8480;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" | "-p" => {
                let v = it.next().ok_or("--port needs a value")?;
                port = v
                    .parse()
                    .map_err(|_| format!("--port: '{v}' is not a port number"))?;
            }
            other => return Err(format!("serve: unknown option '{other}'")),
        }
    }
    serve::run(port).map(|()| 0)
}

/// Writes to stdout; a closed pipe (e.g. `| head`) ends the program quietly.
pub fn print_out(s: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(s.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}
