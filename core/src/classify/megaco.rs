//! Megaco/H.248 (RFC 3525, ITU-T H.248.1) text encoding: a message starts with `MEGACO/1`
//! or the short form `!/1` followed by a space and the sender's mId (`[ip]:port` or
//! `<domain>`), over UDP or TCP (ports 2944/2945 by convention, any accepted).
//! The binary (ASN.1) encoding is not recognised.

use super::{starts_with_ci, Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{Protocol, Scratch};

/// True when `b` starts a text Megaco message.
pub fn is_megaco(b: &[u8]) -> bool {
    let rest = if starts_with_ci(b, b"MEGACO/") {
        b.get(7..)
    } else if b.starts_with(b"!/") {
        b.get(2..)
    } else {
        None
    };
    match rest {
        Some(r) => {
            r.first().is_some_and(u8::is_ascii_digit)
                && matches!(r.get(1), Some(b' ' | b'\t'))
                && matches!(r.get(2), Some(b'[' | b'<'))
        }
        None => false,
    }
}

/// The Megaco classifier.
pub struct Megaco;

impl Classifier for Megaco {
    type State = ();
    fn id(&self) -> &'static str {
        "megaco"
    }
    fn budget(&self) -> u32 {
        4
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp() || f.is_tcp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, _st: &mut Scratch<()>, p: &Pkt<'_>) -> Outcome {
        if is_megaco(p.payload) {
            cx.class.add_protocol(Protocol::Megaco);
            cx.class.raise(Confidence::High);
            cx.class
                .add_evidence(format!("Megaco text header in frame {}", p.frame));
            return Outcome::Match;
        }
        Outcome::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert!(is_megaco(
            b"MEGACO/1 [124.124.124.222]:55555\nTransaction = 9998 {"
        ));
        assert!(is_megaco(b"!/1 <mg1.example.net>\n"));
        assert!(!is_megaco(b"MEGACO/x [1.2.3.4]"));
        assert!(!is_megaco(b"!/"));
    }
}
