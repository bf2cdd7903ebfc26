//! Builders for the synthetic flows and packets that the detectors' tests share, so each
//! test module states only its scenario.
use crate::decode::tcp_flags;
use crate::detect::{DetectConfig, Detector, Input};
use crate::flow::{Dir, DirFacts, Flow, PacketMeta, Transport};
use crate::label::LabeledFlow;
use crate::report::Finding;

/// Client-to-server direction, short for the packet tables in tests.
pub const C: Dir = Dir::C2s;
/// Server-to-client direction.
pub const S: Dir = Dir::S2c;

/// Runs one detector with the default config over `flows`, with no calls.
pub fn run_detector(detector: &dyn Detector, flows: &[LabeledFlow]) -> Vec<Finding> {
    let config = DetectConfig::default();
    let mut out = Vec::new();
    let flows = &recorded(flows);
    detector.detect(&Input::new(flows, &[], &config), &mut out);
    for f in &out {
        // The typed evidence must print its keys as the untyped objects did (sorted).
        assert!(
            crate::report::evidence::keys_sorted(&f.evidence),
            "{:?} evidence keys out of order",
            f.kind
        );
    }
    out
}

/// `flows` with their transactions rebuilt from packet log and prefixes, as the engine's
/// recorder would have kept them (test flows are built without the engine).
pub fn recorded(flows: &[LabeledFlow]) -> Vec<LabeledFlow> {
    flows
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.class.tx = crate::classify::record::replay(&f.flow);
            f
        })
        .collect()
}

/// Runs UDP payloads (direction, time, bytes; frames 1, 2, …) between `client` and `server`
/// through the real flow table and classify engine, returning the finished flows with their
/// labels and recorded transactions.
pub fn through_engine(client: &str, server: &str, pkts: &[(Dir, i64, &[u8])]) -> Vec<LabeledFlow> {
    use crate::decode::{Anomalies, Decoded, Net, Udp, L4};
    let (c, s): (std::net::SocketAddr, std::net::SocketAddr) = (
        client.parse().unwrap_or_else(|_| ([0, 0, 0, 0], 0).into()),
        server.parse().unwrap_or_else(|_| ([0, 0, 0, 0], 0).into()),
    );
    let mut t = crate::flow::FlowTable::new(crate::flow::FlowConfig::default());
    let mut e = crate::classify::Engine::new();
    for (i, (dir, ts, b)) in pkts.iter().enumerate() {
        let (src, dst) = if *dir == Dir::C2s { (c, s) } else { (s, c) };
        let d = Decoded {
            net: Some(Net {
                src: src.ip(),
                dst: dst.ip(),
                ttl: 64,
                ip_id: Some(i as u32),
                df: false,
                ip_len: 28 + b.len() as u32,
                proto: 17,
                frag: None,
            }),
            l4: L4::Udp(Udp {
                src_port: src.port(),
                dst_port: dst.port(),
                len: b.len() as u32,
                payload: b,
            }),
            vlan: 0,
            tunnel: None,
            anomalies: Anomalies::default(),
            error: None,
            arp: None,
        };
        let frame = i as u64 + 1;
        if let Some(o) = t.observe(frame, *ts, &d) {
            if let Some(f) = t.flows().get(o.id as usize) {
                e.on_packet(f, o.dir, frame, *ts, &d);
            }
        }
    }
    e.finish(t.into_flows()).0
}

/// A finding's evidence as JSON, for tests that check single keys.
pub fn ev(f: &Finding) -> serde_json::Value {
    serde_json::to_value(&f.evidence).unwrap_or_default()
}

/// A flow with no packets and no labels.
pub fn flow(id: u32, transport: Transport, client: &str, server: &str) -> LabeledFlow {
    LabeledFlow::from(Flow {
        id,
        transport,
        client: client.parse().unwrap(),
        server: server.parse().unwrap(),
        vlan: 0,
        tunnel: None,
        first_ts: 0,
        last_ts: 0,
        first_frame: 0,
        dir: [DirFacts::default(), DirFacts::default()],
        tcp: None,
        history: String::new(),
        rtt: Default::default(),
        packets: Vec::new(),
        packets_truncated: false,
        log_gap: None,
        log_dropped: 0,
        limits: 0,
        icmp_errors: Default::default(),
    })
}

/// A packet builder with sensible defaults.
#[derive(Clone, Copy)]
pub struct P {
    pub m: PacketMeta,
}

#[allow(clippy::too_many_arguments)]
pub fn pkt(
    frame: u64,
    ts_ms: i64,
    dir: Dir,
    flags: u8,
    seq: u32,
    ack: u32,
    len: u32,
    ttl: u8,
) -> P {
    P {
        m: PacketMeta {
            frame,
            ts: ts_ms * 1_000_000,
            dir,
            ip_len: 40 + len,
            payload_len: len,
            ttl,
            ip_id: frame as u32 * 7,
            df: true,
            tcp_flags: flags,
            seq,
            ack,
            window: if flags & crate::decode::tcp_flags::RST != 0 {
                0
            } else {
                64240
            },
            obs: 0,
        },
    }
}

/// Appends packets to a flow and updates its counters (packets, bytes, ts, flags counts).
pub fn push(f: &mut Flow, ps: &[P]) {
    for p in ps {
        let m = p.m;
        if f.packets.is_empty() {
            f.first_ts = m.ts;
            f.first_frame = m.frame;
        }
        f.last_ts = f.last_ts.max(m.ts);
        let d = &mut f.dir[m.dir.idx()];
        d.packets += 1;
        d.bytes += u64::from(m.ip_len);
        d.payload_bytes += u64::from(m.payload_len);
        d.first_ts.get_or_insert(m.ts);
        d.last_ts = Some(m.ts);
        if m.obs & crate::flow::obs::DUPLICATE != 0 {
            d.duplicates += 1;
        } else {
            d.after_peer_last += 1;
            if m.payload_len > 0 {
                d.payload_packets += 1;
            }
        }
        if m.tcp_flags & tcp_flags::SYN != 0 {
            d.syn_count += 1;
        }
        if m.tcp_flags & tcp_flags::FIN != 0 {
            d.fin_count += 1;
        }
        if m.tcp_flags & tcp_flags::RST != 0 {
            d.rst_count += 1;
        }
        match d.ttls.iter_mut().find(|(t, _)| *t == m.ttl) {
            Some((_, c)) => *c += 1,
            None => {
                d.ttls.push((m.ttl, 1));
                d.ttls.sort_unstable();
            }
        }
        f.dir[m.dir.rev().idx()].after_peer_last = 0;
        f.packets.push(m);
    }
}

/// Appends bytes to a direction's payload prefix.
pub fn prefix(f: &mut Flow, dir: Dir, bytes: &[u8]) {
    f.dir[dir.idx()].payload_prefix.extend_from_slice(bytes);
}

/// A minimal TLS ClientHello carrying `sni`.
pub fn client_hello(sni: &str) -> Vec<u8> {
    let name = sni.as_bytes();
    let mut ext = Vec::new();
    ext.extend_from_slice(&[0, 0]);
    let sn_len = name.len() + 5;
    ext.extend_from_slice(&(sn_len as u16).to_be_bytes());
    ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    ext.extend_from_slice(name);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0u8; 32]);
    body.push(0); // session id
    body.extend_from_slice(&[0, 2, 0x13, 0x01]); // cipher suites
    body.extend_from_slice(&[1, 0]); // compression
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![0x01, 0, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01, (hs.len() >> 8) as u8, hs.len() as u8];
    rec.extend_from_slice(&hs);
    rec
}

/// A TCP three-way handshake as frames 1-3: client SYN at 0 ms (seq 1000, TTL 64), server
/// SYN-ACK at 20 ms (seq 5000, TTL 117), client ACK at 21 ms. Data continues at client seq 1001
/// and server seq 5001.
pub fn tcp_handshake() -> [P; 3] {
    [
        pkt(1, 0, Dir::C2s, tcp_flags::SYN, 1000, 0, 0, 64),
        pkt(
            2,
            20,
            Dir::S2c,
            tcp_flags::SYN | tcp_flags::ACK,
            5000,
            1001,
            0,
            117,
        ),
        pkt(3, 21, Dir::C2s, tcp_flags::ACK, 1001, 5001, 0, 64),
    ]
}
