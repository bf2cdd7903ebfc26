//! TCP connection state for Zeek-compatible `conn_state` and `history`.
//!
//! This re-implements the behaviour Zeek documents for `conn.log` (base/protocols/conn) from
//! its endpoint state machine: each endpoint is INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL,
//! ESTABLISHED, CLOSED or RESET, and `conn_state` is a function of the two states (plus the
//! history for RSTOS0). History letters: `S` SYN, `H` SYN-ACK, `A` pure ACK, `D` data, `F` FIN,
//! `R` RST, `I` FIN+RST, `Q` other multi-flag (SYN+FIN, SYN+RST), `T` retransmission, `G`
//! content gap (the peer acknowledged bytes never seen), `W` zero window, `^` roles flipped;
//! upper case for the originator, lower case for the responder. `S`, `H`, `A`, `D`, `F`, `R`,
//! `I`, `Q` appear once per direction, except that `S`/`H`/`F`/`R` repeat when the packet's
//! relative sequence number differs from the previous one of its kind; `T`, `G`, `W` appear at
//! the 1st, 10th, 100th, 1000th … occurrence.
//!
//! Everything here is O(1) per packet and allocation-free except history pushes (bounded:
//! each letter kind is added at most a logarithmic number of times, see [`MAX_HISTORY`]).

use super::{Dir, PerDir};
use crate::decode::tcp_flags::{ACK, FIN, RST, SYN};
use crate::Nanos;

/// Hard cap on history length (Zeek's repeats are logarithmic, but SYN/FIN/RST repeat per new
/// sequence number; a hostile capture must not grow it without bound).
pub const MAX_HISTORY: usize = 256;

/// Sequence deltas beyond this are not trusted on SYN/RST packets (Zeek: `TOO_LARGE_SEQ_DELTA`).
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

/// Zeek's TCP endpoint states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EndpointState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// One side of the connection as Zeek's state machine sees it.
#[derive(Clone, Debug, Default)]
pub struct Endpoint {
    pub state: EndpointState,
    pub prev_state: EndpointState,
    /// Sequence number before the first byte (the SYN's, or seq-1 for a partial connection).
    start: u32,
    /// Highest sequence number sent + 1.
    last: u32,
    /// Highest acknowledgement the peer sent for this endpoint's data.
    ack: u32,
    pub fin_cnt: u32,
    pub rst_cnt: u32,
    did_close: bool,
    hist_last_syn: u32,
    hist_last_fin: u32,
    hist_last_rst: u32,
    rxmt: Scaled,
    win0: Scaled,
    gap: Scaled,
    /// Content seen contiguously (or already reported as a gap) up to here (Zeek's
    /// reassembler `last_reassem_seq`); None before this endpoint sent anything.
    mark: Option<u32>,
    /// Sequence number of this endpoint's FIN (end of its data).
    fin_pos: Option<u32>,
}

/// A counter whose history letter is added at 1, 10, 100, … occurrences.
#[derive(Clone, Copy, Debug)]
struct Scaled {
    count: u32,
    threshold: u32,
}

impl Default for Scaled {
    fn default() -> Self {
        Scaled {
            count: 0,
            threshold: 1,
        }
    }
}

impl Scaled {
    /// Counts one occurrence; true when the letter is due.
    fn hit(&mut self) -> bool {
        self.count = self.count.saturating_add(1);
        if self.count == self.threshold {
            match self.threshold.checked_mul(10) {
                Some(t) => self.threshold = t,
                None => self.count = 0,
            }
            return true;
        }
        false
    }
}

fn delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

impl Endpoint {
    fn set_state(&mut self, s: EndpointState) {
        if s != self.state {
            self.prev_state = self.state;
            self.state = s;
        }
    }
    fn init_seq(&mut self, start: u32, last: u32) {
        self.start = start;
        self.ack = start;
        self.last = last;
    }
    fn is_clean(&self) -> bool {
        self.state == EndpointState::Established
            || (self.state == EndpointState::Closed
                && self.prev_state == EndpointState::Established)
    }
    fn inactive(&self) -> bool {
        matches!(self.state, EndpointState::Inactive | EndpointState::Partial)
    }
    fn no_data_acked(&self) -> bool {
        self.ack == self.start || self.ack == self.start.wrapping_add(1)
    }
    /// Bytes sent as far as sequence numbers tell (Zeek's endpoint `size`).
    fn size(&self, peer_state: EndpointState) -> u64 {
        if self.prev_state == EndpointState::SynSent
            && self.state == EndpointState::Reset
            && peer_state == EndpointState::Inactive
            && !self.no_data_acked()
        {
            return 0;
        }
        let l = u64::from(self.last.wrapping_sub(self.start));
        let a = u64::from(self.ack.wrapping_sub(self.start));
        // Neither the SYN nor the FIN octet is data.
        let size = if delta(self.last, self.ack) > 0 { l } else { a }.saturating_sub(1);
        if self.fin_cnt > 0 {
            size.saturating_sub(1)
        } else {
            size
        }
    }
}

/// History letter masks (one bit per letter kind and direction, as Zeek keeps them).
mod hist {
    pub const SYN: u32 = 0x1;
    pub const FIN: u32 = 0x2;
    pub const RST: u32 = 0x4;
    pub const FIN_RST: u32 = 0x8;
    pub const DATA: u32 = 0x10;
    pub const ACK: u32 = 0x20;
    pub const MULTI: u32 = 0x40;
}

/// What one segment told the table beyond the state change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentOutcome {
    /// The connection just closed completely (both FINs, a RST, or a FIN with a silent peer).
    pub closed: bool,
}

/// Per-connection TCP state.
#[derive(Clone, Debug, Default)]
pub struct TcpState {
    /// Flags seen per direction (OR of all flags).
    pub flags_seen: PerDir<u8>,
    /// Zeek endpoint state per direction.
    pub ep: PerDir<Endpoint>,
    /// Roles were flipped when the flow was created (history starts with `^`).
    pub flipped: bool,
    /// When the connection closed completely (see [`SegmentOutcome::closed`]).
    pub closed_at: Option<Nanos>,
    /// When the originator's first SYN was seen (Zeek's attempt timer starts there).
    pub attempt_start: Option<Nanos>,
    /// Initial sequence number of each direction's SYN (for port-reuse detection).
    pub isn: PerDir<Option<u32>>,
    hist_seen: u32,
    /// Automaton for Zeek's RSTOS0 history pattern `^?S[^HAFGIQ]*R.*`.
    rstos0: u8,
    /// RTT measurement state.
    pub(crate) rtt: super::rtt::RttState,
}

/// The facts of one TCP segment the state machine needs.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    /// Payload length on the wire.
    pub len: u32,
    pub window: u16,
    /// The whole payload was captured (false when the snaplen cut it: its content is missing).
    pub captured: bool,
}

impl TcpState {
    /// A new connection; `flipped` adds Zeek's `^` to `history`.
    pub fn new(flipped: bool, history: &mut String) -> TcpState {
        let mut t = TcpState {
            flipped,
            ..Default::default()
        };
        if flipped {
            t.push(history, '^');
        }
        t
    }

    /// Zeek conn_state.
    pub fn conn_state(&self) -> &'static str {
        use EndpointState::*;
        let (o, r) = (&self.ep[Dir::C2s], &self.ep[Dir::S2c]);
        let (os, rs) = (o.state, r.state);
        if rs == Reset {
            if os == SynSent
                || os == SynAckSent
                || (os == Reset && o.size(rs) == 0 && r.size(os) == 0)
            {
                "REJ"
            } else if o.inactive() {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == Reset {
            if r.inactive() {
                if self.rstos0 == 3 {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == Closed && os == Closed {
            "SF"
        } else if os == Closed {
            if r.inactive() {
                "SH"
            } else {
                "S2"
            }
        } else if rs == Closed {
            if o.inactive() {
                "SHR"
            } else {
                "S3"
            }
        } else if os == SynSent && rs == Inactive {
            "S0"
        } else if os == Established && rs == Established {
            "S1"
        } else {
            "OTH"
        }
    }

    /// True when Zeek's attempt timer would have removed this connection by `ts`: the
    /// originator sent a SYN `timeout` ago and the responder was never heard. One deviation:
    /// a retransmission of the originator's SYN (same ISN, `syn_retry`) stays in the flow, so
    /// a blocked handshake with its SYN retries is one S0 flow (Zeek logs one row per 5 s).
    pub fn attempt_expired(&self, ts: Nanos, timeout: Nanos, syn_retry: bool) -> bool {
        timeout > 0
            && !syn_retry
            && self
                .attempt_start
                .is_some_and(|t0| ts >= t0.saturating_add(timeout))
            && matches!(
                self.ep[Dir::C2s].state,
                EndpointState::SynSent | EndpointState::SynAckSent
            )
            && self.ep[Dir::S2c].state == EndpointState::Inactive
    }

    /// True when this segment retransmits the originator's SYN (same initial sequence number).
    pub fn is_syn_retry(&self, flags: u8, seq: u32) -> bool {
        flags & (SYN | ACK) == SYN && self.isn[Dir::C2s] == Some(seq)
    }

    /// True when a SYN (without ACK) with this sequence number would start a new connection
    /// on this key (Zeek's port-reuse rule): the connection closed in some way, or the SYN's
    /// sequence number differs from the originator's initial one.
    pub fn is_reuse(&self, flags: u8, seq: u32) -> bool {
        if flags & SYN == 0 || flags & ACK != 0 {
            return false;
        }
        if self.ep[Dir::C2s].did_close || self.ep[Dir::S2c].did_close {
            return true;
        }
        match self.isn[Dir::C2s] {
            Some(isn) => isn != seq,
            None => {
                self.ep[Dir::C2s].state != EndpointState::Inactive && self.ep[Dir::C2s].start != seq
            }
        }
    }

    fn push(&mut self, history: &mut String, c: char) {
        if history.len() >= MAX_HISTORY {
            return;
        }
        history.push(c);
        // ^?S[^HAFGIQ]*R.*  — 0 start, 1 after '^', 2 in S…, 3 matched, 4 failed.
        self.rstos0 = match (self.rstos0, c) {
            (0, '^') => 1,
            (0 | 1, 'S') => 2,
            (0 | 1, _) => 4,
            (2, 'R') => 3,
            (2, 'H' | 'A' | 'F' | 'G' | 'I' | 'Q') => 4,
            (s, _) => s,
        };
    }

    fn letter(d: Dir, c: char) -> char {
        if d == Dir::C2s {
            c
        } else {
            c.to_ascii_lowercase()
        }
    }

    fn add_history(&mut self, history: &mut String, d: Dir, c: char) {
        self.push(history, Self::letter(d, c));
    }

    /// Adds the letter once per direction; true when it had been seen before.
    fn check_history(&mut self, history: &mut String, d: Dir, mask: u32, c: char) -> bool {
        let m = if d == Dir::C2s { mask } else { mask << 16 };
        if self.hist_seen & m == 0 {
            self.hist_seen |= m;
            self.add_history(history, d, c);
            false
        } else {
            true
        }
    }

    /// Feeds one segment from direction `dir`. Updates the endpoint states and `history`.
    pub fn on_segment(
        &mut self,
        history: &mut String,
        dir: Dir,
        s: &Segment,
        ts: Nanos,
    ) -> SegmentOutcome {
        use EndpointState::*;
        let d = dir;
        let p = dir.rev();
        let is_orig = d == Dir::C2s;
        let (syn, fin, rst, ack) = (
            s.flags & SYN != 0,
            s.flags & FIN != 0,
            s.flags & RST != 0,
            s.flags & ACK != 0,
        );
        self.flags_seen[d] |= s.flags;
        if syn && !ack {
            self.isn[d] = Some(s.seq);
        }
        // Sequence space of the segment: SYN and FIN take one each; a RST's payload does not count.
        let seg_len = if rst { 0 } else { s.len }
            .wrapping_add(u32::from(syn))
            .wrapping_add(u32::from(fin));
        let end = s.seq.wrapping_add(seg_len);

        // Initialise (or re-initialise) this endpoint's sequence space.
        {
            let e = &mut self.ep[d];
            match e.state {
                Inactive => {
                    if syn {
                        e.init_seq(s.seq, end);
                    } else {
                        e.init_seq(s.seq.wrapping_sub(1), s.seq);
                    }
                }
                SynSent | SynAckSent => {
                    if syn && s.seq != e.start {
                        e.init_seq(s.seq, end);
                    }
                }
                Established | Partial => {
                    if syn {
                        e.init_seq(s.seq, end);
                    }
                }
                Reset => {
                    if syn && e.prev_state == Inactive {
                        e.init_seq(s.seq, end);
                    }
                }
                Closed => {}
            }
        }
        let rel_seq = s.seq.wrapping_sub(self.ep[d].start);

        self.update_history(history, d, s, rel_seq);

        // Zero window (scaling does not change zero).
        if s.window == 0
            && !rst
            && self.ep[p].state != Closed
            && self.ep[d].state != Reset
            && self.ep[d].win0.hit()
        {
            self.add_history(history, d, 'W');
        }
        if fin {
            self.ep[d].fin_cnt = self.ep[d].fin_cnt.saturating_add(1);
        }
        if rst {
            self.ep[d].rst_cnt = self.ep[d].rst_cnt.saturating_add(1);
        }
        if ack {
            let pe = &mut self.ep[p];
            if pe.state == Inactive {
                let a = s.ack.wrapping_sub(1);
                pe.init_seq(a, a);
            } else if !rst {
                let da = delta(s.ack, pe.ack);
                if !(s.ack == 0 && da > TOO_LARGE_SEQ_DELTA) && da > 0 {
                    pe.ack = s.ack;
                }
            }
        }
        // Zeek's update_last_seq: advances `last`, or counts a retransmission.
        {
            let e = &mut self.ep[d];
            let dl = delta(end, e.last);
            if (syn || rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&dl) {
            } else if fin && e.last == e.start.wrapping_add(1) {
                e.last = end;
            } else if e.state == Reset {
            } else if dl > 0 {
                e.last = end;
            } else if s.len > 0 && e.rxmt.hit() {
                self.add_history(history, d, 'T');
            }
        }

        // Content delivered (Zeek's reassembler), for content gaps.
        {
            let e = &mut self.ep[d];
            let data_start = s.seq.wrapping_add(u32::from(syn));
            let data_end = data_start.wrapping_add(s.len);
            if syn {
                e.mark = Some(data_start);
            }
            if fin {
                e.fin_pos = Some(data_end);
            }
            if s.len > 0 && !rst {
                match e.mark {
                    None if s.captured => e.mark = Some(data_end),
                    None => e.mark = Some(data_start),
                    Some(m)
                        if s.captured && delta(data_start, m) <= 0 && delta(data_end, m) > 0 =>
                    {
                        e.mark = Some(data_end)
                    }
                    Some(_) => {}
                }
            }
        }

        let do_close = self.state_machine(d, s, ts, is_orig);
        if ack {
            // The peer's content up to `ack` was delivered: what was never seen is a gap.
            let pe = &mut self.ep[p];
            let mut a = s.ack;
            if let Some(f) = pe.fin_pos {
                if delta(a, f) > 0 {
                    a = f;
                }
            }
            let partial = self.isn[p].is_none();
            let gap = match pe.mark {
                Some(m) if delta(a, m) > 0 => {
                    pe.mark = Some(a);
                    !(partial && a.wrapping_sub(pe.start) <= 2)
                }
                _ => false,
            };
            if gap {
                self.on_gaps(history, p, 1);
            }
        }
        let mut out = SegmentOutcome::default();
        if do_close && !self.ep[d].did_close {
            self.ep[d].did_close = true;
            let complete =
                self.ep[d].state == Reset || self.ep[p].did_close || self.ep[p].state == Inactive;
            if complete && self.closed_at.is_none() {
                self.closed_at = Some(ts);
                out.closed = true;
            }
        }
        out
    }

    fn update_history(&mut self, history: &mut String, d: Dir, s: &Segment, rel_seq: u32) {
        let (syn, fin, rst, ack) = (
            s.flags & SYN != 0,
            s.flags & FIN != 0,
            s.flags & RST != 0,
            s.flags & ACK != 0,
        );
        let bits = u8::from(syn) + u8::from(fin) + u8::from(rst);
        if bits > 1 {
            if fin && rst {
                self.check_history(history, d, hist::FIN_RST, 'I');
            } else {
                self.check_history(history, d, hist::MULTI, 'Q');
            }
        } else if syn {
            let code = if ack { 'H' } else { 'S' };
            if self.check_history(history, d, hist::SYN, code)
                && rel_seq != self.ep[d].hist_last_syn
            {
                self.add_history(history, d, code);
            }
            self.ep[d].hist_last_syn = rel_seq;
        } else if fin {
            let at = rel_seq.wrapping_add(s.len);
            if self.check_history(history, d, hist::FIN, 'F') && at != self.ep[d].hist_last_fin {
                self.add_history(history, d, 'F');
            }
            self.ep[d].hist_last_fin = at;
        } else if rst {
            if self.check_history(history, d, hist::RST, 'R') && rel_seq != self.ep[d].hist_last_rst
            {
                self.add_history(history, d, 'R');
            }
            self.ep[d].hist_last_rst = rel_seq;
        } else if s.len > 0 {
            self.check_history(history, d, hist::DATA, 'D');
        } else if ack {
            self.check_history(history, d, hist::ACK, 'A');
        }
    }

    /// Zeek's per-state transitions; returns whether this endpoint closed (FIN or RST).
    fn state_machine(&mut self, d: Dir, s: &Segment, ts: Nanos, is_orig: bool) -> bool {
        use EndpointState::*;
        let p = d.rev();
        let (syn, fin, rst, ack) = (
            s.flags & SYN != 0,
            s.flags & FIN != 0,
            s.flags & RST != 0,
            s.flags & ACK != 0,
        );
        let mut do_close = false;
        match self.ep[d].state {
            Inactive => {
                if syn {
                    if is_orig {
                        self.ep[d].set_state(if ack { SynAckSent } else { SynSent });
                        if self.attempt_start.is_none() {
                            self.attempt_start = Some(ts);
                        }
                    } else {
                        // A SYN or SYN-ACK from the responder establishes both sides that
                        // were trying (a SYN/SYN-ACK reversal after both spoke is not flipped).
                        if self.ep[p].state == SynSent {
                            self.ep[p].set_state(Established);
                        }
                        self.ep[d].set_state(Established);
                    }
                }
                if fin {
                    self.ep[d].set_state(Closed);
                    do_close = true;
                }
                if rst {
                    self.ep[d].set_state(Reset);
                    do_close = true;
                }
                if self.ep[d].state == Inactive {
                    if !is_orig && s.len == 0 && self.ep[Dir::C2s].state == SynSent {
                        // An ACK of the SYN before the SYN-ACK: not yet a partial connection.
                    } else if ack && self.ep[p].state == Established {
                        // The SYN was missed but the SYN-ACK seen: establish.
                        self.ep[d].set_state(Established);
                    } else {
                        self.ep[d].set_state(Partial);
                    }
                }
            }
            SynSent | SynAckSent => {
                if fin {
                    self.ep[d].set_state(Closed);
                    do_close = true;
                }
                if rst {
                    self.ep[d].set_state(Reset);
                    do_close = true;
                }
            }
            Established | Partial => {
                if syn && self.ep[d].state == Partial && self.ep[p].state == Inactive && !ack {
                    self.ep[d].set_state(SynSent);
                }
                if fin && !rst {
                    self.ep[d].set_state(Closed);
                    if self.ep[p].state == Reset && self.ep[p].prev_state == Closed {
                        self.ep[p].set_state(Closed);
                    }
                    do_close = true;
                }
                if rst {
                    self.ep[d].set_state(Reset);
                    do_close = true;
                }
            }
            Closed => {
                if rst && self.ep[p].state != Closed {
                    self.ep[d].set_state(Reset);
                    do_close = !self.ep[d].did_close;
                }
            }
            Reset => {}
        }
        do_close
    }

    /// Records content gaps of direction `data_dir` (the peer acknowledged `gaps` regions of
    /// it that were never seen): Zeek's `G`/`g`, only while both sides are cleanly established.
    pub fn on_gaps(&mut self, history: &mut String, data_dir: Dir, gaps: u32) {
        let d = data_dir;
        if gaps == 0 || !(self.ep[d].is_clean() && self.ep[d.rev()].is_clean()) {
            return;
        }
        for _ in 0..gaps.min(1000) {
            if self.ep[d].gap.hit() {
                self.add_history(history, d, 'G');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u8 = SYN;
    const SA: u8 = SYN | ACK;
    const A: u8 = ACK;
    const PA: u8 = ACK | crate::decode::tcp_flags::PSH;
    const FA: u8 = FIN | ACK;
    const R: u8 = RST;
    const RA: u8 = RST | ACK;

    /// Runs (dir, flags, seq, ack, len) segments; returns (conn_state, history).
    fn run(flipped: bool, segs: &[(Dir, u8, u32, u32, u32)]) -> (&'static str, String, TcpState) {
        let mut h = String::new();
        let mut t = TcpState::new(flipped, &mut h);
        for (i, &(dir, flags, seq, ack, len)) in segs.iter().enumerate() {
            let seg = Segment {
                flags,
                seq,
                ack,
                len,
                window: 1000,
                captured: true,
            };
            t.on_segment(&mut h, dir, &seg, i as Nanos * 1000);
        }
        (t.conn_state(), h, t)
    }
    use Dir::{C2s as C, S2c as V};

    fn handshake() -> Vec<(Dir, u8, u32, u32, u32)> {
        vec![(C, S, 100, 0, 0), (V, SA, 500, 101, 0), (C, A, 101, 501, 0)]
    }

    #[test]
    fn sf_full_connection() {
        let mut s = handshake();
        s.extend([
            (C, PA, 101, 501, 10),
            (V, A, 501, 111, 0),
            (V, PA, 501, 111, 20),
            (C, A, 111, 521, 0),
            (C, FA, 111, 521, 0),
            (V, FA, 521, 112, 0),
            (C, A, 112, 522, 0),
        ]);
        let (st, h, _) = run(false, &s);
        assert_eq!((st, h.as_str()), ("SF", "ShADadFf"));
    }

    #[test]
    fn s0_s1_rej() {
        assert_eq!(run(false, &[(C, S, 1, 0, 0)]).0, "S0");
        assert_eq!(run(false, &[(C, S, 1, 0, 0)]).1, "S");
        let (st, h, _) = run(false, &handshake());
        assert_eq!((st, h.as_str()), ("S1", "ShA"));
        let (st, h, _) = run(false, &[(C, S, 1, 0, 0), (V, RA, 0, 2, 0)]);
        assert_eq!((st, h.as_str()), ("REJ", "Sr"));
        // SYN, SYN-ACK, no ACK: both established from Zeek's point of view.
        assert_eq!(run(false, &[(C, S, 1, 0, 0), (V, SA, 9, 2, 0)]).1, "Sh");
    }

    #[test]
    fn rej_when_both_reset_without_data() {
        // Both sides reset, no data either way: Zeek calls it a rejection too.
        let (st, h, _) = run(false, &[(C, R, 5, 0, 0), (V, RA, 9, 6, 0)]);
        assert_eq!((st, h.as_str()), ("REJ", "Rr"));
        // With data before the resets it is the responder's reset of a half-seen connection.
        let (st, _, _) = run(
            false,
            &[(C, PA, 5, 9, 50), (C, R, 55, 0, 0), (V, RA, 9, 55, 0)],
        );
        assert_eq!(st, "RSTR");
    }

    #[test]
    fn rst_behaviour_matches_zeek_baseline() {
        // Zeek baseline conn_state-RST-behavior: R OTH; SR RSTOS0; SaR RSTOS0; SaFR OTH.
        let (st, h, _) = run(false, &[(C, R, 5, 0, 0)]);
        assert_eq!((st, h.as_str()), ("OTH", "R"));
        let (st, h, _) = run(false, &[(C, S, 5, 0, 0), (C, R, 6, 0, 0)]);
        assert_eq!((st, h.as_str()), ("RSTOS0", "SR"));
        let (st, h, _) = run(false, &[(C, S, 5, 0, 0), (V, A, 70, 6, 0), (C, R, 6, 0, 0)]);
        assert_eq!((st, h.as_str()), ("RSTOS0", "SaR"));
        let (st, h, _) = run(
            false,
            &[
                (C, S, 5, 0, 0),
                (V, A, 70, 6, 0),
                (C, FA, 6, 70, 0),
                (C, R, 7, 0, 0),
            ],
        );
        assert_eq!((st, h.as_str()), ("OTH", "SaFR"));
    }

    #[test]
    fn rsto_rstr_rstrh() {
        let mut s = handshake();
        s.push((C, PA, 101, 501, 5));
        s.push((C, RA, 106, 501, 0));
        let (st, h, _) = run(false, &s);
        assert_eq!((st, h.as_str()), ("RSTO", "ShADR"));
        let mut s = handshake();
        s.push((V, RA, 501, 101, 0));
        assert_eq!(run(false, &s).0, "RSTR");
        // Data then a RST from the responder, no handshake (Zeek modbus baseline: "Dr" RSTRH).
        let (st, h, _) = run(false, &[(C, PA, 10, 90, 109), (V, RA, 90, 119, 0)]);
        assert_eq!((st, h.as_str()), ("RSTRH", "Dr"));
        // Flipped, the responder's RST only (Zeek Teredo baseline: "^r" RSTRH).
        let (st, h, _) = run(true, &[(V, RA, 90, 119, 0)]);
        assert_eq!((st, h.as_str()), ("RSTRH", "^r"));
    }

    #[test]
    fn half_open_states() {
        // SH: originator SYN then FIN, responder silent.
        let (st, h, _) = run(
            false,
            &[
                (C, S, 1, 0, 0),
                (C, A, 2, 9, 0),
                (C, PA, 2, 9, 4),
                (C, FA, 6, 9, 0),
            ],
        );
        assert_eq!((st, h.as_str()), ("SH", "SADF"));
        // SHR: flipped, only the responder: SYN-ACK, ACK, FIN (Zeek one-sided baseline "^haf").
        let (st, h, _) = run(
            true,
            &[(V, SA, 50, 11, 0), (V, A, 51, 11, 0), (V, FA, 51, 11, 0)],
        );
        assert_eq!((st, h.as_str()), ("SHR", "^haf"));
        // S2 and S3: established, one FIN.
        let mut s = handshake();
        s.push((C, FA, 101, 501, 0));
        assert_eq!(run(false, &s).0, "S2");
        let mut s = handshake();
        s.push((V, FA, 501, 101, 0));
        assert_eq!(run(false, &s).0, "S3");
        // OTH: mid-stream data both ways, no handshake, no FIN (Zeek wikipedia "DdA").
        let (st, h, _) = run(
            false,
            &[(C, PA, 10, 90, 5), (V, PA, 90, 15, 7), (C, A, 15, 97, 0)],
        );
        assert_eq!((st, h.as_str()), ("OTH", "DdA"));
    }

    #[test]
    fn multi_flag_letters_and_repeats() {
        let (_, h, _) = run(false, &[(C, S | FIN, 1, 0, 0), (V, R | FIN, 9, 2, 0)]);
        assert_eq!(h, "Qi");
        // A second FIN at a different sequence number repeats the letter; at the same one not.
        let mut s = handshake();
        s.extend([
            (C, FA, 101, 501, 0),
            (C, FA, 101, 501, 0),
            (C, FA, 105, 501, 0),
        ]);
        assert_eq!(run(false, &s).1, "ShAFF");
    }

    #[test]
    fn retransmissions_scale_by_powers_of_ten() {
        let mut s = handshake();
        s.push((C, PA, 101, 501, 100));
        for _ in 0..12 {
            s.push((C, PA, 101, 501, 100));
        }
        let (_, h, t) = run(false, &s);
        assert_eq!(h, "ShADTT", "T at the 1st and 10th retransmission");
        assert_eq!(t.ep[Dir::C2s].rxmt.count, 12);
    }

    #[test]
    fn zero_window_letter() {
        let mut h = String::new();
        let mut t = TcpState::new(false, &mut h);
        for (dir, flags, seq, ack, win) in [(C, S, 1, 0, 100), (V, SA, 9, 2, 100), (C, A, 2, 10, 0)]
        {
            t.on_segment(
                &mut h,
                dir,
                &Segment {
                    flags,
                    seq,
                    ack,
                    len: 0,
                    window: win,
                    captured: true,
                },
                0,
            );
        }
        assert_eq!(h, "ShAW");
    }

    #[test]
    fn close_completion_and_attempt_timer() {
        let mut s = handshake();
        s.push((C, FA, 101, 501, 0));
        let (_, _, t) = run(false, &s);
        assert_eq!(
            t.closed_at, None,
            "one FIN with an active peer is not a complete close"
        );
        s.push((V, FA, 501, 102, 0));
        let (_, _, t) = run(false, &s);
        assert!(t.closed_at.is_some());
        let (_, _, t) = run(false, &[(C, S, 1, 0, 0)]);
        assert!(!t.attempt_expired(4_999_999_999, 5_000_000_000, false));
        assert!(t.attempt_expired(5_000_000_000, 5_000_000_000, false));
        assert!(
            !t.attempt_expired(5_000_000_000, 5_000_000_000, true),
            "a SYN retry stays in its flow"
        );
        assert!(t.is_syn_retry(S, 1));
        assert!(!t.is_syn_retry(S, 2));
        assert!(!t.is_syn_retry(SA, 1));
        assert!(
            !t.attempt_expired(9_000_000_000, 0, false),
            "0 disables the attempt timer"
        );
        let (_, _, t) = run(false, &handshake());
        assert!(
            !t.attempt_expired(60_000_000_000, 5_000_000_000, false),
            "answered attempts never expire"
        );
    }

    #[test]
    fn port_reuse_rule() {
        let (_, _, t) = run(false, &handshake());
        assert!(
            !t.is_reuse(S, 100),
            "a retransmitted SYN is the same connection"
        );
        assert!(
            t.is_reuse(S, 7777),
            "a SYN with a new ISN is a new connection"
        );
        assert!(!t.is_reuse(SA, 7777));
        let mut s = handshake();
        s.push((C, RA, 101, 501, 0));
        let (_, _, t) = run(false, &s);
        assert!(t.is_reuse(S, 100), "after a reset any SYN starts over");
    }

    #[test]
    fn gap_letters_need_an_established_connection() {
        let (_, mut h, mut t) = run(false, &handshake());
        t.on_gaps(&mut h, Dir::S2c, 1);
        assert_eq!(h, "ShAg");
        let (_, mut h, mut t) = run(false, &[(C, S, 1, 0, 0)]);
        t.on_gaps(&mut h, Dir::C2s, 3);
        assert_eq!(h, "S", "no gap letters before the handshake completes");
    }

    #[test]
    fn truncated_content_acked_is_a_gap() {
        // Zeek baseline rxmit-history: payload cut by the snaplen, then acknowledged: `G`/`g`.
        let mut h = String::new();
        let mut t = TcpState::new(false, &mut h);
        let segs = [
            (C, S, 0, 0, 0, true),
            (V, SA, 0, 1, 0, true),
            (C, A, 1, 1, 0, true),
            (C, PA, 1, 1, 474, false),
            (V, A, 1, 475, 0, true),
            (V, A, 1, 475, 1446, false),
            (C, A, 475, 1447, 0, true),
            (V, A, 1447, 475, 1446, true),
            (C, A, 475, 2893, 0, true),
        ];
        for (dir, flags, seq, ack, len, captured) in segs {
            t.on_segment(
                &mut h,
                dir,
                &Segment {
                    flags,
                    seq,
                    ack,
                    len,
                    window: 9,
                    captured,
                },
                0,
            );
        }
        assert_eq!(
            h, "ShADaGdg",
            "one gap each way; the fully captured segment is no gap"
        );
        assert_eq!(t.ep[Dir::S2c].gap.count, 1);
    }

    #[test]
    fn history_is_bounded() {
        let mut h = String::new();
        let mut t = TcpState::new(false, &mut h);
        for i in 0..10_000u32 {
            let seg = Segment {
                flags: R,
                seq: i * 7,
                ack: 0,
                len: 0,
                window: 1,
                captured: true,
            };
            t.on_segment(&mut h, Dir::C2s, &seg, 0);
        }
        assert!(h.len() <= MAX_HISTORY);
    }
}
