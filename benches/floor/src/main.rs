//! The speed floor for `benches/peers.sh` (issue 14): the least work any capture analyser has to
//! do. The file is memory-mapped (no copy into the process), its record headers are walked
//! (classic pcap in either byte order, µs or ns; pcapng section, interface, enhanced and simple
//! packet blocks) and each packet's IP addresses and, for TCP/UDP over IPv4/IPv6 without
//! extension headers, its ports are folded into a checksum so the compiler cannot skip the reads.
//! No decoding beyond that, no flows, no allocation per packet.
//!
//! Usage: floor CAPTURE        prints "<packets> packets, <ip> with IP, checksum <n>"

use memmap2::{Advice, Mmap};
use std::fs::File;
use std::process::exit;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: floor CAPTURE.pcap|CAPTURE.pcapng");
        exit(2);
    };
    let file = File::open(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        exit(2)
    });
    // SAFETY: the file is only read; a capture truncated by another process while it is mapped
    // would fault, which is acceptable for a benchmark tool that is never shipped.
    let map = unsafe { Mmap::map(&file) }.unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        exit(2)
    });
    let _ = map.advise(Advice::Sequential);
    let mut w = Walk::default();
    let ok = match map.get(..4) {
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => w.pcapng(&map),
        Some(_) => w.pcap(&map),
        None => false,
    };
    if !ok {
        eprintln!("{path}: not a classic pcap or pcapng file");
        exit(2);
    }
    println!(
        "{} packets, {} with IP, checksum {}",
        w.packets, w.ip, w.acc
    );
}

#[derive(Default)]
struct Walk {
    packets: u64,
    ip: u64,
    acc: u64,
}

fn u16_at(d: &[u8], off: usize, be: bool) -> Option<u16> {
    let b: [u8; 2] = d.get(off..off + 2)?.try_into().ok()?;
    Some(if be {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

fn u32_at(d: &[u8], off: usize, be: bool) -> Option<u32> {
    let b: [u8; 4] = d.get(off..off + 4)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

fn u64_of(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |a, &x| a.rotate_left(8) ^ u64::from(x))
}

impl Walk {
    fn pcap(&mut self, d: &[u8]) -> bool {
        let be = match d.get(..4) {
            Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1]) => false,
            Some([0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d]) => true,
            _ => return false,
        };
        let Some(link) = u32_at(d, 20, be) else {
            return false;
        };
        let mut off = 24;
        while let Some(incl) = u32_at(d, off + 8, be) {
            let start = off + 16;
            let Some(frame) = d.get(start..start + incl as usize) else {
                break;
            };
            self.packet(link, frame);
            off = start + incl as usize;
        }
        true
    }

    fn pcapng(&mut self, d: &[u8]) -> bool {
        let mut off = 0;
        let mut be = false;
        let mut links: Vec<u32> = Vec::new();
        while let Some(raw_type) = d.get(off..off + 4) {
            if raw_type == [0x0a, 0x0d, 0x0d, 0x0a] {
                be = match d.get(off + 8..off + 12) {
                    Some([0x1a, 0x2b, 0x3c, 0x4d]) => true,
                    Some([0x4d, 0x3c, 0x2b, 0x1a]) => false,
                    _ => return self.packets > 0,
                };
                links.clear();
            }
            let (Some(kind), Some(len)) = (u32_at(d, off, be), u32_at(d, off + 4, be)) else {
                break;
            };
            let len = len as usize;
            if len < 12 || off + len > d.len() {
                break;
            }
            match kind {
                1 => links.push(u32::from(u16_at(d, off + 8, be).unwrap_or(0))),
                6 => {
                    let (Some(iface), Some(cap)) =
                        (u32_at(d, off + 8, be), u32_at(d, off + 20, be))
                    else {
                        break;
                    };
                    let start = off + 28;
                    let end = (start + cap as usize).min(off + len - 4);
                    if let Some(frame) = d.get(start..end) {
                        let link = links.get(iface as usize).copied().unwrap_or(1);
                        self.packet(link, frame);
                    }
                }
                3 => {
                    let Some(orig) = u32_at(d, off + 8, be) else {
                        break;
                    };
                    let start = off + 12;
                    let end = (start + orig as usize).min(off + len - 4);
                    if let Some(frame) = d.get(start..end) {
                        self.packet(links.first().copied().unwrap_or(1), frame);
                    }
                }
                _ => {}
            }
            off += len;
        }
        true
    }

    /// Finds the IP header for the link type and folds its addresses (and ports) in.
    fn packet(&mut self, link: u32, f: &[u8]) {
        self.packets += 1;
        let (mut ethertype, mut ip) = match link {
            1 => (u16_at(f, 12, true).unwrap_or(0), 14),
            113 => (u16_at(f, 14, true).unwrap_or(0), 16),
            276 => (u16_at(f, 0, true).unwrap_or(0), 20),
            0 => (0, 4),
            _ => (0, 0),
        };
        while link == 1 && matches!(ethertype, 0x8100 | 0x88a8) {
            ethertype = u16_at(f, ip + 2, true).unwrap_or(0);
            ip += 4;
        }
        let version = f.get(ip).map_or(0, |b| b >> 4);
        let v4 = ethertype == 0x0800 || (ethertype == 0 && version == 4);
        let v6 = ethertype == 0x86dd || (ethertype == 0 && version == 6);
        let (addrs, proto, l4) = if v4 {
            let ihl = usize::from(f.get(ip).map_or(5, |b| b & 0x0f)) * 4;
            (f.get(ip + 12..ip + 20), f.get(ip + 9).copied(), ip + ihl)
        } else if v6 {
            (f.get(ip + 8..ip + 40), f.get(ip + 6).copied(), ip + 40)
        } else {
            (None, None, 0)
        };
        if let Some(a) = addrs {
            self.ip += 1;
            self.acc = self.acc.wrapping_add(u64_of(a));
            if let (Some(6 | 17), Some(ports)) = (proto, f.get(l4..l4 + 4)) {
                self.acc ^= u64_of(ports);
            }
        }
    }
}
