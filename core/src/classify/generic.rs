//! Calls of an app voipwatch does not recognise: the generic ids `webrtc` and `voip`.
//!
//! Run once per flow at the end of the capture (after the RTP streams are final), only on
//! flows that no rule gave an app. The facts that make a call, in the order tried:
//!
//! 1. **WebRTC** (`webrtc`), on a flow carrying STUN or DTLS (RFC 7983 demultiplexing):
//!    - RTP/SRTP with [call cadence](has_cadence) in **both** directions, or
//!    - ICE: a STUN Binding request answered by a success response with the same transaction
//!      id in the other direction (RFC 8445 §7.2), **and** a DTLS handshake on the flow
//!      (DTLS-SRTP keying, RFC 5763), **and** SRTP with call cadence sent by the flow's
//!      originator (the side that sent first: the user's host on an ICE-lite server path and
//!      the controlling agent on a P2P path). One-way media from the originator is what a
//!      call whose download is blocked looks like; one-way media *to* the originator is
//!      cloud gaming or a broadcast, not a call.
//!    - or **TURN over TLS** (RFC 8656 §3.1, `turns:`): a TCP flow to the IANA `turns` port
//!      5349 (RFC 7065 §3) whose TLS handshake was seen and whose data then flowed both ways
//!      at call cadence for ≥ [`TURN_TLS_MIN_SECS`]: ≥ [`CADENCE_MIN_RATE`] packets/s each way,
//!      ≥ [`TURN_TLS_MIN_PAYLOAD`] bytes of payload per packet on average each way (records,
//!      not bare ACKs) and ≤ [`TURN_TLS_MAX_PAYLOAD`] (voice/video-call sized, not bulk).
//!      The media is encrypted inside TLS, so no RTP is measured: the call is found, its
//!      timing and rate are known, its loss, jitter and MOS are not.
//! 2. **VoIP** (`voip`), on a flow without STUN and DTLS: plain RTP (already call evidence:
//!    SIP/H.323/MGCP telephony whose signalling is not in the capture, `finalize_service`),
//!    or call signalling that names no app (H.225 Setup, MGCP CRCX, IAX2 NEW).
//!
//! Not calls: STUN alone (NAT discovery, consent checks), DTLS alone (VPNs such as
//! AnyConnect, DTLS data channels), STUN + DTLS without RTP (WebRTC data channels, lab
//! `webrtc_datachannel`), SRTP only towards the originator (cloud gaming video). Each call
//! gets an evidence line listing the facts that made it one.
//!
//! Known false positives: any interactive two-way TLS session on port 5349 (a TURN/TLS data
//! channel carrying a game or a chat at ≥ 8 packets/s both ways) is counted as a call;
//! a cloud-gaming or streaming session whose user also sends voice
//! chat upstream over SRTP (it is a voice call of sorts); two unknown WebRTC apps used at once
//! by one host within [`JOIN_GAP_NS`](super::calls::JOIN_GAP_NS) are grouped as one call.

use super::{Confidence, FlowLabels, Protocol, RtpStats};
use crate::flow::{Flow, Transport};
use crate::model::App;

/// Least RTP packets of a stream with call cadence.
pub const CADENCE_MIN_PACKETS: u64 = 10;
/// Least duration (s) of a stream with call cadence.
pub const CADENCE_MIN_SECS: f64 = 0.2;
/// Least mean packet rate (packets/s): voice codecs send every 10–60 ms (17–100/s), video
/// more; comfort noise alone (PT 13, every ~100 ms–1 s) stays below.
pub const CADENCE_MIN_RATE: f64 = 8.0;

/// True when a stream looks like live media: ≥ [`CADENCE_MIN_PACKETS`] packets over
/// ≥ [`CADENCE_MIN_SECS`] at ≥ [`CADENCE_MIN_RATE`] packets/s on average.
pub fn has_cadence(s: &RtpStats) -> bool {
    let dur = s.last_ts - s.first_ts;
    s.packets >= CADENCE_MIN_PACKETS
        && dur >= CADENCE_MIN_SECS
        && s.packets as f64 / dur >= CADENCE_MIN_RATE
}

/// Packets of the streams with call cadence in direction `dir` ("c2s"/"s2c").
fn cadence_packets(c: &FlowLabels, dir: &str) -> u64 {
    c.rtp
        .iter()
        .filter(|s| s.dir == dir && has_cadence(s))
        .map(|s| s.packets)
        .sum()
}

/// The IANA port of TURN over TLS (`turns`, RFC 7065 §3).
pub const TURNS_PORT: u16 = 5349;
/// Least duration (s) of a TURN/TLS flow with call cadence.
pub const TURN_TLS_MIN_SECS: f64 = 2.0;
/// Least mean TCP payload per packet (bytes), each way: records, not bare ACKs.
pub const TURN_TLS_MIN_PAYLOAD: u64 = 30;
/// Most mean TCP payload per packet (bytes), each way: call media, not a bulk transfer.
pub const TURN_TLS_MAX_PAYLOAD: u64 = 700;

/// Why a TCP flow is a call relayed over TURN/TLS (see the module doc), if it is one.
fn turn_tls_call(flow: &Flow, c: &FlowLabels) -> Option<String> {
    // ALPN `stun.turn` (RFC 7443) names a TURN/TLS connection on any port; without it the
    // IANA `turns` port does.
    let alpn = c.has_protocol(Protocol::Turn);
    if flow.transport != Transport::Tcp
        || !(alpn || flow.server.port() == TURNS_PORT)
        || !c.has_protocol(Protocol::Tls)
    {
        return None;
    }
    let span = flow.last_ts.saturating_sub(flow.first_ts) as f64 / 1e9;
    if span < TURN_TLS_MIN_SECS {
        return None;
    }
    let mut rates = [0.0f64; 2];
    for (d, r) in flow.dir.iter().zip(rates.iter_mut()) {
        let mean = d.payload_bytes.checked_div(d.packets)?;
        *r = d.packets as f64 / span;
        if *r < CADENCE_MIN_RATE || !(TURN_TLS_MIN_PAYLOAD..=TURN_TLS_MAX_PAYLOAD).contains(&mean) {
            return None;
        }
    }
    let [up, down] = rates;
    let how = if alpn {
        "ALPN stun.turn".to_string()
    } else {
        format!("port {TURNS_PORT}")
    };
    Some(format!(
        "TURN over TLS ({how}): records both ways at call cadence ({up:.0} and \
         {down:.0} packets/s over {span:.1} s); the media inside TLS is not measured"
    ))
}

/// Frames of the first STUN Binding request answered by a success response (same
/// transaction id, other direction).
pub fn ice_check_answered(c: &FlowLabels) -> Option<(u64, u64)> {
    let stun = &c.tx.stun;
    stun.iter()
        .filter(|r| r.method == 0x001 && r.class == 0)
        .find_map(|req| {
            stun.iter()
                .find(|a| {
                    a.method == 0x001
                        && a.class == 2
                        && a.txid == req.txid
                        && a.at.dir != req.at.dir
                })
                .map(|a| (req.at.frame, a.at.frame))
        })
}

/// Gives a call of no known app its generic id (see the module doc). Call on every flow
/// once its RTP streams are final, before `service` is set.
pub fn label(flow: &Flow, c: &mut FlowLabels) {
    if c.app.is_some() {
        return;
    }
    if let Some(why) = turn_tls_call(flow, c) {
        c.set_app(
            App::WebRtc,
            Confidence::Low,
            "WebRTC call of an unknown app (relayed over TURN/TLS)",
        );
        c.mark_call(format!("WebRTC call: {why}"));
        return;
    }
    let webrtc = c.has_protocol(Protocol::Stun) || c.has_protocol(Protocol::Dtls);
    if webrtc {
        let (up, down) = (cadence_packets(c, "c2s"), cadence_packets(c, "s2c"));
        let ice = ice_check_answered(c);
        let dtls = c.has_protocol(Protocol::Dtls);
        let why = if up > 0 && down > 0 {
            let mut w = format!("RTP/SRTP both ways ({up} and {down} packets at call cadence)");
            if let Some((q, a)) = ice {
                w.push_str(&format!(", ICE check frame {q} answered in frame {a}"));
            }
            if dtls {
                w.push_str(", DTLS-SRTP handshake");
            }
            w
        } else if let (Some((q, a)), true, true) = (ice, dtls, up > 0) {
            format!(
                "ICE check frame {q} answered in frame {a}, DTLS-SRTP handshake, SRTP from the \
                 originator ({up} packets at call cadence)"
            )
        } else {
            return;
        };
        c.set_app(
            App::WebRtc,
            Confidence::Medium,
            "WebRTC call of an unknown app",
        );
        c.mark_call(format!("WebRTC call: {why}"));
        return;
    }
    let plain_rtp = c.rtp_media;
    if plain_rtp || c.call {
        let why = if plain_rtp {
            "plain RTP media without STUN/DTLS"
        } else {
            "call signalling that names no app"
        };
        c.set_app(App::Voip, Confidence::Medium, format!("VoIP call: {why}"));
        if plain_rtp && !c.call {
            c.mark_call("RTP media stream");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Dir;
    use crate::label::LabeledFlow;
    use crate::model::Service;
    use crate::testkit::flows::through_engine;

    const MS: i64 = 1_000_000;

    fn binding(class: u16, id: u8) -> Vec<u8> {
        let t: u16 = 0x0001 | if class == 2 { 0x0100 } else { 0 };
        let mut v = t.to_be_bytes().to_vec();
        v.extend_from_slice(&[0, 0, 0x21, 0x12, 0xa4, 0x42]);
        v.extend_from_slice(&[id; 12]);
        v
    }

    fn dtls() -> Vec<u8> {
        // A DTLS 1.2 handshake record (ClientHello type) tiling the datagram.
        vec![22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    }

    fn srtp(seq: u16, ssrc: u32) -> Vec<u8> {
        let mut v = vec![0x80, 111];
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
        v.extend_from_slice(&ssrc.to_be_bytes());
        v.extend_from_slice(&[0x5a; 80]);
        v
    }

    /// ICE answered, DTLS, then `n` SRTP packets every 20 ms from the client and/or server.
    fn session(up: bool, down: bool, n: u16) -> Vec<(Dir, i64, Vec<u8>)> {
        let mut p = vec![
            (Dir::C2s, 0, binding(0, 7)),
            (Dir::S2c, MS, binding(2, 7)),
            (Dir::C2s, 2 * MS, dtls()),
            (Dir::S2c, 3 * MS, dtls()),
        ];
        for i in 0..n {
            let t = 10 * MS + i64::from(i) * 20 * MS;
            if up {
                p.push((Dir::C2s, t, srtp(i, 0x1111)));
            }
            if down {
                p.push((Dir::S2c, t + MS, srtp(i, 0x2222)));
            }
        }
        p
    }

    fn run(p: &[(Dir, i64, Vec<u8>)]) -> FlowLabels {
        let pk: Vec<(Dir, i64, &[u8])> = p.iter().map(|(d, t, b)| (*d, *t, b.as_slice())).collect();
        through_engine("192.168.1.2:50000", "198.51.100.9:3478", &pk)
            .into_iter()
            .next()
            .map(|f| f.class)
            .unwrap_or_default()
    }

    /// A TCP flow to `port` over 5 s with (packets, payload bytes) per direction.
    fn tcp_flow(port: u16, up: (u64, u64), down: (u64, u64), tls: bool) -> LabeledFlow {
        let mut f = crate::testkit::flows::flow(
            0,
            Transport::Tcp,
            "192.168.1.2:40000",
            &format!("198.51.100.4:{port}"),
        );
        f.flow.last_ts = 5_000 * MS;
        f.flow.dir[0].packets = up.0;
        f.flow.dir[0].payload_bytes = up.1;
        f.flow.dir[1].packets = down.0;
        f.flow.dir[1].payload_bytes = down.1;
        if tls {
            f.class.add_protocol(Protocol::Tls);
        }
        f
    }

    #[test]
    fn turn_over_tls_at_call_cadence_is_a_call() {
        // aiortc through coturn over TLS (lab webrtc_call_turn_tls): ~50 records/s each way.
        let mut f = tcp_flow(TURNS_PORT, (250, 32_000), (250, 32_000), true);
        label(&f.flow, &mut f.class);
        assert_eq!(f.class.app, Some(App::WebRtc));
        assert_eq!(f.class.service, Service::Call);
        assert!(f.class.evidence.iter().any(|e| e.contains("TURN over TLS")));
    }

    /// Issue 11: ALPN `stun.turn` (RFC 7443) makes TURN/TLS on port 443 a relay connection.
    #[test]
    fn alpn_stun_turn_marks_turn_over_tls_on_any_port() {
        let mut f = tcp_flow(443, (250, 32_000), (250, 32_000), true);
        crate::classify::tls::apply_alpn(&mut f.class, &["stun.turn".to_string()], 4);
        label(&f.flow, &mut f.class);
        assert_eq!(f.class.service, Service::Call);
        assert!(f
            .class
            .evidence
            .iter()
            .any(|e| e.contains("TURN over TLS (ALPN stun.turn)")));
    }

    #[test]
    fn turn_tls_port_without_call_cadence_or_tls_is_not_a_call() {
        // A bulk download (ACKs up), a quiet session, another port, no TLS seen.
        for (port, up, down, tls) in [
            (TURNS_PORT, (900, 0), (1800, 2_500_000), true),
            (TURNS_PORT, (20, 3_000), (20, 3_000), true),
            (443, (250, 32_000), (250, 32_000), true),
            (TURNS_PORT, (250, 32_000), (250, 32_000), false),
        ] {
            let mut f = tcp_flow(port, up, down, tls);
            label(&f.flow, &mut f.class);
            assert_ne!(
                f.class.service,
                Service::Call,
                "{port} {up:?} {down:?} {tls}"
            );
        }
    }

    #[test]
    fn ice_dtls_srtp_both_ways_is_a_webrtc_call() {
        let c = run(&session(true, true, 50));
        assert_eq!(c.app, Some(App::WebRtc));
        assert_eq!(c.service, Service::Call);
        assert!(c.evidence.iter().any(|e| e.contains("RTP/SRTP both ways")
            && e.contains("ICE check frame 1 answered in frame 2")));
    }

    #[test]
    fn srtp_from_the_originator_only_is_a_call_with_one_way_media() {
        let c = run(&session(true, false, 50));
        assert_eq!(c.app, Some(App::WebRtc));
        assert_eq!(c.service, Service::Call);
    }

    #[test]
    fn srtp_towards_the_originator_only_is_not_a_call() {
        // Cloud gaming: ICE, DTLS, video down, nothing up.
        let c = run(&session(false, true, 50));
        assert_eq!(c.app, None);
        assert_ne!(c.service, Service::Call);
    }

    #[test]
    fn stun_and_dtls_without_media_is_not_a_call() {
        let c = run(&session(false, false, 0));
        assert_eq!(c.app, None);
        assert_ne!(c.service, Service::Call);
    }

    #[test]
    fn a_few_srtp_packets_lack_cadence() {
        let c = run(&session(true, true, 5));
        assert_eq!(c.app, None);
        assert_ne!(c.service, Service::Call);
    }

    #[test]
    fn plain_rtp_is_a_voip_call() {
        let mut p = Vec::new();
        for i in 0..30u16 {
            p.push((Dir::C2s, i64::from(i) * 20 * MS, srtp(i, 9)));
        }
        let c = run(&p);
        assert_eq!(c.app, Some(App::Voip));
        assert_eq!(c.service, Service::Call);
    }

    /// A ChannelBind request (XOR-PEER-ADDRESS 203.0.113.5:40000, channel 0x4001).
    fn channel_bind() -> Vec<u8> {
        let mut attrs = vec![0x00, 0x0c, 0x00, 0x04, 0x40, 0x01, 0, 0];
        attrs.extend_from_slice(&[0x00, 0x12, 0x00, 0x08, 0x00, 0x01]);
        attrs.extend_from_slice(&(40000u16 ^ 0x2112).to_be_bytes());
        attrs
            .extend_from_slice(&(u32::from_be_bytes([203, 0, 113, 5]) ^ 0x2112_A442).to_be_bytes());
        let mut v = vec![0x00, 0x09];
        v.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        v.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        v.extend_from_slice(&[3; 12]);
        v.extend_from_slice(&attrs);
        v
    }

    fn channel_data(inner: &[u8]) -> Vec<u8> {
        let mut v = vec![0x40, 0x01];
        v.extend_from_slice(&(inner.len() as u16).to_be_bytes());
        v.extend_from_slice(inner);
        v
    }

    #[test]
    fn srtp_relayed_in_channel_data_is_measured_and_a_call() {
        let mut p = vec![(Dir::C2s, 0, channel_bind())];
        for i in 0..50u16 {
            let t = 10 * MS + i64::from(i) * 20 * MS;
            p.push((Dir::C2s, t, channel_data(&srtp(i, 0x1111))));
            p.push((Dir::S2c, t + MS, channel_data(&srtp(i, 0x2222))));
        }
        let c = run(&p);
        assert_eq!(c.app, Some(App::WebRtc));
        assert_eq!(c.service, Service::Call);
        assert!(c.has_protocol(Protocol::Turn) && c.has_protocol(Protocol::Srtp));
        assert_eq!(c.rtp.len(), 2);
        assert!(c.rtp.iter().all(|s| s.packets == 50 && s.lost == 0));
        assert_eq!(
            c.relay_peers.to_vec(),
            vec!["203.0.113.5:40000".parse().unwrap()]
        );
        assert_eq!(c.relayed, 100);
    }

    #[test]
    fn cadence_needs_packets_duration_and_rate() {
        let s = |packets, first_ts, last_ts| RtpStats {
            packets,
            first_ts,
            last_ts,
            ..Default::default()
        };
        assert!(has_cadence(&s(50, 0.0, 1.0)));
        assert!(!has_cadence(&s(9, 0.0, 1.0)));
        assert!(!has_cadence(&s(50, 0.0, 0.1)));
        assert!(!has_cadence(&s(20, 0.0, 10.0)));
    }
}
