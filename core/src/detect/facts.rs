//! Facts that several detectors read, computed at most once per analysis and only when a
//! detector first asks for them (Zeek's split: analysers raise facts, detectors decide).
//!
//! [`Facts`] lives inside [`Input`](super::Input) (`input.facts()`); every fact is a
//! [`OnceCell`], so the first reader computes it and every later reader gets the same
//! value by reference. Detectors run one after the other on one thread (the wasm build
//! has no other), so the cells need no lock.
//!
//! | fact | computed from | read by |
//! | --- | --- | --- |
//! | [`Facts::ttl_by_host`] | [`blocking::ttl_by_host`]: capture-wide TTL mode per sender address, non-RST packets | `rst_injection` (through the RST verdicts), `handshake` (REJ TTL test) |
//! | [`Facts::vantage`] | [`vantage::infer`] on the flows and the analyzer's link-layer hints | every RST/injection reader (`rst_injection` through the RST verdicts, `handshake`): a packet the capture host sent is never forged; the analyzer (`capture.vantage`) |
//! | [`Facts::two_way`] | [`TwoWay::new`]: flows that saw both directions, or link-layer return-path evidence ([`Facts::link_inbound`]) | `handshake`, `quic`, `udp` (elsewhere), `tls_sni` ([`TwoWay::any`]) |
//! | [`Facts::rst_verdicts`] | [`rst_injection::judge_flow`] per TCP flow, with the TTL fact | `rst_injection` (findings, penalty box), `handshake` ([`Facts::injected_resets`]) |
//! | [`Facts::probes`] | [`blocking_hop::flow_probe`] per TCP flow: a request sent TTL-limited, its copies and the time exceeded that answered each | `request_blackholed` (an expired request is not black-holed), `http_block_page` (`REQUEST_EXPIRED`), `blocking_hop` |
//! | [`Facts::reach`] | [`blocking_hop::reach`]: per server, the lowest request TTL that got data back (empty unless a flow is a probe) | `request_blackholed`, `tls_sni` (a silent probe with less TTL never had to reach the server) |
//! | [`Facts::block_pages`] | [`http_block_page::judge`] per TCP flow, with the probe fact | `http_block_page` (findings), `blocking_hop` (which TTLs got an injected answer) |
//! | [`Facts::data_packets`] | [`series::data_packets`] per (flow, direction) | `policer`, `shaper` (size prechecks) |
//! | [`Facts::tcp_dir`] | [`series::analyze_dir`] + [`series::path_rtts`] per (flow, direction) | `policer`, `shaper` |
//! | [`Facts::policer_test`] | [`policer::analyze`] on that direction's segments and RTTs | `policer` (findings), `shaper` ("not if policed") |
//!
//! Per-direction facts are keyed by (index of the flow in `Input::flows`, [`Dir`]) and
//! computed only for the directions a detector asks about, so a capture of short flows
//! never labels segments. IP IDs are not a shared fact: detectors quote single packets'
//! IDs, and the per-direction ID gaps are part of [`series::analyze_dir`].
//!
//! **Adding a fact**: a `OnceCell` field here, an accessor that calls `get_or_init` with a
//! pure function of `flows` and `config` living beside the detector that owns the idea
//! (as `judge_flow` lives in `rst_injection.rs`), a row in the table above, and a bump of
//! its counter in [`Computed`] so the "computed once" test covers it.

use super::blocking::{self, TwoWay};
use super::blocking_hop::{self, FlowProbe};
use super::http_block_page::{self, Judged};
use super::policer::{self, Policed};
use super::rst_injection::{self, RstVerdict};
use super::series::{self, DataDir};
use super::vantage::{self, Hints, Vantage};
use super::DetectConfig;
use crate::flow::{Dir, Transport};
use crate::label::LabeledFlow;
use crate::Nanos;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The labelled segments and path RTT samples of one TCP direction.
#[derive(Clone, Debug)]
pub struct TcpDir {
    /// [`series::analyze_dir`] of the direction.
    pub data: DataDir,
    /// [`series::path_rtts`] of the direction, in time order.
    pub rtts: Vec<(Nanos, Nanos)>,
}

/// The lazily computed facts of one direction of one flow.
#[derive(Default)]
struct DirSlot {
    data_packets: OnceCell<u64>,
    /// `None` when the work budget skipped it.
    tcp: OnceCell<Option<TcpDir>>,
    policer: OnceCell<Result<Policed, policer::Reject>>,
}

/// How many times each fact was computed (each at most once per analysis; per-direction
/// facts count once per direction asked for).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Computed {
    pub ttl_by_host: u32,
    pub vantage: u32,
    pub two_way: u32,
    pub rst_verdicts: u32,
    pub data_packets: u32,
    pub tcp_dirs: u32,
    pub policer_tests: u32,
    pub probes: u32,
    pub reach: u32,
    pub block_pages: u32,
}

/// The shared facts of one analysis (see the module docs for the list).
pub struct Facts<'a> {
    flows: &'a [LabeledFlow],
    config: &'a DetectConfig,
    ttl_by_host: OnceCell<BTreeMap<IpAddr, u8>>,
    hints: Hints,
    vantage: OnceCell<Vantage>,
    two_way: OnceCell<TwoWay>,
    /// Boxed: a verdict is about 500 bytes and most flows have none.
    rst_verdicts: OnceCell<Vec<Option<Box<RstVerdict>>>>,
    probes: OnceCell<Vec<Option<Box<FlowProbe>>>>,
    reach: OnceCell<BTreeMap<IpAddr, u8>>,
    block_pages: OnceCell<Vec<Option<Judged<'a>>>>,
    /// One pair of slots per flow (C2s, S2c), allocated on the first per-direction question.
    /// Per flow, its two direction slots, boxed on first use: most flows of a big capture
    /// are never asked about, and a slot pair is about 500 bytes.
    dirs: OnceCell<Vec<OnceCell<Box<[DirSlot; 2]>>>>,
    computed: Cell<Computed>,
    /// Packet visits left in the work budget ([`Facts::charge`]).
    budget: Cell<u64>,
    /// What the budget skipped: analysis name → flow ids, in the order skipped.
    skipped: RefCell<BTreeMap<&'static str, Vec<u32>>>,
}

impl<'a> Facts<'a> {
    /// Facts of `flows` under `config`; nothing is computed yet.
    pub fn new(flows: &'a [LabeledFlow], config: &'a DetectConfig) -> Facts<'a> {
        Facts {
            flows,
            config,
            ttl_by_host: OnceCell::new(),
            hints: Hints::default(),
            vantage: OnceCell::new(),
            two_way: OnceCell::new(),
            rst_verdicts: OnceCell::new(),
            probes: OnceCell::new(),
            reach: OnceCell::new(),
            block_pages: OnceCell::new(),
            dirs: OnceCell::new(),
            computed: Cell::new(Computed::default()),
            budget: Cell::new(config.work_budget.unwrap_or(super::DEFAULT_WORK_BUDGET)),
            skipped: RefCell::new(BTreeMap::new()),
        }
    }

    /// Spends `work` packet visits of the per-capture budget on analysis `what` of flow
    /// `flow`; false (and the skip recorded) when the budget cannot cover it. Deterministic:
    /// detectors run in a fixed order and ask in flow order.
    pub fn charge(&self, what: &'static str, flow: u32, work: u64) -> bool {
        let left = self.budget.get();
        if work <= left {
            self.budget.set(left - work);
            return true;
        }
        self.skipped
            .borrow_mut()
            .entry(what)
            .or_default()
            .push(flow);
        false
    }

    /// What the work budget skipped: (analysis, flow ids), sorted by analysis name, each
    /// flow once.
    pub fn skipped(&self) -> Vec<(&'static str, Vec<u32>)> {
        self.skipped
            .borrow()
            .iter()
            .map(|(k, v)| {
                let mut ids = v.clone();
                ids.sort_unstable();
                ids.dedup();
                (*k, ids)
            })
            .collect()
    }

    fn count(&self, f: impl FnOnce(&mut Computed)) {
        let mut c = self.computed.get();
        f(&mut c);
        self.computed.set(c);
    }

    /// How often each fact has been computed so far.
    pub fn computed(&self) -> Computed {
        self.computed.get()
    }

    /// Capture-wide TTL mode per sender address ([`blocking::ttl_by_host`]): the reference
    /// a RST's TTL is compared with when its own flow holds no other packet of the sender.
    pub fn ttl_by_host(&self) -> &BTreeMap<IpAddr, u8> {
        self.ttl_by_host.get_or_init(|| {
            self.count(|c| c.ttl_by_host += 1);
            blocking::ttl_by_host(self.flows)
        })
    }

    /// Sets the analyzer's link-layer hints; only before the vantage is first asked for.
    pub(super) fn set_hints(&mut self, hints: Hints) {
        if self.vantage.get().is_none() {
            self.hints = hints;
        }
    }

    /// The capture host and its side ([`vantage::infer`]): packets it sent are never forged.
    pub fn vantage(&self) -> &Vantage {
        self.vantage.get_or_init(|| {
            self.count(|c| c.vantage += 1);
            vantage::infer(self.flows, self.ttl_by_host(), &self.hints)
        })
    }

    /// Which flows saw both directions ([`TwoWay`]): the guard against one-sided captures.
    pub fn two_way(&self) -> &TwoWay {
        self.two_way.get_or_init(|| {
            self.count(|c| c.two_way += 1);
            TwoWay::new(self.flows).with_link(self.link_inbound().is_some())
        })
    }

    /// The first frame outside two-way IP flows that shows the return path toward the
    /// capture host ([`vantage::link_inbound`]: ARP from the gateway, ICMP to the host;
    /// `Some(0)` for Linux cooked incoming frames only).
    pub fn link_inbound(&self) -> Option<u64> {
        vantage::link_inbound(self.vantage(), &self.hints, self.flows)
    }

    /// The analyzer's link-layer hints.
    pub fn hints(&self) -> &Hints {
        &self.hints
    }

    /// The RST judgement of every flow, by index in `flows`
    /// ([`rst_injection::judge_flow`]; `None` for non-TCP flows, flows without a RST and
    /// guarded ones).
    pub fn rst_verdicts(&self) -> &[Option<Box<RstVerdict>>] {
        self.rst_verdicts.get_or_init(|| {
            self.count(|c| c.rst_verdicts += 1);
            let hosts = self.ttl_by_host();
            let vantage = self.vantage();
            self.flows
                .iter()
                .map(|f| {
                    (f.transport == Transport::Tcp && f.rst_packets() > 0)
                        .then(|| {
                            // Up to 64 resets, each looking back over the flow's log.
                            let work = (f.packets.len() as u64)
                                .saturating_mul(f.rst_packets().min(64) + 1);
                            self.charge("rst_injection", f.id, work)
                        })
                        .filter(|ok| *ok)
                        .and_then(|_| {
                            rst_injection::judge_flow(f, &self.config.blocking, hosts, vantage)
                                .map(Box::new)
                        })
                })
                .collect()
        })
    }

    /// The TTL-limited probe of every flow, by index in `flows`
    /// ([`blocking_hop::flow_probe`]; `None` for the flows whose request went out with the
    /// normal TTL, and non-TCP flows).
    pub fn probes(&self) -> &[Option<Box<FlowProbe>>] {
        self.probes.get_or_init(|| {
            self.count(|c| c.probes += 1);
            self.flows
                .iter()
                .map(|f| blocking_hop::flow_probe(f).map(Box::new))
                .collect()
        })
    }

    /// Per server address, the lowest TTL a request that got data back was sent with
    /// ([`blocking_hop::reach`]); empty when no flow is a probe (nobody needs it then).
    pub fn reach(&self) -> &BTreeMap<IpAddr, u8> {
        self.reach.get_or_init(|| {
            if self.probes().iter().all(Option::is_none) {
                return BTreeMap::new();
            }
            self.count(|c| c.reach += 1);
            blocking_hop::reach(self.flows)
        })
    }

    /// The injected-answer judgement of every flow, by index in `flows`
    /// ([`http_block_page::judge`]; `None` when no test fired or the flow has no request).
    pub fn block_pages(&self) -> &[Option<Judged<'a>>] {
        self.block_pages.get_or_init(|| {
            self.count(|c| c.block_pages += 1);
            let probes = self.probes();
            self.flows
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    (f.transport == Transport::Tcp)
                        .then(|| {
                            let probe = probes.get(i).and_then(|p| p.as_deref());
                            http_block_page::judge(f, &self.config.blocking, probe)
                        })
                        .flatten()
                })
                .collect()
        })
    }

    /// Flows judged to carry an injected reset: (flow id, server address, time of the RST),
    /// in flow order (read from [`Facts::rst_verdicts`]).
    pub fn injected_resets(&self) -> impl Iterator<Item = (u32, IpAddr, Nanos)> + '_ {
        self.flows
            .iter()
            .zip(self.rst_verdicts())
            .filter_map(|(f, v)| {
                v.as_ref()
                    .filter(|v| v.injected)
                    .map(|v| (f.id, f.server.ip(), v.ts))
            })
    }

    fn slot(&self, flow: usize, dir: Dir) -> Option<&DirSlot> {
        let dirs = self.dirs.get_or_init(|| {
            std::iter::repeat_with(Default::default)
                .take(self.flows.len())
                .collect()
        });
        dirs.get(flow)?.get_or_init(Box::default).get(dir.idx())
    }

    /// Data-carrying packets of direction `dir` of flow `flow` ([`series::data_packets`]):
    /// the cheap precheck before labelling segments. `None` for an index out of range.
    pub fn data_packets(&self, flow: usize, dir: Dir) -> Option<u64> {
        let f = self.flows.get(flow)?;
        if f.transport != Transport::Tcp {
            // Not cached: no slot is boxed for the (many) flows no TCP analysis reads.
            return Some(series::data_packets(f, dir));
        }
        let slot = self.slot(flow, dir)?;
        Some(*slot.data_packets.get_or_init(|| {
            self.count(|c| c.data_packets += 1);
            series::data_packets(f, dir)
        }))
    }

    /// The labelled segments and path RTTs of direction `dir` of TCP flow `flow`
    /// ([`series::analyze_dir`], [`series::path_rtts`]); `None` for a non-TCP flow.
    pub fn tcp_dir(&self, flow: usize, dir: Dir) -> Option<&TcpDir> {
        let f = self.flows.get(flow)?;
        if f.transport != Transport::Tcp {
            return None;
        }
        let slot = self.slot(flow, dir)?;
        let d = slot.tcp.get_or_init(|| {
            // Two passes over the log's unbroken start (segments, then ACKs for RTTs).
            let work = (f.contiguous().len() as u64).saturating_mul(2);
            if !self.charge("tcp_throttling", f.id, work) {
                return None;
            }
            self.count(|c| c.tcp_dirs += 1);
            let data = series::analyze_dir(f, dir);
            let rtts = series::path_rtts(f, &data);
            Some(TcpDir { data, rtts })
        });
        d.as_ref()
    }

    /// Flach et al.'s policing test ([`policer::analyze`]) on [`Facts::tcp_dir`] of the
    /// direction, without the policer detector's size prechecks: the policer reports it
    /// when the direction is big enough, the shaper leaves every direction that passes it
    /// to the policer.
    pub fn policer_test(&self, flow: usize, dir: Dir) -> Option<&Result<Policed, policer::Reject>> {
        let d = self.tcp_dir(flow, dir)?;
        let slot = self.slot(flow, dir)?;
        Some(slot.policer.get_or_init(|| {
            self.count(|c| c.policer_tests += 1);
            policer::analyze(&d.data, &d.rtts, &self.config.throttle)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::series::sim::{self, Sim};
    use super::super::{run_all, Input};
    use super::*;
    use crate::decode::tcp_flags::{ACK, PSH, RST, SYN};
    use crate::testkit::flows::*;

    /// A TCP flow reset right after its ClientHello by a RST with a foreign TTL (40, an
    /// initial 64, where the server's SYN-ACK came with 117 of 128), 1 ms after the client's
    /// data on a 20 ms path: injected (TTL_MISMATCH, FAST_RST).
    fn reset_flow(id: u32) -> LabeledFlow {
        let mut f = flow(id, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
        let mut ps = tcp_handshake().to_vec();
        ps.push(pkt(4, 30, C, PSH | ACK, 1001, 5001, 200, 64));
        ps.push(pkt(5, 31, S, RST | ACK, 5001, 1201, 0, 40));
        push(&mut f, &ps);
        prefix(&mut f, C, &client_hello("blocked.example"));
        f
    }

    /// A later connection to the same server whose SYN gets only a RST.
    fn rejected_flow(id: u32) -> LabeledFlow {
        let mut f = flow(id, Transport::Tcp, "10.0.0.2:40002", "203.0.113.5:443");
        push(
            &mut f,
            &[
                pkt(10, 2000, C, SYN, 7000, 0, 0, 64),
                pkt(11, 2001, S, RST | ACK, 0, 7001, 0, 40),
            ],
        );
        f
    }

    #[test]
    fn every_fact_is_computed_once_per_analysis() {
        let policed = sim::run(&Sim {
            policer: Some((1e6, 30_000.0)),
            ..Default::default()
        });
        let shaped = sim::run(&Sim {
            shaper: Some((2e6, 150_000.0, 3000.0)),
            ..Default::default()
        });
        let flows = vec![reset_flow(1), rejected_flow(2), policed, shaped];
        let config = DetectConfig::default();
        let input = Input::new(&flows, &[], &config);
        let findings = run_all(&input);
        // Both throttling detectors and both RST readers did their work…
        for kind in [
            "throttling_policer",
            "throttling_shaper",
            "tcp_reset_injected",
        ] {
            assert!(
                findings.iter().any(|f| f.kind == kind),
                "{kind}: {findings:?}"
            );
        }
        // …on facts computed once: capture-wide ones once, per-direction ones once per
        // direction asked for (4 TCP flows × 2 directions at most).
        let c = input.facts().computed();
        assert_eq!(c.ttl_by_host, 1);
        assert_eq!(c.vantage, 1);
        assert_eq!(c.two_way, 1);
        assert_eq!(c.rst_verdicts, 1);
        // The probe and block-page facts once; no flow is a probe, so no reach map at all.
        assert_eq!((c.probes, c.block_pages, c.reach), (1, 1, 0));
        assert!(c.data_packets >= 1 && c.data_packets <= 8, "{c:?}");
        assert!(c.tcp_dirs >= 2 && c.tcp_dirs <= c.data_packets, "{c:?}");
        assert!(
            c.policer_tests >= 2 && c.policer_tests <= c.tcp_dirs,
            "{c:?}"
        );
        // A second run reuses everything.
        let again = run_all(&input);
        assert_eq!(input.facts().computed(), c);
        assert_eq!(
            serde_json::to_string(&findings).unwrap(),
            serde_json::to_string(&again).unwrap()
        );
    }

    #[test]
    fn readers_share_one_instance() {
        let flows = vec![reset_flow(1), rejected_flow(2)];
        let config = DetectConfig::default();
        let facts = Facts::new(&flows, &config);
        assert_eq!(
            facts.computed(),
            Computed::default(),
            "nothing before a question"
        );
        assert!(std::ptr::eq(facts.ttl_by_host(), facts.ttl_by_host()));
        assert!(std::ptr::eq(facts.two_way(), facts.two_way()));
        assert!(std::ptr::eq(facts.rst_verdicts(), facts.rst_verdicts()));
        let injected: Vec<u32> = facts.injected_resets().map(|(id, _, _)| id).collect();
        assert_eq!(injected, vec![1]);
        assert_eq!(facts.computed().rst_verdicts, 1);
        assert_eq!(facts.computed().ttl_by_host, 1);
    }

    #[test]
    fn per_direction_facts_only_when_asked_and_bounds_checked() {
        let flows = vec![
            sim::run(&Sim::default()),
            flow(7, Transport::Udp, "10.0.0.2:5000", "198.51.100.1:3478"),
        ];
        let config = DetectConfig::default();
        let facts = Facts::new(&flows, &config);
        let a = facts.tcp_dir(0, Dir::S2c).map(|d| d as *const TcpDir);
        assert!(a.is_some());
        assert_eq!(a, facts.tcp_dir(0, Dir::S2c).map(|d| d as *const TcpDir));
        assert!(facts.policer_test(0, Dir::S2c).is_some());
        assert!(
            facts.tcp_dir(1, Dir::S2c).is_none(),
            "UDP has no TCP direction"
        );
        assert!(facts.tcp_dir(9, Dir::S2c).is_none());
        assert!(facts.data_packets(9, Dir::C2s).is_none());
        let c = facts.computed();
        assert_eq!((c.tcp_dirs, c.policer_tests, c.data_packets), (1, 1, 0));
    }
}
