//! Return-path citations: no finding rests only on packets the capture host sent (issue 10).
//!
//! Findings about silence — an unanswered STUN request, QUIC Initials, SYNs, media sent
//! into a black hole — cite what the capture host sent, which on its own proves nothing:
//! the answers may simply not have been captured. Every detector that judges silence
//! already requires two-way traffic elsewhere in the capture; this pass makes that proof
//! checkable: when every frame a finding cites was sent by the capture host
//! ([`super::vantage::Vantage::sent_by_host`]), it adds the frame that reached the host
//! nearest in time — from the same server address if one exists, else from any flow.
//!
//! One pass over the flows' packet logs for the cited frames' senders and the candidates,
//! then a binary search per finding (candidates per address and capture-wide are bounded).

use super::Input;
use crate::flow::Dir;
use crate::report::Finding;
use crate::Nanos;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Adds a frame that reached the capture host to every finding that cites only frames the
/// host sent (see the module docs). Does nothing without a known capture host.
pub fn cite(input: &Input<'_>, findings: &mut [Finding]) {
    let vantage = input.facts().vantage();
    let Some(host) = vantage.host else { return };
    let cited: BTreeSet<u64> = findings
        .iter()
        .flat_map(|f| f.packets.iter().copied())
        .collect();
    if cited.is_empty() {
        return;
    }
    // Sender of every cited frame, whether the host sent it, and its time.
    let mut by_host: BTreeMap<u64, (bool, Nanos, IpAddr)> = BTreeMap::new();
    // Frames that reached the host, by the remote address they came from: (ts, frame).
    let mut inbound: BTreeMap<IpAddr, Vec<(Nanos, u64)>> = BTreeMap::new();
    for f in input.flows {
        for p in &f.packets {
            let (src, dst) = match p.dir {
                Dir::C2s => (f.client.ip(), f.server.ip()),
                Dir::S2c => (f.server.ip(), f.client.ip()),
            };
            let own = vantage.sent_by_host(src, p.ttl);
            if cited.contains(&p.frame) {
                by_host.insert(p.frame, (own, p.ts, dst));
            }
            if !own && dst == host {
                let v = inbound.entry(src).or_default();
                if v.len() < 4096 {
                    v.push((p.ts, p.frame));
                }
            }
        }
    }
    // ARP messages from other machines to the host (the gateway asking for it).
    for (a, fr, ts) in &input.facts().hints().arp {
        let (s, t) = (IpAddr::V4(a.sender), IpAddr::V4(a.target));
        if t == host && s != host {
            inbound.entry(s).or_default().push((*ts, *fr));
        }
    }
    if inbound.is_empty() {
        return;
    }
    // Sorted by time, for a binary search per finding; the capture-wide list is bounded.
    let mut all: Vec<(Nanos, u64)> = Vec::new();
    for v in inbound.values_mut() {
        v.sort_unstable();
        for x in v.iter() {
            if all.len() < MAX_ALL {
                all.push(*x);
            }
        }
    }
    all.sort_unstable();
    for f in findings.iter_mut() {
        let Some(first) = f.packets.first().and_then(|fr| by_host.get(fr)) else {
            continue;
        };
        if !f
            .packets
            .iter()
            .all(|fr| by_host.get(fr).is_some_and(|(own, _, _)| *own))
        {
            continue;
        }
        let (_, t, peer) = *first;
        let pick = inbound
            .get(&peer)
            .and_then(|v| nearest(v, t))
            .or_else(|| nearest(&all, t));
        if let Some(fr) = pick {
            f.packets.push(fr);
            f.packets.sort_unstable();
            f.packets.dedup();
        }
    }
}

/// Most inbound frames kept for the capture-wide fallback.
const MAX_ALL: usize = 1 << 16;

/// The frame of `v` (sorted by time) nearest to `t`, earlier on a tie.
fn nearest(v: &[(Nanos, u64)], t: Nanos) -> Option<u64> {
    let i = v.partition_point(|(ts, _)| *ts < t);
    let after = v.get(i);
    let before = i.checked_sub(1).and_then(|j| v.get(j));
    match (before, after) {
        (Some(b), Some(a)) => Some(if t.abs_diff(b.0) <= a.0.abs_diff(t) {
            b.1
        } else {
            a.1
        }),
        (Some(b), None) => Some(b.1),
        (None, Some(a)) => Some(a.1),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{run_all, DetectConfig, Input};
    use crate::decode::tcp_flags::{ACK, PSH, SYN};
    use crate::flow::Transport;
    use crate::testkit::flows::*;

    #[test]
    fn silence_findings_cite_a_frame_that_reached_the_host() {
        // 12 UDP datagrams to one address over 5.5 s, nothing back; another server answers
        // TCP meanwhile: the one-way finding cites its datagrams and that answer.
        let mut u = flow(0, Transport::Udp, "10.0.0.2:5000", "198.51.100.1:40000");
        let ps: Vec<P> = (0..12)
            .map(|i| pkt(1 + i, i as i64 * 500, C, 0, 0, 0, 100, 64))
            .collect();
        push(&mut u, &ps);
        let mut g = flow(1, Transport::Tcp, "10.0.0.2:40001", "203.0.113.5:80");
        push(
            &mut g,
            &[
                pkt(20, 2000, C, SYN, 1, 0, 0, 64),
                pkt(21, 2010, S, SYN | ACK, 9, 2, 0, 120),
                pkt(22, 2020, S, PSH | ACK, 10, 2, 100, 120),
            ],
        );
        let flows = recorded(&[u, g]);
        let config = DetectConfig::default();
        let input = Input::new(&flows, &[], &config);
        let out = run_all(&input);
        let x = out
            .iter()
            .find(|x| x.kind == "udp_one_way")
            .unwrap_or_else(|| panic!("{out:?}"));
        assert!(
            x.packets.iter().any(|fr| (20..=22).contains(fr)),
            "{:?}",
            x.packets
        );
        assert!(x.packets.contains(&1));
    }
}
