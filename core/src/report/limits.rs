//! `capture.limits`: every cap that cut evidence, so no finding or verdict rests on a silent
//! limit (DESIGN §6).
//!
//! Whole-flow facts (packets and bytes each way, first and last packet each way, packets sent
//! after the other side fell silent, the rate series) are streaming counters that see every
//! packet. What stays bounded — the per-flow packet log (first and last packets kept), rate
//! bins, RTT samples, ICMP errors, the flow table itself — is listed here when a cap was hit,
//! with the flows it cut, and [`crate::verdict::apply_limits`] turns the verdicts it could
//! have changed from `ok` to `inconclusive`.

use crate::flow::{limit, Flow, FlowConfig};
use serde::Serialize;

/// One limit that cut evidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Limit {
    /// Stable id: `memory` (no memory for one more flow; `max` is the flows held then),
    /// `flows`, `packets_per_flow`, `packets_total`, `rate_bins_per_flow`,
    /// `rate_bins_total`, `rtt_samples_per_flow`, `rtt_samples_total`, `icmp_errors_per_flow`,
    /// `work_budget`.
    pub limit: &'static str,
    /// The configured cap.
    pub max: u64,
    /// How many flows it cut (0 for the flow table: the packets it refused had no flow).
    pub flow_count: u64,
    /// The first flows it cut, by id (at most [`MAX_IDS`]).
    pub flows: Vec<u32>,
    /// What it dropped: packets (flow table, packet logs); 0 when not counted.
    pub dropped: u64,
    /// What the cut means for the findings and verdicts, one sentence.
    pub effect: String,
}

/// Every limit id [`limits`] and [`work_budget`] can give (each has a `limit.<id>` message).
pub const IDS: &[&str] = &[
    "memory",
    "flows",
    "packets_per_flow",
    "packets_total",
    "rate_bins_per_flow",
    "rate_bins_total",
    "rtt_samples_per_flow",
    "rtt_samples_total",
    "icmp_errors_per_flow",
    "work_budget",
];

/// Most flow ids listed per limit.
pub const MAX_IDS: usize = 32;

/// The limits of one analysis, in a fixed order (the flow table first, then per-flow records).
/// `memory_refused` counts the packets among `untracked_packets` refused because memory for
/// one more flow could not be reserved (the `memory` entry), the rest hit `max_flows`.
pub fn limits(
    flows: &[&Flow],
    cfg: &FlowConfig,
    untracked_packets: u64,
    memory_refused: u64,
) -> Vec<Limit> {
    let mut out = Vec::new();
    if memory_refused > 0 {
        out.push(Limit {
            dropped: memory_refused,
            effect: format!(
                "memory for more flows could not be reserved: {memory_refused} packets of later flows were not analysed, so no verdict can be ok"
            ),
            flow_count: 0,
            flows: Vec::new(),
            limit: "memory",
            max: flows.len() as u64,
        });
    }
    let untracked_packets = untracked_packets.saturating_sub(memory_refused);
    if untracked_packets > 0 {
        out.push(Limit {
            dropped: untracked_packets,
            effect: format!(
                "{untracked_packets} packets of flows past the flow cap were not analysed, so no verdict can be ok"
            ),
            flow_count: 0,
            flows: Vec::new(),
            limit: "flows",
            max: cfg.max_flows as u64,
        });
    }
    let rows: [(u8, &'static str, usize, &str); 7] = [
        (
            limit::PACKETS_PER_FLOW,
            "packets_per_flow",
            cfg.max_packets_per_flow,
            "the packet log kept the first and the last packets; counts, last packets and silences come from every packet, but throttling and TCP analysis saw only the unbroken start",
        ),
        (
            limit::PACKETS_TOTAL,
            "packets_total",
            cfg.max_packets_total,
            "the capture-wide packet log budget ran out; counts, last packets and silences come from every packet, but throttling and TCP analysis saw only the unbroken start",
        ),
        (
            limit::RATE_BINS_PER_FLOW,
            "rate_bins_per_flow",
            cfg.max_rate_bins,
            "the rate series stops at its longest span; later traffic is counted but not binned",
        ),
        (
            limit::RATE_BINS_TOTAL,
            "rate_bins_total",
            cfg.max_rate_bins_total,
            "the capture-wide rate-bin budget ran out; later traffic is counted but not binned",
        ),
        (
            limit::RTT_PER_FLOW,
            "rtt_samples_per_flow",
            cfg.max_rtt_samples,
            "later RTT samples were dropped; RTT facts come from the first ones",
        ),
        (
            limit::RTT_TOTAL,
            "rtt_samples_total",
            cfg.max_rtt_samples_total,
            "the capture-wide RTT sample budget ran out; RTT facts come from the first ones",
        ),
        (
            limit::ICMP_ERRORS,
            "icmp_errors_per_flow",
            cfg.max_icmp_errors,
            "later ICMP errors quoting these flows were counted as flows but not attached to them",
        ),
    ];
    for (bit, id, max, effect) in rows {
        let hit: Vec<&&Flow> = flows.iter().filter(|f| f.limits & bit != 0).collect();
        if hit.is_empty() {
            continue;
        }
        let dropped = if bit & (limit::PACKETS_PER_FLOW | limit::PACKETS_TOTAL) != 0 {
            hit.iter().map(|f| f.log_dropped).sum()
        } else {
            0
        };
        out.push(Limit {
            dropped,
            effect: effect.to_string(),
            flow_count: hit.len() as u64,
            flows: hit.iter().take(MAX_IDS).map(|f| f.id).collect(),
            limit: id,
            max: max as u64,
        });
    }
    out
}

/// The `work_budget` entry: which analyses the per-capture work budget skipped, on which
/// flows (`skipped` as [`crate::detect::facts::Facts::skipped`] gives it). None when nothing
/// was skipped.
pub fn work_budget(skipped: &[(&'static str, Vec<u32>)], max: u64) -> Option<Limit> {
    if skipped.is_empty() {
        return None;
    }
    let mut ids: Vec<u32> = skipped
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let what: Vec<String> = skipped
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} on {} flow{}",
                v.len(),
                if v.len() == 1 { "" } else { "s" }
            )
        })
        .collect();
    Some(Limit {
        limit: "work_budget",
        max,
        flow_count: ids.len() as u64,
        flows: ids.iter().take(MAX_IDS).copied().collect(),
        dropped: 0,
        effect: format!(
            "the per-capture work budget (packet visits) ran out: skipped {}",
            what.join(", ")
        ),
    })
}

/// True when a cut named by these [`limit`] bits could hide trouble (everything but the ICMP
/// error list, which only adds colour to findings made without it).
pub fn cuts_evidence(bits: u8) -> bool {
    bits & !limit::ICMP_ERRORS != 0
}
