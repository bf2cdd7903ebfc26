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

use super::sip::RtpMap;
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
    last: crate::flow::PerDir<Option<(u32, u16, u32)>>,
    good: crate::flow::PerDir<u8>,
}

/// One stream's running state.
#[derive(Clone, Debug)]
pub struct Stream {
    pub dir: Dir,
    pub ssrc: u32,
    pub pt: u8,
    /// The first media payload type (not comfort noise, not telephone-event).
    pub media_pt: Option<u8>,
    pub clock: u32,
    pub received: u64,
    base_ext: u64,
    max_ext: u64,
    pub out_of_order: u64,
    jitter: f64,
    max_jitter: f64,
    /// Running mean of |D| (ms) over regular packets, as Wireshark's RTP analysis keeps it.
    mean_jitter_ms: f64,
    /// Arrival of the previous packet (any payload type) and RTP timestamp of the previous
    /// packet with a clock (not telephone-event).
    last_arrival: Option<(Nanos, u32)>,
    /// RTP timestamp of the previous packet (any payload type), for the "went back" test.
    last_rtp_ts: u32,
    /// The previous packet was comfort noise.
    last_cn: bool,
    /// The previous packet had the marker bit.
    last_marker: bool,
    /// Fixed jitter buffer (VoIPmonitor's F1/F2 style): the first media packet's transit
    /// (arrival ms − RTP time ms) and RTP timestamp; later packets whose transit exceeds it by
    /// more than 50 / 200 ms miss their playout time.
    jb_base: Option<(f64, u32)>,
    late: [u64; 2],
    /// Adaptive buffer: current depth (ms), its largest, packets it discarded.
    adapt_depth: f64,
    adapt_max: f64,
    late_adaptive: u64,
    /// Sum of the adaptive buffer's depth (ms) at each media packet after the first, and
    /// their count: its mean playout delay.
    adapt_sum: f64,
    adapt_n: u64,
    /// Loss bursts: count, packets in them, the longest.
    bursts: u64,
    burst_lost: u64,
    max_burst: u64,
    /// Arrival and size of the first loss bursts ([`crate::label::MAX_GAP_TIMES`]).
    gaps: Vec<(Nanos, u64)>,
    last_seq_arrival: Option<(u64, Nanos)>,
    max_delta_ns: i64,
    first_ts: Nanos,
    last_ts: Nanos,
    /// Arrival and RTP timestamp of the first packet (for the clock estimate).
    first_rtp: (Nanos, u32),
    /// The media payload type's encoding name from the SDP rtpmap (dynamic types only).
    sdp_codec: Option<String>,
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
    /// The SDP rtpmap of each direction's receiver: `c2s` the one announced for the server's
    /// address (what the client sends it), `s2c` the client's.
    pub sdp: crate::flow::PerDir<Vec<RtpMap>>,
    /// The cache's [`rtpmap_gen`](super::cache::Caches::rtpmap_gen) when `sdp` was last
    /// looked up (0: never), so an SDP seen later (an answer after the first packets, a
    /// re-INVITE adding a payload type) is learned once, not looked up on every packet.
    sdp_gen: u32,
}

/// The rtpmap line for payload type `pt` sent in direction `d`: the receiver's SDP, else
/// the sender's (an answer normally repeats the offer's numbers, RFC 3264 §6.1).
pub fn rtpmap_of(sdp: &crate::flow::PerDir<Vec<RtpMap>>, d: Dir, pt: u8) -> Option<&RtpMap> {
    let other = match d {
        Dir::C2s => Dir::S2c,
        Dir::S2c => Dir::C2s,
    };
    sdp[d]
        .iter()
        .find(|m| m.pt == pt)
        .or_else(|| sdp[other].iter().find(|m| m.pt == pt))
}

/// Copies the SDP rtpmap announced for the flow's two addresses into its state: at the first
/// packet, and again whenever the cache learned something since (SDP is often seen after the
/// media started, and a re-offer may add payload types, RFC 3264 §8.3.2).
fn learn_rtpmap(flow: &FlowInfo, caches: &super::cache::Caches, st: &mut RtpState) {
    if caches.rtpmap_gen == st.sdp_gen {
        return;
    }
    st.sdp_gen = caches.rtpmap_gen;
    for (addr, d) in [(&flow.server, Dir::C2s), (&flow.client, Dir::S2c)] {
        if let Some(m) = caches.rtpmap.get(addr) {
            if st.sdp[d].len() != m.len() {
                st.sdp[d] = m.clone();
            }
        }
    }
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

/// What an RTP packet carries, for the jitter statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    Media,
    /// Comfort noise: PT 13 (RFC 3389) or the old PT 19.
    ComfortNoise,
    /// A telephone-event (RFC 4733): a dynamic payload type whose payload is one 4-byte
    /// event block with an event code up to 16 (DTMF 0–9 * # A–D, flash).
    Event,
}

/// The payload of an RTP packet: after the CSRCs and the header extension, without padding.
pub fn rtp_payload(b: &[u8]) -> Option<&[u8]> {
    let v = *b.first()?;
    let cc = usize::from(v & 0x0F);
    let mut off = 12 + 4 * cc;
    if v & 0x10 != 0 {
        let words = usize::from(be16(b, off + 2)?);
        off = off.checked_add(4 + 4 * words)?;
    }
    let mut end = b.len();
    if v & 0x20 != 0 {
        let pad = usize::from(*b.last()?);
        end = end.checked_sub(pad)?;
    }
    b.get(off..end)
}

/// Classifies one RTP packet's payload (see [`PayloadKind`]).
pub fn kind_of(h: &RtpHeader, b: &[u8]) -> PayloadKind {
    if h.pt == 13 || h.pt == 19 {
        return PayloadKind::ComfortNoise;
    }
    if h.pt >= 96 {
        if let Some(p) = rtp_payload(b) {
            if p.len() == 4 && p.first().is_some_and(|e| *e <= 16) {
                return PayloadKind::Event;
            }
        }
    }
    PayloadKind::Media
}

/// The codec of a static payload type (RFC 3551 tables 4 and 5); None for dynamic types,
/// whose codec only the SDP names.
pub fn codec_name(pt: u8) -> Option<&'static str> {
    Some(match pt {
        0 => "PCMU",
        3 => "GSM",
        4 => "G723",
        5 | 6 | 16 | 17 => "DVI4",
        7 => "LPC",
        8 => "PCMA",
        9 => "G722",
        10 | 11 => "L16",
        12 => "QCELP",
        13 | 19 => "CN",
        14 => "MPA",
        15 => "G728",
        18 => "G729",
        25 => "CelB",
        26 => "JPEG",
        28 => "nv",
        31 => "H261",
        32 => "MPV",
        33 => "MP2T",
        34 => "H263",
        _ => return None,
    })
}

/// Fixed jitter-buffer depths simulated per stream (ms): VoIPmonitor's F1 (50) and F2 (200).
pub const JITTER_BUFFERS_MS: [f64; 2] = [50.0, 200.0];

/// Adaptive jitter buffer (VoIPmonitor reports one beside its fixed ones): starting depth
/// and floor, ceiling, and how fast it shrinks back on time (ms per packet).
pub const ADAPTIVE_MIN_MS: f64 = 20.0;
pub const ADAPTIVE_MAX_MS: f64 = 500.0;
pub const ADAPTIVE_SHRINK_MS: f64 = 1.0;

/// Burst ratio: observed mean burst length over 1/(1 − p), the mean for random loss of
/// the same rate p (ITU-T G.113 Appendix I); 0 without loss.
pub fn burst_ratio(bursts: u64, lost: u64, expected: u64) -> f64 {
    if bursts == 0 || expected == 0 || lost >= expected {
        return 0.0;
    }
    let p = lost as f64 / expected as f64;
    round3(lost as f64 / bursts as f64 * (1.0 - p))
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
        let fresh = st.get().is_none();
        let s = st.or_default();
        // Dynamic payload types take their codec and clock from the call's SDP when seen.
        learn_rtpmap(&cx.flow, cx.caches, s);
        if fresh {
            // Start accounting at the first candidate packet, so the stream counts are
            // complete once RTP is confirmed (dropped at the end if it never is).
            account(s, p);
        }
        if cx.class.sdp_linked {
            // SDP announced RTP at this address: one version-2 header confirms it.
            confirm(cx, p, &h);
            return Outcome::Match;
        }
        let d = p.dir;
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
    fn account(&self, cx: &mut Ctx<'_>, st: &mut RtpState, p: &Pkt<'_>) {
        learn_rtpmap(&cx.flow, cx.caches, st);
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
    let sdp = rtpmap_of(&st.sdp, p.dir, h.pt);
    // The SDP's name decides what a payload type carries; without one, the payload's shape.
    let kind = match sdp {
        Some(m) if m.codec.eq_ignore_ascii_case("telephone-event") => PayloadKind::Event,
        Some(m) if m.codec.eq_ignore_ascii_case("CN") => PayloadKind::ComfortNoise,
        Some(_) => PayloadKind::Media,
        None => kind_of(&h, b),
    };
    let tr = &mut st.tracker;
    let pos = tr
        .streams
        .iter()
        .position(|s| s.ssrc == h.ssrc && s.dir == p.dir);
    let s = match pos {
        Some(i) => match tr.streams.get_mut(i) {
            Some(s) => s,
            None => return,
        },
        None => {
            if tr.streams.len() >= MAX_STREAMS {
                tr.untracked += 1;
                return;
            }
            tr.streams.push(Stream::new(p.dir, &h, b.len(), p.ts));
            match tr.streams.last_mut() {
                Some(s) => s,
                None => return,
            }
        }
    };
    s.update(&h, p.ts, kind, sdp);
}

impl Stream {
    fn new(dir: Dir, h: &RtpHeader, len: usize, ts: Nanos) -> Stream {
        let ext = u64::from(h.seq) + (1 << 16);
        Stream {
            dir,
            ssrc: h.ssrc,
            pt: h.pt,
            media_pt: None,
            clock: clock_rate(h.pt, len),
            received: 0,
            base_ext: ext,
            // One below the first packet, which `update` then counts as in order.
            max_ext: ext - 1,
            out_of_order: 0,
            jitter: 0.0,
            max_jitter: 0.0,
            mean_jitter_ms: 0.0,
            last_arrival: None,
            last_rtp_ts: h.ts,
            last_cn: false,
            last_marker: false,
            jb_base: None,
            late: [0; 2],
            adapt_depth: ADAPTIVE_MIN_MS,
            adapt_max: ADAPTIVE_MIN_MS,
            adapt_sum: 0.0,
            adapt_n: 0,
            late_adaptive: 0,
            bursts: 0,
            burst_lost: 0,
            max_burst: 0,
            gaps: Vec::new(),
            last_seq_arrival: None,
            max_delta_ns: 0,
            first_ts: ts,
            last_ts: ts,
            first_rtp: (ts, h.ts),
            sdp_codec: None,
        }
    }

    fn update(&mut self, h: &RtpHeader, ts: Nanos, kind: PayloadKind, sdp: Option<&RtpMap>) {
        self.received += 1;
        self.last_ts = ts;
        // The stream's payload type is its media's: a stream that began with comfort noise or
        // a telephone-event takes the first media payload type (and its clock).
        if kind == PayloadKind::Media && self.media_pt.is_none() {
            self.media_pt = Some(h.pt);
            self.pt = h.pt;
            self.clock = clock_rate(h.pt, 0);
            self.first_rtp = (ts, h.ts);
        }
        // A dynamic media type named by the SDP: its codec, and its clock instead of an estimate
        // (also when the SDP was learned after the stream began).
        if kind == PayloadKind::Media
            && Some(h.pt) == self.media_pt
            && self.sdp_codec.is_none()
            && clock_rate(h.pt, 0) == 0
        {
            if let Some(m) = sdp {
                self.sdp_codec = Some(m.codec.clone());
                self.clock = m.clock;
            }
        }
        // Extended sequence number nearest to the current maximum.
        let cycles = self.max_ext & !0xFFFF;
        let mut ext = cycles | u64::from(h.seq);
        if ext + 0x8000 < self.max_ext {
            ext += 0x1_0000;
        } else if ext > self.max_ext + 0x8000 && ext >= 0x1_0000 {
            ext -= 0x1_0000;
        }
        if ext > self.max_ext {
            // A gap in the sequence is one loss burst (reordered packets that fill it later
            // still count it: the receiver had to conceal at playout time).
            let gap = ext - self.max_ext - 1;
            if gap > 0 && self.received > 1 {
                self.bursts += 1;
                self.burst_lost += gap;
                self.max_burst = self.max_burst.max(gap);
                if self.gaps.len() < crate::label::MAX_GAP_TIMES {
                    self.gaps.push((ts, gap));
                }
            }
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
        let first = self.received == 1;
        let went_back = (h.ts.wrapping_sub(self.last_rtp_ts) as i32) < 0;
        let follows_cn = self.last_cn;
        // A marker starts a talk spurt only after unmarked packets: a sender that marks every
        // packet (aiortc's audio) would otherwise have no regular packet at all.
        let spurt_start = h.marker && !self.last_marker;
        self.last_marker = h.marker;
        self.last_rtp_ts = h.ts;
        self.last_cn = kind == PayloadKind::ComfortNoise;
        if self.clock == 0 && kind == PayloadKind::Media && Some(h.pt) == self.media_pt {
            // Dynamic payload type: jitter starts once the clock is estimated.
            if self.received >= 5 {
                let (t0, r0) = self.first_rtp;
                self.clock = estimate_clock(h.ts.wrapping_sub(r0), ts - t0).unwrap_or(0);
            }
        }
        // This packet's clock: its own payload type's (comfort noise is 8 kHz, RFC 3389; a
        // telephone-event's timestamp stays at the event start, RFC 4733 §2.2.1: none).
        let clock = match kind {
            PayloadKind::Event => 0,
            PayloadKind::ComfortNoise => sdp.map_or(8000, |m| m.clock),
            PayloadKind::Media => match clock_rate(h.pt, 0) {
                0 if Some(h.pt) == self.media_pt => self.clock,
                0 => sdp.map_or(0, |m| m.clock),
                c => c,
            },
        };
        let prev = self.last_arrival;
        if clock == 0 {
            // Arrival still counts as "the previous packet" (Wireshark does the same).
            self.last_arrival = prev.map(|(_, r)| (ts, r));
            return;
        }
        if kind == PayloadKind::Media {
            let arrival_ms = ts as f64 / 1e6;
            match self.jb_base {
                None => self.jb_base = Some((arrival_ms, h.ts)),
                Some((t0, r0)) => {
                    let rtp_ms =
                        f64::from(h.ts.wrapping_sub(r0) as i32) * 1000.0 / f64::from(clock);
                    let delay = arrival_ms - t0 - rtp_ms;
                    for (n, buf) in self.late.iter_mut().zip(JITTER_BUFFERS_MS) {
                        if delay > buf {
                            *n += 1;
                        }
                    }
                    // Adaptive buffer: a packet later than the current depth is discarded and
                    // the depth grows to its delay (at most the maximum); on-time packets
                    // shrink it by 1 ms each, never below the delay just seen or the minimum.
                    if delay > self.adapt_depth {
                        self.late_adaptive += 1;
                        self.adapt_depth = delay.min(ADAPTIVE_MAX_MS);
                        self.adapt_max = self.adapt_max.max(self.adapt_depth);
                    } else {
                        self.adapt_depth = (self.adapt_depth - ADAPTIVE_SHRINK_MS)
                            .max(delay)
                            .max(ADAPTIVE_MIN_MS);
                    }
                    self.adapt_sum += self.adapt_depth;
                    self.adapt_n += 1;
                }
            }
        }
        // RFC 3550 6.4.1 jitter, kept in ms so payload types with different clocks share it.
        if let Some((at, rtp_ts)) = prev {
            let arr = (ts - at) as f64 / 1e6;
            let sent = f64::from(h.ts.wrapping_sub(rtp_ts) as i32) * 1000.0 / f64::from(clock);
            let d = (arr - sent).abs();
            self.jitter += (d - self.jitter) / 16.0;
            // Max and mean over regular packets only: not the first, not a talk-spurt start
            // (marker), not comfort noise or the packet after it, not a timestamp going back.
            let regular =
                !first && !spurt_start && kind == PayloadKind::Media && !follows_cn && !went_back;
            if regular {
                self.max_jitter = self.max_jitter.max(self.jitter);
                // Wireshark 4.0 averages over the packets after the first.
                let n = self.received.saturating_sub(2) as f64;
                self.mean_jitter_ms = (self.mean_jitter_ms * n + self.jitter) / (n + 1.0);
            }
        }
        self.last_arrival = Some((ts, h.ts));
    }

    /// The report row.
    pub fn stats(&self) -> RtpStats {
        let expected = self.max_ext - self.base_ext + 1;
        let ms = |j: f64| j;
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
            mean_jitter_ms: round3(self.mean_jitter_ms),
            late_50ms: self.late[0],
            late_200ms: self.late[1],
            late_adaptive: self.late_adaptive,
            adaptive_max_ms: round3(self.adapt_max),
            adaptive_mean_ms: if self.adapt_n > 0 {
                round3(self.adapt_sum / self.adapt_n as f64)
            } else {
                ADAPTIVE_MIN_MS
            },
            loss_bursts: self.bursts,
            max_burst: self.max_burst,
            mean_burst: if self.bursts > 0 {
                round3(self.burst_lost as f64 / self.bursts as f64)
            } else {
                0.0
            },
            burst_ratio: burst_ratio(self.bursts, self.burst_lost, expected),
            codec: self
                .sdp_codec
                .clone()
                .or_else(|| codec_name(self.pt).map(str::to_string)),
            max_delta_ms: round3(self.max_delta_ns as f64 / 1e6),
            clock_rate: self.clock,
            first_ts: secs(self.first_ts),
            last_ts: secs(self.last_ts),
            gaps: self.gaps.iter().map(|&(t, n)| (secs(t), n)).collect(),
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
    c.rtcp_rtt = st.rtcp_rtt.into();
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
    c.rtp = rows.into();
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
            s.update(&h(*q), i as i64, PayloadKind::Media, None);
        }
        let st = s.stats();
        assert_eq!((st.expected, st.lost, st.out_of_order), (4, 0, 0));
    }

    fn pkt(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0x80, pt];
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&ts.to_be_bytes());
        v.extend_from_slice(&0x5151_5151u32.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    fn feed(st: &mut RtpState, b: &[u8], at_ms: f64) {
        let addr: std::net::SocketAddr = ([10, 0, 0, 1], 4000).into();
        let p = Pkt {
            dir: Dir::C2s,
            ts: (at_ms * 1e6) as i64,
            frame: 1,
            payload: b,
            src: addr,
            dst: addr,
            nth: 1,
        };
        account(st, &p);
    }

    /// Issue 11: PCMA with a comfort-noise packet during a silence and a telephone-event:
    /// the stream is PCMA (not PT 13), and the packets whose timing does not follow the audio
    /// clock (CN every 200 ms, the packet after it, the event with its frozen timestamp) do not
    /// reach max or mean jitter.
    #[test]
    fn comfort_noise_and_telephone_event_do_not_count() {
        let mut st = RtpState::default();
        let (mut seq, mut t) = (0u16, 0f64);
        // CN first (a stream starting in silence), then 20 PCMA packets every 20 ms.
        feed(&mut st, &pkt(13, seq, 0, &[0x40]), t);
        for i in 1..=20u32 {
            seq += 1;
            t += 20.0;
            feed(&mut st, &pkt(8, seq, i * 160, &[0xd5; 160]), t);
        }
        // Silence: one CN packet 200 ms later by its timestamp but 17 ms late on the wire,
        // then audio resumes on time.
        let (ts0, t0) = (20 * 160 + 1600, t + 200.0);
        seq += 1;
        feed(&mut st, &pkt(13, seq, ts0, &[0x40]), t0 + 17.0);
        for k in 1..=10u32 {
            seq += 1;
            t = t0 + 20.0 * f64::from(k);
            feed(&mut st, &pkt(8, seq, ts0 + 160 * k, &[0xd5; 160]), t);
        }
        // A telephone-event (dynamic PT 101, one 4-byte event block).
        seq += 1;
        feed(&mut st, &pkt(101, seq, 5000, &[1, 0x0a, 0, 160]), t + 3.0);
        let s = &st.tracker.streams[0];
        let row = s.stats();
        assert_eq!(row.payload_type, 8);
        assert_eq!(row.codec.as_deref(), Some("PCMA"));
        assert_eq!(row.packets, 33);
        // J after the late CN packet and after the packet that follows it (both excluded
        // from max and mean, as Wireshark does); the first regular packet after them decays it.
        let j1 = 17.0 / 16.0;
        let j2 = j1 + (17.0 - j1) / 16.0;
        assert!(
            (row.max_jitter_ms - j2 * 15.0 / 16.0).abs() < 0.002,
            "max {}",
            row.max_jitter_ms
        );
        assert!(row.mean_jitter_ms > 0.0 && row.mean_jitter_ms < row.max_jitter_ms);
        assert_eq!(
            kind_of(
                &parse_rtp(&pkt(101, 1, 1, &[1, 0x0a, 0, 160])).unwrap(),
                &pkt(101, 1, 1, &[1, 0x0a, 0, 160])
            ),
            PayloadKind::Event
        );
        assert_eq!(
            kind_of(
                &parse_rtp(&pkt(111, 1, 1, &[9; 60])).unwrap(),
                &pkt(111, 1, 1, &[9; 60])
            ),
            PayloadKind::Media
        );
    }

    #[test]
    fn rtp_payload_skips_csrc_extension_and_padding() {
        let mut b = vec![0xB1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 9, 9, 9, 9];
        b.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]);
        b.extend_from_slice(&[7, 7, 0, 2]);
        assert_eq!(rtp_payload(&b), Some(&[7, 7][..]));
        assert_eq!(rtp_payload(&b[..14]), None);
        assert_eq!(codec_name(0), Some("PCMU"));
        assert_eq!(codec_name(111), None);
    }

    /// Issue 11: a dynamic payload type named by the SDP takes its codec and clock from the
    /// rtpmap at once (jitter from the first packet, no 200 ms estimate), and a payload type
    /// the SDP calls telephone-event is skipped whatever its payload looks like.
    #[test]
    fn sdp_rtpmap_names_dynamic_types() {
        let mut st = RtpState::default();
        st.sdp.c2s = vec![
            RtpMap {
                pt: 111,
                codec: "opus".into(),
                clock: 48000,
            },
            RtpMap {
                pt: 101,
                codec: "telephone-event".into(),
                clock: 48000,
            },
        ];
        // 20 ms opus frames (960 ticks at 48 kHz); the third packet 4 ms late.
        for i in 0..6u16 {
            let late = if i == 2 { 4.0 } else { 0.0 };
            feed(
                &mut st,
                &pkt(111, i, u32::from(i) * 960, &[7; 80]),
                f64::from(i) * 20.0 + late,
            );
        }
        // An event with an 8-byte payload (two blocks, not the single-block shape).
        feed(
            &mut st,
            &pkt(101, 6, 9999, &[1, 0, 0, 160, 1, 0, 0, 160]),
            123.0,
        );
        let row = st.tracker.streams[0].stats();
        assert_eq!(row.codec.as_deref(), Some("opus"));
        assert_eq!(row.clock_rate, 48000);
        assert_eq!(row.payload_type, 111);
        // D = 4 ms at packet 2, then 4 ms back at packet 3: J = 4/16, then + (4 − J)/16.
        let j = 0.25 + (4.0 - 0.25) / 16.0;
        assert!(
            (row.max_jitter_ms - j).abs() < 0.001,
            "{}",
            row.max_jitter_ms
        );
        // Without the SDP the same stream has no clock for its first 200 ms: no jitter yet.
        let mut bare = RtpState::default();
        for i in 0..6u16 {
            let late = if i == 2 { 4.0 } else { 0.0 };
            feed(
                &mut bare,
                &pkt(111, i, u32::from(i) * 960, &[7; 80]),
                f64::from(i) * 20.0 + late,
            );
        }
        let row = bare.tracker.streams[0].stats();
        assert_eq!(
            (row.codec, row.clock_rate, row.max_jitter_ms),
            (None, 0, 0.0)
        );
        // The receiver's rtpmap first, the sender's as a fallback.
        let sdp = crate::flow::PerDir::<Vec<RtpMap>> {
            s2c: vec![RtpMap {
                pt: 96,
                codec: "AMR-WB".into(),
                clock: 16000,
            }],
            ..Default::default()
        };
        assert_eq!(rtpmap_of(&sdp, Dir::C2s, 96).map(|m| m.clock), Some(16000));
        assert!(rtpmap_of(&sdp, Dir::C2s, 97).is_none());
    }

    /// Issue 11: two loss bursts (3 and 1 packets) out of 100; an adaptive buffer discards
    /// the first packet of a 120 ms delay step, then plays the rest at the new depth.
    #[test]
    fn burst_loss_and_adaptive_buffer() {
        let mut st = RtpState::default();
        for i in 0..100u16 {
            if (40..43).contains(&i) || i == 70 {
                continue;
            }
            let late = if (80..84).contains(&i) { 120.0 } else { 0.0 };
            feed(
                &mut st,
                &pkt(0, i, u32::from(i) * 160, &[0xff; 160]),
                f64::from(i) * 20.0 + late,
            );
        }
        let row = st.tracker.streams[0].stats();
        assert_eq!((row.lost, row.loss_bursts, row.max_burst), (4, 2, 3));
        assert!((row.mean_burst - 2.0).abs() < 1e-9);
        // Mean 2 over random loss's 1/(1 − 0.04): bursty.
        assert!((row.burst_ratio - 2.0 * 0.96).abs() < 1e-9);
        assert_eq!((row.late_50ms, row.late_200ms), (4, 0));
        assert_eq!(row.late_adaptive, 1, "only the first delayed packet");
        assert!((row.adaptive_max_ms - 120.0).abs() < 1e-6);
        assert_eq!(burst_ratio(0, 0, 100), 0.0);
        assert_eq!(burst_ratio(10, 10, 1000), round3(0.99));
    }

    /// A fixed 50 ms buffer loses the packets delayed by more than 50 ms, a 200 ms one none.
    #[test]
    fn fixed_jitter_buffers_count_late_packets() {
        let mut st = RtpState::default();
        for i in 0..20u16 {
            let late = if i == 10 || i == 11 { 120.0 } else { 0.0 };
            feed(
                &mut st,
                &pkt(0, i, u32::from(i) * 160, &[0xff; 160]),
                f64::from(i) * 20.0 + late,
            );
        }
        let row = st.tracker.streams[0].stats();
        assert_eq!((row.late_50ms, row.late_200ms), (2, 0));
    }
}
