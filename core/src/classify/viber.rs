//! Viber calls over UDP: Viber documents UDP 7985 and 7987 for calls. Its datagrams carry a
//! 2-byte session tag, a type byte and a zero byte (`tag tag type 00`), the tag identical in
//! both directions. The port alone is not enough: two datagrams with the same tag and the
//! zero fourth byte on those ports are required (medium confidence, call evidence).
//! Viber chat over TCP (documented ports 4244, 5242, 5243): each message starts with its own
//! length as a little-endian 16-bit integer; the client's first segment being exactly one
//! such message on those ports gives Viber (medium confidence, chat).
//! STUN with REALM `viber` is handled in `stun.rs`.

use super::{App, Scratch};
use super::{Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};

/// Per-flow state: the first call datagram's two tag bytes.
#[derive(Debug, Default)]
pub struct ViberState {
    tag: Option<(u8, u8)>,
}

/// The classifier.
pub struct Viber;

impl Classifier for Viber {
    type State = ViberState;
    fn id(&self) -> &'static str {
        "viber"
    }
    fn budget(&self) -> u32 {
        6
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        (f.is_udp() && (f.has_port(7985) || f.has_port(7987)))
            || (f.is_tcp()
                && (f.server.port() == 4244 || f.server.port() == 5242 || f.server.port() == 5243))
    }
    fn inspect(&self, cx: &mut Ctx<'_>, st: &mut Scratch<ViberState>, p: &Pkt<'_>) -> Outcome {
        let b = p.payload;
        if cx.flow.is_tcp() {
            if p.dir != crate::flow::Dir::C2s {
                return Outcome::NeedMore;
            }
            let len = crate::wire::array(b, 0).map(|x| usize::from(u16::from_le_bytes(x)));
            if len == Some(b.len()) && b.len() >= 16 {
                cx.class.set_app(
                    App::Viber,
                    Confidence::Medium,
                    format!("Viber chat framing on its TCP port (frame {})", p.frame),
                );
                return Outcome::Match;
            }
            return Outcome::NoMatch;
        }
        if b.len() < 12 || b.get(3) != Some(&0) {
            return Outcome::NoMatch;
        }
        let Some([t0, t1]) = crate::wire::array::<2>(b, 0) else {
            return Outcome::NoMatch;
        };
        let tag = (t0, t1);
        let st = st.or_default();
        match st.tag {
            None => {
                st.tag = Some(tag);
                return Outcome::NeedMore;
            }
            Some(t) if t != tag => return Outcome::NoMatch,
            Some(_) => {}
        }
        cx.class.set_app(
            App::Viber,
            Confidence::Medium,
            format!("Viber call framing on UDP 7985/7987 (frame {})", p.frame),
        );
        cx.class.mark_call("Viber call media");
        Outcome::Match
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{cache::Caches, FlowInfo, FlowLabels};
    use crate::flow::Transport;

    #[test]
    fn two_tagged_datagrams() {
        let info = FlowInfo {
            id: 0,
            transport: Transport::Udp,
            client: "10.0.0.1:47171".parse().unwrap(),
            server: "18.0.0.1:7985".parse().unwrap(),
        };
        let mut c = FlowLabels::default();
        let mut st = Scratch::default();
        let mut k = Caches::default();
        let a = [
            0xed, 0xf6, 0x01, 0x00, 0x05, 0x00, 0xac, 0x19, 0x35, 0x8c, 0x8f, 0x64, 0xe4, 0x47,
            0x07, 0xae, 0x27, 0x54, 0x11, 0x00,
        ];
        let mut b = a;
        b[2] = 0x0c;
        assert!(Viber.wants(&info, &c));
        for (i, x) in [a, b].iter().enumerate() {
            crate::classify::tests::inspect_c2s(
                &Viber,
                info,
                &mut c,
                &mut st,
                &mut k,
                x,
                i as u32 + 1,
            );
        }
        assert_eq!(c.app, Some(App::Viber));
        let mut other = a;
        other[3] = 1;
        let mut c2 = FlowLabels::default();
        assert_eq!(
            crate::classify::tests::inspect_c2s(
                &Viber,
                info,
                &mut c2,
                &mut Scratch::default(),
                &mut k,
                &other,
                1
            ),
            Outcome::NoMatch
        );
    }
}
