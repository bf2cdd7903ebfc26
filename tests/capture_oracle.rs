//! Differential oracle for capture reading: our streaming reader (`voipwatch_core::capture`)
//! against rusticata's `pcap-parser` on every capture of the reference corpus
//! (`../shared/corpus`, recursively) and of `captures/`, with no external tool (issue 9).
//!
//! Compared, per file: the packet count; the distinct link types in first-seen order; and
//! for every packet its link type, timestamp in ns, captured length and wire length. Each
//! file is read whole and then cut at two points (inside the last record, and at two thirds
//! of the file), so the stop point is compared too: both readers must stop after the same
//! packet, and at the same byte offset (the start of the record or block that is cut).
//!
//! pcap-parser only splits the file into blocks; the rest is done here from its fields:
//! timestamps from the pcap header's precision and the pcapng interface's `if_tsresol` /
//! `if_tsoffset` (as pcap-parser parses them), link types from the pcap header or the
//! section's interface table.
//!
//! Legitimate differences (each handled below, none is a disagreement):
//! - Link type: pcap-parser returns the raw 32-bit pcap field; we mask off the FCS bits
//!   (`LINKTYPE_MASK`, as libpcap does), so the oracle's value is masked the same way.
//! - Simple Packet Blocks carry no timestamp: we give them the previous packet's;
//!   pcap-parser has none, so their timestamps are not compared.
//! - Obsolete pcapng Packet Blocks (type 2): we read them as packets, pcap-parser returns
//!   them as unknown blocks; they are counted and left out of the comparison (no file of the
//!   corpus has one today; the count printed says so).
//! - Error wording differs (ours names the structure, pcap-parser gives a nom error kind):
//!   only whether and where reading stopped is compared.

use crate::util::oracle_captures;
use pcap_parser::{create_reader, Block, PcapBlockOwned, PcapError};
use voipwatch_core::capture::pcap::LINKTYPE_MASK;
use voipwatch_core::capture::CaptureReader;

/// One packet as a reader saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rec {
    /// ns since the epoch; None when the format has none (SPB, for pcap-parser).
    ts: Option<i64>,
    linktype: u32,
    caplen: u32,
    origlen: u32,
}

/// What reading one input gave.
#[derive(Debug, Default)]
struct Reading {
    packets: Vec<Rec>,
    linktypes: Vec<u32>,
    /// Byte offset and wording of the error that stopped reading.
    stop: Option<(u64, String)>,
    /// Obsolete Packet Blocks seen (pcap-parser only).
    obsolete_pb: u64,
}

fn ours(data: &[u8]) -> Reading {
    let mut out = Reading::default();
    let mut r = CaptureReader::new();
    let res = r
        .push(data, |p| {
            out.packets.push(Rec {
                ts: Some(p.ts),
                linktype: p.linktype,
                caplen: p.data.len() as u32,
                origlen: p.origlen,
            })
        })
        .and_then(|()| r.finish());
    if let Err(e) = res {
        out.stop = Some((e.offset, e.detail));
    }
    out.linktypes = r.linktypes().to_vec();
    out
}

/// ns since the epoch of `units` at `resol` units per second plus `offset` seconds.
fn to_ns(units: u64, resol: u64, offset: i64) -> i64 {
    let ns = u128::from(units) * 1_000_000_000 / u128::from(resol.max(1));
    i64::try_from(ns)
        .unwrap_or(i64::MAX)
        .saturating_add(offset.saturating_mul(1_000_000_000))
}

fn theirs(data: &[u8]) -> Reading {
    let mut out = Reading::default();
    // The whole input fits in the buffer: "incomplete" only happens at its end.
    let mut reader = match create_reader(data.len().max(1 << 16) + 1, data) {
        Ok(r) => r,
        Err(e) => {
            out.stop = Some((0, format!("{e:?}")));
            return out;
        }
    };
    let mut offset = 0u64;
    let mut nanos = false;
    let mut legacy_lt = 0u32;
    // The current section's interfaces: (link type, units per second, offset in seconds).
    let mut ifaces: Vec<(u32, Option<u64>, i64)> = Vec::new();
    let add_lt = |lts: &mut Vec<u32>, lt: u32| {
        if !lts.contains(&lt) {
            lts.push(lt);
        }
    };
    loop {
        match reader.next() {
            Ok((len, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        nanos = h.is_nanosecond_precision();
                        legacy_lt = (h.network.0 as u32) & LINKTYPE_MASK;
                        add_lt(&mut out.linktypes, legacy_lt);
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = if nanos {
                            i64::from(b.ts_usec)
                        } else {
                            i64::from(b.ts_usec) * 1000
                        };
                        out.packets.push(Rec {
                            ts: Some(i64::from(b.ts_sec) * 1_000_000_000 + frac),
                            linktype: legacy_lt,
                            caplen: b.caplen,
                            origlen: b.origlen,
                        });
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => ifaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        let lt = idb.linktype.0 as u32;
                        add_lt(&mut out.linktypes, lt);
                        ifaces.push((lt, idb.ts_resolution(), idb.ts_offset()));
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let iface = ifaces.get(epb.if_id as usize).copied();
                        let (lt, resol, tsoff) = iface.unwrap_or((u32::MAX, None, 0));
                        let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let ts = resol.map(|r| to_ns(units, r, tsoff));
                        out.packets.push(Rec {
                            ts,
                            linktype: lt,
                            caplen: epb.caplen,
                            origlen: epb.origlen,
                        });
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        use pcap_parser::traits::PcapNGPacketBlock;
                        let lt = ifaces.first().map_or(u32::MAX, |i| i.0);
                        out.packets.push(Rec {
                            ts: None,
                            linktype: lt,
                            caplen: spb.packet_data().len() as u32,
                            origlen: spb.origlen,
                        });
                    }
                    PcapBlockOwned::NG(Block::Unknown(u)) if u.block_type == 2 => {
                        out.obsolete_pb += 1;
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(len);
                offset += len as u64;
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if let Err(e) = reader.refill() {
                    out.stop = Some((offset, format!("{e:?}")));
                    break;
                }
            }
            Err(e) => {
                out.stop = Some((offset, format!("{e:?}")));
                break;
            }
        }
    }
    out
}

/// Differences between the two readings of one input, as text (empty when they agree).
fn differences(a: &Reading, b: &Reading) -> Vec<String> {
    let mut bad = Vec::new();
    if b.obsolete_pb > 0 {
        // Documented above: only compare what pcap-parser can see.
        return bad;
    }
    if a.packets.len() != b.packets.len() {
        bad.push(format!(
            "packet count: ours {} pcap-parser {}",
            a.packets.len(),
            b.packets.len()
        ));
    }
    if a.linktypes != b.linktypes {
        bad.push(format!(
            "link types: ours {:?} pcap-parser {:?}",
            a.linktypes, b.linktypes
        ));
    }
    for (i, (x, y)) in a.packets.iter().zip(&b.packets).enumerate() {
        let ts_differs = y.ts.is_some() && x.ts != y.ts;
        if ts_differs || x.linktype != y.linktype || x.caplen != y.caplen || x.origlen != y.origlen
        {
            bad.push(format!("frame {}: ours {x:?} pcap-parser {y:?}", i + 1));
            if bad.len() > 5 {
                break;
            }
        }
    }
    match (&a.stop, &b.stop) {
        (None, None) => {}
        (Some((x, _)), Some((y, _))) if x == y => {}
        _ => bad.push(format!("stop: ours {:?} pcap-parser {:?}", a.stop, b.stop)),
    }
    bad
}

/// Where each input is cut to compare stop points: inside the last record, and at 2/3.
fn cuts(data: &[u8]) -> [usize; 2] {
    [data.len().saturating_sub(1), data.len() * 2 / 3]
}

#[test]
fn capture_reader_agrees_with_pcap_parser() {
    let files = oracle_captures();
    let (mut packets, mut cut_inputs, mut obsolete, mut stopped) = (0usize, 0usize, 0u64, 0usize);
    let mut failures = Vec::new();
    for (name, path) in &files {
        let Ok(data) = std::fs::read(path) else {
            failures.push(format!("{name}: unreadable"));
            continue;
        };
        let (a, b) = (ours(&data), theirs(&data));
        packets += a.packets.len();
        obsolete += b.obsolete_pb;
        for d in differences(&a, &b) {
            failures.push(format!("{name}: {d}"));
        }
        if a.stop.is_some() {
            // No capture here is broken; a whole-file error is a bug in one reader.
            failures.push(format!("{name}: we stop at {:?}", a.stop));
        }
        for cut in cuts(&data) {
            let part = data.get(..cut).unwrap_or(&data);
            let (a, b) = (ours(part), theirs(part));
            cut_inputs += 1;
            stopped += usize::from(a.stop.is_some() && b.stop.is_some());
            for d in differences(&a, &b) {
                failures.push(format!("{name} cut at {cut}: {d}"));
            }
        }
    }
    eprintln!(
        "capture oracle: {} files, {packets} packets compared with pcap-parser, {cut_inputs} cut \
         inputs compared for their stop point ({stopped} stopped by both, at the same offset unless listed \
         below), {obsolete} obsolete packet blocks left out",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements with pcap-parser:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
