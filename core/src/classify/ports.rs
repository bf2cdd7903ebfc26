//! Port hints: the last resort for flows no payload rule recognised. A hint adds the
//! protocol id with low confidence and an evidence line saying it is a port guess; it never
//! sets an app or call service. Ports are the IANA registrations of the protocols.
//! Known false positives: anything else on those ports (a port scan's SYNs to 5060 are
//! reported as `sip` with low confidence, as nDPI does).

use super::{Confidence, FlowClass, FlowInfo};

/// (port, tcp?, udp?, protocol id).
pub const HINTS: &[(u16, bool, bool, &str)] = &[
    (5060, true, true, "sip"),
    (5061, true, false, "sip"),
    (1720, true, true, "h323"),
    (1719, true, true, "h323"),
    (2427, false, true, "mgcp"),
    (2727, false, true, "mgcp"),
    (2944, true, true, "megaco"),
    (2945, true, true, "megaco"),
    (4569, false, true, "iax"),
    (2000, true, false, "skinny"),
    (3478, true, true, "stun"),
];

/// Adds a port hint when the flow has no protocol from payload.
pub fn hint(f: &FlowInfo, c: &mut FlowClass) {
    if !c.protocols.is_empty() {
        return;
    }
    let port = f.server.port();
    if let Some((_, _, _, proto)) = HINTS
        .iter()
        .find(|(p, t, u, _)| *p == port && ((*t && f.is_tcp()) || (*u && f.is_udp())))
    {
        c.add_protocol(proto);
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
        let mut c = FlowClass::default();
        hint(&f, &mut c);
        assert_eq!(c.protocols, vec!["sip"]);
        assert_eq!(c.app, None);
        let mut c = FlowClass::default();
        c.add_protocol("http");
        hint(&f, &mut c);
        assert_eq!(c.protocols, vec!["http"]);
        let u = FlowInfo {
            transport: Transport::Udp,
            server: "2.2.2.2:2000".parse().unwrap(),
            ..f
        };
        let mut c = FlowClass::default();
        hint(&u, &mut c);
        assert!(c.protocols.is_empty(), "skinny is TCP only");
    }
}
