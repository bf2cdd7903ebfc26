//! VoIP and app classification: one file per classifier behind [`Classifier`], a const
//! registry, and cross-flow caches (STUN endpoints, DNS answers) fed in capture order.
//!
//! Every packet of every flow reaches [`Engine::on_packet`] in capture order. Each
//! classifier in [`REGISTRY`] declares cheaply whether it [`wants`](Classifier::wants) a
//! flow and has a packet budget; within it, [`inspect`](Classifier::inspect) answers
//! `Match`, `NeedMore` or `NoMatch` and labels the flow through [`Ctx`]. A flow known to
//! carry RTP keeps cheap per-packet stream accounting (loss, jitter) after the budgets end.
//! Payload evidence beats port hints: labels carry a [`Confidence`] and only a stronger one
//! replaces an app. `service: call` needs call evidence (a call-app media signature, RTP
//! media, SIP INVITE); STUN, DTLS or SRTP alone are not a call.
//! [`Engine::finish`] re-applies the cross-flow caches, adds port hints to flows left
//! unlabelled and groups call flows into [`crate::report::Call`]s (see `calls.rs`).

pub mod apps;
pub mod cache;
pub mod calls;
pub mod discord;
pub mod dns;
pub mod dtls;
pub mod facetime;
pub mod h323;
pub mod iax;
pub mod line;
pub mod megaco;
pub mod mgcp;
pub mod ports;
pub mod quic;
pub mod rtp;
pub mod sccp;
pub mod sip;
pub mod stun;
pub mod telegram;
pub mod tls;
pub mod viber;
pub mod wa_tcp;
pub mod zoom;

use crate::decode::{Decoded, L4};
use crate::flow::{Dir, Flow, Transport};
use crate::Nanos;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;

pub use crate::model::{Confidence, Service};

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
    /// Largest jitter value seen, ms.
    pub max_jitter_ms: f64,
    /// Largest sequence-number-consecutive arrival gap, ms.
    pub max_delta_ms: f64,
    /// RTP clock rate assumed (Hz) from the payload type.
    pub clock_rate: u32,
    pub first_ts: f64,
    pub last_ts: f64,
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
    /// Classifier state (small; big parts boxed and only allocated when used).
    pub state: ClassState,
}

/// Per-flow classifier state.
#[derive(Clone, Debug, Default)]
pub struct ClassState {
    /// Payload-carrying packets seen in this flow.
    pub inspected: u32,
    /// Bit i set: classifier `REGISTRY[i]` is finished with this flow.
    pub done: u64,
    /// Confidence of `FlowClass::app`.
    pub app_conf: Option<Confidence>,
    /// The flow has call evidence (media signature, RTP media, SIP INVITE).
    pub call: bool,
    /// RTP media was confirmed on this flow.
    pub rtp_media: bool,
    /// RTP stream accounting, once RTP was recognised.
    pub rtp: Option<Box<rtp::Tracker>>,
    /// RTP candidate (first-packet facts) before it is confirmed.
    pub rtp_probe: rtp::Probe,
    /// STUN facts (WhatsApp types seen, transactions, …).
    pub stun: stun::StunState,
    /// RTCP round-trip samples (ns) from LSR/DLSR.
    pub rtcp_rtt: Vec<i64>,
    /// RTCP sender-report arrival times, keyed by the middle 32 bits of the NTP time.
    pub rtcp_sr: Vec<(u32, Nanos, Dir)>,
    /// Small scratch counters for classifiers that need several packets
    /// (slots: 0 skinny, 1 zoom, 2–4 viber, 5–8 line, 9 imo).
    pub counters: [u8; 12],
    /// DTLS ClientHello offered use_srtp.
    pub use_srtp: bool,
    /// Client direction bytes of a TLS ClientHello spanning segments (freed when done).
    pub hello: Vec<u8>,
    /// Server-direction TLS bytes until the Certificate message (freed when done).
    pub srv: Vec<u8>,
    pub hello_done: bool,
    pub srv_done: bool,
    /// Labelled through an SDP media address.
    pub sdp_linked: bool,
    /// The flow whose STUN/SDP taught the cache entry that labelled this one.
    pub linked_to: Option<u32>,
    /// Labelled through the STUN endpoint cache.
    pub endpoint_linked: bool,
}

impl FlowClass {
    /// Adds a protocol id (kept sorted and unique).
    pub fn add_protocol(&mut self, p: &'static str) {
        if let Err(i) = self.protocols.binary_search(&p) {
            self.protocols.insert(i, p);
        }
    }
    pub fn has_protocol(&self, p: &str) -> bool {
        self.protocols.contains(&p)
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
    pub fn set_app(
        &mut self,
        app: &'static str,
        conf: Confidence,
        evidence: impl Into<String>,
    ) -> bool {
        let stronger = match self.state.app_conf {
            None => true,
            Some(c) => conf > c,
        };
        if stronger {
            self.app = Some(app);
            self.state.app_conf = Some(conf);
            if conf > self.confidence || self.confidence == Confidence::Low {
                self.confidence = conf;
            }
            self.add_evidence(evidence);
        }
        stronger
    }
    /// Marks the flow as carrying a call (media or call signalling).
    pub fn mark_call(&mut self, evidence: impl Into<String>) {
        self.state.call = true;
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
        self.state.app_conf
    }
}

/// The immutable facts of the flow a packet belongs to.
#[derive(Clone, Copy, Debug)]
pub struct FlowInfo {
    pub id: u32,
    pub transport: Transport,
    pub client: SocketAddr,
    pub server: SocketAddr,
}

impl FlowInfo {
    pub fn is_udp(&self) -> bool {
        self.transport == Transport::Udp
    }
    pub fn is_tcp(&self) -> bool {
        self.transport == Transport::Tcp
    }
    /// True when either endpoint uses `port`.
    pub fn has_port(&self, port: u16) -> bool {
        self.client.port() == port || self.server.port() == port
    }
    /// True when either endpoint's port is in `lo..=hi`.
    pub fn port_in(&self, lo: u16, hi: u16) -> bool {
        (lo..=hi).contains(&self.client.port()) || (lo..=hi).contains(&self.server.port())
    }
}

/// One payload-carrying packet as classifiers see it.
#[derive(Clone, Copy, Debug)]
pub struct Pkt<'a> {
    pub dir: Dir,
    pub ts: Nanos,
    pub frame: u64,
    pub payload: &'a [u8],
    /// Sender and receiver sockets.
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// 1-based index of this payload packet in its flow.
    pub nth: u32,
}

/// A classifier's answer for one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Labelled; nothing more to learn from this flow.
    Match,
    /// Undecided (or labelled but wants to see more within its budget).
    NeedMore,
    /// Not this protocol: stop asking for this flow.
    NoMatch,
}

/// What a classifier may touch: the flow's labels and state, and the cross-flow caches.
pub struct Ctx<'e> {
    pub flow: FlowInfo,
    pub class: &'e mut FlowClass,
    pub caches: &'e mut cache::Caches,
}

/// One protocol or app classifier.
pub trait Classifier: Sync {
    /// Stable id (snake_case), used in docs and tests.
    fn id(&self) -> &'static str;
    /// Payload packets of a flow this classifier looks at, at most.
    fn budget(&self) -> u32;
    /// Cheap pre-check on the flow (transport, ports, labels so far).
    fn wants(&self, flow: &FlowInfo, class: &FlowClass) -> bool;
    /// Looks at one payload packet.
    fn inspect(&self, cx: &mut Ctx<'_>, p: &Pkt<'_>) -> Outcome;
}

/// The classifiers, in the order they see each packet.
pub const REGISTRY: &[&dyn Classifier] = &[
    &stun::Stun,
    &dtls::Dtls,
    &rtp::Rtp,
    &tls::Tls,
    &quic::Quic,
    &dns::Dns,
    &sip::Sip,
    &wa_tcp::WhatsAppTcp,
    &zoom::Zoom,
    &discord::Discord,
    &telegram::Telegram,
    &viber::Viber,
    &line::Line,
    &facetime::FaceTime,
    &h323::H323,
    &mgcp::Mgcp,
    &megaco::Megaco,
    &iax::Iax,
    &sccp::Sccp,
];

/// `ClassState::done` once every classifier is finished with a flow.
const ALL_DONE: u64 = if REGISTRY.len() >= 64 {
    u64::MAX
} else {
    (1u64 << REGISTRY.len()) - 1
};

/// The classification engine: per-packet inspection plus cross-flow caches.
#[derive(Debug, Default)]
pub struct Engine {
    caches: cache::Caches,
}

impl Engine {
    pub fn new() -> Self {
        Engine::default()
    }

    /// Inspects one packet of `flow` (called in capture order, after the flow table saw it).
    pub fn on_packet(&mut self, flow: &mut Flow, dir: Dir, frame: u64, ts: Nanos, d: &Decoded<'_>) {
        let payload = match d.l4 {
            L4::Tcp(t) => t.payload,
            L4::Udp(u) => u.payload,
            _ => return,
        };
        let info = FlowInfo {
            id: flow.id,
            transport: flow.transport,
            client: flow.client,
            server: flow.server,
        };
        let (src, dst) = match dir {
            Dir::C2s => (flow.client, flow.server),
            Dir::S2c => (flow.server, flow.client),
        };
        let class = &mut flow.class;
        if class.state.inspected == 0 && class.app.is_none() {
            // First packet of the flow: labels from the cross-flow caches.
            self.caches.label_new_flow(&info, class, ts);
        }
        if payload.is_empty() {
            return;
        }
        class.state.inspected = class.state.inspected.saturating_add(1);
        let p = Pkt {
            dir,
            ts,
            frame,
            payload,
            src,
            dst,
            nth: class.state.inspected,
        };
        // Cheap RTP/RTCP accounting for flows already known to carry RTP.
        rtp::account(class, &p);
        if class.state.done == ALL_DONE {
            return;
        }
        let mut cx = Ctx {
            flow: info,
            class,
            caches: &mut self.caches,
        };
        for (i, c) in REGISTRY.iter().enumerate() {
            let bit = 1u64 << i;
            if cx.class.state.done & bit != 0 {
                continue;
            }
            if p.nth > c.budget() || !c.wants(&info, cx.class) {
                cx.class.state.done |= bit;
                continue;
            }
            match c.inspect(&mut cx, &p) {
                Outcome::NeedMore => {}
                Outcome::Match | Outcome::NoMatch => cx.class.state.done |= bit,
            }
        }
    }

    /// Finalises labels and groups flows into calls.
    pub fn finish(&mut self, flows: &mut [Flow]) -> Vec<crate::report::Call> {
        inherit_same_tuple(flows);
        for f in flows.iter_mut() {
            let info = FlowInfo {
                id: f.id,
                transport: f.transport,
                client: f.client,
                server: f.server,
            };
            self.caches
                .label_late(&info, &mut f.class, f.first_ts, f.last_ts);
            let l4 = matches!(f.transport, Transport::Tcp | Transport::Udp);
            if f.class.app.is_none() && l4 && !f.class.has_protocol("dns") {
                if let Some((app, src)) = apps::range_app(f.server.ip()) {
                    f.class.set_app(
                        app,
                        Confidence::Low,
                        format!("server in {app}'s published address block ({src})"),
                    );
                }
            }
            if f.transport == Transport::Udp
                && (f.class.state.endpoint_linked || f.class.state.sdp_linked)
            {
                let media = f.class.has_protocol("rtp")
                    || f.class.has_protocol("stun")
                    || f.class.has_protocol("rtcp");
                if media || f.class.state.endpoint_linked {
                    f.class
                        .mark_call("leg linked to a call by the STUN endpoint or SDP cache");
                }
            }
            rtp::finish_flow(&mut f.class);
            ports::hint(&info, &mut f.class);
            finalize_service(&mut f.class);
        }
        calls::group(flows)
    }
}

/// A 5-tuple seen again after an idle timeout continues the earlier flow's session: an
/// unlabelled later flow takes the earlier one's protocols, app (medium) and call mark.
fn inherit_same_tuple(flows: &mut [Flow]) {
    let mut by_tuple: BTreeMap<(Transport, SocketAddr, SocketAddr), usize> = BTreeMap::new();
    for i in 0..flows.len() {
        let f = &flows[i];
        let key = (f.transport, f.client.min(f.server), f.client.max(f.server));
        let unlabelled = f.class.app.is_none() && f.class.protocols.is_empty();
        if let (true, Some(&j)) = (unlabelled, by_tuple.get(&key)) {
            let id = flows[j].id;
            let (protocols, app, call) = (
                flows[j].class.protocols.clone(),
                flows[j].class.app,
                flows[j].class.state.call,
            );
            let c = &mut flows[i].class;
            for p in protocols {
                c.add_protocol(p);
            }
            let ev = format!("same 5-tuple as flow {id} (continued after idle timeout)");
            match app {
                Some(a) => {
                    c.set_app(a, Confidence::Medium, ev);
                }
                None => c.add_evidence(ev),
            }
            if call {
                c.mark_call(format!("continues call flow {id}"));
            }
            c.raise(Confidence::Medium);
        }
        if !flows[i].class.protocols.is_empty() || flows[i].class.app.is_some() {
            by_tuple.insert(key, i);
        }
    }
}

/// Sets `service` from what was found: call evidence → call; DNS → dns; an app's TLS/QUIC
/// or app protocol → chat or web.
fn finalize_service(c: &mut FlowClass) {
    if c.state.rtp_media && !c.state.call {
        let webrtc = c.has_protocol("stun") || c.has_protocol("dtls");
        let call_app = c.app.is_some_and(|a| a == "sip" || apps::is_call_app(a));
        if !webrtc || call_app {
            c.mark_call("RTP media stream");
        }
    }
    if c.state.call {
        c.service = Service::Call;
        return;
    }
    if c.has_protocol("dns") {
        c.service = Service::Dns;
    } else if let Some(app) = c.app {
        c.service = if app == "sip" {
            Service::Other
        } else {
            Service::Chat
        };
        if c.has_protocol("http") || (c.has_protocol("tls") && apps::is_web_app(app)) {
            c.service = Service::Web;
        }
    } else if c.has_protocol("tls") || c.has_protocol("quic") || c.has_protocol("http") {
        c.service = Service::Web;
    }
}

/// Reads a big-endian u16 at `off`, if present.
pub(crate) fn be16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Reads a big-endian u32 at `off`, if present.
pub(crate) fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Case-insensitive ASCII prefix test.
pub(crate) fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len()
        && hay
            .iter()
            .zip(needle)
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// Case-insensitive ASCII substring search (bounded by the slice lengths).
pub(crate) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_fits_done_mask() {
        assert!(REGISTRY.len() <= 64);
        let mut ids: Vec<&str> = REGISTRY.iter().map(|c| c.id()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "classifier ids are unique");
    }

    #[test]
    fn app_needs_stronger_confidence_to_change() {
        let mut c = FlowClass::default();
        assert!(c.set_app("zoom", Confidence::Low, "port"));
        assert!(c.set_app("whatsapp", Confidence::High, "stun 0x0801"));
        assert!(!c.set_app("zoom", Confidence::Medium, "sni"));
        assert_eq!(c.app, Some("whatsapp"));
        assert_eq!(c.confidence, Confidence::High);
    }

    #[test]
    fn protocols_sorted_unique() {
        let mut c = FlowClass::default();
        for p in ["stun", "rtp", "stun", "dtls"] {
            c.add_protocol(p);
        }
        assert_eq!(c.protocols, vec!["dtls", "rtp", "stun"]);
    }

    /// Shows `classifier` one client-to-server payload at frame 1, time 0, as the flow's
    /// `nth` payload packet.
    pub(super) fn inspect_c2s(
        classifier: &dyn Classifier,
        flow: FlowInfo,
        class: &mut FlowClass,
        caches: &mut cache::Caches,
        payload: &[u8],
        nth: u32,
    ) -> Outcome {
        let p = Pkt {
            dir: Dir::C2s,
            ts: 0,
            frame: 1,
            payload,
            src: flow.client,
            dst: flow.server,
            nth,
        };
        classifier.inspect(
            &mut Ctx {
                flow,
                class,
                caches,
            },
            &p,
        )
    }

    pub(super) fn flow(id: u32, c: &str, s: &str) -> Flow {
        let mut f = crate::detect::testutil::flow(id, Transport::Udp, c, s);
        f.first_frame = 1;
        f
    }

    fn udp(e: &mut Engine, f: &mut Flow, dir: Dir, ts: Nanos, payload: &[u8]) {
        use crate::decode::{Anomalies, Udp};
        f.first_ts = f.first_ts.min(ts);
        f.last_ts = f.last_ts.max(ts);
        f.dir[dir.idx()].packets += 1;
        let d = Decoded {
            net: None,
            l4: L4::Udp(Udp {
                src_port: 0,
                dst_port: 0,
                len: payload.len() as u32,
                payload,
            }),
            vlan: 0,
            tunnel: None,
            anomalies: Anomalies::default(),
            error: None,
        };
        e.on_packet(f, dir, 1, ts, &d);
    }

    fn rtp(seq: u16) -> Vec<u8> {
        let mut v = vec![0x90, 0x78];
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&(u32::from(seq) * 320).to_be_bytes());
        v.extend_from_slice(&0x1b9f_01eeu32.to_be_bytes());
        v.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0, 0, 0]);
        v.extend_from_slice(&[0x55; 60]);
        v
    }

    /// WhatsApp relay STUN (type 0x0801) then RTP on one flow; a later P2P leg from the same
    /// socket is labelled by the endpoint cache and joins the call; a WebRTC data channel
    /// (STUN + DTLS, no app) is not a call.
    #[test]
    fn engine_links_p2p_leg_and_groups_the_call() {
        let mut e = Engine::new();
        let mut relay = flow(0, "10.0.0.2:40000", "157.240.0.1:3478");
        let wa = [
            0x08, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        ];
        let ms = 1_000_000i64;
        udp(&mut e, &mut relay, Dir::C2s, 0, &wa);
        for i in 0..20u16 {
            udp(
                &mut e,
                &mut relay,
                Dir::C2s,
                10 * ms + i64::from(i) * 20 * ms,
                &rtp(i),
            );
            udp(
                &mut e,
                &mut relay,
                Dir::S2c,
                11 * ms + i64::from(i) * 20 * ms,
                &rtp(100 + i),
            );
        }
        let mut p2p = flow(1, "10.0.0.2:40000", "203.0.113.7:50000");
        let binding = [
            0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
        ];
        udp(&mut e, &mut p2p, Dir::C2s, 500 * ms, &binding);
        let mut dc = flow(2, "10.0.0.2:50400", "10.0.0.9:50500");
        udp(&mut e, &mut dc, Dir::C2s, 600 * ms, &binding);
        let dtls = [20, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1];
        udp(&mut e, &mut dc, Dir::S2c, 601 * ms, &dtls);
        let mut flows = vec![relay, p2p, dc];
        let calls = e.finish(&mut flows);
        assert_eq!(flows[0].class.app, Some("whatsapp"));
        assert_eq!(flows[0].class.protocols, vec!["rtp", "srtp", "stun"]);
        assert_eq!(flows[0].class.service, Service::Call);
        assert_eq!(flows[0].class.rtp.len(), 2);
        assert_eq!(flows[1].class.app, Some("whatsapp"));
        assert_eq!(flows[1].class.app_confidence(), Some(Confidence::Medium));
        assert_eq!(flows[2].class.app, None);
        assert_eq!(flows[2].class.protocols, vec!["dtls", "stun"]);
        assert_ne!(flows[2].class.service, Service::Call);
        assert_eq!(calls.len(), 1);
        assert_eq!(
            (calls[0].app.as_str(), calls[0].flows.clone()),
            ("whatsapp", vec![0, 1])
        );
        assert_eq!(
            calls[0].media.kind,
            Some(crate::report::evidence::MediaKind::Audio)
        );
    }

    /// A PCMU RTP packet (PT 0, 160 samples of 20 ms).
    fn pcmu(seq: u16, ssrc: u32) -> Vec<u8> {
        let mut v = vec![0x80, 0x00];
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        v.extend_from_slice(&ssrc.to_be_bytes());
        // Speech-like μ-law bytes: all-0xFF silence would put twelve 0xFF at offsets 16..28,
        // Telegram's reflector signature (a known false positive, docs/classification.md).
        for _ in 0..40 {
            v.extend_from_slice(&[0x7e, 0xfe, 0x6d, 0xed]);
        }
        v
    }

    /// The lab's rtp_policed order: SIP INVITE/200/ACK from the user's host, then the far
    /// end's RTP reaches the capture first, so the media flow's originator ("client") is the
    /// far end. The SDP named both media sockets: the leg joins the SIP call (one call, client
    /// the user's host), and so does the RTCP leg the user's host originated.
    #[test]
    fn far_end_rtp_first_stays_in_the_sip_call() {
        let mut e = Engine::new();
        let ms = 1_000_000i64;
        let mut sig = flow(0, "10.71.1.2:5060", "10.71.2.2:5060");
        let invite: &[u8] = b"INVITE sip:bob@10.71.2.2 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 10.71.1.2:5060\r\nCSeq: 1 INVITE\r\n\
            Content-Type: application/sdp\r\n\r\n\
            v=0\r\no=alice 1 1 IN IP4 10.71.1.2\r\nc=IN IP4 10.71.1.2\r\nt=0 0\r\n\
            m=audio 41234 RTP/AVP 0\r\n";
        let ok: &[u8] = b"SIP/2.0 200 OK\r\n\
            Via: SIP/2.0/UDP 10.71.1.2:5060\r\nCSeq: 1 INVITE\r\n\
            Content-Type: application/sdp\r\n\r\n\
            v=0\r\no=bob 2 2 IN IP4 10.71.2.2\r\nc=IN IP4 10.71.2.2\r\nt=0 0\r\n\
            m=audio 52310 RTP/AVP 0\r\n";
        let ack: &[u8] = b"ACK sip:bob@10.71.2.2 SIP/2.0\r\nCSeq: 1 ACK\r\n\r\n";
        udp(&mut e, &mut sig, Dir::C2s, 0, invite);
        udp(&mut e, &mut sig, Dir::S2c, ms, ok);
        udp(&mut e, &mut sig, Dir::C2s, 2 * ms, ack);
        // The far end's RTP arrives first: this flow's "client" is 10.71.2.2.
        let mut media = flow(1, "10.71.2.2:52310", "10.71.1.2:41234");
        for i in 0..10u16 {
            let t = 3 * ms + i64::from(i) * 20 * ms;
            udp(&mut e, &mut media, Dir::C2s, t, &pcmu(i, 0x5eb0_bda7));
            udp(
                &mut e,
                &mut media,
                Dir::S2c,
                t + ms / 4,
                &pcmu(i, 0xa11c_e9d3),
            );
        }
        let mut rtcp = flow(2, "10.71.1.2:41235", "10.71.2.2:52311");
        let rr = [
            0x81, 201, 0, 7, 0xa1, 0x1c, 0xe9, 0xd3, 0x5e, 0xb0, 0xbd, 0xa7,
        ];
        let mut rr_full = rr.to_vec();
        rr_full.extend_from_slice(&[0; 20]);
        udp(&mut e, &mut rtcp, Dir::C2s, 100 * ms, &rr_full);
        udp(
            &mut e,
            &mut sig,
            Dir::C2s,
            300 * ms,
            b"BYE sip:bob@10.71.2.2 SIP/2.0\r\nCSeq: 2 BYE\r\n\r\n",
        );
        let mut flows = vec![sig, media, rtcp];
        let calls = e.finish(&mut flows);
        assert_eq!(flows[1].class.app, Some("sip"));
        assert_eq!(flows[1].class.state.linked_to, Some(0));
        assert!(flows[1].class.has_protocol("rtp"));
        assert_eq!(flows[1].class.service, Service::Call);
        assert_eq!(flows[2].class.app, Some("sip"));
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].app, "sip");
        assert_eq!(calls[0].client, "10.71.1.2");
        assert_eq!(calls[0].flows, vec![0, 1, 2]);
        assert_eq!(calls[0].media.streams.len(), 2);
    }

    #[test]
    fn byte_helpers_never_panic() {
        assert_eq!(be16(&[1, 2], 0), Some(0x0102));
        assert_eq!(be16(&[1, 2], 1), None);
        assert_eq!(be32(&[1, 2, 3], 0), None);
        assert_eq!(be32(&[0, 0, 0, 1], usize::MAX), None);
        assert!(contains_ci(b"Realm: Google.COM", b"google.com"));
        assert!(!starts_with_ci(b"IN", b"INVITE"));
    }
}
