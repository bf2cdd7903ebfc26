//! Detectors: pure functions of finished flows (and calls) that emit findings.
//! One file per detector behind [`Detector`]; [`REGISTRY`] lists them.
//!
//! # Shared facts
//! What more than one detector needs (the capture's TTL per sender, two-way evidence, the
//! RST judgements, a TCP direction's labelled segments, path RTTs and policer test) is a
//! fact in [`facts::Facts`], reached through [`Input::facts`]: computed on first use, at
//! most once per analysis, and then read by reference. `facts.rs` lists every fact, what it
//! is computed from and who reads it. A detector never recomputes another's work: it reads
//! the fact (e.g. `handshake` reads `input.facts().injected_resets()` rather than judging
//! RSTs again; `shaper` reads `policer_test` rather than replaying the token bucket).
//!
//! # Adding a detector
//! One file plus one line:
//! 1. `detect/<phenomenon>.rs` with a unit struct implementing [`Detector`]; its doc
//!    comment gives the heuristic, each threshold and its source, and the known false
//!    positives (`docs/findings.md` says the same for readers of the report). Thresholds
//!    go in [`DetectConfig`]'s sub-configs. It ends with tests built from literal packets
//!    (`crate::testkit::flows`'s builders; `run_detector` runs one detector alone).
//! 2. `pub mod <phenomenon>;` here and one line in [`REGISTRY`] (the order only matters for
//!    findings equal in time, flow and kind: [`run_all`] sorts by those).
//! 3. Read what other detectors also need from `input.facts()`. Iterate flows by index
//!    when you need per-direction facts (`series::tcp_directions` yields the index).
//! 4. If your detector computes something another one needs too, make it a fact: a
//!    `OnceCell` field and accessor in `facts.rs`, the computation a pure function beside
//!    the detector that owns the idea, a row in `facts.rs`'s table and a count in
//!    `facts::Computed` (the "computed once" test then covers it).

pub mod blocking;
pub mod blocking_hop;
pub mod dns;
pub mod facts;
pub mod handshake;
pub mod http_block_page;
pub mod policer;
pub mod quic;
pub mod request_blackholed;
pub mod return_path;
pub mod rst_injection;
pub mod rtp_quality;
pub mod series;
pub mod shaper;
pub mod synack_injection;
pub mod tls_sni;
pub mod udp;
pub mod vantage;

use crate::label::LabeledFlow;
use crate::report::{Call, Finding};

/// Thresholds shared by detectors (each detector documents where its values come from).
#[derive(Clone, Debug, Default)]
pub struct DetectConfig {
    /// Thresholds of the throttling detectors (defaults and sources in `series.rs`).
    pub throttle: series::ThrottleConfig,
    /// Thresholds of the blocking detectors (defaults and sources in `blocking.rs`).
    pub blocking: blocking::BlockingConfig,
    /// The per-capture work budget in packet visits ([`facts::Facts::charge`]); `None` is
    /// [`DEFAULT_WORK_BUDGET`].
    pub work_budget: Option<u64>,
}

/// Packet visits the per-flow analyses (TCP throttling, RST judgement, RTP rate series) may
/// spend on one capture. Every detector is linear in the packets it reads and the packet
/// logs are capped (4,000,000 entries in all), so real captures spend a few tens of millions;
/// the budget bounds the work whatever the caps, and what it skips is named in
/// `capture.limits` (`work_budget`).
pub const DEFAULT_WORK_BUDGET: u64 = 200_000_000;

/// What detectors see: the flows, the calls, the thresholds and the shared facts.
pub struct Input<'a> {
    pub flows: &'a [LabeledFlow],
    pub calls: &'a [Call],
    pub config: &'a DetectConfig,
    facts: facts::Facts<'a>,
}

impl<'a> Input<'a> {
    /// The input of one analysis; no fact is computed until a detector asks for it.
    pub fn new(flows: &'a [LabeledFlow], calls: &'a [Call], config: &'a DetectConfig) -> Input<'a> {
        Input {
            flows,
            calls,
            config,
            facts: facts::Facts::new(flows, config),
        }
    }

    /// The same input with the link-layer [`vantage::Hints`] the analyzer gathered.
    pub fn with_hints(mut self, hints: vantage::Hints) -> Input<'a> {
        self.facts.set_hints(hints);
        self
    }

    /// The facts several detectors share (see [`facts`]).
    pub fn facts(&self) -> &facts::Facts<'a> {
        &self.facts
    }
}

/// A detector: facts in, findings out.
pub trait Detector: Sync {
    /// Stable id of the detector (usually the finding kind it emits).
    fn name(&self) -> &'static str;
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>);
}

/// All detectors, run in this order.
pub const REGISTRY: &[&dyn Detector] = &[
    &rst_injection::RstInjection,
    &synack_injection::SynackInjection,
    &handshake::Handshake,
    &tls_sni::TlsSni,
    &http_block_page::HttpBlockPage,
    &request_blackholed::RequestBlackholed,
    &blocking_hop::BlockingHop,
    &quic::QuicBlocked,
    &udp::UdpBlocking,
    &dns::DnsTampering,
    &policer::Policer,
    &shaper::Shaper,
    &rtp_quality::RtpQuality,
];

/// Runs every detector and returns the findings in a deterministic order (ts, flow, kind),
/// each citing at least one frame that reached the capture host ([`return_path::cite`]).
pub fn run_all(input: &Input<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in REGISTRY {
        d.detect(input, &mut out);
    }
    out.sort_by(|a, b| {
        a.ts.total_cmp(&b.ts)
            .then(a.flow.cmp(&b.flow))
            .then(a.kind.as_str().cmp(b.kind.as_str()))
    });
    // No finding rests only on packets the capture host sent (issue 10).
    return_path::cite(input, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lists_every_detector_once() {
        let names: Vec<&str> = REGISTRY.iter().map(|d| d.name()).collect();
        assert_eq!(
            names,
            [
                "tcp_reset_injected",
                "tcp_synack_injected",
                "handshake",
                "tls_sni",
                "http_block_page",
                "request_blackholed",
                "blocking_hop",
                "quic_blocked",
                "udp",
                "dns",
                "throttling_policer",
                "throttling_shaper",
                "rtp_quality",
            ]
        );
    }
}
