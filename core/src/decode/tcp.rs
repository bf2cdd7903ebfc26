//! TCP (RFC 9293) header, options and checksum.
//!
//! [`TcpSegment::new_checked`] checks the data offset (≥ 5 and within the segment's wire
//! length) and that the whole header with options was captured; accessors cannot panic
//! after. Options are walked at most [`MAX_OPTIONS`] times; a bad option length stops the
//! walk with the anomaly `bad_tcp_options` (what was read before is kept).

use super::bytes::{be16, be32, head, tail, u8_at};
use super::ip::IpPayload;
use super::{checksum, tcp_flags, Cx, Tcp, L4};
use crate::model::{Anomaly, DecodeLayer, DecodeReason};

mod field {
    use std::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ: Range<usize> = 4..8;
    pub const ACK: Range<usize> = 8..12;
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Range<usize> = 14..16;
    #[allow(dead_code)]
    pub const CHECKSUM: Range<usize> = 16..18;
    #[allow(dead_code)]
    pub const URGENT: Range<usize> = 18..20;
    pub const OPTIONS: usize = 20;
}

/// The header length without options.
pub(crate) const MIN_HEADER_LEN: usize = field::OPTIONS;

/// At most this many options are read (40 option bytes allow at most 40 anyway).
pub(crate) const MAX_OPTIONS: usize = 40;

/// Option kinds.
mod opt {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WSCALE: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const TIMESTAMPS: u8 = 8;
}

/// A checked view of a TCP header over the captured bytes of the segment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TcpSegment<'a> {
    buf: &'a [u8],
}

impl<'a> TcpSegment<'a> {
    /// Checks the data offset against `wire_len` (the segment length per the IP header) and
    /// that the header is in `buf`.
    pub(crate) fn new_checked(buf: &'a [u8], wire_len: usize) -> Result<Self, DecodeReason> {
        let doff = buf.get(field::DATA_OFFSET).map(|b| usize::from(b >> 4) * 4);
        if doff.is_some_and(|d| d < MIN_HEADER_LEN) {
            return Err(DecodeReason::BadDataOffset);
        }
        if wire_len < doff.unwrap_or(MIN_HEADER_LEN) {
            return Err(DecodeReason::BadDataOffset);
        }
        match doff {
            Some(d) if buf.len() >= d => Ok(TcpSegment { buf }),
            _ => Err(DecodeReason::Truncated),
        }
    }

    pub(crate) fn header_len(&self) -> usize {
        usize::from(u8_at(self.buf, field::DATA_OFFSET) >> 4) * 4
    }
    pub(crate) fn src_port(&self) -> u16 {
        be16(self.buf, field::SRC_PORT)
    }
    pub(crate) fn dst_port(&self) -> u16 {
        be16(self.buf, field::DST_PORT)
    }
    pub(crate) fn seq(&self) -> u32 {
        be32(self.buf, field::SEQ)
    }
    pub(crate) fn ack(&self) -> u32 {
        be32(self.buf, field::ACK)
    }
    pub(crate) fn flags(&self) -> u8 {
        u8_at(self.buf, field::FLAGS)
    }
    pub(crate) fn window(&self) -> u16 {
        be16(self.buf, field::WINDOW)
    }
    pub(crate) fn options(&self) -> &'a [u8] {
        head(
            tail(self.buf, field::OPTIONS),
            self.header_len().saturating_sub(MIN_HEADER_LEN),
        )
    }
    pub(crate) fn payload(&self) -> &'a [u8] {
        tail(self.buf, self.header_len())
    }
}

/// Options we keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: Option<(u32, u32)>,
}

/// Walks the options; `Err` carries what was read before a bad length.
pub(crate) fn parse_options(mut b: &[u8]) -> Result<Options, Options> {
    let mut o = Options::default();
    for _ in 0..MAX_OPTIONS {
        let kind = match b.first() {
            None | Some(&opt::END) => return Ok(o),
            Some(&k) => k,
        };
        if kind == opt::NOP {
            b = tail(b, 1);
            continue;
        }
        let len = usize::from(u8_at(b, 1));
        if len < 2 || len > b.len() {
            return Err(o);
        }
        let body = b.get(2..len).unwrap_or(&[]);
        match (kind, body.len()) {
            (opt::MSS, 2) => o.mss = Some(be16(body, 0..2)),
            (opt::WSCALE, 1) => o.wscale = Some(u8_at(body, 0)),
            (opt::SACK_PERMITTED, 0) => o.sack_permitted = true,
            (opt::TIMESTAMPS, 8) => o.timestamps = Some((be32(body, 0..4), be32(body, 4..8))),
            (opt::MSS | opt::WSCALE | opt::SACK_PERMITTED | opt::TIMESTAMPS, _) => return Err(o),
            _ => {}
        }
        b = tail(b, len);
    }
    Ok(o)
}

/// Decodes a TCP segment.
pub(crate) fn decode<'a>(cx: &mut Cx<'a>, p: &IpPayload<'a>) {
    let s = match TcpSegment::new_checked(p.data, p.wire_len as usize) {
        Ok(s) => s,
        Err(reason) => return cx.fail(DecodeLayer::Tcp, p.off, reason),
    };
    let opts = parse_options(s.options()).unwrap_or_else(|o| {
        cx.d.anomalies.add(Anomaly::BadTcpOptions);
        o
    });
    let flags = s.flags();
    let syn = flags & tcp_flags::SYN != 0;
    if syn && flags & tcp_flags::FIN != 0 {
        cx.d.anomalies.add(Anomaly::TcpSynFin);
    }
    if syn && flags & tcp_flags::RST != 0 {
        cx.d.anomalies.add(Anomaly::TcpSynRst);
    }
    if flags == 0 {
        cx.d.anomalies.add(Anomaly::TcpNoFlags);
    }
    if p.checkable() {
        let total = checksum::add(
            checksum::pseudo(p.addr_sum, p.proto, p.wire_len),
            checksum::sum(p.data),
        );
        if !checksum::is_valid(total) {
            cx.d.anomalies.add(Anomaly::BadTcpChecksum);
        }
    }
    let hl = s.header_len() as u32;
    cx.d.l4 = L4::Tcp(Tcp {
        src_port: s.src_port(),
        dst_port: s.dst_port(),
        seq: s.seq(),
        ack: s.ack(),
        flags,
        window: s.window(),
        mss: opts.mss,
        wscale: opts.wscale,
        sack_permitted: opts.sack_permitted,
        timestamps: opts.timestamps,
        seg_len: p.wire_len.saturating_sub(hl),
        payload: s.payload(),
    });
}

#[cfg(test)]
mod tests {
    use super::{parse_options, Options};
    use crate::decode::{decode, L4};
    use crate::testkit::frames::*;

    fn anomalies(d: &crate::decode::Decoded<'_>) -> Vec<&'static str> {
        d.anomalies.iter().map(|a| a.as_str()).collect()
    }

    #[test]
    fn syn_with_options() {
        // MSS 1460, SACK-permitted, timestamps, NOP, window scale 7 (Linux's SYN layout).
        let opts = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let ip = ipv4(
            6,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &tcp(40000, 443, 0x02, &opts, b""),
        );
        let d = decode(228, &ip);
        assert!(d.anomalies.is_empty(), "{:?}", anomalies(&d));
        match d.l4 {
            L4::Tcp(t) => {
                assert_eq!(
                    (t.src_port, t.dst_port, t.flags, t.seq),
                    (40000, 443, 0x02, 1000)
                );
                assert_eq!(
                    (t.mss, t.wscale, t.sack_permitted, t.timestamps),
                    (Some(1460), Some(7), true, Some((1, 0)))
                );
                assert_eq!((t.seg_len, t.payload.len(), t.window), (0, 0, 65535));
            }
            other => panic!("{other:?}"),
        }
        sweep(228, &ip, &[(0, "ipv4"), (20, "tcp"), (60, "")]);
    }

    #[test]
    fn option_walk_edge_cases() {
        assert_eq!(parse_options(&[1, 1, 0, 2, 4]), Ok(Options::default()));
        assert_eq!(
            parse_options(&[2, 4, 1, 0, 3, 1]),
            Err(Options {
                mss: Some(256),
                ..Default::default()
            })
        );
        assert!(parse_options(&[2, 0]).is_err(), "length 0");
        assert!(
            parse_options(&[2, 5, 0, 0, 0]).is_err(),
            "MSS with length 5"
        );
        assert!(
            parse_options(&[30, 2, 1, 1]).is_ok(),
            "unknown option skipped"
        );
        assert!(parse_options(&[1u8; 40]).is_ok());
    }

    #[test]
    fn bad_option_length_is_an_anomaly() {
        let opts = [2, 4, 5, 0xb4, 3, 9, 0, 0];
        let buf = ipv4(
            6,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &tcp(1, 2, 0x02, &opts, b""),
        );
        let d = decode(228, &buf);
        assert_eq!(anomalies(&d), ["bad_tcp_options"]);
        assert!(matches!(d.l4, L4::Tcp(t) if t.mss == Some(1460)));
    }

    #[test]
    fn flag_anomalies() {
        for (flags, name) in [
            (0x03, "tcp_syn_fin"),
            (0x06, "tcp_syn_rst"),
            (0x00, "tcp_no_flags"),
        ] {
            let buf = ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &tcp(1, 2, flags, &[], b""));
            let d = decode(228, &buf);
            assert_eq!(anomalies(&d), [name]);
        }
    }

    #[test]
    fn checksum_verified_only_when_whole() {
        let mut ip = ipv4(
            6,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &tcp(1, 2, 0x18, &[], b"GET / HTTP/1.1\r\n"),
        );
        let d = decode(228, &ip);
        assert!(d.anomalies.is_empty());
        let last = ip.len() - 1;
        ip[last] ^= 0x20;
        let d = decode(228, &ip);
        assert_eq!(anomalies(&d), ["bad_tcp_checksum"]);
        assert!(matches!(d.l4, L4::Tcp(t) if t.seg_len == 16 && t.payload.len() == 16));
        let v6 = ipv6(6, 1, 2, &tcp(1, 2, 0x18, &[], b"payload"));
        assert!(decode(229, &v6).anomalies.is_empty());
    }

    #[test]
    fn impossible_data_offsets() {
        let mut seg = tcp(1, 2, 0x10, &[], b"abcd");
        seg[12] = 0x40; // 16 bytes
        let e = decode(228, &ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &seg))
            .error
            .unwrap();
        assert_eq!(
            (e.layer.as_str(), e.offset, e.reason.as_str()),
            ("tcp", 20, "bad_data_offset")
        );
        seg[12] = 0xf0; // 60 bytes, but the segment is 24
        let e = decode(228, &ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &seg))
            .error
            .unwrap();
        assert_eq!(e.reason.as_str(), "bad_data_offset");
        // A 12-byte segment (per IP) cannot hold a TCP header.
        let e = decode(228, &ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &[0u8; 12]))
            .error
            .unwrap();
        assert_eq!(e.reason.as_str(), "bad_data_offset");
    }
}
