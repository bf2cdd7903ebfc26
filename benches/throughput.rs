//! Throughput per pipeline stage, in bytes of capture per second (criterion `Throughput::Bytes`).
//!
//! Stages, each adding one step to the last: `read` (CaptureReader only), `read_decode`
//! (+ `decode::decode` on every packet), `flow_table` (`decode_frame` + `FlowTable::observe`),
//! `classify` (+ the classifiers' `Engine::on_packet` and `Engine::finish`), `detect`
//! (+ `detect::run_all`) and `analyze` (the whole `Analyzer`: + verdicts and the report).
//! A stage's cost is the difference of its time and the previous one's.
//! Input: the largest capture in `captures/` of the repository if there is one, else a
//! deterministic in-memory pcap of ~20 MB of mixed TCP/UDP Ethernet frames built here.
//! Input is pushed in 1 MiB chunks, as the CLI and the page do.
//!
//! A second group, `decode`, isolates the decoder (moved here from the former
//! `core/src/decode/corpus_check.rs`, issue 9), over frames already read, in bytes of frame
//! data: `frame_walk` (touching each frame's first byte: the floor), `checksum`
//! (`decode::checksum::sum` over every frame: the only pass over whole payloads) and
//! `decode_frame` (the whole decoder). Then, as the CLI reads: 256 KiB chunks copied into one
//! buffer (what read(2) does) and pushed to the reader, each frame handled while its bytes
//! are still in cache: `chunked_read`, `chunked_checksum`, `chunked_decode`, in bytes of file.
//!
//! Run: `cargo bench --bench throughput` (add `-- --quick` for a short run, or a stage
//! name to filter, e.g. `cargo bench --bench throughput -- read`).
//! `VOIPWATCH_BENCH_CAPTURE=path` benches another capture file; `VOIPWATCH_BENCH_CAPTURE=synthetic`
//! forces the synthetic 20 MB input even when `captures/` has files.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use voipwatch_core::capture::CaptureReader;
use voipwatch_core::classify::Engine;
use voipwatch_core::decode::{checksum, decode, decode_frame, L4};
use voipwatch_core::detect::{self, DetectConfig};
use voipwatch_core::flow::{FlowConfig, FlowTable};
use voipwatch_core::{Analyzer, Config};

const CHUNK: usize = 1 << 20;
const SYNTHETIC_BYTES: usize = 20 << 20;

/// xorshift64*: deterministic input without a rand dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn ip_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|p| u32::from(p[0]) << 8 | u32::from(*p.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 + (TCP with 20-byte header | UDP) + zero payload of `payload` bytes.
#[allow(clippy::too_many_arguments)]
fn frame(
    tcp: bool,
    src: [u8; 4],
    dst: [u8; 4],
    sp: u16,
    dp: u16,
    seq: u32,
    flags: u8,
    payload: usize,
) -> Vec<u8> {
    let l4_len = if tcp { 20 } else { 8 } + payload;
    let mut f = Vec::with_capacity(34 + l4_len);
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + l4_len) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, if tcp { 6 } else { 17 }, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = ip_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sp.to_be_bytes());
    f.extend_from_slice(&dp.to_be_bytes());
    if tcp {
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&0u32.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    } else {
        f.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        // RTP-looking first bytes so classifiers get some work.
        if payload >= 12 {
            f.extend_from_slice(&[0x80, 0x00]);
            f.extend_from_slice(&(seq as u16).to_be_bytes());
            f.extend_from_slice(&seq.wrapping_mul(160).to_be_bytes());
            f.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]);
            f.resize(f.len() + payload - 12, 0x55);
            return f;
        }
    }
    f.resize(f.len() + payload, 0);
    f
}

/// ~20 MB pcap: 300 TCP bulk flows and 100 UDP RTP-like flows interleaved, 1 ms apart.
fn synthetic_pcap() -> Vec<u8> {
    let mut out = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    let mut rng = Rng(0x7e57_da7a_2026);
    let mut seqs = vec![1000u32; 400];
    let mut ts: u64 = 1_700_000_000_000_000;
    while out.len() < SYNTHETIC_BYTES {
        let flow = rng.below(400) as usize;
        let client = [10, 0, (flow / 250) as u8, (flow % 250) as u8 + 1];
        let server = [192, 0, 2, (flow % 7) as u8 + 1];
        let sport = 40_000 + flow as u16;
        let f = if flow < 300 {
            if rng.below(3) == 0 {
                // ACK from the server.
                frame(true, server, client, 443, sport, 5000, 0x10, 0)
            } else {
                let len = [1448usize, 1448, 536, 100][rng.below(4) as usize];
                let seq = seqs[flow];
                seqs[flow] = seq.wrapping_add(len as u32);
                frame(true, client, server, sport, 443, seq, 0x18, len)
            }
        } else {
            let seq = seqs[flow];
            seqs[flow] = seq.wrapping_add(1);
            frame(false, client, server, sport, 50_000, seq, 0, 160)
        };
        ts += 1000;
        out.extend_from_slice(&((ts / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&f);
    }
    out
}

fn largest_capture(dir: &Path) -> Option<PathBuf> {
    let mut best: Option<(u64, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                let better = match &best {
                    None => true,
                    Some((l, b)) => len > *l || (len == *l && p < *b),
                };
                if better {
                    best = Some((len, p));
                }
            }
        }
    }
    best.map(|(_, p)| p)
}

fn input() -> (String, Vec<u8>) {
    let env = std::env::var_os("VOIPWATCH_BENCH_CAPTURE");
    if env.as_deref() == Some(std::ffi::OsStr::new("synthetic")) {
        return ("synthetic 20 MB TCP/UDP pcap".to_string(), synthetic_pcap());
    }
    let chosen = env
        .map(PathBuf::from)
        .or_else(|| largest_capture(&Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")));
    if let Some(p) = chosen {
        if let Ok(data) = std::fs::read(&p) {
            return (p.display().to_string(), data);
        }
    }
    ("synthetic 20 MB TCP/UDP pcap".to_string(), synthetic_pcap())
}

fn read_only(data: &[u8]) -> u64 {
    let mut r = CaptureReader::new();
    let mut n = 0u64;
    for c in data.chunks(CHUNK) {
        let _ = r.push(c, |p| {
            n += p.data.len() as u64;
            black_box(p);
        });
    }
    let _ = r.finish();
    n
}

fn read_decode(data: &[u8]) -> u64 {
    let mut r = CaptureReader::new();
    let mut n = 0u64;
    for c in data.chunks(CHUNK) {
        let _ = r.push(c, |p| {
            let d = decode(p.linktype, p.data);
            n += u64::from(d.net.is_some());
            black_box(d);
        });
    }
    let _ = r.finish();
    n
}

/// How far [`pipeline`] goes: each stage adds one step of the analyzer's pipeline to the last.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Upto {
    /// Reading, `decode_frame` and `FlowTable::observe` on every packet.
    FlowTable,
    /// And the classifiers (`Engine::on_packet`, then `Engine::finish`).
    Classify,
    /// And every detector (`detect::run_all`).
    Detect,
}

/// The analyzer's steps up to `upto`, as `Analyzer` runs them (the `analyze` stage adds
/// verdicts and the report).
fn pipeline(data: &[u8], upto: Upto) -> usize {
    let mut table = FlowTable::new(FlowConfig::default());
    let mut engine = Engine::default();
    let mut r = CaptureReader::new();
    for c in data.chunks(CHUNK) {
        let _ = r.push(c, |p| {
            let d = decode_frame(p.linktype, p.data, p.origlen);
            if matches!(d.l4, L4::None) && d.net.is_none() {
                return;
            }
            if let Some(o) = table.observe(p.frame, p.ts, &d) {
                if upto >= Upto::Classify {
                    if let Some(flow) = table.flows().get(o.id as usize) {
                        engine.on_packet(flow, o.dir, p.frame, p.ts, &d);
                    }
                }
            }
        });
    }
    let _ = r.finish();
    if upto == Upto::FlowTable {
        return table.flows().len();
    }
    let (flows, calls) = engine.finish(table.into_flows());
    if upto == Upto::Classify {
        return flows.len() + calls.len();
    }
    let cfg = DetectConfig::default();
    let input = detect::Input::new(&flows, &calls, &cfg);
    detect::run_all(&input).len()
}

fn analyze(data: &[u8]) -> usize {
    let mut a = Analyzer::new(Config {
        name: "bench.pcap".into(),
        ..Default::default()
    });
    for c in data.chunks(CHUNK) {
        if a.push(c).is_err() {
            break;
        }
    }
    a.finish().flows.len()
}

fn stages(c: &mut Criterion) {
    let (name, data) = input();
    let packets = {
        let mut r = CaptureReader::new();
        let _ = r.push(&data, |_| {});
        r.packets()
    };
    eprintln!(
        "throughput input: {name}, {} bytes, {packets} packets",
        data.len()
    );
    let mut g = c.benchmark_group("throughput");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("read", |b| b.iter(|| read_only(black_box(&data))));
    g.bench_function("read_decode", |b| b.iter(|| read_decode(black_box(&data))));
    for (stage, upto) in [
        ("flow_table", Upto::FlowTable),
        ("classify", Upto::Classify),
        ("detect", Upto::Detect),
    ] {
        g.bench_function(stage, |b| b.iter(|| pipeline(black_box(&data), upto)));
    }
    g.bench_function("analyze", |b| b.iter(|| analyze(black_box(&data))));
    g.finish();
}

/// What the decoder-only stages do with each frame.
#[derive(Clone, Copy)]
enum Mode {
    Walk,
    Checksum,
    Decode,
}

fn per_frame(mode: Mode, linktype: u32, frame: &[u8], origlen: u32) -> u64 {
    match mode {
        Mode::Walk => u64::from(frame.first().copied().unwrap_or(0)),
        Mode::Checksum => u64::from(checksum::sum(frame)),
        Mode::Decode => u64::from(
            decode_frame(linktype, frame, origlen)
                .net
                .map(|n| n.ttl)
                .unwrap_or(0),
        ),
    }
}

fn decode_stages(c: &mut Criterion) {
    let (name, data) = input();
    // Frames as (link type, wire length, byte range in `data`): the reader hands out slices
    // of the chunk it was given, so their offsets locate them.
    let base = data.as_ptr() as usize;
    let mut frames = Vec::new();
    let mut r = CaptureReader::new();
    let _ = r.push(&data, |p| {
        let start = (p.data.as_ptr() as usize).wrapping_sub(base);
        frames.push((p.linktype, p.origlen, start..start + p.data.len()));
    });
    frames.retain(|f| f.2.end <= data.len());
    let frame_bytes: usize = frames.iter().map(|f| f.2.len()).sum();
    eprintln!(
        "decode input: {name}, {} frames, {frame_bytes} frame bytes",
        frames.len()
    );
    let mut g = c.benchmark_group("decode");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(frame_bytes as u64));
    for (stage, mode) in [
        ("frame_walk", Mode::Walk),
        ("checksum", Mode::Checksum),
        ("decode_frame", Mode::Decode),
    ] {
        g.bench_function(stage, |b| {
            b.iter(|| {
                let mut acc = 0u64;
                for (lt, orig, range) in &frames {
                    let f = data.get(range.clone()).unwrap_or(&[]);
                    acc = acc.wrapping_add(per_frame(mode, *lt, black_box(f), *orig));
                }
                acc
            })
        });
    }
    g.throughput(Throughput::Bytes(data.len() as u64));
    let mut buf = vec![0u8; 256 * 1024];
    for (stage, mode) in [
        ("chunked_read", Mode::Walk),
        ("chunked_checksum", Mode::Checksum),
        ("chunked_decode", Mode::Decode),
    ] {
        g.bench_function(stage, |b| {
            b.iter(|| {
                let mut acc = 0u64;
                let mut r = CaptureReader::new();
                for chunk in data.chunks(buf.len()) {
                    let b = &mut buf[..chunk.len()];
                    b.copy_from_slice(chunk);
                    let _ = r.push(b, |p| {
                        acc = acc.wrapping_add(per_frame(mode, p.linktype, p.data, p.origlen));
                    });
                }
                acc
            })
        });
    }
    g.finish();
}

criterion_group!(benches, stages, decode_stages);
criterion_main!(benches);
