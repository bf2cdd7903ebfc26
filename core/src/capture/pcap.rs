//! Classic libpcap format (µs and ns magic, both byte orders).
//!
//! A file is a 24-byte global header followed by packet records, each a 16-byte record
//! header (seconds, fraction, captured length, original length) and the captured bytes.
//! [`GlobalHeader::parse`] checks the header once; [`record`] then reads one record at a
//! time from a slice that starts at a record boundary, checking both the lengths the
//! record claims and the bytes the slice holds, so nothing after it can panic.
//!
//! Accepted variants: the microsecond magic `a1b2c3d4` and the nanosecond magic
//! `a1b23c4d`, each in either byte order, and Alexey Kuznetzov's "modified" pcap
//! (`a1b2cd34`, µs, 24-byte record headers) as written by old Linux patched libpcap.
//! The version must be 2.x. A snaplen of 0 means "no limit" (some writers store 0).
//! A captured length shorter than the original length is data (a snaplen cut), not an
//! error; a captured length above the snaplen or above [`MAX_RECORD`] is an error.

use super::{CaptureError, CaptureErrorKind, MAX_RECORD};
use crate::Nanos;

/// Length of the pcap global (file) header.
pub const GLOBAL_HEADER_LEN: usize = 24;
/// Length of a standard pcap record header.
pub const RECORD_HEADER_LEN: usize = 16;
/// Length of a record header in Kuznetzov's modified pcap (adds ifindex, protocol, pkt_type, pad).
pub const MODIFIED_RECORD_HEADER_LEN: usize = 24;

/// Magic for microsecond timestamps, as a big-endian u32 of the first four bytes.
pub const MAGIC_USEC: u32 = 0xa1b2_c3d4;
/// Magic for nanosecond timestamps.
pub const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
/// Magic of Kuznetzov's modified pcap (microsecond timestamps).
pub const MAGIC_MODIFIED: u32 = 0xa1b2_cd34;

/// libpcap's mask for the link type inside the header's link-type field: the upper bits
/// carry the FCS length (bits 28–31) and its presence flag (bit 26).
pub const LINKTYPE_MASK: u32 = 0x03ff_ffff;

/// Field offsets of the global header (draft-ietf-opsawg-pcap §4).
mod field {
    use std::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const VERSION_MAJOR: Range<usize> = 4..6;
    pub const VERSION_MINOR: Range<usize> = 6..8;
    pub const SNAPLEN: Range<usize> = 16..20;
    pub const LINKTYPE: Range<usize> = 20..24;
    // Record header.
    pub const TS_SEC: Range<usize> = 0..4;
    pub const TS_FRAC: Range<usize> = 4..8;
    pub const CAPLEN: Range<usize> = 8..12;
    pub const ORIGLEN: Range<usize> = 12..16;
}

/// Reads a u32 in the given byte order; `None` when the slice is too short.
pub(crate) fn read_u32(data: &[u8], at: std::ops::Range<usize>, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// Reads a u16 in the given byte order; `None` when the slice is too short.
pub(crate) fn read_u16(data: &[u8], at: std::ops::Range<usize>, big_endian: bool) -> Option<u16> {
    let b: [u8; 2] = data.get(at)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

/// Which pcap flavour a magic number announces, and in which byte order the file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Magic {
    pub big_endian: bool,
    /// Timestamps' fractional part is in nanoseconds (else microseconds).
    pub nanos: bool,
    /// Kuznetzov's modified format (24-byte record headers).
    pub modified: bool,
}

impl Magic {
    /// Recognises the first four bytes of a pcap file.
    pub fn from_bytes(b: [u8; 4]) -> Option<Magic> {
        let be = u32::from_be_bytes(b);
        let le = u32::from_le_bytes(b);
        let of = |m: u32| -> Option<bool> {
            if be == m {
                Some(true)
            } else if le == m {
                Some(false)
            } else {
                None
            }
        };
        if let Some(big_endian) = of(MAGIC_USEC) {
            return Some(Magic {
                big_endian,
                nanos: false,
                modified: false,
            });
        }
        if let Some(big_endian) = of(MAGIC_NSEC) {
            return Some(Magic {
                big_endian,
                nanos: true,
                modified: false,
            });
        }
        of(MAGIC_MODIFIED).map(|big_endian| Magic {
            big_endian,
            nanos: false,
            modified: true,
        })
    }

    /// Length of one record header in this flavour.
    pub fn record_header_len(&self) -> usize {
        if self.modified {
            MODIFIED_RECORD_HEADER_LEN
        } else {
            RECORD_HEADER_LEN
        }
    }
}

/// The checked global header of a pcap file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalHeader {
    pub magic: Magic,
    pub version: (u16, u16),
    /// Largest captured length the file announces (0 = no limit announced).
    pub snaplen: u32,
    /// LINKTYPE_* value (FCS bits masked off).
    pub linktype: u32,
    /// Length of the frame check sequence present at the end of each frame, in bytes (0 when absent).
    pub fcs_len: u8,
}

impl GlobalHeader {
    /// Parses and checks the 24-byte global header at the start of `data`.
    ///
    /// Errors: `Truncated` when fewer than 24 bytes are given, `NotACapture` for an unknown
    /// magic, `Unsupported` for a version other than 2.x.
    pub fn parse(data: &[u8]) -> Result<GlobalHeader, CaptureError> {
        let magic_bytes: [u8; 4] = data
            .get(field::MAGIC)
            .and_then(|m| m.try_into().ok())
            .ok_or_else(|| {
                err(
                    CaptureErrorKind::Truncated,
                    0,
                    "input ends inside the pcap magic number".into(),
                )
            })?;
        let magic = Magic::from_bytes(magic_bytes).ok_or_else(|| {
            err(
                CaptureErrorKind::NotACapture,
                0,
                format!("{}: not a pcap file", super::describe_first_bytes(data)),
            )
        })?;
        if data.len() < GLOBAL_HEADER_LEN {
            return Err(err(
                CaptureErrorKind::Truncated,
                0,
                format!(
                    "input ends inside the pcap global header ({} of {GLOBAL_HEADER_LEN} bytes)",
                    data.len()
                ),
            ));
        }
        let be = magic.big_endian;
        let major = read_u16(data, field::VERSION_MAJOR, be).unwrap_or(0);
        let minor = read_u16(data, field::VERSION_MINOR, be).unwrap_or(0);
        if major != 2 {
            return Err(err(
                CaptureErrorKind::Unsupported,
                4,
                format!("pcap version {major}.{minor} is not supported (only 2.x)"),
            ));
        }
        let snaplen = read_u32(data, field::SNAPLEN, be).unwrap_or(0);
        let raw_lt = read_u32(data, field::LINKTYPE, be).unwrap_or(0);
        let fcs_len = if raw_lt & 0x0400_0000 != 0 {
            // FCS length in 16-bit units in the top 4 bits (libpcap LT_FCS_LENGTH).
            ((raw_lt >> 28) as u8).saturating_mul(2)
        } else {
            0
        };
        Ok(GlobalHeader {
            magic,
            version: (major, minor),
            snaplen,
            linktype: raw_lt & LINKTYPE_MASK,
            fcs_len,
        })
    }
}

/// One record read by [`record`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Total bytes the record occupies (header + captured bytes).
    pub len: usize,
    /// Offset of the captured bytes inside the record.
    pub data_start: usize,
    pub caplen: usize,
    pub origlen: u32,
    pub ts: Nanos,
    /// [`super::ts_note`] bits.
    pub ts_note: u8,
}

/// Outcome of reading one record from a slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordStep {
    /// The slice holds a whole record.
    Record(Record),
    /// The slice is too short: `need` bytes from the record start are required.
    /// `exact` is false while only the header is incomplete (the record needs at least `need`).
    Need { need: usize, exact: bool },
}

/// Reads one record at the start of `data`. `offset` is the file offset of `data[0]`, for errors.
pub fn record(hdr: &GlobalHeader, data: &[u8], offset: u64) -> Result<RecordStep, CaptureError> {
    let hlen = hdr.magic.record_header_len();
    if data.len() < hlen {
        return Ok(RecordStep::Need {
            need: hlen,
            exact: false,
        });
    }
    let be = hdr.magic.big_endian;
    let (Some(sec), Some(frac), Some(caplen), Some(origlen)) = (
        read_u32(data, field::TS_SEC, be),
        read_u32(data, field::TS_FRAC, be),
        read_u32(data, field::CAPLEN, be),
        read_u32(data, field::ORIGLEN, be),
    ) else {
        return Ok(RecordStep::Need {
            need: hlen,
            exact: false,
        });
    };
    if hdr.snaplen != 0 && caplen > hdr.snaplen {
        return Err(err(
            CaptureErrorKind::BadLength,
            offset,
            format!(
                "pcap record claims {caplen} captured bytes, more than the file's snaplen {}",
                hdr.snaplen
            ),
        ));
    }
    // Compare in u64 so a 32-bit usize cannot overflow.
    let total = u64::from(caplen) + hlen as u64;
    if total > MAX_RECORD as u64 {
        return Err(err(
            CaptureErrorKind::BadLength,
            offset,
            format!(
                "pcap record claims {caplen} captured bytes, more than the {MAX_RECORD}-byte limit"
            ),
        ));
    }
    let total = total as usize; // <= MAX_RECORD
    if data.len() < total {
        return Ok(RecordStep::Need {
            need: total,
            exact: true,
        });
    }
    let (frac_ns, whole) = if hdr.magic.nanos {
        (i64::from(frac), 1_000_000_000)
    } else {
        (i64::from(frac).saturating_mul(1000), 1_000_000)
    };
    let ts_note = if frac >= whole {
        super::ts_note::FRACTION_OVERFLOW
    } else {
        0
    };
    let ts = i64::from(sec)
        .saturating_mul(1_000_000_000)
        .saturating_add(frac_ns);
    Ok(RecordStep::Record(Record {
        len: total,
        data_start: hlen,
        caplen: caplen as usize,
        origlen,
        ts,
        ts_note,
    }))
}

fn err(kind: CaptureErrorKind, offset: u64, detail: String) -> CaptureError {
    CaptureError {
        kind,
        offset,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Little-endian µs pcap header, snaplen 65535, Ethernet.
    const HDR_LE_US: [u8; 24] = [
        0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00,
    ];
    /// Big-endian ns pcap header, snaplen 96, raw IP (101) with FCS bits set (present, 2×2 bytes).
    const HDR_BE_NS: [u8; 24] = [
        0xa1, 0xb2, 0x3c, 0x4d, 0x00, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00,
        0x60, 0x24, 0x00, 0x00, 0x65,
    ];

    #[test]
    fn parses_both_byte_orders_and_resolutions() {
        let h = GlobalHeader::parse(&HDR_LE_US).unwrap();
        assert_eq!(
            h.magic,
            Magic {
                big_endian: false,
                nanos: false,
                modified: false
            }
        );
        assert_eq!(
            (h.version, h.snaplen, h.linktype, h.fcs_len),
            ((2, 4), 65535, 1, 0)
        );
        let h = GlobalHeader::parse(&HDR_BE_NS).unwrap();
        assert_eq!(
            h.magic,
            Magic {
                big_endian: true,
                nanos: true,
                modified: false
            }
        );
        assert_eq!((h.snaplen, h.linktype, h.fcs_len), (96, 101, 4));
    }

    #[test]
    fn record_timestamps_and_lengths() {
        let h = GlobalHeader::parse(&HDR_LE_US).unwrap();
        // sec = 1_600_000_000 (0x5f5e1000), usec = 250_000 (0x0003d090), caplen 2, origlen 60.
        let rec = [
            0x00, 0x10, 0x5e, 0x5f, 0x90, 0xd0, 0x03, 0x00, 2, 0, 0, 0, 60, 0, 0, 0, 0xaa, 0xbb,
        ];
        let RecordStep::Record(r) = record(&h, &rec, 24).unwrap() else {
            panic!("incomplete")
        };
        assert_eq!(
            r,
            Record {
                len: 18,
                data_start: 16,
                caplen: 2,
                origlen: 60,
                ts: 1_600_000_000_250_000_000,
                ts_note: 0,
            }
        );
        let h = GlobalHeader::parse(&HDR_BE_NS).unwrap();
        let rec = [0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 1, 0x45];
        let RecordStep::Record(r) = record(&h, &rec, 24).unwrap() else {
            panic!("incomplete")
        };
        assert_eq!((r.ts, r.caplen, r.origlen), (1_000_000_007, 1, 1));
    }

    #[test]
    fn incomplete_records_say_how_much_they_need() {
        let h = GlobalHeader::parse(&HDR_LE_US).unwrap();
        let rec = [0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 1, 2, 3];
        for cut in 0..16 {
            assert_eq!(
                record(&h, &rec[..cut], 0).unwrap(),
                RecordStep::Need {
                    need: 16,
                    exact: false
                }
            );
        }
        assert_eq!(
            record(&h, &rec, 0).unwrap(),
            RecordStep::Need {
                need: 26,
                exact: true
            }
        );
    }

    #[test]
    fn impossible_lengths_are_errors_with_offset() {
        let h = GlobalHeader::parse(&HDR_BE_NS).unwrap(); // snaplen 96
        let rec = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 97, 0, 0, 0, 97];
        let e = record(&h, &rec, 1234).unwrap_err();
        assert_eq!((e.kind, e.offset), (CaptureErrorKind::BadLength, 1234));
        assert!(e.detail.contains("snaplen 96"), "{}", e.detail);
        let h = GlobalHeader::parse(&[&HDR_LE_US[..16], &[0, 0, 0, 0], &HDR_LE_US[20..]].concat())
            .unwrap();
        let rec = [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        let e = record(&h, &rec, 24).unwrap_err();
        assert_eq!(e.kind, CaptureErrorKind::BadLength);
        assert!(e.detail.contains("limit"), "{}", e.detail);
    }

    #[test]
    fn truncation_is_data_not_error() {
        let h = GlobalHeader::parse(&HDR_LE_US).unwrap();
        let rec = [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0xdc, 0x05, 0, 0, 0x45];
        let RecordStep::Record(r) = record(&h, &rec, 24).unwrap() else {
            panic!("incomplete")
        };
        assert_eq!((r.caplen, r.origlen), (1, 1500));
    }

    #[test]
    fn bad_headers() {
        let mut v = HDR_LE_US;
        v[4] = 3;
        let e = GlobalHeader::parse(&v).unwrap_err();
        assert_eq!((e.kind, e.offset), (CaptureErrorKind::Unsupported, 4));
        assert!(e.detail.contains("3.4"), "{}", e.detail);
        let e = GlobalHeader::parse(b"<!DOCTYPE html><html></html>").unwrap_err();
        assert_eq!(e.kind, CaptureErrorKind::NotACapture);
        assert!(e.detail.contains("3c 21 44 4f"), "{}", e.detail);
        for cut in 0..24 {
            let e = GlobalHeader::parse(&HDR_LE_US[..cut]).unwrap_err();
            assert_eq!(e.kind, CaptureErrorKind::Truncated, "cut {cut}");
        }
    }

    #[test]
    fn modified_pcap_has_longer_record_headers() {
        let mut v = HDR_LE_US;
        v[..4].copy_from_slice(&[0x34, 0xcd, 0xb2, 0xa1]);
        let h = GlobalHeader::parse(&v).unwrap();
        assert!(h.magic.modified);
        let mut rec = vec![0u8; 24];
        rec[8] = 1;
        rec[12] = 1;
        rec.push(0x45);
        let RecordStep::Record(r) = record(&h, &rec, 24).unwrap() else {
            panic!("incomplete")
        };
        assert_eq!((r.len, r.data_start, r.caplen), (25, 24, 1));
    }

    /// Issue 13: a fraction of a second ≥ 1 s is carried into the seconds and noted.
    #[test]
    fn fraction_overflow_is_noted() {
        let h = GlobalHeader::parse(&HDR_BE_NS).unwrap();
        // 1 s + 1.5e9 ns.
        let rec = [
            0, 0, 0, 1, 0x59, 0x68, 0x2f, 0x00, 0, 0, 0, 1, 0, 0, 0, 1, 0x45,
        ];
        let RecordStep::Record(r) = record(&h, &rec, 24).unwrap() else {
            panic!("incomplete")
        };
        assert_eq!(
            (r.ts, r.ts_note),
            (2_500_000_000, super::super::ts_note::FRACTION_OVERFLOW)
        );
        let ok = [
            0, 0, 0, 1, 0x3b, 0x9a, 0xc9, 0xff, 0, 0, 0, 1, 0, 0, 0, 1, 0x45,
        ];
        let RecordStep::Record(r) = record(&h, &ok, 24).unwrap() else {
            panic!("incomplete")
        };
        assert_eq!(r.ts_note, 0, "999,999,999 ns is a valid fraction");
    }
}
