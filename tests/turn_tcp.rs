//! Issue 11: TURN over TCP with its framing split across segments. The lab's real TURN/TCP
//! calls (aiortc through coturn) have one ChannelData or STUN message per segment; here every
//! data segment of the relay connection is cut into three (mid-header and mid-payload, each
//! piece at the original time), so most frames span segments. Reassembly must give the same
//! media: the same RTP streams with the same packets, loss and jitter, the same peer.

use std::path::Path;
use voipwatch_core::analyzer::{analyze_bytes, Config};
use voipwatch_core::report::Report;

fn csum(data: &[u8], mut sum: u32) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The frame with its TCP payload replaced by `payload` at sequence offset `off`
/// (Ethernet + IPv4 + TCP; lengths and checksums rewritten).
fn piece(
    frame: &[u8],
    ip_at: usize,
    tcp_at: usize,
    data_at: usize,
    off: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut v = frame[..data_at].to_vec();
    v.extend_from_slice(payload);
    let total = (v.len() - ip_at) as u16;
    v[ip_at + 2..ip_at + 4].copy_from_slice(&total.to_be_bytes());
    v[ip_at + 10..ip_at + 12].copy_from_slice(&[0, 0]);
    let c = csum(&v[ip_at..tcp_at], 0);
    v[ip_at + 10..ip_at + 12].copy_from_slice(&c.to_be_bytes());
    let seq = u32::from_be_bytes(v[tcp_at + 4..tcp_at + 8].try_into().unwrap()).wrapping_add(off);
    v[tcp_at + 4..tcp_at + 8].copy_from_slice(&seq.to_be_bytes());
    v[tcp_at + 16..tcp_at + 18].copy_from_slice(&[0, 0]);
    let mut pseudo = v[ip_at + 12..ip_at + 20].to_vec();
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&((v.len() - tcp_at) as u16).to_be_bytes());
    pseudo.extend_from_slice(&v[tcp_at..]);
    let c = csum(&pseudo, 0);
    v[tcp_at + 16..tcp_at + 18].copy_from_slice(&c.to_be_bytes());
    v
}

/// Rewrites a little-endian pcap of Ethernet/IPv4 frames: every TCP segment with ≥ 12 payload
/// bytes to or from `port` becomes three segments cut at a third and two thirds (+1).
fn resegment(pcap: &[u8], port: u16) -> (Vec<u8>, usize) {
    let mut out = pcap[..24].to_vec();
    let mut at = 24;
    let mut split = 0;
    while at + 16 <= pcap.len() {
        let h = &pcap[at..at + 16];
        let incl = u32::from_le_bytes(h[8..12].try_into().unwrap()) as usize;
        let frame = &pcap[at + 16..at + 16 + incl];
        at += 16 + incl;
        let write = |out: &mut Vec<u8>, f: &[u8]| {
            out.extend_from_slice(&h[..8]);
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(f);
        };
        let ip_at = 14;
        let is_tcp = frame.len() > 34 && frame[12..14] == [0x08, 0x00] && frame[ip_at + 9] == 6;
        if !is_tcp {
            write(&mut out, frame);
            continue;
        }
        let tcp_at = ip_at + usize::from(frame[ip_at] & 0x0f) * 4;
        let data_at = tcp_at + usize::from(frame[tcp_at + 12] >> 4) * 4;
        let ip_end = ip_at + usize::from(u16::from_be_bytes([frame[ip_at + 2], frame[ip_at + 3]]));
        let ports = [
            u16::from_be_bytes([frame[tcp_at], frame[tcp_at + 1]]),
            u16::from_be_bytes([frame[tcp_at + 2], frame[tcp_at + 3]]),
        ];
        let payload = &frame[data_at..ip_end.min(frame.len())];
        if !ports.contains(&port) || payload.len() < 12 {
            write(&mut out, frame);
            continue;
        }
        let (a, b) = (payload.len() / 3, payload.len() * 2 / 3 + 1);
        for (from, to) in [(0, a), (a, b), (b, payload.len())] {
            write(
                &mut out,
                &piece(
                    frame,
                    ip_at,
                    tcp_at,
                    data_at,
                    from as u32,
                    &payload[from..to],
                ),
            );
        }
        split += 1;
    }
    (out, split)
}

fn media(r: &Report) -> Vec<(u32, &'static str, u64, i64, f64, f64)> {
    let mut v: Vec<_> = r
        .flows
        .iter()
        .filter(|f| f.transport == "tcp")
        .flat_map(|f| f.rtp.iter())
        .map(|s| {
            (
                s.ssrc,
                s.dir,
                s.packets,
                s.lost,
                s.mean_jitter_ms,
                s.max_jitter_ms,
            )
        })
        .collect();
    v.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    v
}

#[test]
fn turn_tcp_frames_split_across_segments_are_reassembled() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    for name in ["webrtc_call_turn_tcp.pcap", "turn_tcp_fallback.pcap"] {
        let data = std::fs::read(root.join(name)).expect("lab capture");
        let whole = analyze_bytes(Config::default(), &data);
        let relay = whole
            .flows
            .iter()
            .find(|f| f.transport == "tcp" && f.protocols.iter().any(|p| p.as_str() == "turn"))
            .expect("a TURN/TCP flow");
        let port: u16 = relay.server.rsplit(':').next().unwrap().parse().unwrap();
        let (cut, split) = resegment(&data, port);
        assert!(split > 100, "{name}: only {split} segments split");
        let pieces = analyze_bytes(Config::default(), &cut);
        if let Some(d) = std::env::var_os("DUMP_RESEGMENTED") {
            std::fs::write(Path::new(&d).join(name), &cut).unwrap();
        }
        let (m0, m1) = (media(&whole), media(&pieces));
        assert!(
            !m0.is_empty() && m0.iter().all(|s| s.2 > 50),
            "{name}: {m0:?}"
        );
        assert_eq!(m0, m1, "{name}: the same media from split segments");
        let relay2 = pieces
            .flows
            .iter()
            .find(|f| f.transport == "tcp" && f.protocols.iter().any(|p| p.as_str() == "turn"))
            .expect("still a TURN/TCP flow");
        assert_eq!(relay2.relay_peers, relay.relay_peers, "{name}");
        assert_eq!(relay2.service, relay.service, "{name}");
        assert!(
            relay2
                .evidence
                .iter()
                .any(|e| e.contains("reassembled across segments")),
            "{name}: {:?}",
            relay2.evidence
        );
        eprintln!("{name}: {split} segments cut in three, streams {m1:?}");
    }
}
