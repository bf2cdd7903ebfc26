//! The typed evidence of findings and the media of calls: one struct per shape of
//! `Finding.evidence` (DESIGN §6, `docs/findings.md`), gathered in [`Evidence`].
//!
//! All shapes live in this one file, beside the report they are part of, so the contract of
//! `voipwatch.report/1` reads in one place and a reviewer checks one file for the rule that
//! keeps the JSON stable: **fields are declared in the byte order of their JSON names** (the
//! order the untyped `serde_json::Value` objects these replace printed them in), `Option`
//! fields print `null` unless marked as absent when `None`, and floats are the same `f64`s.
//! The test at the bottom (and every detector test, through `testkit::flows`) checks the
//! order.

use crate::model::{App, Protocol};
use serde::Serialize;

/// What a finding is about: the verdict attributes it to each subject it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// A flow (`Finding.flow`): its app and the calls holding it.
    Flow(u32),
    /// A call (`evidence.call`) and so its app.
    Call(u32),
    /// An app (`evidence.app`: a DNS lookup of its names, a call-level finding).
    App(App),
    /// Nothing narrower: the capture as a whole.
    Capture,
}

macro_rules! evidence_enum {
    ($($(#[$m:meta])* $var:ident($ty:ident),)+) => {
        /// The evidence of a finding: one variant per shape. Serialised as the shape alone
        /// (untagged): `Finding.kind` says which one it is.
        #[derive(Clone, Debug, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Evidence {
            $($(#[$m])* $var($ty),)+
        }
        $(impl From<$ty> for Evidence {
            fn from(e: $ty) -> Evidence {
                Evidence::$var(e)
            }
        })+
    };
}

evidence_enum! {
    /// `tcp_reset_injected`, `tcp_reset_suspicious`.
    Rst(RstEvidence),
    /// `tcp_reset_suspicious` on a connection no test flagged but a penalty box.
    PenaltyBoxReset(PenaltyBoxResetEvidence),
    /// `handshake_timeout`.
    HandshakeTimeout(HandshakeTimeoutEvidence),
    /// `handshake_rejected` by a TCP reset.
    HandshakeRst(HandshakeRstEvidence),
    /// `handshake_rejected` by an ICMP error.
    HandshakeIcmp(HandshakeIcmpEvidence),
    /// `tls_sni_reset`.
    TlsSniReset(TlsSniResetEvidence),
    /// `tls_sni_drop`.
    TlsSniDrop(TlsSniDropEvidence),
    /// `http_block_page`.
    HttpBlockPage(HttpBlockPageEvidence),
    /// `request_blackholed`.
    RequestBlackholed(RequestBlackholedEvidence),
    /// `blocking_hop`.
    BlockingHop(BlockingHopEvidence),
    /// `tcp_synack_injected`.
    SynackInjected(SynackInjectedEvidence),
    /// `quic_blocked`.
    Quic(QuicEvidence),
    /// `udp_media_blocked`.
    UdpMediaBlocked(UdpMediaBlockedEvidence),
    /// `udp_blocked_tcp_fallback` of a call.
    CallTcpFallback(CallTcpFallbackEvidence),
    /// `udp_blocked_tcp_fallback` of ICE without an app label.
    IceTcpFallback(IceTcpFallbackEvidence),
    /// `stun_unanswered`.
    StunUnanswered(StunUnansweredEvidence),
    /// `udp_one_way`.
    UdpOneWay(UdpOneWayEvidence),
    /// `rtp_cut`.
    RtpCut(RtpCutEvidence),
    /// `dns_injection`.
    DnsInjection(DnsInjectionEvidence),
    /// `dns_nxdomain`.
    DnsNxdomain(DnsNxdomainEvidence),
    /// `dns_bogon`.
    DnsBogon(DnsBogonEvidence),
    /// `throttling_policer` of TCP data.
    TcpPolicer(TcpPolicerEvidence),
    /// `throttling_policer` of RTP media.
    RtpPolicer(RtpPolicerEvidence),
    /// `throttling_shaper`.
    Shaper(ShaperEvidence),
    /// `rtp_degraded`.
    RtpDegraded(RtpStreamEvidence),
}

impl Evidence {
    /// The app the evidence names (`evidence.app`), if any.
    pub fn app(&self) -> Option<App> {
        match self {
            Evidence::UdpMediaBlocked(e) => e.app,
            Evidence::CallTcpFallback(e) => e.app,
            Evidence::IceTcpFallback(e) => e.app,
            Evidence::StunUnanswered(e) => e.app,
            Evidence::UdpOneWay(e) => e.app,
            Evidence::RtpCut(e) => e.app,
            Evidence::DnsInjection(e) => e.app,
            Evidence::DnsNxdomain(e) => Some(e.app),
            Evidence::DnsBogon(e) => Some(e.app),
            _ => None,
        }
    }
    /// The call the evidence names (`evidence.call`), if any.
    pub fn call(&self) -> Option<u32> {
        match self {
            Evidence::UdpMediaBlocked(e) => e.call,
            Evidence::CallTcpFallback(e) => e.call,
            _ => None,
        }
    }
    /// The throughput/RTT series of a throttling finding (`evidence.series`).
    pub fn series(&self) -> Option<&Series> {
        match self {
            Evidence::TcpPolicer(e) => Some(&e.series),
            Evidence::RtpPolicer(e) => Some(&e.series),
            Evidence::Shaper(e) => Some(&e.series),
            _ => None,
        }
    }
    /// The rate a throttling finding measured, bit/s (`evidence.rate_bps`).
    pub fn rate_bps(&self) -> Option<f64> {
        match self {
            Evidence::TcpPolicer(e) => Some(e.rate_bps),
            Evidence::RtpPolicer(e) => Some(e.rate_bps),
            Evidence::Shaper(e) => Some(e.rate_bps),
            _ => None,
        }
    }
}

/// A later connection reset within the penalty box of an earlier injected reset.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PenaltyBox {
    /// The flow whose connection was reset by injection first.
    pub after_flow: u32,
    pub after_s: f64,
}

/// One RST of a flow, with its fingerprint and sequence position.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RstPacket {
    pub ack: u32,
    pub ack_offset: Option<i64>,
    pub df: bool,
    pub dir: &'static str,
    pub flags: u8,
    pub frame: u64,
    pub hops: u8,
    pub ip_id: Option<u32>,
    pub seq: u32,
    pub seq_offset: Option<i64>,
    pub seq_vs_peer_ack: Option<i64>,
    pub ts: f64,
    pub ttl: u8,
    pub window: u16,
}

/// Evidence of `tcp_reset_injected` / `tcp_reset_suspicious`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RstEvidence {
    /// Why the reset is (or is not) called forged: "conclusive" (a race test: the real
    /// endpoint carried on after it), "two_fingerprints" (two independent fingerprint
    /// families) or "one_fingerprint" (suspicious only).
    pub basis: &'static str,
    pub contradicting_frames: Vec<u64>,
    /// The independent fingerprint families that fired ("ack", "ip_id", "seq", "timing",
    /// "ttl", "window"), in that order.
    pub fingerprint_families: Vec<&'static str>,
    pub guards_applied: Vec<&'static str>,
    pub handshake_rtt_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub penalty_box: Option<PenaltyBox>,
    pub rst_frames: Vec<u64>,
    pub rst_response_ms: Option<f64>,
    pub rsts: Vec<RstPacket>,
    pub sender: &'static str,
    pub sender_df: Option<bool>,
    pub sender_hops: Option<u8>,
    pub sender_ip_id_near: Option<u32>,
    pub sender_ttl: Option<u8>,
    pub sender_window: Option<u16>,
    pub sni: Option<String>,
    pub tests: Vec<&'static str>,
    pub trigger: Option<&'static str>,
    pub trigger_delay_ms: Option<f64>,
    pub trigger_frame: Option<u64>,
    pub ttl_reason: Option<&'static str>,
}

/// Evidence of a `tcp_reset_suspicious` that only the penalty box flags.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PenaltyBoxResetEvidence {
    pub penalty_box: PenaltyBox,
    pub rst_frames: Vec<u64>,
    pub tests: Vec<&'static str>,
}

/// Evidence of `handshake_timeout`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HandshakeTimeoutEvidence {
    /// The first answer from the same server (else the same app) on another flow.
    pub answer_frame: Option<u64>,
    pub app_answered_other_flows: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub penalty_box: Option<PenaltyBox>,
    pub server_answered_other_flows: bool,
    pub sni: Option<String>,
    pub span_s: f64,
    pub syn_frames: Vec<u64>,
    pub syns: usize,
}

/// Evidence of `handshake_rejected` by a TCP reset.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HandshakeRstEvidence {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub penalty_box: Option<PenaltyBox>,
    pub response_ms: f64,
    pub rst_frame: u64,
    pub rst_hops: u8,
    pub rst_ip_id: Option<u32>,
    pub rst_ttl: u8,
    pub rst_window: u16,
    pub server_answered_other_flows: bool,
    pub server_ttl: Option<u8>,
    pub syns: usize,
    pub ttl_reason: Option<&'static str>,
}

/// Evidence of `handshake_rejected` by an ICMP error.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HandshakeIcmpEvidence {
    pub icmp_code: u8,
    pub icmp_frame: u64,
    pub icmp_from: String,
    pub icmp_type: u8,
}

/// Evidence of `tls_sni_reset`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TlsSniResetEvidence {
    pub client_hello_frame: u64,
    pub faster_than_half_rtt: bool,
    pub handshake_rtt_ms: Option<f64>,
    pub rst_delay_ms: f64,
    pub rst_df: bool,
    pub rst_frame: u64,
    pub rst_ip_id: Option<u32>,
    pub rst_ttl: u8,
    pub rst_window: u16,
    pub server_df: bool,
    pub server_ip_id: Option<u32>,
    pub server_ttl: u8,
    pub sni: Option<String>,
    pub ttl_reason: Option<&'static str>,
}

/// Evidence of `http_block_page`: the answer's start line, `Location` and title, its
/// fingerprint next to the server's, and the tests that fired.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HttpBlockPageEvidence {
    /// "conclusive", "two_fingerprints" or "one_fingerprint".
    pub basis: &'static str,
    pub fingerprint_families: Vec<&'static str>,
    pub location: Option<String>,
    pub request_frame: u64,
    /// `REQUEST_EXPIRED`: the ICMP time exceeded that answered the TTL-limited request
    /// (absent when none did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_expired_frame: Option<u64>,
    /// The request's `Host`, else the ClientHello's SNI.
    pub request_host: Option<String>,
    pub request_target: Option<String>,
    pub response_frame: u64,
    pub response_ip_id: Option<u32>,
    pub response_ttl: u8,
    pub response_window: u16,
    pub second_response_frame: Option<u64>,
    pub server_ip_id_near: Option<u32>,
    /// The SYN-ACK's TTL.
    pub server_ttl: Option<u8>,
    /// The largest window of the server's own packets.
    pub server_window: Option<u16>,
    pub sni: Option<String>,
    pub status: Option<u16>,
    pub status_line: Option<String>,
    pub tests: Vec<&'static str>,
    pub title: Option<String>,
    pub tls_alert: bool,
    pub ttl_reason: Option<&'static str>,
}

/// Evidence of `request_blackholed`: the request's copies, the SYN-ACK that proves the
/// handshake, what triggered it and the control connection, if any.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestBlackholedEvidence {
    /// "same_server", "other_server" or "none".
    pub control: &'static str,
    pub control_flow: Option<u32>,
    pub fin_unanswered: bool,
    pub request_frames: Vec<u64>,
    pub retransmissions: usize,
    pub span_s: f64,
    pub synack_frame: u64,
    pub trigger: Option<String>,
    /// "http_host" or "server_name".
    pub trigger_kind: Option<&'static str>,
}

/// One TTL of a probe run in `blocking_hop` evidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProbeStep {
    /// The answer (injected, or the server's), if one came.
    pub answer_frame: Option<u64>,
    pub flow: u32,
    /// The router whose time exceeded answered the request.
    pub from: Option<String>,
    /// "injected", "server", "expired" or "silent".
    pub outcome: &'static str,
    pub request_frame: u64,
    pub ttl: u8,
}

/// Evidence of `blocking_hop`: a TTL-limited probe run per TTL, where the blocking starts,
/// the last hop that answered and the control run, if any.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockingHopEvidence {
    /// "same_server", "other_server" or "none".
    pub control: &'static str,
    pub control_flow: Option<u32>,
    pub control_trigger: Option<String>,
    pub control_ttl: Option<u8>,
    /// The smallest TTL from which every request was answered by an injector or by nothing.
    pub first_blocked_ttl: u8,
    /// The last router below it that answered with time exceeded, and its TTL (hop number).
    pub last_hop_from: Option<String>,
    pub last_hop_ttl: Option<u8>,
    /// "injected" or "silence".
    pub onset: &'static str,
    /// The router that also answered the first blocked request with time exceeded.
    pub onset_hop_from: Option<String>,
    /// TTLs (up to the onset) at which the probes' routers differ, between the run and its
    /// control or within the run: load-balanced paths (confidence lowered by 0.15).
    pub paths_differ_at: Vec<u8>,
    pub probes: Vec<ProbeStep>,
    pub server: String,
    pub trigger: String,
    /// "http_host" or "server_name".
    pub trigger_kind: &'static str,
}

/// One SYN-ACK in `tcp_synack_injected` evidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SynackPacket {
    pub frame: u64,
    pub ip_id: Option<u32>,
    pub isn: u32,
    pub ttl: u8,
    pub window: u16,
}

/// Evidence of `tcp_synack_injected`: the SYN-ACKs that answered one SYN, and on the
/// server side the client's ACK of an ISN the server never sent.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SynackInjectedEvidence {
    pub ack_frame: Option<u64>,
    pub acked_isn: Option<u32>,
    /// "conclusive", "two_fingerprints" or "one_fingerprint".
    pub basis: &'static str,
    pub forged_frame: Option<u64>,
    pub server_isns: Vec<u32>,
    /// "client" (two SYN-ACKs seen) or "server" (the ACK of an unsent ISN seen).
    pub side: &'static str,
    pub synacks: Vec<SynackPacket>,
    pub tests: Vec<&'static str>,
}

/// Evidence of `tls_sni_drop`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TlsSniDropEvidence {
    pub client_hello_frames: Vec<u64>,
    pub handshake_rtt_ms: Option<f64>,
    pub retransmissions: usize,
    pub server_acked_hello: bool,
    pub sni: Option<String>,
    pub span_s: f64,
}

/// Evidence of `quic_blocked`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuicEvidence {
    pub client: String,
    pub flows: Vec<u32>,
    pub initials: usize,
    pub sni: Option<String>,
    pub span_s: f64,
    pub tcp_flows: Vec<u32>,
    /// "works", "fails" or "none".
    pub tcp_same_host: &'static str,
}

/// Evidence of `udp_media_blocked`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UdpMediaBlockedEvidence {
    pub app: Option<App>,
    pub call: Option<u32>,
    pub icmp_errors: usize,
    pub never_answered: bool,
    pub packets_sent: u64,
    pub sent_after_silence: usize,
    pub servers: Vec<String>,
    pub silence_s: f64,
    pub span_s: f64,
    pub stun_unanswered_flows: Vec<u32>,
    pub udp_flows: Vec<u32>,
}

/// Evidence of `udp_blocked_tcp_fallback` of a call (or of an app's call-like flows).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallTcpFallbackEvidence {
    pub app: Option<App>,
    pub call: Option<u32>,
    pub stun_unanswered_flows: Vec<u32>,
    pub tcp_flow: u32,
    pub tcp_server: String,
    pub udp_flows: Vec<u32>,
    pub udp_packets_sent: u64,
    pub udp_servers: usize,
}

/// Evidence of `udp_blocked_tcp_fallback` of ICE over TCP outside any call.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IceTcpFallbackEvidence {
    pub app: Option<App>,
    pub tcp_flow: u32,
    pub tcp_server: String,
    pub udp_flows: Vec<u32>,
    pub udp_packets_sent: u64,
    pub udp_servers: usize,
}

/// Evidence of `stun_unanswered`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StunUnansweredEvidence {
    pub app: Option<App>,
    pub sends: u32,
    pub span_s: f64,
    pub txid_tracked: bool,
}

/// Evidence of `udp_one_way`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UdpOneWayEvidence {
    pub app: Option<App>,
    pub packets_sent: u64,
    pub span_s: f64,
}

/// Evidence of `rtp_cut`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RtpCutEvidence {
    pub app: Option<App>,
    pub other_dir_packets_after: usize,
    pub silence_s: f64,
    pub stopped_at: f64,
    /// "s2c" or "c2s".
    pub stopped_dir: &'static str,
}

/// One DNS answer as the DNS findings cite it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DnsAnswer {
    pub addrs: Vec<String>,
    pub delay_ms: f64,
    pub frame: u64,
    pub hops: u8,
    pub ip_ttl: u8,
    pub rcode: u8,
    pub record_ttl: Option<u32>,
    pub txid: u16,
}

/// Evidence of `dns_injection`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DnsInjectionEvidence {
    pub answers: Vec<DnsAnswer>,
    pub answers_differ: bool,
    pub app: Option<App>,
    pub name: String,
    pub query_frame: u64,
    pub resolver: String,
    pub tests: Vec<&'static str>,
    pub ttl_reason: Option<&'static str>,
}

/// Evidence of `dns_nxdomain`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DnsNxdomainEvidence {
    pub answer: DnsAnswer,
    pub app: App,
    pub name: String,
    pub query_frame: u64,
    pub resolved_elsewhere: bool,
    pub resolver: String,
}

/// Evidence of `dns_bogon`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DnsBogonEvidence {
    pub answer: DnsAnswer,
    pub app: App,
    pub bogons: Vec<String>,
    pub name: String,
    /// Why the network is not private: "name_resolves_publicly", "device_reaches_public",
    /// "resolver_answers_public"; null when nothing shows it (then the finding is info).
    pub public_evidence: Option<&'static str>,
    pub query_frame: u64,
    pub resolver: String,
}

/// The throughput/RTT-over-time series of a flow (`evidence.series`): IP bytes per bin as
/// bit/s each way and the median path RTT per bin (`None` for a bin without a sample).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    pub bin_s: f64,
    pub c2s_bps: Vec<u64>,
    pub rtt_ms: Vec<Option<f64>>,
    pub s2c_bps: Vec<u64>,
    pub t0: f64,
}

/// A throttled flow compared with the capture's other traffic (issue 12): Wehe's KS + area
/// test between the flow's throughput samples and those of the capture's other TCP flows
/// (other hosts, ports or SNIs, within 60 s of it). `verdict` is `selective` (this flow was
/// limited, the others not: area ≥ 0.5 with the target slower, KS p < 0.01), `whole_link`
/// (not differentiated: the others were as slow, a slow link, not a differentiation claim)
/// or `inconclusive`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InCaptureComparison {
    pub area: Option<f64>,
    pub control_flows: Vec<u32>,
    pub control_median_bps: f64,
    pub ks_d: Option<f64>,
    pub p_value: Option<f64>,
    pub target_median_bps: f64,
    pub verdict: &'static str,
}

/// Evidence of `throttling_policer` on TCP data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TcpPolicerEvidence {
    pub burst_bytes: f64,
    pub bytes_before_first_loss: u64,
    /// Absent when the capture holds no other traffic to compare with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<InCaptureComparison>,
    pub data_segments: u64,
    pub dir: &'static str,
    pub first_loss_ts: f64,
    pub holes: u64,
    pub inflated_rtt_losses: f64,
    pub last_loss_ts: f64,
    pub loss_out_of_range: f64,
    pub loss_samples: usize,
    pub loss_slices: usize,
    pub median_rtt_ms: f64,
    pub median_tokens_on_loss: f64,
    pub median_tokens_on_pass: f64,
    pub pass_out_of_range: f64,
    pub pass_samples: usize,
    pub rate_bps: f64,
    /// "bounded_bucket" or "flach2016".
    pub replay: &'static str,
    pub replay_depth_bytes: Option<f64>,
    pub retransmissions: u64,
    pub rtt_measured: bool,
    pub series: Series,
    pub vantage: &'static str,
}

/// Evidence of `throttling_shaper`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShaperEvidence {
    pub base_rtt_ms: f64,
    /// Width of the rate bins judged (0.5 s, doubled for flows over 10,000 bins).
    pub bin_s: f64,
    pub burst_bytes: f64,
    /// Absent when the capture holds no other traffic to compare with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<InCaptureComparison>,
    pub cv: f64,
    pub data_segments: u64,
    pub dir: &'static str,
    /// Receiver side: fraction of the shaped part's arrivals less than a quarter of a packet
    /// time apart (0 near the sender, where it is not judged).
    pub fast_fraction: f64,
    /// Fraction of the shaped part spent in gaps of more than 4 packet times.
    pub idle_fraction: f64,
    pub level_shift: bool,
    pub loss_fraction: f64,
    pub rank_p: f64,
    pub rate_bps: f64,
    pub ratio: f64,
    pub series: Series,
    pub shaped_rtt_ms: f64,
    pub shift_ts: f64,
    pub vantage: &'static str,
}

/// Evidence of `rtp_degraded`: one RTP stream's quality.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RtpStreamEvidence {
    pub dir: &'static str,
    pub expected: u64,
    pub jitter_ms: f64,
    pub loss: f64,
    pub lost: i64,
    pub max_delta_ms: f64,
    pub mos: f64,
    pub payload_type: u8,
    pub received: u64,
    pub ssrc: u32,
}

/// Evidence of `throttling_policer` on RTP media: the stream's quality plus the level shift.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RtpPolicerEvidence {
    /// Always 0: a media policer's burst is not measured.
    pub burst_bytes: u64,
    pub cv: f64,
    pub dir: &'static str,
    pub expected: u64,
    pub jitter_ms: f64,
    pub loss: f64,
    pub lost: i64,
    pub max_delta_ms: f64,
    pub mos: f64,
    pub payload_type: u8,
    pub rank_p: f64,
    pub rate_bps: f64,
    pub ratio: f64,
    pub received: u64,
    pub series: Series,
    pub shift_ts: f64,
    pub ssrc: u32,
    /// Always "udp".
    pub transport: &'static str,
}

/// The call's quality as a listener with one simulated jitter buffer would have heard it
/// (`Media.jitter_buffers`, in the manner VoIPmonitor reports F1, F2 and adaptive MOS).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JitterBufferMos {
    /// "fixed_50ms", "fixed_200ms" or "adaptive" (20 ms, growing to a late packet's delay,
    /// at most 500 ms).
    pub buffer: &'static str,
    /// Playout delay (ms) the buffer added to the media the user's host received: its
    /// depth, the adaptive buffer's mean depth. Null without media that way.
    pub delay_in_ms: Option<f64>,
    /// The same for the media the user's host sent.
    pub delay_out_ms: Option<f64>,
    /// Received packets the buffer discarded as too late to play.
    pub discarded_in: Option<u64>,
    pub discarded_out: Option<u64>,
    /// E-model MOS with the discarded packets as loss and the buffer's delay in the
    /// mouth-to-ear delay; 1 for a direction whose audio never came (as `mos_in`).
    pub mos_in: Option<f64>,
    pub mos_out: Option<f64>,
}

/// What a call carried (`Call.media`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Media {
    /// MOS per simulated jitter buffer (empty without RTP media).
    pub jitter_buffers: Vec<JitterBufferMos>,
    pub jitter_ms: Option<f64>,
    pub kind: Option<MediaKind>,
    pub loss_pct: Option<f64>,
    /// The call's MOS: its worse direction's (`mos_in`, `mos_out`), else the aggregate.
    pub mos: Option<f64>,
    /// E-model MOS of the media the user's host received; 1 when none came while its own
    /// audio went out; one-way periods count as loss at the stream's packet rate.
    pub mos_in: Option<f64>,
    /// The same for the media the user's host sent (as it reached the capture point).
    pub mos_out: Option<f64>,
    pub one_way: Vec<OneWayPeriod>,
    pub packets: u64,
    pub protocols: Vec<Protocol>,
    pub rtcp_rtt_ms: Option<f64>,
    pub streams: Vec<MediaStream>,
}

/// Audio, video or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum MediaKind {
    #[serde(rename = "audio")]
    Audio,
    #[serde(rename = "video")]
    Video,
    #[serde(rename = "audio+video")]
    AudioVideo,
}

impl MediaKind {
    /// The id as in the report ("audio", "video", "audio+video").
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::AudioVideo => "audio+video",
        }
    }
}

/// A period in which only one direction of a call's UDP flow carried packets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OneWayPeriod {
    pub end: f64,
    pub flow: u32,
    /// The direction that still sent: "c2s" or "s2c".
    pub only: &'static str,
    pub start: f64,
}

/// One RTP stream of a call.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MediaStream {
    pub dir: &'static str,
    pub expected: u64,
    pub first_ts: f64,
    pub flow: u32,
    pub jitter_ms: f64,
    pub last_ts: f64,
    pub loss_pct: f64,
    pub lost: i64,
    pub max_delta_ms: f64,
    pub packets: u64,
    pub payload_type: u8,
    pub ssrc: u32,
}

/// True when `v` serialises its object keys in sorted order at every depth, as the
/// `serde_json::Value` objects these types replace did (a test helper).
#[cfg(test)]
pub(crate) fn keys_sorted<T: Serialize>(v: &T) -> bool {
    let typed = serde_json::to_string(v).ok();
    let untyped = serde_json::to_value(v)
        .ok()
        .and_then(|x| serde_json::to_string(&x).ok());
    typed.is_some() && typed == untyped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Series {
        Series {
            bin_s: 0.5,
            c2s_bps: vec![1, 2],
            rtt_ms: vec![None, Some(1.5)],
            s2c_bps: vec![3, 4],
            t0: 1.0,
        }
    }

    fn rtp() -> RtpStreamEvidence {
        RtpStreamEvidence {
            dir: "s2c",
            expected: 10,
            jitter_ms: 1.0,
            loss: 0.1,
            lost: 1,
            max_delta_ms: 20.0,
            mos: 4.1,
            payload_type: 0,
            received: 9,
            ssrc: 7,
        }
    }

    /// Shapes the detector unit tests may not build, checked here for key order.
    #[test]
    fn every_shape_prints_keys_in_sorted_order() {
        let pb = PenaltyBox {
            after_flow: 1,
            after_s: 2.0,
        };
        let dns = DnsAnswer {
            addrs: vec!["10.0.0.1".into()],
            delay_ms: 1.0,
            frame: 2,
            hops: 3,
            ip_ttl: 61,
            rcode: 0,
            record_ttl: None,
            txid: 9,
        };
        let all: Vec<Evidence> = vec![
            PenaltyBoxResetEvidence {
                penalty_box: pb,
                rst_frames: vec![1],
                tests: vec!["PENALTY_BOX"],
            }
            .into(),
            HandshakeTimeoutEvidence {
                answer_frame: Some(3),
                app_answered_other_flows: false,
                penalty_box: Some(pb),
                server_answered_other_flows: true,
                sni: None,
                span_s: 1.0,
                syn_frames: vec![1],
                syns: 2,
            }
            .into(),
            HandshakeRstEvidence {
                penalty_box: Some(pb),
                response_ms: 1.0,
                rst_frame: 1,
                rst_hops: 2,
                rst_ip_id: None,
                rst_ttl: 62,
                rst_window: 0,
                server_answered_other_flows: false,
                server_ttl: Some(50),
                syns: 1,
                ttl_reason: Some("hop_count"),
            }
            .into(),
            HandshakeIcmpEvidence {
                icmp_code: 13,
                icmp_frame: 2,
                icmp_from: "10.0.0.1".into(),
                icmp_type: 3,
            }
            .into(),
            CallTcpFallbackEvidence {
                app: Some(App::WhatsApp),
                call: Some(0),
                stun_unanswered_flows: vec![],
                tcp_flow: 1,
                tcp_server: "x".into(),
                udp_flows: vec![2],
                udp_packets_sent: 3,
                udp_servers: 1,
            }
            .into(),
            IceTcpFallbackEvidence {
                app: None,
                tcp_flow: 1,
                tcp_server: "x".into(),
                udp_flows: vec![2],
                udp_packets_sent: 3,
                udp_servers: 1,
            }
            .into(),
            DnsInjectionEvidence {
                answers: vec![dns.clone()],
                answers_differ: true,
                app: None,
                name: "a.example".into(),
                query_frame: 1,
                resolver: "10.0.0.53".into(),
                tests: vec!["ttl"],
                ttl_reason: None,
            }
            .into(),
            DnsNxdomainEvidence {
                answer: dns.clone(),
                app: App::Signal,
                name: "signal.org".into(),
                query_frame: 1,
                resolved_elsewhere: false,
                resolver: "10.0.0.53".into(),
            }
            .into(),
            DnsBogonEvidence {
                answer: dns,
                app: App::Signal,
                bogons: vec!["127.0.0.1".into()],
                name: "signal.org".into(),
                public_evidence: Some("device_reaches_public"),
                query_frame: 1,
                resolver: "10.0.0.53".into(),
            }
            .into(),
            rtp().into(),
            TcpPolicerEvidence {
                burst_bytes: 1.0,
                bytes_before_first_loss: 2,
                comparison: Some(InCaptureComparison {
                    area: Some(0.6),
                    control_flows: vec![1],
                    control_median_bps: 2.0,
                    ks_d: Some(0.9),
                    p_value: Some(0.001),
                    target_median_bps: 1.0,
                    verdict: "selective",
                }),
                data_segments: 3,
                dir: "s2c",
                first_loss_ts: 1.0,
                holes: 0,
                inflated_rtt_losses: 0.0,
                last_loss_ts: 2.0,
                loss_out_of_range: 0.0,
                loss_samples: 1,
                loss_slices: 1,
                median_rtt_ms: 1.0,
                median_tokens_on_loss: 0.0,
                median_tokens_on_pass: 0.0,
                pass_out_of_range: 0.0,
                pass_samples: 1,
                rate_bps: 1.0,
                replay: "flach2016",
                replay_depth_bytes: None,
                retransmissions: 0,
                rtt_measured: true,
                series: series(),
                vantage: "sender",
            }
            .into(),
            ShaperEvidence {
                base_rtt_ms: 1.0,
                bin_s: 0.5,
                burst_bytes: 1.0,
                comparison: None,
                cv: 0.1,
                data_segments: 3,
                dir: "s2c",
                fast_fraction: 0.0,
                idle_fraction: 0.0,
                level_shift: true,
                loss_fraction: 0.0,
                rank_p: 0.0,
                rate_bps: 1.0,
                ratio: 2.0,
                series: series(),
                shaped_rtt_ms: 2.0,
                shift_ts: 1.0,
                vantage: "sender",
            }
            .into(),
            RtpPolicerEvidence {
                burst_bytes: 0,
                cv: 0.1,
                dir: "s2c",
                expected: 10,
                jitter_ms: 1.0,
                loss: 0.1,
                lost: 1,
                max_delta_ms: 20.0,
                mos: 4.1,
                payload_type: 0,
                rank_p: 0.01,
                rate_bps: 1000.0,
                ratio: 3.0,
                received: 9,
                series: series(),
                shift_ts: 1.0,
                ssrc: 7,
                transport: "udp",
            }
            .into(),
        ];
        for e in &all {
            assert!(keys_sorted(e), "{}", serde_json::to_string(e).unwrap());
        }
        let media = Media {
            kind: Some(MediaKind::AudioVideo),
            one_way: vec![OneWayPeriod {
                end: 2.0,
                flow: 0,
                only: "c2s",
                start: 1.0,
            }],
            protocols: vec![Protocol::Rtp, Protocol::Stun],
            streams: vec![MediaStream {
                dir: "c2s",
                expected: 1,
                first_ts: 0.0,
                flow: 0,
                jitter_ms: 0.0,
                last_ts: 1.0,
                loss_pct: 0.0,
                lost: 0,
                max_delta_ms: 0.0,
                packets: 1,
                payload_type: 0,
                ssrc: 1,
            }],
            ..Media::default()
        };
        assert!(keys_sorted(&media));
        assert!(serde_json::to_string(&media)
            .unwrap()
            .contains("\"kind\":\"audio+video\""));
    }

    #[test]
    fn subjects_come_from_evidence() {
        let e: Evidence = UdpOneWayEvidence {
            app: Some(App::Zoom),
            packets_sent: 1,
            span_s: 1.0,
        }
        .into();
        assert_eq!(e.app(), Some(App::Zoom));
        assert_eq!(e.call(), None);
    }
}
