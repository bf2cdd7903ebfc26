//! Helpers shared by the integration tests: a tiny pcap writer for synthetic captures.

use std::net::Ipv4Addr;

fn csum(data: &[u8], mut sum: u32) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet/IPv4 frame carrying a TCP (proto 6) or UDP (proto 17) segment, checksums correct.
pub fn frame(
    proto: u8,
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    tcp: Option<(u32, u32, u8)>,
    payload: &[u8],
) -> Vec<u8> {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&src.1.to_be_bytes());
    l4.extend_from_slice(&dst.1.to_be_bytes());
    if proto == 6 {
        let (seq, ack, flags) = tcp.unwrap_or((0, 0, 0x10));
        l4.extend_from_slice(&seq.to_be_bytes());
        l4.extend_from_slice(&ack.to_be_bytes());
        l4.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    } else {
        l4.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        l4.extend_from_slice(&[0, 0]);
    }
    l4.extend_from_slice(payload);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.0.octets());
    pseudo.extend_from_slice(&dst.0.octets());
    pseudo.extend_from_slice(&[0, proto]);
    pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(&l4);
    let c = csum(&pseudo, 0);
    let at = if proto == 6 { 16 } else { 6 };
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());

    let mut ip = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
    let total = (20 + l4.len()) as u16;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&src.0.octets());
    ip.extend_from_slice(&dst.0.octets());
    let c = csum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&l4);

    let mut eth = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    eth.extend_from_slice(&ip);
    eth
}

/// A little-endian microsecond pcap of Ethernet frames with timestamps in seconds.
pub fn pcap(frames: &[(f64, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (ts, f) in frames {
        let secs = ts.floor() as u32;
        let usec = ((ts - ts.floor()) * 1e6).round() as u32;
        out.extend_from_slice(&secs.to_le_bytes());
        out.extend_from_slice(&usec.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// A small two-flow capture: a complete TCP connection and a two-way UDP exchange.
pub fn sample_capture() -> Vec<u8> {
    let c = Ipv4Addr::new(10, 0, 0, 1);
    let s = Ipv4Addr::new(10, 0, 0, 2);
    let mut frames = Vec::new();
    let t0 = 1_700_000_000.0;
    frames.push((t0, frame(6, (c, 40000), (s, 80), Some((100, 0, 0x02)), b"")));
    frames.push((
        t0 + 0.010,
        frame(6, (s, 80), (c, 40000), Some((500, 101, 0x12)), b""),
    ));
    frames.push((
        t0 + 0.011,
        frame(6, (c, 40000), (s, 80), Some((101, 501, 0x10)), b""),
    ));
    frames.push((
        t0 + 0.012,
        frame(
            6,
            (c, 40000),
            (s, 80),
            Some((101, 501, 0x18)),
            b"GET / HTTP/1.1\r\n\r\n",
        ),
    ));
    frames.push((
        t0 + 0.030,
        frame(
            6,
            (s, 80),
            (c, 40000),
            Some((501, 119, 0x18)),
            b"HTTP/1.1 200 OK\r\n\r\n",
        ),
    ));
    frames.push((
        t0 + 0.040,
        frame(6, (c, 40000), (s, 80), Some((119, 520, 0x11)), b""),
    ));
    frames.push((
        t0 + 0.050,
        frame(6, (s, 80), (c, 40000), Some((520, 120, 0x11)), b""),
    ));
    frames.push((
        t0 + 0.051,
        frame(6, (c, 40000), (s, 80), Some((120, 521, 0x10)), b""),
    ));
    frames.push((t0 + 0.1, frame(17, (c, 5004), (s, 5006), None, &[0x11; 40])));
    frames.push((t0 + 0.2, frame(17, (s, 5006), (c, 5004), None, &[0x22; 40])));
    pcap(&frames)
}

/// The reference corpus (`../shared/corpus`, beside the repository), when present.
pub fn corpus_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// Every pcap/pcapng capture (`.pcap`, `.pcapng`, `.cap`; not compressed ones) under `dir`,
/// recursively, sorted.
pub fn captures_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else {
                let name = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".cap") {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

/// The captures the differential oracles run on: every capture of the reference corpus
/// (skipped, with a message, when it is absent) and of the repository's `captures/`, as
/// (name for messages, path).
pub fn oracle_captures() -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    match corpus_dir() {
        Some(root) => {
            for p in captures_under(&root) {
                let name = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
                out.push((format!("corpus/{name}"), p));
            }
        }
        None => eprintln!("../shared/corpus absent: the oracles run on captures/ only"),
    }
    let own = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    for p in captures_under(&own) {
        let name = p.strip_prefix(&own).unwrap_or(&p).display().to_string();
        out.push((format!("captures/{name}"), p));
    }
    out
}
