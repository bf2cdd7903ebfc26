//! pcapng: sections, interfaces (link type, tsresol/tsoffset), EPB/SPB/legacy packet blocks.
//!
//! A pcapng file is a sequence of blocks `type(4) length(4) body length(4)`. Each Section
//! Header Block (SHB) starts a section with its own byte order and an empty interface
//! table; Interface Description Blocks (IDB) append to that table; packet blocks name an
//! interface by index. [`Sections::block`] reads one whole block from a slice that starts at
//! a block boundary: it checks the length fields (a multiple of 4, at least 12, at most
//! [`MAX_RECORD`], trailing copy equal to the leading one) with checked arithmetic before
//! anything else, so no later access can panic or over-allocate.
//!
//! Packet blocks read: Enhanced Packet Block (type 6), Simple Packet Block (type 3,
//! interface 0, no timestamp: it takes the previous packet's timestamp so time stays
//! monotonic for flow code), and the obsolete Packet Block (type 2). Other blocks (name
//! resolution, statistics, decryption secrets, custom, unknown) are skipped.
//! Timestamps are converted with the interface's `if_tsresol` (a power of 10 or of 2) and
//! `if_tsoffset` (seconds) to nanoseconds since the epoch, saturating on overflow.

use super::pcap::{read_u16, read_u32};
use super::{CaptureError, CaptureErrorKind, MAX_RECORD};
use crate::Nanos;

/// Section Header Block type (a palindrome, so readable before the byte order is known).
pub const BT_SHB: u32 = 0x0a0d_0d0a;
/// Interface Description Block.
pub const BT_IDB: u32 = 1;
/// Obsolete Packet Block.
pub const BT_PB: u32 = 2;
/// Simple Packet Block.
pub const BT_SPB: u32 = 3;
/// Enhanced Packet Block.
pub const BT_EPB: u32 = 6;
/// Byte-order magic of the SHB.
pub const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// Most interfaces accepted in one section (each costs a few bytes of memory).
pub const MAX_INTERFACES: usize = 65_536;

/// Field offsets inside a block (draft-ietf-opsawg-pcapng §4).
mod field {
    use std::ops::Range;
    pub const TYPE: Range<usize> = 0..4;
    pub const LENGTH: Range<usize> = 4..8;
    pub const SHB_BYTE_ORDER: Range<usize> = 8..12;
    pub const SHB_MAJOR: Range<usize> = 12..14;
    pub const SHB_MINOR: Range<usize> = 14..16;
    pub const IDB_LINKTYPE: Range<usize> = 8..10;
    pub const IDB_SNAPLEN: Range<usize> = 12..16;
    pub const IDB_OPTIONS: usize = 16;
    pub const EPB_INTERFACE: Range<usize> = 8..12;
    pub const PB_INTERFACE: Range<usize> = 8..10;
    pub const TS_HIGH: Range<usize> = 12..16;
    pub const TS_LOW: Range<usize> = 16..20;
    pub const CAPLEN: Range<usize> = 20..24;
    pub const ORIGLEN: Range<usize> = 24..28;
    pub const EPB_DATA: usize = 28;
    pub const SPB_ORIGLEN: Range<usize> = 8..12;
    pub const SPB_DATA: usize = 12;
}

/// Smallest legal block: type, length, trailing length.
const MIN_BLOCK: usize = 12;
const MIN_SHB: usize = 28;
const MIN_IDB: usize = 20;
const MIN_EPB: usize = 32;
const MIN_SPB: usize = 16;
const OPT_END: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// Timestamp resolution of an interface (`if_tsresol`), precomputed as a conversion to ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsResolution {
    /// Units of 10^-n s with n ≤ 9: multiply by this factor.
    Mul(u64),
    /// Units of 10^-n s with n > 9: divide by this divisor. `Div(0)` stands for units finer
    /// than 10^-28 s (10^(n-9) overflows u64): every value then rounds to 0 ns.
    Div(u64),
    /// Units of 2^-n s: ns = units × 10^9 / 2^n.
    Pow2(u8),
}

impl Default for TsResolution {
    /// Microseconds, the pcapng default.
    fn default() -> Self {
        TsResolution::Mul(1000)
    }
}

impl TsResolution {
    /// From the `if_tsresol` option byte: high bit clear = power of 10, set = power of 2.
    pub fn from_option(v: u8) -> TsResolution {
        if v & 0x80 != 0 {
            return TsResolution::Pow2(v & 0x7f);
        }
        if v <= 9 {
            TsResolution::Mul(10u64.pow(9 - u32::from(v)))
        } else {
            // 10^(v-9) fits in u64 up to v-9 = 19; finer units round to 0 ns per unit.
            TsResolution::Div(10u64.checked_pow(u32::from(v) - 9).unwrap_or(0))
        }
    }

    /// True for a resolution no capture clock has: finer than 10^-12 s or 2^-40 s.
    pub fn absurd(self) -> bool {
        match self {
            TsResolution::Mul(_) => false,
            TsResolution::Div(d) => d == 0 || d > 1000,
            TsResolution::Pow2(n) => n > 40,
        }
    }

    /// Converts a timestamp in interface units to nanoseconds, saturating at `i64::MAX`.
    pub fn to_nanos(self, units: u64) -> Nanos {
        let ns: u128 = match self {
            TsResolution::Mul(m) => u128::from(units) * u128::from(m),
            TsResolution::Div(0) => 0,
            TsResolution::Div(d) => u128::from(units / d),
            TsResolution::Pow2(n) => (u128::from(units) * 1_000_000_000) >> n,
        };
        i64::try_from(ns).unwrap_or(i64::MAX)
    }
}

/// One entry of a section's interface table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interface {
    pub linktype: u32,
    /// 0 = no limit.
    pub snaplen: u32,
    pub tsresol: TsResolution,
    /// `if_tsoffset`, seconds added to every timestamp.
    pub tsoffset: i64,
}

impl Interface {
    fn ts(&self, high: u32, low: u32) -> Nanos {
        let units = (u64::from(high) << 32) | u64::from(low);
        self.tsresol
            .to_nanos(units)
            .saturating_add(self.tsoffset.saturating_mul(1_000_000_000))
    }
}

/// A packet found in a block, located inside the block's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketRef {
    pub data_start: usize,
    pub caplen: usize,
    pub origlen: u32,
    pub ts: Nanos,
    pub linktype: u32,
    /// [`super::ts_note`] bits.
    pub ts_note: u8,
}

/// Outcome of reading one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockStep {
    /// A whole block of `len` bytes was read; it held a packet, or described an interface.
    Block {
        len: usize,
        packet: Option<PacketRef>,
        interface_linktype: Option<u32>,
    },
    /// The slice is too short: `need` bytes from the block start are required;
    /// `exact` is false while the length field itself is not yet readable.
    Need { need: usize, exact: bool },
}

/// The state a pcapng reader carries between blocks: the current section.
#[derive(Clone, Debug, Default)]
pub struct Sections {
    /// Byte order of the current section (None before the first SHB).
    big_endian: Option<bool>,
    interfaces: Vec<Interface>,
    /// Sections read so far.
    pub sections: u64,
    /// Timestamp of the previous packet (for Simple Packet Blocks, which carry none).
    last_ts: Nanos,
}

impl Sections {
    pub fn new() -> Self {
        Self::default()
    }

    /// Byte order of the current section (`None` before the first section header).
    pub fn big_endian(&self) -> Option<bool> {
        self.big_endian
    }

    /// Interfaces of the current section.
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// Reads one block at the start of `data` (`offset` = its file offset, for errors).
    /// State changes only when a whole block is returned.
    pub fn block(&mut self, data: &[u8], offset: u64) -> Result<BlockStep, CaptureError> {
        let Some(btype) = read_u32(data, field::TYPE, false) else {
            return Ok(BlockStep::Need {
                need: 8,
                exact: false,
            });
        };
        let be = if btype == BT_SHB {
            let Some(bom) = read_u32(data, field::SHB_BYTE_ORDER, true) else {
                return Ok(BlockStep::Need {
                    need: MIN_BLOCK,
                    exact: false,
                });
            };
            if bom == BYTE_ORDER_MAGIC {
                true
            } else if bom.swap_bytes() == BYTE_ORDER_MAGIC {
                false
            } else {
                let kind = if self.sections == 0 {
                    CaptureErrorKind::NotACapture
                } else {
                    CaptureErrorKind::Malformed
                };
                return Err(err(
                    kind,
                    offset,
                    format!(
                        "pcapng section header with byte-order magic {bom:08x} (expected 1a2b3c4d)"
                    ),
                ));
            }
        } else {
            match self.big_endian {
                Some(be) => be,
                None => {
                    return Err(err(
                        CaptureErrorKind::Malformed,
                        offset,
                        "pcapng block before any section header".into(),
                    ))
                }
            }
        };
        let btype = if be { btype.swap_bytes() } else { btype };
        let Some(len32) = read_u32(data, field::LENGTH, be) else {
            return Ok(BlockStep::Need {
                need: 8,
                exact: false,
            });
        };
        let name = block_name(btype);
        if (len32 as usize) < MIN_BLOCK || len32 % 4 != 0 || u64::from(len32) > MAX_RECORD as u64 {
            return Err(err(
                CaptureErrorKind::BadLength,
                offset,
                format!(
                    "{name} claims a length of {len32} bytes (must be a multiple of 4, at least {MIN_BLOCK}, at most {MAX_RECORD})"
                ),
            ));
        }
        let len = len32 as usize; // <= MAX_RECORD
        let min = match btype {
            BT_SHB => MIN_SHB,
            BT_IDB => MIN_IDB,
            BT_EPB | BT_PB => MIN_EPB,
            BT_SPB => MIN_SPB,
            _ => MIN_BLOCK,
        };
        if len < min {
            return Err(err(
                CaptureErrorKind::BadLength,
                offset,
                format!("{name} claims a length of {len} bytes, less than its minimum of {min}"),
            ));
        }
        let Some(block) = data.get(..len) else {
            return Ok(BlockStep::Need {
                need: len,
                exact: true,
            });
        };
        let trailer = read_u32(block, len - 4..len, be).unwrap_or(0);
        if trailer != len32 {
            return Err(err(
                CaptureErrorKind::BadLength,
                offset,
                format!("{name} length {len32} does not match its trailing length {trailer}"),
            ));
        }
        let mut interface_linktype = None;
        let packet = match btype {
            BT_SHB => {
                let major = read_u16(block, field::SHB_MAJOR, be).unwrap_or(0);
                let minor = read_u16(block, field::SHB_MINOR, be).unwrap_or(0);
                if major != 1 {
                    return Err(err(
                        CaptureErrorKind::Unsupported,
                        offset,
                        format!("pcapng version {major}.{minor} is not supported (only 1.x)"),
                    ));
                }
                self.big_endian = Some(be);
                self.interfaces.clear();
                self.sections = self.sections.saturating_add(1);
                None
            }
            BT_IDB => {
                if self.interfaces.len() >= MAX_INTERFACES {
                    return Err(err(
                        CaptureErrorKind::Unsupported,
                        offset,
                        format!("more than {MAX_INTERFACES} interfaces in one pcapng section"),
                    ));
                }
                let iface = parse_idb(block, be);
                interface_linktype = Some(iface.linktype);
                self.interfaces.push(iface);
                None
            }
            BT_EPB | BT_PB => {
                let if_id = if btype == BT_EPB {
                    read_u32(block, field::EPB_INTERFACE, be).unwrap_or(0)
                } else {
                    u32::from(read_u16(block, field::PB_INTERFACE, be).unwrap_or(0))
                };
                let iface = self.interface(if_id, name, offset)?;
                let high = read_u32(block, field::TS_HIGH, be).unwrap_or(0);
                let low = read_u32(block, field::TS_LOW, be).unwrap_or(0);
                let caplen = read_u32(block, field::CAPLEN, be).unwrap_or(0);
                let origlen = read_u32(block, field::ORIGLEN, be).unwrap_or(0);
                // Data + trailing length must fit: 28 + caplen + 4 <= len (u64: no overflow).
                let room = (len - MIN_EPB) as u64;
                if u64::from(caplen) > room {
                    return Err(err(
                        CaptureErrorKind::BadLength,
                        offset,
                        format!("{name} claims {caplen} captured bytes but has room for {room}"),
                    ));
                }
                let ts = iface.ts(high, low);
                self.last_ts = ts;
                let absurd = iface.tsresol.absurd() || ts == Nanos::MAX;
                Some(PacketRef {
                    data_start: field::EPB_DATA,
                    caplen: caplen as usize,
                    origlen,
                    ts,
                    linktype: iface.linktype,
                    ts_note: if absurd {
                        super::ts_note::ABSURD_RESOLUTION
                    } else {
                        0
                    },
                })
            }
            BT_SPB => {
                let iface = self.interface(0, name, offset)?;
                let origlen = read_u32(block, field::SPB_ORIGLEN, be).unwrap_or(0);
                let room = len - MIN_SPB;
                let mut caplen = room.min(origlen as usize);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                Some(PacketRef {
                    data_start: field::SPB_DATA,
                    caplen,
                    origlen,
                    ts: self.last_ts,
                    linktype: iface.linktype,
                    ts_note: 0,
                })
            }
            _ => None,
        };
        Ok(BlockStep::Block {
            len,
            packet,
            interface_linktype,
        })
    }

    fn interface(&self, id: u32, name: &str, offset: u64) -> Result<Interface, CaptureError> {
        self.interfaces.get(id as usize).copied().ok_or_else(|| {
            err(
                CaptureErrorKind::Malformed,
                offset,
                format!(
                    "{name} names interface {id}, but the section describes {} interface(s)",
                    self.interfaces.len()
                ),
            )
        })
    }
}

/// Reads an IDB's link type, snaplen and the timestamp options. Options are read laxly:
/// a malformed option list ends the list (defaults stay), it does not reject the block.
fn parse_idb(block: &[u8], be: bool) -> Interface {
    let mut iface = Interface {
        linktype: u32::from(read_u16(block, field::IDB_LINKTYPE, be).unwrap_or(0)),
        snaplen: read_u32(block, field::IDB_SNAPLEN, be).unwrap_or(0),
        tsresol: TsResolution::default(),
        tsoffset: 0,
    };
    let end = block.len().saturating_sub(4);
    let mut pos = field::IDB_OPTIONS;
    // Each iteration advances by at least 4 bytes, so the loop is bounded by the block length.
    while let (Some(code), Some(olen)) = (
        read_u16(block, pos..pos + 2, be),
        read_u16(block, pos + 2..pos + 4, be),
    ) {
        let value_start = pos + 4;
        let olen = usize::from(olen);
        let value_end = value_start + olen;
        if code == OPT_END || value_end > end {
            break;
        }
        let value = block.get(value_start..value_end).unwrap_or(&[]);
        match (code, value) {
            (OPT_IF_TSRESOL, [v, ..]) => iface.tsresol = TsResolution::from_option(*v),
            (OPT_IF_TSOFFSET, v) if v.len() == 8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(v);
                iface.tsoffset = if be {
                    i64::from_be_bytes(b)
                } else {
                    i64::from_le_bytes(b)
                };
            }
            _ => {}
        }
        pos = value_start + olen.div_ceil(4) * 4;
        if pos + 4 > end {
            break;
        }
    }
    iface
}

/// Human name of a block type, for messages.
pub fn block_name(btype: u32) -> &'static str {
    match btype {
        BT_SHB => "pcapng section header block",
        BT_IDB => "pcapng interface description block",
        BT_PB => "pcapng packet block",
        BT_SPB => "pcapng simple packet block",
        4 => "pcapng name resolution block",
        5 => "pcapng interface statistics block",
        BT_EPB => "pcapng enhanced packet block",
        10 => "pcapng decryption secrets block",
        _ => "pcapng block",
    }
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

    /// Little-endian SHB, version 1.0, section length -1, no options (28 bytes).
    const SHB_LE: [u8; 28] = [
        0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0,
    ];
    /// Big-endian SHB.
    const SHB_BE: [u8; 28] = [
        0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 28, 0x1a, 0x2b, 0x3c, 0x4d, 0, 1, 0, 0, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 28,
    ];
    /// LE IDB: Ethernet, snaplen 0, if_tsresol = 9 (ns), if_tsoffset = 10 s, end of options (40 bytes).
    const IDB_LE_NS: [u8; 40] = [
        1, 0, 0, 0, 40, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
        0, // type, len, linktype, reserved, snaplen
        9, 0, 1, 0, 9, 0, 0, 0, // if_tsresol = 9
        14, 0, 8, 0, 10, 0, 0, 0, 0, 0, 0, 0, // if_tsoffset = 10
        40, 0, 0, 0,
    ];
    /// BE IDB: Linux SLL (113), snaplen 4, no options.
    const IDB_BE_SLL: [u8; 20] = [
        0, 0, 0, 1, 0, 0, 0, 20, 0, 113, 0, 0, 0, 0, 0, 4, 0, 0, 0, 20,
    ];

    fn run(s: &mut Sections, mut data: &[u8]) -> Vec<(Option<PacketRef>, Option<u32>)> {
        let mut out = vec![];
        while !data.is_empty() {
            match s.block(data, 0).unwrap() {
                BlockStep::Block {
                    len,
                    packet,
                    interface_linktype,
                } => {
                    out.push((packet, interface_linktype));
                    data = &data[len..];
                }
                BlockStep::Need { need, .. } => panic!("need {need}"),
            }
        }
        out
    }

    #[test]
    fn tsresol_conversions() {
        assert_eq!(
            TsResolution::from_option(6).to_nanos(1_500_000),
            1_500_000_000
        );
        assert_eq!(TsResolution::from_option(9).to_nanos(7), 7);
        assert_eq!(TsResolution::from_option(0).to_nanos(2), 2_000_000_000);
        assert_eq!(TsResolution::from_option(12).to_nanos(5_000), 5);
        assert_eq!(TsResolution::from_option(127).to_nanos(u64::MAX), 0);
        assert_eq!(
            TsResolution::from_option(0x80 | 10).to_nanos(1024 * 3),
            3_000_000_000
        );
        assert_eq!(TsResolution::from_option(0xff).to_nanos(u64::MAX), 0);
        assert_eq!(TsResolution::from_option(0).to_nanos(u64::MAX), i64::MAX);
    }

    #[test]
    fn idb_options_and_epb_ns_timestamps() {
        let mut s = Sections::new();
        // EPB on interface 0: ts = 1_000_000_000_123 ns units, caplen 3, origlen 60.
        let t: u64 = 1_000_000_000_123;
        let (hi, lo) = ((t >> 32) as u32, t as u32);
        let mut epb = vec![6, 0, 0, 0, 36, 0, 0, 0, 0, 0, 0, 0];
        epb.extend_from_slice(&hi.to_le_bytes());
        epb.extend_from_slice(&lo.to_le_bytes());
        epb.extend_from_slice(&[3, 0, 0, 0, 60, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0, 36, 0, 0, 0]);
        let file = [&SHB_LE[..], &IDB_LE_NS, &epb].concat();
        let out = run(&mut s, &file);
        assert_eq!(out[1].1, Some(1));
        let p = out[2].0.unwrap();
        assert_eq!(
            p,
            PacketRef {
                data_start: 28,
                caplen: 3,
                origlen: 60,
                ts: 10_000_000_000 + 1_000_000_000_123,
                linktype: 1,
                ts_note: 0,
            }
        );
        assert_eq!(
            &epb[p.data_start..p.data_start + p.caplen],
            &[0xaa, 0xbb, 0xcc]
        );
    }

    #[test]
    fn big_endian_section_sll_spb_and_legacy_pb() {
        let mut s = Sections::new();
        // SPB, origlen 10, 8 bytes of room, snaplen 4 → caplen 4.
        let spb = [
            0, 0, 0, 3, 0, 0, 0, 24, 0, 0, 0, 10, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 24,
        ];
        // Legacy PB: interface 0, drops 0, ts 0:2_000_000 µs, caplen 1, origlen 1.
        let pb = [
            0, 0, 0, 2, 0, 0, 0, 36, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1e, 0x84, 0x80, 0, 0, 0, 1, 0, 0,
            0, 1, 0x45, 0, 0, 0, 0, 0, 0, 36,
        ];
        let file = [&SHB_BE[..], &IDB_BE_SLL, &pb, &spb].concat();
        let out = run(&mut s, &file);
        assert_eq!(out[1].1, Some(113));
        let p = out[2].0.unwrap();
        assert_eq!((p.ts, p.caplen, p.linktype), (2_000_000_000, 1, 113));
        let p = out[3].0.unwrap();
        assert_eq!(
            (p.ts, p.caplen, p.origlen, p.data_start),
            (2_000_000_000, 4, 10, 12)
        );
    }

    #[test]
    fn new_section_resets_interfaces_and_byte_order() {
        let mut s = Sections::new();
        run(&mut s, &[&SHB_LE[..], &IDB_LE_NS].concat());
        assert_eq!(s.interfaces().len(), 1);
        run(&mut s, &SHB_BE);
        assert!(s.interfaces().is_empty());
        // An EPB naming interface 0 is now out of range.
        let epb = [
            0, 0, 0, 6, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 32,
        ];
        let e = s.block(&epb, 500).unwrap_err();
        assert_eq!((e.kind, e.offset), (CaptureErrorKind::Malformed, 500));
        assert!(e.detail.contains("interface 0"), "{}", e.detail);
    }

    #[test]
    fn length_checks() {
        let mut s = Sections::new();
        run(&mut s, &SHB_LE);
        let cases: [(&[u8], &str); 5] = [
            (&[1, 0, 0, 0, 8, 0, 0, 0], "at least 12"),
            (&[1, 0, 0, 0, 22, 0, 0, 0], "multiple of 4"),
            (&[9, 0, 0, 0, 0xfc, 0xff, 0xff, 0xff], "at most"),
            (
                &[6, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0],
                "minimum of 32",
            ),
            (
                &[9, 0, 0, 0, 12, 0, 0, 0, 16, 0, 0, 0],
                "trailing length 16",
            ),
        ];
        for (b, want) in cases {
            let e = s.block(b, 28).unwrap_err();
            assert_eq!((e.kind, e.offset), (CaptureErrorKind::BadLength, 28));
            assert!(e.detail.contains(want), "{want}: {}", e.detail);
        }
        // EPB whose caplen exceeds its block.
        run(&mut s, &IDB_LE_NS);
        let epb = [
            6, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
            32, 0, 0, 0,
        ];
        let e = s.block(&epb, 0).unwrap_err();
        assert!(e.detail.contains("room for 0"), "{}", e.detail);
    }

    #[test]
    fn unknown_blocks_are_skipped_and_bad_bom_rejected() {
        let mut s = Sections::new();
        let custom = [0xad, 0x0b, 0, 0, 16, 0, 0, 0, 1, 2, 3, 4, 16, 0, 0, 0];
        let out = run(&mut s, &[&SHB_LE[..], &custom].concat());
        assert_eq!(out, vec![(None, None), (None, None)]);
        let mut bad = SHB_LE;
        bad[8] = 0;
        let e = s.block(&bad, 44).unwrap_err();
        assert_eq!((e.kind, e.offset), (CaptureErrorKind::Malformed, 44));
        let e = Sections::new().block(&bad, 0).unwrap_err();
        assert_eq!(e.kind, CaptureErrorKind::NotACapture);
        let mut v2 = SHB_LE;
        v2[12] = 2;
        let e = Sections::new().block(&v2, 0).unwrap_err();
        assert_eq!(e.kind, CaptureErrorKind::Unsupported);
    }

    #[test]
    fn every_prefix_asks_for_more() {
        let file = [&SHB_LE[..], &IDB_LE_NS].concat();
        for cut in 0..SHB_LE.len() {
            let step = Sections::new().block(&file[..cut], 0).unwrap();
            assert!(
                matches!(step, BlockStep::Need { need, .. } if need > cut),
                "cut {cut}: {step:?}"
            );
        }
        let mut s = Sections::new();
        run(&mut s, &SHB_LE);
        for cut in 0..IDB_LE_NS.len() {
            let step = s.block(&IDB_LE_NS[..cut], 0).unwrap();
            assert!(
                matches!(step, BlockStep::Need { need, .. } if need > cut),
                "cut {cut}: {step:?}"
            );
        }
    }
}
