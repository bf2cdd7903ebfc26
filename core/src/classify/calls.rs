//! Grouping flows into calls, and per-call media quality.
//!
//! **Grouping.** A call is flows of one app and one client with call evidence
//! (`FlowLabels::call`: app media signature, RTP media, SIP INVITE, or a leg linked to
//! such a flow by the STUN endpoint or SDP cache), overlapping in time. Flows are taken in
//! start order; each joins, in this order of preference:
//! 1. for a leg the SDP or STUN endpoint cache linked to a flow (`FlowLabels::linked_to`), the call
//!    of that flow, whatever the leg's addresses;
//! 2. the open call (last packet no more than [`JOIN_GAP_NS`] before the flow starts) of the
//!    same app whose client is the flow's user's-host end;
//! 3. the open call of the same app whose client is the flow's other end;
//!
//! else it opens a call. The user's-host end of a flow is, for a linked leg, the end that
//! the announcing flow's client is on; otherwise the end with a private (RFC 1918/4193,
//! CGNAT) address when exactly one end has one, else the originator. Steps 1 and 3 exist
//! because a flow's originator is only whoever sent first: RTP the far end sends before the
//! user's host (a SIP UAS that starts media on the ACK, a peer's P2P probe) makes the far end
//! the flow's "client", and keying by it alone split one call in two. ICE candidate pairs,
//! relays, P2P legs and the signalling flow of one call therefore land together; two calls
//! of one app separated by more than the gap stay apart.
//!
//! **Media** (`Call::media`): `kind` (audio/video/audio+video from the RTP streams: a 90 kHz
//! clock or a static video payload type is video; null without RTP); per RTP stream the RFC 3550 packets, expected, lost, loss %,
//! jitter (ms); the median RTCP round-trip time; one-way periods (≥ [`ONE_WAY_MIN_BINS`]
//! consecutive rate bins with traffic one way only, on UDP flows); and a MOS estimate from
//! the simplified E-model (ITU-T G.107): R = 93.2 − Id − Ie,eff with
//! Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3), d = one-way delay (RTT/2, or 50 ms when no
//! RTCP RTT was measured, + 2×jitter for the jitter buffer + 20 ms packetisation), and
//! Ie,eff = Ie + (95 − Ie)·Ppl/(Ppl + Bpl) with Ie = 0 and Bpl = 10 (a codec with packet-loss
//! concealment; G.113 Appendix I gives 4.3–25.1 across codecs). MOS = 1 + 0.035R +
//! 7·10⁻⁶·R(R − 60)(100 − R). Without RTP streams (encrypted app framing) no MOS is given.

use crate::flow::{Dir, Flow, Transport};
use crate::label::LabeledFlow;
use crate::model::App;
use crate::model::{Protocol, Status};
use crate::report::evidence::{JitterBufferMos, MediaKind, MediaStream, OneWayPeriod};
use crate::report::{Call, Media};
use crate::{secs, Nanos};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A flow starting within this time after a call's last packet joins it.
pub const JOIN_GAP_NS: Nanos = 30_000_000_000;
/// Rate bins (of the flow table's bin width) with one-way traffic that make a period.
pub const ONE_WAY_MIN_BINS: usize = 20;

/// True for private, CGNAT, link-local and unique-local addresses.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            a.is_private()
                || a.is_link_local()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || a.is_loopback()
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80 || a.is_loopback()
        }
    }
}

/// The client address of a flow for grouping.
pub fn client_of(f: &Flow) -> IpAddr {
    let (c, s) = (f.client.ip(), f.server.ip());
    if is_private(s) && !is_private(c) {
        s
    } else {
        c
    }
}

/// Simplified E-model MOS from loss (%), jitter (ms) and round-trip time (ms, if measured):
/// the jitter buffer is taken as twice the jitter deep.
pub fn mos(loss_pct: f64, jitter_ms: f64, rtt_ms: Option<f64>) -> f64 {
    e_model(
        loss_pct,
        one_way_ms(rtt_ms) + 2.0 * jitter_ms + CODEC_DELAY_MS,
    )
}

/// Packetisation and codec delay (ms) the E-model adds to the path's (one 20 ms frame).
const CODEC_DELAY_MS: f64 = 20.0;

/// The network's one-way delay (ms): half the RTCP round trip when measured, else 50 ms.
fn one_way_ms(rtt_ms: Option<f64>) -> f64 {
    rtt_ms.map_or(50.0, |r| r / 2.0)
}

/// The simplified E-model (ITU-T G.107 with G.113 Ie/Bpl of a G.711-like codec): the R
/// factor from the mouth-to-ear delay `d` (ms) and the loss (%), as a MOS in 1…4.5.
fn e_model(loss_pct: f64, d: f64) -> f64 {
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let ppl = loss_pct.clamp(0.0, 100.0);
    let ie_eff = 95.0 * ppl / (ppl + 10.0);
    let r = (93.2 - id - ie_eff).clamp(0.0, 100.0);
    let m = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
    (m.clamp(1.0, 4.5) * 100.0).round() / 100.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One-way periods of a UDP flow: (start s, end s, direction that still sent).
fn one_way_periods(f: &Flow, bin_ns: Nanos) -> Vec<OneWayPeriod> {
    let mut out = Vec::new();
    if f.transport != Transport::Udp || f.dir[0].packets == 0 || f.dir[1].packets == 0 {
        return out;
    }
    let (a, b) = (&f.dir[0].rate, &f.dir[1].rate);
    let n = a.len().max(b.len());
    let at = |v: &Vec<u64>, i: usize| v.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while i < n && out.len() < 8 {
        let one = |i: usize| match (at(a, i) > 0, at(b, i) > 0) {
            (true, false) => Some(Dir::C2s),
            (false, true) => Some(Dir::S2c),
            _ => None,
        };
        let Some(d) = one(i) else {
            i += 1;
            continue;
        };
        let mut j = i;
        while j < n && one(j) == Some(d) {
            j += 1;
        }
        if j - i >= ONE_WAY_MIN_BINS {
            let t0 = f.first_ts + bin_ns * i as i64;
            let t1 = f.first_ts + bin_ns * j as i64;
            out.push(OneWayPeriod {
                end: secs(t1.min(f.last_ts)),
                flow: f.id,
                only: if d == Dir::C2s { "c2s" } else { "s2c" },
                start: secs(t0),
            });
        }
        i = j;
    }
    out
}

/// One direction's RTP media of a call (relative to the user's host).
#[derive(Clone, Copy, Debug, Default)]
struct DirMedia {
    exp: u64,
    /// Packets received, and the late ones each simulated buffer discarded (fixed 50 ms,
    /// fixed 200 ms, adaptive: [`BUFFERS`] order).
    pkts: u64,
    late: [u64; 3],
    /// Sum of the adaptive buffer's mean depth (ms) weighted by packets.
    adapt_sum: f64,
    /// Sum of the streams' jitter (ms) weighted by packets.
    jit_sum: f64,
    /// Highest packet rate (packets/s) of its streams.
    rate: f64,
    /// Seconds of one-way periods in which this direction sent nothing.
    silent_s: f64,
}

impl DirMedia {
    /// Loss (%) of a receiver that played `played` packets: the expected ones plus those the
    /// direction's silent periods held back (at its packet rate), so dead audio is loss.
    fn loss_pct(&self, played: u64) -> f64 {
        let hidden = (self.silent_s * self.rate).round().max(0.0) as u64;
        let exp = self.exp.saturating_add(hidden);
        exp.saturating_sub(played) as f64 * 100.0 / exp.max(1) as f64
    }

    /// E-model MOS of this direction with the fixed 50 ms buffer's discards as loss and the
    /// jitter term for its delay ([`mos`]).
    fn mos(&self, rtt_ms: Option<f64>) -> Option<f64> {
        if self.pkts == 0 {
            return None;
        }
        let loss = self.loss_pct(self.pkts.saturating_sub(self.late[0]));
        Some(mos(loss, self.jit_sum / self.pkts as f64, rtt_ms))
    }

    /// E-model MOS of what a receiver with jitter buffer `k` ([`BUFFERS`]) would play: the
    /// packets it discarded as late count as lost, and its depth adds to the delay (the
    /// adaptive buffer's mean depth). None without media this way.
    fn buffer_mos(&self, k: usize, rtt_ms: Option<f64>) -> Option<(f64, f64)> {
        let (_, fixed) = BUFFERS.get(k)?;
        if self.pkts == 0 {
            return None;
        }
        let late = self.late.get(k).copied().unwrap_or(0);
        let loss = self.loss_pct(self.pkts.saturating_sub(late));
        let depth = fixed.unwrap_or(self.adapt_sum / self.pkts as f64);
        let m = e_model(loss, one_way_ms(rtt_ms) + depth + CODEC_DELAY_MS);
        Some((round2(depth), m))
    }
}

/// The jitter buffers a receiver is simulated with (VoIPmonitor's F1, F2 and adaptive): id
/// and fixed depth (ms; None: adaptive, 20…500 ms, [`crate::classify::rtp`]).
const BUFFERS: [(&str, Option<f64>); 3] = [
    ("fixed_50ms", Some(50.0)),
    ("fixed_200ms", Some(200.0)),
    ("adaptive", None),
];

/// Groups call flows into calls (ids in start order) and fills their media.
pub fn group(flows: &[LabeledFlow]) -> Vec<Call> {
    group_with_bin(flows, 100_000_000)
}

/// [`group`] with an explicit rate-bin width (ns) for one-way periods.
pub fn group_with_bin(flows: &[LabeledFlow], bin_ns: Nanos) -> Vec<Call> {
    let mut idx: Vec<usize> = flows
        .iter()
        .enumerate()
        .filter(|(_, f)| f.class.call && f.class.app.is_some())
        .map(|(i, _)| i)
        .collect();
    idx.sort_by_key(|&i| flows.get(i).map(|f| (f.first_ts, f.id)));
    struct Open {
        app: App,
        client: IpAddr,
        flows: Vec<usize>,
        first: Nanos,
        last: Nanos,
    }
    // Flow id → index, for the flow that announced a linked leg (it may carry no call itself).
    let by_id: BTreeMap<u32, usize> = flows.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
    // Flow id → index of the call it joined.
    let mut call_of: BTreeMap<u32, usize> = BTreeMap::new();
    let mut calls: Vec<Open> = Vec::new();
    for i in idx {
        let Some(f) = flows.get(i) else { continue };
        let Some(app) = f.class.app else { continue };
        let ends = [f.client.ip(), f.server.ip()];
        let linked = f.class.linked_to;
        // The user's host on this flow: for a linked leg, the end the announcing flow's
        // client is on (SDP and STUN name both media ends, so the leg's originator may be the
        // far end); otherwise the private end, else the originator.
        let client = linked
            .and_then(|id| by_id.get(&id))
            .and_then(|&j| flows.get(j))
            .filter(|l| l.class.app == Some(app))
            .map(|l| client_of(l))
            .filter(|ip| ends.contains(ip))
            .unwrap_or_else(|| client_of(f));
        let other = if ends[0] == client { ends[1] } else { ends[0] };
        // 1. A leg linked by SDP or a STUN endpoint joins the call of the flow that announced it.
        let mut found = linked
            .and_then(|id| call_of.get(&id).copied())
            .filter(|&k| calls.get(k).is_some_and(|c| c.app == app));
        // 2. Else the open call of this app whose client is one of the flow's ends, the
        //    user's-host end first.
        for want in [client, other] {
            if found.is_some() {
                break;
            }
            found = calls.iter().rposition(|c| {
                c.app == app && c.client == want && f.first_ts <= c.last.saturating_add(JOIN_GAP_NS)
            });
        }
        let k = match found.and_then(|k| calls.get_mut(k).map(|c| (k, c))) {
            Some((k, c)) => {
                c.flows.push(i);
                c.last = c.last.max(f.last_ts);
                k
            }
            None => {
                calls.push(Open {
                    app,
                    client,
                    flows: vec![i],
                    first: f.first_ts,
                    last: f.last_ts,
                });
                calls.len() - 1
            }
        };
        call_of.insert(f.id, k);
    }
    calls
        .into_iter()
        // Every call app is in the app table (a label it does not know makes no call).
        .map(|c| (c.app, c))
        .enumerate()
        .map(|(n, (app, c))| {
            let mut ids: Vec<u32> = c
                .flows
                .iter()
                .filter_map(|&i| flows.get(i).map(|f| f.id))
                .collect();
            ids.sort_unstable();
            Call {
                id: n as u32,
                app,
                client: c.client.to_string(),
                flows: ids,
                first_ts: secs(c.first),
                last_ts: secs(c.last),
                media: media(flows, &c.flows, bin_ns, c.client),
                status: Status::Ok,
            }
        })
        .collect()
}

fn media(flows: &[LabeledFlow], members: &[usize], bin_ns: Nanos, client: IpAddr) -> Media {
    let mut streams = Vec::new();
    let mut rtts: Vec<i64> = Vec::new();
    let mut one_way = Vec::new();
    // [out, in]: media the user's host sent, and media it received.
    let mut by_dir = [DirMedia::default(); 2];
    let mut two_way = false;
    let (mut recv, mut exp) = (0u64, 0u64);
    let mut jit_sum = 0.0;
    let mut jit_n = 0.0;
    let mut protocols: Vec<Protocol> = Vec::new();
    let (mut audio, mut video) = (false, false);
    for &i in members {
        let Some(f) = flows.get(i) else { continue };
        for p in f.class.protocols.iter() {
            if !protocols.contains(&p) {
                protocols.push(p);
            }
        }
        for s in &f.class.rtp {
            let loss = if s.expected > 0 {
                s.lost.max(0) as f64 * 100.0 / s.expected as f64
            } else {
                0.0
            };
            streams.push(MediaStream {
                dir: s.dir,
                expected: s.expected,
                first_ts: s.first_ts,
                flow: f.id,
                jitter_ms: s.jitter_ms,
                last_ts: s.last_ts,
                loss_pct: round2(loss),
                lost: s.lost,
                max_delta_ms: s.max_delta_ms,
                packets: s.packets,
                payload_type: s.payload_type,
                ssrc: s.ssrc,
            });
            if s.clock_rate == 90000 || (24..=34).contains(&s.payload_type) {
                video = true;
            } else if s.packets >= 10 {
                audio = true;
            }
            if s.packets >= 10 {
                recv += s.packets;
                exp += s.expected;
                jit_sum += s.jitter_ms * s.packets as f64;
                jit_n += s.packets as f64;
                // Towards the user's host ("in") or from it ("out").
                let sender = if s.dir == "c2s" { f.client } else { f.server };
                let d = if sender.ip() == client {
                    &mut by_dir[0]
                } else {
                    &mut by_dir[1]
                };
                // What receivers with the simulated jitter buffers play: packets later than
                // a buffer allows are lost to it.
                d.pkts += s.packets;
                for (n, late) in d
                    .late
                    .iter_mut()
                    .zip([s.late_50ms, s.late_200ms, s.late_adaptive])
                {
                    *n += late;
                }
                d.adapt_sum += s.adaptive_mean_ms * s.packets as f64;
                d.exp += s.expected;
                d.jit_sum += s.jitter_ms * s.packets as f64;
                let dur = (s.last_ts - s.first_ts).max(0.0);
                if dur > 0.0 {
                    d.rate = d.rate.max(s.packets as f64 / dur);
                }
            }
        }
        if f.dir[0].packets > 0 && f.dir[1].packets > 0 {
            two_way = true;
        }
        rtts.extend(f.class.rtcp_rtt.iter().copied());
        let periods = one_way_periods(f, bin_ns);
        for p in &periods {
            // The direction that fell silent: the one `only` does not name.
            let silent_sender = if p.only == "c2s" { f.server } else { f.client };
            let d = if silent_sender.ip() == client {
                &mut by_dir[0]
            } else {
                &mut by_dir[1]
            };
            d.silent_s += p.end - p.start;
        }
        one_way.extend(periods);
    }
    // Enum order is id order (model::Protocol), as the report lists them.
    protocols.sort_unstable();
    rtts.sort_unstable();
    let rtt_ms = rtts.get(rtts.len() / 2).map(|r| round2(*r as f64 / 1e6));
    let (loss_pct, jitter_ms, mos_v) = if exp > 0 {
        let loss = exp.saturating_sub(recv) as f64 * 100.0 / exp as f64;
        let jit = if jit_n > 0.0 { jit_sum / jit_n } else { 0.0 };
        (
            Some(round2(loss)),
            Some(round2(jit)),
            Some(mos(loss, jit, rtt_ms)),
        )
    } else {
        (None, None, None)
    };
    let [mos_out, mos_in] = by_dir.map(|d| d.mos(rtt_ms));
    // A direction whose audio never came while the other's did, on a call whose traffic went
    // both ways (so the capture sees both): nothing was heard, MOS 1.
    let dead = |mine: Option<f64>, other: Option<f64>| match (mine, other) {
        (None, Some(_)) if two_way => Some(1.0),
        _ => mine,
    };
    let (mos_in, mos_out) = (dead(mos_in, mos_out), dead(mos_out, mos_in));
    let jitter_buffers = if mos_in.is_some() || mos_out.is_some() {
        BUFFERS
            .iter()
            .enumerate()
            .map(|(k, (id, _))| {
                let [out, inn] = [&by_dir[0], &by_dir[1]].map(|d| d.buffer_mos(k, rtt_ms));
                let m = |x: Option<(f64, f64)>| x.map(|(_, m)| m);
                let late = |d: &DirMedia, x: Option<(f64, f64)>| {
                    x.map(|_| d.late.get(k).copied().unwrap_or(0))
                };
                JitterBufferMos {
                    buffer: id,
                    delay_in_ms: inn.map(|(d, _)| d),
                    delay_out_ms: out.map(|(d, _)| d),
                    discarded_in: late(&by_dir[1], inn),
                    discarded_out: late(&by_dir[0], out),
                    mos_in: dead(m(inn), m(out)),
                    mos_out: dead(m(out), m(inn)),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    // The call's MOS is its worst direction's: a call is as good as what each side heard.
    let mos_v = match (mos_in, mos_out) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b).or(mos_v),
    };
    let packets: u64 = members
        .iter()
        .filter_map(|&i| flows.get(i))
        .map(|f| f.dir[0].packets + f.dir[1].packets)
        .sum();
    let kind = match (audio, video) {
        (true, true) => Some(MediaKind::AudioVideo),
        (true, false) => Some(MediaKind::Audio),
        (false, true) => Some(MediaKind::Video),
        (false, false) => None,
    };
    Media {
        jitter_buffers,
        jitter_ms,
        kind,
        loss_pct,
        mos: mos_v,
        mos_in,
        mos_out,
        one_way,
        packets,
        protocols,
        rtcp_rtt_ms: rtt_ms,
        streams,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mos_bounds_and_order() {
        let good = mos(0.0, 5.0, Some(40.0));
        let bad = mos(10.0, 40.0, Some(400.0));
        assert!(good > 4.2 && good <= 4.5, "{good}");
        assert!(bad < 3.0, "{bad}");
        assert!(mos(100.0, 1000.0, Some(5000.0)) >= 1.0);
    }

    /// A call flow of `app` between `c` (originator) and `s`, alive from `t0` to `t1` (s).
    fn call_flow(id: u32, app: App, c: &str, s: &str, t0: i64, t1: i64) -> LabeledFlow {
        let mut f = LabeledFlow::from(crate::classify::tests::flow(id, c, s));
        f.first_ts = t0 * 1_000_000_000;
        f.last_ts = t1 * 1_000_000_000;
        f.class.app = Some(app);
        f.class.call = true;
        f
    }

    fn members(calls: &[Call]) -> Vec<(String, Vec<u32>)> {
        calls
            .iter()
            .map(|c| (c.client.clone(), c.flows.clone()))
            .collect()
    }

    /// Both ends private (a lab or a LAN): the originator decides the flow's client, so a
    /// leg the far end opened, with no SDP/STUN link, joins by its other end.
    #[test]
    fn far_end_originated_leg_joins_by_its_other_end() {
        let flows = vec![
            call_flow(0, App::WhatsApp, "10.0.0.2:40000", "10.0.0.9:3478", 0, 10),
            call_flow(1, App::WhatsApp, "10.0.0.9:50000", "10.0.0.2:40002", 2, 12),
        ];
        let calls = group(&flows);
        assert_eq!(members(&calls), vec![("10.0.0.2".into(), vec![0, 1])]);
    }

    /// A linked leg whose announcing flow carries no call evidence of its own opens the
    /// call keyed by the user's host (the announcing flow's client), not by the leg's
    /// originator; a later flow of that host joins it.
    #[test]
    fn linked_leg_takes_the_announcing_flows_host() {
        let mut sig = call_flow(0, App::Sip, "10.71.1.2:5060", "10.71.2.2:5060", 0, 20);
        sig.class.call = false;
        let mut leg = call_flow(1, App::Sip, "10.71.2.2:52310", "10.71.1.2:41234", 1, 10);
        leg.class.linked_to = Some(0);
        let late = call_flow(2, App::Sip, "10.71.1.2:41236", "10.71.2.2:52312", 5, 9);
        let flows = vec![sig, leg, late];
        let calls = group(&flows);
        assert_eq!(members(&calls), vec![("10.71.1.2".into(), vec![1, 2])]);
    }

    /// A linked leg joins the announcing flow's call even when it starts after the join gap
    /// and neither of its ends is the call's client (a relay leg learned from STUN).
    #[test]
    fn linked_leg_joins_whatever_its_addresses() {
        let relay = call_flow(
            0,
            App::WhatsApp,
            "192.168.1.5:40000",
            "157.240.0.1:3478",
            0,
            10,
        );
        let mut leg = call_flow(
            1,
            App::WhatsApp,
            "203.0.113.7:50000",
            "157.240.0.9:3478",
            50,
            60,
        );
        leg.class.linked_to = Some(0);
        let flows = vec![relay, leg];
        let calls = group(&flows);
        assert_eq!(members(&calls), vec![("192.168.1.5".into(), vec![0, 1])]);
    }

    /// What must stay apart: two hosts' calls through one server (a gateway capture), a call
    /// after the join gap, another app, and a link to a flow of another app.
    #[test]
    fn separate_hosts_gaps_and_apps_stay_apart() {
        let mut other_app = call_flow(4, App::Zoom, "10.0.0.3:40010", "10.0.0.2:40011", 3, 6);
        other_app.class.linked_to = Some(0);
        let flows = vec![
            call_flow(
                0,
                App::WhatsApp,
                "10.0.0.2:40000",
                "157.240.0.1:3478",
                0,
                10,
            ),
            call_flow(
                1,
                App::WhatsApp,
                "10.0.0.3:40000",
                "157.240.0.1:3478",
                1,
                10,
            ),
            call_flow(
                2,
                App::WhatsApp,
                "10.0.0.2:40004",
                "157.240.0.1:3478",
                41,
                50,
            ),
            call_flow(
                3,
                App::SkypeTeams,
                "10.0.0.2:40006",
                "52.112.0.1:3478",
                2,
                8,
            ),
            other_app,
        ];
        let calls = group(&flows);
        assert_eq!(
            members(&calls),
            vec![
                ("10.0.0.2".into(), vec![0]),
                ("10.0.0.3".into(), vec![1]),
                ("10.0.0.2".into(), vec![3]),
                ("10.0.0.3".into(), vec![4]),
                ("10.0.0.2".into(), vec![2]),
            ]
        );
    }

    #[test]
    fn private_addresses() {
        assert!(is_private("192.168.1.2".parse().unwrap()));
        assert!(is_private("100.64.0.1".parse().unwrap()));
        assert!(is_private("fd00::1".parse().unwrap()));
        assert!(!is_private("157.240.1.1".parse().unwrap()));
    }

    fn row(
        dir: &'static str,
        ssrc: u32,
        packets: u64,
        expected: u64,
        t1: f64,
    ) -> crate::label::RtpStats {
        crate::label::RtpStats {
            ssrc,
            dir,
            packets,
            expected,
            lost: expected as i64 - packets as i64,
            jitter_ms: 2.0,
            first_ts: 0.0,
            last_ts: t1,
            clock_rate: 8000,
            ..Default::default()
        }
    }

    /// Issue 11: the incoming audio dies after 5 s of a 10 s call (RTP keeps going out): the
    /// direction that died gets no good MOS, and the call's MOS is that direction's.
    #[test]
    fn dead_incoming_audio_gets_no_good_mos() {
        let mut f = call_flow(0, App::WebRtc, "10.0.0.2:4000", "198.51.100.7:5000", 0, 10);
        f.class.rtp = vec![row("c2s", 1, 500, 500, 10.0), row("s2c", 2, 250, 250, 5.0)].into();
        f.dir[0].packets = 500;
        f.dir[1].packets = 250;
        f.dir[0].rate = vec![1; 100];
        f.dir[1].rate = [vec![1; 50], vec![0; 50]].concat();
        let calls = group(&[f]);
        let m = &calls[0].media;
        assert_eq!(m.one_way.len(), 1);
        let (mi, mo) = (m.mos_in.unwrap_or(5.0), m.mos_out.unwrap_or(0.0));
        assert!(mo > 4.0, "out {mo}");
        assert!(mi < 2.0, "in {mi}");
        assert_eq!(m.mos, Some(mi));
    }

    /// Audio only out while something comes back (RTCP, STUN): incoming MOS 1.
    #[test]
    fn no_incoming_audio_at_all_is_mos_one() {
        let mut f = call_flow(0, App::WebRtc, "10.0.0.2:4000", "198.51.100.7:5000", 0, 10);
        f.class.rtp = vec![row("c2s", 1, 500, 500, 10.0)].into();
        f.dir[0].packets = 500;
        f.dir[1].packets = 3;
        let calls = group(&[f]);
        assert_eq!(calls[0].media.mos_in, Some(1.0));
        assert_eq!(calls[0].media.mos, Some(1.0));
    }
    /// Issue 11: MOS per simulated jitter buffer. Incoming audio with 40 of 500 packets
    /// later than 50 ms (none later than 200 ms, the adaptive buffer lost 2 and sat at 90 ms
    /// on average): the 50 ms buffer loses the late packets and scores lowest, the 200 ms one
    /// plays them all but adds delay, the adaptive one loses two and adds less: best. The outgoing audio, never
    /// late, scores best on the shallow buffers: depth only costs delay (200 ms of playout
    /// delay puts the mouth-to-ear delay past the E-model's 177 ms knee).
    #[test]
    fn jitter_buffers_trade_discards_for_delay() {
        let mut f = call_flow(0, App::WebRtc, "10.0.0.2:4000", "198.51.100.7:5000", 0, 10);
        let mut inn = row("s2c", 2, 500, 500, 10.0);
        (inn.late_50ms, inn.late_200ms, inn.late_adaptive) = (40, 0, 2);
        inn.adaptive_mean_ms = 90.0;
        let mut out = row("c2s", 1, 500, 500, 10.0);
        out.adaptive_mean_ms = 20.0;
        f.class.rtp = vec![out, inn].into();
        f.dir[0].packets = 500;
        f.dir[1].packets = 500;
        f.dir[0].rate = vec![1; 100];
        f.dir[1].rate = vec![1; 100];
        let calls = group(&[f]);
        let b = &calls[0].media.jitter_buffers;
        let ids: Vec<_> = b.iter().map(|x| x.buffer).collect();
        assert_eq!(ids, ["fixed_50ms", "fixed_200ms", "adaptive"]);
        let mos_in: Vec<f64> = b.iter().map(|x| x.mos_in.unwrap_or(0.0)).collect();
        let mos_out: Vec<f64> = b.iter().map(|x| x.mos_out.unwrap_or(0.0)).collect();
        assert!(mos_in[0] < mos_in[1] && mos_in[1] < mos_in[2], "{mos_in:?}");
        assert!(
            mos_out[0] > mos_out[1] && mos_out[2] > mos_out[1],
            "{mos_out:?}"
        );
        assert_eq!(b[0].discarded_in, Some(40));
        assert_eq!(b[2].discarded_in, Some(2));
        assert_eq!(
            (b[1].delay_in_ms, b[2].delay_in_ms),
            (Some(200.0), Some(90.0))
        );
        // The headline incoming MOS is the 50 ms buffer's view with the jitter term.
        assert!(calls[0].media.mos_in.unwrap_or(5.0) < mos_in[1]);
    }

    /// A direction whose audio never came scores 1 on every buffer, as on the headline.
    #[test]
    fn dead_direction_is_mos_one_on_every_buffer() {
        let mut f = call_flow(0, App::WebRtc, "10.0.0.2:4000", "198.51.100.7:5000", 0, 10);
        f.class.rtp = vec![row("c2s", 1, 500, 500, 10.0)].into();
        f.dir[0].packets = 500;
        f.dir[1].packets = 3;
        let calls = group(&[f]);
        let b = &calls[0].media.jitter_buffers;
        assert_eq!(b.len(), 3);
        for x in b {
            assert_eq!(
                (x.mos_in, x.discarded_in),
                (Some(1.0), None),
                "{}",
                x.buffer
            );
            assert!(x.mos_out.unwrap_or(0.0) > 3.5, "{}", x.buffer);
        }
    }

    /// No RTP, no buffers (a call known from signalling only).
    #[test]
    fn no_media_no_buffers() {
        let f = call_flow(0, App::WebRtc, "10.0.0.2:4000", "198.51.100.7:5000", 0, 10);
        assert!(group(&[f])[0].media.jitter_buffers.is_empty());
    }
}
