//! Stable mutation test: the whole analyzer on corrupted captures must never panic.
//!
//! Sources: the captures shipped in `captures/`, the reference corpus when present
//! (`../shared/corpus`), and a synthetic pcap and pcapng built here (so the test has
//! teeth on a clone without either). Each case takes a prefix of a source and applies
//! 1–3 seeded mutations — bit flips, byte overwrites, corruption of the pcap/pcapng length
//! fields and of the IP/UDP/TCP length bytes inside packets, spliced copies and
//! truncations — then runs `Analyzer` with random chunk sizes, `finish` and `to_json`.
//! Asserts: no panic, a report is produced, `complete == false` exactly when an error is
//! set, and (for a sample of cases) the JSON does not depend on the chunk sizes.
//!
//! Deterministic: a fixed seed and a tiny xorshift PRNG. `MUTATION_SEED` and
//! `MUTATION_CASES` override the defaults to explore further; a failure prints the seed,
//! case number, source and mutations needed to replay it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use voipwatch_core::{Analyzer, Config};

const DEFAULT_SEED: u64 = 0x5eed_2026_0002_cafe;
const DEFAULT_CASES: usize = 3000;
/// Largest prefix of a source used in one case: keeps the debug-build runtime small.
const MAX_WINDOW: usize = 12 * 1024;

/// xorshift64* (Vigna): tiny, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform-ish in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

// ---------- synthetic captures ----------

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let hi = u32::from(pair[0]) << 8;
        let lo = pair.get(1).map_or(0, |b| u32::from(*b));
        sum += hi | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], id: u16, l4: &[u8]) -> Vec<u8> {
    let total = (20 + l4.len()) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(l4);
    h
}

fn ipv6_udp(src_last: u8, dst_last: u8, l4: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    h.extend_from_slice(&[17, 64]);
    let mut a = [0u8; 16];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = src_last;
    h.extend_from_slice(&a);
    a[15] = dst_last;
    h.extend_from_slice(&a);
    h.extend_from_slice(l4);
    h
}

fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = sp.to_be_bytes().to_vec();
    u.extend_from_slice(&dp.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn tcp(sp: u16, dp: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = sp.to_be_bytes().to_vec();
    t.extend_from_slice(&dp.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    // Data offset 6 words: one MSS option.
    t.extend_from_slice(&[0x60, flags, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4]);
    t.extend_from_slice(payload);
    t
}

fn ether(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn vlan(id: u16, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0];
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A small mixed conversation: TCP handshake/data/teardown, an RTP-like UDP stream with a
/// STUN binding request, DNS, IPv6 UDP and a VLAN-tagged packet. (ts ns, Ethernet frame).
fn synthetic_frames() -> Vec<(i64, Vec<u8>)> {
    let (c, s) = ([10, 0, 0, 1], [192, 0, 2, 7]);
    let t0: i64 = 1_700_000_000_000_000_000;
    let ms = 1_000_000;
    let mut v = vec![];
    let mut push = |dt: i64, ip: Vec<u8>, et: u16| v.push((t0 + dt * ms, ether(et, &ip)));
    push(
        0,
        ipv4(6, c, s, 1, &tcp(40000, 443, 100, 0, 0x02, b"")),
        0x0800,
    );
    push(
        20,
        ipv4(6, s, c, 9, &tcp(443, 40000, 900, 101, 0x12, b"")),
        0x0800,
    );
    push(
        21,
        ipv4(6, c, s, 2, &tcp(40000, 443, 101, 901, 0x10, b"")),
        0x0800,
    );
    push(
        22,
        ipv4(
            6,
            c,
            s,
            3,
            &tcp(40000, 443, 101, 901, 0x18, b"\x16\x03\x01\x00\x05hello"),
        ),
        0x0800,
    );
    push(
        45,
        ipv4(6, s, c, 10, &tcp(443, 40000, 901, 111, 0x10, b"")),
        0x0800,
    );
    let stun = [
        0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ];
    push(50, ipv4(17, c, s, 4, &udp(50000, 3478, &stun)), 0x0800);
    for i in 0..12u16 {
        let mut rtp = vec![0x80, 0x00];
        rtp.extend_from_slice(&i.to_be_bytes());
        rtp.extend_from_slice(&(u32::from(i) * 160).to_be_bytes());
        rtp.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        rtp.extend_from_slice(&[0x55; 40]);
        push(
            60 + i64::from(i) * 20,
            ipv4(17, c, s, 5 + i, &udp(50000, 50002, &rtp)),
            0x0800,
        );
    }
    let dns =
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01";
    push(
        400,
        ipv4(17, c, [9, 9, 9, 9], 30, &udp(53000, 53, dns)),
        0x0800,
    );
    push(
        401,
        ipv6_udp(1, 2, &udp(5060, 5060, b"OPTIONS sip:a@b SIP/2.0\r\n\r\n")),
        0x86dd,
    );
    push(
        420,
        ipv4(6, c, s, 31, &tcp(40000, 443, 111, 901, 0x11, b"")),
        0x0800,
    );
    push(
        440,
        ipv4(6, s, c, 11, &tcp(443, 40000, 901, 112, 0x14, b"")),
        0x0800,
    );
    v.push((
        t0 + 450 * ms,
        vlan(42, 0x0800, &ipv4(17, c, s, 32, &udp(1, 2, b"x"))),
    ));
    v
}

fn synthetic_pcap(frames: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let mut f = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    for (ts, data) in frames {
        f.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        f.extend_from_slice(&((ts % 1_000_000_000 / 1000) as u32).to_le_bytes());
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(data);
    }
    f
}

/// Big-endian pcapng with a nanosecond interface: exercises the other byte order and options.
fn synthetic_pcapng(frames: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let mut f = vec![
        0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 28, 0x1a, 0x2b, 0x3c, 0x4d, 0, 1, 0, 0,
    ];
    f.extend_from_slice(&[0xff; 8]);
    f.extend_from_slice(&28u32.to_be_bytes());
    f.extend_from_slice(&[
        0, 0, 0, 1, 0, 0, 0, 28, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 9, 0, 0, 0, 0, 0, 0, 28,
    ]);
    for (ts, data) in frames {
        let pad = (4 - data.len() % 4) % 4;
        let len = (32 + data.len() + pad) as u32;
        f.extend_from_slice(&6u32.to_be_bytes());
        f.extend_from_slice(&len.to_be_bytes());
        f.extend_from_slice(&0u32.to_be_bytes());
        f.extend_from_slice(&((*ts as u64 >> 32) as u32).to_be_bytes());
        f.extend_from_slice(&(*ts as u32).to_be_bytes());
        f.extend_from_slice(&(data.len() as u32).to_be_bytes());
        f.extend_from_slice(&(data.len() as u32).to_be_bytes());
        f.extend_from_slice(data);
        f.resize(f.len() + pad, 0);
        f.extend_from_slice(&len.to_be_bytes());
    }
    f
}

// ---------- structure-aware targets ----------

/// Offsets of 32-bit length fields (pcap caplen/origlen, pcapng block lengths and EPB
/// caplen/origlen) and of the first bytes of each packet (where IP/UDP/TCP lengths live).
struct Targets {
    /// (offset, big_endian)
    lengths: Vec<(usize, bool)>,
    packets: Vec<usize>,
    /// Offsets where a record or block ends (a clean place to cut the source).
    ends: Vec<usize>,
}

fn u32_at(d: &[u8], at: usize, be: bool) -> Option<u32> {
    let b: [u8; 4] = d.get(at..at + 4)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

fn targets(d: &[u8]) -> Targets {
    let mut t = Targets {
        lengths: vec![],
        packets: vec![],
        ends: vec![],
    };
    match d.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1])
        | Some([0x4d, 0x3c, 0xb2, 0xa1])
        | Some([0xa1, 0xb2, 0xc3, 0xd4])
        | Some([0xa1, 0xb2, 0x3c, 0x4d]) => {
            let be = d[0] == 0xa1;
            t.lengths.push((16, be)); // snaplen
            let mut at = 24;
            while let Some(cap) = u32_at(d, at + 8, be) {
                t.lengths.push((at + 8, be));
                t.lengths.push((at + 12, be));
                t.packets.push(at + 16);
                at = match at.checked_add(16 + cap as usize) {
                    Some(n) => n,
                    None => break,
                };
                t.ends.push(at);
            }
        }
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => {
            let mut at = 0;
            let mut be = false;
            while let Some(ty) = u32_at(d, at, false) {
                if ty == 0x0a0d_0d0a {
                    be = d.get(at + 8) == Some(&0x1a);
                }
                let Some(len) = u32_at(d, at + 4, be) else {
                    break;
                };
                let ty = if be { ty.swap_bytes() } else { ty };
                t.lengths.push((at + 4, be));
                if len >= 12 {
                    t.lengths.push((at + len as usize - 4, be));
                }
                if ty == 6 {
                    t.lengths.push((at + 20, be));
                    t.lengths.push((at + 24, be));
                    t.packets.push(at + 28);
                }
                if len < 12 {
                    break;
                }
                at += len as usize;
                t.ends.push(at);
            }
        }
        _ => {}
    }
    t
}

const INTERESTING_U32: [u32; 12] = [
    0,
    1,
    3,
    4,
    11,
    12,
    0x7fff_ffff,
    0xffff_ffff,
    0xffff_fffc,
    0x0100_0000,
    0x0100_0004,
    0x0004_0000,
];
const INTERESTING_U8: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, 0x45, 0x60, 0x11];

/// Applies one random mutation; returns its description.
fn mutate(rng: &mut Rng, d: &mut Vec<u8>, t: &Targets) -> String {
    if d.is_empty() {
        d.push(rng.next() as u8);
        return "grow empty".into();
    }
    match rng.below(7) {
        0 => {
            let n = 1 + rng.below(8);
            for _ in 0..n {
                let at = rng.below(d.len());
                d[at] ^= 1 << rng.below(8);
            }
            format!("{n} bit flips")
        }
        1 => {
            let at = rng.below(d.len());
            d[at] = if rng.chance(50) {
                INTERESTING_U8[rng.below(INTERESTING_U8.len())]
            } else {
                rng.next() as u8
            };
            format!("byte {at} overwritten")
        }
        2 | 3 if !t.lengths.is_empty() => {
            let (at, be) = t.lengths[rng.below(t.lengths.len())];
            let Some(old) = u32_at(d, at, be) else {
                return "length field beyond cut".into();
            };
            let new = match rng.below(4) {
                0 => INTERESTING_U32[rng.below(INTERESTING_U32.len())],
                1 => old.wrapping_add(1 + rng.below(8) as u32),
                2 => old.wrapping_sub(1 + rng.below(8) as u32),
                _ => old ^ (1 << rng.below(32)),
            };
            let bytes = if be {
                new.to_be_bytes()
            } else {
                new.to_le_bytes()
            };
            d[at..at + 4].copy_from_slice(&bytes);
            format!("length field at {at}: {old} -> {new}")
        }
        4 if !t.packets.is_empty() => {
            // Corrupt a byte in the first 64 bytes of a packet (IP/UDP/TCP headers and lengths).
            let base = t.packets[rng.below(t.packets.len())];
            let at = base + rng.below(64);
            if at < d.len() {
                d[at] = INTERESTING_U8[rng.below(INTERESTING_U8.len())];
            }
            format!("packet header byte {at}")
        }
        5 => {
            // Splice: copy one range over another (repeated headers, shifted records).
            let len = 1 + rng.below(64.min(d.len()));
            let from = rng.below(d.len() - len + 1);
            let to = rng.below(d.len() - len + 1);
            let piece = d[from..from + len].to_vec();
            if rng.chance(50) {
                d[to..to + len].copy_from_slice(&piece);
                format!("copy {len} bytes {from} -> {to}")
            } else {
                d.splice(to..to, piece);
                format!("insert {len} bytes from {from} at {to}")
            }
        }
        _ => {
            let cut = rng.below(d.len() + 1);
            d.truncate(cut);
            format!("truncate at {cut}")
        }
    }
}

fn run(data: &[u8], chunks: &mut dyn FnMut() -> usize) -> (String, bool, Option<String>) {
    let mut a = Analyzer::new(Config {
        name: "mutated.pcap".into(),
        ..Default::default()
    });
    let mut rest = data;
    while !rest.is_empty() {
        let n = chunks().clamp(1, rest.len());
        let (c, r) = rest.split_at(n);
        if a.push(c).is_err() {
            break;
        }
        rest = r;
    }
    let report = a.finish();
    let json = report.to_json();
    (json, report.capture.complete, report.capture.error.clone())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if p.is_dir() {
            walk(&p, out);
        } else if name.ends_with(".pcap") || name.ends_with(".pcapng") {
            out.push(p);
        }
    }
}

fn sources() -> Vec<(String, Vec<u8>)> {
    let frames = synthetic_frames();
    let mut v = vec![
        ("synthetic.pcap".to_string(), synthetic_pcap(&frames)),
        ("synthetic.pcapng".to_string(), synthetic_pcapng(&frames)),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    walk(&root.join("captures"), &mut files);
    let corpus = root.join("../shared/corpus");
    if corpus.is_dir() {
        walk(&corpus.join("ndpi/pcap"), &mut files);
        walk(&corpus.join("refcaps"), &mut files);
    } else {
        eprintln!("mutation: ../shared/corpus absent, using captures/ and synthetic sources only");
    }
    for f in files {
        if let Ok(mut data) = std::fs::read(&f) {
            data.truncate(MAX_WINDOW);
            let name = f.strip_prefix(root).unwrap_or(&f).display().to_string();
            v.push((name, data));
        }
    }
    v
}

#[test]
fn synthetic_sources_are_valid_captures() {
    for (name, data) in sources().into_iter().take(2) {
        let (json, complete, error) = run(&data, &mut || usize::MAX);
        assert!(complete, "{name}: {error:?}");
        assert!(json.contains("\"packets\": 23"), "{name}: {json}");
    }
}

#[test]
fn mutated_captures_never_panic() {
    let seed = std::env::var("MUTATION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let cases = std::env::var("MUTATION_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let sources = sources();
    let mut rng = Rng::new(seed);
    let mut failures = vec![];
    let (mut with_error, mut compared) = (0usize, 0usize);
    // Synthetic sources get a fixed share so the test has teeth without a corpus.
    for case in 0..cases {
        let (name, base) = if rng.chance(30) {
            &sources[rng.below(2)]
        } else {
            &sources[rng.below(sources.len())]
        };
        let mut window = (64 + rng.below(MAX_WINDOW)).min(base.len());
        if rng.chance(80) {
            // Mostly cut the source at a record boundary, so the mutations, not the cut, decide.
            window = targets(base)
                .ends
                .iter()
                .copied()
                .filter(|e| *e <= window)
                .max()
                .unwrap_or(window);
        }
        let mut data = base[..window].to_vec();
        let t = targets(&data);
        let n = 1 + rng.below(3);
        let what: Vec<String> = (0..n).map(|_| mutate(&mut rng, &mut data, &t)).collect();
        let chunk_bits = rng.below(14) as u32;
        let mut chunk_rng = Rng::new(rng.next());
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let (json, complete, error) = run(&data, &mut || 1 + chunk_rng.below(1 << chunk_bits));
            assert!(
                json.starts_with('{') && json.contains("\"schema\": \"voipwatch.report/1\""),
                "no report"
            );
            assert_eq!(
                complete,
                error.is_none(),
                "complete must be false exactly when an error is set: {error:?}"
            );
            (json, error.is_some())
        }));
        match outcome {
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!(
                    "seed {seed} case {case} source {name} window {window} [{}]: {msg}",
                    what.join("; ")
                ));
            }
            Ok((json, err)) => {
                with_error += usize::from(err);
                // Same bytes, other chunking: byte-identical report.
                if case % 8 == 0 {
                    compared += 1;
                    let again = catch_unwind(AssertUnwindSafe(|| run(&data, &mut || usize::MAX).0));
                    if again.as_ref().ok() != Some(&json) {
                        failures.push(format!(
                            "seed {seed} case {case} source {name} [{}]: report depends on chunk sizes",
                            what.join("; ")
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "mutation: {cases} cases over {} sources, {with_error} stopped with a capture error, {compared} chunking comparisons",
        sources.len()
    );
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The mutations must actually reach the error paths, or the test proves little.
    assert!(
        with_error * 10 > cases,
        "only {with_error} of {cases} cases hit a capture error"
    );
}
