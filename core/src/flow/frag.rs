//! IP fragment attribution: later fragments carry no ports, so the first fragment's flow is
//! remembered by (source, destination, protocol, IP ID) for a while.
//!
//! Bounded: at most `cap` trains are remembered; each is forgotten `timeout` after its first
//! fragment (RFC 791 suggests a reassembly timer of 15 s; Linux uses 30 s). Entries leave in
//! insertion order through a FIFO, so expiry is amortised O(1) per packet. A non-first
//! fragment whose train is unknown (first fragment not captured, out of order, or expired) is
//! not attributed to any flow.

use super::Dir;
use crate::Nanos;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Identity of a fragment train.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrainKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub id: u32,
}

#[derive(Clone, Copy, Debug)]
struct Train {
    flow: u32,
    dir: Dir,
    born: Nanos,
    /// Insertion number: a FIFO entry only removes the map entry it created.
    gen: u64,
}

/// The fragment-train map.
#[derive(Debug, Default)]
pub struct Fragments {
    map: HashMap<TrainKey, Train>,
    fifo: VecDeque<(TrainKey, u64)>,
    gen: u64,
}

impl Fragments {
    /// Remembers that the train `k` belongs to `flow` (first fragment seen at `ts`).
    pub fn insert(
        &mut self,
        k: TrainKey,
        flow: u32,
        dir: Dir,
        ts: Nanos,
        cap: usize,
        timeout: Nanos,
    ) {
        self.expire(ts, timeout);
        if cap == 0 {
            return;
        }
        while self.map.len() >= cap {
            if !self.pop_oldest() {
                break;
            }
        }
        // Re-inserted keys leave stale FIFO entries behind; keep the FIFO bounded too.
        while self.fifo.len() >= cap.saturating_mul(2) {
            if !self.pop_oldest() {
                break;
            }
        }
        self.gen += 1;
        self.map.insert(
            k,
            Train {
                flow,
                dir,
                born: ts,
                gen: self.gen,
            },
        );
        self.fifo.push_back((k, self.gen));
    }

    /// The flow and direction of a later fragment of train `k`, if remembered and fresh.
    pub fn lookup(&mut self, k: &TrainKey, ts: Nanos, timeout: Nanos) -> Option<(u32, Dir)> {
        self.expire(ts, timeout);
        self.map.get(k).map(|t| (t.flow, t.dir))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn pop_oldest(&mut self) -> bool {
        let Some((k, gen)) = self.fifo.pop_front() else {
            return false;
        };
        if self.map.get(&k).is_some_and(|t| t.gen == gen) {
            self.map.remove(&k);
        }
        true
    }

    fn expire(&mut self, ts: Nanos, timeout: Nanos) {
        // Bounded: each FIFO entry is popped at most once.
        while let Some(&(k, gen)) = self.fifo.front() {
            let stale = match self.map.get(&k) {
                Some(t) if t.gen == gen => ts.saturating_sub(t.born) > timeout,
                _ => true,
            };
            if !stale {
                break;
            }
            self.pop_oldest();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(id: u32) -> TrainKey {
        TrainKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            proto: 17,
            id,
        }
    }

    #[test]
    fn remembers_and_expires() {
        let mut f = Fragments::default();
        f.insert(k(1), 7, Dir::C2s, 0, 10, 100);
        assert_eq!(f.lookup(&k(1), 50, 100), Some((7, Dir::C2s)));
        assert_eq!(f.lookup(&k(2), 50, 100), None);
        assert_eq!(f.lookup(&k(1), 101, 100), None, "expired");
        assert!(f.is_empty());
    }

    #[test]
    fn bounded_by_cap() {
        let mut f = Fragments::default();
        for i in 0..100 {
            f.insert(k(i), i, Dir::S2c, 0, 8, 1_000);
        }
        assert_eq!(f.len(), 8);
        assert_eq!(f.lookup(&k(99), 0, 1_000), Some((99, Dir::S2c)));
        assert_eq!(f.lookup(&k(0), 0, 1_000), None, "the oldest left first");
    }

    #[test]
    fn reinsert_same_key_keeps_newest() {
        let mut f = Fragments::default();
        f.insert(k(1), 1, Dir::C2s, 0, 4, 100);
        f.insert(k(1), 2, Dir::C2s, 90, 4, 100);
        assert_eq!(
            f.lookup(&k(1), 150, 100),
            Some((2, Dir::C2s)),
            "the old FIFO entry must not evict the new one"
        );
    }
}
