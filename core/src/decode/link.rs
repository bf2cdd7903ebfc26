//! Link-type dispatch: from a LINKTYPE_* number to the first header of the frame.

use super::{ethernet, ip, null, ppp, pppoe, sll, sll2, Cx};
use crate::model::{Anomaly, DecodeLayer, DecodeReason};

/// LINKTYPE_* numbers we decode (tcpdump.org/linktypes.html).
pub(crate) mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const PPP: u32 = 9;
    /// DLT_RAW on most platforms (LINKTYPE 101 is the canonical number).
    pub const RAW_12: u32 = 12;
    /// DLT_RAW on OpenBSD.
    pub const RAW_14: u32 = 14;
    pub const PPP_HDLC: u32 = 50;
    pub const PPP_ETHER: u32 = 51;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

/// Decodes a frame from its first byte according to its link type.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, lt: u32, data: &'a [u8]) {
    match lt {
        linktype::ETHERNET => ethernet::decode(cx, data, 0),
        linktype::NULL => null::decode(cx, data, false),
        linktype::LOOP => null::decode(cx, data, true),
        linktype::RAW | linktype::RAW_12 | linktype::RAW_14 => {
            ip::decode_by_version(cx, data, 0, DecodeLayer::RawIp)
        }
        linktype::IPV4 | linktype::IPV6 => {
            // The link type promises one version; a mislabelled file (seen in the wild) is
            // still decoded by its version nibble, with an anomaly.
            let want = if lt == linktype::IPV4 { 4 } else { 6 };
            if data
                .first()
                .is_some_and(|b| matches!(b >> 4, 4 | 6) && b >> 4 != want)
            {
                cx.d.anomalies.add(Anomaly::IpVersionMismatch);
                ip::decode_by_version(cx, data, 0, DecodeLayer::RawIp)
            } else if want == 4 {
                ip::decode_v4(cx, data, 0)
            } else {
                ip::decode_v6(cx, data, 0)
            }
        }
        linktype::LINUX_SLL => sll::decode(cx, data),
        linktype::LINUX_SLL2 => sll2::decode(cx, data),
        linktype::PPP | linktype::PPP_HDLC => ppp::decode(cx, data, 0),
        linktype::PPP_ETHER => pppoe::decode(cx, data, 0),
        _ => cx.fail(DecodeLayer::Link, 0, DecodeReason::UnsupportedLinktype),
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::decode;

    #[test]
    fn unknown_linktype_is_an_error() {
        let d = decode(147, &[0x45, 0, 0, 20]);
        let e = d.error.unwrap();
        assert_eq!(
            (e.layer.as_str(), e.offset, e.reason.as_str()),
            ("link", 0, "unsupported_linktype")
        );
        assert!(d.net.is_none());
    }
}
