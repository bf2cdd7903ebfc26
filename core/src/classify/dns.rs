//! DNS (RFC 1035) over UDP port 53 / 5353 and TCP port 53: the query name and A/AAAA
//! answers. Answers for names in the app table (`apps.rs`) fill the DNS answer cache so later
//! flows to those addresses get the app (medium confidence). The DNS flow itself gets
//! protocol `dns` and the name in `sni`, but no app: a lookup is not the app's traffic.
//! Names are read with compression pointers followed at most 16 times.

use super::{apps, Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{Protocol, Scratch};
use crate::proto::dns as proto;
pub use crate::proto::dns::read_name;
use std::net::IpAddr;

/// A parsed message: question name and A/AAAA answers (at most 32).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Msg {
    pub id: u16,
    pub response: bool,
    pub qname: String,
    pub answers: Vec<(String, IpAddr)>,
}

/// Parses a DNS message (UDP payload, or TCP payload after the 2-byte length) under the
/// classifier's rule: one question, a standard opcode (≤ 2), a query carries no answers, the
/// question class is IN (or ANY, with or without the mDNS unicast bit) and the type non-zero.
pub fn parse(b: &[u8]) -> Option<Msg> {
    let m = proto::parse(b)?;
    let h = m.header;
    if h.qdcount != 1 || h.opcode() > 2 || (!h.response() && h.ancount != 0) {
        return None;
    }
    let qclass = m.qclass?;
    if qclass & 0x7FFF != 1 && qclass != 255 || m.qtype == 0 {
        return None;
    }
    Some(Msg {
        id: h.id,
        response: h.response(),
        qname: m.qname,
        answers: m
            .answers
            .into_iter()
            .filter_map(|r| r.addr.map(|a| (r.name, a)))
            .collect(),
    })
}

/// The DNS classifier.
pub struct Dns;

impl Classifier for Dns {
    type State = ();
    fn id(&self) -> &'static str {
        "dns"
    }
    fn budget(&self) -> u32 {
        16
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.has_port(53) || (f.is_udp() && (f.has_port(5353) || f.has_port(5355)))
    }
    fn inspect(&self, cx: &mut Ctx<'_>, _st: &mut Scratch<()>, p: &Pkt<'_>) -> Outcome {
        let b = if cx.flow.is_tcp() {
            p.payload.get(2..).unwrap_or(&[])
        } else {
            p.payload
        };
        let Some(m) = parse(b) else {
            return if cx.class.has_protocol(Protocol::Dns) {
                Outcome::NeedMore
            } else {
                Outcome::NoMatch
            };
        };
        if !cx.class.has_protocol(Protocol::Dns) {
            cx.class.add_protocol(Protocol::Dns);
            cx.class.raise(Confidence::High);
            cx.class
                .add_evidence(format!("DNS query {} (frame {})", m.qname, p.frame));
        }
        if cx.class.sni.is_none() && !m.qname.is_empty() {
            cx.class.sni = Some(m.qname.clone());
        }
        if m.response {
            // The app of the question (CNAME chains keep the question's app).
            let qapp = apps::lookup(&m.qname).map(|x| x.0);
            for (n, ip) in &m.answers {
                if let Some(app) = qapp.or_else(|| apps::lookup(n).map(|x| x.0)) {
                    if cx.caches.dns.get(ip).is_none() {
                        cx.caches.dns_names.insert(*ip, m.qname.clone());
                    }
                    cx.caches.dns.insert(*ip, app, p.ts, cx.flow.id);
                }
            }
        }
        Outcome::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Response for e13.whatsapp.net A 157.240.1.53, answer name compressed.
    const RESP: &[u8] = &[
        0xdf, 0xa3, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, b'e', b'1', b'3', 8, b'w', b'h', b'a',
        b't', b's', b'a', b'p', b'p', 3, b'n', b'e', b't', 0, 0, 1, 0, 1, 0xc0, 0x0c, 0, 1, 0, 1,
        0, 0, 0, 60, 0, 4, 157, 240, 1, 53,
    ];

    #[test]
    fn answer_with_pointer() {
        let m = parse(RESP).unwrap();
        assert!(m.response);
        assert_eq!(m.qname, "e13.whatsapp.net");
        assert_eq!(
            m.answers,
            vec![(
                "e13.whatsapp.net".to_string(),
                "157.240.1.53".parse().unwrap()
            )]
        );
    }

    #[test]
    fn pointer_loop_and_truncation() {
        let mut b = RESP.to_vec();
        b[12] = 0xc0;
        b[13] = 12; // points at itself
        assert!(parse(&b).is_none());
        for i in 0..RESP.len() {
            let _ = parse(&RESP[..i]);
        }
    }
}
