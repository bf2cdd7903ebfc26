//! Cross-flow caches, fed in capture order:
//! - the **STUN endpoint cache**: sockets of STUN flows labelled with a call app, plus the
//!   XOR-MAPPED/XOR-PEER/XOR-RELAYED addresses they carried. A later flow from or to one of
//!   those sockets (a P2P leg, media to the relay) gets the app with medium confidence;
//! - the **DNS answer cache**: addresses a call-app name resolved to (from `apps.rs`), so
//!   flows to them get the app with medium confidence;
//! - the **SDP media cache**: `c=`/`m=` addresses announced in SIP bodies, so the RTP flows
//!   they announce are linked to the call.
//!
//! Each map is capped ([`MAX_ENTRIES`]); once full, new entries are dropped (counted).
//! `BTreeMap` keeps iteration deterministic.

use super::sip::RtpMap;
use super::App;
use super::{Confidence, FlowInfo, FlowLabels};
use crate::Nanos;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// Most entries per cache.
pub const MAX_ENTRIES: usize = 65_536;

/// Most rtpmap lines kept per media address over all its SDPs (one SDP gives at most
/// [`MAX_RTPMAP`](super::sip::MAX_RTPMAP); re-offers may add some).
const MAX_RTPMAP_LINES: usize = 2 * super::sip::MAX_RTPMAP;

/// One cached fact: which app, first seen when, learned from which flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub app: App,
    pub ts: Nanos,
    pub flow: u32,
}

/// A capped map from a key to the first entry learned for it.
#[derive(Clone, Debug)]
pub struct Capped<K: Ord> {
    map: BTreeMap<K, Entry>,
    pub dropped: u64,
}

impl<K: Ord> Default for Capped<K> {
    fn default() -> Self {
        Capped {
            map: BTreeMap::new(),
            dropped: 0,
        }
    }
}

impl<K: Ord> Capped<K> {
    /// Inserts when absent (the first learned entry wins) and the cap allows it.
    pub fn insert(&mut self, k: K, app: App, ts: Nanos, flow: u32) {
        if self.map.contains_key(&k) {
            return;
        }
        if self.map.len() >= MAX_ENTRIES {
            self.dropped += 1;
            return;
        }
        self.map.insert(k, Entry { app, ts, flow });
    }
    pub fn get(&self, k: &K) -> Option<&Entry> {
        self.map.get(k)
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// All cross-flow caches.
#[derive(Clone, Debug, Default)]
pub struct Caches {
    pub endpoints: Capped<SocketAddr>,
    pub dns: Capped<IpAddr>,
    /// Names that resolved to an address (for evidence), parallel to `dns`.
    pub dns_names: BTreeMap<IpAddr, String>,
    pub sdp: Capped<SocketAddr>,
    /// The `a=rtpmap` lines of the SDP media section that announced each media address
    /// (first learned wins, at most [`MAX_ENTRIES`] addresses, entries dropped counted in
    /// `sdp.dropped`).
    pub rtpmap: BTreeMap<SocketAddr, Vec<RtpMap>>,
    /// Bumped whenever `rtpmap` gains a line, so media flows re-read it only then.
    pub rtpmap_gen: u32,
    /// Host pairs (ordered) that carried H.225 call signalling (at most 4096).
    pub h323_hosts: std::collections::BTreeSet<(IpAddr, IpAddr)>,
}

impl Caches {
    /// Remembers the rtpmap an SDP media section gave for its address (none: nothing kept).
    /// A later SDP for the same address (an answer, a re-offer) adds the payload types it
    /// names that were not known; a known type keeps its first meaning (a payload type's
    /// mapping must not change within a session, RFC 3264 §8.3.2).
    pub fn insert_rtpmap(&mut self, addr: SocketAddr, maps: Vec<RtpMap>) {
        if maps.is_empty() {
            return;
        }
        if let Some(known) = self.rtpmap.get_mut(&addr) {
            let before = known.len();
            for m in maps {
                if known.len() < MAX_RTPMAP_LINES && !known.iter().any(|k| k.pt == m.pt) {
                    known.push(m);
                }
            }
            if known.len() != before {
                self.rtpmap_gen = self.rtpmap_gen.wrapping_add(1).max(1);
            }
            return;
        }
        if self.rtpmap.len() >= MAX_ENTRIES {
            self.sdp.dropped += 1;
            return;
        }
        self.rtpmap.insert(addr, maps);
        self.rtpmap_gen = self.rtpmap_gen.wrapping_add(1).max(1);
    }

    /// Labels a new flow (its first packet, time `ts`) from what earlier flows taught.
    pub fn label_new_flow(&self, f: &FlowInfo, c: &mut FlowLabels, ts: Nanos) {
        self.apply(f, c, ts);
    }

    /// At the end: applies entries learned while the flow was alive (a flow that started just
    /// before its STUN/SDP/DNS evidence).
    pub fn label_late(&self, f: &FlowInfo, c: &mut FlowLabels, _first: Nanos, last: Nanos) {
        self.apply(f, c, last);
    }

    fn apply(&self, f: &FlowInfo, c: &mut FlowLabels, before: Nanos) {
        let cur = c.app_confidence();
        if cur.is_some_and(|x| x >= Confidence::Medium) {
            return;
        }
        for s in [f.server, f.client] {
            if let Some(e) = self.sdp.get(&s).filter(|e| e.ts <= before) {
                c.set_app(
                    e.app,
                    Confidence::Medium,
                    format!("media address {s} announced in SDP of flow {}", e.flow),
                );
                c.sdp_linked = true;
                c.linked_to = Some(e.flow);
                return;
            }
        }
        if f.is_udp() {
            for s in [f.client, f.server] {
                if let Some(e) = self.endpoints.get(&s).filter(|e| e.ts <= before) {
                    c.set_app(
                        e.app,
                        Confidence::Medium,
                        format!("socket {s} seen in {} STUN/TURN flow {}", e.app, e.flow),
                    );
                    c.endpoint_linked = true;
                    c.linked_to = Some(e.flow);
                    return;
                }
            }
        }
        if let Some(e) = self.dns.get(&f.server.ip()).filter(|e| e.ts <= before) {
            let name = self
                .dns_names
                .get(&f.server.ip())
                .map(String::as_str)
                .unwrap_or("?");
            c.set_app(
                e.app,
                Confidence::Medium,
                format!("server address answered for {name} (DNS)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Transport;

    fn info(c: &str, s: &str) -> FlowInfo {
        FlowInfo {
            id: 9,
            transport: Transport::Udp,
            client: c.parse().unwrap(),
            server: s.parse().unwrap(),
        }
    }

    #[test]
    fn endpoint_cache_labels_p2p_leg() {
        let mut k = Caches::default();
        k.endpoints
            .insert("10.0.0.2:5000".parse().unwrap(), App::WhatsApp, 100, 1);
        let mut c = FlowLabels::default();
        k.label_new_flow(&info("10.0.0.2:5000", "203.0.113.9:6000"), &mut c, 200);
        assert_eq!(c.app, Some(App::WhatsApp));
        assert_eq!(c.app_confidence(), Some(Confidence::Medium));
        // Not before it was learned.
        let mut c = FlowLabels::default();
        k.label_new_flow(&info("10.0.0.2:5000", "203.0.113.9:6000"), &mut c, 50);
        assert_eq!(c.app, None);
    }

    #[test]
    fn dns_cache_and_cap() {
        let mut k = Caches::default();
        k.dns
            .insert("198.51.100.7".parse().unwrap(), App::Zoom, 1, 0);
        k.dns
            .insert("198.51.100.7".parse().unwrap(), App::Line, 1, 0);
        assert_eq!(k.dns.len(), 1);
        let mut c = FlowLabels::default();
        k.label_late(&info("10.0.0.2:5000", "198.51.100.7:443"), &mut c, 0, 10);
        assert_eq!(c.app, Some(App::Zoom));
    }
}
