//! The complexity generator: hostile-but-valid captures (many flows, long flows, time that
//! jumps or steps back, odd timestamp fields), written straight to any `io::Write` so a
//! million-flow file never sits in memory. Used by `tests/complexity.rs` (each row of
//! docs/robustness.md) and by `examples/complexity.rs` (files for peak-RSS measurements).
//!
//! Deterministic: the same arguments give the same bytes. Frames are Ethernet/IPv4/UDP with
//! a correct IPv4 header checksum and a zero (absent) UDP checksum.

#![allow(dead_code)]

use std::io::{self, Write};

pub const SEC: i64 = 1_000_000_000;
pub const MS: i64 = 1_000_000;

/// A classic pcap writer with nanosecond timestamps (magic `0xa1b23c4d`), Ethernet frames.
pub struct Pcap<W: Write> {
    w: W,
    pub packets: u64,
}

impl<W: Write> Pcap<W> {
    pub fn new(mut w: W) -> io::Result<Self> {
        w.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
        w.write_all(&[2, 0, 4, 0])?;
        w.write_all(&[0; 8])?;
        w.write_all(&65535u32.to_le_bytes())?;
        w.write_all(&1u32.to_le_bytes())?;
        Ok(Pcap { w, packets: 0 })
    }

    /// One record with the raw timestamp fields (seconds, nanoseconds as written: a value
    /// ≥ 1e9 is an invalid fraction on purpose).
    pub fn record(&mut self, sec: u32, frac: u32, frame: &[u8]) -> io::Result<()> {
        let len = frame.len() as u32;
        self.w.write_all(&sec.to_le_bytes())?;
        self.w.write_all(&frac.to_le_bytes())?;
        self.w.write_all(&len.to_le_bytes())?;
        self.w.write_all(&len.to_le_bytes())?;
        self.w.write_all(frame)?;
        self.packets += 1;
        Ok(())
    }

    /// One frame at `ts` nanoseconds since the epoch (clamped to the u32 seconds range).
    pub fn frame(&mut self, ts: i64, frame: &[u8]) -> io::Result<()> {
        let ts = ts.max(0);
        let sec = u32::try_from(ts / SEC).unwrap_or(u32::MAX);
        self.record(sec, (ts % SEC) as u32, frame)
    }

    /// A UDP datagram; the IPv4 ID counts the packets written (a constant ID would make
    /// each datagram look like a capture duplicate of the one before).
    pub fn udp(&mut self, ts: i64, src: Ep, dst: Ep, payload: &[u8]) -> io::Result<()> {
        let id = self.packets as u16;
        self.frame(ts, &udp_frame(src, dst, id, payload))
    }

    pub fn finish(self) -> W {
        self.w
    }
}

/// An IPv4 endpoint.
pub type Ep = ([u8; 4], u16);

fn ip_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 (TTL 64, DF, ID `ip_id`) + UDP (checksum 0) around `payload`.
pub fn udp_frame(src: Ep, dst: Ep, ip_id: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&ip_id.to_be_bytes());
    ip.extend_from_slice(&[0x40, 0, 64, 17, 0, 0]);
    ip.extend_from_slice(&src.0);
    ip.extend_from_slice(&dst.0);
    let c = ip_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&src.1.to_be_bytes());
    f.extend_from_slice(&dst.1.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// An RTP packet: version 2, PCMU (PT 0), 160 bytes of audio.
pub fn rtp(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xd5; 160]);
    p
}

pub const CLIENT: Ep = ([10, 0, 0, 2], 40_000);
pub const SERVER: Ep = ([203, 0, 113, 5], 40_002);
/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600 * SEC;

/// An RTP call of `minutes` at 50 packets/s each way (20 ms audio frames), whose incoming
/// media (server → client) stops at `incoming_stops` minutes while the client goes on.
pub fn long_call<W: Write>(w: W, minutes: i64, incoming_stops: i64) -> io::Result<W> {
    let mut p = Pcap::new(w)?;
    let n = minutes * 60 * 50;
    for i in 0..n {
        let ts = T0 + i * 20 * MS;
        let seq = i as u16;
        let rts = (i as u32).wrapping_mul(160);
        p.udp(ts, CLIENT, SERVER, &rtp(seq, rts, 0x1111_1111))?;
        if i < incoming_stops * 60 * 50 {
            p.udp(ts + 7 * MS, SERVER, CLIENT, &rtp(seq, rts, 0x2222_2222))?;
        }
    }
    Ok(p.finish())
}

/// `n` one-packet UDP flows (distinct client ports and addresses), one every 100 µs, each
/// answered once when `answered`: the flow table's worst case for memory.
pub fn many_flows<W: Write>(w: W, n: u64, answered: bool) -> io::Result<W> {
    let mut p = Pcap::new(w)?;
    for i in 0..n {
        let ts = T0 + (i as i64) * 100_000;
        let c: Ep = (
            [10, (i >> 16) as u8, (i >> 8) as u8, i as u8],
            1024 + (i % 50_000) as u16,
        );
        let s: Ep = ([198, 51, 100, 1 + (i % 200) as u8], 53);
        p.udp(ts, c, s, b"hostile-generator")?;
        if answered {
            p.udp(ts + 10 * MS, s, c, b"answer")?;
        }
    }
    Ok(p.finish())
}

/// Time that goes wrong in one capture, one UDP conversation throughout (client → server,
/// answered): 10 packets a second apart, then the clock steps back 10 minutes (past the 60 s
/// UDP idle timeout) for 10 more, then jumps 5 years ahead for 10 more, then a record whose
/// nanosecond fraction is 1.5 s.
pub fn time_travel<W: Write>(w: W) -> io::Result<W> {
    let mut p = Pcap::new(w)?;
    let legs = [T0, T0 - 600 * SEC, T0 + 5 * 365 * 86_400 * SEC];
    for start in legs {
        for i in 0..10 {
            let ts = start + i * SEC;
            p.udp(ts, CLIENT, SERVER, b"ping")?;
            p.udp(ts + 5 * MS, SERVER, CLIENT, b"pong")?;
        }
    }
    let last = legs[2] + 20 * SEC;
    let id = p.packets as u16;
    p.record(
        (last / SEC) as u32,
        1_500_000_000,
        &udp_frame(CLIENT, SERVER, id, b"frac"),
    )?;
    Ok(p.finish())
}

/// A pcapng file (little-endian) with one Ethernet interface whose `if_tsresol` option byte is
/// `tsresol`, and `n` UDP packets whose raw timestamps count up by one unit from `start`.
pub fn pcapng_tsresol(tsresol: u8, start: u64, n: u64) -> Vec<u8> {
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        let mut b = kind.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.extend(std::iter::repeat_n(0, pad));
        b.extend_from_slice(&len.to_le_bytes());
        b
    }
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    let mut out = block(0x0a0d_0d0a, &shb);
    let mut idb = vec![1, 0, 0, 0];
    idb.extend_from_slice(&0u32.to_le_bytes());
    idb.extend_from_slice(&[9, 0, 1, 0, tsresol, 0, 0, 0, 0, 0, 0, 0]);
    out.extend(block(1, &idb));
    for i in 0..n {
        let units = start + i;
        let frame = udp_frame(CLIENT, SERVER, i as u16, b"tsresol");
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(units as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(&frame);
        out.extend(block(6, &epb));
    }
    out
}
