//! The evidence pack (`voipwatch evidence`): a small pcapng file one can hand over, holding
//! the frames the findings cite plus the first packets of their flows (handshake,
//! ClientHello, first datagrams each way), each frame commented with the finding(s) it
//! belongs to, and a section comment with the tool version, the SHA-256 of the original
//! capture and the list of findings with their Wireshark filters.
//!
//! Original timestamps (nanoseconds), captured and wire lengths and link types are kept
//! (one interface per original link type). With [`PackOptions::redact`], each frame is cut
//! after its transport header (TCP/UDP header; ICMP header and the header it quotes; else
//! the IP header; nothing when no IP header is found) and the capture host's own address
//! (the address in most flows, one per IP family) is replaced everywhere, in the frames,
//! the comments and the filters, by 192.0.2.1 / 2001:db8::1 (documentation addresses);
//! the IPv4 header checksum is recomputed. MAC addresses are kept.
//!
//! Pure Rust, no OS calls: [`build`] takes the capture's bytes.

use crate::capture::{CaptureReader, Packet};
use crate::decode::{decode_frame, Net, L4};
use crate::label::LabeledFlow;
use crate::pcapng_writer::PcapngWriter;
use crate::report::filter::finding_flows;
use crate::report::{Finding, Report};
use crate::{Analyzer, Config};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The replacement of the capture host's IPv4 address (RFC 5737 TEST-NET-1).
pub const REDACTED_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The replacement of the capture host's IPv6 address (RFC 3849 documentation prefix).
pub const REDACTED_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

/// At most this many context frames per cited flow.
const CONTEXT_PER_FLOW: usize = 8;
/// The first packets of a flow kept as context (the TCP handshake).
const CONTEXT_FIRST: usize = 3;
/// Then the first packets carrying payload, per direction (ClientHello, first datagrams).
const CONTEXT_PAYLOAD_PER_DIR: usize = 2;
/// Finding summaries in frame comments are cut to this many characters.
const COMMENT_SUMMARY: usize = 200;

/// Options of a pack.
#[derive(Clone, Debug, Default)]
pub struct PackOptions {
    /// Cut payloads and replace the capture host's address.
    pub redact: bool,
    /// The writing tool and its version, e.g. "voipwatch 0.1.0".
    pub tool: String,
}

/// A built pack.
#[derive(Clone, Debug)]
pub struct Pack {
    /// The pcapng file.
    pub bytes: Vec<u8>,
    /// Frame numbers (in the original capture) the pack holds, in order.
    pub frames: Vec<u64>,
    /// Of those, the frames a finding cites.
    pub cited: Vec<u64>,
    /// SHA-256 of the original capture, lowercase hex.
    pub sha256: String,
    /// The addresses replaced by redaction (empty without `redact`).
    pub redacted_hosts: Vec<IpAddr>,
    /// The report the pack was built from.
    pub report: Report,
    /// The error that stopped reading the capture, if any (the pack covers what was read).
    pub error: Option<String>,
}

/// The capture host: per IP family, the address that appears in most flows (ties: the
/// lowest address).
pub fn capture_hosts(flows: &[LabeledFlow]) -> Vec<IpAddr> {
    let mut counts: BTreeMap<IpAddr, usize> = BTreeMap::new();
    for f in flows {
        let (c, s) = (f.flow.client.ip(), f.flow.server.ip());
        *counts.entry(c).or_default() += 1;
        if s != c {
            *counts.entry(s).or_default() += 1;
        }
    }
    let best = |v4: bool| {
        counts
            .iter()
            .filter(|(a, _)| a.is_ipv4() == v4)
            .max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0)))
            .map(|(a, _)| *a)
    };
    best(true).into_iter().chain(best(false)).collect()
}

/// Which frames go into the pack, and the comments of each.
fn select(
    findings: &[Finding],
    flows: &[LabeledFlow],
) -> (BTreeMap<u64, Vec<String>>, BTreeSet<u64>) {
    let mut frames: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut cited = BTreeSet::new();
    // Flow ids to positions, once: a capture with many findings over many flows stays
    // O((findings + flows) log flows), not findings × flows.
    let by_id: BTreeMap<u32, usize> = flows
        .iter()
        .enumerate()
        .map(|(i, lf)| (lf.flow.id, i))
        .collect();
    for (i, f) in findings.iter().enumerate() {
        let mut summary: String = f.summary.chars().take(COMMENT_SUMMARY).collect();
        if f.summary.chars().count() > COMMENT_SUMMARY {
            summary.push('…');
        }
        let head = format!("#{i} {}", f.kind.as_str());
        for p in &f.packets {
            cited.insert(*p);
            let c = format!("{head}: {summary}");
            let entry = frames.entry(*p).or_default();
            if !entry.contains(&c) {
                entry.push(c);
            }
        }
        for id in finding_flows(f) {
            let Some(flow) = by_id.get(&id).and_then(|&i| flows.get(i)) else {
                continue;
            };
            let log = &flow.flow.packets;
            let mut ctx: Vec<u64> = log.iter().take(CONTEXT_FIRST).map(|p| p.frame).collect();
            for dir in [crate::flow::Dir::C2s, crate::flow::Dir::S2c] {
                ctx.extend(
                    log.iter()
                        .filter(|p| p.dir == dir && p.payload_len > 0)
                        .take(CONTEXT_PAYLOAD_PER_DIR)
                        .map(|p| p.frame),
                );
            }
            ctx.sort_unstable();
            ctx.dedup();
            for fr in ctx.into_iter().take(CONTEXT_PER_FLOW) {
                let entry = frames.entry(fr).or_default();
                let mine = |e: &String| {
                    e.strip_prefix(head.as_str())
                        .is_some_and(|rest| rest.starts_with(':'))
                };
                if !entry.iter().any(mine) {
                    let c = format!("{head}: context (first packets of flow {id})");
                    entry.push(c);
                }
            }
        }
    }
    (frames, cited)
}

/// Where the IP header of `net` starts in `data`, and its length (IPv6: with the extension
/// headers before the transport).
fn ip_header(data: &[u8], net: &Net) -> Option<(usize, usize)> {
    match (net.src, net.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let pat: Vec<u8> = s
                .octets()
                .iter()
                .chain(d.octets().iter())
                .copied()
                .collect();
            let pos = find(data, &pat, 12)?;
            let start = pos.checked_sub(12)?;
            let b0 = *data.get(start)?;
            (b0 >> 4 == 4).then_some((start, usize::from(b0 & 0x0f) * 4))
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let pat: Vec<u8> = s
                .octets()
                .iter()
                .chain(d.octets().iter())
                .copied()
                .collect();
            let pos = find(data, &pat, 8)?;
            let start = pos.checked_sub(8)?;
            if *data.get(start)? >> 4 != 6 {
                return None;
            }
            let mut next = *data.get(start + 6)?;
            let mut len = 40usize;
            for _ in 0..8 {
                let at = start + len;
                let ext = match next {
                    0 | 43 | 60 => (usize::from(*data.get(at + 1)?) + 1) * 8,
                    44 => 8,
                    51 => (usize::from(*data.get(at + 1)?) + 2) * 4,
                    _ => break,
                };
                next = *data.get(at)?;
                len += ext;
            }
            Some((start, len))
        }
        _ => None,
    }
}

/// First position at or after `from` where `pat` occurs.
fn find(data: &[u8], pat: &[u8], from: usize) -> Option<usize> {
    if pat.is_empty() {
        return None;
    }
    data.windows(pat.len())
        .enumerate()
        .skip(from)
        .find(|(_, w)| *w == pat)
        .map(|(i, _)| i)
}

/// Offset of `part` inside `whole`, when it is a sub-slice of it.
fn offset_in(whole: &[u8], part: &[u8]) -> Option<usize> {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    let off = p.checked_sub(w)?;
    (off <= whole.len() && off + part.len() <= whole.len()).then_some(off)
}

/// How many leading bytes of a frame redaction keeps.
fn headers_len(p: &Packet<'_>) -> usize {
    let d = decode_frame(p.linktype, p.data, p.origlen);
    let ip = d.net.as_ref().and_then(|n| ip_header(p.data, n));
    let ip_end = ip.map(|(s, l)| s + l);
    let keep = match d.l4 {
        L4::Tcp(t) => offset_in(p.data, t.payload).or_else(|| {
            let e = ip_end?;
            Some(e + usize::from(*p.data.get(e + 12)? >> 4) * 4)
        }),
        L4::Udp(u) => offset_in(p.data, u.payload).or(ip_end.map(|e| e + 8)),
        L4::Icmp(i) => ip_end.map(|e| {
            let quoted = match (i.quoted, i.v6) {
                (None, _) => 0,
                (Some(_), true) => 48,
                (Some(_), false) => p
                    .data
                    .get(e + 8)
                    .map(|b| usize::from(b & 0x0f) * 4 + 8)
                    .unwrap_or(28),
            };
            e + 8 + quoted
        }),
        _ => ip_end,
    };
    keep.unwrap_or(0).min(p.data.len())
}

/// Replaces every occurrence of `from` by `to` (same length) in `buf`.
fn replace_all(buf: &mut [u8], from: &[u8], to: &[u8]) {
    if from.is_empty() || from.len() != to.len() {
        return;
    }
    let mut i = 0;
    while i + from.len() <= buf.len() {
        match buf.get_mut(i..i + from.len()) {
            Some(w) if w == from => {
                w.copy_from_slice(to);
                i += from.len();
            }
            _ => i += 1,
        }
    }
}

fn replacement(a: IpAddr) -> IpAddr {
    if a.is_ipv4() {
        IpAddr::V4(REDACTED_V4)
    } else {
        IpAddr::V6(REDACTED_V6)
    }
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

/// Rewrites the IPv4 header checksum at `start` (header of `len` bytes), when kept whole.
fn fix_ipv4_checksum(buf: &mut [u8], start: usize, len: usize) {
    let Some(h) = buf.get_mut(start..start + len) else {
        return;
    };
    if len < 20 {
        return;
    }
    if let Some(c) = h.get_mut(10..12) {
        c.copy_from_slice(&[0, 0]);
    }
    let sum = crate::decode::checksum::sum(h);
    if let Some(c) = h.get_mut(10..12) {
        c.copy_from_slice(&(!sum).to_be_bytes());
    }
}

/// Replaces the hosts' addresses in a text by their documentation replacements.
fn redact_text(s: &str, hosts: &[IpAddr]) -> String {
    let mut out = s.to_string();
    for h in hosts {
        out = out.replace(&h.to_string(), &replacement(*h).to_string());
    }
    out
}

/// Analyses `capture` and builds its evidence pack.
pub fn build(capture: &[u8], name: &str, opts: &PackOptions) -> Pack {
    let mut a = Analyzer::new(Config {
        name: name.to_string(),
        ..Default::default()
    });
    let _ = a.push(capture);
    let (report, plan) = a.finish_with_plan();
    build_with(capture, report, &plan, opts)
}

/// Builds the pack of `capture` from its report and flows (as [`Analyzer::finish_with_flows`]
/// returns them).
pub fn build_from(
    capture: &[u8],
    report: Report,
    flows: &[LabeledFlow],
    opts: &PackOptions,
) -> Pack {
    let plan = Plan::new(&report.findings, flows);
    build_with(capture, report, &plan, opts)
}

/// Builds the pack of `capture` from its report and plan in one pass over the bytes.
fn build_with(capture: &[u8], report: Report, plan: &Plan, opts: &PackOptions) -> Pack {
    let mut w = plan.writer(&report, opts);
    // A read error stops the writer; the pack covers the frames before it, as the analysis.
    let _ = w.push(capture);
    let file = w.finish();
    Pack {
        bytes: file.bytes,
        frames: file.frames,
        cited: file.cited,
        sha256: file.sha256,
        redacted_hosts: file.redacted_hosts,
        error: report.capture.error.clone(),
        report,
    }
}

/// What a pack holds, decided at the end of the analysis from the findings and their flows
/// ([`Analyzer::finish_with_plan`]): the frames to keep with their comments, the cited ones,
/// and the capture host's addresses (for redaction). It is small (a few entries per finding),
/// so a caller that streams the capture (the page) keeps it instead of the flows, and writes
/// the pack with a [`PackWriter`] in a second pass over the same bytes.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    selected: BTreeMap<u64, Vec<String>>,
    cited: BTreeSet<u64>,
    hosts: Vec<IpAddr>,
}

impl Plan {
    /// The plan of the pack for `findings` over `flows` (the context frames come from the
    /// cited flows' packet logs).
    pub fn new(findings: &[Finding], flows: &[LabeledFlow]) -> Plan {
        let (selected, cited) = select(findings, flows);
        Plan {
            selected,
            cited,
            hosts: capture_hosts(flows),
        }
    }

    /// Frames the pack will hold (cited and context).
    pub fn frames(&self) -> usize {
        self.selected.len()
    }

    /// A writer of the pack for `report` (the report the plan was made with): feed it the
    /// original capture's bytes with [`PackWriter::push`], then [`PackWriter::finish`].
    pub fn writer(&self, report: &Report, opts: &PackOptions) -> PackWriter {
        let hosts = if opts.redact {
            self.hosts.clone()
        } else {
            Vec::new()
        };
        PackWriter {
            emit: Emit {
                selected: self.selected.clone(),
                hosts,
                redact: opts.redact,
                w: PcapngWriter::new(),
                frames: Vec::new(),
            },
            cited: self.cited.clone(),
            head: Head::of(report),
            opts: opts.clone(),
            sha: Sha256::new(),
            reader: CaptureReader::new(),
            failed: false,
        }
    }
}

/// The written pack, without its report.
#[derive(Clone, Debug)]
pub struct PackFile {
    /// The pcapng file.
    pub bytes: Vec<u8>,
    /// Frame numbers (in the original capture) the pack holds, in order.
    pub frames: Vec<u64>,
    /// Of those, the frames a finding cites.
    pub cited: Vec<u64>,
    /// SHA-256 of the bytes pushed (the original capture), lowercase hex.
    pub sha256: String,
    /// The addresses replaced by redaction (empty without `redact`).
    pub redacted_hosts: Vec<IpAddr>,
}

/// Writes a pack while the original capture streams through it, chunk by chunk (any sizes):
/// memory holds the plan and the kept frames, never the capture.
pub struct PackWriter {
    emit: Emit,
    cited: BTreeSet<u64>,
    head: Head,
    opts: PackOptions,
    sha: Sha256,
    reader: CaptureReader,
    failed: bool,
}

impl PackWriter {
    /// Feeds the next bytes of the original capture. After a read error the writer keeps
    /// what came before and ignores the rest (the analysis stopped at the same point), but
    /// still hashes every byte given.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), crate::capture::CaptureError> {
        self.sha.update(chunk);
        if self.failed {
            return Ok(());
        }
        let emit = &mut self.emit;
        let r = self.reader.push(chunk, |p| emit.packet(p));
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    /// Ends the input and returns the pack.
    pub fn finish(mut self) -> PackFile {
        if !self.failed {
            // A compressed capture's last packets may come out only at the end of input.
            let emit = &mut self.emit;
            let _ = self.reader.finish_with(|p| emit.packet(p));
        }
        let sha256: String = self
            .sha
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let Emit {
            w, frames, hosts, ..
        } = self.emit;
        let comment = self.head.comment(&self.opts, &sha256, frames.len(), &hosts);
        PackFile {
            bytes: w.finish(&comment, &self.opts.tool),
            cited: frames
                .iter()
                .copied()
                .filter(|f| self.cited.contains(f))
                .collect(),
            frames,
            sha256,
            redacted_hosts: hosts,
        }
    }
}

/// The frame-writing half of a [`PackWriter`].
struct Emit {
    selected: BTreeMap<u64, Vec<String>>,
    hosts: Vec<IpAddr>,
    redact: bool,
    w: PcapngWriter,
    frames: Vec<u64>,
}

impl Emit {
    fn packet(&mut self, p: Packet<'_>) {
        let Some(comments) = self.selected.remove(&p.frame) else {
            return;
        };
        let hosts = &self.hosts;
        let iface = self.w.interface(p.linktype);
        let comments: Vec<String> = std::iter::once(format!("original frame {}", p.frame))
            .chain(comments.iter().map(|c| redact_text(c, hosts)))
            .collect();
        if self.redact {
            let keep = headers_len(&p);
            let mut buf = p.data.get(..keep).unwrap_or(&[]).to_vec();
            for h in hosts {
                replace_all(&mut buf, &octets(*h), &octets(replacement(*h)));
            }
            let d = decode_frame(p.linktype, p.data, p.origlen);
            if let Some(n) = d.net.as_ref().filter(|n| n.src.is_ipv4()) {
                if let Some((s, l)) = ip_header(p.data, n) {
                    fix_ipv4_checksum(&mut buf, s, l);
                }
            }
            self.w.packet(iface, p.ts, &buf, p.origlen, &comments);
        } else {
            self.w.packet(iface, p.ts, p.data, p.origlen, &comments);
        }
        self.frames.push(p.frame);
    }
}

/// What the section comment says of the report (kept by the writer instead of the report).
#[derive(Clone, Debug)]
struct Head {
    name: String,
    packets: u64,
    /// Why the capture could not be read to the end, when it could not.
    cut: Option<String>,
    /// One entry per finding: its line, and its Wireshark filter.
    findings: Vec<(String, Option<String>)>,
}

impl Head {
    fn of(report: &Report) -> Head {
        let c = &report.capture;
        Head {
            name: c.name.clone(),
            packets: c.packets,
            cut: (!c.complete).then(|| c.error.clone().unwrap_or_else(|| "stopped early".into())),
            findings: report
                .findings
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let flow = f
                        .flow
                        .map(|id| format!("flow {id}"))
                        .unwrap_or_else(|| "capture".into());
                    (
                        format!(
                            "#{i} [{}] {} ({flow}): {}",
                            f.severity,
                            f.kind.as_str(),
                            f.summary
                        ),
                        f.filter.clone(),
                    )
                })
                .collect(),
        }
    }

    fn comment(&self, opts: &PackOptions, sha256: &str, kept: usize, hosts: &[IpAddr]) -> String {
        let mut lines = vec![
            format!("{} evidence pack", opts.tool),
            format!(
                "Original capture: {}, {} packets, SHA-256 {sha256}",
                self.name, self.packets
            ),
            format!(
                "Frames kept: {kept} (those the findings cite, plus the first packets of their flows for context); \
                 each frame's comments give its original frame number and name its finding(s)."
            ),
        ];
        if let Some(cut) = &self.cut {
            lines.push(format!(
                "The original capture could not be read to the end ({cut}): findings cover the packets before that point."
            ));
        }
        if opts.redact {
            let repl: Vec<String> = hosts.iter().map(|h| replacement(*h).to_string()).collect();
            lines.push(format!(
                "Redacted: payloads cut after the transport header (lengths on the wire kept); the capture host's own \
                 address (the address that appears in most flows) replaced by {} everywhere; MAC addresses kept.",
                if repl.is_empty() {
                    "nothing (no flows)".to_string()
                } else {
                    repl.join(" / ")
                }
            ));
        }
        if self.findings.is_empty() {
            lines.push("Findings: none.".into());
        } else {
            lines.push(format!("Findings ({}):", self.findings.len()));
            for (line, filter) in &self.findings {
                lines.push(line.clone());
                if let Some(filter) = filter {
                    lines.push(format!("   Wireshark filter (original capture): {filter}"));
                }
            }
        }
        redact_text(&lines.join("\n"), hosts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_all_replaces_every_occurrence() {
        let mut b = vec![1, 2, 3, 1, 2, 1];
        replace_all(&mut b, &[1, 2], &[7, 8]);
        assert_eq!(b, vec![7, 8, 3, 7, 8, 1]);
    }

    #[test]
    fn ipv4_checksum_is_valid_after_fixing() {
        let mut h = vec![
            0x45, 0, 0, 0x54, 0, 0, 0x40, 0, 0x40, 1, 0xff, 0xff, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        fix_ipv4_checksum(&mut h, 0, 20);
        assert!(crate::decode::checksum::is_valid(
            crate::decode::checksum::sum(&h)
        ));
    }
}
