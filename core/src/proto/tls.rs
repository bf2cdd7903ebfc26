//! TLS handshake records (RFC 8446 §5.1, §4): record-start detection, the ClientHello's
//! SNI (RFC 6066 §3), ALPN (RFC 7301) and `use_srtp` (RFC 5764). DTLS and QUIC carry the same
//! ClientHello body, so their classifiers call [`parse_hello_body`] too.
//!
//! [`parse_hello_body`] is lax: it reads as far as the bytes go and returns what it could
//! (a hello cut after its SNI still names the server), so callers holding a bounded prefix
//! and callers holding the whole reassembled hello use the same rules.

use crate::wire::{be16, be24, u8_at, Reader};

/// Most bytes of a ClientHello gathered across segments.
pub const MAX_HELLO: usize = 4096;

/// Record content types.
pub const HANDSHAKE: u8 = 22;
pub const ALERT: u8 = 21;
/// Handshake message types.
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;

/// The handshake message type of a TLS handshake record at the start of `p`
/// (`0x16 0x03 _ _ _ type`), if `p` starts with one.
pub fn handshake_type(p: &[u8]) -> Option<u8> {
    match p {
        [HANDSHAKE, 0x03, _, _, _, t, ..] => Some(*t),
        _ => None,
    }
}

/// `p` starts with a TLS alert record (`0x15 0x03`).
pub fn is_alert(p: &[u8]) -> bool {
    matches!(p, [ALERT, 0x03, ..])
}

/// Facts read from a ClientHello.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hello {
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// DTLS-SRTP `use_srtp` extension present (RFC 5764).
    pub use_srtp: bool,
}

/// Parses a ClientHello body (after the 4-byte handshake header). `dtls` adds the cookie
/// field. None when the body ends before the compression methods; the extensions are read
/// as far as `b` goes (at most 64).
pub fn parse_hello_body(b: &[u8], dtls: bool) -> Option<Hello> {
    let mut r = Reader::at(b, 2 + 32); // version + random
    let sid = r.u8()?;
    let mut o = r.pos().checked_add(usize::from(sid))?;
    if dtls {
        let cookie = u8_at(b, o)?;
        o = o.checked_add(1 + usize::from(cookie))?;
    }
    let cs = be16(b, o)?;
    o = o.checked_add(2 + usize::from(cs))?;
    let cm = u8_at(b, o)?;
    o = o.checked_add(1 + usize::from(cm))?;
    let mut h = Hello::default();
    let Some(ext_len) = be16(b, o) else {
        return Some(h);
    };
    o += 2;
    let end = o.saturating_add(usize::from(ext_len)).min(b.len());
    let ext = b.get(..end).unwrap_or(b);
    let mut r = Reader::at(ext, o);
    let mut n = 0;
    while r.remaining() >= 4 && n < 64 {
        let t = r.be16()?;
        let l = usize::from(r.be16()?);
        let v = r.rest().get(..l).unwrap_or(r.rest());
        match t {
            0 => h.sni = sni_of(v),
            16 => alpn_of(v, &mut h.alpn),
            14 => h.use_srtp = true,
            _ => {}
        }
        if r.skip(l).is_none() {
            break;
        }
        n += 1;
    }
    Some(h)
}

/// ALPN protocol names (at most 16), skipping the list length.
fn alpn_of(v: &[u8], out: &mut Vec<String>) {
    let mut r = Reader::at(v, 2);
    let mut k = 0;
    while !r.is_empty() && k < 16 {
        let Some(l) = r.u8() else { break };
        match r.take(usize::from(l)) {
            Some(s) => out.push(String::from_utf8_lossy(s).into_owned()),
            None => break,
        }
        k += 1;
    }
}

/// The host name of a server_name extension value: list length (2), type 0 (1), length (2),
/// name; non-empty printable ASCII, lowercased.
fn sni_of(v: &[u8]) -> Option<String> {
    if u8_at(v, 2)? != 0 {
        return None;
    }
    let l = usize::from(be16(v, 3)?);
    let name = crate::wire::bytes(v, 5, l)?;
    if name.is_empty() || !name.iter().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    Some(String::from_utf8_lossy(name).to_ascii_lowercase())
}

/// The ClientHello carried by the TLS records at the start of `b` (up to 8 records of a
/// fragmented hello). None when it is not a ClientHello or not complete yet (bodies longer
/// than [`MAX_HELLO`] − 64 count as complete at that size).
pub fn client_hello_from_records(b: &[u8]) -> Option<Hello> {
    let mut hs: Vec<u8> = Vec::new();
    let mut r = Reader::new(b);
    let mut n = 0;
    while r.remaining() >= 5 && n < 8 {
        if r.peek_u8() != Some(HANDSHAKE) {
            break;
        }
        let l = usize::from(be16(r.rest(), 3)?);
        r.skip(5)?;
        let frag = r.rest().get(..l).unwrap_or(r.rest());
        hs.extend_from_slice(frag);
        r.skip(frag.len())?;
        n += 1;
        if let Some(want) = be24(&hs, 1) {
            if hs.len() >= want as usize + 4 {
                break;
            }
        }
    }
    if hs.first() != Some(&CLIENT_HELLO) {
        return None;
    }
    let want = be24(&hs, 1)? as usize;
    let body = hs.get(4..)?;
    if body.len() < want.min(MAX_HELLO - 64) {
        return None;
    }
    parse_hello_body(body.get(..want.min(body.len()))?, false)
}

/// A ClientHello at the start of a stream prefix (record and handshake headers, then the
/// body up to wherever the prefix ends, the record length not enforced): the view the
/// blocking detectors get when the hello was cut short.
pub fn client_hello_in_prefix(p: &[u8]) -> Option<Hello> {
    if handshake_type(p)? != CLIENT_HELLO {
        return None;
    }
    parse_hello_body(p.get(9..)?, false)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal TLS 1.2 ClientHello record with SNI `name` and ALPN "h2".
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
        assert_eq!(handshake_type(&r), Some(CLIENT_HELLO));
        let h = client_hello_from_records(&r).unwrap();
        assert_eq!(h.sni.as_deref(), Some("web.whatsapp.com"));
        assert_eq!(h.alpn, vec!["h2".to_string()]);
        assert!(!h.use_srtp);
        assert_eq!(client_hello_in_prefix(&r), Some(h));
    }

    #[test]
    fn record_starts() {
        assert_eq!(handshake_type(&[0x16, 3, 3, 0, 10, 2]), Some(SERVER_HELLO));
        assert_eq!(handshake_type(&[0x16, 3, 3, 0, 10]), None);
        assert_eq!(handshake_type(&[0x16, 2, 3, 0, 10, 1]), None);
        assert!(is_alert(&[0x15, 3]));
        assert!(!is_alert(&[0x15]));
    }

    #[test]
    fn truncated_hello_in_prefix() {
        let r = hello_record("x.example");
        // The SNI extension ends 9 bytes before the ALPN one: a cut after it still names it.
        let cut = r.len() - 9;
        assert_eq!(
            client_hello_in_prefix(&r[..cut])
                .and_then(|h| h.sni)
                .as_deref(),
            Some("x.example")
        );
        // Waiting for the rest when reassembling.
        assert!(client_hello_from_records(&r[..r.len() - 3]).is_none());
        for i in 0..r.len() {
            let _ = client_hello_from_records(&r[..i]);
            let _ = client_hello_in_prefix(&r[..i]);
            let _ = parse_hello_body(&r[9.min(i)..i], false);
            let _ = parse_hello_body(&r[9.min(i)..i], true);
        }
        // Cut inside the name: no name.
        assert_eq!(client_hello_in_prefix(&r[..60]).and_then(|h| h.sni), None);
    }

    #[test]
    fn impossible_lengths() {
        // Session id claims 255 bytes in a 40-byte body.
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0; 32]);
        b.push(255);
        b.extend_from_slice(&[0; 5]);
        assert_eq!(parse_hello_body(&b, false), None);
        // Extension claims 0xffff bytes: read as far as the body goes.
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0; 32]);
        b.extend_from_slice(&[0, 0, 2, 0x13, 1, 1, 0, 0xff, 0xff, 0, 14, 0xff, 0xff]);
        let h = parse_hello_body(&b, false).unwrap();
        assert!(h.use_srtp);
    }
}
