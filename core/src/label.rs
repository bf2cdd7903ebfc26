//! What classification concluded about a flow: [`FlowLabels`], and [`LabeledFlow`], a flow
//! paired with its labels, which is what detectors, verdicts and the report read.
//!
//! Layering: this module imports only [`crate::flow`], [`crate::model`] and [`crate::tx`], so `flow` knows
//! nothing of classification and `report` can build a flow's row without importing
//! `classify`. The classifiers' scratch state is not here: the classify `Engine` owns it, per
//! flow, and [`Engine::finish`](crate::classify::Engine::finish) hands out the labels.

use crate::flow::Flow;
use crate::model::{App, Confidence, Protocol, Service};
use crate::tx::Transactions;
use serde::Serialize;
use std::ops::{Deref, DerefMut};

/// A set of [`Protocol`]s, one bit each. Iterates (and serialises) in id order, as the
/// report's sorted `protocols` array.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Protocols(u32);

// Every protocol has a bit.
const _: () = assert!(Protocol::ALL.len() <= 32);

impl Protocols {
    /// The empty set.
    pub const EMPTY: Protocols = Protocols(0);

    fn bit(p: Protocol) -> u32 {
        1u32 << (p as u32)
    }
    /// Adds `p`.
    pub fn insert(&mut self, p: Protocol) {
        self.0 |= Self::bit(p);
    }
    pub fn contains(&self, p: Protocol) -> bool {
        self.0 & Self::bit(p) != 0
    }
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }
    /// Adds every protocol of `other`.
    pub fn extend_from(&mut self, other: Protocols) {
        self.0 |= other.0;
    }
    /// The protocols, in id order.
    pub fn iter(&self) -> impl Iterator<Item = Protocol> + '_ {
        Protocol::ALL.iter().copied().filter(|p| self.contains(*p))
    }
    /// The protocols as a sorted list.
    pub fn to_vec(&self) -> Vec<Protocol> {
        self.iter().collect()
    }
}

impl FromIterator<Protocol> for Protocols {
    fn from_iter<I: IntoIterator<Item = Protocol>>(iter: I) -> Self {
        let mut s = Protocols::EMPTY;
        for p in iter {
            s.insert(p);
        }
        s
    }
}

impl<const N: usize> From<[Protocol; N]> for Protocols {
    fn from(ps: [Protocol; N]) -> Self {
        ps.into_iter().collect()
    }
}

/// Compares with a sorted list (handy in tests: `assert_eq!(c.protocols, vec![Protocol::Rtp])`).
impl PartialEq<Vec<Protocol>> for Protocols {
    fn eq(&self, other: &Vec<Protocol>) -> bool {
        self.iter().eq(other.iter().copied())
    }
}

impl std::fmt::Debug for Protocols {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for Protocols {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// RTP stream metrics (RFC 3550) for one SSRC in one direction.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RtpStats {
    pub ssrc: u32,
    /// "c2s" or "s2c".
    pub dir: &'static str,
    pub payload_type: u8,
    /// Packets received (seen) of this stream.
    pub packets: u64,
    /// Expected packets from the extended sequence range (RFC 3550 A.3).
    pub expected: u64,
    /// expected − received (negative with duplicates).
    pub lost: i64,
    /// Packets whose sequence number went backwards (reordered or duplicated).
    pub out_of_order: u64,
    /// Interarrival jitter at the end of the stream, ms (RFC 3550 6.4.1), using the clock rate.
    pub jitter_ms: f64,
    /// Largest jitter value seen on regular packets, ms (as Wireshark: not the first, not a
    /// marker, not comfort noise or the packet after it, not a timestamp going back).
    pub max_jitter_ms: f64,
    /// Mean of |D| (ms) over regular packets, as `tshark -z rtp,streams` prints "Mean Jitter".
    pub mean_jitter_ms: f64,
    /// Packets a fixed 50 ms jitter buffer would have discarded (arrived more than 50 ms later
    /// than the first packet's transit predicts).
    pub late_50ms: u64,
    /// The same for a fixed 200 ms buffer.
    pub late_200ms: u64,
    /// Packets an adaptive jitter buffer (20 ms, growing to the delay of a late packet, at
    /// most 500 ms, shrinking 1 ms per packet on time) would have discarded.
    pub late_adaptive: u64,
    /// The largest depth (ms) that adaptive buffer reached: the playout delay it added.
    pub adaptive_max_ms: f64,
    /// That buffer's mean depth (ms) over the stream's media packets: the playout delay a
    /// listener had on average (the E-model's jitter-buffer delay for the adaptive MOS).
    pub adaptive_mean_ms: f64,
    /// Loss bursts: runs of consecutive missing sequence numbers (a gap in the sequence).
    pub loss_bursts: u64,
    /// The longest burst (packets).
    pub max_burst: u64,
    /// Mean burst length (packets); 0 without loss.
    pub mean_burst: f64,
    /// Burst ratio (ITU-T G.113 Appendix I, RFC 3611 §4.7.6 style): the mean burst length
    /// over the mean a random (Bernoulli) loss of the same rate would give, 1/(1 − loss
    /// ratio); 1 is random loss, > 1 bursty; 0 without loss.
    pub burst_ratio: f64,
    /// Codec of the stream's media payload type: RFC 3551's name for a static type, the SDP
    /// `a=rtpmap` encoding name for a dynamic one when the call's SDP was seen, else null.
    pub codec: Option<String>,
    /// Largest sequence-number-consecutive arrival gap, ms.
    pub max_delta_ms: f64,
    /// RTP clock rate assumed (Hz) from the payload type.
    pub clock_rate: u32,
    pub first_ts: f64,
    pub last_ts: f64,
    /// Loss bursts in arrival order: (arrival of the packet after the gap, s; packets
    /// missing), the first [`MAX_GAP_TIMES`] of them (the charts' loss episodes; not in the
    /// JSON row, whose totals are `loss_bursts` and `lost`).
    #[serde(skip)]
    pub gaps: Vec<(f64, u64)>,
}

/// Most loss bursts of an RTP stream whose times are kept ([`RtpStats::gaps`]).
pub const MAX_GAP_TIMES: usize = 256;

/// The labels of one flow: what it carries, how sure we are, why, and the cross-flow link
/// facts that call grouping and the detectors read. Built by the classifiers (through these
/// methods) while packets arrive; final once `Engine::finish` returned them.
#[derive(Clone, Debug, Default)]
pub struct FlowLabels {
    pub app: Option<App>,
    /// Confidence of `app` (None without an app).
    pub app_conf: Option<Confidence>,
    pub service: Service,
    pub protocols: Protocols,
    pub sni: Option<String>,
    pub confidence: Confidence,
    /// Short human-readable reasons, in the order found.
    pub evidence: crate::tx::Slim<String>,
    /// RTP stream metrics (sorted by direction, then SSRC).
    pub rtp: crate::tx::Slim<RtpStats>,
    /// RTCP round-trip samples (ns) from LSR/DLSR.
    pub rtcp_rtt: crate::tx::Slim<i64>,
    /// The flow has call evidence (media signature, RTP media, SIP INVITE, a linked leg).
    pub call: bool,
    /// RTP media was confirmed on this flow.
    pub rtp_media: bool,
    /// Labelled through an SDP media address.
    pub sdp_linked: bool,
    /// Labelled through the STUN endpoint cache.
    pub endpoint_linked: bool,
    /// The flow whose STUN/SDP taught the cache entry that labelled this one.
    pub linked_to: Option<u32>,
    /// Peers behind a TURN relay (XOR-PEER-ADDRESS of CreatePermission, ChannelBind and
    /// Send/Data indications), in the order first seen, at most 8.
    pub relay_peers: crate::tx::Slim<std::net::SocketAddr>,
    /// TURN frames (ChannelData, Send/Data indications) whose content was unwrapped.
    pub relayed: u64,
    /// The protocol messages classification parsed (bounded; see [`crate::tx`]). Detectors
    /// read these instead of payload bytes.
    pub tx: Transactions,
}

impl FlowLabels {
    /// Adds a protocol.
    pub fn add_protocol(&mut self, p: Protocol) {
        self.protocols.insert(p);
    }
    pub fn has_protocol(&self, p: Protocol) -> bool {
        self.protocols.contains(p)
    }
    /// Records one evidence line (bounded: at most 8 kept, duplicates dropped).
    pub fn add_evidence(&mut self, e: impl Into<String>) {
        let e = e.into();
        if self.evidence.len() < 8 && !self.evidence.contains(&e) {
            self.evidence.push(e);
        }
    }
    /// Sets the app when `conf` is stronger than the app's current confidence.
    /// Returns true when the label changed.
    pub fn set_app(&mut self, app: App, conf: Confidence, evidence: impl Into<String>) -> bool {
        let stronger = match self.app_conf {
            None => true,
            Some(c) => conf > c,
        };
        if stronger {
            self.app = Some(app);
            self.app_conf = Some(conf);
            if conf > self.confidence || self.confidence == Confidence::Low {
                self.confidence = conf;
            }
            self.add_evidence(evidence);
        }
        stronger
    }
    /// Records a peer behind a TURN relay (bounded at 8, no duplicates).
    pub fn add_relay_peer(&mut self, peer: std::net::SocketAddr) {
        if self.relay_peers.len() < 8 && !self.relay_peers.contains(&peer) {
            self.relay_peers.push(peer);
        }
    }
    /// Marks the flow as carrying a call (media or call signalling).
    pub fn mark_call(&mut self, evidence: impl Into<String>) {
        self.call = true;
        self.service = Service::Call;
        self.add_evidence(evidence);
    }
    /// Raises the overall confidence (for protocol labels).
    pub fn raise(&mut self, conf: Confidence) {
        if conf > self.confidence {
            self.confidence = conf;
        }
    }
    /// App confidence, if an app was set.
    pub fn app_confidence(&self) -> Option<Confidence> {
        self.app_conf
    }
}

/// A finished flow and its labels: what detectors, verdicts and the report read.
///
/// Derefs to the [`Flow`], so `f.dir`, `f.id` … read the flow's facts and `f.class` its
/// labels.
#[derive(Clone, Debug)]
pub struct LabeledFlow {
    /// Boxed as the flow table keeps it, so labelling a flow moves a pointer, not the flow.
    pub flow: Box<Flow>,
    pub class: FlowLabels,
}

impl LabeledFlow {
    pub fn new(flow: Flow, class: FlowLabels) -> Self {
        LabeledFlow::boxed(Box::new(flow), class)
    }
    pub fn boxed(flow: Box<Flow>, class: FlowLabels) -> Self {
        LabeledFlow { flow, class }
    }
}

impl From<Flow> for LabeledFlow {
    /// A flow with no labels.
    fn from(flow: Flow) -> Self {
        LabeledFlow::new(flow, FlowLabels::default())
    }
}

impl Deref for LabeledFlow {
    type Target = Flow;
    fn deref(&self) -> &Flow {
        &self.flow
    }
}

impl DerefMut for LabeledFlow {
    fn deref_mut(&mut self) -> &mut Flow {
        &mut self.flow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_iterate_and_serialise_sorted() {
        let mut s = Protocols::EMPTY;
        for p in [
            Protocol::Stun,
            Protocol::Rtp,
            Protocol::Stun,
            Protocol::Dtls,
        ] {
            s.insert(p);
        }
        assert_eq!(
            s.to_vec(),
            vec![Protocol::Dtls, Protocol::Rtp, Protocol::Stun]
        );
        assert_eq!(s.len(), 3);
        assert_eq!(
            serde_json::to_string(&s).ok().as_deref(),
            Some(r#"["dtls","rtp","stun"]"#)
        );
        assert_eq!(
            serde_json::to_string(&Protocols::EMPTY).ok().as_deref(),
            Some("[]")
        );
    }

    #[test]
    fn app_needs_stronger_confidence_to_change() {
        let mut c = FlowLabels::default();
        assert!(c.set_app(App::Zoom, Confidence::Low, "port"));
        assert!(c.set_app(App::WhatsApp, Confidence::High, "stun 0x0801"));
        assert!(!c.set_app(App::Zoom, Confidence::Medium, "sni"));
        assert_eq!(c.app, Some(App::WhatsApp));
        assert_eq!(c.confidence, Confidence::High);
    }
}
