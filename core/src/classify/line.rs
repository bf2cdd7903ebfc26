//! LINE calls over UDP. LINE's media datagrams use an RTP-like header whose version bits
//! are `11` (first byte 0xC0–0xFF) with a 16-bit sequence number at bytes 2–3 that advances
//! by 1–4 per datagram in each direction; standard RTP (version 2) never has those bits, so
//! three such datagrams in one direction are taken as LINE media (medium confidence, call
//! evidence). Derived from LINE call traffic (nDPI's line.pcap), not from LINE documentation:
//! a blind spot if LINE changes its framing. LINE's chat and web traffic are named by SNI/Host
//! (`apps.rs`).

use super::{be16, Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{App, Scratch};

/// Per-flow state of the sequence check.
#[derive(Debug, Default)]
pub struct LineState {
    /// Low byte of the last sequence number, per direction.
    last: [u8; 2],
    /// Bit per direction: `last` is set.
    seen: u8,
    /// In-order steps seen.
    steps: u8,
}

/// The classifier.
pub struct Line;

impl Classifier for Line {
    type State = LineState;
    fn id(&self) -> &'static str {
        "line"
    }
    fn budget(&self) -> u32 {
        10
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, st: &mut Scratch<LineState>, p: &Pkt<'_>) -> Outcome {
        let b = p.payload;
        let Some(seq) = be16(b, 2) else {
            return Outcome::NoMatch;
        };
        if b.len() < 24 || b.first().is_none_or(|x| x & 0xC0 != 0xC0) {
            // RTCP-like (0x80) datagrams are interleaved; anything else ends the check.
            return if b.first().is_some_and(|x| x & 0xC0 == 0x80) {
                Outcome::NeedMore
            } else {
                Outcome::NoMatch
            };
        }
        let st = st.or_default();
        let d = p.dir.idx();
        let lo = (seq & 0xFF) as u8;
        let last = st.last.get(d).copied().unwrap_or(0);
        if st.seen & (1 << d) != 0 && (1..=4).contains(&lo.wrapping_sub(last)) {
            st.steps = st.steps.saturating_add(1);
        }
        if let Some(l) = st.last.get_mut(d) {
            *l = lo;
        }
        st.seen |= 1 << d;
        if st.steps >= 2 {
            cx.class.set_app(
                App::Line,
                Confidence::Medium,
                format!("LINE call framing (frame {})", p.frame),
            );
            cx.class.mark_call("LINE call media");
            return Outcome::Match;
        }
        Outcome::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{cache::Caches, FlowInfo, FlowLabels};
    use crate::flow::Transport;

    #[test]
    fn three_in_sequence() {
        let info = FlowInfo {
            id: 0,
            transport: Transport::Udp,
            client: "10.0.0.1:50835".parse().unwrap(),
            server: "125.0.0.1:20610".parse().unwrap(),
        };
        let mut c = FlowLabels::default();
        let mut st = Scratch::default();
        let mut k = Caches::default();
        for s in [0xb9u8, 0xba, 0xbb] {
            let mut b = vec![0xdb, 0x64, 0x00, s, 0x06, 0x02];
            b.resize(40, 0x5a);
            crate::classify::tests::inspect_c2s(&Line, info, &mut c, &mut st, &mut k, &b, 1);
        }
        assert_eq!(c.app, Some(App::Line));
        // Version-2 RTP never matches.
        let mut c2 = FlowLabels::default();
        let mut st2 = Scratch::default();
        for s in [1u8, 2, 3, 4] {
            let mut b = vec![0x80, 0x00, 0x00, s];
            b.resize(40, 0);
            crate::classify::tests::inspect_c2s(&Line, info, &mut c2, &mut st2, &mut k, &b, 1);
        }
        assert_eq!(c2.app, None);
    }
}
