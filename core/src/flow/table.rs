use super::{Flow, FlowConfig, Observed};
use crate::decode::Decoded;
use crate::Nanos;

/// The flow table. Flows stay in `flows` (first-seen order) until the report is built.
#[derive(Debug, Default)]
pub struct FlowTable {
    cfg: FlowConfig,
    flows: Vec<Flow>,
    /// Flows ended by idle timeout (a later packet of the same key started a new flow).
    pub timeouts: u64,
    /// Packets of new flows refused because `max_flows` was reached.
    pub untracked_packets: u64,
}

impl FlowTable {
    pub fn new(cfg: FlowConfig) -> Self {
        FlowTable { cfg, ..Default::default() }
    }
    /// Feeds one decoded packet; None when it has no flow (no IP layer, or the flow cap was hit).
    pub fn observe(&mut self, frame: u64, ts: Nanos, d: &Decoded<'_>) -> Option<Observed> {
        let _ = (frame, ts, d, &self.cfg);
        None
    }
    pub fn flows(&self) -> &[Flow] {
        &self.flows
    }
    pub fn flow_mut(&mut self, id: u32) -> Option<&mut Flow> {
        self.flows.get_mut(id as usize)
    }
    pub fn into_flows(self) -> Vec<Flow> {
        self.flows
    }
}
