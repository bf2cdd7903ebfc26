//! DNS messages (RFC 1035 §4.1): the header, the first question (name with compression
//! pointers followed at most 16 times, so a pointer loop ends), and the answer section's
//! records (owner name, type, TTL, A/AAAA address), at most [`MAX_ANSWERS`].
//!
//! [`parse`] is lax and decides nothing beyond "a header and a readable question": the
//! classifier and the DNS detector each check the header fields they care about
//! (question count, opcode, a query without answers, the question class). Answers are read
//! in order until one does not fit; the ones before it are kept.

use crate::wire::{be16, bytes, u8_at, Reader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Most answer records read per message.
pub const MAX_ANSWERS: u16 = 32;
/// rcode NXDOMAIN.
pub const NXDOMAIN: u8 = 3;

/// Reads a name at `off`; returns it (lowercase, dotted) and the offset after it (after the
/// first pointer when the name is compressed). None on a loop (more than 16 pointers), a
/// pointer past the message, a reserved label type, a name over 255 bytes or truncation.
pub fn read_name(msg: &[u8], off: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut o = off;
    let mut after: Option<usize> = None;
    let mut jumps = 0;
    loop {
        let l = u8_at(msg, o)?;
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
        let lab = bytes(msg, o + 1, usize::from(l))?;
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

/// The fixed 12-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
}

impl Header {
    pub fn parse(b: &[u8]) -> Option<Header> {
        let mut r = Reader::new(b);
        let h = Header {
            id: r.be16()?,
            flags: r.be16()?,
            qdcount: r.be16()?,
            ancount: r.be16()?,
        };
        r.skip(4)?;
        Some(h)
    }
    /// QR bit: a response.
    pub fn response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xF) as u8
    }
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xF) as u8
    }
}

/// One answer-section record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: u16,
    pub ttl: u32,
    /// The address of an A (4-byte) or AAAA (16-byte) record.
    pub addr: Option<IpAddr>,
}

/// A message: header, first question, answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub qname: String,
    pub qtype: u16,
    /// The question's class, when the message holds it.
    pub qclass: Option<u16>,
    pub answers: Vec<Record>,
}

impl Message {
    /// The A/AAAA addresses among the answers, in order.
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.answers.iter().filter_map(|r| r.addr)
    }
}

/// Parses a message (a UDP payload, or a TCP payload after its 2-byte length). None when the
/// header or the first question's name and type do not fit, or there is no question.
pub fn parse(b: &[u8]) -> Option<Message> {
    let header = Header::parse(b)?;
    if header.qdcount == 0 {
        return None;
    }
    let (qname, o) = read_name(b, 12)?;
    let qtype = be16(b, o)?;
    let qclass = be16(b, o.checked_add(2)?);
    let mut o = o.checked_add(4)?;
    let mut answers = Vec::new();
    for _ in 0..header.ancount.min(MAX_ANSWERS) {
        let Some((name, o2)) = read_name(b, o) else {
            break;
        };
        let mut r = Reader::at(b, o2);
        let (Some(rtype), Some(_class), Some(ttl), Some(data)) =
            (r.be16(), r.be16(), r.be32(), r.vec16())
        else {
            break;
        };
        let addr = match (rtype, data) {
            (1, [a, b2, c, d]) => Some(IpAddr::V4(Ipv4Addr::new(*a, *b2, *c, *d))),
            (28, d) => <[u8; 16]>::try_from(d)
                .ok()
                .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
            _ => None,
        };
        answers.push(Record {
            name,
            rtype,
            ttl,
            addr,
        });
        o = r.pos();
    }
    Some(Message {
        header,
        qname,
        qtype,
        qclass,
        answers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response for a.example A: two answers, the second through a compression pointer.
    fn response() -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(&[1, b'A', 7]);
        m.extend_from_slice(b"example");
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        // answer 1: pointer to offset 12, A, IN, TTL 300, 4 bytes.
        m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 93, 184, 216, 34]);
        // answer 2: AAAA, TTL 60.
        m.extend_from_slice(&[0xC0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16]);
        m.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        m
    }

    #[test]
    fn response_with_answers() {
        let m = parse(&response()).unwrap();
        assert_eq!(m.header.id, 0x1234);
        assert!(m.header.response());
        assert_eq!((m.header.opcode(), m.header.rcode()), (0, 0));
        assert_eq!(
            (m.qname.as_str(), m.qtype, m.qclass),
            ("a.example", 1, Some(1))
        );
        assert_eq!(m.answers.len(), 2);
        assert_eq!(m.answers[0].ttl, 300);
        assert_eq!(m.answers[0].name, "a.example");
        let a: Vec<String> = m.addrs().map(|a| a.to_string()).collect();
        assert_eq!(a, vec!["93.184.216.34", "2001:db8::1"]);
    }

    #[test]
    fn truncation_keeps_whole_answers_only() {
        let r = response();
        // Cut inside the second answer: the first is kept.
        assert_eq!(parse(&r[..r.len() - 3]).unwrap().answers.len(), 1);
        // Question type present, class cut: still a message, without a class.
        let q = parse(&r[..12 + 11 + 2]).unwrap();
        assert_eq!(q.qclass, None);
        for i in 0..r.len() {
            let _ = parse(&r[..i]);
        }
        assert!(parse(&r[..11]).is_none());
    }

    #[test]
    fn pointer_loops_and_impossible_lengths() {
        // A name that points at itself.
        let mut m = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1];
        assert!(parse(&m).is_none());
        // A pointer past the end.
        m[13] = 200;
        assert!(read_name(&m, 12).is_none());
        // Reserved label type 0x40.
        assert!(read_name(&[0x41, b'a', 0], 0).is_none());
        // No question.
        assert!(parse(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_none());
        // An answer whose rdlength claims 0xffff: dropped, message kept.
        let mut r = vec![
            0, 1, 0x81, 0x83, 0, 1, 0, 1, 0, 0, 0, 0, 1, b'x', 0, 0, 1, 0, 1,
        ];
        r.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 1, 2]);
        let m = parse(&r).unwrap();
        assert_eq!(m.header.rcode(), NXDOMAIN);
        assert!(m.answers.is_empty());
    }
}
