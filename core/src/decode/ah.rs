//! The IP Authentication Header (RFC 4302) after an IPv4 header: AH authenticates but does
//! not encrypt, so the transport header follows it in clear. (After IPv6 it is walked with
//! the other extension headers, see `ipv6`.)
//!
//! [`AhHeader::new_checked`] checks that the header, `(length + 2) × 4` bytes, lies within
//! the packet's wire length and was captured; accessors cannot panic after.

use super::bytes::{tail, u8_at};
use crate::model::DecodeReason;

mod field {
    pub const NEXT_HEADER: usize = 0;
    pub const PAYLOAD_LEN: usize = 1;
}

/// At most this many AH headers are skipped in a row (one is the norm).
pub(crate) const MAX_AH: usize = 2;

/// A checked view of an Authentication Header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AhHeader<'a> {
    buf: &'a [u8],
}

impl<'a> AhHeader<'a> {
    /// `wire` is the length of the IP payload per the IP header.
    pub(crate) fn new_checked(buf: &'a [u8], wire: usize) -> Result<Self, DecodeReason> {
        if wire < 2 {
            return Err(DecodeReason::BadLength);
        }
        let b1 = *buf.get(field::PAYLOAD_LEN).ok_or(DecodeReason::Truncated)?;
        let len = (usize::from(b1) + 2) * 4;
        if len > wire {
            return Err(DecodeReason::BadLength);
        }
        if len > buf.len() {
            return Err(DecodeReason::Truncated);
        }
        Ok(AhHeader { buf })
    }

    pub(crate) fn next_header(&self) -> u8 {
        u8_at(self.buf, field::NEXT_HEADER)
    }
    pub(crate) fn len(&self) -> usize {
        (usize::from(u8_at(self.buf, field::PAYLOAD_LEN)) + 2) * 4
    }
    pub(crate) fn payload(&self) -> &'a [u8] {
        tail(self.buf, self.len())
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn ah(next: u8, upper: &[u8]) -> Vec<u8> {
        // Payload length 4 → 24 bytes: next, len, reserved, SPI, sequence, 12-byte ICV.
        let mut v = vec![next, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 7];
        v.extend_from_slice(&[0xaa; 12]);
        v.extend_from_slice(upper);
        v
    }

    #[test]
    fn ah_then_udp_and_ipip() {
        let u = udp(500, 4500, b"ike");
        let mut p = ipv4(51, [10, 0, 0, 1], [10, 0, 0, 2], &ah(17, &u));
        fix_udp4_checksum(&mut p, 44);
        let d = decode(228, &p);
        assert!(d.anomalies.is_empty(), "{:?}", d.anomalies);
        assert_eq!(d.net.unwrap().proto, 17);
        assert!(matches!(d.l4, L4::Udp(u) if u.payload == b"ike"));
        sweep(228, &p, &[(0, "ipv4"), (20, "ah"), (44, "udp"), (52, "")]);

        let inner = ipv4(
            1,
            [10, 0, 32, 100],
            [10, 0, 32, 1],
            &[8, 0, 0xf7, 0xff, 0, 0, 0, 0],
        );
        let p = ipv4(51, [192, 168, 3, 1], [192, 168, 3, 2], &ah(4, &inner));
        let d = decode(228, &p);
        assert_eq!(d.tunnel, Some("ipip"));
        assert_eq!(d.net.unwrap().src.to_string(), "10.0.32.100");
    }

    #[test]
    fn ah_longer_than_the_packet() {
        let mut a = ah(17, &[]);
        a[1] = 40;
        let e = decode(228, &ipv4(51, [10, 0, 0, 1], [10, 0, 0, 2], &a))
            .error
            .unwrap();
        assert_eq!(
            (e.layer.as_str(), e.offset, e.reason.as_str()),
            ("ah", 20, "bad_length")
        );
    }
}
