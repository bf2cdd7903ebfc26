//! Discord voice over UDP.
//! - IP discovery (Discord developer docs, "Voice connections: IP discovery"): a 74-byte
//!   datagram, type `0x0001` (request) or `0x0002` (response), length `0x0046` (70), then the
//!   SSRC, an address field and a port. High confidence; it precedes voice media.
//! - The voice server's keepalive `13 37 ca fe` + 4 bytes (8-byte datagram… or 16 with
//!   padding) sent to the voice port. High confidence for the app; not call evidence alone
//!   (clients send it to several voice regions at once to measure latency).
//!
//! Media that follows is RTP (Opus PT 120) labelled by `rtp.rs`; the flow's app stays Discord.

use super::{be32, Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{App, Scratch};

/// True for an IP-discovery request/response.
pub fn ip_discovery(b: &[u8]) -> bool {
    b.len() == 74 && matches!(be32(b, 0), Some(0x0001_0046 | 0x0002_0046))
}

/// True for the 0x1337cafe keepalive.
pub fn keepalive(b: &[u8]) -> bool {
    (b.len() == 8 || b.len() == 16) && be32(b, 0) == Some(0x1337_cafe)
}

/// The classifier.
pub struct Discord;

impl Classifier for Discord {
    type State = ();
    fn id(&self) -> &'static str {
        "discord"
    }
    fn budget(&self) -> u32 {
        6
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, _st: &mut Scratch<()>, p: &Pkt<'_>) -> Outcome {
        let b = p.payload;
        let what = if ip_discovery(b) {
            "Discord voice IP discovery (74 bytes, type 1/2, length 70)"
        } else if keepalive(b) {
            "Discord voice keepalive 0x1337cafe"
        } else {
            return Outcome::NeedMore;
        };
        cx.class.set_app(
            App::Discord,
            Confidence::High,
            format!("{what}, frame {}", p.frame),
        );
        if ip_discovery(b) {
            // Sent when joining a voice channel. The keepalive alone is also the client's
            // latency probe of several voice regions at once: not a call by itself.
            cx.class
                .mark_call("Discord voice connection (IP discovery)");
            return Outcome::Match;
        }
        Outcome::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_and_keepalive() {
        let mut d = vec![0x00, 0x01, 0x00, 0x46, 0x00, 0x00, 0xac, 0xe3];
        d.resize(74, 0);
        assert!(ip_discovery(&d));
        assert!(!ip_discovery(&d[..73]));
        assert!(keepalive(&[
            0x13, 0x37, 0xca, 0xfe, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]));
        assert!(!keepalive(&[0x13, 0x37, 0xca, 0xfe, 0x0e]));
    }
}
