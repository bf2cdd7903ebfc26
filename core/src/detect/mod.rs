//! Detectors: pure functions of finished flows (and calls) that emit findings.
//! One file per detector behind [`Detector`]; [`REGISTRY`] lists them.

pub mod blocking;
pub mod dns;
pub mod handshake;
pub mod policer;
pub mod quic;
pub mod rst_injection;
pub mod rtp_quality;
pub mod series;
pub mod shaper;
#[cfg(test)]
pub(crate) mod testutil;
pub mod throttling;
pub mod tls_sni;
pub mod udp;

use crate::label::LabeledFlow;
use crate::report::{Call, Finding};

/// Thresholds shared by detectors (each detector documents where its values come from).
#[derive(Clone, Debug, Default)]
pub struct DetectConfig {
    /// Thresholds of the throttling detectors (defaults and sources in `series.rs`).
    pub throttle: series::ThrottleConfig,
    /// Thresholds of the blocking detectors (defaults and sources in `blocking.rs`).
    pub blocking: blocking::BlockingConfig,
}

/// What detectors see.
pub struct Input<'a> {
    pub flows: &'a [LabeledFlow],
    pub calls: &'a [Call],
    pub config: &'a DetectConfig,
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
    &handshake::Handshake,
    &tls_sni::TlsSni,
    &quic::QuicBlocked,
    &udp::UdpBlocking,
    &dns::DnsTampering,
    // `policer::Policer` then `shaper::Shaper`, sharing their per-direction work.
    &throttling::Throttling,
    &rtp_quality::RtpQuality,
];

/// Runs every detector and returns the findings in a deterministic order (ts, flow, kind).
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
    out
}
