//! voipwatch: is my network operator blocking or throttling my calls?
//!
//! `main` only parses arguments, runs a command and turns its result into an exit code:
//! 0 success, 2 error (bad usage, unreadable file, or a capture that could not be read to
//! the end — the partial report is still printed). A broken pipe is not an error.
#![forbid(unsafe_code)]

mod analyze;
mod args;
mod capture;
mod compare;
mod evidence;
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
    voipwatch evidence CAPTURE -o OUT.pcapng [--redact]
                                             write the frames the findings cite, commented,
                                             as a pcapng evidence pack
    voipwatch serve [--port N]               serve the in-browser page on 127.0.0.1
    voipwatch COMMAND --help                 the usage of one command
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
    let rest = args.get(1..).unwrap_or(&[]);
    let cmd = args.first().map(String::as_str);
    let result = match cmd {
        Some(c) if COMMANDS.contains(&c) && args::wants_help(rest) => {
            print_out(command_usage(c));
            Ok(0)
        }
        Some("analyze") => analyze::run(rest),
        Some("compare") => compare::run(rest),
        Some("capture") => capture::run(rest),
        Some("evidence") => evidence::run(rest),
        Some("interfaces") => capture::interfaces(rest),
        Some("serve") => serve_cmd(rest),
        Some("verify") => verify::run(rest),
        Some("help" | "--help" | "-h") => match rest.first().map(String::as_str) {
            Some(c) if COMMANDS.contains(&c) => {
                print_out(command_usage(c));
                Ok(0)
            }
            _ => {
                print_out(USAGE);
                Ok(0)
            }
        },
        Some("--version" | "-V") => {
            print_out(&format!("voipwatch {}\n", env!("CARGO_PKG_VERSION")));
            Ok(0)
        }
        Some(other) => Err(match args::suggest(other, COMMANDS) {
            Some(s) => {
                format!("unknown command '{other}' (did you mean '{s}'?); see voipwatch --help")
            }
            None => format!("unknown command '{other}'\n\n{USAGE}"),
        }),
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

/// The subcommands, for `--help` and "did you mean".
const COMMANDS: &[&str] = &[
    "analyze",
    "capture",
    "compare",
    "evidence",
    "interfaces",
    "serve",
    "verify",
];

const SERVE_USAGE: &str = "\
usage: voipwatch serve [--port N]

Serves the in-browser page on http://127.0.0.1:N/ (default 8480); captures dropped on the
page are analysed in the browser and never leave the machine.

OPTIONS:
    -p, --port N    the port to listen on (default 8480)
    -h, --help      this help
";

/// The usage of one subcommand.
fn command_usage(cmd: &str) -> &'static str {
    match cmd {
        "analyze" => analyze::USAGE,
        "capture" | "interfaces" => capture::USAGE,
        "compare" => compare::USAGE,
        "evidence" => evidence::USAGE,
        "verify" => verify::USAGE,
        _ => SERVE_USAGE,
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
            other => return Err(args::unknown_option("serve", other, &["--port", "--help"])),
        }
    }
    serve::run(port).map(|()| 0)
}

/// Writes to stdout; a closed pipe (e.g. `| head`) ends the program quietly.
/// Streams output to stdout through a buffer (a broken pipe ends the program quietly, as in
/// [`print_out`]).
pub fn write_out(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    let out = std::io::stdout().lock();
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    if f(&mut w).and_then(|()| w.flush()).is_err() {
        std::process::exit(0);
    }
}

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
