//! The transaction recorder: during the engine's pass, parses each UDP datagram once with
//! [`crate::proto`] and keeps the messages detectors need ([`crate::tx`]); at the end, reads
//! each TCP direction's opening (TLS record, HTTP start line) from the kept prefix.
//!
//! Limit kept from the byte-reading detectors it replaces (see [`crate::tx`]): a datagram is
//! parsed only when it was logged (has a [`PacketMeta`]), is not a duplicate, and lies entirely
//! inside the direction's `payload_prefix` (QUIC headers: starts inside it).

use crate::flow::{obs, Dir, Flow, PacketMeta, Transport};
use crate::proto::{dns, http, quic, stun, tls};
use crate::tx::{At, DnsRecord, DnsTx, HttpTx, QuicTx, StunTx, TlsKind, TlsTx, Transactions};

/// Per-flow recorder state: bytes of each direction's prefix accounted for so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct Recorder {
    off: [usize; 2],
}

fn at(p: &PacketMeta) -> At {
    At {
        frame: p.frame,
        ts: p.ts,
        dir: p.dir,
        ip_ttl: p.ttl,
        ip_id: p.ip_id,
    }
}

/// FNV-1a over the message bytes.
fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
        (h ^ u64::from(*x)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Recorder {
    /// One UDP payload of `flow` (called after the flow table saw the packet).
    pub fn on_datagram(
        &mut self,
        flow: &Flow,
        dir: Dir,
        frame: u64,
        payload: &[u8],
        tx: &mut Transactions,
    ) {
        if flow.transport != Transport::Udp || payload.is_empty() {
            return;
        }
        // Only logged packets have the frame/TTL facts (and were what detectors could read).
        let Some(p) = flow
            .packets
            .last()
            .filter(|p| p.frame == frame && p.dir == dir)
        else {
            return;
        };
        if p.obs & obs::DUPLICATE != 0 {
            return;
        }
        let di = dir.idx();
        let Some(off) = self.off.get_mut(di) else {
            return;
        };
        // Offsets advance by the wire length, as the detectors' prefix reading did (a
        // snaplen-cut datagram's missing bytes are not in the prefix either: what follows
        // it is then not parsed).
        let start = *off;
        *off = start.saturating_add(p.payload_len as usize);
        let kept = flow.dir.get(di).map_or(0, |d| d.payload_prefix.len());
        let dns_flow = flow.client.port() == 53 || flow.server.port() == 53;
        datagram(tx, dns_flow, p, start, kept, payload);
    }
}

/// Records one logged, non-duplicate UDP datagram of a flow's direction: `start` is its
/// offset in the direction's prefix, `kept` the prefix's length, `payload` its bytes.
pub fn datagram(
    tx: &mut Transactions,
    dns_flow: bool,
    p: &PacketMeta,
    start: usize,
    kept: usize,
    payload: &[u8],
) {
    let end = start.saturating_add(p.payload_len as usize);
    let a = at(p);
    if start < kept && quic::is_long_header(payload) {
        let h = quic::LongHeader::parse(payload);
        Transactions::push(
            &mut tx.quic,
            &mut tx.dropped,
            QuicTx {
                at: a,
                version: h.map_or(0, |h| h.version),
                initial: h.is_some_and(|h| h.initial.is_some()),
                len: p.payload_len,
            },
        );
    }
    if end > kept {
        return;
    }
    if let Some(n) = tx.datagrams_in_prefix.get_mut(p.dir.idx()) {
        *n = n.saturating_add(1);
    }
    if let Some(h) = stun::Header::parse(payload) {
        Transactions::push(
            &mut tx.stun,
            &mut tx.dropped,
            StunTx {
                at: a,
                typ: h.typ,
                method: h.method(),
                class: h.class(),
                cookie: h.cookie,
                tiles: h.tiles,
                txid: h.txid,
            },
        );
    }
    if dns_flow {
        if let Some(m) = dns::parse(payload) {
            let h = m.header;
            Transactions::push(
                &mut tx.dns,
                &mut tx.dropped,
                DnsTx {
                    at: a,
                    id: h.id,
                    response: h.response(),
                    opcode: h.opcode(),
                    rcode: h.rcode(),
                    qdcount: h.qdcount,
                    answers: m
                        .answers
                        .iter()
                        .map(|r| DnsRecord {
                            rtype: r.rtype,
                            ttl: r.ttl,
                            addr: r.addr,
                        })
                        .collect(),
                    qname: m.qname,
                    qtype: m.qtype,
                    digest: fnv(payload),
                },
            );
        }
    }
}

/// Rebuilds a finished flow's transactions from its packet log and kept prefixes, as the
/// pass would have recorded them (for flows built without the engine, e.g. in tests).
pub fn replay(flow: &Flow) -> Transactions {
    let mut tx = Transactions::default();
    if flow.transport == Transport::Udp {
        let dns_flow = flow.client.port() == 53 || flow.server.port() == 53;
        for dir in [Dir::C2s, Dir::S2c] {
            let prefix = flow
                .dir
                .get(dir.idx())
                .map_or(&[][..], |d| d.payload_prefix.as_slice());
            let mut off = 0usize;
            for p in flow
                .packets
                .iter()
                .filter(|p| p.dir == dir && p.payload_len > 0 && p.obs & obs::DUPLICATE == 0)
            {
                let end = off.saturating_add(p.payload_len as usize);
                let body = prefix
                    .get(off..end)
                    .or_else(|| prefix.get(off..))
                    .unwrap_or(&[]);
                datagram(&mut tx, dns_flow, p, off, prefix.len(), body);
                off = end;
            }
        }
    }
    stream_openings(flow, &mut tx);
    tx
}

/// At the end of the pass: the TLS and HTTP openings of each direction of a TCP flow, from
/// the kept prefix (the first payload segment that was neither a retransmission nor a
/// duplicate gives frame and time).
pub fn stream_openings(flow: &Flow, tx: &mut Transactions) {
    if flow.transport != Transport::Tcp {
        return;
    }
    for dir in [Dir::C2s, Dir::S2c] {
        let Some(p) = flow.dir.get(dir.idx()).map(|d| d.payload_prefix.as_slice()) else {
            continue;
        };
        if p.is_empty() {
            continue;
        }
        let a = flow
            .packets
            .iter()
            .find(|m| {
                m.dir == dir
                    && m.payload_len > 0
                    && m.obs & (obs::RETRANSMISSION | obs::DUPLICATE) == 0
            })
            .map_or(
                At {
                    frame: 0,
                    ts: flow.first_ts,
                    dir,
                    ip_ttl: 0,
                    ip_id: u32::MAX,
                },
                at,
            );
        let kind = match tls::handshake_type(p) {
            Some(tls::CLIENT_HELLO) => Some(TlsKind::ClientHello),
            Some(tls::SERVER_HELLO) => Some(TlsKind::ServerHello),
            Some(t) => Some(TlsKind::Handshake(t)),
            None if tls::is_alert(p) => Some(TlsKind::Alert),
            None => None,
        };
        if let Some(kind) = kind {
            let sni = if kind == TlsKind::ClientHello {
                tls::client_hello_in_prefix(p).and_then(|h| h.sni)
            } else {
                None
            };
            Transactions::push(&mut tx.tls, &mut tx.dropped, TlsTx { at: a, kind, sni });
        }
        let method = http::request_method(p);
        let status = http::status_code(p);
        if method.is_some() || status.is_some() {
            Transactions::push(
                &mut tx.http,
                &mut tx.dropped,
                HttpTx {
                    at: a,
                    method,
                    status,
                    head: http::head(p).unwrap_or_default(),
                },
            );
        }
    }
}
