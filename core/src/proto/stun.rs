//! STUN and TURN messages (RFC 3489, 5389/8489, 5766/8656) and TURN ChannelData.
//!
//! Two views of one message, because the callers' policies differ:
//! - [`Header`] is the lax view: the top two type bits are zero, at least 20 bytes, and either
//!   the RFC 5389 magic cookie or a length field that tiles the datagram (a multiple of 4,
//!   `20 + len == datagram`). It exposes the facts (type, method, class, cookie, transaction
//!   id, whether the length matched) and decides nothing else. The blocking detectors count
//!   transactions with it.
//! - [`parse`] is the classifier's strict rule: known methods, WhatsApp's `0x0800–0x0805`
//!   with a cookie but any length, classic RFC 3489 messages only when their attributes tile
//!   the message exactly and the transaction id is not all zero.
//!
//! Both check lengths before reading; no accessor can panic.

use crate::wire::{be16, be32};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The RFC 5389 magic cookie.
pub const MAGIC: u32 = 0x2112_A442;

/// Method (12 bits) of a message type, class bits removed (RFC 5389 §6).
pub fn method_of(typ: u16) -> u16 {
    (typ & 0x000F) | ((typ & 0x00E0) >> 1) | ((typ & 0x3E00) >> 2)
}

/// Class of a message type: 0 request, 1 indication, 2 success, 3 error.
pub fn class_of(typ: u16) -> u8 {
    (((typ >> 4) & 1) | ((typ >> 7) & 2)) as u8
}

/// The lax header view (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub typ: u16,
    /// The length field (attributes, bytes).
    pub len: u16,
    /// The magic cookie is present.
    pub cookie: bool,
    /// `20 + len` equals the datagram length and `len` is a multiple of 4.
    pub tiles: bool,
    /// Bytes 4..20: cookie and 96-bit id (RFC 5389), or the 128-bit id (RFC 3489).
    pub txid: [u8; 16],
}

impl Header {
    /// The lax view of a datagram, if it has one.
    pub fn parse(p: &[u8]) -> Option<Header> {
        let typ = be16(p, 0)?;
        let len = be16(p, 2)?;
        if typ & 0xC000 != 0 || p.len() < 20 {
            return None;
        }
        let cookie = be32(p, 4)? == MAGIC;
        let tiles = usize::from(len).checked_add(20)? == p.len() && len % 4 == 0;
        if !cookie && !tiles {
            return None;
        }
        let txid = crate::wire::array::<16>(p, 4)?;
        Some(Header {
            typ,
            len,
            cookie,
            tiles,
            txid,
        })
    }
    pub fn method(&self) -> u16 {
        method_of(self.typ)
    }
    pub fn class(&self) -> u8 {
        class_of(self.typ)
    }
    /// Request class (C1C0 = 00).
    pub fn is_request(&self) -> bool {
        self.class() == 0
    }
}

/// A parsed STUN message header plus the span of its attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub typ: u16,
    pub len: u16,
    pub cookie: bool,
    pub txid: &'a [u8],
    /// Attribute bytes (clamped to the payload).
    pub attrs: &'a [u8],
    /// Whether the length field matched the payload exactly.
    pub exact: bool,
}

impl<'a> Message<'a> {
    /// Method (12 bits, class bits removed).
    pub fn method(&self) -> u16 {
        method_of(self.typ)
    }
    /// Class: 0 request, 1 indication, 2 success, 3 error.
    pub fn class(&self) -> u8 {
        class_of(self.typ)
    }
    /// WhatsApp's non-standard types.
    pub fn is_whatsapp_type(&self) -> bool {
        (0x0800..=0x0805).contains(&self.typ)
    }
    /// Iterates over (type, value) attributes, capped at 64.
    pub fn attributes(&self) -> Attrs<'a> {
        Attrs {
            b: self.attrs,
            off: 0,
            n: 0,
            pad: self.cookie,
        }
    }
}

/// Attribute iterator (stops at the first one that does not fit).
pub struct Attrs<'a> {
    b: &'a [u8],
    off: usize,
    n: u8,
    pad: bool,
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.n >= 64 {
            return None;
        }
        let t = be16(self.b, self.off)?;
        let l = usize::from(be16(self.b, self.off.checked_add(2)?)?);
        let start = self.off.checked_add(4)?;
        let end = start.checked_add(l)?;
        let v = self.b.get(start..end)?;
        let padded = if self.pad { (l + 3) & !3 } else { l };
        self.off = start.checked_add(padded)?;
        self.n += 1;
        Some((t, v))
    }
}

/// Methods known from RFC 3489/5389/5766/6062 (for cookie-less messages).
fn known_method(m: u16) -> bool {
    matches!(m, 0x001..=0x00C)
}

/// Parses one STUN message at the start of `b`. `stream` allows trailing bytes (TCP).
pub fn parse(b: &[u8], stream: bool) -> Option<Message<'_>> {
    let typ = be16(b, 0)?;
    if typ & 0xC000 != 0 || b.len() < 20 {
        return None;
    }
    let len = be16(b, 2)?;
    let total = usize::from(len).checked_add(20)?;
    let cookie = be32(b, 4)? == MAGIC;
    let exact = total == b.len();
    let fits = if stream { total <= b.len() } else { exact };
    let attrs_end = total.min(b.len());
    if cookie {
        let txid = b.get(8..20)?;
        let attrs = b.get(20..attrs_end)?;
        let m = Message {
            typ,
            len,
            cookie,
            txid,
            attrs,
            exact,
        };
        if m.is_whatsapp_type() {
            return Some(m);
        }
        if len % 4 != 0 || !fits || !known_method(m.method()) && !is_msteams_type(typ) {
            return None;
        }
        return Some(m);
    }
    // Classic RFC 3489: 16-byte transaction id; attributes must tile the message exactly.
    if !fits || !exact {
        return None;
    }
    let txid = b.get(4..20)?;
    let attrs = b.get(20..total)?;
    let m = Message {
        typ,
        len,
        cookie,
        txid,
        attrs,
        exact,
    };
    if !known_method(m.method()) || m.class() == 1 {
        return None;
    }
    let mut off = 0usize;
    let mut n = 0;
    for (_, v) in m.attributes() {
        off = off.checked_add(4)?.checked_add(v.len())?;
        n += 1;
    }
    if off != attrs.len() || (n == 0 && m.class() != 0) {
        return None;
    }
    // An all-zero transaction id is not a STUN client's (it picks it at random).
    if txid.iter().all(|x| *x == 0) {
        return None;
    }
    Some(m)
}

/// MS-TURN data indication and other Microsoft types outside the standard methods.
fn is_msteams_type(t: u16) -> bool {
    matches!(t, 0x0115 | 0x0015)
}

/// TURN ChannelData (RFC 8656 §12): channel 0x4000–0x4FFF, length fitting the payload.
pub fn is_channel_data(b: &[u8], stream: bool) -> bool {
    let (Some(ch), Some(len)) = (be16(b, 0), be16(b, 2)) else {
        return false;
    };
    if !(0x4000..=0x4FFF).contains(&ch) {
        return false;
    }
    let total = usize::from(len) + 4;
    if stream {
        total <= b.len()
    } else {
        total == b.len() || (total + 3) & !3 == b.len()
    }
}

/// Decodes an XOR-mapped style address attribute value.
pub fn xor_address(v: &[u8], txid: &[u8]) -> Option<SocketAddr> {
    let fam = *v.get(1)?;
    let port = be16(v, 2)? ^ (MAGIC >> 16) as u16;
    match fam {
        1 => {
            let a = be32(v, 4)? ^ MAGIC;
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port))
        }
        2 => {
            let raw = crate::wire::array::<16>(v, 4)?;
            let key = MAGIC
                .to_be_bytes()
                .into_iter()
                .chain(txid.get(..12)?.iter().copied());
            let mut o = raw;
            for (x, k) in o.iter_mut().zip(key) {
                *x ^= k;
            }
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), port))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn binding_request_rfc5389() {
        let b = hex("000100002112a44253486b6846386f6477677956");
        let m = parse(&b, false).unwrap();
        assert_eq!((m.method(), m.class(), m.cookie), (1, 0, true));
    }

    #[test]
    fn whatsapp_types_accept_mismatched_length() {
        // 0x0801 with a length (0x0010) that does not match the 20-byte datagram.
        let b = hex("080100102112a44270758b44c723a74ed1934a3b");
        let m = parse(&b, false).unwrap();
        assert!(m.is_whatsapp_type());
        // The same with a standard type is rejected.
        let b = hex("000100102112a44270758b44c723a74ed1934a3b");
        assert!(parse(&b, false).is_none());
    }

    #[test]
    fn classic_zoom_attribute() {
        let b = hex("00010018fca5c232b3da5b2065219f418e9b3e1a010100143132333435363738393031323334353637383900");
        let m = parse(&b, false).unwrap();
        assert!(!m.cookie);
        let a: Vec<u16> = m.attributes().map(|(t, _)| t).collect();
        assert_eq!(a, vec![0x0101]);
    }

    #[test]
    fn classic_must_tile() {
        // Attribute claims 0x15 bytes: does not tile the 24-byte body.
        let b = hex("00010018fca5c232b3da5b2065219f418e9b3e1a010100153132333435363738393031323334353637383900");
        assert!(parse(&b, false).is_none());
        // RTP-looking data is not STUN.
        assert!(parse(&hex("8078256900014b404c289e6d3fbd6a8cc3dda431"), false).is_none());
    }

    #[test]
    fn xor_mapped_v4() {
        let b = hex("0101000c2112a44253486b6846386f64776779560020000800017d527c3d45a3");
        let m = parse(&b, false).unwrap();
        let (t, v) = m.attributes().next().unwrap();
        assert_eq!(t, 0x0020);
        let a = xor_address(v, m.txid).unwrap();
        assert_eq!(a, "93.47.225.225:23616".parse().unwrap());
    }

    #[test]
    fn lax_header_accepts_classic_and_cookie() {
        let b = hex("000100002112a44253486b6846386f6477677956");
        let h = Header::parse(&b).unwrap();
        assert!(h.cookie && h.tiles && h.is_request());
        // Cookie-less, length tiles: accepted by the lax view.
        let mut classic = vec![0x00, 0x01, 0x00, 0x04];
        classic.extend_from_slice(&[7; 16]);
        classic.extend_from_slice(&[0; 4]);
        let h = Header::parse(&classic).unwrap();
        assert!(!h.cookie && h.tiles);
        assert_eq!(h.txid, [7; 16]);
        // …but not when the length does not tile.
        classic.push(0);
        assert!(Header::parse(&classic).is_none());
        assert!(Header::parse(&[0x80, 0x01]).is_none());
        // A success response is not a request; 0x0800 (WhatsApp) is.
        assert_eq!(class_of(0x0101), 2);
        assert_eq!(class_of(0x0800), 0);
        assert_eq!(method_of(0x0113), 3);
    }

    #[test]
    fn channel_data() {
        assert!(is_channel_data(&hex("40000004deadbeef"), false));
        assert!(!is_channel_data(&hex("50000004deadbeef"), false));
        assert!(!is_channel_data(&hex("40000008deadbeef"), false));
    }

    #[test]
    fn truncations_never_panic() {
        let b = hex("010300302112a44270758b44c723a74ed1934a25002000080001d1247c310f41400200080000018660b8c8");
        for i in 0..b.len() {
            let _ = parse(&b[..i], true);
            let _ = parse(&b[..i], false);
            let _ = is_channel_data(&b[..i], false);
            let _ = Header::parse(&b[..i]);
        }
    }
}
