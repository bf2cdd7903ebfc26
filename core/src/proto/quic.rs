//! QUIC long headers (RFC 9000 §17.2, RFC 9369 for v2) and variable-length integers
//! (§16). The Initial's decryption (RFC 9001 §5) is classification work and lives in
//! `classify/quic.rs`; it reads the header through [`LongHeader`].
//!
//! [`LongHeader::parse`] checks the first byte (header form and fixed bit), reads version and
//! connection ids, and for an Initial also the token and the Length field; it does not apply
//! version-specific limits (RFC 9000 caps connection ids at 20 bytes for v1; a caller that
//! derives keys checks that itself).

use crate::wire::{u8_at, Reader};

/// QUIC version 2 (RFC 9369), whose long-header type bits are permuted.
pub const V2: u32 = 0x6b33_43cf;

/// Reads a variable-length integer at `o`: (value, bytes used).
pub fn varint(b: &[u8], o: usize) -> Option<(u64, usize)> {
    let f = u8_at(b, o)?;
    let n = 1usize << (f >> 6);
    let s = crate::wire::bytes(b, o, n)?;
    let mut v = u64::from(f & 0x3F);
    for x in s.iter().skip(1) {
        v = (v << 8) | u64::from(*x);
    }
    Some((v, n))
}

/// `p` starts with a long header of a non-zero version (a Version Negotiation packet has
/// version 0): the first-byte and version test, nothing else.
pub fn is_long_header(p: &[u8]) -> bool {
    matches!(p, [b0, v0, v1, v2, v3, ..] if b0 & 0xC0 == 0xC0 && [*v0, *v1, *v2, *v3] != [0, 0, 0, 0])
}

/// Long-header packet types (normalised across v1 and v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// The type of a long header's first byte under `version`.
pub fn packet_type(first: u8, version: u32) -> PacketType {
    let bits = (first >> 4) & 3;
    let bits = if version == V2 {
        bits.wrapping_sub(1) & 3
    } else {
        bits
    };
    match bits {
        0 => PacketType::Initial,
        1 => PacketType::ZeroRtt,
        2 => PacketType::Handshake,
        _ => PacketType::Retry,
    }
}

/// A parsed long header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongHeader<'a> {
    pub first: u8,
    pub version: u32,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// Initial packets (of a non-zero version): the token, the Length field and the packet
    /// number's offset in the datagram.
    pub initial: Option<Initial<'a>>,
}

/// The Initial-specific fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Initial<'a> {
    pub token: &'a [u8],
    /// Length of packet number and payload (the Length field).
    pub length: u64,
    /// Offset of the (protected) packet number.
    pub pn_offset: usize,
}

impl<'a> LongHeader<'a> {
    /// Parses the long header at the start of `b`. None when it is not one or is cut short
    /// (an Initial's Length field included).
    pub fn parse(b: &'a [u8]) -> Option<LongHeader<'a>> {
        let mut r = Reader::new(b);
        let first = r.u8()?;
        if first & 0xC0 != 0xC0 {
            return None;
        }
        let version = r.be32()?;
        let dcid = r.vec8()?;
        let scid = r.vec8()?;
        let mut h = LongHeader {
            first,
            version,
            dcid,
            scid,
            initial: None,
        };
        if version != 0 && h.packet_type() == PacketType::Initial {
            let (tlen, n) = varint(b, r.pos())?;
            r.skip(n)?;
            let token = r.take(usize::try_from(tlen).ok()?)?;
            let (length, n) = varint(b, r.pos())?;
            r.skip(n)?;
            h.initial = Some(Initial {
                token,
                length,
                pn_offset: r.pos(),
            });
        }
        Some(h)
    }
    pub fn packet_type(&self) -> PacketType {
        packet_type(self.first, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x25], 0), Some((37, 1)));
        assert_eq!(varint(&[0x7b, 0xbd], 0), Some((15293, 2)));
        assert_eq!(
            varint(&[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c], 0),
            Some((151288809941952652, 8))
        );
        assert_eq!(varint(&[0x7b], 0), None);
        assert_eq!(varint(&[0x25], usize::MAX), None);
    }

    /// v1 Initial: dcid 8 bytes, scid 0, token 0, Length 0x4000+2, then 2 bytes.
    fn initial() -> Vec<u8> {
        let mut b = vec![
            0xC3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x40, 2, 0xAA, 0xBB,
        ];
        b.resize(1200, 0);
        b
    }

    #[test]
    fn initial_header() {
        let b = initial();
        assert!(is_long_header(&b));
        let h = LongHeader::parse(&b).unwrap();
        assert_eq!(h.version, 1);
        assert_eq!(h.dcid, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(h.packet_type(), PacketType::Initial);
        let i = h.initial.unwrap();
        assert_eq!((i.length, i.pn_offset, i.token.len()), (2, 18, 0));
        // Version 2 Initials use type bits 01.
        assert_eq!(packet_type(0xD3, V2), PacketType::Initial);
        assert_eq!(packet_type(0xD3, 1), PacketType::ZeroRtt);
        // Handshake packet: no Initial fields.
        let mut hs = b.clone();
        hs[0] = 0xE3;
        assert_eq!(LongHeader::parse(&hs).unwrap().initial, None);
    }

    #[test]
    fn short_and_impossible() {
        let b = initial();
        for i in 0..18 {
            assert!(LongHeader::parse(&b[..i]).is_none(), "cut at {i}");
        }
        // Version negotiation (version 0) is not "a long header of a version".
        assert!(!is_long_header(&[0xC0, 0, 0, 0, 0, 0]));
        assert!(!is_long_header(&[0x40, 0, 0, 0, 1]));
        // dcid length 255 in a short datagram.
        assert!(LongHeader::parse(&[0xC0, 0, 0, 0, 1, 255, 1]).is_none());
        // Token length larger than the datagram.
        assert!(LongHeader::parse(&[0xC0, 0, 0, 0, 1, 0, 0, 0x7f, 0xff, 0]).is_none());
    }
}
