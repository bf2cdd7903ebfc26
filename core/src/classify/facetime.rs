//! FaceTime (no nDPI protocol; see docs/classification.md for what could and could not be
//! verified).
//!
//! What is verifiable from public documentation: Apple's "TCP and UDP ports used by Apple
//! software products" lists UDP 3478–3497 and 16384–16387, 16393–16402 for FaceTime media
//! and relays, and FaceTime's signalling names (`*.ess.apple.com`, `facetime.apple.com`) are
//! in Apple's enterprise network guidance. Ports alone are not evidence (3478 is every
//! STUN server's), so this classifier only labels a UDP flow FaceTime when its server address
//! was answered by DNS for a FaceTime name earlier in the capture (DNS answer cache) **and**
//! the flow uses one of those port ranges; the media then is call evidence (medium
//! confidence). Without the DNS lookup in the capture, FaceTime calls stay unlabelled
//! (generic STUN/RTP): a known blind spot.

use super::{App, Scratch};
use super::{Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};

/// Apple's documented FaceTime UDP port ranges.
pub fn facetime_port(p: u16) -> bool {
    (3478..=3497).contains(&p) || (16384..=16387).contains(&p) || (16393..=16402).contains(&p)
}

/// The classifier.
pub struct FaceTime;

impl Classifier for FaceTime {
    type State = ();
    fn id(&self) -> &'static str {
        "facetime"
    }
    fn budget(&self) -> u32 {
        1
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp() && (facetime_port(f.server.port()) || facetime_port(f.client.port()))
    }
    fn inspect(&self, cx: &mut Ctx<'_>, _st: &mut Scratch<()>, p: &Pkt<'_>) -> Outcome {
        let hit = cx
            .caches
            .dns
            .get(&cx.flow.server.ip())
            .is_some_and(|e| e.app == App::FaceTime);
        if hit {
            cx.class.set_app(
                App::FaceTime,
                Confidence::Medium,
                format!(
                    "UDP to a FaceTime port on an address DNS gave for a FaceTime name (frame {})",
                    p.frame
                ),
            );
            cx.class.mark_call("FaceTime media/relay port");
            return Outcome::Match;
        }
        Outcome::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{cache::Caches, FlowInfo, FlowLabels, Pkt};
    use crate::flow::{Dir, Transport};

    #[test]
    fn needs_dns_and_port() {
        let info = FlowInfo {
            id: 3,
            transport: Transport::Udp,
            client: "10.0.0.1:16393".parse().unwrap(),
            server: "17.1.2.3:3480".parse().unwrap(),
        };
        let mut k = Caches::default();
        let mut c = FlowLabels::default();
        let p = Pkt {
            dir: Dir::C2s,
            ts: 5,
            frame: 1,
            payload: &[0, 1],
            src: info.client,
            dst: info.server,
            nth: 1,
        };
        assert!(FaceTime.wants(&info, &c));
        assert_eq!(
            FaceTime.inspect(
                &mut Ctx {
                    flow: info,
                    class: &mut c,
                    caches: &mut k
                },
                &mut Scratch::default(),
                &p
            ),
            Outcome::NoMatch
        );
        k.dns
            .insert("17.1.2.3".parse().unwrap(), App::FaceTime, 1, 0);
        assert_eq!(
            FaceTime.inspect(
                &mut Ctx {
                    flow: info,
                    class: &mut c,
                    caches: &mut k
                },
                &mut Scratch::default(),
                &p
            ),
            Outcome::Match
        );
        assert_eq!(c.app, Some(App::FaceTime));
        assert!(!facetime_port(5060));
    }
}
