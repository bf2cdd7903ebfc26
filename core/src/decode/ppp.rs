//! PPP framing (RFC 1661/1662) as carried by LINKTYPE_PPP (9), LINKTYPE_PPP_HDLC (50),
//! PPPoE sessions and PPTP's enhanced GRE.
//!
//! The HDLC address/control bytes `FF 03` are optional (address-and-control-field
//! compression) and the protocol field may be one byte (protocol-field compression: an odd
//! first byte). Protocol 0x0021 is IPv4 and 0x0057 IPv6; control protocols (LCP, IPCP…),
//! compressed and encrypted data (CCP/MPPE) are not IP and decode to nothing. LINKTYPE 50
//! also carries Cisco HDLC (address 0x0F/0x8F, control 0, then an EtherType).

use super::bytes::{be16, tail, u8_at};
use super::{ethernet, ip, Cx};
use crate::model::{DecodeLayer, DecodeReason};

/// PPP protocol numbers we follow.
pub(crate) mod protocol {
    pub const IPV4: u16 = 0x0021;
    pub const IPV6: u16 = 0x0057;
}

/// A checked view of a PPP header: where the protocol field is and how long it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PppFrame<'a> {
    buf: &'a [u8],
    protocol: u16,
    header_len: usize,
}

impl<'a> PppFrame<'a> {
    /// Reads the optional address/control bytes and the 1- or 2-byte protocol.
    pub(crate) fn new_checked(buf: &'a [u8]) -> Result<Self, DecodeReason> {
        if buf == [0xff] {
            // The address byte alone: the rest of the header was cut off.
            return Err(DecodeReason::Truncated);
        }
        let start = if buf.len() >= 2 && u8_at(buf, 0) == 0xff && u8_at(buf, 1) == 0x03 {
            2
        } else {
            0
        };
        let first = buf.get(start).copied().ok_or(DecodeReason::Truncated)?;
        if first & 1 == 1 {
            return Ok(PppFrame {
                buf,
                protocol: u16::from(first),
                header_len: start + 1,
            });
        }
        if buf.len() < start + 2 {
            return Err(DecodeReason::Truncated);
        }
        Ok(PppFrame {
            buf,
            protocol: be16(buf, start..start + 2),
            header_len: start + 2,
        })
    }

    pub(crate) fn protocol(&self) -> u16 {
        self.protocol
    }

    pub(crate) fn header_len(&self) -> usize {
        self.header_len
    }

    pub(crate) fn payload(&self) -> &'a [u8] {
        tail(self.buf, self.header_len)
    }
}

/// Decodes a PPP frame at frame offset `off` (LINKTYPE_PPP and LINKTYPE_PPP_HDLC).
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    // Cisco HDLC: address 0x0F (unicast) or 0x8F (broadcast), control 0, EtherType.
    if buf.len() >= 4 && matches!(u8_at(buf, 0), 0x0f | 0x8f) && u8_at(buf, 1) == 0 {
        return ethernet::dispatch(cx, be16(buf, 2..4), tail(buf, 4), off + 4);
    }
    decode_frame(cx, buf, off)
}

/// Decodes a PPP frame (address/control optional) and its IP payload.
pub(crate) fn decode_frame<'a>(cx: &mut Cx<'a>, buf: &'a [u8], off: usize) {
    match PppFrame::new_checked(buf) {
        Ok(p) => dispatch(cx, p.protocol(), p.payload(), off + p.header_len()),
        Err(reason) => cx.fail(DecodeLayer::Ppp, off, reason),
    }
}

/// Follows a PPP protocol number.
pub(crate) fn dispatch<'a>(cx: &mut Cx<'a>, protocol: u16, buf: &'a [u8], off: usize) {
    match protocol {
        protocol::IPV4 => ip::decode_v4(cx, buf, off),
        protocol::IPV6 => ip::decode_v6(cx, buf, off),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    #[test]
    fn ppp_with_and_without_address_control() {
        let ip = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, b"x"));
        for hdr in [&[0xff, 0x03, 0x00, 0x21][..], &[0x00, 0x21], &[0x21]] {
            let mut f = hdr.to_vec();
            f.extend_from_slice(&ip);
            assert!(matches!(decode(9, &f).l4, L4::Udp(_)), "{hdr:?}");
        }
        let mut f = vec![0xff, 0x03, 0x00, 0x57];
        f.extend_from_slice(&ipv6(17, 1, 2, &udp(1, 2, b"")));
        assert!(matches!(decode(50, &f).l4, L4::Udp(_)));
        sweep(50, &f, &[(0, "ppp"), (4, "ipv6"), (44, "udp"), (52, "")]);
    }

    #[test]
    fn lcp_is_not_ip_and_cisco_hdlc_is() {
        let d = decode(9, &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]);
        assert_eq!((d.net, d.error), (None, None));
        let mut f = vec![0x0f, 0x00, 0x08, 0x00];
        f.extend_from_slice(&ipv4(
            6,
            [1, 1, 1, 1],
            [2, 2, 2, 2],
            &tcp(1, 2, 0x02, &[], b""),
        ));
        assert!(matches!(decode(50, &f).l4, L4::Tcp(_)));
    }
}
