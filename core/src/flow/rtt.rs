//! RTT samples at the capture point, three sources:
//!
//! - **handshake**: SYN → SYN-ACK is the round trip from the capture point to the responder
//!   and back (sample `dir` = C2s); SYN-ACK → the ACK completing the handshake is the round
//!   trip to the originator (`dir` = S2c). A retransmitted SYN or SYN-ACK gives no sample.
//! - **data**: like a TCP sender, one segment per direction is timed at a time; the first ACK
//!   covering it gives the sample. Karn's rule: timing is abandoned when that direction
//!   retransmits, and never starts on a retransmitted segment or while the direction has
//!   an open hole (a loss is outstanding). Delayed ACKs inflate these samples (up to the
//!   receiver's delayed-ACK timer, typically 40–200 ms).
//! - **tsopt**: the TCP timestamp option (RFC 7323): the first time a TSval is seen, and the
//!   first packet of the other direction echoing it in TSecr. Echoes are unambiguous even for
//!   retransmissions, but probes still start only outside losses.
//!
//! Samples with a negative time (capture timestamps out of order) are dropped.
//!
//! **From the network, not from the application** (issue 12): a data or tsopt sample is
//! answered by a segment of the other direction. When that answer carries data and its
//! direction had sent no data for at least half the sample (its previous data segment came
//! at or before the probe, or the answer starts a burst after a gap), the answering side was
//! idle: the sample measures how long its application waited before writing again, not a
//! round trip, and is dropped. An application-limited sender writing 32 KiB every 100 ms
//! otherwise "shows" an RTT of 100 ms on an unimpaired LAN; at the sender's side the same
//! rule drops the samples whose probe (an ACK covering everything outstanding) could only be
//! answered by the application's next write. Pure ACKs are always kept as answers: the
//! receiver's stack sends them.
//!
//! **Newest covered segment** (issue 12): an answer whose ACK covers everything the peer has
//! sent cannot have left before the peer's latest data segment arrived, so the round trip is
//! at most the time since that segment was sent; the sample starts there when that is later
//! than the probe. Seen at a sender that writes a 1448- and a 118-byte segment every 30 ms,
//! the receiver acknowledges both when the next write arrives: timed on the 118-byte
//! segment the sample was the 30 ms write period, from the newest segment it is the 80 µs
//! round trip. An ACK that leaves data outstanding keeps the classic sample.
//!
//! **Delayed ACKs** (issue 12): a pure ACK that newly acknowledges at most one full-sized
//! segment (the direction's largest payload) is one the receiver was allowed to hold for
//! its delayed-ACK timer (RFC 1122 §4.2.3.2, RFC 5681 §4.2: an ACK at least every second
//! full-sized segment, within 500 ms; Linux waits 40 ms or more) and gives no sample: its
//! delay may be the timer's. ACKs of two or more segments, which a receiver sends at once,
//! still measure a queue; a flow that only ever gets single-segment ACKs keeps its
//! handshake samples. Without this rule the policed 140 kbit/s upload of the lab's
//! `sni_policer_both` (one segment per ~80 ms, each ACK held 40 ms) looked congested to the
//! policer test.

use super::seq::le;
use super::{Dir, PerDir, RttSample};
use crate::Nanos;

/// RTT measurement state of one TCP connection.
#[derive(Clone, Debug, Default)]
pub struct RttState {
    /// The originator's SYN (time, seq) and whether it was retransmitted.
    syn: Option<(Nanos, u32)>,
    syn_retx: bool,
    /// The responder's SYN-ACK (time, seq) and whether it was retransmitted.
    synack: Option<(Nanos, u32)>,
    synack_retx: bool,
    handshake_acked: bool,
    /// Timed segment per direction: (end seq, time).
    timed: PerDir<Option<(u32, Nanos)>>,
    /// Timestamp probe per direction: (TSval, first time seen).
    probe: PerDir<Option<(u32, Nanos)>>,
    last_tsval: PerDir<Option<u32>>,
    /// Time of the last data-carrying segment per direction.
    last_data: PerDir<Option<Nanos>>,
    /// Highest sequence end of the data sent per direction.
    hi_end: PerDir<Option<u32>>,
    /// Highest acknowledgment number sent per direction.
    acked: PerDir<Option<u32>>,
    /// Largest payload sent per direction (its full-sized segment).
    full: PerDir<u32>,
}

/// What the caller knows about one segment.
#[derive(Clone, Copy, Debug)]
pub struct SegFacts {
    pub dir: Dir,
    pub ts: Nanos,
    pub syn: bool,
    pub ack_flag: bool,
    pub rst: bool,
    pub seq: u32,
    pub ack: u32,
    /// Payload length on the wire.
    pub len: u32,
    /// End of the segment in sequence space.
    pub end: u32,
    /// The segment was a retransmission, a duplicate or a hole fill.
    pub resent: bool,
    /// The segment's direction has an open hole (after this segment).
    pub holes_open: bool,
    /// TCP timestamp option (TSval, TSecr).
    pub tsopt: Option<(u32, u32)>,
}

fn sample(
    out: &mut crate::slim::Slim<RttSample>,
    cap: usize,
    ts: Nanos,
    t0: Nanos,
    dir: Dir,
    source: &'static str,
) {
    if ts >= t0 && out.len() < cap {
        out.push(RttSample {
            ts,
            rtt: ts.saturating_sub(t0),
            dir,
            source,
        });
    }
}

impl RttState {
    /// Feeds one segment; pushes any sample it completes onto `out` (at most `cap` kept).
    pub fn on_segment(&mut self, f: &SegFacts, out: &mut crate::slim::Slim<RttSample>, cap: usize) {
        let d = f.dir;
        let p = d.rev();
        // Handshake.
        if f.syn && !f.ack_flag && f.dir == Dir::C2s {
            match self.syn {
                Some((_, s)) if s == f.seq => self.syn_retx = true,
                _ => {
                    self.syn = Some((f.ts, f.seq));
                    self.syn_retx = false;
                }
            }
        } else if f.syn && f.ack_flag && f.dir == Dir::S2c {
            match self.synack {
                Some((_, s)) if s == f.seq => self.synack_retx = true,
                Some(_) => {}
                None => {
                    self.synack = Some((f.ts, f.seq));
                    if let Some((t0, s)) = self.syn {
                        if !self.syn_retx && f.ack == s.wrapping_add(1) {
                            sample(out, cap, f.ts, t0, Dir::C2s, "handshake");
                        }
                    }
                }
            }
        } else if !f.syn && f.ack_flag && !f.rst && f.dir == Dir::C2s && !self.handshake_acked {
            if let Some((t1, s)) = self.synack {
                if f.ack == s.wrapping_add(1) {
                    self.handshake_acked = true;
                    if !self.synack_retx {
                        sample(out, cap, f.ts, t1, Dir::S2c, "handshake");
                    }
                }
            }
        }

        // This segment acknowledges the peer's timed data / echoes its timestamp, unless it
        // is data that its sender's application held back (see the module docs).
        let last_data = self.last_data[d];
        let idle = |t0: Nanos| -> bool {
            f.len > 0
                && !f.syn
                && last_data.is_none_or(|l| f.ts.saturating_sub(l) >= f.ts.saturating_sub(t0) / 2)
        };
        // An answer acknowledging everything the peer sent cannot have left before the
        // peer's latest data segment arrived: the round trip is at most the time since that
        // segment was sent (see the module docs, "newest covered segment").
        let newest = match (self.hi_end[p], self.last_data[p]) {
            (Some(hi), Some(t1)) if f.ack_flag && !f.rst && le(hi, f.ack) => Some(t1),
            _ => None,
        };
        let start = |t0: Nanos| newest.map_or(t0, |t1| t1.max(t0));
        // A pure ACK newly covering at most one full-sized segment is one the receiver was
        // allowed to hold for its delayed-ACK timer (RFC 1122 §4.2.3.2, RFC 5681 §4.2: it must
        // acknowledge at least every second full-sized segment, and may wait up to 500 ms for
        // a single one): its delay may be the timer's, not the network's.
        let held = f.len == 0
            && f.ack_flag
            && match self.acked[d] {
                Some(prev) => le(f.ack, prev.wrapping_add(self.full[p])),
                None => false,
            };
        if f.ack_flag && !f.rst {
            if let Some((end, t0)) = self.timed[p] {
                if le(end, f.ack) {
                    if !idle(t0) && !held {
                        sample(out, cap, f.ts, start(t0), p, "data");
                    }
                    self.timed[p] = None;
                }
            }
        }
        if let (Some((_, ecr)), Some((val, t0))) = (f.tsopt, self.probe[p]) {
            if ecr == val {
                if !idle(t0) && !held {
                    sample(out, cap, f.ts, start(t0), p, "tsopt");
                }
                self.probe[p] = None;
            } else if le(val, ecr) {
                // The probed value was overtaken without being echoed: give it up.
                self.probe[p] = None;
            }
        }

        if f.ack_flag && !f.rst && self.acked[d].is_none_or(|a| le(a, f.ack)) {
            self.acked[d] = Some(f.ack);
        }
        if f.len > 0 && !f.syn && !f.rst {
            self.full[d] = self.full[d].max(f.len);
            self.last_data[d] = Some(f.ts);
            if self.hi_end[d].is_none_or(|h| le(h, f.end)) {
                self.hi_end[d] = Some(f.end);
            }
        }
        // Karn: a retransmission or a loss in this direction spoils any timing in progress.
        if f.resent || f.holes_open {
            self.timed[d] = None;
        } else if f.len > 0 && !f.syn && !f.rst && self.timed[d].is_none() {
            self.timed[d] = Some((f.end, f.ts));
        }
        if let Some((val, _)) = f.tsopt {
            let fresh = self.last_tsval[d] != Some(val);
            self.last_tsval[d] = Some(val);
            if fresh && !f.resent && !f.holes_open && !f.rst && self.probe[d].is_none() {
                self.probe[d] = Some((val, f.ts));
            }
        }
    }
}

impl Dir {
    /// The direction with this index (0 = C2s, anything else = S2c).
    pub fn from_idx(i: usize) -> Dir {
        if i == 0 {
            Dir::C2s
        } else {
            Dir::S2c
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(dir: Dir, ts: Nanos, flags: &str, seq: u32, ack: u32, len: u32) -> SegFacts {
        let syn = flags.contains('S');
        SegFacts {
            dir,
            ts,
            syn,
            ack_flag: flags.contains('A'),
            rst: flags.contains('R'),
            seq,
            ack,
            len,
            end: seq.wrapping_add(len).wrapping_add(u32::from(syn)),
            resent: false,
            holes_open: false,
            tsopt: None,
        }
    }

    const MS: Nanos = 1_000_000;

    #[test]
    fn handshake_samples_both_sides() {
        let mut r = RttState::default();
        let mut out = crate::slim::Slim::default();
        r.on_segment(&f(Dir::C2s, 0, "S", 100, 0, 0), &mut out, 100);
        r.on_segment(&f(Dir::S2c, 30 * MS, "SA", 500, 101, 0), &mut out, 100);
        r.on_segment(&f(Dir::C2s, 31 * MS, "A", 101, 501, 0), &mut out, 100);
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].rtt, out[0].dir, out[0].source),
            (30 * MS, Dir::C2s, "handshake")
        );
        assert_eq!((out[1].rtt, out[1].dir), (MS, Dir::S2c));
    }

    #[test]
    fn retransmitted_syn_gives_no_sample() {
        let mut r = RttState::default();
        let mut out = crate::slim::Slim::default();
        r.on_segment(&f(Dir::C2s, 0, "S", 100, 0, 0), &mut out, 100);
        r.on_segment(&f(Dir::C2s, 1000 * MS, "S", 100, 0, 0), &mut out, 100);
        r.on_segment(&f(Dir::S2c, 1030 * MS, "SA", 500, 101, 0), &mut out, 100);
        assert!(out.is_empty(), "Karn: which SYN was answered is ambiguous");
    }

    #[test]
    fn data_sample_and_karn() {
        let mut r = RttState::default();
        let mut out = crate::slim::Slim::default();
        r.on_segment(&f(Dir::C2s, 0, "A", 1, 1, 100), &mut out, 100);
        r.on_segment(&f(Dir::S2c, 50 * MS, "A", 1, 101, 0), &mut out, 100);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].rtt, out[0].source, out[0].dir),
            (50 * MS, "data", Dir::C2s)
        );
        // Timed segment, then a retransmission: the ACK gives no sample.
        r.on_segment(&f(Dir::C2s, 100 * MS, "A", 101, 1, 100), &mut out, 100);
        let mut rx = f(Dir::C2s, 300 * MS, "A", 101, 1, 100);
        rx.resent = true;
        r.on_segment(&rx, &mut out, 100);
        r.on_segment(&f(Dir::S2c, 330 * MS, "A", 1, 201, 0), &mut out, 100);
        assert_eq!(out.len(), 1);
        // While a hole is open nothing is timed.
        let mut h = f(Dir::C2s, 400 * MS, "A", 301, 1, 100);
        h.holes_open = true;
        r.on_segment(&h, &mut out, 100);
        r.on_segment(&f(Dir::S2c, 450 * MS, "A", 1, 401, 0), &mut out, 100);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn timestamp_echo() {
        let mut r = RttState::default();
        let mut out = crate::slim::Slim::default();
        let mut a = f(Dir::S2c, 10 * MS, "A", 1, 1, 0);
        a.tsopt = Some((777, 5));
        r.on_segment(&a, &mut out, 100);
        let mut b = f(Dir::C2s, 12 * MS, "A", 1, 1, 0);
        b.tsopt = Some((9, 777));
        r.on_segment(&b, &mut out, 100);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].rtt, out[0].source, out[0].dir),
            (2 * MS, "tsopt", Dir::S2c)
        );
    }

    /// Issue 12: a server writing a burst every 100 ms, seen at the client. The client's ACK
    /// of a burst is echoed by the first segment of the next burst: 100 ms of the server's
    /// idle time, not a round trip.
    #[test]
    fn idle_sender_gives_no_sample_issue_12() {
        let mut r = RttState::default();
        let mut out = crate::slim::Slim::default();
        let mut seq = 1u32;
        for burst in 0..3u32 {
            let t = Nanos::from(burst) * 100 * MS;
            for k in 0..4u32 {
                let mut d = f(Dir::S2c, t + Nanos::from(k) * 10_000, "A", seq, 1, 1000);
                d.tsopt = Some((500 + burst, 900 + burst));
                r.on_segment(&d, &mut out, 100);
                seq += 1000;
            }
            let mut a = f(Dir::C2s, t + 50_000, "A", 1, seq, 0);
            a.tsopt = Some((900 + burst + 1, 500 + burst));
            r.on_segment(&a, &mut out, 100);
        }
        assert!(
            out.iter().all(|s| s.rtt < MS),
            "only the local ACK delays remain: {out:?}"
        );
        // The same echo inside a continuous stream (a queue, data arriving all along) is kept.
        let mut r = RttState::default();
        let mut out = crate::slim::Slim::default();
        let mut a = f(Dir::C2s, 0, "A", 1, 1, 0);
        a.tsopt = Some((10, 5));
        r.on_segment(&a, &mut out, 100);
        for k in 1..=20 {
            let mut d = f(Dir::S2c, k * 5 * MS, "A", 1 + 1000 * k as u32, 1, 1000);
            d.tsopt = Some((600 + k as u32, if k < 20 { 9 } else { 10 }));
            r.on_segment(&d, &mut out, 100);
        }
        let echo: Vec<_> = out.iter().filter(|s| s.source == "tsopt").collect();
        assert_eq!(echo.len(), 1, "{out:?}");
        assert_eq!(echo[0].rtt, 100 * MS);
    }

    /// Issue 12 (`sni_policer_both`'s upload, seen at its sender): the client writes a
    /// 1448-byte and a 118-byte segment every 30 ms; the server acknowledges both when the
    /// next write's first segment arrives. Timed on the 118-byte segment, the sample is the
    /// client's 30 ms write period; the ACK covers everything sent, so the round trip is at
    /// most the time since the newest segment it covers (80 µs).
    #[test]
    fn newest_covered_segment_bounds_the_sample_issue_12() {
        let mut r = RttState::default();
        let mut out = crate::slim::Slim::default();
        let us: Nanos = 1000;
        let mut seq = 1u32;
        for k in 0..4u32 {
            let t = Nanos::from(k) * 30 * MS;
            let mut a = f(Dir::C2s, t, "A", seq, 1, 1448);
            a.tsopt = Some((100 + k, 7));
            r.on_segment(&a, &mut out, 100);
            seq += 1448;
            if k > 0 {
                // The ACK of the previous write's tail and this write's head.
                let mut ack = f(Dir::S2c, t + 80 * us, "A", 1, seq, 0);
                ack.tsopt = Some((7, 100 + k - 1));
                r.on_segment(&ack, &mut out, 100);
            }
            let mut b = f(Dir::C2s, t + 100 * us, "A", seq, 1, 118);
            b.tsopt = Some((100 + k, 7));
            r.on_segment(&b, &mut out, 100);
            seq += 118;
        }
        assert!(out.len() >= 3, "{out:?}");
        assert!(out.iter().all(|s| s.rtt == 80 * us), "{out:?}");
        // An ACK that leaves data outstanding keeps the classic sample (the timed segment's).
        let mut r = RttState::default();
        let mut out = crate::slim::Slim::default();
        r.on_segment(&f(Dir::C2s, 0, "A", 1, 1, 1448), &mut out, 100);
        r.on_segment(&f(Dir::C2s, 10 * MS, "A", 1449, 1, 1448), &mut out, 100);
        r.on_segment(&f(Dir::C2s, 20 * MS, "A", 2897, 1, 1448), &mut out, 100);
        r.on_segment(&f(Dir::S2c, 50 * MS, "A", 1, 2897, 0), &mut out, 100);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].rtt, 50 * MS);
    }

    /// Issue 12: the server's delayed-ACK timer. A pure ACK of one small segment 41 ms after
    /// it was sent (the next segment was policed away) gives no sample; an ACK of two
    /// full-sized segments, which a receiver must send at once (RFC 5681 §4.2), keeps its
    /// 41 ms: that delay is the network's (a queue).
    #[test]
    fn delayed_ack_gives_no_sample_issue_12() {
        let mut r = RttState::default();
        let mut out = crate::slim::Slim::default();
        r.on_segment(&f(Dir::C2s, 0, "A", 1, 1, 1448), &mut out, 100);
        r.on_segment(&f(Dir::S2c, MS, "A", 1, 1449, 0), &mut out, 100);
        assert_eq!(out.len(), 1, "a first ACK has nothing to compare with");
        r.on_segment(&f(Dir::C2s, 10 * MS, "A", 1449, 1, 118), &mut out, 100);
        r.on_segment(&f(Dir::C2s, 40 * MS, "A", 1567, 1, 1448), &mut out, 100);
        r.on_segment(&f(Dir::S2c, 51 * MS, "A", 1, 1567, 0), &mut out, 100);
        assert_eq!(out.len(), 1, "held by the timer: {out:?}");
        // Two full-sized segments acknowledged together 41 ms later.
        r.on_segment(&f(Dir::C2s, 60 * MS, "A", 3015, 1, 1448), &mut out, 100);
        r.on_segment(
            &f(Dir::C2s, 60 * MS + 10, "A", 4463, 1, 1448),
            &mut out,
            100,
        );
        r.on_segment(&f(Dir::S2c, 101 * MS, "A", 1, 4463, 0), &mut out, 100);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[1].rtt, 41 * MS);
    }

    #[test]
    fn cap_and_negative_times() {
        let mut r = RttState::default();
        let mut out = crate::slim::Slim::default();
        r.on_segment(&f(Dir::C2s, 100, "A", 1, 1, 10), &mut out, 100);
        r.on_segment(&f(Dir::S2c, 50, "A", 1, 11, 0), &mut out, 100);
        assert!(
            out.is_empty(),
            "an ACK captured before its data gives no sample"
        );
        r.on_segment(&f(Dir::C2s, 200, "A", 11, 1, 10), &mut out, 0);
        r.on_segment(&f(Dir::S2c, 300, "A", 1, 21, 0), &mut out, 0);
        assert!(out.is_empty(), "cap 0 keeps nothing");
    }
}
