//! Wireshark display filters for findings (`Finding.filter`): paste one into Wireshark's
//! filter bar (or `tshark -Y`) to see the packets a finding is about.
//!
//! A finding about flows gets the flows' endpoints (`ip.addr==a && ip.addr==b &&
//! tcp.port==p && tcp.port==q`, several flows joined with `||`); a finding about no flow
//! gets the frames it cites (`frame.number in {3,7..9}`, the set syntax of Wireshark 4); a finding citing neither gets none.

use super::evidence::Evidence;
use super::Finding;
use crate::flow::{Flow, Transport};
use std::net::SocketAddr;

/// Above this many flows a filter lists the cited frames instead (it stays readable).
const MAX_FLOWS: usize = 8;

/// The flows a finding is about: its own, then those its evidence lists, each once.
pub fn finding_flows(f: &Finding) -> Vec<u32> {
    let mut out: Vec<u32> = f.flow.into_iter().collect();
    let more: Vec<u32> = match &f.evidence {
        Evidence::Quic(e) => e.flows.iter().chain(&e.tcp_flows).copied().collect(),
        Evidence::UdpMediaBlocked(e) => e
            .udp_flows
            .iter()
            .chain(&e.stun_unanswered_flows)
            .copied()
            .collect(),
        Evidence::CallTcpFallback(e) => std::iter::once(e.tcp_flow)
            .chain(e.udp_flows.iter().copied())
            .chain(e.stun_unanswered_flows.iter().copied())
            .collect(),
        Evidence::IceTcpFallback(e) => std::iter::once(e.tcp_flow)
            .chain(e.udp_flows.iter().copied())
            .collect(),
        _ => Vec::new(),
    };
    for id in more {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

fn addr_field(a: &SocketAddr) -> &'static str {
    if a.is_ipv4() {
        "ip.addr"
    } else {
        "ipv6.addr"
    }
}

/// The display filter of one flow: both addresses, and both ports or the ICMP protocol.
pub fn flow_filter(f: &Flow) -> String {
    let (c, s) = (&f.client, &f.server);
    let mut parts = vec![
        format!("{}=={}", addr_field(c), c.ip()),
        format!("{}=={}", addr_field(s), s.ip()),
    ];
    match f.transport {
        Transport::Tcp | Transport::Udp => {
            let l4 = f.transport.as_str();
            parts.push(format!("{l4}.port=={}", c.port()));
            if s.port() != c.port() {
                parts.push(format!("{l4}.port=={}", s.port()));
            }
        }
        Transport::Icmp if c.is_ipv4() => parts.push("icmp".into()),
        Transport::Icmp => parts.push("icmpv6".into()),
        Transport::Other(p) if c.is_ipv4() => parts.push(format!("ip.proto=={p}")),
        Transport::Other(p) => parts.push(format!("ipv6.nxt=={p}")),
    }
    parts.join(" && ")
}

/// `frame.number in {…}` over the frames, runs written as ranges (`3..7`).
pub fn frames_filter(frames: &[u64]) -> Option<String> {
    let mut v: Vec<u64> = frames.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut runs: Vec<String> = Vec::new();
    let mut it = v.into_iter();
    let mut cur = it.next()?;
    let mut start = cur;
    for n in it.chain(std::iter::once(u64::MAX)) {
        if n == cur.saturating_add(1) && n != u64::MAX {
            cur = n;
            continue;
        }
        runs.push(if start == cur {
            start.to_string()
        } else {
            format!("{start}..{cur}")
        });
        start = n;
        cur = n;
    }
    Some(format!("frame.number in {{{}}}", runs.join(",")))
}

/// The display filter of a finding, given the capture's flows (indexed by id).
pub fn finding_filter(f: &Finding, flows: &[&Flow]) -> Option<String> {
    let ids = finding_flows(f);
    let found: Vec<&Flow> = ids
        .iter()
        .filter_map(|id| flows.iter().copied().find(|fl| fl.id == *id))
        .collect();
    if !found.is_empty() && found.len() == ids.len() && found.len() <= MAX_FLOWS {
        if let [one] = found.as_slice() {
            return Some(flow_filter(one));
        }
        let each: Vec<String> = found
            .iter()
            .map(|fl| format!("({})", flow_filter(fl)))
            .collect();
        return Some(each.join(" || "));
    }
    frames_filter(&f.packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_become_ranges() {
        assert_eq!(
            frames_filter(&[9, 3, 4, 5, 7, 3]).as_deref(),
            Some("frame.number in {3..5,7,9}")
        );
        assert_eq!(frames_filter(&[1]).as_deref(), Some("frame.number in {1}"));
        assert_eq!(frames_filter(&[]), None);
    }
}
