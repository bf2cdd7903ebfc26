//! Streaming capture readers for pcap and pcapng, plain or compressed with gzip or zstd
//! (sniffed from the first bytes and decompressed as they stream, see [`compressed`]).
//!
//! [`CaptureReader::push`] takes chunks of any size. Records that lie wholly inside a
//! chunk are handed to the sink as slices of that chunk (zero-copy); a record that
//! straddles chunks is assembled in a bounded internal buffer. Lengths are checked
//! before use; a length larger than [`MAX_RECORD`] is an error, never an allocation.
//! The packets, errors and offsets produced do not depend on how the input is cut.
//!
//! What stops reading ([`CaptureError`], with the offset of the structure at fault):
//! empty input; first bytes that are no pcap/pcapng magic (the message shows them);
//! input ending inside a header or record (how many bytes were missing); a record or
//! block length that is impossible (pcap caplen above the snaplen or [`MAX_RECORD`];
//! pcapng length not a multiple of 4, under 12, over [`MAX_RECORD`], trailing copy
//! different, packet data overrunning its block); an unknown pcap/pcapng major version;
//! a packet naming an interface its section never described.
//!
//! What is accepted as data, not an error: `caplen < origlen` (snaplen cut), a pcap
//! snaplen of 0 (no limit announced), unknown pcapng blocks and options (skipped), FCS
//! bits in the pcap link-type field (masked, as libpcap does), Simple Packet Blocks (no
//! timestamp: they take the previous packet's). Timestamps saturate instead of wrapping.

pub mod compressed;
pub mod pcap;
pub mod pcapng;
mod reader;

pub use compressed::Compression;
pub use reader::CaptureReader;

use serde::Serialize;

/// The largest record (pcap packet record or pcapng block) accepted, in bytes.
pub const MAX_RECORD: usize = 16 * 1024 * 1024;

/// Container format of a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Pcap,
    Pcapng,
}

/// Bits of [`Packet::ts_note`]: what the reader found odd in a packet's timestamp fields.
pub mod ts_note {
    /// pcap: the fraction of a second was ≥ 1 s; carried into the seconds.
    pub const FRACTION_OVERFLOW: u8 = 0x01;
    /// pcapng: the interface's `if_tsresol` is absurd, or the timestamp overflowed.
    pub const ABSURD_RESOLUTION: u8 = 0x02;
}

/// One packet as read from the capture.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// [`ts_note`] bits: what was odd about the timestamp fields.
    pub ts_note: u8,
    /// 1-based frame number, as Wireshark counts.
    pub frame: u64,
    /// Timestamp, nanoseconds since the Unix epoch.
    pub ts: crate::Nanos,
    /// LINKTYPE_* value of the packet's interface.
    pub linktype: u32,
    /// Length on the wire (original length).
    pub origlen: u32,
    /// Captured bytes (`data.len()` is the captured length, possibly < origlen).
    pub data: &'a [u8],
}

/// Why reading stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureErrorKind {
    /// The first bytes are not a pcap or pcapng magic number.
    NotACapture,
    /// The input had no bytes at all.
    Empty,
    /// The input ends in the middle of a header or record.
    Truncated,
    /// A length field is impossible (too small, too large, inconsistent).
    BadLength,
    /// A valid structure we cannot read (e.g. an unknown version).
    Unsupported,
    /// A structure whose content contradicts the file (e.g. a packet naming an interface
    /// that was never described, a pcapng section header with a bad byte-order magic).
    Malformed,
}

/// A file-level error: reading stops here, what was read stays analysed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureError {
    pub kind: CaptureErrorKind,
    /// Byte offset in the file where the bad structure starts.
    pub offset: u64,
    /// What was wrong, in words.
    pub detail: String,
}

impl std::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at byte offset {}: {}", self.offset, self.detail)
    }
}

impl std::error::Error for CaptureError {}

/// Names what the first bytes of a non-capture input look like, for error messages:
/// `first bytes 3c 21 44 4f ("<!DO")`, plus a hint for text (compressed inputs are sniffed
/// before, in [`compressed`]).
pub(crate) fn describe_first_bytes(data: &[u8]) -> String {
    let head = data.get(..4).unwrap_or(data);
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    let mut s = format!("first bytes {}", hex.join(" "));
    if let Some(kind) = file_kind(head) {
        s.push_str(&format!(" ({kind})"));
    } else if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') && !head.is_empty() {
        let text: String = head.iter().map(|b| char::from(*b)).collect();
        s.push_str(&format!(" (\"{text}\", text)"));
    }
    s
}

/// Files that are not a pcap/pcapng, by their first bytes: magic, id (the message
/// `error.file.<id>` names it in the reader's language) and the English words of the error.
const FILE_KINDS: &[(&[u8], &str, &str)] = &[
    (&[0xff, 0xd8, 0xff], "jpeg", "a JPEG image, not a capture"),
    (&[0x89, b'P', b'N', b'G'], "png", "a PNG image, not a capture"),
    (b"GIF8", "gif", "a GIF image, not a capture"),
    (b"%PDF", "pdf", "a PDF document, not a capture"),
    (b"RIFF", "riff", "a RIFF media file (WAV/AVI/WebP), not a capture"),
    (b"OggS", "ogg", "an Ogg audio file, not a capture"),
    (b"ID3", "mp3", "an MP3 audio file, not a capture"),
    (&[0x1a, 0x45, 0xdf, 0xa3], "matroska", "a Matroska/WebM video, not a capture"),
    (&[0x7f, b'E', b'L', b'F'], "elf", "an ELF program, not a capture"),
    (b"MZ", "exe", "a Windows program, not a capture"),
    (b"SQLi", "sqlite", "an SQLite database, not a capture"),
    (
        b"snoo",
        "snoop",
        "a Solaris snoop capture: convert it with `editcap -F pcapng IN OUT` (Wireshark)",
    ),
    (
        b"GMBU",
        "netmon",
        "a Microsoft Network Monitor capture: convert it with `editcap -F pcapng IN OUT` (Wireshark)",
    ),
    (
        &[b'X', b'C', b'P', 0],
        "netxray",
        "a NetXray/Sniffer capture: convert it with `editcap -F pcapng IN OUT` (Wireshark)",
    ),
];

/// What a file that is not a pcap/pcapng looks like, from its first four bytes only (so the
/// message does not depend on how the input was chunked): other capture formats with how to
/// convert them, and the files people pick by mistake (a photo, a PDF, a screen recording).
pub(crate) fn file_kind(head: &[u8]) -> Option<&'static str> {
    file_kind_entry(head).map(|k| k.2)
}

/// The id of [`file_kind`] (`jpeg`, `snoop`, …), for the plain-language error.
pub fn file_kind_id(head: &[u8]) -> Option<&'static str> {
    file_kind_entry(head).map(|k| k.1)
}

/// The ids [`file_kind_id`] can return (each has an `error.file.<id>` message).
pub fn file_kind_ids() -> impl Iterator<Item = &'static str> {
    FILE_KINDS.iter().map(|k| k.1)
}

fn file_kind_entry(head: &[u8]) -> Option<&'static (&'static [u8], &'static str, &'static str)> {
    let head = head.get(..4).unwrap_or(head);
    FILE_KINDS
        .iter()
        .find(|(magic, _, _)| head.starts_with(magic))
}

#[cfg(test)]
mod file_kind_tests {
    use super::{describe_first_bytes, file_kind};

    #[test]
    fn common_mistakes_and_other_capture_formats_are_named() {
        assert_eq!(
            file_kind(&[0xff, 0xd8, 0xff, 0xe0]),
            Some("a JPEG image, not a capture")
        );
        assert!(file_kind(b"%PDF").unwrap().contains("PDF"));
        assert!(file_kind(b"snoo").unwrap().contains("editcap"));
        assert!(file_kind(b"GMBU").unwrap().contains("Network Monitor"));
        assert_eq!(file_kind(b"hell"), None);
        assert_eq!(
            describe_first_bytes(&[0xff, 0xd8, 0xff, 0xe0, 1, 2]),
            "first bytes ff d8 ff e0 (a JPEG image, not a capture)"
        );
        assert_eq!(
            describe_first_bytes(b"hello"),
            "first bytes 68 65 6c 6c (\"hell\", text)"
        );
    }
}
