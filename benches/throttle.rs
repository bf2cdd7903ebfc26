//! Cost of the throttling detectors against flow duration (issue 12): the level-shift
//! search used to take two full medians per split (O(n²) in 0.5 s bins), so a small capture
//! of hours-long flows took minutes. Each group analyses a synthetic capture of one flow at
//! two durations; the time ratio of the longer to the shorter should be about the duration
//! ratio (2), not its square (4).
//!
//! * `throttle_tcp`: one TCP download, a 1,000-byte segment every 0.5 s (each ACKed), for
//!   1.5 h and 3 h (10,800 and 21,600 rate bins: the 3-hour one is judged in 1 s bins).
//! * `throttle_rtp`: one RTP stream (PCMU, 50 packets/s) for 5,000 s and 10,000 s, every
//!   fifth packet lost after the first 60 s (so the UDP policer test runs its level shift).
//!
//! Frames are stored cut to their headers (pcap `incl_len` < `orig_len`, as a snaplen
//! capture), so the inputs stay small. Run: `cargo bench --bench throttle -- --quick`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use voipwatch_core::{Analyzer, Config};

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

struct Pcap(Vec<u8>);

impl Pcap {
    fn new() -> Pcap {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        Pcap(v)
    }
    /// One IPv4 frame: `l4` is the transport header (+ the bytes kept), `payload` the
    /// length of the rest (not stored).
    fn frame(
        &mut self,
        t_us: u64,
        src: [u8; 4],
        dst: [u8; 4],
        proto: u8,
        l4: &[u8],
        payload: usize,
    ) {
        let total = 20 + l4.len() + payload;
        let mut ip = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0x40,
            0,
            64,
            proto,
            0,
            0,
        ];
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let c = ip_checksum(&ip);
        ip[10] = (c >> 8) as u8;
        ip[11] = c as u8;
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&ip);
        f.extend_from_slice(l4);
        self.0
            .extend_from_slice(&((t_us / 1_000_000) as u32).to_le_bytes());
        self.0
            .extend_from_slice(&((t_us % 1_000_000) as u32).to_le_bytes());
        self.0.extend_from_slice(&(f.len() as u32).to_le_bytes());
        self.0
            .extend_from_slice(&((f.len() + payload) as u32).to_le_bytes());
        self.0.extend_from_slice(&f);
    }
}

const C: [u8; 4] = [10, 0, 0, 2];
const S: [u8; 4] = [10, 0, 1, 2];

fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
    let mut h = Vec::with_capacity(20);
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&seq.to_be_bytes());
    h.extend_from_slice(&ack.to_be_bytes());
    h.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    h
}

/// A TCP download of `secs` seconds: handshake, then a 1,000-byte segment every 0.5 s,
/// each ACKed 20 ms later.
fn tcp_capture(secs: u64) -> Vec<u8> {
    let mut p = Pcap::new();
    let (cs, ss) = (1000u32, 5000u32);
    p.frame(0, C, S, 6, &tcp(40000, 443, cs, 0, 0x02), 0);
    p.frame(20_000, S, C, 6, &tcp(443, 40000, ss, cs + 1, 0x12), 0);
    p.frame(40_000, C, S, 6, &tcp(40000, 443, cs + 1, ss + 1, 0x10), 0);
    let mut seq = ss + 1;
    for i in 0..secs * 2 {
        let t = 100_000 + i * 500_000;
        p.frame(t, S, C, 6, &tcp(443, 40000, seq, cs + 1, 0x18), 1000);
        seq = seq.wrapping_add(1000);
        p.frame(t + 20_000, C, S, 6, &tcp(40000, 443, cs + 1, seq, 0x10), 0);
    }
    p.0
}

/// An RTP stream of `secs` seconds, 50 packets/s, every fifth packet lost after 60 s.
fn rtp_capture(secs: u64) -> Vec<u8> {
    let mut p = Pcap::new();
    for i in 0..secs * 50 {
        if i > 3000 && i % 5 == 0 {
            continue;
        }
        let mut h = Vec::with_capacity(20);
        h.extend_from_slice(&41234u16.to_be_bytes());
        h.extend_from_slice(&52310u16.to_be_bytes());
        h.extend_from_slice(&(8u16 + 12 + 160).to_be_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&[0x80, 0]);
        h.extend_from_slice(&(i as u16).to_be_bytes());
        h.extend_from_slice(&((i * 160) as u32).to_be_bytes());
        h.extend_from_slice(&0x1122_3344u32.to_be_bytes());
        p.frame(i * 20_000, S, C, 17, &h, 160);
    }
    p.0
}

fn analyze(data: &[u8]) -> usize {
    let mut a = Analyzer::new(Config::default());
    for chunk in data.chunks(1 << 20) {
        let _ = a.push(chunk);
    }
    a.finish().findings.len()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("throttle_tcp");
    g.sample_size(10);
    for secs in [5_400u64, 10_800] {
        let data = tcp_capture(secs);
        g.bench_with_input(BenchmarkId::from_parameter(secs), &data, |b, d| {
            b.iter(|| black_box(analyze(d)))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("throttle_rtp");
    g.sample_size(10);
    for secs in [5_000u64, 10_000] {
        let data = rtp_capture(secs);
        g.bench_with_input(BenchmarkId::from_parameter(secs), &data, |b, d| {
            b.iter(|| black_box(analyze(d)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
