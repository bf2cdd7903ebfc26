//! The capture loop (libpcap), the packet store (file or ring), and the update thread.

use super::view::{self, Counters, Live, PcapStats, RingStats};
use crate::analyze::{analyze_path, display_name};
use crate::render::{self, FlowFilter};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use voipwatch_core::pcapng_writer::{interface_block, packet_block, section_header_block};
use voipwatch_core::{Analyzer, Config, Report};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Ndjson,
}

struct Opts {
    iface: Option<String>,
    filter: Option<String>,
    duration: Option<Duration>,
    write: Option<PathBuf>,
    format: Format,
    ring: Option<u64>,
    interval: Duration,
    snaplen: u32,
}

fn seconds(what: &str, v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
        .map(Duration::from_secs_f64)
        .ok_or(format!("{what}: '{v}' is not a positive number of seconds"))
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        iface: None,
        filter: None,
        duration: None,
        write: None,
        format: Format::Text,
        ring: None,
        interval: Duration::from_secs(1),
        snaplen: 262_144,
    };
    let mut it = crate::args::Options::new(args);
    while let Some((a, name)) = it.next_arg() {
        match name {
            "-i" | "--interface" => o.iface = Some(it.value("--interface")?),
            "-f" | "--filter" => o.filter = Some(it.value("--filter")?),
            "-d" | "--duration" => {
                o.duration = Some(seconds("--duration", &it.value("--duration")?)?)
            }
            "-w" | "--write" => o.write = Some(PathBuf::from(it.value("--write")?)),
            "--interval" => o.interval = seconds("--interval", &it.value("--interval")?)?,
            "--format" => {
                o.format = match it.value("--format")?.as_str() {
                    "text" => Format::Text,
                    "json" => Format::Json,
                    "ndjson" => Format::Ndjson,
                    v => return Err(format!("--format: '{v}' is not one of text, json, ndjson")),
                }
            }
            "--ring" => {
                let v = it.value("--ring")?;
                let mb = v
                    .parse::<f64>()
                    .ok()
                    .filter(|m| m.is_finite() && *m > 0.0 && *m < 1e6)
                    .ok_or(format!(
                        "--ring: '{v}' is not a positive number of megabytes"
                    ))?;
                o.ring = Some((mb * 1e6) as u64);
            }
            "--snaplen" => {
                let v = it.value("--snaplen")?;
                o.snaplen = v
                    .parse()
                    .ok()
                    .filter(|n| (64..=262_144).contains(n))
                    .ok_or(format!(
                        "--snaplen: '{v}' is not a number from 64 to 262144"
                    ))?;
            }
            _ => {
                return Err(format!(
                    "capture: unknown option '{a}' (see voipwatch capture --help)"
                ))
            }
        }
    }
    Ok(o)
}

/// Where the packet blocks go.
enum Store {
    /// Appended to the capture file as they arrive.
    File { w: BufWriter<File>, len: u64 },
    /// The newest blocks up to `limit` bytes; the file is written at the end.
    Ring {
        blocks: VecDeque<(u64, Vec<u8>)>,
        bytes: u64,
        stats: RingStats,
    },
}

struct Sink {
    head: Vec<u8>,
    store: Store,
    packets: u64,
    error: Option<String>,
}

/// The bytes an update analyses.
enum Source {
    /// The first `n` bytes of the capture file (flushed).
    FilePrefix(u64),
    /// A copy of the ring, as a complete pcapng file.
    Bytes(Vec<u8>),
}

impl Sink {
    fn push(&mut self, ts_ns: u64, block: Vec<u8>) {
        self.packets += 1;
        match &mut self.store {
            Store::File { w, len } => {
                if self.error.is_none() {
                    match w.write_all(&block) {
                        Ok(()) => *len += block.len() as u64,
                        Err(e) => self.error = Some(format!("write error: {e}")),
                    }
                }
            }
            Store::Ring {
                blocks,
                bytes,
                stats,
            } => {
                *bytes += block.len() as u64;
                blocks.push_back((ts_ns, block));
                // Always keep the newest block, even if it alone is over the limit.
                while *bytes > stats.limit_bytes && blocks.len() > 1 {
                    let Some((ts, b)) = blocks.pop_front() else {
                        break;
                    };
                    *bytes -= b.len() as u64;
                    stats.dropped_packets += 1;
                    stats.dropped_bytes += b.len() as u64;
                    stats.dropped_until_ts = Some(ts as f64 / 1e9);
                }
                stats.kept_packets = blocks.len() as u64;
            }
        }
    }

    fn source(&mut self) -> Source {
        match &mut self.store {
            Store::File { w, len } => {
                if let Err(e) = w.flush() {
                    self.error.get_or_insert(format!("write error: {e}"));
                }
                Source::FilePrefix(*len)
            }
            Store::Ring { blocks, bytes, .. } => {
                let mut v = Vec::with_capacity(self.head.len() + *bytes as usize);
                v.extend_from_slice(&self.head);
                for (_, b) in blocks.iter() {
                    v.extend_from_slice(b);
                }
                Source::Bytes(v)
            }
        }
    }

    fn ring(&self) -> Option<RingStats> {
        match &self.store {
            Store::Ring { stats, .. } => Some(*stats),
            Store::File { .. } => None,
        }
    }

    /// Writes out what is kept (the ring) and closes the file.
    fn finish(self, path: &Path) -> Result<(), String> {
        if let Some(e) = self.error {
            return Err(format!("{}: {e}", path.display()));
        }
        let io = |e: std::io::Error| format!("{}: {e}", path.display());
        match self.store {
            Store::File { mut w, .. } => w.flush().map_err(io),
            Store::Ring { blocks, .. } => {
                let mut w = BufWriter::new(File::create(path).map_err(io)?);
                w.write_all(&self.head).map_err(io)?;
                for (_, b) in blocks {
                    w.write_all(&b).map_err(io)?;
                }
                w.flush().map_err(io)
            }
        }
    }
}

/// The report of what the store holds now: `voipwatch analyze` of the file at this moment.
fn analyse(path: &Path, src: Source) -> Report {
    let cfg = Config {
        name: display_name(&path.to_string_lossy()),
        ..Default::default()
    };
    match src {
        Source::Bytes(b) => voipwatch_core::analyzer::analyze_bytes(cfg, &b),
        Source::FilePrefix(n) => {
            let mut a = Analyzer::new(cfg);
            if let Ok(f) = File::open(path) {
                let mut r = f.take(n);
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    match r.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => {
                            if a.push(buf.get(..k).unwrap_or(&buf)).is_err() {
                                break;
                            }
                        }
                    }
                }
            }
            a.finish()
        }
    }
}

/// Appends one captured packet (timestamps are nanoseconds: `Precision::Nano`).
fn store_packet(sink: &Mutex<Sink>, p: &pcap::Packet<'_>) {
    let ts = u64::try_from(p.header.ts.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(p.header.ts.tv_usec).unwrap_or(0));
    let block = packet_block(
        0,
        i64::try_from(ts).unwrap_or(i64::MAX),
        p.data,
        p.header.len,
        &[],
    );
    if let Ok(mut k) = sink.lock() {
        k.push(ts, block);
    }
}

/// Turns libpcap's open errors into advice.
fn open_error(iface: &str, e: &pcap::Error) -> String {
    let msg = e.to_string();
    let low = msg.to_lowercase();
    if low.contains("permission") || low.contains("not permitted") {
        format!(
            "cannot capture on '{iface}': {msg}\n\
             Capturing needs root or the CAP_NET_RAW capability. Run it with sudo, or grant the \
             capability once:\n    sudo setcap cap_net_raw,cap_net_admin=eip \"$(command -v voipwatch)\""
        )
    } else if low.contains("no such device") || low.contains("doesn't exist") {
        let names: Vec<String> = pcap::Device::list()
            .map(|l| l.into_iter().map(|d| d.name).collect())
            .unwrap_or_default();
        format!(
            "no such interface '{iface}' ({msg}); available: {} (see voipwatch interfaces)",
            if names.is_empty() {
                "none found".to_string()
            } else {
                names.join(", ")
            }
        )
    } else {
        format!("cannot capture on '{iface}': {msg}")
    }
}

fn stats_of(s: &pcap::Stat) -> PcapStats {
    PcapStats {
        received: u64::from(s.received),
        dropped: u64::from(s.dropped),
        if_dropped: u64::from(s.if_dropped),
    }
}

/// Ctrl-C: the first asks the capture to stop, a second one quits at once.
fn on_interrupt(stop: Arc<AtomicBool>) {
    let presses = AtomicU32::new(0);
    let _ = ctrlc::set_handler(move || {
        stop.store(true, Ordering::SeqCst);
        if presses.fetch_add(1, Ordering::SeqCst) >= 1 {
            std::process::exit(130);
        }
    });
}

pub fn run(args: &[String]) -> Result<i32, String> {
    let o = parse(args)?;
    let iface = match &o.iface {
        Some(i) => i.clone(),
        None => pcap::Device::lookup()
            .map_err(|e| format!("capture: no default interface: {e}"))?
            .map(|d| d.name)
            .ok_or("capture: no interface found to capture on; name one with -i (see voipwatch interfaces)")?,
    };
    let inactive = pcap::Capture::from_device(iface.as_str())
        .map_err(|e| format!("capture: {}", open_error(&iface, &e)))?;
    let mut cap = inactive
        .promisc(true)
        .snaplen(o.snaplen as i32)
        // Not immediate mode: with it libpcap uses TPACKET_V2, one snaplen-sized slot per
        // packet (the 32 MB buffer then holds ~128 packets and drops from 40,000 packets/s);
        // TPACKET_V3 packs packets into blocks handed over at least every `timeout` ms.
        .immediate_mode(false)
        .timeout(100)
        .buffer_size(32 << 20)
        .precision(pcap::Precision::Nano)
        .open()
        .and_then(|c| c.setnonblock())
        .map_err(|e| format!("capture: {}", open_error(&iface, &e)))?;
    if let Some(f) = &o.filter {
        cap.filter(f, true)
            .map_err(|e| format!("capture: filter '{f}': {e}"))?;
    }
    let linktype = u16::try_from(cap.get_datalink().0)
        .map_err(|_| "capture: the interface's link type does not fit pcapng".to_string())?;
    let path = o.write.clone().unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        PathBuf::from(format!("voipwatch-capture-{t}.pcapng"))
    });
    let app = format!("voipwatch {} capture", env!("CARGO_PKG_VERSION"));
    let mut head = section_header_block(None, &app);
    head.extend(interface_block(
        u32::from(linktype),
        o.snaplen,
        Some(&iface),
    ));
    let store = match o.ring {
        Some(limit) => Store::Ring {
            blocks: VecDeque::new(),
            bytes: 0,
            stats: RingStats {
                limit_bytes: limit,
                ..Default::default()
            },
        },
        None => {
            let f = File::create(&path)
                .map_err(|e| format!("capture: {}: cannot create: {e}", path.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            w.write_all(&head)
                .map_err(|e| format!("capture: {}: {e}", path.display()))?;
            Store::File {
                w,
                len: head.len() as u64,
            }
        }
    };
    let sink = Mutex::new(Sink {
        head,
        store,
        packets: 0,
        error: None,
    });
    let stop = Arc::new(AtomicBool::new(false));
    on_interrupt(Arc::clone(&stop));
    let pstats = Mutex::new(PcapStats::default());
    let done = AtomicBool::new(false);
    let start = Instant::now();
    eprintln!(
        "voipwatch: capturing on {iface}{}, writing {}{}; Ctrl-C stops",
        o.filter
            .as_ref()
            .map(|f| format!(" (filter '{f}')"))
            .unwrap_or_default(),
        path.display(),
        o.ring
            .map(|r| format!(" (ring: last {} kept)", render::text::size(r)))
            .unwrap_or_default()
    );

    let mut failure: Option<String> = None;
    let interrupted = std::thread::scope(|s| {
        s.spawn(|| updates(&o, &iface, &path, &sink, &pstats, &done, start));
        let mut last_stats = Instant::now();
        loop {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            if o.duration.is_some_and(|d| start.elapsed() >= d) {
                break;
            }
            match cap.next_packet() {
                Ok(p) => store_packet(&sink, &p),
                // Non-blocking: nothing waiting. libpcap's read timeout cannot be relied on to
                // return when no packet comes (TPACKET_V3 blocks), and the loop must notice
                // Ctrl-C and --duration; packets wait in the kernel's buffer meanwhile.
                Err(pcap::Error::TimeoutExpired) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => {
                    failure = Some(format!("capture on {iface} stopped: {e}"));
                    break;
                }
            }
            if last_stats.elapsed() >= Duration::from_millis(200) {
                last_stats = Instant::now();
                if let (Ok(st), Ok(mut p)) = (cap.stats(), pstats.lock()) {
                    *p = stats_of(&st);
                }
            }
        }
        // Drain what the kernel already holds (TPACKET_V3 hands a partly filled block over
        // after `timeout` ms), so packets captured before the stop reach the file.
        let until = Instant::now() + Duration::from_millis(250);
        while failure.is_none() && Instant::now() < until {
            match cap.next_packet() {
                Ok(p) => store_packet(&sink, &p),
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        if let (Ok(st), Ok(mut p)) = (cap.stats(), pstats.lock()) {
            *p = stats_of(&st);
        }
        done.store(true, Ordering::SeqCst);
        stop.load(Ordering::SeqCst)
    });
    let elapsed = start.elapsed().as_secs_f64();
    let stats = pstats.lock().map(|p| *p).unwrap_or_default();
    let sink = sink.into_inner().map_err(|_| "capture: internal error")?;
    let (packets, ring) = (sink.packets, sink.ring());
    sink.finish(&path).map_err(|e| format!("capture: {e}"))?;

    eprintln!(
        "voipwatch: capture on {iface} {} after {elapsed:.1} s: {} packets captured; libpcap: {} received, {} dropped (kernel buffer), {} dropped by the interface",
        if interrupted { "interrupted" } else if failure.is_some() { "failed" } else { "ended" },
        render::text::count(packets),
        render::text::count(stats.received),
        render::text::count(stats.dropped),
        render::text::count(stats.if_dropped),
    );
    if let Some(r) = ring {
        eprintln!(
            "voipwatch: ring of {}: kept the last {} packets, dropped the first {} packets ({}){}; the report below covers the kept packets only",
            render::text::size(r.limit_bytes),
            render::text::count(r.kept_packets),
            render::text::count(r.dropped_packets),
            render::text::size(r.dropped_bytes),
            r.dropped_until_ts
                .map(|t| format!(", up to ts {t:.6}"))
                .unwrap_or_default()
        );
    }
    let out = analyze_path(&path.to_string_lossy());
    eprintln!("voipwatch: wrote {}", path.display());
    if let Some(e) = &out.error {
        eprintln!("voipwatch: {e}");
    }
    if let Some(report) = &out.report {
        match o.format {
            Format::Json => crate::print_out(&report.to_json()),
            Format::Ndjson => crate::print_out(&(report.to_json_line() + "\n")),
            Format::Text => crate::print_out(&render::text::render_lang(
                report,
                FlowFilter::Auto,
                voipwatch_core::report::message::Lang::En,
            )),
        }
    }
    if let Some(f) = failure {
        return Err(f);
    }
    Ok(if out.error.is_some() { 2 } else { 0 })
}

/// The update thread: every interval, analyse what was captured and show it.
fn updates(
    o: &Opts,
    iface: &str,
    path: &Path,
    sink: &Mutex<Sink>,
    pstats: &Mutex<PcapStats>,
    done: &AtomicBool,
    start: Instant,
) {
    let tty = std::io::stderr().is_terminal();
    let mut prev = Counters::new();
    let mut prev_at = start;
    let mut drawn_lines = 0usize;
    let mut seq = 0u64;
    let mut next = start + o.interval;
    loop {
        while Instant::now() < next {
            if done.load(Ordering::SeqCst) {
                if tty && drawn_lines > 0 && o.format != Format::Ndjson {
                    eprintln!();
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let t0 = Instant::now();
        let (src, ring) = match sink.lock() {
            Ok(mut k) => (k.source(), k.ring()),
            Err(_) => return,
        };
        let report = analyse(path, src);
        let now = Instant::now();
        seq += 1;
        let live = Live {
            seq,
            interface: iface,
            elapsed_s: now.duration_since(start).as_secs_f64(),
            pcap: pstats.lock().map(|p| *p).unwrap_or_default(),
            ring,
        };
        let dt = now.duration_since(prev_at).as_secs_f64();
        prev_at = now;
        let u = view::update(live, &report, &mut prev, dt);
        match o.format {
            Format::Ndjson => {
                if let Ok(line) = serde_json::to_string(&u) {
                    crate::print_out(&(line + "\n"));
                }
            }
            _ if tty => {
                let text = view::render(&u);
                let mut err = std::io::stderr().lock();
                // Move up over the previous drawing and clear to the end of the screen.
                if drawn_lines > 0 {
                    let _ = write!(err, "\x1b[{drawn_lines}A\x1b[J");
                }
                let _ = err.write_all(text.as_bytes());
                let _ = err.flush();
                drawn_lines = text.lines().count();
            }
            _ => eprintln!("voipwatch: {}", view::status_line(&u)),
        }
        // Analysing grows with the capture: never spend more than about a quarter of the
        // time on it (the capture itself runs on its own thread and is never held up).
        let cost = t0.elapsed();
        next = Instant::now() + o.interval.max(cost * 3);
    }
}

/// `voipwatch interfaces`: what libpcap can open, with flags and addresses.
pub fn interfaces() -> Result<i32, String> {
    let list = pcap::Device::list().map_err(|e| format!("interfaces: {e}"))?;
    let mut s = String::new();
    for d in &list {
        let f = &d.flags;
        let mut flags = Vec::new();
        if f.is_up() {
            flags.push("up");
        }
        if f.is_running() {
            flags.push("running");
        }
        if f.is_loopback() {
            flags.push("loopback");
        }
        if f.is_wireless() {
            flags.push("wireless");
        }
        let addrs: Vec<String> = d.addresses.iter().map(|a| a.addr.to_string()).collect();
        s.push_str(&format!(
            "{:<16} {:<24} {}{}\n",
            d.name,
            flags.join(","),
            addrs.join(" "),
            d.desc
                .as_ref()
                .map(|x| format!("  ({x})"))
                .unwrap_or_default()
        ));
    }
    if list.is_empty() {
        s.push_str("no interfaces found (capturing may need root or CAP_NET_RAW)\n");
    }
    crate::print_out(&s);
    Ok(0)
}
