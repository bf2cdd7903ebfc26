//! WhatsApp's chat transport over TCP (port 5222 or 443): the client's first bytes are the
//! Noise-pipe prologue `WA` + two version bytes, or `ED 00 01` (the routing prologue that
//! precedes `WA` on newer clients). High confidence; service chat.

use super::{App, Scratch};
use super::{Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use crate::flow::Dir;

/// True when `b` opens a WhatsApp chat connection.
pub fn is_prologue(b: &[u8]) -> bool {
    (matches!(b, [b'W', b'A', maj, min, ..] if *maj <= 9 && *min <= 9))
        || b.starts_with(&[b'E', b'D', 0, 1])
}

/// The classifier.
pub struct WhatsAppTcp;

impl Classifier for WhatsAppTcp {
    type State = ();
    fn id(&self) -> &'static str {
        "whatsapp_tcp"
    }
    fn budget(&self) -> u32 {
        2
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_tcp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, _st: &mut Scratch<()>, p: &Pkt<'_>) -> Outcome {
        if p.dir != Dir::C2s {
            return Outcome::NeedMore;
        }
        if is_prologue(p.payload) {
            cx.class.set_app(
                App::WhatsApp,
                Confidence::High,
                format!("WhatsApp chat prologue in frame {}", p.frame),
            );
            return Outcome::Match;
        }
        Outcome::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prologues() {
        assert!(is_prologue(&[0x45, 0x44, 0x00, 0x01, 0x00, 0x00]));
        assert!(is_prologue(b"WA\x05\x02"));
        assert!(!is_prologue(b"WAX\x02"));
        assert!(!is_prologue(b"ED"));
    }
}
