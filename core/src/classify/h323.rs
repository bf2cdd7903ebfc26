//! H.323: Q.931/H.225 call signalling in TPKT (RFC 1006) over TCP, H.245 in TPKT, and
//! H.225 RAS over UDP.
//!
//! TPKT: version 3, reserved 0, a length that covers the segment (or more segments).
//! With a Q.931 protocol discriminator (0x08) after it the flow is H.225 call signalling
//! (high confidence; a Setup message, type 0x05, is call evidence). Other TPKT payloads
//! are accepted as H.245 when they contain the H.225/H.245 object identifier prefix
//! `00 08 91 4a` (itu-t recommendation h 2250), or when a TPKT exactly filling the segment
//! runs between two hosts that already had an H.225 call flow (the H.245 channel is opened
//! on a port H.225 negotiated; medium confidence).
//! RAS over UDP: the same OID prefix within the first 16 bytes of a datagram.
//! Known false positives: other ISO-on-TCP users (RDP, S7comm) share TPKT; they are only
//! labelled when the Q.931 discriminator or the H.225 OID is present.

use super::{be16, Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{Protocol, Scratch};

const OID: &[u8] = &[0x00, 0x08, 0x91, 0x4a];

fn has_oid(b: &[u8], within: usize) -> bool {
    b.get(..within.min(b.len()))
        .is_some_and(|w| w.windows(4).any(|x| x == OID))
}

/// The flow's two host addresses, ordered.
fn pair(f: &FlowInfo) -> (std::net::IpAddr, std::net::IpAddr) {
    let (a, b) = (f.client.ip(), f.server.ip());
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// TPKT header check: returns the payload after it.
pub fn tpkt(b: &[u8]) -> Option<&[u8]> {
    if b.first() != Some(&3) || b.get(1) != Some(&0) {
        return None;
    }
    let l = usize::from(be16(b, 2)?);
    if l < 7 || (l > b.len() && b.len() < 1400) {
        return None;
    }
    b.get(4..l.min(b.len()))
}

/// The H.323 classifier.
pub struct H323;

impl Classifier for H323 {
    type State = ();
    fn id(&self) -> &'static str {
        "h323"
    }
    fn budget(&self) -> u32 {
        8
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_tcp() || f.is_udp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, _st: &mut Scratch<()>, p: &Pkt<'_>) -> Outcome {
        let b = p.payload;
        let hit = if cx.flow.is_tcp() {
            match tpkt(b) {
                Some(q) if q.first() == Some(&0x08) => {
                    // Q.931: discriminator, call reference length, reference, message type.
                    let crl = usize::from(q.get(1).copied().unwrap_or(0) & 0x0F);
                    if q.get(2 + crl) == Some(&0x05) {
                        cx.class
                            .mark_call(format!("H.225 Setup in frame {}", p.frame));
                    }
                    if cx.caches.h323_hosts.len() < 4096 {
                        cx.caches.h323_hosts.insert(pair(&cx.flow));
                    }
                    Some("H.225 call signalling (TPKT + Q.931)")
                }
                Some(q) if has_oid(q, 64) => Some("H.245 in TPKT (H.225/H.245 OID)"),
                Some(_)
                    if b.len() == usize::from(be16(b, 2).unwrap_or(0))
                        && cx.caches.h323_hosts.contains(&pair(&cx.flow)) =>
                {
                    Some("TPKT between hosts with an H.225 call (H.245 control channel)")
                }
                _ => None,
            }
        } else if has_oid(b, 16) && b.len() >= 8 {
            Some("H.225 RAS (H.225 OID in datagram)")
        } else {
            None
        };
        match hit {
            Some(ev) => {
                cx.class.add_protocol(Protocol::H323);
                cx.class.raise(Confidence::High);
                cx.class.add_evidence(format!("{ev}, frame {}", p.frame));
                Outcome::Match
            }
            None if p.nth >= 3 => Outcome::NoMatch,
            None => Outcome::NeedMore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpkt_q931_setup() {
        let b = [
            0x03, 0x00, 0x00, 0x0c, 0x08, 0x02, 0x77, 0xf4, 0x05, 0x04, 0x03, 0x80,
        ];
        let q = tpkt(&b).unwrap();
        assert_eq!(q.first(), Some(&0x08));
        assert_eq!(q.get(4), Some(&0x05));
        assert!(tpkt(&[0x03, 0x01, 0x00, 0x0c]).is_none());
    }

    #[test]
    fn ras_oid() {
        let b = [
            0x02, 0x20, 0x00, 0x00, 0x06, 0x00, 0x08, 0x91, 0x4a, 0x00, 0x04, 0x00,
        ];
        assert!(has_oid(&b, 16));
        assert!(!has_oid(&b[..7], 16));
    }
}
