//! UDP call blocking: `udp_one_way`, `stun_unanswered`, `udp_media_blocked`, `rtp_cut` and
//! `udp_blocked_tcp_fallback`.
//!
//! Calls try many ICE candidate pairs and most of them fail by design, so blocking is decided
//! **per call, never per candidate pair**. A call is a `report::Call` from classification; flows
//! of a call app (or with `service: call`) that no call holds are grouped per client address
//! and app, split where they are more than `fallback_window` apart.
//!
//! # Heuristics
//! - `stun_unanswered` (per flow): a STUN request (RFC 8489 header: top two bits 0, class
//!   request; magic cookie `0x2112A442`, or RFC 3489's cookie-less form whose length tiles the
//!   datagram) sent with the same transaction id ≥ `stun_min_sends` (3) times over
//!   ≥ `stun_min_span` (1.5 s) — RFC 8489 §6.2.1 retransmits after 500 ms, 1.5 s, … — and
//!   no datagram at all came back on the flow. When the kept payload prefix is too short to
//!   follow transaction ids, ≥ 3 unanswered sends of a flow that starts with a STUN request
//!   count. Severity `blocked` when no UDP flow of its call got an answer, else `info`.
//! - `udp_one_way` (per flow): ≥ `udp_one_way_min_packets` (10) datagrams over
//!   ≥ `udp_one_way_min_span` (3 s) to a unicast address, nothing back. Severity `info` (the
//!   call-level findings below decide blocking). Discovery and fire-and-forget protocols
//!   (mDNS, SSDP, NetBIOS, LLMNR, DHCP, syslog, NetFlow/IPFIX/sFlow, SNMP traps, WS-Discovery)
//!   and multicast/broadcast destinations are skipped.
//! - `udp_media_blocked` (per call): every UDP flow of the call is unanswered — nothing came
//!   back, or the answers stopped ≥ `rtp_cut_gap` (5 s) before the client stopped sending —
//!   with ≥ `stun_min_sends` (3) datagrams sent over ≥ `stun_min_span` (1.5 s), while the capture shows two-way traffic elsewhere.
//!   Severity `blocked`.
//! - `rtp_cut` (per flow): a media flow (RTP/SRTP or call media) where one direction falls
//!   silent for > `rtp_cut_gap` (5 s) while the other keeps sending (≥ 10 packets after the
//!   silence started). A hang-up (SIP BYE, app signalling) stops both directions, so the
//!   other direction going on is the "without BYE" test. The received direction cut is
//!   `blocked` (0.7); the sending direction stopping is `info` (the app itself went quiet).
//! - `udp_blocked_tcp_fallback` (per call): every UDP flow of the call unanswered, and a TCP
//!   relay flow of the same client — in the call, carrying STUN/TURN, or to the address of one
//!   of the UDP candidates — to port 443, 3478 or 5349, starting no earlier than 1 s before the
//!   first UDP attempt and within `fallback_window` (30 s) after the last, got data back: ICE
//!   fell back to TURN/TCP or TLS. The app's signalling connection (open before the call) is
//!   not a fallback. Also **mid-call**: the UDP answers stopped ≥ `stun_min_span` (1.5 s)
//!   before the client's last datagram with ≥ 10 sent after them (short of the 5 s a block
//!   needs on its own), and such a TCP relay flow started after the last answer: the app
//!   moved the call to TURN/TCP (lab `webrtc_udp_blocked_turn_tcp`); reported instead of
//!   `udp_media_blocked`, since the call went on.
//!   Severity `degraded` (the call can work, worse), confidence 0.7.
//!
//! # Guards
//! One-sided captures (no two-way traffic outside the flows judged) give no finding. Frames
//! marked as duplicates are ignored. A call whose unanswered media (not STUN) started less
//! than `rtp_cut_gap` before the capture ends is not judged: the capture stopped before the
//! app could give up or fall back. UDP flows of a call app that classification left out of a
//! call join the call of the same app and client they overlap (extra ICE candidates).
//!
//! # Known false positives
//! Servers that are down; a call hung up in a way that stops only one side (hold with
//! `a=sendonly`, mute on apps that stop sending entirely) for `rtp_cut`; captures that stop
//! right after the client started.

use super::blocking::{self, is_call_flow, is_dup, ms, SEC};
use super::{Detector, Input};
use crate::classify::Service;
use crate::flow::{Dir, Flow, PacketMeta, Transport};
use crate::label::LabeledFlow;
use crate::model::{App, FindingKind, Protocol, Severity};
use crate::report::evidence::{
    CallTcpFallbackEvidence, IceTcpFallbackEvidence, RtpCutEvidence, StunUnansweredEvidence,
    UdpMediaBlockedEvidence, UdpOneWayEvidence,
};
use crate::report::Finding;
use crate::{secs, Nanos};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The detector (emits the five UDP kinds).
pub struct UdpBlocking;

/// Server ports of fire-and-forget or discovery protocols (one-way by design).
fn one_way_by_design(port: u16) -> bool {
    matches!(
        port,
        9 | 67
            | 68
            | 137
            | 138
            | 162
            | 514
            | 1900
            | 2055
            | 3702
            | 4739
            | 5353
            | 5355
            | 6343
            | 10001
    )
}

fn unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            !(v.is_multicast() || v.is_broadcast() || v.octets()[3] == 255 || v.is_unspecified())
        }
        IpAddr::V6(v) => !(v.is_multicast() || v.is_unspecified()),
    }
}

/// A call group: (subject label, app, flow ids, call id when classification made the call).
type Group = (String, Option<App>, Vec<u32>, Option<u32>);

/// "WhatsApp call" (or "call" for a label the app table does not know).
fn call_label(app: Option<App>) -> String {
    app.map_or_else(|| "call".to_string(), |a| format!("{} call", a.name()))
}

/// UDP facts of one flow.
#[derive(Clone, Debug, Default)]
struct UdpFacts {
    sent: u64,
    first: Nanos,
    last: Nanos,
    answered: bool,
    stun_sends: u32,
    stun_span: Nanos,
    stun_txid_tracked: bool,
    stun_frames: Vec<u64>,
}

fn facts(f: &LabeledFlow) -> UdpFacts {
    let c2s: Vec<&PacketMeta> = f
        .packets
        .iter()
        .filter(|p| p.dir == Dir::C2s && !is_dup(p))
        .collect();
    let mut u = UdpFacts {
        sent: f.dir[0].packets,
        first: f.dir[0].first_ts.unwrap_or(f.first_ts),
        last: f.dir[0].last_ts.unwrap_or(f.last_ts),
        answered: f.dir[1].packets > 0,
        ..Default::default()
    };
    // STUN requests among the client's recorded messages (the lax header view: the cookie,
    // or a cookie-less length that tiles the datagram), by transaction id.
    let mut tx: BTreeMap<[u8; 16], Vec<&crate::tx::At>> = BTreeMap::new();
    for m in f.class.tx.stun.iter() {
        if m.at.dir == Dir::C2s && m.class == 0 {
            tx.entry(m.txid).or_default().push(&m.at);
        }
    }
    let in_prefix = f.class.tx.datagrams_in_prefix[0] as usize;
    if let Some(best) = tx
        .values()
        .max_by_key(|v| (v.len(), v.last().map(|p| p.ts)))
    {
        u.stun_txid_tracked = true;
        u.stun_sends = best.len() as u32;
        u.stun_span = best
            .last()
            .map_or(0, |l| l.ts)
            .saturating_sub(best.first().map_or(0, |p| p.ts));
        u.stun_frames = best.iter().map(|p| p.frame).collect();
        // Prefix exhausted: the rest of the flow's sends may be the same transaction. Counted
        // over every packet (the streaming counters), not the bounded log.
        let prefix_full = (in_prefix as u64) < f.dir[0].payload_packets;
        if prefix_full && tx.len() == 1 && in_prefix == best.len() {
            let sends = f.dir[0].packets.saturating_sub(f.dir[0].duplicates);
            u.stun_sends = u32::try_from(sends).unwrap_or(u32::MAX);
            u.stun_span = u.last.saturating_sub(u.first);
            u.stun_frames = c2s.iter().map(|p| p.frame).collect();
            u.stun_txid_tracked = false;
        }
    }
    u.stun_frames.truncate(32);
    u
}

impl Detector for UdpBlocking {
    fn name(&self) -> &'static str {
        "udp"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let cfg = &input.config.blocking;
        let flows = input.flows;
        let by_id: BTreeMap<u32, &LabeledFlow> = flows.iter().map(|f| (f.id, f)).collect();
        let udp: BTreeMap<u32, UdpFacts> = flows
            .iter()
            .filter(|f| f.transport == Transport::Udp)
            .map(|f| (f.id, facts(f)))
            .collect();

        // Call groups: (label, app, flow ids, call id).
        let mut groups: Vec<Group> = Vec::new();
        let mut in_call: BTreeSet<u32> = BTreeSet::new();
        for c in input.calls {
            in_call.extend(c.flows.iter().copied());
            groups.push((
                format!("call {}", c.id),
                Some(c.app),
                c.flows.clone(),
                Some(c.id),
            ));
        }
        let mut calls_of: BTreeMap<(App, String), Vec<usize>> = BTreeMap::new();
        for (i, c) in input.calls.iter().enumerate() {
            calls_of
                .entry((c.app, c.client.clone()))
                .or_default()
                .push(i);
        }
        // Keyed by the app's id string so groups come out in id order, as they always have.
        let mut loose: BTreeMap<(IpAddr, &'static str, App), Vec<&LabeledFlow>> = BTreeMap::new();
        for f in flows.iter().filter(|f| !in_call.contains(&f.id)) {
            let app = f.class.app;
            let call_like = f.class.service == Service::Call || (app.is_some() && is_call_flow(f));
            let (Some(app), true) = (app, call_like) else {
                continue;
            };
            // A candidate of a call classification already made (same app and client, during
            // the call or within `fallback_window` of it) belongs to that call.
            let t = secs(f.first_ts);
            let slack = secs(cfg.fallback_window);
            let host = f.client.ip().to_string();
            let joined = Some(app)
                .and_then(|a| calls_of.get(&(a, host)))
                .and_then(|idx| {
                    idx.iter().copied().find(|i| {
                        input
                            .calls
                            .get(*i)
                            .is_some_and(|c| t >= c.first_ts - slack && t <= c.last_ts + slack)
                    })
                });
            match joined.and_then(|i| groups.get_mut(i)) {
                Some(g) => g.2.push(f.id),
                None => loose
                    .entry((f.client.ip(), app.as_str(), app))
                    .or_default()
                    .push(f),
            }
        }
        for ((_, _, app), mut fs) in loose {
            fs.sort_by_key(|f| (f.first_ts, f.id));
            let mut cur: Vec<u32> = Vec::new();
            let mut last_end: Nanos = i64::MIN;
            for f in fs {
                if !cur.is_empty() && f.first_ts.saturating_sub(last_end) > cfg.fallback_window {
                    groups.push((
                        call_label(Some(app)),
                        Some(app),
                        std::mem::take(&mut cur),
                        None,
                    ));
                }
                cur.push(f.id);
                last_end = last_end.max(f.last_ts);
            }
            if !cur.is_empty() {
                groups.push((call_label(Some(app)), Some(app), cur, None));
            }
        }

        // Per-call decisions.
        let mut relay_tcp: BTreeMap<IpAddr, Vec<&LabeledFlow>> = BTreeMap::new();
        for g in flows.iter().filter(|g| {
            g.transport == Transport::Tcp
                && matches!(g.server.port(), 443 | 3478 | 5349)
                && g.dir[1].payload_bytes > 0
        }) {
            relay_tcp.entry(g.client.ip()).or_default().push(g);
        }
        let two_way = input.facts().two_way();
        let capture_end = flows.iter().map(|f| f.last_ts).max().unwrap_or(0);
        let mut fallback_done: BTreeSet<u32> = BTreeSet::new();
        let mut call_blocked: BTreeSet<u32> = BTreeSet::new();
        for (label, app, ids, call_id) in &groups {
            let members: Vec<&LabeledFlow> =
                ids.iter().filter_map(|id| by_id.get(id).copied()).collect();
            let udp_members: Vec<(&LabeledFlow, &UdpFacts)> = members
                .iter()
                .filter_map(|f| udp.get(&f.id).map(|u| (*f, u)))
                .collect();
            if udp_members.is_empty() || !two_way.elsewhere(ids) {
                continue;
            }
            let never = udp_members.iter().all(|(_, u)| !u.answered);
            // Call level: when did anything last arrive, and how much was sent after it?
            let last_rx = udp_members
                .iter()
                .filter_map(|(f, _)| f.dir[1].last_ts)
                .max();
            // Counted over every packet (streaming counters, the log where they do not answer).
            let sent_after: usize = last_rx.map_or(0, |r| {
                udp_members
                    .iter()
                    .map(|(f, _)| f.sent_after(Dir::C2s, r).0 as usize)
                    .sum()
            });
            let sent: u64 = udp_members.iter().map(|(_, u)| u.sent).sum();
            let first = udp_members.iter().map(|(_, u)| u.first).min().unwrap_or(0);
            let last = udp_members.iter().map(|(_, u)| u.last).max().unwrap_or(0);
            let silence = last_rx.map_or(0, |r| last.saturating_sub(r));
            // Media (not STUN) sent into silence only in the capture's last seconds: the
            // capture stopped before the app could have given up or fallen back.
            let media_first = udp_members
                .iter()
                .filter(|(f, u)| u.stun_sends == 0 && !f.class.protocols.contains(Protocol::Stun))
                .map(|(_, u)| u.first)
                .min();
            if never && media_first.is_some_and(|m| capture_end.saturating_sub(m) < cfg.rtp_cut_gap)
            {
                continue;
            }
            let stopped = !never && silence > cfg.rtp_cut_gap && sent_after >= 10;
            // Answers stopped mid-call and the client kept sending for a while: not yet a
            // block on its own (shorter than `rtp_cut_gap`), but one if the call then went on
            // over a TCP relay that started after the answers stopped (checked below).
            let cut = !never && silence >= cfg.stun_min_span && sent_after >= 10;
            if !(never || stopped || cut)
                || sent < u64::from(cfg.stun_min_sends)
                || last.saturating_sub(first) < cfg.stun_min_span
            {
                continue;
            }
            let label = match app {
                Some(a) => format!("{} call", a.name()),
                None => label.clone(),
            };
            let stun_dead: Vec<&LabeledFlow> = udp_members
                .iter()
                .filter(|(_, u)| {
                    !u.answered
                        && u.stun_sends >= cfg.stun_min_sends
                        && u.stun_span >= cfg.stun_min_span
                })
                .map(|(f, _)| *f)
                .collect();
            let servers: BTreeSet<IpAddr> =
                udp_members.iter().map(|(f, _)| f.server.ip()).collect();
            let main = udp_members
                .iter()
                .max_by_key(|(f, u)| (u.sent, std::cmp::Reverse(f.id)))
                .map(|(f, _)| *f);
            let Some(main) = main else { continue };
            // Fallback to TCP?
            let client = main.client.ip();
            // A relay over TCP: in the call, carrying STUN/TURN, or to a UDP candidate's
            // address — not the app's signalling connection, which was open before the call.
            let fallback = relay_tcp
                .get(&client)
                .into_iter()
                .flatten()
                .copied()
                .find(|g| {
                    let relay = ids.contains(&g.id)
                        || g.class
                            .protocols
                            .iter()
                            .any(|p| matches!(p, Protocol::Stun | Protocol::Turn))
                        || servers.contains(&g.server.ip());
                    g.transport == Transport::Tcp
                        && g.client.ip() == client
                        && relay
                        && matches!(g.server.port(), 443 | 3478 | 5349)
                        && g.dir[1].payload_bytes > 0
                        && g.first_ts.saturating_add(SEC) >= first
                        && g.first_ts <= last.saturating_add(cfg.fallback_window)
                });
            let frames = blocking::frames(
                udp_members
                    .iter()
                    .flat_map(|(f, _)| f.packets.iter().filter(|p| p.dir == Dir::C2s).take(4)),
                32,
            );
            // ICMP "unreachable" answers quoting the call's datagrams (a filter that rejects
            // rather than drops; codes 9, 10, 13 say "administratively prohibited").
            let icmp: Vec<(u8, u8)> = udp_members
                .iter()
                .flat_map(|(f, _)| f.icmp_errors.iter().map(|e| (e.kind, e.code)))
                .collect();
            let icmp_note = match icmp.len() {
                0 => String::new(),
                n => format!(
                    "; {n} ICMP error{} came back instead{}",
                    if n == 1 { "" } else { "s" },
                    if icmp
                        .iter()
                        .any(|(t, c)| *t == 3 && matches!(c, 9 | 10 | 13))
                    {
                        " (\"administratively prohibited\")"
                    } else {
                        ""
                    }
                ),
            };
            let stun_note = if stun_dead.is_empty() {
                icmp_note
            } else {
                let relays: BTreeSet<IpAddr> = stun_dead.iter().map(|f| f.server.ip()).collect();
                format!(
                    "; {} server{} never answered STUN{icmp_note}",
                    relays.len(),
                    if relays.len() == 1 { "" } else { "s" }
                )
            };
            // A relay leg that began once the UDP answers had stopped: the call moved to TCP.
            let moved = fallback.filter(|g| !never && last_rx.is_some_and(|r| g.first_ts >= r));
            if !(never || stopped || moved.is_some()) {
                continue;
            }
            // The call moved to TCP leg `g`, mid-call or from the start: one finding shape.
            let fell_back = |g: &LabeledFlow, summary: String, packets: Vec<u64>| Finding {
                filter: None,
                kind: FindingKind::UdpBlockedTcpFallback,
                flow: Some(g.id),
                ts: secs(first),
                severity: Severity::Degraded,
                confidence: 0.7,
                summary,
                evidence: CallTcpFallbackEvidence {
                    app: *app,
                    call: *call_id,
                    stun_unanswered_flows: stun_dead.iter().map(|f| f.id).collect(),
                    tcp_flow: g.id,
                    tcp_server: g.server.to_string(),
                    udp_flows: udp_members.iter().map(|(f, _)| f.id).collect(),
                    udp_packets_sent: sent,
                    udp_servers: servers.len(),
                }
                .into(),
                packets,
            };
            if let Some(g) = moved {
                fallback_done.insert(g.id);
                let summary = format!(
                    "{label}: UDP media stopped coming back mid-call (nothing received for the last {:.1} s while {sent_after} packets were sent{stun_note}), and the call went on over TCP port {} ({}).",
                    blocking::s1(silence),
                    g.server.port(),
                    g.server
                );
                out.push(fell_back(g, summary, frames));
                continue;
            }
            if let (Some(g), true) = (fallback, never) {
                fallback_done.insert(g.id);
                let summary = format!(
                    "{label}: UDP got no answer ({sent} packets to {} server{} over {:.1} s{stun_note}), so the call fell back to TCP port {} ({}).",
                    servers.len(),
                    if servers.len() == 1 { "" } else { "s" },
                    blocking::s1(last.saturating_sub(first)),
                    g.server.port(),
                    g.server
                );
                out.push(fell_back(g, summary, frames));
                continue;
            }
            call_blocked.extend(udp_members.iter().map(|(f, _)| f.id));
            let how = if never {
                format!(
                    "{sent} packets sent over {:.0} s, none received",
                    blocking::s1(last.saturating_sub(first))
                )
            } else {
                format!(
                    "nothing received for the last {:.0} s while {sent_after} packets were sent",
                    blocking::s1(silence)
                )
            };
            out.push(Finding {
                filter: None,
                kind: FindingKind::UdpMediaBlocked,
                flow: Some(main.id),
                ts: secs(first),
                severity: Severity::Blocked,
                confidence: if never { 0.85 } else { 0.8 },
                summary: format!(
                    "{label} to {}: media black-holed — {how}{stun_note}.",
                    main.server.ip()
                ),
                evidence: UdpMediaBlockedEvidence {
                    app: *app,
                    call: *call_id,
                    icmp_errors: icmp.len(),
                    never_answered: never,
                    packets_sent: sent,
                    sent_after_silence: sent_after,
                    servers: servers.iter().map(|s| s.to_string()).collect(),
                    silence_s: ms(silence) / 1000.0,
                    span_s: ms(last.saturating_sub(first)) / 1000.0,
                    stun_unanswered_flows: stun_dead.iter().map(|f| f.id).collect(),
                    udp_flows: udp_members.iter().map(|(f, _)| f.id).collect(),
                }
                .into(),
                packets: frames,
            });
        }

        let mut udp_by_client: BTreeMap<IpAddr, Vec<&LabeledFlow>> = BTreeMap::new();
        for f in flows.iter().filter(|f| f.transport == Transport::Udp) {
            udp_by_client.entry(f.client.ip()).or_default().push(f);
        }
        // ICE over TCP without an app label: STUN/TURN over TCP that worked right after the
        // same client's UDP STUN went unanswered.
        for g in flows.iter().filter(|g| {
            g.transport == Transport::Tcp
                && !fallback_done.contains(&g.id)
                && g.class
                    .protocols
                    .iter()
                    .any(|p| matches!(p, Protocol::Stun | Protocol::Turn))
                && matches!(g.server.port(), 443 | 3478 | 5349)
                && g.dir[1].payload_bytes > 0
        }) {
            let window = |f: &Flow| {
                f.transport == Transport::Udp
                    && f.client.ip() == g.client.ip()
                    && f.first_ts <= g.first_ts
                    && g.first_ts.saturating_sub(f.first_ts) <= cfg.fallback_window
            };
            let tried: Vec<(&LabeledFlow, &UdpFacts)> = udp_by_client
                .get(&g.client.ip())
                .into_iter()
                .flatten()
                .copied()
                .filter(|f| window(f))
                .filter_map(|f| udp.get(&f.id).map(|u| (f, u)))
                .filter(|(f, u)| u.stun_sends > 0 || f.class.protocols.contains(Protocol::Stun))
                .collect();
            if tried.is_empty() || tried.iter().any(|(_, u)| u.answered) {
                continue;
            }
            let sent: u64 = tried.iter().map(|(_, u)| u.sent).sum();
            let first = tried
                .iter()
                .map(|(_, u)| u.first)
                .min()
                .unwrap_or(g.first_ts);
            if sent < u64::from(cfg.stun_min_sends) {
                continue;
            }
            let servers: BTreeSet<IpAddr> = tried.iter().map(|(f, _)| f.server.ip()).collect();
            out.push(Finding {
                filter: None,
                kind: FindingKind::UdpBlockedTcpFallback,
                flow: Some(g.id),
                ts: secs(first),
                severity: Severity::Degraded,
                confidence: 0.7,
                summary: format!(
                    "STUN over UDP got no answer ({sent} requests to {} server{} over {:.1} s), then ICE fell back to STUN/TURN over TCP port {} ({}), which worked.",
                    servers.len(),
                    if servers.len() == 1 { "" } else { "s" },
                    blocking::s1(g.first_ts.saturating_sub(first)),
                    g.server.port(),
                    g.server
                ),
                evidence: IceTcpFallbackEvidence {
                    app: g.class.app,
                    tcp_flow: g.id,
                    tcp_server: g.server.to_string(),
                    udp_flows: tried.iter().map(|(f, _)| f.id).collect(),
                    udp_packets_sent: sent,
                    udp_servers: servers.len(),
                }
                .into(),
                packets: blocking::frames(
                    tried
                        .iter()
                        .flat_map(|(f, _)| f.packets.iter().filter(|p| p.dir == Dir::C2s).take(4))
                        .chain(g.packets.iter().take(1)),
                    32,
                ),
            });
        }

        // Per-flow findings.
        for f in flows.iter().filter(|f| f.transport == Transport::Udp) {
            let Some(u) = udp.get(&f.id) else { continue };
            let two_way = two_way.elsewhere(&[f.id]);
            if !u.answered
                && two_way
                && u.stun_sends >= cfg.stun_min_sends
                && u.stun_span >= cfg.stun_min_span
            {
                let blocked = call_blocked.contains(&f.id);
                out.push(Finding {
                    filter: None,
                    kind: FindingKind::StunUnanswered,
                    flow: Some(f.id),
                    ts: secs(u.first),
                    severity: if blocked {
                        Severity::Blocked
                    } else {
                        Severity::Info
                    },
                    confidence: if blocked { 0.8 } else { 0.5 },
                    summary: format!(
                        "STUN to {} was never answered: one request sent {} times over {:.1} s{}.",
                        f.server,
                        u.stun_sends,
                        blocking::s1(u.stun_span),
                        if blocked {
                            ""
                        } else {
                            " (other paths of the call may have worked: ICE tries many)"
                        }
                    ),
                    evidence: StunUnansweredEvidence {
                        app: f.class.app,
                        sends: u.stun_sends,
                        span_s: ms(u.stun_span) / 1000.0,
                        txid_tracked: u.stun_txid_tracked,
                    }
                    .into(),
                    packets: u.stun_frames.clone(),
                });
            } else if !u.answered
                && two_way
                && u.sent >= cfg.udp_one_way_min_packets
                && u.last.saturating_sub(u.first) >= cfg.udp_one_way_min_span
                && unicast(f.server.ip())
                && !one_way_by_design(f.server.port())
            {
                out.push(Finding {
                    filter: None,
                    kind: FindingKind::UdpOneWay,
                    flow: Some(f.id),
                    ts: secs(u.first),
                    severity: Severity::Info,
                    confidence: 0.5,
                    summary: format!(
                        "UDP to {}: {} packets sent over {:.0} s, nothing came back.",
                        f.server,
                        u.sent,
                        blocking::s1(u.last.saturating_sub(u.first))
                    ),
                    evidence: UdpOneWayEvidence {
                        app: f.class.app,
                        packets_sent: u.sent,
                        span_s: ms(u.last.saturating_sub(u.first)) / 1000.0,
                    }
                    .into(),
                    packets: blocking::frames(f.packets.iter().filter(|p| p.dir == Dir::C2s), 16),
                });
            }
            // rtp_cut: either direction.
            let media = !f.class.rtp.is_empty()
                || f.class
                    .protocols
                    .iter()
                    .any(|p| matches!(p, Protocol::Rtp | Protocol::Srtp))
                || f.class.service == Service::Call;
            if !media || f.dir[0].packets < 10 || f.dir[1].packets < 10 {
                continue;
            }
            for d in [Dir::S2c, Dir::C2s] {
                let (Some(stop), Some(other_last)) = (
                    f.dir.get(d.idx()).and_then(|x| x.last_ts),
                    f.dir.get(d.rev().idx()).and_then(|x| x.last_ts),
                ) else {
                    continue;
                };
                // Every packet counts (streaming), whatever the packet log kept.
                let (n_after, _) = f.sent_after(d.rev(), stop);
                let n_after = n_after as usize;
                if other_last.saturating_sub(stop) <= cfg.rtp_cut_gap || n_after < 10 {
                    continue;
                }
                let last_pkt = f.packets.iter().rfind(|p| p.dir == d);
                let mut frames: Vec<u64> = last_pkt.map(|p| p.frame).into_iter().collect();
                frames.extend(
                    f.packets
                        .iter()
                        .filter(|p| p.dir == d.rev() && p.ts > stop && !is_dup(p))
                        .take(8)
                        .map(|p| p.frame),
                );
                let received = d == Dir::S2c;
                out.push(Finding {
                    filter: None,
                    kind: FindingKind::RtpCut,
                    flow: Some(f.id),
                    ts: secs(stop),
                    severity: if received { Severity::Blocked } else { Severity::Info },
                    confidence: if received { 0.7 } else { 0.4 },
                    summary: if received {
                        format!(
                            "Call media from {} stopped arriving after {:.0} s while this side kept sending for {:.0} s more ({} packets): one-way audio, not a hang-up.",
                            f.server,
                            blocking::s1(stop.saturating_sub(f.first_ts)),
                            blocking::s1(other_last.saturating_sub(stop)),
                            n_after
                        )
                    } else {
                        format!(
                            "This side stopped sending media to {} after {:.0} s while the other side went on for {:.0} s (mute, hold, or outgoing media stopped).",
                            f.server,
                            blocking::s1(stop.saturating_sub(f.first_ts)),
                            blocking::s1(other_last.saturating_sub(stop))
                        )
                    },
                    evidence: RtpCutEvidence {
                        app: f.class.app,
                        other_dir_packets_after: n_after,
                        silence_s: ms(other_last.saturating_sub(stop)) / 1000.0,
                        stopped_at: secs(stop),
                        stopped_dir: if received { "s2c" } else { "c2s" },
                    }
                    .into(),
                    packets: frames,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::{ACK, PSH, SYN};
    use crate::model::App;
    use crate::testkit::flows::*;

    fn run(flows: &[LabeledFlow]) -> Vec<Finding> {
        let mut out = run_detector(&UdpBlocking, flows);
        out.sort_by(|a, b| {
            a.kind
                .as_str()
                .cmp(b.kind.as_str())
                .then(a.flow.cmp(&b.flow))
        });
        out
    }

    fn binding(txid: u8) -> Vec<u8> {
        let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
        m.extend_from_slice(&[txid; 12]);
        m
    }

    /// A web flow elsewhere: proves the capture saw both directions.
    fn web(id: u32) -> LabeledFlow {
        let mut g = flow(id, Transport::Tcp, "10.0.0.2:40000", "198.51.100.9:80");
        push(
            &mut g,
            &[
                pkt(900, 0, Dir::C2s, SYN, 1, 0, 0, 64),
                pkt(901, 10, Dir::S2c, SYN | ACK, 9, 2, 0, 120),
            ],
        );
        g
    }

    fn stun_flow(id: u32, server: &str, base: i64, answered: bool) -> LabeledFlow {
        let mut f = flow(id, Transport::Udp, "10.0.0.2:50000", server);
        f.class.app = Some(App::WhatsApp);
        f.class.protocols = [Protocol::Stun].into();
        let fr = u64::from(id) * 10;
        push(
            &mut f,
            &[
                pkt(fr + 1, base, Dir::C2s, 0, 0, 0, 20, 64),
                pkt(fr + 2, base + 500, Dir::C2s, 0, 0, 0, 20, 64),
                pkt(fr + 3, base + 1500, Dir::C2s, 0, 0, 0, 20, 64),
                pkt(fr + 4, base + 3500, Dir::C2s, 0, 0, 0, 20, 64),
            ],
        );
        for _ in 0..4 {
            prefix(&mut f, Dir::C2s, &binding(id as u8));
        }
        if answered {
            push(
                &mut f,
                &[pkt(fr + 5, base + 20, Dir::S2c, 0, 0, 0, 32, 120)],
            );
        }
        f
    }

    #[test]
    fn stun_header_forms() {
        use crate::proto::stun::Header;
        assert_eq!(Header::parse(&binding(7)).map(|h| h.typ), Some(1));
        let mut classic = vec![0x00, 0x01, 0x00, 0x00];
        classic.extend_from_slice(&[9; 16]);
        assert!(Header::parse(&classic).is_some());
        classic[3] = 4; // length no longer tiles
        assert!(Header::parse(&classic).is_none());
        assert!(Header::parse(&[0x80, 0x01]).is_none());
    }

    /// Classify and detect agree: one Binding request through the engine is labelled STUN
    /// by the classifier and is the transaction the detector counts.
    #[test]
    fn classified_stun_is_the_recorded_transaction() {
        let b = binding(7);
        let flows = through_engine("10.0.0.2:40000", "198.51.100.7:3478", &[(C, 0, &b)]);
        let f = &flows[0];
        assert!(f.class.has_protocol(Protocol::Stun));
        assert_eq!(f.class.tx.stun.len(), 1);
        let m = f.class.tx.stun[0];
        assert_eq!((m.at.frame, m.typ, m.class, m.cookie), (1, 0x0001, 0, true));
        assert_eq!(&m.txid[4..], &[7; 12]);
        // The detector's facts count it as one send of one transaction.
        let u = facts(f);
        assert!(u.stun_txid_tracked);
        assert_eq!((u.stun_sends, u.stun_frames.clone()), (1, vec![1]));
    }

    /// The app's signalling connection, open before the call: not a fallback.
    fn signalling(id: u32) -> LabeledFlow {
        let mut t = flow(id, Transport::Tcp, "10.0.0.2:40009", "157.240.9.9:443");
        t.class.app = Some(App::WhatsApp);
        push(
            &mut t,
            &[
                pkt(90, -2000, Dir::C2s, SYN, 1, 0, 0, 64),
                pkt(91, -1980, Dir::S2c, SYN | ACK, 9, 2, 0, 120),
                pkt(92, -1960, Dir::S2c, PSH | ACK, 10, 2, 300, 120),
            ],
        );
        t
    }

    #[test]
    fn every_relay_silent_is_media_blocked_per_call() {
        let flows = [
            signalling(5),
            stun_flow(1, "157.240.1.1:3478", 0, false),
            stun_flow(2, "157.240.2.2:3478", 100, false),
            web(3),
        ];
        let out = run(&flows);
        let kinds: Vec<&str> = out.iter().map(|x| x.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec!["stun_unanswered", "stun_unanswered", "udp_media_blocked"],
            "{out:?}"
        );
        assert!(out
            .iter()
            .filter(|x| x.kind == "stun_unanswered")
            .all(|x| x.severity == "blocked"));
        let m = &out[2];
        assert_eq!(m.severity, "blocked");
        assert_eq!(ev(m)["packets_sent"], 8);
        assert!(
            m.summary.contains("WhatsApp call to 157.240."),
            "{}",
            m.summary
        );
        assert!(
            m.summary.contains("2 servers never answered STUN"),
            "{}",
            m.summary
        );
        assert_eq!(ev(&out[0])["sends"], 4);
        assert_eq!(out[0].packets, vec![11, 12, 13, 14]);
    }

    #[test]
    fn icmp_prohibited_answers_are_cited() {
        let mut f = stun_flow(1, "157.240.1.1:3478", 0, false);
        f.icmp_errors.push(crate::flow::IcmpError {
            frame: 15,
            ts: 10_000_000,
            kind: 3,
            code: 13,
            from: "192.0.2.1".parse().unwrap(),
            quoted_ip_id: None,
        });
        let out = run(&[f, web(3)]);
        let m = out
            .iter()
            .find(|x| x.kind == "udp_media_blocked")
            .expect("call blocked");
        assert_eq!(ev(m)["icmp_errors"], 1);
        assert!(
            m.summary.contains("administratively prohibited"),
            "{}",
            m.summary
        );
    }

    #[test]
    fn one_candidate_answered_means_no_block() {
        let flows = [
            stun_flow(1, "157.240.1.1:3478", 0, false),
            stun_flow(2, "157.240.2.2:3478", 100, true),
            web(3),
        ];
        let out = run(&flows);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].kind, "stun_unanswered");
        assert_eq!(out[0].severity, "info");
    }

    #[test]
    fn tcp_443_fallback_is_reported_instead_of_block() {
        let mut t = flow(4, Transport::Tcp, "10.0.0.2:40001", "157.240.1.1:443");
        t.class.app = Some(App::WhatsApp);
        push(
            &mut t,
            &[
                pkt(50, 4000, Dir::C2s, SYN, 1, 0, 0, 64),
                pkt(51, 4020, Dir::S2c, SYN | ACK, 9, 2, 0, 120),
                pkt(52, 4040, Dir::S2c, PSH | ACK, 10, 2, 300, 120),
            ],
        );
        let flows = [stun_flow(1, "157.240.1.1:3478", 0, false), web(3), t];
        let out = run(&flows);
        let kinds: Vec<&str> = out.iter().map(|x| x.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec!["stun_unanswered", "udp_blocked_tcp_fallback"],
            "{out:?}"
        );
        assert_eq!(out[1].flow, Some(4));
        assert_eq!(out[1].severity, "degraded");
    }

    #[test]
    fn stun_over_tcp_after_silent_udp_is_fallback_without_app_label() {
        let mut u = stun_flow(1, "198.51.100.3:3478", 0, false);
        u.class.app = None;
        let mut t = flow(4, Transport::Tcp, "10.0.0.2:40001", "198.51.100.3:443");
        t.class.protocols = [Protocol::Stun, Protocol::Turn].into();
        push(
            &mut t,
            &[
                pkt(50, 4000, Dir::C2s, SYN, 1, 0, 0, 64),
                pkt(51, 4020, Dir::S2c, SYN | ACK, 9, 2, 0, 120),
                pkt(52, 4040, Dir::S2c, PSH | ACK, 10, 2, 300, 120),
            ],
        );
        let out = run(&[u.clone(), t.clone()]);
        let kinds: Vec<&str> = out.iter().map(|x| x.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec!["stun_unanswered", "udp_blocked_tcp_fallback"],
            "{out:?}"
        );
        assert_eq!(out[1].flow, Some(4));
        assert_eq!(out[1].packets, vec![11, 12, 13, 14, 50]);
        // An answered UDP STUN in the window means UDP worked: no fallback finding.
        let answered = stun_flow(2, "198.51.100.4:3478", 100, true);
        let out = run(&[u, answered, t]);
        assert!(
            out.iter().all(|x| x.kind != "udp_blocked_tcp_fallback"),
            "{out:?}"
        );
    }

    #[test]
    fn one_sided_capture_gives_nothing() {
        assert!(run(&[stun_flow(1, "157.240.1.1:3478", 0, false)]).is_empty());
    }

    fn media(cut_ms: Option<i64>) -> LabeledFlow {
        let mut f = flow(1, Transport::Udp, "10.0.0.2:50000", "157.240.1.1:3478");
        f.class.app = Some(App::WhatsApp);
        f.class.service = Service::Call;
        f.class.protocols = [Protocol::Rtp].into();
        let mut ps = Vec::new();
        for i in 0..600i64 {
            let ts = i * 20;
            ps.push(pkt(2 * i as u64 + 1, ts, Dir::C2s, 0, 0, 0, 120, 64));
            if !matches!(cut_ms, Some(c) if ts >= c) {
                ps.push(pkt(2 * i as u64 + 2, ts + 5, Dir::S2c, 0, 0, 0, 120, 120));
            }
        }
        push(&mut f, &ps);
        f
    }

    #[test]
    fn received_media_stopping_is_rtp_cut_and_black_hole() {
        let out = run(&[media(Some(4000)), web(3)]);
        let kinds: Vec<&str> = out.iter().map(|x| x.kind.as_str()).collect();
        assert_eq!(kinds, vec!["rtp_cut", "udp_media_blocked"], "{out:?}");
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(ev(&out[0])["stopped_dir"], "s2c");
        assert!(
            out[1].summary.contains("nothing received for the last 8 s"),
            "{}",
            out[1].summary
        );
    }

    /// Media both ways until the answers stop at 4 s; the client gives up at 6 s.
    fn media_cut_short() -> LabeledFlow {
        let mut f = flow(1, Transport::Udp, "10.0.0.2:50000", "198.51.100.2:40000");
        f.class.app = Some(App::WebRtc);
        f.class.service = Service::Call;
        f.class.protocols = [Protocol::Rtp, Protocol::Srtp, Protocol::Stun].into();
        let mut ps = Vec::new();
        for i in 0..300i64 {
            let ts = i * 20;
            ps.push(pkt(2 * i as u64 + 1, ts, Dir::C2s, 0, 0, 0, 120, 64));
            if ts < 4000 {
                ps.push(pkt(2 * i as u64 + 2, ts + 5, Dir::S2c, 0, 0, 0, 120, 120));
            }
        }
        push(&mut f, &ps);
        f
    }

    #[test]
    fn media_cut_mid_call_then_turn_tcp_is_fallback() {
        let mut t = flow(4, Transport::Tcp, "10.0.0.2:40001", "198.51.100.4:3478");
        t.class.protocols = [Protocol::Stun, Protocol::Turn].into();
        push(
            &mut t,
            &[
                pkt(700, 6100, Dir::C2s, SYN, 1, 0, 0, 64),
                pkt(701, 6101, Dir::S2c, SYN | ACK, 9, 2, 0, 120),
                pkt(702, 6110, Dir::S2c, PSH | ACK, 10, 2, 300, 120),
            ],
        );
        let out = run(&[media_cut_short(), web(3), t.clone()]);
        let kinds: Vec<&str> = out.iter().map(|x| x.kind.as_str()).collect();
        assert_eq!(kinds, vec!["udp_blocked_tcp_fallback"], "{out:?}");
        assert_eq!(out[0].flow, Some(4));
        assert!(out[0].summary.contains("mid-call"), "{}", out[0].summary);
        // 2 s of silence without a TCP leg is not a block (the app may have hung up).
        assert!(run(&[media_cut_short(), web(3)]).is_empty());
        // A TCP relay already open before the answers stopped is not a fallback.
        let mut early = flow(4, Transport::Tcp, "10.0.0.2:40001", "198.51.100.4:3478");
        early.class.protocols = t.class.protocols;
        push(
            &mut early,
            &[
                pkt(700, 1100, Dir::C2s, SYN, 1, 0, 0, 64),
                pkt(701, 1101, Dir::S2c, SYN | ACK, 9, 2, 0, 120),
                pkt(702, 1110, Dir::S2c, PSH | ACK, 10, 2, 300, 120),
            ],
        );
        assert!(run(&[media_cut_short(), web(3), early]).is_empty());
    }

    #[test]
    fn healthy_media_is_clean() {
        assert!(run(&[media(None), web(3)]).is_empty());
    }

    #[test]
    fn discovery_traffic_is_not_one_way() {
        let mut f = flow(1, Transport::Udp, "10.0.0.2:5353", "224.0.0.251:5353");
        let ps: Vec<P> = (0..20)
            .map(|i| pkt(i + 1, i as i64 * 500, Dir::C2s, 0, 0, 0, 50, 255))
            .collect();
        push(&mut f, &ps);
        let mut g = flow(2, Transport::Udp, "10.0.0.2:6000", "198.51.100.7:3389");
        push(&mut g, &ps);
        let out = run(&[f, g, web(3)]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "udp_one_way");
        assert_eq!(out[0].flow, Some(2));
    }
}
