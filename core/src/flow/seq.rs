//! Per-direction TCP sequence tracking: `snd_max`, retransmissions and holes.
//!
//! What it tells, seen from the capture point (all sequence arithmetic wraps, RFC 1982 style):
//! - a segment starting past `snd_max` opens a *hole*: the bytes in between were lost before
//!   the capture point (or the capture dropped them) — [`obs::HOLE_OPENED`];
//! - a segment below `snd_max` that covers part of an open hole *fills* it: on a receiver-side
//!   capture that is the loss being repaired — [`obs::HOLE_FILLED`];
//! - any other segment below `snd_max` is a *retransmission* of bytes already seen
//!   ([`obs::RETRANSMISSION`]), unless it is an exact copy of the previous packet of its
//!   direction (same IP ID, sequence number, length and flags), which is a capture duplicate
//!   ([`obs::DUPLICATE`]) and counted as neither. IPv6 packets carry no IP ID, so an exact
//!   copy of an IPv6 segment counts as a retransmission. (Copies captured within 5 ms — a
//!   bridge and its port under `-i any`, a VLAN sub-interface and its parent — never get
//!   here: the flow table drops them as `duplicate_frame`.)
//! - when the peer acknowledges bytes inside a hole, or past `snd_max`, those bytes were
//!   delivered but never captured: they count as `missed_bytes` (Zeek's `missed_bytes`) and
//!   the hole is closed. Each such region is one "content gap" (Zeek's `G` history letter).
//!
//! Holes are kept as a short list of ranges per direction ([`MAX_HOLES`], oldest dropped), so
//! per-packet work is bounded.

use super::{obs, DirFacts};

/// Most open holes remembered per direction.
pub const MAX_HOLES: usize = 16;

/// Acknowledgements that jump further than this past `snd_max` are not trusted (Zeek uses the
/// same 1 MiB bound for sequence jumps).
const TOO_LARGE_ACK_JUMP: u32 = 1_048_576;

/// `a < b` in sequence space.
pub fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a <= b` in sequence space.
pub fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

fn max(a: u32, b: u32) -> u32 {
    if lt(a, b) {
        b
    } else {
        a
    }
}

fn min(a: u32, b: u32) -> u32 {
    if lt(a, b) {
        a
    } else {
        b
    }
}

/// Removes `[a, b)` from the open holes; returns the number of bytes removed.
fn cut_holes(holes: &mut crate::slim::Slim<(u32, u32)>, a: u32, b: u32) -> u64 {
    if !lt(a, b) || holes.is_empty() {
        return 0;
    }
    let mut removed = 0u64;
    let mut i = 0;
    // Each iteration either advances `i` or shrinks the list; a split adds one element and
    // advances past both halves, so the loop is bounded by 2 × MAX_HOLES + 1.
    while i < holes.len() {
        let Some(&(hs, he)) = holes.get(i) else { break };
        let (os, oe) = (max(hs, a), min(he, b));
        if !lt(os, oe) {
            i += 1;
            continue;
        }
        removed += u64::from(oe.wrapping_sub(os));
        let left = lt(hs, os);
        let right = lt(oe, he);
        match (left, right) {
            (false, false) => {
                holes.remove(i);
            }
            (true, false) => {
                if let Some(h) = holes.get_mut(i) {
                    h.1 = os;
                }
                i += 1;
            }
            (false, true) => {
                if let Some(h) = holes.get_mut(i) {
                    h.0 = oe;
                }
                i += 1;
            }
            (true, true) => {
                if let Some(h) = holes.get_mut(i) {
                    h.1 = os;
                }
                holes.insert(i + 1, (oe, he));
                i += 2;
            }
        }
    }
    if holes.len() > MAX_HOLES {
        let extra = holes.len() - MAX_HOLES;
        holes.drop_front(extra);
    }
    removed
}

/// Last packet of a direction, to recognise capture duplicates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Signature {
    pub ip_id: u32,
    pub seq: u32,
    pub len: u32,
    pub flags: u8,
}

/// Feeds one segment of this direction: `seq`, its sequence-space length (payload + SYN + FIN,
/// 0 for a RST's payload), whether it is a SYN, and whether it duplicates the previous packet.
/// Returns the [`obs`] bits.
pub fn on_segment(d: &mut DirFacts, seq: u32, seg_len: u32, syn: bool, duplicate: bool) -> u8 {
    if syn && d.isn != Some(seq) {
        // A (new) SYN starts the sequence space over.
        d.isn = Some(seq);
        d.snd_max = Some(seq.wrapping_add(seg_len));
        d.open_holes.clear();
        return 0;
    }
    let end = seq.wrapping_add(seg_len);
    let Some(snd_max) = d.snd_max else {
        d.snd_max = Some(end);
        return 0;
    };
    if seg_len == 0 {
        return if duplicate { obs::DUPLICATE } else { 0 };
    }
    if lt(snd_max, seq) {
        d.open_holes.push((snd_max, seq));
        if d.open_holes.len() > MAX_HOLES {
            d.open_holes.remove(0);
        }
        d.holes_opened += 1;
        d.snd_max = Some(end);
        return obs::HOLE_OPENED;
    }
    let old_end = min(end, snd_max);
    let filled = cut_holes(&mut d.open_holes, seq, old_end) > 0;
    if lt(snd_max, end) {
        d.snd_max = Some(end);
    }
    if filled {
        d.holes_filled += 1;
        obs::HOLE_FILLED
    } else if lt(seq, old_end) {
        if duplicate {
            obs::DUPLICATE
        } else {
            d.retransmissions += 1;
            obs::RETRANSMISSION
        }
    } else {
        0
    }
}

/// The peer acknowledged `ack` for this direction's data. Closes the holes (and the tail past
/// `snd_max`) it covers, counting their bytes as missed; returns how many regions were missed.
pub fn on_ack(d: &mut DirFacts, ack: u32) -> u32 {
    let Some(snd_max) = d.snd_max else { return 0 };
    if lt(snd_max, ack) && ack.wrapping_sub(snd_max) > TOO_LARGE_ACK_JUMP {
        // Not a plausible acknowledgement (forged, or another connection's): ignore it whole.
        return 0;
    }
    let mut regions = 0;
    if let Some(&(first, _)) = d.open_holes.first() {
        if lt(first, ack) {
            let n = d.open_holes.iter().filter(|(hs, _)| lt(*hs, ack)).count();
            let bytes = cut_holes(&mut d.open_holes, first, min(ack, snd_max));
            d.missed_bytes = d.missed_bytes.saturating_add(bytes);
            regions += u32::try_from(n).unwrap_or(u32::MAX);
        }
    }
    if lt(snd_max, ack) {
        d.missed_bytes = d
            .missed_bytes
            .saturating_add(u64::from(ack.wrapping_sub(snd_max)));
        d.snd_max = Some(ack);
        regions += 1;
    }
    regions
}

/// True while this direction has bytes missing below `snd_max`.
pub fn has_holes(d: &DirFacts) -> bool {
    !d.open_holes.is_empty()
}

/// Records the highest acknowledgement this direction sent.
pub fn note_ack_sent(d: &mut DirFacts, ack: u32) {
    match d.ack_max {
        Some(m) if le(ack, m) => {}
        _ => d.ack_max = Some(ack),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(d: &mut DirFacts, seq: u32, len: u32) -> u8 {
        on_segment(d, seq, len, false, false)
    }

    #[test]
    fn in_order_data_is_clean() {
        let mut d = DirFacts::default();
        assert_eq!(on_segment(&mut d, 1000, 1, true, false), 0);
        assert_eq!(seg(&mut d, 1001, 100), 0);
        assert_eq!(seg(&mut d, 1101, 100), 0);
        assert_eq!(d.snd_max, Some(1201));
        assert_eq!(
            (d.retransmissions, d.holes_opened, d.holes_filled),
            (0, 0, 0)
        );
    }

    #[test]
    fn retransmission_vs_hole_fill() {
        let mut d = DirFacts::default();
        on_segment(&mut d, 0, 1, true, false);
        assert_eq!(seg(&mut d, 1, 100), 0);
        assert_eq!(
            seg(&mut d, 201, 100),
            obs::HOLE_OPENED,
            "bytes 101..201 missing"
        );
        assert_eq!(d.open_holes.to_vec(), vec![(101, 201)]);
        assert_eq!(seg(&mut d, 101, 50), obs::HOLE_FILLED);
        assert_eq!(d.open_holes.to_vec(), vec![(151, 201)]);
        assert_eq!(
            seg(&mut d, 1, 100),
            obs::RETRANSMISSION,
            "data seen before, no hole"
        );
        assert_eq!(seg(&mut d, 151, 50), obs::HOLE_FILLED);
        assert!(!has_holes(&d));
        assert_eq!(
            (d.retransmissions, d.holes_opened, d.holes_filled),
            (1, 1, 2)
        );
    }

    #[test]
    fn duplicate_is_not_a_retransmission() {
        let mut d = DirFacts::default();
        seg(&mut d, 1, 100);
        assert_eq!(on_segment(&mut d, 1, 100, false, true), obs::DUPLICATE);
        assert_eq!(d.retransmissions, 0);
    }

    #[test]
    fn split_hole_and_bounded_list() {
        let mut d = DirFacts::default();
        seg(&mut d, 0, 10);
        seg(&mut d, 100, 10);
        assert_eq!(seg(&mut d, 40, 10), obs::HOLE_FILLED);
        assert_eq!(d.open_holes.to_vec(), vec![(10, 40), (50, 100)]);
        for i in 0..40u32 {
            seg(&mut d, 200 + i * 20, 10);
        }
        assert!(d.open_holes.len() <= MAX_HOLES);
    }

    #[test]
    fn wraps_around_zero() {
        let mut d = DirFacts::default();
        on_segment(&mut d, u32::MAX - 10, 1, true, false);
        assert_eq!(seg(&mut d, u32::MAX - 9, 100), 0);
        assert_eq!(d.snd_max, Some(90));
        assert_eq!(seg(&mut d, 90, 10), 0);
        assert_eq!(seg(&mut d, u32::MAX - 9, 20), obs::RETRANSMISSION);
    }

    #[test]
    fn acks_close_holes_as_missed_bytes() {
        let mut d = DirFacts::default();
        seg(&mut d, 1, 100);
        seg(&mut d, 201, 100);
        assert_eq!(on_ack(&mut d, 101), 0);
        assert_eq!(
            on_ack(&mut d, 301),
            1,
            "the hole was acknowledged: never captured"
        );
        assert_eq!(d.missed_bytes, 100);
        assert!(!has_holes(&d));
        assert_eq!(
            on_ack(&mut d, 351),
            1,
            "acknowledged past the last byte seen"
        );
        assert_eq!(d.missed_bytes, 150);
        assert_eq!(
            on_ack(&mut d, 351 + 5_000_000),
            0,
            "absurd jumps are ignored"
        );
        seg(&mut d, 451, 10);
        assert_eq!(d.open_holes.to_vec(), vec![(351, 451)]);
        assert_eq!(on_ack(&mut d, 461 + 5_000_000), 0);
        assert_eq!(
            d.open_holes.to_vec(),
            vec![(351, 451)],
            "an absurd ACK closes no hole"
        );
    }

    #[test]
    fn ack_max() {
        let mut d = DirFacts::default();
        note_ack_sent(&mut d, 10);
        note_ack_sent(&mut d, 5);
        assert_eq!(d.ack_max, Some(10));
        note_ack_sent(&mut d, 11);
        assert_eq!(d.ack_max, Some(11));
    }
}
