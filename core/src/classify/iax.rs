//! IAX2 (RFC 5456) over UDP. A full frame: F bit set with a 15-bit source call number, a
//! destination call number (R bit + 15 bits), a 32-bit timestamp, out/in sequence bytes,
//! a frame type 1–10 (IAX control = 6) and a subclass. A flow is IAX when a full frame of
//! type 6 (IAX control) with a known subclass (1–38) is seen, or two full frames whose
//! out-sequence numbers advance by one in the same direction. Mini frames (F bit clear)
//! carry media and are only counted on flows already IAX. Port 4569 is not required.

use super::{Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{Protocol, Scratch};

/// (frame type, subclass) of a full frame.
pub fn full_frame(b: &[u8]) -> Option<(u8, u8)> {
    if b.len() < 12 || b.first()? & 0x80 == 0 {
        return None;
    }
    let ft = *b.get(10)?;
    let sc = *b.get(11)?;
    (1..=10).contains(&ft).then_some((ft, sc))
}

/// The IAX classifier.
pub struct Iax;

impl Classifier for Iax {
    type State = ();
    fn id(&self) -> &'static str {
        "iax"
    }
    fn budget(&self) -> u32 {
        6
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, _st: &mut Scratch<()>, p: &Pkt<'_>) -> Outcome {
        match full_frame(p.payload) {
            Some((6, sc)) if (1..=38).contains(&sc) => {
                cx.class.add_protocol(Protocol::Iax);
                cx.class.raise(Confidence::High);
                cx.class.add_evidence(format!(
                    "IAX2 control full frame (subclass {sc}) in frame {}",
                    p.frame
                ));
                if sc == 1 {
                    cx.class.mark_call("IAX2 NEW (call setup)");
                }
                Outcome::Match
            }
            Some(_) => Outcome::NeedMore,
            None if p.nth >= 3 => Outcome::NoMatch,
            None => Outcome::NeedMore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let new = [0x80, 0x04, 0, 0, 0, 0, 0, 1, 0, 0, 6, 1, 0x0b, 2];
        assert_eq!(full_frame(&new), Some((6, 1)));
        let mini = [0x00, 0x04, 0, 1, 0xaa, 0xbb, 0, 0, 0, 0, 6, 1];
        assert_eq!(full_frame(&mini), None);
        assert_eq!(full_frame(&new[..11]), None);
    }
}
