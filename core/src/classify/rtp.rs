//! RTP, RTCP and SRTP (RFC 3550, 3711, 5761, 7983) and RTP stream metrics.
//!
//! **Recognition.** RFC 7983 demultiplexing: RTP/RTCP start with a byte in 128–191
//! (version 2). RTCP: packet type 200–213 and length words that tile the datagram exactly
//! (compound RTCP), or leave at most a 4-byte SRTCP index plus a ≤ 16-byte tag (SRTCP).
//! RTP: payload type not in 72–76 (those collide with RTCP under RFC 5761), the same SSRC
//! in one direction on at least 3 packets with the sequence advancing by 1–64 and the
//! timestamp not going backwards; on a flow whose address an SDP body announced, one
//! version-2 header is enough (the SDP already says RTP/AVP). Over TCP an RFC 4571 2-byte length prefix is skipped.
//! RTP on a flow that also carries STUN or DTLS is reported as `srtp` too (WebRTC media is
//! always SRTP, RFC 8827). RTP is call evidence when it is plain RTP (no STUN/DTLS on the
//! flow: SIP/H.323 telephony) or the flow's app is a call app; SRTP of an unknown WebRTC
//! app (cloud gaming, screen sharing) is not a call (decided in `mod.rs` at the end).
//!
//! **Metrics** (per SSRC and direction, at most [`MAX_STREAMS`] per flow), as RFC 3550
//! Appendix A.3 and 6.4.1 define them: extended highest sequence, expected = ext_max −
//! base + 1, lost = expected − received, and interarrival jitter J += (|D| − J)/16 where D
//! compares arrival spacing with RTP-timestamp spacing, in timestamp units. Jitter is
//! reported in ms using the payload type's clock rate (RFC 3551 table; for dynamic types the
//! rate is estimated from timestamp advance over arrival time once 200 ms have passed,
//! snapped to 8/16/24/32/48/90 kHz, and jitter counts from then on).
//! RTCP round-trip time: an RR/SR's LSR/DLSR answering an SR seen earlier in the capture
//! gives (arrival of the report − arrival of that SR) − DLSR, the round trip between the
//! capture point and the reporting side.

use super::{
    be16, be32, Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt, RtpStats,
};
use super::{Protocol, Scratch};
use crate::flow::Dir;
use crate::{secs, Nanos};

/// Most RTP streams tracked per flow.
pub const MAX_STREAMS: usize = 8;
/// Most RTCP RTT samples and SR records kept per flow.
const MAX_RTCP: usize = 64;

/// Early facts of a possible RTP flow, one slot per direction.
#[derive(Clone, Copy, Debug, Default)]
pub struct Probe {
    last: [Option<(u32, u16, u32)>; 2],
    good: [u8; 2],
}

/// One stream's running state.
#[derive(Clone, Debug)]
pub struct Stream {
    pub dir: Dir,
    pub ssrc: u32,
    pub pt: u8,
    pub clock: u32,
    pub received: u64,
    base_ext: u64,
    max_ext: u64,
    pub out_of_order: u64,
    jitter: f64,
    max_jitter: f64,
    last_arrival: Option<(Nanos, u32)>,
    last_seq_arrival: Option<(u64, Nanos)>,
    max_delta_ns: i64,
    first_ts: Nanos,
    last_ts: Nanos,
    /// Arrival and RTP timestamp of the first packet (for the clock estimate).
    first_rtp: (Nanos, u32),
}

/// Per-flow state, from the first RTP/RTCP candidate packet to the end of the capture
/// (kept for stream accounting after the budget, and read by `finish`).
#[derive(Clone, Debug, Default)]
pub struct RtpState {
    /// Stream accounting (dropped at the end if RTP was never confirmed).
    pub tracker: Tracker,
    /// RTP candidate (first-packet facts) before it is confirmed.
    probe: Probe,
    /// RTCP sender-report arrival times, keyed by the middle 32 bits of the NTP time.
    rtcp_sr: Vec<(u32, Nanos, Dir)>,
    /// RTCP round-trip samples (ns) from LSR/DLSR.
    rtcp_rtt: Vec<i64>,
}

/// RTP stream accounting for one flow.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    pub streams: Vec<Stream>,
    /// RTCP packets seen.
    pub rtcp: u64,
    /// Packets of further streams not tracked (cap reached).
    pub untracked: u64,
}

/// A parsed RTP fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
}

/// Parses an RTP header (version 2, not an RTCP type).
pub fn parse_rtp(b: &[u8]) -> Option<RtpHeader> {
    let v = *b.first()?;
    if v >> 6 != 2 || b.len() < 12 {
        return None;
    }
    let m = *b.get(1)?;
    let pt = m & 0x7F;
    if (72..=76).contains(&pt) {
        return None;
    }
    let cc = usize::from(v & 0x0F);
    if 12 + cc * 4 > b.len() {
        return None;
    }
    Some(RtpHeader {
        marker: m & 0x80 != 0,
        pt,
        seq: be16(b, 2)?,
        ts: be32(b, 4)?,
        ssrc: be32(b, 8)?,
    })
}

/// True when `b` is an RTCP packet or compound (exact tiling, or SRTCP trailer ≤ 20 bytes).
pub fn is_rtcp(b: &[u8]) -> bool {
    let mut off = 0usize;
    let mut n = 0;
    while off < b.len() && n < 16 {
        let (Some(v), Some(pt), Some(len)) = (b.get(off), b.get(off + 1), be16(b, off + 2)) else {
            break;
        };
        if v >> 6 != 2 || !(200..=213).contains(pt) {
            break;
        }
        let words = (usize::from(len) + 1) * 4;
        if off + words > b.len() {
            return false;
        }
        off += words;
        n += 1;
    }
    if n > 0 && (off == b.len() || (b.len() - off <= 20 && off >= 8)) {
        return true;
    }
    srtcp_first(b)
}

/// SRTCP (RFC 3711 §3.4): only the first header is clear. Accepted when it is an SR or RR
/// whose length equals what its report count implies (RR: 1 + 6·RC words, SR: 6 + 6·RC),
/// followed by at least the 4-byte E|index and a 4-byte tag.
pub fn srtcp_first(b: &[u8]) -> bool {
    let (Some(v), Some(pt), Some(len)) = (b.first(), b.get(1), be16(b, 2)) else {
        return false;
    };
    if v >> 6 != 2 {
        return false;
    }
    let rc = u16::from(v & 0x1F);
    let want = match pt {
        200 => 6 + 6 * rc,
        201 => 1 + 6 * rc,
        _ => return false,
    };
    let bytes = (usize::from(len) + 1) * 4;
    len == want && b.len() >= bytes + 8
}

/// Clock rate of a payload type (RFC 3551; dynamic types estimated from the packet size).
pub fn clock_rate(pt: u8, payload_len: usize) -> u32 {
    match pt {
        0..=9 | 12 | 13 | 15 | 18 => 8000,
        10 | 11 => 44100,
        14 | 25 | 26 | 28 | 31..=34 => 90000,
        16 => 11025,
        17 => 22050,
        _ => {
            let _ = payload_len;
            0
        }
    }
}

/// Clock rates a dynamic payload type is snapped to when estimated from the stream.
const RATES: [u32; 6] = [8000, 16000, 24000, 32000, 48000, 90000];

/// Estimates a dynamic payload type's clock from RTP-timestamp advance over arrival time
/// (≥ 200 ms and ≥ 5 packets), snapped to the nearest common rate when within 25 %.
pub fn estimate_clock(ts_delta: u32, ns_delta: i64) -> Option<u32> {
    if ns_delta < 200_000_000 {
        return None;
    }
    let r = f64::from(ts_delta) * 1e9 / ns_delta as f64;
    RATES
        .iter()
        .copied()
        .min_by(|a, b| {
            (f64::from(*a) - r)
                .abs()
                .total_cmp(&(f64::from(*b) - r).abs())
        })
        .filter(|c| (f64::from(*c) - r).abs() <= 0.25 * f64::from(*c))
}

/// The RTP/RTCP recogniser.
pub struct Rtp;

impl Classifier for Rtp {
    type State = RtpState;
    const KEEPS_STATE: bool = true;
    const MEDIA: bool = true;
    fn id(&self) -> &'static str {
        "rtp"
    }
    fn budget(&self) -> u32 {
        48
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp() || f.is_tcp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, st: &mut Scratch<RtpState>, p: &Pkt<'_>) -> Outcome {
        let b = unframe(cx.flow.is_tcp(), p.payload);
        let first = b.first().copied().unwrap_or(0);
        if !(128..=191).contains(&first) {
            return Outcome::NeedMore;
        }
        if is_rtcp(b) {
            if !cx.class.has_protocol(Protocol::Rtcp) {
                cx.class.add_protocol(Protocol::Rtcp);
                cx.class.raise(Confidence::Medium);
                cx.class.add_evidence(format!(
                    "RTCP type {} in frame {}",
                    b.get(1).copied().unwrap_or(0),
                    p.frame
                ));
                rtcp_packet(st.or_default(), p, b);
            }
            st.or_default();
            return if cx.class.has_protocol(Protocol::Rtp) {
                Outcome::Match
            } else {
                Outcome::NeedMore
            };
        }
        let Some(h) = parse_rtp(b) else {
            return Outcome::NeedMore;
        };
        if st.get().is_none() {
            // Start accounting at the first candidate packet, so the stream counts are
            // complete once RTP is confirmed (dropped at the end if it never is).
            account(st.or_default(), p);
        }
        if cx.class.sdp_linked {
            // SDP announced RTP at this address: one version-2 header confirms it.
            confirm(cx, p, &h);
            return Outcome::Match;
        }
        let d = p.dir.idx();
        let pr = &mut st.or_default().probe;
        let ok = match pr.last[d] {
            Some((ssrc, seq, ts)) => {
                let ds = h.seq.wrapping_sub(seq);
                ssrc == h.ssrc && (1..=64).contains(&ds) && h.ts.wrapping_sub(ts) < 0x8000_0000
            }
            None => false,
        };
        pr.last[d] = Some((h.ssrc, h.seq, h.ts));
        if ok {
            pr.good[d] = pr.good[d].saturating_add(1);
        } else if pr.last[d].is_some_and(|l| l.0 != h.ssrc) {
            pr.good[d] = 0;
        }
        if pr.good[d] >= 2 {
            confirm(cx, p, &h);
            return Outcome::Match;
        }
        Outcome::NeedMore
    }
    fn account(&self, st: &mut RtpState, p: &Pkt<'_>) {
        account(st, p);
    }
    fn finish(&self, c: &mut FlowLabels, st: RtpState) {
        finish_flow(c, st);
    }
}

/// Strips an RFC 4571 length prefix on TCP when it matches.
fn unframe(tcp: bool, b: &[u8]) -> &[u8] {
    if tcp {
        if let (Some(l), Some(rest)) = (be16(b, 0), b.get(2..)) {
            if usize::from(l) <= rest.len() && l >= 12 {
                return rest.get(..usize::from(l)).unwrap_or(rest);
            }
        }
    }
    b
}

fn confirm(cx: &mut Ctx<'_>, p: &Pkt<'_>, h: &RtpHeader) {
    let c = &mut *cx.class;
    c.add_protocol(Protocol::Rtp);
    if c.has_protocol(Protocol::Stun) || c.has_protocol(Protocol::Dtls) {
        c.add_protocol(Protocol::Srtp);
    }
    c.raise(Confidence::Medium);
    c.add_evidence(format!(
        "RTP v2 PT {} SSRC 0x{:08x}, sequence advancing, frame {}",
        h.pt, h.ssrc, p.frame
    ));
    c.rtp_media = true;
}

/// Per-packet accounting for flows known to carry RTP (cheap: header fields only).
pub fn account(st: &mut RtpState, p: &Pkt<'_>) {
    let b = p.payload;
    let first = b.first().copied().unwrap_or(0);
    if !(128..=191).contains(&first) {
        return;
    }
    if is_rtcp(b) {
        st.tracker.rtcp += 1;
        rtcp_packet(st, p, b);
        return;
    }
    let Some(h) = parse_rtp(b) else { return };
    let tr = &mut st.tracker;
    let pos = tr
        .streams
        .iter()
        .position(|s| s.ssrc == h.ssrc && s.dir == p.dir);
    let s = match pos {
        Some(i) => &mut tr.streams[i],
        None => {
            if tr.streams.len() >= MAX_STREAMS {
                tr.untracked += 1;
                return;
            }
            tr.streams.push(Stream::new(p.dir, &h, b.len(), p.ts));
            let n = tr.streams.len() - 1;
            &mut tr.streams[n]
        }
    };
    s.update(&h, p.ts);
}

impl Stream {
    fn new(dir: Dir, h: &RtpHeader, len: usize, ts: Nanos) -> Stream {
        let ext = u64::from(h.seq) + (1 << 16);
        Stream {
            dir,
            ssrc: h.ssrc,
            pt: h.pt,
            clock: clock_rate(h.pt, len),
            received: 0,
            base_ext: ext,
            // One below the first packet, which `update` then counts as in order.
            max_ext: ext - 1,
            out_of_order: 0,
            jitter: 0.0,
            max_jitter: 0.0,
            last_arrival: None,
            last_seq_arrival: None,
            max_delta_ns: 0,
            first_ts: ts,
            last_ts: ts,
            first_rtp: (ts, h.ts),
        }
    }

    fn update(&mut self, h: &RtpHeader, ts: Nanos) {
        self.received += 1;
        self.last_ts = ts;
        // Extended sequence number nearest to the current maximum.
        let cycles = self.max_ext & !0xFFFF;
        let mut ext = cycles | u64::from(h.seq);
        if ext + 0x8000 < self.max_ext {
            ext += 0x1_0000;
        } else if ext > self.max_ext + 0x8000 && ext >= 0x1_0000 {
            ext -= 0x1_0000;
        }
        if ext > self.max_ext {
            if let Some((seq, at)) = self.last_seq_arrival {
                if ext == seq + 1 {
                    self.max_delta_ns = self.max_delta_ns.max(ts - at);
                }
            }
            self.max_ext = ext;
            self.last_seq_arrival = Some((ext, ts));
        } else {
            self.out_of_order += 1;
        }
        if ext < self.base_ext {
            self.base_ext = ext;
        }
        if self.clock == 0 {
            // Dynamic payload type: jitter starts once the clock is estimated.
            if self.received >= 5 {
                let (t0, r0) = self.first_rtp;
                self.clock = estimate_clock(h.ts.wrapping_sub(r0), ts - t0).unwrap_or(0);
            }
            if self.clock == 0 {
                return;
            }
        }
        // RFC 3550 6.4.1 jitter in timestamp units.
        if let Some((at, rtp_ts)) = self.last_arrival {
            let arr = (ts - at) as f64 * f64::from(self.clock) / 1e9;
            let sent = f64::from(h.ts.wrapping_sub(rtp_ts) as i32);
            let d = (arr - sent).abs();
            self.jitter += (d - self.jitter) / 16.0;
            if self.jitter > self.max_jitter {
                self.max_jitter = self.jitter;
            }
        }
        self.last_arrival = Some((ts, h.ts));
    }

    /// The report row.
    pub fn stats(&self) -> RtpStats {
        let expected = self.max_ext - self.base_ext + 1;
        let ms = |j: f64| {
            if self.clock > 0 {
                j * 1000.0 / f64::from(self.clock)
            } else {
                0.0
            }
        };
        RtpStats {
            ssrc: self.ssrc,
            dir: match self.dir {
                Dir::C2s => "c2s",
                Dir::S2c => "s2c",
            },
            payload_type: self.pt,
            packets: self.received,
            expected,
            lost: expected as i64 - self.received as i64,
            out_of_order: self.out_of_order,
            jitter_ms: round3(ms(self.jitter)),
            max_jitter_ms: round3(ms(self.max_jitter)),
            max_delta_ms: round3(self.max_delta_ns as f64 / 1e6),
            clock_rate: self.clock,
            first_ts: secs(self.first_ts),
            last_ts: secs(self.last_ts),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// RTCP: remembers SRs and computes RTT from reports answering them.
fn rtcp_packet(c: &mut RtpState, p: &Pkt<'_>, b: &[u8]) {
    let mut off = 0usize;
    let mut n = 0;
    while n < 16 {
        let (Some(v), Some(pt), Some(len)) = (b.get(off), b.get(off + 1), be16(b, off + 2)) else {
            break;
        };
        if v >> 6 != 2 || !(200..=213).contains(pt) {
            break;
        }
        let words = (usize::from(len) + 1) * 4;
        let Some(pkt) = b.get(off..off + words) else {
            break;
        };
        let rc = usize::from(v & 0x1F);
        let blocks_at = match pt {
            200 => {
                // SR: NTP middle 32 bits at 10..14.
                if let Some(mid) = be32(pkt, 10) {
                    if c.rtcp_sr.len() >= MAX_RTCP {
                        c.rtcp_sr.remove(0);
                    }
                    c.rtcp_sr.push((mid, p.ts, p.dir));
                }
                Some(28)
            }
            201 => Some(8),
            _ => None,
        };
        if let Some(at) = blocks_at {
            for i in 0..rc.min(31) {
                let o = at + i * 24;
                let (Some(lsr), Some(dlsr)) = (be32(pkt, o + 16), be32(pkt, o + 20)) else {
                    break;
                };
                if lsr == 0 {
                    continue;
                }
                if let Some(&(_, sr_ts, sr_dir)) =
                    c.rtcp_sr.iter().rev().find(|(m, _, _)| *m == lsr)
                {
                    if sr_dir != p.dir {
                        let dl = (f64::from(dlsr) / 65536.0 * 1e9) as i64;
                        let rtt = p.ts - sr_ts - dl;
                        if rtt >= 0 && c.rtcp_rtt.len() < MAX_RTCP {
                            c.rtcp_rtt.push(rtt);
                        }
                    }
                }
            }
        }
        off += words;
        n += 1;
    }
}

/// The flow's labels from the kept state: RTCP round trips, and the stream metrics as
/// report rows (sorted: direction, then SSRC) when RTP was confirmed.
fn finish_flow(c: &mut FlowLabels, st: RtpState) {
    c.rtcp_rtt = st.rtcp_rtt;
    if !c.has_protocol(Protocol::Rtp) {
        return;
    }
    let mut rows: Vec<RtpStats> = st
        .tracker
        .streams
        .iter()
        .filter(|s| s.received >= 2)
        .map(Stream::stats)
        .collect();
    rows.sort_by(|a, b| (a.dir, a.ssrc).cmp(&(b.dir, b.ssrc)));
    c.rtp = rows;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{cache::Caches, FlowInfo};
    use crate::flow::Transport;

    fn rtp(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
        let mut v = vec![0x80, 0x00];
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&ts.to_be_bytes());
        v.extend_from_slice(&ssrc.to_be_bytes());
        v.extend_from_slice(&[0xd5; 160]);
        v
    }

    #[test]
    fn rtcp_compound_and_srtcp() {
        // RR (len 1 word → 8 bytes) + SDES (len 2 → 12 bytes).
        let b = [
            0x80, 201, 0, 1, 1, 2, 3, 4, 0x81, 202, 0, 2, 1, 2, 3, 4, 1, 1, 0x41, 0,
        ];
        assert!(is_rtcp(&b));
        assert!(!is_rtcp(&b[..19]));
        // RTP with PT 0 is not RTCP.
        assert!(!is_rtcp(&rtp(1, 160, 7)));
        // SRTCP: RR with RC=1 (length 7) then 46 encrypted/trailer bytes.
        let mut s = vec![0x81, 201, 0, 7];
        s.resize(78, 0x5a);
        assert!(is_rtcp(&s));
        s[3] = 8; // length no longer matches RC
        assert!(!is_rtcp(&s));
    }

    #[test]
    fn rtp_header_rules() {
        assert_eq!(
            parse_rtp(&rtp(5, 10, 9)).map(|h| (h.seq, h.ts, h.ssrc)),
            Some((5, 10, 9))
        );
        assert!(parse_rtp(&[0x40; 20]).is_none(), "version 1");
        assert!(
            parse_rtp(&[0x8F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_none(),
            "CSRC count past the end"
        );
    }

    #[test]
    fn classifies_after_three_and_counts_loss_and_jitter() {
        let mut c = FlowLabels::default();
        let mut st = Scratch::<RtpState>::default();
        let mut caches = Caches::default();
        let info = FlowInfo {
            id: 0,
            transport: Transport::Udp,
            client: "10.0.0.1:4000".parse().unwrap(),
            server: "10.0.0.2:4002".parse().unwrap(),
        };
        // 20 ms packets; seq 4 missing; one packet 10 ms late.
        let seqs = [1u16, 2, 3, 5, 6, 7];
        let mut matched = false;
        for (i, s) in seqs.iter().enumerate() {
            let b = rtp(*s, u32::from(*s) * 160, 0xabc);
            let late = if *s == 6 { 10_000_000 } else { 0 };
            let ts = i64::from(*s) * 20_000_000 + late;
            let p = Pkt {
                dir: Dir::C2s,
                ts,
                frame: i as u64 + 1,
                payload: &b,
                src: info.client,
                dst: info.server,
                nth: i as u32 + 1,
            };
            if let Some(st) = st.get_mut() {
                account(st, &p);
            }
            if !matched {
                let mut cx = Ctx {
                    flow: info,
                    class: &mut c,
                    caches: &mut caches,
                };
                matched = Rtp.inspect(&mut cx, &mut st, &p) == Outcome::Match;
            }
        }
        assert!(c.has_protocol(Protocol::Rtp));
        assert!(c.rtp_media);
        finish_flow(&mut c, *st.0.unwrap());
        let s = &c.rtp[0];
        assert_eq!(s.expected, 7, "seq 1..=7");
        assert_eq!(s.lost, 1);
        // Jitter: D = 10 ms at seq 6, then 10 ms at seq 7: J = 10/16 + (10 - 10/16)/16.
        let j = 10.0 / 16.0 + (10.0 - 10.0 / 16.0) / 16.0;
        assert!((s.jitter_ms - j).abs() < 0.01, "{} vs {}", s.jitter_ms, j);
    }

    #[test]
    fn dynamic_clock_estimate() {
        assert_eq!(estimate_clock(16000, 1_000_000_000), Some(16000));
        assert_eq!(estimate_clock(4_600, 100_000_000), None, "too short");
        assert_eq!(estimate_clock(9_500, 1_000_000_000), Some(8000));
        assert_eq!(estimate_clock(62_000, 1_000_000_000), None, "between rates");
    }

    #[test]
    fn sequence_wrap_is_not_loss() {
        let h = |seq| RtpHeader {
            marker: false,
            pt: 0,
            seq,
            ts: 0,
            ssrc: 1,
        };
        let mut s = Stream::new(Dir::C2s, &h(65534), 172, 0);
        for (i, q) in [65534u16, 65535, 0, 1].iter().enumerate() {
            s.update(&h(*q), i as i64);
        }
        let st = s.stats();
        assert_eq!((st.expected, st.lost, st.out_of_order), (4, 0, 0));
    }
}
