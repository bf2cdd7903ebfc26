//! Differential oracle for packet decoding: our `decode_frame` against etherparse's lax
//! slicer (`LaxSlicedPacket`) on every packet of every capture of the reference corpus
//! (`../shared/corpus`, recursively) and of `captures/`, with no external tool (issue 9).
//!
//! For every packet both decode to an IP header we compare: IP source and destination, the
//! transport (TCP, UDP, ICMP, none), TCP/UDP ports, TCP flags (the whole low flag byte) and
//! sequence number, and the captured payload length. Any other difference fails the test.
//!
//! Packets that are not compared are counted by class and printed. Each class is a known,
//! legitimate difference between the two decoders:
//! - `tunnel <name>`: we report the innermost packet of GRE, GTP-U, VXLAN, Geneve, IP-in-IP
//!   and Teredo; etherparse does not enter tunnels (it stops at the outer transport).
//! - `link type <n>`: link types the lax slicer lacks (BSD null/loopback, PPP, PPPoE,
//!   SLL2, …). Ethernet (1), raw IP (12, 14, 101, 228, 229) and Linux SLL (113, entered
//!   here through `from_ether_type` after its 16-byte header) are compared.
//! - `ethertype 0x…`: layers between Ethernet and IP that etherparse lacks (MPLS, PPPoE
//!   sessions, NSH, Cisco MetaData, …), or VLAN stacks deeper than its three-tag cap.
//! - `fragment`: etherparse slices no transport in any IP fragment; we read the transport
//!   header of first fragments. Only the addresses are compared.
//! - `etherparse stopped in <layer>`: the lax slicer gave up on a layer that we decode
//!   laxly (both agree up to the IP header, which is compared).
//! - `no IP for either`: ARP, LLDP, STP and other frames without IP.
//! - `ipv4.bad_version, etherparse IPv6`: an IPv4 EtherType (or a raw-IPv4 link) carrying a
//!   version-6 header. etherparse (like tshark) decodes by the version nibble; we report
//!   `ipv4.bad_version` (one fuzzed frame of nDPI's fuzz-2006-06-26-2594.pcap).
//! - `udp.bad_length, etherparse UDP`: a UDP length field below 8. etherparse's lax slicer
//!   falls back to the IP payload (`LenSource::Slice`); we stop with `udp.bad_length` (one
//!   synthetic frame of Arkime's arkime_synthetic.pcap). The addresses are compared.

use crate::util::oracle_captures;
use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, LinkSlice, TransportSlice};
use etherparse::{LaxLinkExtSlice, LenSource};
use std::collections::BTreeMap;
use std::net::IpAddr;
use voipwatch_core::capture::CaptureReader;
use voipwatch_core::decode::{decode_frame, Decoded, L4};

/// What both decoders are compared on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Tcp {
        src: u16,
        dst: u16,
        seq: u32,
        flags: u8,
        payload: usize,
    },
    Udp {
        src: u16,
        dst: u16,
        payload: usize,
    },
    Icmp,
    /// A fragment (no transport compared).
    Fragment,
    /// Nothing beyond IP (another protocol, or the transport header did not decode).
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct View {
    src: IpAddr,
    dst: IpAddr,
    transport: Transport,
}

fn our_view(d: &Decoded<'_>) -> Option<View> {
    let n = d.net?;
    let transport = match d.l4 {
        L4::Tcp(t) => Transport::Tcp {
            src: t.src_port,
            dst: t.dst_port,
            seq: t.seq,
            flags: t.flags,
            payload: t.payload.len(),
        },
        L4::Udp(u) => Transport::Udp {
            src: u.src_port,
            dst: u.dst_port,
            payload: u.payload.len(),
        },
        L4::Icmp(_) => Transport::Icmp,
        L4::Fragment => Transport::Fragment,
        L4::Other | L4::None => Transport::None,
    };
    Some(View {
        src: n.src,
        dst: n.dst,
        transport,
    })
}

/// etherparse's view, and whether its IP payload is fragmented.
fn their_view(p: &LaxSlicedPacket<'_>) -> Option<(View, bool)> {
    let (src, dst, fragmented) = match p.net.as_ref()? {
        LaxNetSlice::Ipv4(v4) => (
            IpAddr::V4(v4.header().source_addr()),
            IpAddr::V4(v4.header().destination_addr()),
            v4.is_payload_fragmented(),
        ),
        LaxNetSlice::Ipv6(v6) => (
            IpAddr::V6(v6.header().source_addr()),
            IpAddr::V6(v6.header().destination_addr()),
            v6.is_payload_fragmented(),
        ),
        LaxNetSlice::Arp(_) => return None,
    };
    let transport = match &p.transport {
        Some(TransportSlice::Tcp(t)) => Transport::Tcp {
            src: t.source_port(),
            dst: t.destination_port(),
            seq: t.sequence_number(),
            flags: t.header_slice().get(13).copied().unwrap_or(0),
            payload: t.payload().len(),
        },
        Some(TransportSlice::Udp(u)) => Transport::Udp {
            src: u.source_port(),
            dst: u.destination_port(),
            payload: u.payload().len(),
        },
        Some(TransportSlice::Icmpv4(_)) | Some(TransportSlice::Icmpv6(_)) => Transport::Icmp,
        Some(TransportSlice::Igmp(_)) | None => Transport::None,
    };
    Some((
        View {
            src,
            dst,
            transport,
        },
        fragmented,
    ))
}

/// Slices a frame with etherparse; None for link types it lacks.
fn slice(linktype: u32, data: &[u8]) -> Option<LaxSlicedPacket<'_>> {
    match linktype {
        1 => LaxSlicedPacket::from_ethernet(data).ok(),
        12 | 14 | 101 | 228 | 229 => LaxSlicedPacket::from_ip(data).ok(),
        113 => {
            let proto = u16::from_be_bytes([*data.get(14)?, *data.get(15)?]);
            Some(LaxSlicedPacket::from_ether_type(
                EtherType(proto),
                data.get(16..)?,
            ))
        }
        _ => None,
    }
}

/// The last EtherType etherparse read before it stopped (after any VLAN tags).
fn last_ether_type(p: &LaxSlicedPacket<'_>) -> Option<u16> {
    if let Some(LaxLinkExtSlice::Vlan(v)) = p.link_exts.last() {
        return Some(v.ether_type().0);
    }
    match p.link.as_ref()? {
        LinkSlice::Ethernet2(e) => Some(e.ether_type().0),
        LinkSlice::EtherPayload(e) => Some(e.ether_type.0),
        _ => None,
    }
}

/// EtherTypes of the layers between Ethernet and IP that etherparse does not decode, or
/// that sit deeper than its VLAN cap.
const LACKED_ETHER_TYPES: &[u16] = &[
    0x8847, 0x8848, // MPLS
    0x8863, 0x8864, // PPPoE
    0x894f, // NSH
    0x8909, // Cisco MetaData
    0x8100, 0x88a8, 0x9100, // a fourth VLAN tag
    0x880b, // PPP
];

/// Running tallies over all captures.
#[derive(Default)]
struct Tally {
    compared: u64,
    /// Compared packets whose capture was cut by the snaplen (caplen < wire length).
    truncated: u64,
    skipped: BTreeMap<String, u64>,
    disagreements: Vec<String>,
}

impl Tally {
    fn skip(&mut self, class: String) {
        *self.skipped.entry(class).or_default() += 1;
    }

    fn packet(&mut self, name: &str, frame: u64, linktype: u32, data: &[u8], origlen: u32) {
        let d = decode_frame(linktype, data, origlen);
        let cut = (data.len() as u64) < u64::from(origlen);
        if let Some(t) = d.tunnel {
            return self.skip(format!("tunnel {t}"));
        }
        let Some(theirs) = slice(linktype, data) else {
            return self.skip(format!("link type {linktype}"));
        };
        let ours = our_view(&d);
        let our_error = d.error.map(|e| format!("{}.{}", e.layer, e.reason));
        let mut bad = |what: String| {
            self.disagreements
                .push(format!("{name} frame {frame}: {what}"));
        };
        match (ours, their_view(&theirs)) {
            (None, None) => self.skip("no IP for either".to_string()),
            (Some(_), None) => match last_ether_type(&theirs) {
                Some(et) if LACKED_ETHER_TYPES.contains(&et) => {
                    self.skip(format!("ethertype {et:#06x}"))
                }
                _ => bad(format!(
                    "we decode {ours:?}, etherparse no IP (stop {:?})",
                    theirs.stop_err
                )),
            },
            (None, Some((t, _))) => {
                if our_error.as_deref() == Some("ipv4.bad_version") && t.src.is_ipv6() {
                    return self.skip("ipv4.bad_version, etherparse IPv6".to_string());
                }
                bad(format!(
                    "etherparse decodes {t:?}, we no IP (error {:?})",
                    d.error
                ))
            }
            (Some(o), Some((t, fragmented))) => {
                if (o.src, o.dst) != (t.src, t.dst) {
                    return bad(format!("addresses: ours {o:?} etherparse {t:?}"));
                }
                if fragmented {
                    self.compared += 1;
                    return self.skip("fragment (addresses compared)".to_string());
                }
                if o.transport != t.transport {
                    let lax_udp = matches!(&theirs.transport,
                        Some(TransportSlice::Udp(u)) if u.payload_len_source() == LenSource::Slice);
                    if our_error.as_deref() == Some("udp.bad_length") && lax_udp {
                        self.compared += 1;
                        return self.skip(
                            "udp.bad_length, etherparse UDP (addresses compared)".to_string(),
                        );
                    }
                    if t.transport == Transport::None {
                        if let Some((_, layer)) = &theirs.stop_err {
                            self.compared += 1;
                            return self.skip(format!(
                                "etherparse stopped in {layer:?} (addresses compared)"
                            ));
                        }
                    }
                    return bad(format!(
                        "transport: ours {:?} etherparse {:?} (our error {:?})",
                        o.transport, t.transport, d.error
                    ));
                }
                self.compared += 1;
                self.truncated += u64::from(cut);
            }
        }
    }
}

#[test]
fn decoder_agrees_with_etherparse() {
    let files = oracle_captures();
    let mut tally = Tally::default();
    let mut packets = 0u64;
    for (name, path) in &files {
        let Ok(data) = std::fs::read(path) else {
            tally.disagreements.push(format!("{name}: unreadable"));
            continue;
        };
        let mut r = CaptureReader::new();
        let _ = r.push(&data, |p| {
            packets += 1;
            tally.packet(name, p.frame, p.linktype, p.data, p.origlen);
        });
    }
    eprintln!(
        "decode oracle: {} files, {packets} packets, {} compared with etherparse ({} of them \
         snaplen-truncated; addresses only for the classes so marked below), {} \
         disagreements; not compared:",
        files.len(),
        tally.compared,
        tally.truncated,
        tally.disagreements.len()
    );
    for (class, n) in &tally.skipped {
        eprintln!("  {n:>7}  {class}");
    }
    assert!(
        tally.disagreements.is_empty(),
        "{} disagreements with etherparse (first 40):\n{}",
        tally.disagreements.len(),
        tally
            .disagreements
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Issue 9: with decode errors and anomalies typed as enums, the report's maps keep their
/// string keys ("layer.reason", anomaly id) and their sorted order.
#[test]
fn issue_9_report_maps_keep_string_keys_and_order() {
    use std::net::Ipv4Addr;
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    let good = crate::util::frame(17, (a, 1), (b, 2), None, b"x");
    let mut bad_version = good.clone();
    bad_version[14] = 0x55; // IPv4 EtherType, version 5
    let mut short_udp = good.clone();
    short_udp.truncate(14 + 20 + 4); // cut inside the UDP header (in the file too)
    let mut zero_len = good.clone();
    zero_len[16..18].copy_from_slice(&[0, 0]); // IPv4 total length 0 (offload)
    let pcap = crate::util::pcap(&[
        (1.0, short_udp),
        (2.0, bad_version),
        (3.0, zero_len),
        (4.0, good),
    ]);
    let report = voipwatch_core::analyzer::analyze_bytes(Default::default(), &pcap);
    let json = serde_json::to_value(&report.capture).unwrap_or_default();
    let keys = |k: &str| -> Vec<String> {
        json[k]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(keys("decode_errors"), ["ipv4.bad_version", "udp.truncated"]);
    // The cut frame was written whole (caplen = wire length), so its IP length lies.
    assert_eq!(
        keys("anomalies"),
        [
            "bad_ipv4_checksum",
            "ipv4_length_exceeds_frame",
            "ipv4_total_length_zero"
        ]
    );
}
