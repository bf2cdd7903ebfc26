//! TLS (over TCP): record-layer recognition and the ClientHello SNI (RFC 8446 §4.1.2,
//! RFC 6066 §3), mapped to an app through the host table in `apps.rs`.
//!
//! A TLS flow starts with a handshake record (`0x16 0x03 0x00–0x04`). The ClientHello may
//! span several segments: the first [`MAX_HELLO`] bytes of the client direction are
//! collected until the declared handshake length is complete. The same ClientHello parser
//! serves DTLS and QUIC (their ClientHello bodies are identical).

use super::{apps, be16, Classifier, Confidence, Ctx, FlowClass, FlowInfo, Outcome, Pkt};
use crate::flow::Dir;

/// Most bytes of a ClientHello gathered across segments.
pub const MAX_HELLO: usize = 4096;

/// Facts read from a ClientHello.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hello {
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// DTLS-SRTP `use_srtp` extension present (RFC 5764).
    pub use_srtp: bool,
}

/// Parses a ClientHello body (after the 4-byte handshake header). `dtls` adds the cookie field.
pub fn parse_hello_body(b: &[u8], dtls: bool) -> Option<Hello> {
    let mut o = 2 + 32; // version + random
    let sid = usize::from(*b.get(o)?);
    o += 1 + sid;
    if dtls {
        let cookie = usize::from(*b.get(o)?);
        o += 1 + cookie;
    }
    let cs = usize::from(be16(b, o)?);
    o += 2 + cs;
    let cm = usize::from(*b.get(o)?);
    o += 1 + cm;
    let mut h = Hello::default();
    let Some(ext_len) = be16(b, o) else {
        return Some(h);
    };
    o += 2;
    let end = (o + usize::from(ext_len)).min(b.len());
    let mut n = 0;
    while o + 4 <= end && n < 64 {
        let t = be16(b, o)?;
        let l = usize::from(be16(b, o + 2)?);
        let v = b.get(o + 4..(o + 4 + l).min(end))?;
        match t {
            0 => h.sni = sni_of(v),
            16 => {
                let mut p = 2;
                let mut k = 0;
                while p < v.len() && k < 16 {
                    let l = usize::from(v[p]);
                    if let Some(s) = v.get(p + 1..p + 1 + l) {
                        h.alpn.push(String::from_utf8_lossy(s).into_owned());
                    }
                    p += 1 + l;
                    k += 1;
                }
            }
            14 => h.use_srtp = true,
            _ => {}
        }
        o += 4 + l;
        n += 1;
    }
    Some(h)
}

fn sni_of(v: &[u8]) -> Option<String> {
    // server_name_list: len(2) type(1)=0 len(2) name
    if *v.get(2)? != 0 {
        return None;
    }
    let l = usize::from(be16(v, 3)?);
    let name = v.get(5..5 + l)?;
    if name.is_empty() || !name.iter().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    Some(String::from_utf8_lossy(name).to_ascii_lowercase())
}

/// Extracts the ClientHello from TLS records starting at `b` (several records allowed).
/// Returns None when incomplete or not a ClientHello.
pub fn client_hello_from_records(b: &[u8]) -> Option<Hello> {
    // Concatenate handshake fragments from consecutive records (bounded).
    let mut hs: Vec<u8> = Vec::new();
    let mut o = 0;
    let mut n = 0;
    while o + 5 <= b.len() && n < 8 {
        if b[o] != 0x16 {
            break;
        }
        let l = usize::from(be16(b, o + 3)?);
        let end = (o + 5 + l).min(b.len());
        hs.extend_from_slice(b.get(o + 5..end)?);
        o = end;
        n += 1;
        if hs.len() >= 4 {
            let want =
                (usize::from(hs[1]) << 16 | usize::from(hs[2]) << 8 | usize::from(hs[3])) + 4;
            if hs.len() >= want {
                break;
            }
        }
    }
    if hs.first() != Some(&1) || hs.len() < 4 {
        return None;
    }
    let want = usize::from(hs[1]) << 16 | usize::from(hs[2]) << 8 | usize::from(hs[3]);
    let body = hs.get(4..)?;
    if body.len() < want.min(MAX_HELLO - 64) {
        return None;
    }
    parse_hello_body(body.get(..want.min(body.len()))?, false)
}

/// Applies a hello's SNI to the flow (SNI kept; app from the host table).
pub fn apply_sni(c: &mut FlowClass, sni: &str, what: &str, frame: u64) {
    if c.sni.is_none() {
        c.sni = Some(sni.to_string());
    }
    if let Some((app, _)) = apps::lookup(sni) {
        c.set_app(
            app,
            Confidence::Medium,
            format!("{what} SNI {sni} (frame {frame})"),
        );
    }
}

/// The TLS classifier.
pub struct Tls;

impl Classifier for Tls {
    fn id(&self) -> &'static str {
        "tls"
    }
    fn budget(&self) -> u32 {
        12
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowClass) -> bool {
        f.is_tcp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, p: &Pkt<'_>) -> Outcome {
        let b = p.payload;
        if p.dir == Dir::S2c {
            if b.len() >= 3 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4 {
                cx.class.add_protocol("tls");
            }
            return Outcome::NeedMore;
        }
        // Client direction: the ClientHello, possibly over several segments; the flow table
        // keeps the prefix, but we only have this segment: keep our own bounded buffer.
        let buf = &mut cx.class.state.hello;
        if buf.is_empty() {
            if !(b.len() >= 6 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4 && b[5] == 1) {
                return Outcome::NoMatch;
            }
        }
        let room = MAX_HELLO.saturating_sub(buf.len());
        buf.extend_from_slice(&b[..b.len().min(room)]);
        cx.class.add_protocol("tls");
        let hello = client_hello_from_records(&cx.class.state.hello);
        match hello {
            Some(h) => {
                cx.class.state.hello = Vec::new();
                cx.class.raise(Confidence::High);
                if let Some(s) = &h.sni {
                    apply_sni(cx.class, s, "TLS", p.frame);
                }
                Outcome::Match
            }
            None if cx.class.state.hello.len() >= MAX_HELLO => {
                cx.class.state.hello = Vec::new();
                Outcome::NoMatch
            }
            None => Outcome::NeedMore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal TLS 1.2 ClientHello record with SNI "web.whatsapp.com" and ALPN "h2".
    pub fn hello_record(name: &str) -> Vec<u8> {
        let mut ext = Vec::new();
        let n = name.as_bytes();
        ext.extend_from_slice(&[0, 0]);
        ext.extend_from_slice(&((n.len() + 5) as u16).to_be_bytes());
        ext.extend_from_slice(&((n.len() + 3) as u16).to_be_bytes());
        ext.push(0);
        ext.extend_from_slice(&(n.len() as u16).to_be_bytes());
        ext.extend_from_slice(n);
        ext.extend_from_slice(&[0, 16, 0, 5, 0, 3, 2, b'h', b'2']);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0x11; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one suite
        body.extend_from_slice(&[1, 0]); // null compression
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![1, 0];
        hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn sni_and_alpn() {
        let r = hello_record("Web.WhatsApp.com");
        let h = client_hello_from_records(&r).unwrap();
        assert_eq!(h.sni.as_deref(), Some("web.whatsapp.com"));
        assert_eq!(h.alpn, vec!["h2".to_string()]);
        assert!(!h.use_srtp);
    }

    #[test]
    fn incomplete_hello_waits_and_truncations_do_not_panic() {
        let r = hello_record("zoom.us");
        assert!(client_hello_from_records(&r[..r.len() - 3]).is_none());
        for i in 0..r.len() {
            let _ = client_hello_from_records(&r[..i]);
            let _ = parse_hello_body(&r[9.min(i)..i], false);
        }
    }
}
