//! A small pcapng writer (little-endian, one section): a Section Header Block with a
//! comment, one Interface Description Block per link type (nanosecond timestamps, so the
//! original times are kept exactly), and Enhanced Packet Blocks with comments.
//!
//! Pure Rust, no OS calls: it builds the file in memory, so the page can use it too.
//! Block layout as in the pcapng specification (draft-ietf-opsawg-pcapng): SHB type
//! `0x0A0D0D0A`, IDB type 1, EPB type 6; options `opt_comment` (1), `shb_userappl` (4),
//! `if_name` (2), `if_tsresol` (9), `opt_endofopt` (0). The CLI's live capture streams the
//! same blocks through [`section_header_block`], [`interface_block`] and [`packet_block`].

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;
/// An option value is at most this long (its length is a u16); longer comments are cut.
const MAX_OPTION: usize = 65_532;

/// Builds a pcapng file in memory: [`interface`](Self::interface) and
/// [`packet`](Self::packet) in any order, then [`finish`](Self::finish) with the section
/// comment (which may so depend on everything written, e.g. a hash of the input).
#[derive(Debug, Default)]
pub struct PcapngWriter {
    /// Link type of each interface, in id order.
    linktypes: Vec<u32>,
    /// The Enhanced Packet Blocks written so far.
    packets: Vec<u8>,
    count: u64,
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a char boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    let value = value.get(..value.len().min(MAX_OPTION)).unwrap_or(value);
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    pad(out);
}

fn pad(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// Appends a block: type, total length, body (already padded), total length.
fn block(out: &mut Vec<u8>, btype: u32, body: &[u8]) {
    let total = (body.len() + 12) as u32;
    out.extend_from_slice(&btype.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_le_bytes());
}

impl PcapngWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The interface id for a link type, describing a new interface the first time.
    pub fn interface(&mut self, linktype: u32) -> u32 {
        match self.linktypes.iter().position(|l| *l == linktype) {
            Some(i) => i as u32,
            None => {
                self.linktypes.push(linktype);
                (self.linktypes.len() - 1) as u32
            }
        }
    }

    /// Appends a packet of interface `iface`: timestamp in nanoseconds since the epoch
    /// (negative ones are written as 0), captured bytes, length on the wire, and one
    /// comment option per entry of `comments`.
    pub fn packet(
        &mut self,
        iface: u32,
        ts: crate::Nanos,
        data: &[u8],
        origlen: u32,
        comments: &[String],
    ) {
        self.packets
            .extend(packet_block(iface, ts, data, origlen, comments));
        self.count += 1;
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.count
    }

    /// The whole file: the section header (with `comment` and `userappl`, the writing
    /// tool), the interfaces, then the packets.
    pub fn finish(self, comment: &str, userappl: &str) -> Vec<u8> {
        let mut out = section_header_block(Some(comment), userappl);
        for lt in &self.linktypes {
            out.extend(interface_block(*lt, 0, None));
        }
        out.extend_from_slice(&self.packets);
        out
    }
}

/// A Section Header Block (little-endian, section length unspecified) with an optional
/// `opt_comment` and the writing tool (`shb_userappl`). Block-level functions like this one
/// let a streaming writer (the CLI's live capture) append blocks as packets arrive.
pub fn section_header_block(comment: Option<&str>, userappl: &str) -> Vec<u8> {
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    if let Some(c) = comment {
        option(&mut shb, OPT_COMMENT, cut(c, MAX_OPTION).as_bytes());
    }
    option(&mut shb, SHB_USERAPPL, cut(userappl, MAX_OPTION).as_bytes());
    option(&mut shb, OPT_END, &[]);
    let mut out = Vec::new();
    block(&mut out, SHB, &shb);
    out
}

/// An Interface Description Block: link type, snap length (0: none announced), an optional
/// `if_name`, and nanosecond timestamps (`if_tsresol` = 9).
pub fn interface_block(linktype: u32, snaplen: u32, name: Option<&str>) -> Vec<u8> {
    let mut idb = Vec::new();
    // The link type field is 16 bits; larger values do not exist in LINKTYPE_*.
    idb.extend_from_slice(&(linktype as u16).to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&snaplen.to_le_bytes());
    if let Some(n) = name {
        option(&mut idb, IF_NAME, cut(n, MAX_OPTION).as_bytes());
    }
    option(&mut idb, IF_TSRESOL, &[9]);
    option(&mut idb, OPT_END, &[]);
    let mut out = Vec::new();
    block(&mut out, IDB, &idb);
    out
}

/// An Enhanced Packet Block of interface `iface` (see [`PcapngWriter::packet`]).
pub fn packet_block(
    iface: u32,
    ts: crate::Nanos,
    data: &[u8],
    origlen: u32,
    comments: &[String],
) -> Vec<u8> {
    let ts = u64::try_from(ts).unwrap_or(0);
    let data = data
        .get(..data.len().min(crate::capture::MAX_RECORD))
        .unwrap_or(data);
    let mut body = Vec::with_capacity(data.len() + 64);
    body.extend_from_slice(&iface.to_le_bytes());
    body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&origlen.max(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    pad(&mut body);
    for c in comments {
        option(&mut body, OPT_COMMENT, cut(c, MAX_OPTION).as_bytes());
    }
    if !comments.is_empty() {
        option(&mut body, OPT_END, &[]);
    }
    let mut out = Vec::with_capacity(body.len() + 12);
    block(&mut out, EPB, &body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;

    #[test]
    fn our_reader_reads_back_what_was_written() {
        let mut w = PcapngWriter::new();
        let eth = w.interface(1);
        let raw = w.interface(101);
        assert_eq!(w.interface(1), eth);
        w.packet(
            eth,
            1_700_000_000_123_456_789,
            &[1, 2, 3],
            60,
            &["é one".into()],
        );
        w.packet(raw, 1_700_000_001_000_000_001, &[9; 41], 41, &[]);
        let bytes = w.finish("section comment", "voipwatch test");
        assert_eq!(bytes.len() % 4, 0);
        let mut r = CaptureReader::new();
        let mut got = Vec::new();
        r.push(&bytes, |p| {
            got.push((p.frame, p.ts, p.linktype, p.origlen, p.data.to_vec()))
        })
        .unwrap();
        r.finish().unwrap();
        assert_eq!(
            got,
            vec![
                (1, 1_700_000_000_123_456_789, 1, 60, vec![1, 2, 3]),
                (2, 1_700_000_001_000_000_001, 101, 41, vec![9; 41]),
            ]
        );
    }

    #[test]
    fn blocks_are_padded_and_carry_their_length_twice() {
        for b in [
            section_header_block(None, "voipwatch test"),
            section_header_block(Some("c"), "voipwatch test"),
            interface_block(1, 262_144, Some("eth0")),
            packet_block(0, 1, b"abc", 3, &[]),
            packet_block(0, 1, b"abc", 3, &["x".into()]),
        ] {
            let n = b.len();
            assert_eq!(n % 4, 0);
            assert_eq!(b.get(4..8), Some(&(n as u32).to_le_bytes()[..]));
            assert_eq!(b.get(n - 4..), Some(&(n as u32).to_le_bytes()[..]));
        }
    }

    #[test]
    fn long_comments_are_cut_on_a_char_boundary() {
        let s = "é".repeat(40_000);
        assert!(cut(&s, MAX_OPTION).len() <= MAX_OPTION);
        assert!(cut(&s, MAX_OPTION).chars().all(|c| c == 'é'));
    }
}
