//! Zoom's own UDP media framing (multimedia router "SFU" traffic and P2P).
//!
//! SFU: Zoom clients send media to multimedia routers on UDP 8801–8810 (Zoom's firewall
//! guidance). Each datagram starts with a Zoom type byte: 1–4 for the connection handshake
//! (type 1 from the client is answered by type 2, then 3/4) and 5 for media, whose second
//! byte is the inner media type (0x0d/0x0e/0x0f/0x10/0x1e/0x21/0x22 and neighbours: audio,
//! video, screen share, RTCP-like reports). Both the port range and the framing are required
//! (medium confidence); two framed datagrams confirm. Media (type 5) is call evidence.
//! Reference: Michel et al., "Enabling Passive Measurement of Zoom Performance in Production
//! Networks", IMC 2022 (the header layout).
//! P2P: datagrams starting `1f 01`/`1f 02` with a 2-byte length-like field, after Zoom's
//! cookie-less STUN (`stun.rs`) from the same socket; the STUN endpoint cache labels them.

use super::{App, Scratch};
use super::{Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};

/// True when `b` looks like a Zoom SFU datagram.
pub fn sfu_frame(b: &[u8]) -> bool {
    match b.first() {
        Some(1..=4) => b.len() >= 12,
        Some(5) => b.len() >= 8 && b.get(1).is_some_and(|t| (1..=0x40).contains(t)),
        _ => false,
    }
}

/// True when `b` looks like Zoom's P2P framing.
pub fn p2p_frame(b: &[u8]) -> bool {
    b.len() >= 24
        && b.first() == Some(&0x1f)
        && matches!(b.get(1), Some(1 | 2))
        && b.get(2) == Some(&1)
}

/// Per-flow state: Zoom-framed datagrams seen.
#[derive(Debug, Default)]
pub struct ZoomState {
    frames: u8,
}

/// The classifier.
pub struct Zoom;

impl Classifier for Zoom {
    type State = ZoomState;
    fn id(&self) -> &'static str {
        "zoom"
    }
    fn budget(&self) -> u32 {
        8
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, st: &mut Scratch<ZoomState>, p: &Pkt<'_>) -> Outcome {
        let b = p.payload;
        let sfu_port = cx.flow.server.port() >= 8801 && cx.flow.server.port() <= 8810;
        let ok = (sfu_port && sfu_frame(b)) || p2p_frame(b);
        if !ok {
            return if p.nth >= 3 {
                Outcome::NoMatch
            } else {
                Outcome::NeedMore
            };
        }
        let n = &mut st.or_default().frames;
        *n = n.saturating_add(1);
        if *n >= 2 {
            let what = if sfu_port {
                "Zoom SFU framing on UDP 8801-8810"
            } else {
                "Zoom P2P framing"
            };
            cx.class.set_app(
                App::Zoom,
                Confidence::Medium,
                format!("{what} (frame {})", p.frame),
            );
            cx.class.mark_call("Zoom media framing");
            return Outcome::Match;
        }
        Outcome::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let hs = [
            0x01, 0x00, 0x02, 0x7d, 0x46, 0x4d, 0x35, 0xff, 0xfd, 0xa2, 0x34, 0x49,
        ];
        assert!(sfu_frame(&hs));
        assert!(sfu_frame(&[0x05, 0x0c, 1, 0x21, 0x8e, 0x9c, 0x39, 0x28]));
        assert!(!sfu_frame(&[0x05, 0x00, 1, 0x21, 0x8e, 0x9c, 0x39, 0x28]));
        assert!(!sfu_frame(&[0x80, 0x0c, 1, 0x21, 0x8e, 0x9c, 0x39, 0x28]));
        let mut p = vec![0x1f, 0x02, 0x01, 0x00, 0x08, 0x00, 0x01, 0x00];
        p.resize(40, 0);
        assert!(p2p_frame(&p));
        assert!(!p2p_frame(&p[..20]));
    }
}
