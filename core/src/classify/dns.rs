//! DNS (RFC 1035) over UDP port 53 / 5353 and TCP port 53: the query name and A/AAAA
//! answers. Answers for names in the app table (`apps.rs`) fill the DNS answer cache so later
//! flows to those addresses get the app (medium confidence). The DNS flow itself gets
//! protocol `dns` and the name in `sni`, but no app: a lookup is not the app's traffic.
//! Names are read with compression pointers followed at most 16 times.

use super::{apps, be16, Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{Protocol, Scratch};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Reads a name at `off`; returns it (lowercase, dotted) and the offset after it.
pub fn read_name(msg: &[u8], off: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut o = off;
    let mut after: Option<usize> = None;
    let mut jumps = 0;
    loop {
        let l = *msg.get(o)?;
        if l == 0 {
            return Some((name, after.unwrap_or(o + 1)));
        }
        if l & 0xC0 == 0xC0 {
            let ptr = usize::from(be16(msg, o)? & 0x3FFF);
            if after.is_none() {
                after = Some(o + 2);
            }
            jumps += 1;
            if jumps > 16 || ptr >= msg.len() {
                return None;
            }
            o = ptr;
            continue;
        }
        if l & 0xC0 != 0 {
            return None;
        }
        let lab = msg.get(o + 1..o + 1 + usize::from(l))?;
        if !name.is_empty() {
            name.push('.');
        }
        if name.len() > 255 {
            return None;
        }
        for c in lab {
            name.push(c.to_ascii_lowercase() as char);
        }
        o += 1 + usize::from(l);
    }
}

/// A parsed message: question name and A/AAAA answers (at most 32).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Msg {
    pub id: u16,
    pub response: bool,
    pub qname: String,
    pub answers: Vec<(String, IpAddr)>,
}

/// Parses a DNS message (UDP payload, or TCP payload after the 2-byte length).
pub fn parse(b: &[u8]) -> Option<Msg> {
    let id = be16(b, 0)?;
    let flags = be16(b, 2)?;
    let qd = be16(b, 4)?;
    let an = be16(b, 6)?;
    if qd != 1 || (flags >> 11) & 0xF > 2 {
        return None;
    }
    let response = flags & 0x8000 != 0;
    if !response && an != 0 {
        return None;
    }
    let (qname, mut o) = read_name(b, 12)?;
    let qtype = be16(b, o)?;
    let qclass = be16(b, o + 2)?;
    if qclass & 0x7FFF != 1 && qclass != 255 || qtype == 0 {
        return None;
    }
    o += 4;
    let mut answers = Vec::new();
    for _ in 0..an.min(32) {
        let Some((n, o2)) = read_name(b, o) else {
            break;
        };
        let (Some(t), Some(l)) = (be16(b, o2), be16(b, o2 + 8)) else {
            break;
        };
        let rd = o2 + 10;
        let Some(data) = b.get(rd..rd + usize::from(l)) else {
            break;
        };
        match (t, data.len()) {
            (1, 4) => answers.push((
                n,
                IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3])),
            )),
            (28, 16) => {
                let mut a = [0u8; 16];
                a.copy_from_slice(data);
                answers.push((n, IpAddr::V6(Ipv6Addr::from(a))));
            }
            _ => {}
        }
        o = rd + usize::from(l);
    }
    Some(Msg {
        id,
        response,
        qname,
        answers,
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
