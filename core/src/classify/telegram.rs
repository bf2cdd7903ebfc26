//! Telegram voice/video calls over UDP.
//! - Relay ("reflector") packets of libtgvoip/tgcalls: a 16-byte peer tag followed by twelve
//!   `0xFF` bytes mark the reflector's special packets (self-info requests, pings). High
//!   confidence, call evidence.
//! - STUN/TURN to Telegram's published address blocks (`apps::RANGES`, from
//!   core.telegram.org/resources/cidr.txt) or with REALM `telegram.org` is handled in
//!   `stun.rs`: a STUN flow whose server is in a Telegram block is a Telegram call
//!   relay (medium confidence: the address is Telegram's, the payload is generic STUN).

use super::{App, Scratch};
use super::{Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};

/// True for a reflector special packet.
///
/// The run of `0xFF` must start exactly at byte 16: when bytes 12..16 are `0xFF` too, the
/// packet is far more likely an RTP packet (12-byte header) whose payload is G.711 µ-law
/// silence (all `0xFF`) than a peer tag ending in four `0xFF` bytes (odds 2^-32).
pub fn reflector_special(b: &[u8]) -> bool {
    b.len() >= 32
        && b.get(16..28).is_some_and(|x| x.iter().all(|c| *c == 0xFF))
        && !b.get(12..16).is_some_and(|x| x.iter().all(|c| *c == 0xFF))
}

/// The classifier.
pub struct Telegram;

impl Classifier for Telegram {
    type State = ();
    fn id(&self) -> &'static str {
        "telegram"
    }
    fn budget(&self) -> u32 {
        8
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, _st: &mut Scratch<()>, p: &Pkt<'_>) -> Outcome {
        if reflector_special(p.payload) {
            cx.class.set_app(
                App::Telegram,
                Confidence::High,
                format!("Telegram reflector packet (frame {})", p.frame),
            );
            cx.class.mark_call("Telegram call relay");
            return Outcome::Match;
        }
        Outcome::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflector() {
        let mut b = vec![0x11; 16];
        b.extend_from_slice(&[0xFF; 12]);
        b.extend_from_slice(&[1, 2, 3, 4]);
        assert!(reflector_special(&b));
        b[20] = 0;
        assert!(!reflector_special(&b));
        assert!(!reflector_special(&[0xFF; 20]));
    }

    #[test]
    fn pcmu_silence_rtp_is_not_a_reflector_packet() {
        // RTP v2, PT 0 (PCMU), seq 7, ts 160, SSRC 0x01020304, then 160 bytes of µ-law silence.
        let mut b = vec![0x80, 0x00, 0x00, 0x07, 0, 0, 0, 160, 1, 2, 3, 4];
        b.extend_from_slice(&[0xFF; 160]);
        assert!(!reflector_special(&b));
    }
}
