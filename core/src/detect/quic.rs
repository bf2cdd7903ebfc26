//! `quic_blocked`: QUIC handshakes that never get an answer.
//!
//! # Heuristic
//! A client's QUIC Initial is a long-header packet (first byte `0b11xx_xxxx`, non-zero
//! version; RFC 9000 §17.2) in a UDP datagram padded to ≥ 1200 bytes (RFC 9000 §14.1). Per
//! client address and server `ip:port`, over all UDP flows between them: the first datagram of
//! each flow must parse as an Initial, later client datagrams of ≥ 1200 bytes count as
//! Initials too (retransmissions, coalesced 0-RTT). QUIC is `quic_blocked` when at least
//! `quic_min_initials` (3) Initials span ≥ `quic_min_span` (0.5 s; RFC 9002 §6.2.2: the first
//! probe timeout is about 1 s, Chrome retries after ~300 ms) and the server sent nothing at
//! all — not even a Version Negotiation or Retry packet, which would prove it was reached.
//!
//! Evidence says whether TCP to the same server address (or the same SNI) worked in the
//! capture (`tcp_same_host`: `works`, `fails` or `none`): QUIC dropped while TLS over TCP
//! works is the signature of a UDP/443 or QUIC-specific filter. Confidence 0.8 when TCP works,
//! 0.6 otherwise. Severity `blocked`.
//!
//! # Guards
//! The capture must show two-way traffic elsewhere (one-sided captures say nothing).
//!
//! # Known false positives
//! A server without QUIC that silently drops UDP/443 (browsers then fall back to TCP; the
//! finding is true for the path but harmless for the user); the capture stopping right after
//! the Initials.

use super::blocking::{self, is_dup, ms};
use super::{Detector, Input};
use crate::flow::{Dir, PacketMeta, Transport};
use crate::label::LabeledFlow;
use crate::model::{FindingKind, Severity};
use crate::report::evidence::QuicEvidence;
use crate::report::Finding;
use crate::secs;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// The detector (emits `quic_blocked`).
pub struct QuicBlocked;

/// Smallest UDP payload of a client Initial (RFC 9000 §14.1).
const MIN_INITIAL: u32 = 1200;

impl Detector for QuicBlocked {
    fn name(&self) -> &'static str {
        "quic_blocked"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let cfg = &input.config.blocking;
        let two_way = input.facts().two_way();
        // TCP flows by server address and by name, for "does TCP to the same host work?".
        let mut tcp_by_ip: BTreeMap<IpAddr, Vec<&LabeledFlow>> = BTreeMap::new();
        let mut tcp_by_sni: BTreeMap<&str, Vec<&LabeledFlow>> = BTreeMap::new();
        for g in input.flows.iter().filter(|g| g.transport == Transport::Tcp) {
            tcp_by_ip.entry(g.server.ip()).or_default().push(g);
            if let Some(n) = g.class.sni.as_deref() {
                tcp_by_sni.entry(n).or_default().push(g);
            }
        }
        // (client ip, server) → flows whose first client datagram is an Initial.
        let mut groups: BTreeMap<(IpAddr, SocketAddr), Vec<&LabeledFlow>> = BTreeMap::new();
        for f in input.flows.iter().filter(|f| f.transport == Transport::Udp) {
            let first = f
                .packets
                .iter()
                .find(|p| p.dir == Dir::C2s && p.payload_len > 0);
            // The recorder saw a long header (of a non-zero version) in that datagram.
            let long = first.is_some_and(|p| f.class.tx.quic.iter().any(|q| q.at.frame == p.frame));
            if long && first.is_some_and(|p| p.payload_len >= MIN_INITIAL) {
                groups.entry((f.client.ip(), f.server)).or_default().push(f);
            }
        }
        for ((client, server), flows) in groups {
            if flows.iter().any(|f| f.dir[1].packets > 0) {
                continue;
            }
            let ids: Vec<u32> = flows.iter().map(|f| f.id).collect();
            if !two_way.elsewhere(&ids) {
                continue;
            }
            let mut initials: Vec<&PacketMeta> = flows
                .iter()
                .flat_map(|f| f.packets.iter())
                .filter(|p| p.dir == Dir::C2s && p.payload_len >= MIN_INITIAL && !is_dup(p))
                .collect();
            initials.sort_by_key(|p| (p.ts, p.frame));
            let (Some(first), Some(last)) = (initials.first(), initials.last()) else {
                continue;
            };
            let span = last.ts.saturating_sub(first.ts);
            if (initials.len() as u32) < cfg.quic_min_initials || span < cfg.quic_min_span {
                continue;
            }
            let sni = flows.iter().find_map(|f| f.class.sni.clone());
            let mut tcp: Vec<&LabeledFlow> =
                tcp_by_ip.get(&server.ip()).cloned().unwrap_or_default();
            if let Some(more) = sni.as_deref().and_then(|n| tcp_by_sni.get(n)) {
                tcp.extend(more.iter().copied());
            }
            tcp.sort_by_key(|g| g.id);
            tcp.dedup_by_key(|g| g.id);
            let tcp_state = if tcp.iter().any(|g| g.dir[1].payload_bytes > 0) {
                "works"
            } else if tcp.is_empty() {
                "none"
            } else {
                "fails"
            };
            let head = flows.first().map_or(0, |f| f.id);
            let name = sni
                .as_deref()
                .map(|s| format!(" (\"{s}\")"))
                .unwrap_or_default();
            out.push(Finding {
                filter: None,
                kind: FindingKind::QuicBlocked,
                flow: Some(head),
                ts: secs(first.ts),
                severity: Severity::Blocked,
                confidence: if tcp_state == "works" { 0.8 } else { 0.6 },
                summary: format!(
                    "QUIC to {server}{name} got no answer: {} Initial packets over {:.1} s, nothing back{}.",
                    initials.len(),
                    blocking::s1(span),
                    match tcp_state {
                        "works" => ", while TCP/TLS to the same server worked",
                        "fails" => "; TCP to the same server failed too",
                        _ => "",
                    }
                ),
                evidence: QuicEvidence {
                    client: client.to_string(),
                    flows: ids.clone(),
                    initials: initials.len(),
                    sni: sni.clone(),
                    span_s: ms(span) / 1000.0,
                    tcp_flows: tcp.iter().map(|g| g.id).collect(),
                    tcp_same_host: tcp_state,
                }
                .into(),
                packets: blocking::frames(initials.into_iter(), 32),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::{ACK, PSH, SYN};
    use crate::testkit::flows::*;

    fn run(flows: &[LabeledFlow]) -> Vec<Finding> {
        run_detector(&QuicBlocked, flows)
    }

    fn quic(id: u32, answered: bool) -> LabeledFlow {
        let mut f = flow(id, Transport::Udp, "10.0.0.2:51000", "142.250.1.1:443");
        push(
            &mut f,
            &[
                pkt(1, 0, Dir::C2s, 0, 0, 0, 1250, 64),
                pkt(2, 300, Dir::C2s, 0, 0, 0, 1250, 64),
                pkt(4, 900, Dir::C2s, 0, 0, 0, 1250, 64),
            ],
        );
        if answered {
            push(&mut f, &[pkt(3, 320, Dir::S2c, 0, 0, 0, 1200, 120)]);
        }
        prefix(
            &mut f,
            Dir::C2s,
            &[0xC3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8],
        );
        f
    }

    fn tls(id: u32) -> LabeledFlow {
        let mut g = flow(id, Transport::Tcp, "10.0.0.2:40000", "142.250.1.1:443");
        push(
            &mut g,
            &[
                pkt(10, 1000, Dir::C2s, SYN, 1, 0, 0, 64),
                pkt(11, 1010, Dir::S2c, SYN | ACK, 9, 2, 0, 120),
                pkt(12, 1030, Dir::S2c, PSH | ACK, 10, 2, 1000, 120),
            ],
        );
        g
    }

    #[test]
    fn unanswered_initials_while_tcp_works() {
        let out = run(&[quic(0, false), tls(1)]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "quic_blocked");
        assert_eq!(ev(&out[0])["tcp_same_host"], "works");
        assert_eq!(ev(&out[0])["initials"], 3);
        assert_eq!(out[0].packets, vec![1, 2, 4]);
    }

    #[test]
    fn one_retry_is_not_enough() {
        let mut f = quic(0, false);
        f.packets.pop();
        f.dir[0].packets -= 1;
        assert!(run(&[f, tls(1)]).is_empty());
    }

    #[test]
    fn any_server_packet_means_reached() {
        assert!(run(&[quic(0, true), tls(1)]).is_empty());
    }

    #[test]
    fn one_sided_capture_says_nothing() {
        assert!(run(&[quic(0, false)]).is_empty());
    }

    #[test]
    fn long_header_check() {
        use crate::proto::quic::is_long_header;
        assert!(is_long_header(&[0xC0, 0, 0, 0, 1]));
        assert!(!is_long_header(&[0xC0, 0, 0, 0, 0]));
        assert!(!is_long_header(&[0x40, 0, 0, 0, 1]));
        assert!(!is_long_header(&[0xC0, 0, 0]));
    }
}
