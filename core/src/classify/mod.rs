//! VoIP and app classification: one file per classifier behind [`Classifier`], a const
//! registry, and cross-flow caches (STUN endpoints, DNS answers) fed in capture order.

use crate::decode::Decoded;
use crate::flow::{Dir, Flow};
use crate::Nanos;
use serde::Serialize;

/// What a flow carries, from classification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Call,
    Chat,
    Web,
    Dns,
    #[default]
    Other,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    #[default]
    Low,
    Medium,
    High,
}

/// RTP stream metrics (RFC 3550) for one SSRC in one direction.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RtpStats {
    pub ssrc: u32,
    pub dir: &'static str,
    pub payload_type: u8,
    pub packets: u64,
}

/// Per-flow classification result and classifier state.
#[derive(Clone, Debug, Default)]
pub struct FlowClass {
    pub app: Option<&'static str>,
    pub service: Service,
    /// Protocol ids, sorted and unique.
    pub protocols: Vec<&'static str>,
    pub sni: Option<String>,
    pub confidence: Confidence,
    /// Short human-readable reasons, in the order found.
    pub evidence: Vec<String>,
    pub rtp: Vec<RtpStats>,
}

/// The classification engine: per-packet inspection plus cross-flow caches.
#[derive(Debug, Default)]
pub struct Engine {}

impl Engine {
    pub fn new() -> Self {
        Engine::default()
    }
    /// Inspects one packet of `flow` (called in capture order, after the flow table saw it).
    pub fn on_packet(&mut self, flow: &mut Flow, dir: Dir, frame: u64, ts: Nanos, d: &Decoded<'_>) {
        let _ = (flow, dir, frame, ts, d);
    }
    /// Finalises labels and groups flows into calls.
    pub fn finish(&mut self, flows: &mut [Flow]) -> Vec<crate::report::Call> {
        let _ = flows;
        Vec::new()
    }
}
