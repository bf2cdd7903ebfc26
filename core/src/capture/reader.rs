//! The format-sniffing streaming reader.
//!
//! [`CaptureReader`] sniffs pcap or pcapng from the first four bytes, then reads one record
//! (pcap) or block (pcapng) at a time. Records wholly inside a pushed chunk reach the sink as
//! slices of that chunk; a record that straddles chunks is assembled in an internal buffer
//! that never holds more than one record, and a record is only buffered after its length
//! was checked against [`MAX_RECORD`]. The packets and errors produced do not depend on
//! how the input is cut into chunks.

use super::compressed::{sniff, Compression, Decoder, Sniff};
use super::pcap::{self, GlobalHeader, RecordStep};
use super::pcapng::{self, BlockStep, Sections};
use super::{describe_first_bytes, CaptureError, CaptureErrorKind, Format, Packet, MAX_RECORD};
use crate::Nanos;

/// At most this many distinct link types are listed by [`CaptureReader::linktypes`].
const MAX_LINKTYPES: usize = 64;
/// An emptied assembly buffer larger than this is freed rather than kept.
const KEEP_BUFFER: usize = 256 * 1024;

/// Every magic number we accept, as the first four bytes of the file.
const MAGICS: [[u8; 4]; 7] = [
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xcd, 0x34],
    [0x34, 0xcd, 0xb2, 0xa1],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

/// Where the parser is in the file.
#[derive(Clone, Debug, Default)]
enum State {
    /// Nothing read yet: the magic number (and for pcap the global header) comes next.
    #[default]
    Start,
    Pcap(GlobalHeader),
    Pcapng(Sections),
}

/// A packet located inside a record.
#[derive(Clone, Copy, Debug)]
struct Located {
    data_start: usize,
    caplen: usize,
    origlen: u32,
    ts: Nanos,
    linktype: u32,
    ts_note: u8,
}

/// One parsing step over a slice that starts at a record boundary.
enum Step {
    Record {
        len: usize,
        packet: Option<Located>,
        linktype: Option<u32>,
    },
    Need {
        need: usize,
        exact: bool,
    },
}

/// Streaming reader for uncompressed pcap and pcapng; sniffs the format from the first bytes.
#[derive(Debug, Default)]
pub(crate) struct PlainReader {
    state: State,
    format: Option<Format>,
    /// Holds the start of a record that straddles chunks (always < `need` bytes).
    buf: Vec<u8>,
    /// Bytes the buffered record needs from its start, and whether that count is final.
    need: usize,
    need_exact: bool,
    /// File offset of the first byte not yet parsed (the start of `buf` when it is not empty).
    pos: u64,
    pushed: u64,
    packets: u64,
    linktypes: Vec<u32>,
    error: Option<CaptureError>,
    /// The first bytes of the input (up to 4), to name what a non-capture is.
    head: [u8; 4],
    head_len: u8,
}

impl PlainReader {
    /// The first bytes of the input (up to 4).
    pub(crate) fn head(&self) -> &[u8] {
        self.head.get(..usize::from(self.head_len)).unwrap_or(&[])
    }

    /// Feeds the next chunk; calls `sink` once per complete packet, in file order.
    ///
    /// After an error, reading has stopped: the same error is returned for every later call.
    pub fn push<F: FnMut(Packet<'_>)>(
        &mut self,
        chunk: &[u8],
        mut sink: F,
    ) -> Result<(), CaptureError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.pushed = self.pushed.saturating_add(chunk.len() as u64);
        for &b in chunk.iter().take(4 - usize::from(self.head_len)) {
            if let Some(slot) = self.head.get_mut(usize::from(self.head_len)) {
                *slot = b;
                self.head_len += 1;
            }
        }
        let r = self.push_inner(chunk, &mut sink);
        if let Err(e) = &r {
            self.error = Some(e.clone());
            self.buf = Vec::new();
        }
        r
    }

    fn push_inner<F: FnMut(Packet<'_>)>(
        &mut self,
        chunk: &[u8],
        sink: &mut F,
    ) -> Result<(), CaptureError> {
        let mut rest = chunk;
        // First complete the record held back from earlier chunks. Each pass either takes
        // bytes from `rest`, consumes buffered records, or returns: the loop is bounded.
        while !self.buf.is_empty() {
            let want = self.need.saturating_sub(self.buf.len());
            let (take, after) = rest.split_at(want.min(rest.len()));
            self.buf.extend_from_slice(take);
            rest = after;
            if self.buf.len() < self.need {
                return Ok(());
            }
            let buf = std::mem::take(&mut self.buf);
            let used = self.drive(&buf, sink)?;
            self.buf = buf;
            self.buf.drain(..used.min(self.buf.len()));
            if self.buf.is_empty() && self.buf.capacity() > KEEP_BUFFER {
                self.buf = Vec::new();
            }
        }
        let used = self.drive(rest, sink)?;
        // The tail is shorter than `need`, which was checked against MAX_RECORD.
        self.buf.extend_from_slice(rest.get(used..).unwrap_or(&[]));
        Ok(())
    }

    /// Reads whole records from `data` (which starts at file offset `self.pos`), emitting
    /// packets; returns how many bytes were consumed. Stops at the first incomplete record.
    fn drive<F: FnMut(Packet<'_>)>(
        &mut self,
        data: &[u8],
        sink: &mut F,
    ) -> Result<usize, CaptureError> {
        let mut at = 0usize;
        // Every pass consumes at least one byte or returns.
        loop {
            let cur = data.get(at..).unwrap_or(&[]);
            match self.step(cur)? {
                Step::Need { need, exact } => {
                    self.need = need;
                    self.need_exact = exact;
                    return Ok(at);
                }
                Step::Record {
                    len,
                    packet,
                    linktype,
                } => {
                    if len == 0 || len > cur.len() {
                        return Err(CaptureError {
                            kind: CaptureErrorKind::Malformed,
                            offset: self.pos,
                            detail: format!(
                                "internal: record length {len} outside the {} bytes read",
                                cur.len()
                            ),
                        });
                    }
                    if let Some(lt) = linktype {
                        if !self.linktypes.contains(&lt) && self.linktypes.len() < MAX_LINKTYPES {
                            self.linktypes.push(lt);
                        }
                    }
                    if let Some(p) = packet {
                        let bytes = p
                            .data_start
                            .checked_add(p.caplen)
                            .and_then(|end| cur.get(p.data_start..end));
                        if let Some(bytes) = bytes {
                            self.packets += 1;
                            sink(Packet {
                                frame: self.packets,
                                ts: p.ts,
                                ts_note: p.ts_note,
                                linktype: p.linktype,
                                origlen: p.origlen,
                                data: bytes,
                            });
                        }
                    }
                    at += len;
                    self.pos = self.pos.saturating_add(len as u64);
                }
            }
        }
    }

    /// One parsing step at the start of `data`. Changes state only when it returns a record.
    fn step(&mut self, data: &[u8]) -> Result<Step, CaptureError> {
        let offset = self.pos;
        match &mut self.state {
            State::Start => {
                let Some(&m) = data.first_chunk::<4>() else {
                    return Ok(Step::Need {
                        need: 4,
                        exact: false,
                    });
                };
                if m == [0x0a, 0x0d, 0x0d, 0x0a] {
                    self.format = Some(Format::Pcapng);
                    self.state = State::Pcapng(Sections::new());
                    return self.step(data);
                }
                if pcap::Magic::from_bytes(m).is_none() {
                    return Err(CaptureError {
                        kind: CaptureErrorKind::NotACapture,
                        offset: 0,
                        detail: format!(
                            "{}: not a pcap or pcapng file",
                            describe_first_bytes(data)
                        ),
                    });
                }
                self.format = Some(Format::Pcap);
                if data.len() < pcap::GLOBAL_HEADER_LEN {
                    return Ok(Step::Need {
                        need: pcap::GLOBAL_HEADER_LEN,
                        exact: true,
                    });
                }
                let hdr = GlobalHeader::parse(data)?;
                self.state = State::Pcap(hdr);
                Ok(Step::Record {
                    len: pcap::GLOBAL_HEADER_LEN,
                    packet: None,
                    linktype: Some(hdr.linktype),
                })
            }
            State::Pcap(hdr) => Ok(match pcap::record(hdr, data, offset)? {
                RecordStep::Need { need, exact } => Step::Need { need, exact },
                RecordStep::Record(r) => Step::Record {
                    len: r.len,
                    packet: Some(Located {
                        data_start: r.data_start,
                        caplen: r.caplen,
                        origlen: r.origlen,
                        ts: r.ts,
                        linktype: hdr.linktype,
                        ts_note: r.ts_note,
                    }),
                    linktype: None,
                },
            }),
            State::Pcapng(sections) => Ok(match sections.block(data, offset)? {
                BlockStep::Need { need, exact } => Step::Need { need, exact },
                BlockStep::Block {
                    len,
                    packet,
                    interface_linktype,
                } => Step::Record {
                    len,
                    packet: packet.map(|p| Located {
                        data_start: p.data_start,
                        caplen: p.caplen,
                        origlen: p.origlen,
                        ts: p.ts,
                        linktype: p.linktype,
                        ts_note: p.ts_note,
                    }),
                    linktype: interface_linktype,
                },
            }),
        }
    }

    /// Declares end of input: an error if the input was empty or ended inside a record.
    pub fn finish(&mut self) -> Result<(), CaptureError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = self.end_check();
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }

    fn end_check(&self) -> Result<(), CaptureError> {
        if self.pushed == 0 {
            return Err(CaptureError {
                kind: CaptureErrorKind::Empty,
                offset: 0,
                detail: "the input is empty (0 bytes)".into(),
            });
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let have = self.buf.len();
        if self.format.is_none() {
            // Fewer than 4 bytes: a cut magic number, or not a capture at all.
            let prefix_of_magic = MAGICS.iter().any(|m| m.starts_with(&self.buf));
            return Err(if prefix_of_magic {
                CaptureError {
                    kind: CaptureErrorKind::Truncated,
                    offset: 0,
                    detail: format!("input ends after {have} byte(s), inside the magic number"),
                }
            } else {
                CaptureError {
                    kind: CaptureErrorKind::NotACapture,
                    offset: 0,
                    detail: format!(
                        "{}: not a pcap or pcapng file (only {have} byte(s))",
                        describe_first_bytes(&self.buf)
                    ),
                }
            });
        }
        let what = match &self.state {
            State::Start => "the pcap global header".to_string(),
            State::Pcap(_) => "a pcap packet record".to_string(),
            State::Pcapng(s) => {
                match pcap::read_u32(&self.buf, 0..4, s.big_endian().unwrap_or(false)) {
                    Some(t) => format!("a {}", pcapng::block_name(t)),
                    None => "a pcapng block".to_string(),
                }
            }
        };
        let missing = self.need.saturating_sub(have);
        let detail = if self.need_exact {
            format!(
                "input ends inside {what}: {have} of its {} bytes present, {missing} missing",
                self.need
            )
        } else {
            format!(
                "input ends inside the header of {what}: {have} byte(s) present, at least {missing} missing"
            )
        };
        Err(CaptureError {
            kind: CaptureErrorKind::Truncated,
            offset: self.pos,
            detail,
        })
    }

    pub fn format(&self) -> Option<Format> {
        self.format
    }
    /// Distinct link types in first-seen order (from the pcap header or the pcapng
    /// interface descriptions; at most 64 are listed).
    pub fn linktypes(&self) -> &[u32] {
        &self.linktypes
    }
    /// File offset of the first byte not yet parsed: where the next record starts (a
    /// record held back because it straddles chunks has not been parsed yet). After an
    /// error, the offset of the structure that caused it.
    pub fn offset(&self) -> u64 {
        self.pos
    }
    /// Packets passed to the sink so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }
    /// Bytes pushed so far.
    pub fn bytes_pushed(&self) -> u64 {
        self.pushed
    }
}

/// What sits between the caller's bytes and the pcap/pcapng parser.
#[derive(Debug, Default)]
enum Layer {
    /// Nothing decided yet: the first bytes are held in `head`.
    #[default]
    Sniffing,
    Plain,
    Compressed(Decoder, Compression),
}

/// Streaming reader for pcap and pcapng, plain or compressed with gzip or zstd (sniffed from
/// the first bytes, see [`super::compressed`]). Offsets in errors and [`Self::offset`] count
/// capture bytes (after decompression); [`Self::bytes_pushed`] counts the caller's bytes.
#[derive(Debug, Default)]
pub struct CaptureReader {
    plain: PlainReader,
    layer: Layer,
    /// The first bytes while they are too few to tell (fewer than the longest magic, 6 bytes).
    head: Vec<u8>,
    pushed: u64,
    error: Option<CaptureError>,
    /// A compression format recognised but not read: its name and how to unpack it.
    unsupported: Option<(&'static str, &'static str)>,
}

/// An error of the capture parser inside decompressed data says so.
fn inside(mut e: CaptureError, c: Compression) -> CaptureError {
    e.detail.push_str(&format!(
        " (offset in the {}-decompressed data)",
        c.as_str()
    ));
    e
}

impl CaptureReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk; calls `sink` once per complete packet, in file order.
    ///
    /// After an error, reading has stopped: the same error is returned for every later call.
    pub fn push<F: FnMut(Packet<'_>)>(
        &mut self,
        chunk: &[u8],
        mut sink: F,
    ) -> Result<(), CaptureError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.pushed = self.pushed.saturating_add(chunk.len() as u64);
        let r = self.push_inner(chunk, &mut sink);
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }

    fn push_inner<F: FnMut(Packet<'_>)>(
        &mut self,
        chunk: &[u8],
        sink: &mut F,
    ) -> Result<(), CaptureError> {
        let mut joined;
        let data: &[u8] = if matches!(self.layer, Layer::Sniffing) {
            let data = if self.head.is_empty() {
                chunk
            } else {
                joined = std::mem::take(&mut self.head);
                joined.extend_from_slice(chunk);
                &joined
            };
            match sniff(data) {
                Sniff::Need => {
                    self.head = data.to_vec();
                    return Ok(());
                }
                Sniff::Plain => self.layer = Layer::Plain,
                Sniff::Known(c) => self.layer = Layer::Compressed(Decoder::new(c), c),
                Sniff::Unsupported(name, how) => {
                    self.unsupported = Some((name, how));
                    return Err(CaptureError {
                        kind: CaptureErrorKind::Unsupported,
                        offset: 0,
                        // The magic alone names it: how many bytes arrived must not show.
                        detail: format!(
                            "a {name}-compressed file; voipwatch reads pcap and pcapng, plain \
                             or compressed with gzip or zstd: unpack it first ({how})"
                        ),
                    });
                }
            }
            data
        } else {
            chunk
        };
        match &mut self.layer {
            Layer::Compressed(dec, c) => {
                let (plain, c) = (&mut self.plain, *c);
                dec.push(data, &mut |piece| {
                    plain.push(piece, &mut *sink).map_err(|e| inside(e, c))
                })
            }
            _ => self.plain.push(data, sink),
        }
    }

    /// Declares end of input: an error if the input was empty, ended inside a record, or
    /// ended inside the compressed stream. Packets still held by a decompressor are dropped:
    /// use [`Self::finish_with`] to receive them.
    pub fn finish(&mut self) -> Result<(), CaptureError> {
        self.finish_with(|_| {})
    }

    /// [`Self::finish`], handing packets still held by a decompressor (a cut zstd frame's
    /// last window) to `sink` first.
    pub fn finish_with<F: FnMut(Packet<'_>)>(&mut self, mut sink: F) -> Result<(), CaptureError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = match &mut self.layer {
            Layer::Sniffing => {
                // Fewer bytes than any magic: the capture parser names what they are.
                let head = std::mem::take(&mut self.head);
                let pushed = if head.is_empty() {
                    Ok(())
                } else {
                    self.plain.push(&head, |_| {})
                };
                pushed.and_then(|()| self.plain.finish())
            }
            Layer::Plain => self.plain.finish(),
            Layer::Compressed(dec, c) => {
                let (plain, c2) = (&mut self.plain, *c);
                let d = dec
                    .finish(&mut |piece| plain.push(piece, &mut sink).map_err(|e| inside(e, c2)));
                match (d, self.plain.finish()) {
                    (Ok(()), Ok(())) => Ok(()),
                    (Ok(()), Err(p)) => Err(inside(p, *c)),
                    (Err(d), Ok(())) => Err(d),
                    (Err(d), Err(p)) if p.kind == CaptureErrorKind::Truncated => {
                        Err(CaptureError {
                            kind: CaptureErrorKind::Truncated,
                            offset: p.offset,
                            detail: format!("{}, because {}", p.detail, d.detail),
                        })
                    }
                    (Err(d), Err(_)) => Err(d),
                }
            }
        };
        if let Err(e) = &r {
            self.error = Some(e.clone());
        }
        r
    }

    pub fn format(&self) -> Option<Format> {
        self.plain.format()
    }
    /// The first bytes (up to 4) of the capture data, after decompression: what a file that
    /// is not a capture looks like, for the plain-language error.
    pub fn content_head(&self) -> &[u8] {
        self.plain.head()
    }

    /// A compression format recognised but not read (name, how to unpack it).
    pub fn unsupported_compression(&self) -> Option<(&'static str, &'static str)> {
        self.unsupported
    }

    /// The compression the input was read through, if any.
    pub fn compression(&self) -> Option<Compression> {
        match &self.layer {
            Layer::Compressed(_, c) => Some(*c),
            _ => None,
        }
    }
    /// Distinct link types in first-seen order (from the pcap header or the pcapng
    /// interface descriptions; at most 64 are listed).
    pub fn linktypes(&self) -> &[u32] {
        self.plain.linktypes()
    }
    /// Capture offset (after decompression) of the first byte not yet parsed: where the next
    /// record starts. After an error, the offset of the structure that caused it.
    pub fn offset(&self) -> u64 {
        self.plain.offset()
    }
    /// Packets passed to the sink so far.
    pub fn packets(&self) -> u64 {
        self.plain.packets()
    }
    /// Bytes pushed so far (compressed bytes for a compressed input).
    pub fn bytes_pushed(&self) -> u64 {
        self.pushed
    }
    /// Capture bytes so far: decompressed bytes for a compressed input, else pushed bytes.
    pub fn capture_bytes(&self) -> u64 {
        match &self.layer {
            Layer::Compressed(dec, _) => dec.produced(),
            _ => self.plain.bytes_pushed(),
        }
    }
    /// Largest record the reader accepts (see [`MAX_RECORD`]).
    pub const fn max_record() -> usize {
        MAX_RECORD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Owned copy of one packet, to compare sequences.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Pkt {
        frame: u64,
        ts: Nanos,
        linktype: u32,
        origlen: u32,
        data: Vec<u8>,
    }

    fn read_chunked(
        file: &[u8],
        chunk: usize,
    ) -> (Vec<Pkt>, Result<(), CaptureError>, CaptureReader) {
        let mut r = CaptureReader::new();
        let mut out = vec![];
        let mut res = Ok(());
        for c in file.chunks(chunk.max(1)) {
            res = r.push(c, |p| {
                out.push(Pkt {
                    frame: p.frame,
                    ts: p.ts,
                    linktype: p.linktype,
                    origlen: p.origlen,
                    data: p.data.to_vec(),
                })
            });
            if res.is_err() {
                break;
            }
        }
        if res.is_ok() {
            res = r.finish();
        }
        (out, res, r)
    }

    /// LE µs pcap, Ethernet, snaplen 65535: three packets (the second truncated by snaplen).
    fn pcap_le_us() -> Vec<u8> {
        let mut f = vec![
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0,
            0,
        ];
        for (i, len, orig) in [(0u8, 14u32, 14u32), (1, 5, 1500), (2, 0, 0)] {
            f.extend_from_slice(&[0x80, 0xf0, 0xfa, 0x02]); // 0x02faf080 = 50_000_000 s
            f.extend_from_slice(&(u32::from(i) * 1000).to_le_bytes());
            f.extend_from_slice(&len.to_le_bytes());
            f.extend_from_slice(&orig.to_le_bytes());
            f.extend((0..len).map(|b| b as u8 ^ i));
        }
        f
    }

    /// BE ns pcap, raw IP (101), snaplen 1000, two packets.
    fn pcap_be_ns() -> Vec<u8> {
        let mut f = vec![
            0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 0, 0,
            101,
        ];
        f.extend_from_slice(&[
            0, 0, 0, 1, 0x3b, 0x9a, 0xc9, 0xff, 0, 0, 0, 3, 0, 0, 0, 3, 0x45, 0, 0,
        ]);
        f.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x60]);
        f
    }

    fn le32(v: u32) -> [u8; 4] {
        v.to_le_bytes()
    }

    fn be32(v: u32) -> [u8; 4] {
        v.to_be_bytes()
    }

    /// Two-section pcapng: LE section with an Ethernet µs interface and a Linux SLL ns
    /// interface (EPBs on both, an unknown block between), then a BE section with a
    /// raw-IP interface with 2^-10 s resolution, a legacy PB and an SPB.
    fn pcapng_two_sections() -> Vec<u8> {
        let mut f = vec![];
        // LE SHB with one option (shb_userappl "vw", padded) to exercise option skipping.
        f.extend_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a]);
        f.extend_from_slice(&le32(36));
        f.extend_from_slice(&[0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0]);
        f.extend_from_slice(&[0xff; 8]);
        f.extend_from_slice(&[4, 0, 2, 0, b'v', b'w', 0, 0]);
        f.extend_from_slice(&le32(36));
        // IDB 0: Ethernet, snaplen 262144, default µs.
        f.extend_from_slice(&le32(1));
        f.extend_from_slice(&le32(20));
        f.extend_from_slice(&[1, 0, 0, 0]);
        f.extend_from_slice(&le32(262_144));
        f.extend_from_slice(&le32(20));
        // IDB 1: Linux SLL, ns resolution.
        f.extend_from_slice(&le32(1));
        f.extend_from_slice(&le32(28));
        f.extend_from_slice(&[113, 0, 0, 0]);
        f.extend_from_slice(&le32(0));
        f.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0]);
        f.extend_from_slice(&le32(28));
        // EPB on interface 1: ts 1_700_000_000_123_456_789 ns, 16-byte SLL header + 2 bytes.
        let t: u64 = 1_700_000_000_123_456_789;
        let sll = [
            0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0x00,
        ];
        f.extend_from_slice(&le32(6));
        f.extend_from_slice(&le32(32 + 20));
        f.extend_from_slice(&le32(1));
        f.extend_from_slice(&le32((t >> 32) as u32));
        f.extend_from_slice(&le32(t as u32));
        f.extend_from_slice(&le32(18));
        f.extend_from_slice(&le32(60));
        f.extend_from_slice(&sll);
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&le32(32 + 20));
        // Unknown block type 0x0bad, 16 bytes.
        f.extend_from_slice(&le32(0x0bad));
        f.extend_from_slice(&le32(16));
        f.extend_from_slice(&[1, 2, 3, 4]);
        f.extend_from_slice(&le32(16));
        // EPB on interface 0: ts 1_500_000_000.000_001 s in µs, 1 byte.
        let t: u64 = 1_500_000_000_000_001;
        f.extend_from_slice(&le32(6));
        f.extend_from_slice(&le32(36));
        f.extend_from_slice(&le32(0));
        f.extend_from_slice(&le32((t >> 32) as u32));
        f.extend_from_slice(&le32(t as u32));
        f.extend_from_slice(&le32(1));
        f.extend_from_slice(&le32(1));
        f.extend_from_slice(&[0xee, 0, 0, 0]);
        f.extend_from_slice(&le32(36));
        // BE SHB.
        f.extend_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a]);
        f.extend_from_slice(&be32(28));
        f.extend_from_slice(&[0x1a, 0x2b, 0x3c, 0x4d, 0, 1, 0, 0]);
        f.extend_from_slice(&[0xff; 8]);
        f.extend_from_slice(&be32(28));
        // IDB 0: raw IP (101), snaplen 3, tsresol 2^-10, tsoffset 100 s.
        f.extend_from_slice(&be32(1));
        f.extend_from_slice(&be32(44));
        f.extend_from_slice(&[0, 101, 0, 0]);
        f.extend_from_slice(&be32(3));
        f.extend_from_slice(&[0, 9, 0, 1, 0x8a, 0, 0, 0]);
        f.extend_from_slice(&[0, 14, 0, 8, 0, 0, 0, 0, 0, 0, 0, 100]);
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(&be32(44));
        // Legacy PB, interface 0, ts 2048 units = 2 s, caplen 2.
        f.extend_from_slice(&be32(2));
        f.extend_from_slice(&be32(36));
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(&be32(0));
        f.extend_from_slice(&be32(2048));
        f.extend_from_slice(&be32(2));
        f.extend_from_slice(&be32(2));
        f.extend_from_slice(&[0x45, 0x01, 0, 0]);
        f.extend_from_slice(&be32(36));
        // SPB, origlen 7, room 8, snaplen 3 → 3 captured bytes.
        f.extend_from_slice(&be32(3));
        f.extend_from_slice(&be32(24));
        f.extend_from_slice(&be32(7));
        f.extend_from_slice(&[0x60, 1, 2, 3, 4, 5, 6, 0]);
        f.extend_from_slice(&be32(24));
        f
    }

    fn samples() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("pcap_le_us", pcap_le_us()),
            ("pcap_be_ns", pcap_be_ns()),
            ("pcapng", pcapng_two_sections()),
        ]
    }

    #[test]
    fn pcap_le_us_reads() {
        let (p, res, r) = read_chunked(&pcap_le_us(), usize::MAX);
        res.unwrap();
        assert_eq!(r.format(), Some(Format::Pcap));
        assert_eq!(r.linktypes(), &[1]);
        assert_eq!(p.len(), 3);
        assert_eq!(p.iter().map(|p| p.frame).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(p[1].ts, 50_000_000_001_000_000);
        assert_eq!((p[1].data.len(), p[1].origlen), (5, 1500));
        assert_eq!(p[2].data, Vec::<u8>::new());
        assert_eq!(r.offset(), pcap_le_us().len() as u64);
    }

    #[test]
    fn pcap_be_ns_reads() {
        let (p, res, r) = read_chunked(&pcap_be_ns(), 5);
        res.unwrap();
        assert_eq!(r.linktypes(), &[101]);
        assert_eq!(p[0].ts, 1_999_999_999);
        assert_eq!(p[0].data, vec![0x45, 0, 0]);
        assert_eq!((p[1].ts, p[1].linktype), (2_000_000_001, 101));
    }

    /// capinfos-independent sanity: SLL with ns resolution, sections, SPB, PB, tsresol 2^-10, tsoffset.
    #[test]
    fn pcapng_sections_interfaces_resolutions() {
        let (p, res, r) = read_chunked(&pcapng_two_sections(), usize::MAX);
        res.unwrap();
        assert_eq!(r.format(), Some(Format::Pcapng));
        assert_eq!(r.linktypes(), &[1, 113, 101]);
        let got: Vec<(u64, Nanos, u32, u32, usize)> = p
            .iter()
            .map(|p| (p.frame, p.ts, p.linktype, p.origlen, p.data.len()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 1_700_000_000_123_456_789, 113, 60, 18),
                (2, 1_500_000_000_000_001_000, 1, 1, 1),
                (3, 102_000_000_000, 101, 2, 2),
                (4, 102_000_000_000, 101, 7, 3),
            ]
        );
        assert_eq!(&p[0].data[14..16], &[0x08, 0x00]);
        assert_eq!(p[3].data, vec![0x60, 1, 2]);
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        for (name, file) in samples() {
            let whole = read_chunked(&file, usize::MAX);
            for chunk in [1, 2, 3, 7, 13, 64, 4096] {
                let c = read_chunked(&file, chunk);
                assert_eq!(c.0, whole.0, "{name} chunk {chunk}");
                assert_eq!(c.1, whole.1, "{name} chunk {chunk}");
                assert_eq!(c.2.offset(), whole.2.offset(), "{name} chunk {chunk}");
            }
        }
    }

    #[test]
    fn whole_records_are_zero_copy() {
        let file = pcap_le_us();
        let range = file.as_ptr_range();
        let mut r = CaptureReader::new();
        let mut inside = 0;
        r.push(&file, |p| {
            if range.contains(&p.data.as_ptr()) || p.data.is_empty() {
                inside += 1;
            }
        })
        .unwrap();
        assert_eq!(inside, 3);
    }

    /// Every prefix of every sample: the packets read so far are a prefix of the full list,
    /// and `finish` reports Empty, NotACapture or Truncated (with the record's offset).
    #[test]
    fn truncation_sweep() {
        for (name, file) in samples() {
            let (all, res, _) = read_chunked(&file, usize::MAX);
            res.unwrap();
            for cut in 0..file.len() {
                for chunk in [1, 5, usize::MAX] {
                    let (p, res, r) = read_chunked(&file[..cut], chunk);
                    assert_eq!(&all[..p.len()], &p[..], "{name} cut {cut}");
                    match res {
                        Ok(()) => {
                            // Only at a record boundary: all records before the cut were read.
                            assert_eq!(r.offset(), cut as u64, "{name} cut {cut}");
                        }
                        Err(e) => {
                            let want = match cut {
                                0 => CaptureErrorKind::Empty,
                                _ => CaptureErrorKind::Truncated,
                            };
                            assert_eq!(e.kind, want, "{name} cut {cut}: {e}");
                            assert_eq!(e.offset, r.offset(), "{name} cut {cut}: {e}");
                            assert!(e.offset <= cut as u64);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn truncated_record_says_where_and_how_much() {
        let file = pcap_le_us();
        // Cut 3 bytes into the first record's data: header 24, record header 16, data 14.
        let (p, res, _) = read_chunked(&file[..24 + 16 + 3], 7);
        assert!(p.is_empty());
        let e = res.unwrap_err();
        assert_eq!((e.kind, e.offset), (CaptureErrorKind::Truncated, 24));
        assert!(
            e.detail.contains("19 of its 30 bytes present, 11 missing"),
            "{}",
            e.detail
        );
        let (_, res, _) = read_chunked(&file[..24 + 5], 7);
        let e = res.unwrap_err();
        assert!(
            e.detail.contains("header of a pcap packet record"),
            "{}",
            e.detail
        );
        assert!(e.detail.contains("at least 11 missing"), "{}", e.detail);
        let ng = pcapng_two_sections();
        let (_, res, _) = read_chunked(&ng[..40], 3);
        let e = res.unwrap_err();
        assert_eq!(e.offset, 36);
        assert!(
            e.detail.contains("interface description block"),
            "{}",
            e.detail
        );
    }

    #[test]
    fn not_a_capture_names_what_it_found() {
        for chunk in [1, 100] {
            let (p, res, r) = read_chunked(b"<!DOCTYPE html>\n<html></html>\n", chunk);
            assert!(p.is_empty());
            let e = res.unwrap_err();
            assert_eq!((e.kind, e.offset), (CaptureErrorKind::NotACapture, 0));
            assert!(
                e.detail.starts_with("first bytes 3c 21 44 4f"),
                "{}",
                e.detail
            );
            assert!(
                e.detail.contains("not a pcap or pcapng file"),
                "{}",
                e.detail
            );
            assert_eq!(r.format(), None);
        }
        let e = read_chunked(&[0x1f, 0x8b, 8, 0, 0], 2).1.unwrap_err();
        assert!(e.detail.contains("gzip"), "{}", e.detail);
        let e = read_chunked(b"hi", 2).1.unwrap_err();
        assert_eq!(e.kind, CaptureErrorKind::NotACapture);
        let e = read_chunked(&[0xd4, 0xc3], 1).1.unwrap_err();
        assert_eq!(e.kind, CaptureErrorKind::Truncated);
        let e = read_chunked(&[], 1).1.unwrap_err();
        assert_eq!(e.kind, CaptureErrorKind::Empty);
    }

    #[test]
    fn bad_lengths_stop_reading_and_keep_earlier_packets() {
        let mut file = pcap_le_us();
        // Second record header at 24 + 16 + 14 = 54; caplen field at +8.
        file[54 + 8..54 + 12].copy_from_slice(&0x0100_0000u32.to_le_bytes());
        for chunk in [1, 9, usize::MAX] {
            let (p, res, r) = read_chunked(&file, chunk);
            assert_eq!(p.len(), 1);
            let e = res.unwrap_err();
            assert_eq!((e.kind, e.offset), (CaptureErrorKind::BadLength, 54));
            // The error sticks.
            let mut r = r;
            assert_eq!(
                r.push(&[0; 100], |_| panic!("packet after error"))
                    .unwrap_err(),
                e
            );
            assert_eq!(r.finish().unwrap_err(), e);
            // Nothing of the claimed 16 MB was buffered.
            assert!(r.plain.buf.capacity() < 4096);
        }
        // A pcapng block claiming 4 GB is refused before any buffering.
        let mut ng = pcapng_two_sections();
        ng[36 + 4..36 + 8].copy_from_slice(&0xffff_fffcu32.to_le_bytes());
        let (_, res, r) = read_chunked(&ng, 50);
        let e = res.unwrap_err();
        assert_eq!((e.kind, e.offset), (CaptureErrorKind::BadLength, 36));
        assert!(r.plain.buf.capacity() < 4096);
    }

    #[test]
    fn straddling_record_is_bounded_by_its_length() {
        // One 100 kB record pushed in 1000-byte chunks: the buffer never exceeds the record.
        let mut f = pcap_le_us()[..24].to_vec();
        f[16..20].copy_from_slice(&[0, 0, 0, 0]); // snaplen 0: no limit
        let n = 100_000u32;
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&n.to_le_bytes());
        f.extend_from_slice(&n.to_le_bytes());
        f.extend((0..n).map(|i| i as u8));
        let mut r = CaptureReader::new();
        let mut got = vec![];
        for c in f.chunks(1000) {
            r.push(c, |p| got.push(p.data.to_vec())).unwrap();
            assert!(r.plain.buf.len() <= n as usize + 16);
        }
        r.finish().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].len(), n as usize);
        assert_eq!(got[0][99_999], (99_999u32 as u8));
    }
}
