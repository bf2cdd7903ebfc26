//! Port hints: the last resort for flows no payload rule recognised. A hint adds the
//! protocol id with low confidence and an evidence line saying it is a port guess; it never
//! sets an app or call service. Ports are the IANA registrations of the protocols.
//! Known false positives: anything else on those ports (a port scan's SYNs to 5060 are
//! reported as `sip` with low confidence, as nDPI does).

use super::Protocol;
use super::{Confidence, FlowInfo, FlowLabels};

/// (port, tcp?, udp?, protocol id).
pub const HINTS: &[(u16, bool, bool, Protocol)] = &[
    (5060, true, true, Protocol::Sip),
    (5061, true, false, Protocol::Sip),
    (1720, true, true, Protocol::H323),
    (1719, true, true, Protocol::H323),
    (2427, false, true, Protocol::Mgcp),
    (2727, false, true, Protocol::Mgcp),
    (2944, true, true, Protocol::Megaco),
    (2945, true, true, Protocol::Megaco),
    (4569, false, true, Protocol::Iax),
    (2000, true, false, Protocol::Skinny),
    (3478, true, true, Protocol::Stun),
];

/// Adds a port hint when the flow has no protocol from payload.
pub fn hint(f: &FlowInfo, c: &mut FlowLabels) {
    if !c.protocols.is_empty() {
        return;
    }
    let port = f.server.port();
    if let Some((_, _, _, proto)) = HINTS
        .iter()
        .find(|(p, t, u, _)| *p == port && ((*t && f.is_tcp()) || (*u && f.is_udp())))
    {
        c.add_protocol(*proto);
        c.confidence = Confidence::Low;
        c.add_evidence(format!(
            "port guess: server port {port} is registered to {proto}"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Transport;

    #[test]
    fn hint_only_without_payload_protocol() {
        let f = FlowInfo {
            id: 0,
            transport: Transport::Tcp,
            client: "1.1.1.1:4000".parse().unwrap(),
            server: "2.2.2.2:5060".parse().unwrap(),
        };
        let mut c = FlowLabels::default();
        hint(&f, &mut c);
        assert_eq!(c.protocols, vec![Protocol::Sip]);
        assert_eq!(c.app, None);
        let mut c = FlowLabels::default();
        c.add_protocol(Protocol::Http);
        hint(&f, &mut c);
        assert_eq!(c.protocols, vec![Protocol::Http]);
        let u = FlowInfo {
            transport: Transport::Udp,
            server: "2.2.2.2:2000".parse().unwrap(),
            ..f
        };
        let mut c = FlowLabels::default();
        hint(&u, &mut c);
        assert!(c.protocols.is_empty(), "skinny is TCP only");
    }
}
