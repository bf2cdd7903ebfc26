//! `voipwatch analyze`: read captures in chunks, analyse them in parallel, print reports.

use crate::render::{self, FlowFilter};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use voipwatch_core::report::message::Lang;
use voipwatch_core::{Analyzer, Config, Report};

pub const USAGE: &str = "\
usage: voipwatch analyze [OPTIONS] CAPTURE...

Analyses pcap/pcapng files ('-' reads stdin) and prints, per file, the verdicts, calls,
findings (each with a Wireshark display filter) and a flows table.

OPTIONS:
    -f, --format text|json|ndjson   output format (default text); json = one pretty report per
                                    file; ndjson = one report per line
    --flows auto|all|voip|problems  which flows the text table lists (default auto: all flows
                                    when there are at most 40, else VoIP and problem flows)
    --plot DIR                      write SVG throughput/RTT charts of flagged flows and a
                                    two-lane timeline per call into DIR
    --lang en|fr|ar                 language of the text output (default: from LC_ALL,
                                    LC_MESSAGES or LANG; English otherwise). JSON always
                                    carries the English summary and the message id + params
    -j, --jobs N                    files analysed in parallel (default: all cores)
    -h, --help                      this help
";

const OPTIONS: &[&str] = &[
    "--format", "--flows", "--plot", "--lang", "--jobs", "--help",
];

/// The language the environment asks for (LC_ALL, then LC_MESSAGES, then LANG, as gettext
/// reads them), English when none names one we have.
pub fn env_lang() -> Lang {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .and_then(|v| Lang::parse(&v))
        .unwrap_or(Lang::En)
}

/// Chunk size for reading: memory stays bounded whatever the file size.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the reader thread and the analysis.
const BUFFERS: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Ndjson,
}

struct Opts {
    format: Format,
    flows: FlowFilter,
    plot: Option<PathBuf>,
    lang: Lang,
    jobs: usize,
    files: Vec<String>,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        format: Format::Text,
        flows: FlowFilter::Auto,
        plot: None,
        lang: env_lang(),
        jobs: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        files: Vec::new(),
    };
    let mut it = crate::args::Options::new(args);
    let mut only_files = false;
    while let Some((a, name)) = it.next_arg() {
        if only_files || a == "-" || !a.starts_with('-') {
            o.files.push(a.to_string());
            continue;
        }
        match name {
            "--" => only_files = true,
            "-f" | "--format" => {
                o.format = match it.value("--format")?.as_str() {
                    "text" => Format::Text,
                    "json" => Format::Json,
                    "ndjson" => Format::Ndjson,
                    v => return Err(format!("--format: '{v}' is not one of text, json, ndjson")),
                }
            }
            "--flows" => {
                o.flows = match it.value("--flows")?.as_str() {
                    "auto" => FlowFilter::Auto,
                    "all" => FlowFilter::All,
                    "voip" => FlowFilter::Voip,
                    "problems" => FlowFilter::Problems,
                    v => {
                        return Err(format!(
                            "--flows: '{v}' is not one of auto, all, voip, problems"
                        ))
                    }
                }
            }
            "--plot" => o.plot = Some(PathBuf::from(it.value("--plot")?)),
            "--lang" => {
                let v = it.value("--lang")?;
                o.lang = match v.as_str() {
                    "en" => Lang::En,
                    "fr" => Lang::Fr,
                    "ar" => Lang::Ar,
                    _ => return Err(format!("--lang: '{v}' is not one of en, fr, ar")),
                }
            }
            "-j" | "--jobs" => {
                let v = it.value("--jobs")?;
                o.jobs = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("--jobs: '{v}' is not a positive number"))?;
            }
            _ => return Err(crate::args::unknown_option("analyze", a, OPTIONS)),
        }
    }
    if o.files.is_empty() {
        return Err("analyze: no capture given (a file path, or '-' for stdin)".into());
    }
    if o.files.iter().filter(|f| *f == "-").count() > 1 {
        return Err("analyze: stdin ('-') can be read only once".into());
    }
    Ok(o)
}

/// Outcome of one file: the report (possibly partial) and the error that stopped reading.
pub struct Outcome {
    pub report: Option<Report>,
    pub error: Option<String>,
}

/// File name without directories, as the report shows it.
pub fn display_name(path: &str) -> String {
    if path == "-" {
        return "stdin".into();
    }
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// Analyses one capture (a path, or "-" for stdin), streaming it in chunks.
///
/// A reader thread fills the chunks while this one analyses the previous ones, so the
/// kernel's copy of the file overlaps the analysis; [`BUFFERS`] chunks circulate between
/// the two, so memory stays bounded.
pub fn analyze_path(path: &str) -> Outcome {
    let file = if path == "-" {
        None
    } else {
        match std::fs::File::open(path) {
            Ok(f) => Some(f),
            Err(e) => {
                return Outcome {
                    report: None,
                    error: Some(format!("{path}: cannot open: {e}")),
                }
            }
        }
    };
    let mut analyzer = Analyzer::new(Config {
        name: display_name(path),
        ..Default::default()
    });
    let mut read_error = None;
    // Filled chunks (buffer, length) or the read error, and emptied buffers coming back.
    let (full_tx, full_rx) = mpsc::sync_channel::<std::io::Result<(Vec<u8>, usize)>>(BUFFERS);
    let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        let _ = empty_tx.send(vec![0u8; CHUNK]);
    }
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut reader: Box<dyn Read> = match file {
                Some(f) => Box::new(f),
                None => Box::new(std::io::stdin().lock()),
            };
            // Ends at end of file, on a read error, or when the analysis stops taking chunks.
            while let Ok(mut buf) = empty_rx.recv() {
                let msg = loop {
                    match reader.read(&mut buf) {
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Ok(n) => break Ok(n),
                        Err(e) => break Err(e),
                    }
                };
                let last = !matches!(msg, Ok(n) if n > 0);
                let sent = match msg {
                    Ok(0) => Ok(()),
                    Ok(n) => full_tx.send(Ok((buf, n))),
                    Err(e) => full_tx.send(Err(e)),
                };
                if last || sent.is_err() {
                    break;
                }
            }
        });
        // Dropping the channels' ends when this loop stops also stops the reader.
        let (full_rx, empty_tx) = (full_rx, empty_tx);
        for msg in full_rx.iter() {
            match msg {
                Ok((buf, n)) => {
                    if analyzer.push(buf.get(..n).unwrap_or(&buf)).is_err() {
                        break;
                    }
                    let _ = empty_tx.send(buf);
                }
                Err(e) => {
                    read_error = Some(format!(
                        "{path}: read error after {} bytes: {e}",
                        analyzer.progress().bytes
                    ));
                    break;
                }
            }
        }
    });
    let report = analyzer.finish();
    let error = read_error.or_else(|| {
        report
            .capture
            .error
            .as_ref()
            .map(|e| format!("{path}: {e}"))
    });
    Outcome {
        report: Some(report),
        error,
    }
}

pub fn run(args: &[String]) -> Result<i32, String> {
    let o = parse(args)?;
    let n = o.files.len();
    let slots: Vec<Mutex<Option<Outcome>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let printed = Mutex::new(0usize);
    let opts = &o;
    let print_ready = |printed: &mut usize| {
        // Print finished reports in argument order as soon as all earlier ones are out.
        while *printed < n {
            let taken = slots[*printed].lock().ok().and_then(|mut s| s.take());
            match taken {
                Some(out) => {
                    emit(opts, &opts.files[*printed], &out, n > 1);
                    *printed += 1;
                }
                None => break,
            }
        }
    };
    let had_error = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..o.jobs.min(n) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let out = analyze_path(&o.files[i]);
                if out.error.is_some() {
                    had_error.fetch_add(1, Ordering::Relaxed);
                }
                if let Ok(mut slot) = slots[i].lock() {
                    *slot = Some(out);
                }
                if let Ok(mut p) = printed.lock() {
                    print_ready(&mut p);
                }
            });
        }
    });
    if let Ok(mut p) = printed.lock() {
        print_ready(&mut p);
    }
    Ok(if had_error.load(Ordering::Relaxed) > 0 {
        2
    } else {
        0
    })
}

fn emit(o: &Opts, path: &str, out: &Outcome, many: bool) {
    if let Some(e) = &out.error {
        eprintln!("voipwatch: {e}");
    }
    let Some(report) = &out.report else { return };
    match o.format {
        Format::Json => crate::write_out(|w| report.write_json(w)),
        Format::Ndjson => crate::write_out(|w| report.write_json_line(w)),
        Format::Text => {
            let mut s = render::text::render_lang(report, o.flows, o.lang);
            if many {
                s.push('\n');
            }
            crate::print_out(&s);
        }
    }
    if let Some(dir) = &o.plot {
        let dir = if many {
            dir.join(display_name(path))
        } else {
            dir.clone()
        };
        match std::fs::create_dir_all(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))
            .and_then(|()| crate::plot::write_plots(report, &dir))
        {
            Ok(files) if files.is_empty() => eprintln!(
                "voipwatch: --plot: nothing to draw for {}: no call, and no finding about a flow",
                crate::render::esc(&report.capture.name)
            ),
            Ok(files) => {
                for f in files {
                    eprintln!("voipwatch: wrote {}", f.display());
                }
            }
            Err(e) => eprintln!("voipwatch: --plot: {e}"),
        }
    }
}
