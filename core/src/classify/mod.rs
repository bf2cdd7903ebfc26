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
//! Beside the classifiers, the engine's [`record`]er parses each datagram once into the
//! flow's transactions ([`crate::tx`]), which detectors read instead of payload bytes.
//! [`Engine::finish`] re-applies the cross-flow caches, adds port hints to flows left
//! unlabelled, returns each flow with its [`FlowLabels`] and groups call flows into
//! [`crate::report::Call`]s (see `calls.rs`).
//!
//! **State.** The engine owns, per flow id, the labels so far and each classifier's own
//! [`Classifier::State`] (declared in the classifier's file), allocated on the classifier's
//! first write and dropped when it is done with the flow unless it
//! [keeps it](Classifier::KEEPS_STATE). Adding a classifier is its file plus one line in
//! [`REGISTRY`].

pub mod apps;
pub mod cache;
pub mod calls;
pub mod discord;
pub mod dns;
pub mod dtls;
pub mod facetime;
pub mod generic;
pub mod h323;
pub mod iax;
pub mod line;
pub mod megaco;
pub mod mgcp;
pub mod ports;
pub mod quic;
pub mod record;
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
use crate::label::LabeledFlow;
use crate::Nanos;
use std::any::Any;
use std::collections::BTreeMap;
use std::net::SocketAddr;

pub use crate::label::{FlowLabels, RtpStats};
pub use crate::model::{App, Confidence, Protocol, Service};

/// The immutable facts of the flow a packet belongs to.
#[derive(Clone, Copy, Debug)]
pub struct FlowInfo {
    pub id: u32,
    pub transport: Transport,
    pub client: SocketAddr,
    pub server: SocketAddr,
}

impl FlowInfo {
    /// The facts of `f`.
    pub fn of(f: &Flow) -> FlowInfo {
        FlowInfo {
            id: f.id,
            transport: f.transport,
            client: f.client,
            server: f.server,
        }
    }
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

/// What a classifier may touch besides its own state: the flow's labels and the cross-flow
/// caches.
pub struct Ctx<'e> {
    pub flow: FlowInfo,
    pub class: &'e mut FlowLabels,
    pub caches: &'e mut cache::Caches,
}

/// A classifier's state for one flow, allocated the first time the classifier writes it
/// ([`or_default`](Scratch::or_default)): a flow the classifier only glances at costs nothing.
#[derive(Debug)]
pub struct Scratch<T>(Option<Box<T>>);

impl<T> Default for Scratch<T> {
    fn default() -> Self {
        Scratch(None)
    }
}

impl<T: Default> Scratch<T> {
    /// The state, if the classifier stored one for this flow.
    pub fn get(&self) -> Option<&T> {
        self.0.as_deref()
    }
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.0.as_deref_mut()
    }
    /// The state, created (default) on first use.
    pub fn or_default(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

/// One protocol or app classifier.
pub trait Classifier: Sync {
    /// Per-flow state: a struct in the classifier's own file (`()` when it needs none). The
    /// [`Engine`] keeps it, per flow, from the first write until the classifier is done with
    /// the flow (or to the end with [`KEEPS_STATE`](Classifier::KEEPS_STATE)).
    type State: Default + Send + 'static;
    /// Keep the state after the classifier is done with a flow, for
    /// [`account`](Classifier::account) and [`finish`](Classifier::finish).
    const KEEPS_STATE: bool = false;
    /// A media classifier (RTP, DTLS): on a TURN flow it sees the relayed payload (ChannelData
    /// or Send/Data indication content, [`crate::proto::turn`]) instead of the outer bytes.
    const MEDIA: bool = false;
    /// Stable id (snake_case), used in docs and tests.
    fn id(&self) -> &'static str;
    /// Payload packets of a flow this classifier looks at, at most.
    fn budget(&self) -> u32;
    /// Cheap pre-check on the flow (transport, ports, labels so far).
    fn wants(&self, flow: &FlowInfo, class: &FlowLabels) -> bool;
    /// Looks at one payload packet.
    fn inspect(&self, cx: &mut Ctx<'_>, st: &mut Scratch<Self::State>, p: &Pkt<'_>) -> Outcome;
    /// Sees every later payload packet of a flow whose state it kept, budget or not (before
    /// any `inspect` of that packet), with the flow's labels and the cross-flow caches.
    fn account(&self, _cx: &mut Ctx<'_>, _st: &mut Self::State, _p: &Pkt<'_>) {}
    /// At the end of the capture, with the state it kept: final labels of the flow.
    fn finish(&self, _class: &mut FlowLabels, _st: Self::State) {}
}

/// A classifier's state with its type erased, as the engine stores it.
type AnyState = Box<dyn Any + Send>;

/// [`Classifier`] with its state type erased, so the classifiers fit one [`REGISTRY`]; every
/// `Classifier` is one.
pub trait Registered: Sync {
    fn id(&self) -> &'static str;
    fn budget(&self) -> u32;
    fn wants(&self, flow: &FlowInfo, class: &FlowLabels) -> bool;
    fn keeps_state(&self) -> bool;
    fn media(&self) -> bool;
    /// `inspect` with the stored state (None: none yet); returns the state to store.
    fn run(
        &self,
        cx: &mut Ctx<'_>,
        st: Option<AnyState>,
        p: &Pkt<'_>,
    ) -> (Outcome, Option<AnyState>);
    fn account_any(&self, cx: &mut Ctx<'_>, st: &mut AnyState, p: &Pkt<'_>);
    fn finish_any(&self, class: &mut FlowLabels, st: AnyState);
}

impl<C: Classifier> Registered for C {
    fn id(&self) -> &'static str {
        Classifier::id(self)
    }
    fn budget(&self) -> u32 {
        Classifier::budget(self)
    }
    fn wants(&self, flow: &FlowInfo, class: &FlowLabels) -> bool {
        Classifier::wants(self, flow, class)
    }
    fn keeps_state(&self) -> bool {
        C::KEEPS_STATE
    }
    fn media(&self) -> bool {
        C::MEDIA
    }
    fn run(
        &self,
        cx: &mut Ctx<'_>,
        st: Option<AnyState>,
        p: &Pkt<'_>,
    ) -> (Outcome, Option<AnyState>) {
        // The engine stores this classifier's state under its registry index only, so the
        // downcast holds; were it to fail, the classifier would start afresh.
        let mut s = Scratch(st.and_then(|b| b.downcast::<C::State>().ok()));
        let out = self.inspect(cx, &mut s, p);
        (out, s.0.map(|b| b as AnyState))
    }
    fn account_any(&self, cx: &mut Ctx<'_>, st: &mut AnyState, p: &Pkt<'_>) {
        if let Some(s) = st.downcast_mut::<C::State>() {
            self.account(cx, s, p);
        }
    }
    fn finish_any(&self, class: &mut FlowLabels, st: AnyState) {
        if let Ok(s) = st.downcast::<C::State>() {
            self.finish(class, *s);
        }
    }
}

/// The classifiers, in the order they see each packet. Adding one: its file (with its
/// `State`), `pub mod` above, and one line here.
pub const REGISTRY: &[&dyn Registered] = &[
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

/// `REGISTRY` index of the STUN classifier (the one shown TURN/TCP messages reassembled).
const STUN_INDEX: usize = 0;

// The per-flow `done` mask has a bit per classifier, and state keys are `u8`.
const _: () = assert!(REGISTRY.len() <= 64);

/// `FlowState::done` once every classifier is finished with a flow.
const ALL_DONE: u64 = if REGISTRY.len() >= 64 {
    u64::MAX
} else {
    (1u64 << REGISTRY.len()) - 1
};

/// The engine's per-flow classification: the labels so far and the classifiers' state.
#[derive(Debug, Default)]
struct FlowState {
    labels: FlowLabels,
    /// Payload-carrying packets seen in this flow.
    inspected: u32,
    /// Bit i set: classifier `REGISTRY[i]` is finished with this flow.
    done: u64,
    /// States stored by classifiers, keyed by registry index, sorted; a classifier's entry
    /// exists from its first write until it is done (or to the end if it keeps it).
    states: Vec<(u8, AnyState)>,
    /// Bit i set: `states` holds an entry for `REGISTRY[i]` (spares the lookup per packet).
    stored: u64,
    /// The transaction recorder's position in each direction (transactions go to `labels.tx`).
    rec: record::Recorder,
    /// Packets shown to the media classifiers (their budget counts these): all payload
    /// packets but the TURN/TCP segments that completed no frame.
    media_seen: u32,
    /// TURN framing reassembled per direction, on a TCP flow once it is known to carry STUN.
    turn_tcp: Option<Box<crate::flow::PerDir<crate::proto::turn::TcpFramer>>>,
}

impl FlowState {
    fn take_state(&mut self, idx: u8) -> Option<AnyState> {
        let bit = 1u64 << idx;
        if self.stored & bit == 0 {
            return None;
        }
        self.stored &= !bit;
        let i = self.states.binary_search_by_key(&idx, |(k, _)| *k).ok()?;
        Some(self.states.remove(i).1)
    }
    fn put_state(&mut self, idx: u8, st: AnyState) {
        self.stored |= 1u64 << idx;
        match self.states.binary_search_by_key(&idx, |(k, _)| *k) {
            Ok(i) => {
                if let Some(e) = self.states.get_mut(i) {
                    e.1 = st;
                }
            }
            Err(i) => self.states.insert(i, (idx, st)),
        }
    }
}

/// The classification engine: per-flow labels and classifier state (indexed by flow id),
/// plus the cross-flow caches.
#[derive(Debug, Default)]
pub struct Engine {
    caches: cache::Caches,
    flows: Vec<FlowState>,
}

impl Engine {
    pub fn new() -> Self {
        Engine::default()
    }

    /// Inspects one packet of `flow` (called in capture order, after the flow table saw it).
    pub fn on_packet(&mut self, flow: &Flow, dir: Dir, frame: u64, ts: Nanos, d: &Decoded<'_>) {
        let payload = match d.l4 {
            L4::Tcp(t) => t.payload,
            L4::Udp(u) => u.payload,
            _ => return,
        };
        let info = FlowInfo::of(flow);
        let (src, dst) = match dir {
            Dir::C2s => (flow.client, flow.server),
            Dir::S2c => (flow.server, flow.client),
        };
        let Engine { caches, flows } = self;
        // Flow ids are dense (the flow table's index), bounded by its flow cap.
        let i = flow.id as usize;
        if flows.len() <= i {
            flows.resize_with(i + 1, FlowState::default);
        }
        let Some(st) = flows.get_mut(i) else { return };
        if st.inspected == 0 && st.labels.app.is_none() {
            // First packet of the flow: labels from the cross-flow caches.
            caches.label_new_flow(&info, &mut st.labels, ts);
        }
        if payload.is_empty() {
            return;
        }
        st.inspected = st.inspected.saturating_add(1);
        if matches!(d.l4, L4::Udp(_)) {
            st.rec
                .on_datagram(flow, dir, frame, payload, &mut st.labels.tx);
        }
        let p = Pkt {
            dir,
            ts,
            frame,
            payload,
            src,
            dst,
            nth: st.inspected,
        };
        // TURN: the relayed payloads (ChannelData only once the flow is known to be STUN/TURN,
        // RFC 7983; indications carry the cookie). Media classifiers see these. Over TCP the
        // framing is reassembled across segments (`TcpFramer`), over UDP a datagram is a frame.
        use crate::proto::turn::{self, Frame, OwnedFrame};
        let stun = st.labels.has_protocol(Protocol::Stun);
        let mut owned: Vec<OwnedFrame> = Vec::new();
        let mut control: Option<Vec<u8>> = None;
        if let L4::Tcp(t) = &d.l4 {
            // A TCP flow gets a framer once it is known to carry STUN, or from a segment that
            // starts with a cookie-bearing STUN header (a first message split over segments,
            // which the STUN classifier then reads reassembled).
            if st.turn_tcp.is_none() && (stun || turn::starts_stun(payload).is_some()) {
                st.turn_tcp = Some(Box::default());
            }
            if let Some(fr) = st.turn_tcp.as_deref_mut() {
                fr[dir].push(t.seq, payload, t.seg_len, &mut owned, &mut control);
            }
        }
        let tcp_inner: Vec<Option<Frame<'_>>>;
        let udp_inner: [Option<Frame<'_>>; turn::MAX_FRAMES];
        let inner: &[Option<Frame<'_>>] = match d.l4 {
            L4::Tcp(_) => {
                tcp_inner = owned.iter().map(|o| Some(o.as_frame())).collect();
                &tcp_inner
            }
            _ if stun => {
                let n;
                (udp_inner, n) = turn::frames(payload, false);
                udp_inner.get(..n).unwrap_or(&[])
            }
            _ => &[],
        };
        let n_inner = inner.len();
        if n_inner > 0 {
            relayed(&mut st.labels, inner, frame);
        }
        // A segment of a synchronised TURN/TCP stream that completed no frame holds only part
        // of one: media classifiers neither see it nor spend budget on it.
        let media_skip = n_inner == 0 && st.turn_tcp.as_deref().is_some_and(|fr| fr[dir].synced());
        if !media_skip {
            st.media_seen = st.media_seen.saturating_add(1);
        }
        // Per-packet accounting of classifiers that keep state (RTP streams).
        for (idx, s) in st.states.iter_mut() {
            if let Some(c) = REGISTRY.get(usize::from(*idx)) {
                if c.keeps_state() && !(c.media() && media_skip) {
                    let mut cx = Ctx {
                        flow: info,
                        class: &mut st.labels,
                        caches,
                    };
                    if c.media() && n_inner > 0 {
                        for f in inner.iter().flatten() {
                            c.account_any(
                                &mut cx,
                                s,
                                &Pkt {
                                    payload: f.data,
                                    ..p
                                },
                            );
                        }
                    } else {
                        c.account_any(&mut cx, s, &p);
                    }
                }
            }
        }
        // A STUN message reassembled over segments replaces the segment for the STUN classifier.
        let stun_pkt = control.as_deref().map(|m| Pkt { payload: m, ..p });
        let media_pkt = match inner.first().copied().flatten() {
            Some(f) => Pkt {
                payload: f.data,
                nth: st.media_seen,
                ..p
            },
            None => Pkt {
                nth: st.media_seen,
                ..p
            },
        };
        if st.done == ALL_DONE {
            return;
        }
        for (i, c) in REGISTRY.iter().enumerate() {
            let bit = 1u64 << i;
            if st.done & bit != 0 {
                continue;
            }
            let idx = i as u8;
            if c.media() && media_skip {
                continue;
            }
            let pk = if c.media() {
                &media_pkt
            } else if let (Some(m), true) = (&stun_pkt, i == STUN_INDEX) {
                m
            } else {
                &p
            };
            if pk.nth > c.budget() || !c.wants(&info, &st.labels) {
                st.done |= bit;
                if !c.keeps_state() {
                    st.take_state(idx);
                }
                continue;
            }
            let stored = st.take_state(idx);
            let mut cx = Ctx {
                flow: info,
                class: &mut st.labels,
                caches,
            };
            let (out, s) = c.run(&mut cx, stored, pk);
            let finished = out != Outcome::NeedMore;
            if finished {
                st.done |= bit;
            }
            if let Some(s) = s {
                if !finished || c.keeps_state() {
                    st.put_state(idx, s);
                }
            }
        }
    }

    /// Finalises labels, pairs each flow with its labels and groups flows into calls.
    pub fn finish(
        &mut self,
        flows: Vec<Box<Flow>>,
    ) -> (Vec<LabeledFlow>, Vec<crate::report::Call>) {
        let mut states = std::mem::take(&mut self.flows);
        // Moved from the back, shrinking the source as it empties, so the two arrays (a
        // gigabyte each for a million flows) never both stand at full size.
        let mut src = flows;
        let mut flows: Vec<LabeledFlow> = Vec::new();
        let _ = flows.try_reserve_exact(src.len());
        while let Some(f) = src.pop() {
            let labels = states
                .get_mut(f.id as usize)
                .map(|s| {
                    if let Some(fr) = s.turn_tcp.take() {
                        turn_tcp_evidence(&mut s.labels, &fr);
                    }
                    std::mem::take(&mut s.labels)
                })
                .unwrap_or_default();
            flows.push(LabeledFlow::boxed(f, labels));
            if src.capacity() > 1024 && src.len() < src.capacity() / 8 * 7 {
                src.shrink_to_fit();
            }
        }
        flows.reverse();
        inherit_same_tuple(&mut flows);
        for f in flows.iter_mut() {
            let info = FlowInfo::of(f);
            let LabeledFlow { flow, class } = f;
            self.caches
                .label_late(&info, class, flow.first_ts, flow.last_ts);
            let l4 = matches!(flow.transport, Transport::Tcp | Transport::Udp);
            if class.app.is_none() && l4 && !class.has_protocol(Protocol::Dns) {
                if let Some((app, src)) = apps::range_app(flow.server.ip()) {
                    class.set_app(
                        app,
                        Confidence::Low,
                        format!("server in {app}'s published address block ({src})"),
                    );
                }
            }
            if flow.transport == Transport::Udp && (class.endpoint_linked || class.sdp_linked) {
                let media = class.has_protocol(Protocol::Rtp)
                    || class.has_protocol(Protocol::Stun)
                    || class.has_protocol(Protocol::Rtcp);
                if media || class.endpoint_linked {
                    class.mark_call("leg linked to a call by the STUN endpoint or SDP cache");
                }
            }
            if let Some(s) = states.get_mut(flow.id as usize) {
                s.stored = 0;
                for (idx, st) in std::mem::take(&mut s.states) {
                    if let Some(c) = REGISTRY.get(usize::from(idx)) {
                        c.finish_any(class, st);
                    }
                }
            }
            record::stream_openings(flow, &mut class.tx);
            ports::hint(&info, class);
            generic::label(flow, class);
            finalize_service(class);
        }
        rtcp_of_calls(&mut flows);
        let calls = calls::group(&flows);
        (flows, calls)
    }
}

/// An RTCP-only UDP flow whose two sockets are those of a call's RTP flow with each port
/// one higher (RFC 3550 §11: RTCP on the next higher port) is that call's RTCP: same app, a
/// call leg. Only unlabelled flows are touched; one ordered map of the call flows' socket pairs.
fn rtcp_of_calls(flows: &mut [LabeledFlow]) {
    let key = |a: SocketAddr, b: SocketAddr| (a.min(b), a.max(b));
    let mut rtp: BTreeMap<(SocketAddr, SocketAddr), (u32, App)> = BTreeMap::new();
    for f in flows.iter() {
        if let (true, true, Some(app), Transport::Udp) =
            (f.class.call, f.class.rtp_media, f.class.app, f.transport)
        {
            rtp.insert(key(f.client, f.server), (f.id, app));
        }
    }
    if rtp.is_empty() {
        return;
    }
    for f in flows.iter_mut() {
        let c = &f.class;
        if f.transport != Transport::Udp
            || c.app.is_some()
            || c.call
            || !c.has_protocol(Protocol::Rtcp)
            || c.has_protocol(Protocol::Rtp)
        {
            continue;
        }
        let down = |a: SocketAddr| a.port().checked_sub(1).map(|p| SocketAddr::new(a.ip(), p));
        let (Some(a), Some(b)) = (down(f.client), down(f.server)) else {
            continue;
        };
        if let Some(&(id, app)) = rtp.get(&key(a, b)) {
            let ev = format!("RTCP of call flow {id} (both ports + 1, RFC 3550 §11)");
            f.class.set_app(app, Confidence::Medium, ev.clone());
            f.class.mark_call(ev);
            f.class.linked_to = Some(id);
        }
    }
}

/// Most peers behind a TURN relay kept per flow.
pub const MAX_RELAY_PEERS: usize = 8;

/// Notes relayed TURN frames on a flow: `turn`, one evidence line, the peers they name.
fn relayed(c: &mut FlowLabels, frames: &[Option<crate::proto::turn::Frame<'_>>], frame: u64) {
    use crate::proto::turn::Kind;
    if c.relayed == 0 {
        c.add_protocol(Protocol::Turn);
        if let Some(f) = frames.first().copied().flatten() {
            let how = match f.kind {
                Kind::ChannelData(ch) => format!("ChannelData channel 0x{ch:04x}"),
                Kind::Send => "Send indication".to_string(),
                Kind::Data => "Data indication".to_string(),
                Kind::MsSend => "MS-TURN Send Request".to_string(),
                Kind::MsData => "MS-TURN Data Indication".to_string(),
            };
            c.add_evidence(format!("TURN {how} relaying media, frame {frame}"));
        }
    }
    for f in frames.iter().flatten() {
        c.relayed = c.relayed.saturating_add(1);
        if let Some(peer) = f.peer {
            c.add_relay_peer(peer);
        }
    }
}

/// Says what the TURN/TCP framer did when it did more than read whole frames from whole
/// segments: frames reassembled across segments, oversized frames skipped, sync lost.
fn turn_tcp_evidence(c: &mut FlowLabels, fr: &crate::flow::PerDir<crate::proto::turn::TcpFramer>) {
    let (a, b) = (&fr.c2s, &fr.s2c);
    let re = a.reassembled + b.reassembled;
    let big = a.oversized + b.oversized;
    let lost = a.lost_sync + b.lost_sync;
    if c.relayed == 0 || re + big + lost == 0 {
        return;
    }
    let mut line = format!("TURN over TCP: {re} relayed frames reassembled across segments");
    if big > 0 {
        line.push_str(&format!(
            ", {big} frames over {} bytes skipped",
            crate::proto::turn::MAX_BUFFER
        ));
    }
    if lost > 0 {
        let bytes = a.unread_bytes + b.unread_bytes;
        line.push_str(&format!(
            ", framing lost {lost} times (capture gap or unknown bytes; {bytes} bytes not read until a segment started on a frame)"
        ));
    }
    c.add_evidence(line);
}

/// A 5-tuple seen again after an idle timeout continues the earlier flow's session: an
/// unlabelled later flow takes the earlier one's protocols, app (medium) and call mark.
fn inherit_same_tuple(flows: &mut [LabeledFlow]) {
    let mut by_tuple: BTreeMap<(Transport, SocketAddr, SocketAddr), usize> = BTreeMap::new();
    for i in 0..flows.len() {
        let Some(f) = flows.get(i) else { continue };
        let key = (f.transport, f.client.min(f.server), f.client.max(f.server));
        let unlabelled = f.class.app.is_none() && f.class.protocols.is_empty();
        let earlier = by_tuple
            .get(&key)
            .and_then(|&j| flows.get(j))
            .map(|e| (e.id, e.class.protocols, e.class.app, e.class.call));
        if let (true, Some((id, protocols, app, call))) = (unlabelled, earlier) {
            let Some(f) = flows.get_mut(i) else { continue };
            let c = &mut f.class;
            c.protocols.extend_from(protocols);
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
        if flows
            .get(i)
            .is_some_and(|f| !f.class.protocols.is_empty() || f.class.app.is_some())
        {
            by_tuple.insert(key, i);
        }
    }
}

/// Sets `service` from what was found: call evidence → call; DNS → dns; an app's TLS/QUIC
/// or app protocol → chat or web.
fn finalize_service(c: &mut FlowLabels) {
    if c.rtp_media && !c.call {
        let webrtc = c.has_protocol(Protocol::Stun) || c.has_protocol(Protocol::Dtls);
        let call_app = c.app.is_some_and(|a| a == App::Sip || apps::is_call_app(a));
        if !webrtc || call_app {
            c.mark_call("RTP media stream");
        }
    }
    if c.call {
        c.service = Service::Call;
        return;
    }
    if c.has_protocol(Protocol::Dns) {
        c.service = Service::Dns;
    } else if let Some(app) = c.app {
        c.service = if app == App::Sip {
            Service::Other
        } else {
            Service::Chat
        };
        if c.has_protocol(Protocol::Http)
            || (c.has_protocol(Protocol::Tls) && apps::is_web_app(app))
        {
            c.service = Service::Web;
        }
    } else if c.has_protocol(Protocol::Tls)
        || c.has_protocol(Protocol::Quic)
        || c.has_protocol(Protocol::Http)
    {
        c.service = Service::Web;
    }
}

/// The bounds-checked readers every classifier uses.
pub(crate) use crate::wire::{be16, be32};

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
    fn stun_index_names_the_stun_classifier() {
        assert_eq!(REGISTRY.get(STUN_INDEX).map(|c| c.id()), Some("stun"));
    }

    #[test]
    fn registry_fits_done_mask() {
        assert!(REGISTRY.len() <= 64);
        let mut ids: Vec<&str> = REGISTRY.iter().map(|c| c.id()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "classifier ids are unique");
    }

    /// Shows `classifier` one client-to-server payload at frame 1, time 0, as the flow's
    /// `nth` payload packet.
    pub(super) fn inspect_c2s<C: Classifier>(
        classifier: &C,
        flow: FlowInfo,
        class: &mut FlowLabels,
        st: &mut Scratch<C::State>,
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
            st,
            &p,
        )
    }

    pub(super) fn flow(id: u32, c: &str, s: &str) -> Flow {
        let mut f = *crate::testkit::flows::flow(id, Transport::Udp, c, s).flow;
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
            arp: None,
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
        let (flows, calls) = e.finish(vec![Box::new(relay), Box::new(p2p), Box::new(dc)]);
        assert_eq!(flows[0].class.app, Some(App::WhatsApp));
        assert_eq!(
            flows[0].class.protocols,
            vec![Protocol::Rtp, Protocol::Srtp, Protocol::Stun]
        );
        assert_eq!(flows[0].class.service, Service::Call);
        assert_eq!(flows[0].class.rtp.len(), 2);
        assert_eq!(flows[1].class.app, Some(App::WhatsApp));
        assert_eq!(flows[1].class.app_confidence(), Some(Confidence::Medium));
        assert_eq!(flows[2].class.app, None);
        assert_eq!(
            flows[2].class.protocols,
            vec![Protocol::Dtls, Protocol::Stun]
        );
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

    /// Issue 11: plain RTP both ways on 20000/30000 and RTCP on 20001/30001: one `voip` call
    /// holding both flows.
    #[test]
    fn rtcp_on_the_next_ports_joins_the_rtp_call() {
        let mut e = Engine::new();
        let mut media = flow(0, "10.0.0.2:20000", "192.0.2.9:30000");
        let mut rtcp = flow(1, "10.0.0.2:20001", "192.0.2.9:30001");
        let ms = 1_000_000i64;
        for i in 0..30u16 {
            udp(
                &mut e,
                &mut media,
                Dir::C2s,
                i64::from(i) * 20 * ms,
                &pcmu(i, 7),
            );
            udp(
                &mut e,
                &mut media,
                Dir::S2c,
                i64::from(i) * 20 * ms + ms,
                &pcmu(i, 8),
            );
        }
        // RR with one report block's worth of length (1 word header + SSRC), tiling exactly.
        let rr = [0x80, 201, 0, 1, 0, 0, 0, 7];
        udp(&mut e, &mut rtcp, Dir::C2s, 100 * ms, &rr);
        let (flows, calls) = e.finish(vec![Box::new(media), Box::new(rtcp)]);
        assert_eq!(flows[0].class.app, Some(App::Voip));
        assert_eq!(flows[1].class.app, Some(App::Voip));
        assert_eq!(flows[1].class.service, Service::Call);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].flows, vec![0, 1]);
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
        let (flows, calls) = e.finish(vec![Box::new(sig), Box::new(media), Box::new(rtcp)]);
        assert_eq!(flows[1].class.app, Some(App::Sip));
        assert_eq!(flows[1].class.linked_to, Some(0));
        assert!(flows[1].class.has_protocol(Protocol::Rtp));
        assert_eq!(flows[1].class.service, Service::Call);
        assert_eq!(flows[2].class.app, Some(App::Sip));
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].app, "sip");
        assert_eq!(calls[0].client, "10.71.1.2");
        assert_eq!(calls[0].flows, vec![0, 1, 2]);
        assert_eq!(calls[0].media.streams.len(), 2);
    }

    /// An opus RTP packet (dynamic PT 96, 20 ms = 960 ticks at 48 kHz).
    fn opus(seq: u16, ssrc: u32) -> Vec<u8> {
        let mut v = vec![0x80, 96];
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
        v.extend_from_slice(&ssrc.to_be_bytes());
        v.extend_from_slice(&[0x5a; 60]);
        v
    }

    fn rtp_row(f: &crate::label::LabeledFlow, ssrc: u32) -> &crate::label::RtpStats {
        f.class.rtp.iter().find(|r| r.ssrc == ssrc).expect("stream")
    }

    /// Issue 11: SDP seen after the classifiers' budgets still counts. The SIP flow's INVITE
    /// comes after 70 keepalives (past SIP's 64-packet budget) and names opus on PT 96; a
    /// second media flow's 200 OK (its answer) arrives after 60 of its RTP packets (past
    /// RTP's 48): both streams get their codec and clock from the SDP.
    #[test]
    fn sdp_after_the_budgets_names_the_codec() {
        let mut e = Engine::new();
        let ms = 1_000_000i64;
        let mut sig = flow(0, "10.71.1.2:5060", "10.71.2.2:5060");
        let options: &[u8] = b"OPTIONS sip:bob@10.71.2.2 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n";
        for i in 0..70i64 {
            udp(&mut e, &mut sig, Dir::C2s, i * ms, options);
        }
        let invite: &[u8] = b"INVITE sip:bob@10.71.2.2 SIP/2.0\r\nCSeq: 2 INVITE\r\n\
            Content-Type: application/sdp\r\n\r\n\
            v=0\r\nc=IN IP4 10.71.2.2\r\nt=0 0\r\n\
            m=audio 41234 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n";
        udp(&mut e, &mut sig, Dir::C2s, 100 * ms, invite);
        let mut media = flow(1, "10.71.1.2:40000", "10.71.2.2:41234");
        let mut late = flow(2, "10.71.1.2:40002", "10.71.2.2:41236");
        for i in 0..80u16 {
            let t = 200 * ms + i64::from(i) * 20 * ms;
            udp(&mut e, &mut media, Dir::C2s, t, &opus(i, 0x0a0a_0a0a));
            udp(&mut e, &mut late, Dir::C2s, t, &opus(i, 0x0b0b_0b0b));
            if i == 60 {
                let answer: &[u8] = b"SIP/2.0 200 OK\r\nCSeq: 3 INVITE\r\n\
                    Content-Type: application/sdp\r\n\r\n\
                    v=0\r\nc=IN IP4 10.71.2.2\r\nt=0 0\r\n\
                    m=audio 41236 RTP/AVP 96\r\na=rtpmap:96 AMR-WB/16000\r\n";
                udp(&mut e, &mut sig, Dir::S2c, t, answer);
            }
        }
        let (flows, _) = e.finish(vec![Box::new(sig), Box::new(media), Box::new(late)]);
        let a = rtp_row(&flows[1], 0x0a0a_0a0a);
        assert_eq!((a.codec.as_deref(), a.clock_rate), (Some("opus"), 48000));
        let b = rtp_row(&flows[2], 0x0b0b_0b0b);
        assert_eq!(b.codec.as_deref(), Some("AMR-WB"));
        assert_eq!(b.packets, 80);
    }

    /// A re-offer adds payload types for a known address; a known type keeps its meaning.
    #[test]
    fn rtpmap_cache_merges_reoffers() {
        let mut c = cache::Caches::default();
        let a: std::net::SocketAddr = "10.0.0.1:4000".parse().unwrap();
        let m = |pt: u8, codec: &str| sip::RtpMap {
            pt,
            codec: codec.into(),
            clock: 8000,
        };
        c.insert_rtpmap(a, vec![m(96, "opus")]);
        let g = c.rtpmap_gen;
        c.insert_rtpmap(a, vec![m(96, "other")]);
        assert_eq!(c.rtpmap_gen, g, "nothing new");
        c.insert_rtpmap(a, vec![m(96, "other"), m(101, "telephone-event")]);
        assert_ne!(c.rtpmap_gen, g);
        let got: Vec<_> = c.rtpmap[&a]
            .iter()
            .map(|x| (x.pt, x.codec.as_str()))
            .collect();
        assert_eq!(got, [(96, "opus"), (101, "telephone-event")]);
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
