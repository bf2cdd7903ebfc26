//! Transparent decompression in front of the pcap/pcapng reader (issue 13, item 8).
//!
//! As Wireshark does, a capture compressed with **gzip** (RFC 1952, several members allowed)
//! or **zstd** (RFC 8878, several frames and skippable frames allowed) is read as if it were
//! not: the first bytes are sniffed for a magic number and the decompressed bytes go to the
//! capture reader as they come out. Both decoders are pure Rust (miniz_oxide's streaming
//! inflate, ruzstd's frame decoder), so this works in wasm32 too.
//!
//! Streaming and bounded: compressed input is consumed as it is pushed; decompressed bytes
//! leave in pieces of at most [`OUT_CHUNK`] bytes, so a gzip or zstd bomb never fills memory
//! (inflate keeps its 32 KiB window; zstd keeps one block, at most 128 KiB, plus its window,
//! which must be at most [`MAX_ZSTD_WINDOW`], zstd's own default limit). Checksums (gzip
//! CRC-32 and ISIZE, zstd's XXH64 content checksum) are verified; a mismatch, corrupt data, or
//! input that ends before the compressed stream does is a [`CaptureError`] naming the format
//! and the compressed offset, and what was decompressed before it stays analysed.
//!
//! Other compression formats (xz, bzip2, lz4, zip, 7z, zlib, lzip, compress) are recognised
//! and named in the error with the command that unpacks them: no pure-Rust xz decoder that
//! streams from pushed chunks exists (lzma-rs streams only raw LZMA, not the xz container).

use super::{CaptureError, CaptureErrorKind};
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// Largest piece of decompressed data handed on at once.
pub const OUT_CHUNK: usize = 64 * 1024;
/// Largest zstd window accepted (2^27 bytes, `ZSTD_WINDOWLOG_LIMIT_DEFAULT` of libzstd).
pub const MAX_ZSTD_WINDOW: u64 = 1 << 27;
/// Largest gzip header (with its file name, comment and extra field) accepted.
const MAX_GZIP_HEADER: usize = 64 * 1024;
/// zstd: compressed bytes taken from the caller per pass (the buffer never holds more than
/// this plus one block).
const ZSTD_TAKE: usize = 256 * 1024;
/// Largest zstd block content (RFC 8878 §3.1.1.2.3: 128 KiB).
const ZSTD_MAX_BLOCK: usize = 128 * 1024;

/// How a capture file was compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// What the first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniff {
    /// Not compressed (or not anything we know): the capture reader decides.
    Plain,
    /// A prefix of a compression magic: more bytes are needed to tell.
    Need,
    Known(Compression),
    /// A compression format we recognise but do not read: its name and how to unpack it.
    Unsupported(&'static str, &'static str),
}

const GZIP: &[u8] = &[0x1f, 0x8b];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// Formats we name but do not read: magic, name, how to unpack.
const OTHERS: &[(&[u8], &str, &str)] = &[
    (&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz", "xz -d"),
    (&[0x42, 0x5a, 0x68], "bzip2", "bunzip2"),
    (&[0x04, 0x22, 0x4d, 0x18], "lz4", "lz4 -d"),
    (&[0x02, 0x21, 0x4c, 0x18], "lz4 (legacy)", "lz4 -d"),
    (&[0x50, 0x4b, 0x03, 0x04], "zip", "unzip"),
    (&[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], "7z", "7z x"),
    (&[0x4c, 0x5a, 0x49, 0x50], "lzip", "lzip -d"),
    (&[0x1f, 0x9d], "compress (.Z)", "uncompress"),
    (&[0x78, 0x9c], "zlib", "a zlib inflater"),
    (&[0x78, 0xda], "zlib", "a zlib inflater"),
    (&[0x78, 0x01], "zlib", "a zlib inflater"),
];

/// Sniffs the first bytes of the input (`head` holds what has arrived so far).
pub(crate) fn sniff(head: &[u8]) -> Sniff {
    let mut need = false;
    let mut check = |magic: &[u8]| -> bool {
        if head.len() >= magic.len() {
            head.starts_with(magic)
        } else {
            need |= magic.starts_with(head);
            false
        }
    };
    if check(GZIP) {
        return Sniff::Known(Compression::Gzip);
    }
    if check(ZSTD) {
        return Sniff::Known(Compression::Zstd);
    }
    for (magic, name, how) in OTHERS {
        if check(magic) {
            return Sniff::Unsupported(name, how);
        }
    }
    if need {
        Sniff::Need
    } else {
        Sniff::Plain
    }
}

/// A streaming decompressor: compressed bytes in, decompressed pieces out.
#[derive(Debug)]
pub(crate) enum Decoder {
    Gzip(Box<Gunzip>),
    Zstd(Box<Unzstd>),
}

type Emit<'a> = dyn FnMut(&[u8]) -> Result<(), CaptureError> + 'a;

impl Decoder {
    pub(crate) fn new(c: Compression) -> Self {
        match c {
            Compression::Gzip => Decoder::Gzip(Box::new(Gunzip::new())),
            Compression::Zstd => Decoder::Zstd(Box::new(Unzstd::new())),
        }
    }

    /// Decompresses `input`, calling `emit` with each piece (at most [`OUT_CHUNK`] bytes);
    /// stops at the first error, `emit`'s or the decoder's.
    pub(crate) fn push(&mut self, input: &[u8], emit: &mut Emit<'_>) -> Result<(), CaptureError> {
        match self {
            Decoder::Gzip(g) => g.push(input, emit),
            Decoder::Zstd(z) => z.push(input, emit),
        }
    }

    /// End of input: hands on what the decoder still holds, then an error if the compressed
    /// stream was cut short.
    pub(crate) fn finish(&mut self, emit: &mut Emit<'_>) -> Result<(), CaptureError> {
        match self {
            Decoder::Gzip(g) => g.finish(),
            Decoder::Zstd(z) => z.finish(emit),
        }
    }

    /// Decompressed bytes produced so far.
    pub(crate) fn produced(&self) -> u64 {
        match self {
            Decoder::Gzip(g) => g.produced,
            Decoder::Zstd(z) => z.produced,
        }
    }
}

fn error(kind: CaptureErrorKind, produced: u64, detail: String) -> CaptureError {
    CaptureError {
        kind,
        offset: produced,
        detail,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GzPhase {
    /// Before a member's header (`members` says whether one came before).
    Header,
    Body,
    Trailer,
}

/// gzip (RFC 1952): header, raw deflate, CRC-32 and ISIZE; members back to back.
pub(crate) struct Gunzip {
    phase: GzPhase,
    /// Header bytes of the current member so far (at most [`MAX_GZIP_HEADER`]).
    hdr: Vec<u8>,
    trailer: Vec<u8>,
    /// Raw deflate state and its 32 KiB wrapping window, into which it decodes (each call's
    /// output is handed on whole, so what reaches the parser before an error does not depend
    /// on how the input was cut).
    inflate: Box<DecompressorOxide>,
    dict: Vec<u8>,
    dict_ofs: usize,
    /// Compressed offset where the current member started.
    member_start: u64,
    crc: crc32fast::Hasher,
    /// Decompressed size of the current member, modulo 2^32 (as ISIZE holds it).
    isize: u32,
    members: u64,
    /// Compressed bytes consumed so far.
    consumed: u64,
    produced: u64,
}

impl std::fmt::Debug for Gunzip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gunzip")
            .field("phase", &self.phase)
            .field("members", &self.members)
            .field("consumed", &self.consumed)
            .field("produced", &self.produced)
            .finish()
    }
}

/// The length of a complete gzip member header at the start of `h`, `None` if more bytes are
/// needed, or what is wrong with it.
fn gzip_header_len(h: &[u8]) -> Result<Option<usize>, String> {
    let (Some(&cm), Some(&flg)) = (h.get(2), h.get(3)) else {
        return Ok(None);
    };
    if cm != 8 {
        return Err(format!("gzip compression method {cm} is not deflate (8)"));
    }
    if flg & 0xe0 != 0 {
        return Err(format!("gzip header flags {flg:#04x} set reserved bits"));
    }
    let mut at = 10usize;
    if h.len() < at {
        return Ok(None);
    }
    if flg & 0x04 != 0 {
        let (Some(&a), Some(&b)) = (h.get(at), h.get(at + 1)) else {
            return Ok(None);
        };
        at += 2 + usize::from(u16::from_le_bytes([a, b]));
    }
    for bit in [0x08, 0x10] {
        if flg & bit != 0 {
            match h.get(at..).and_then(|t| t.iter().position(|b| *b == 0)) {
                Some(p) => at += p + 1,
                None => return Ok(None),
            }
        }
    }
    if flg & 0x02 != 0 {
        at += 2;
    }
    Ok((h.len() >= at).then_some(at))
}

impl Gunzip {
    fn new() -> Self {
        Gunzip {
            phase: GzPhase::Header,
            hdr: Vec::new(),
            trailer: Vec::new(),
            inflate: Box::default(),
            dict: vec![0; miniz_oxide::inflate::core::TINFL_LZ_DICT_SIZE],
            dict_ofs: 0,
            member_start: 0,
            crc: crc32fast::Hasher::new(),
            isize: 0,
            members: 0,
            consumed: 0,
            produced: 0,
        }
    }

    fn fail(&self, kind: CaptureErrorKind, what: String) -> CaptureError {
        // A header is taken whole or not at all, so its errors name where the member starts:
        // the count of bytes taken so far would depend on how the input was cut.
        let at = if self.phase == GzPhase::Header {
            self.member_start
        } else {
            self.consumed
        };
        error(
            kind,
            self.produced,
            format!(
                "{what} (gzip-compressed input, at compressed byte {at}; {} bytes decompressed before it)",
                self.produced
            ),
        )
    }

    fn push(&mut self, input: &[u8], emit: &mut Emit<'_>) -> Result<(), CaptureError> {
        let mut rest = input;
        // Each pass consumes input, produces output, or returns.
        loop {
            match self.phase {
                GzPhase::Header => {
                    if rest.is_empty() {
                        return Ok(());
                    }
                    if self.hdr.is_empty() && self.members > 0 {
                        // Between members: zero padding is ignored, as gzip does.
                        let zeros = rest.iter().take_while(|b| **b == 0).count();
                        self.consumed += zeros as u64;
                        rest = rest.get(zeros..).unwrap_or(&[]);
                        if rest.is_empty() {
                            return Ok(());
                        }
                    }
                    let before = self.hdr.len();
                    if before == 0 {
                        self.member_start = self.consumed;
                    }
                    let take = rest.len().min(MAX_GZIP_HEADER - before);
                    self.hdr.extend_from_slice(rest.get(..take).unwrap_or(rest));
                    if !self.hdr.starts_with(GZIP) && self.hdr.len() >= 2 {
                        return Err(self.fail(
                            CaptureErrorKind::Malformed,
                            "bytes after the end of the gzip data are not another gzip member"
                                .into(),
                        ));
                    }
                    match gzip_header_len(&self.hdr) {
                        Err(e) => return Err(self.fail(CaptureErrorKind::Malformed, e)),
                        Ok(Some(n)) => {
                            let used = n.saturating_sub(before);
                            self.consumed += used as u64;
                            rest = rest.get(used..).unwrap_or(&[]);
                            self.hdr = Vec::new();
                            self.inflate.init();
                            self.dict_ofs = 0;
                            self.crc = crc32fast::Hasher::new();
                            self.isize = 0;
                            self.phase = GzPhase::Body;
                        }
                        Ok(None) if self.hdr.len() >= MAX_GZIP_HEADER => {
                            return Err(self.fail(
                                CaptureErrorKind::BadLength,
                                format!("gzip header longer than {MAX_GZIP_HEADER} bytes"),
                            ));
                        }
                        Ok(None) => {
                            self.consumed += take as u64;
                            return Ok(());
                        }
                    }
                }
                GzPhase::Body => {
                    let (status, used, made) = decompress(
                        &mut self.inflate,
                        rest,
                        &mut self.dict,
                        self.dict_ofs,
                        inflate_flags::TINFL_FLAG_HAS_MORE_INPUT,
                    );
                    self.consumed += used as u64;
                    rest = rest.get(used..).unwrap_or(&[]);
                    if made > 0 {
                        let piece = self
                            .dict
                            .get(self.dict_ofs..self.dict_ofs + made)
                            .unwrap_or(&[]);
                        self.crc.update(piece);
                        self.isize = self.isize.wrapping_add(made as u32);
                        self.produced += made as u64;
                        self.dict_ofs = (self.dict_ofs + made) % self.dict.len().max(1);
                        emit(piece)?;
                    }
                    match status {
                        TINFLStatus::Done => {
                            self.phase = GzPhase::Trailer;
                            self.trailer.clear();
                        }
                        TINFLStatus::HasMoreOutput => {}
                        TINFLStatus::NeedsMoreInput if rest.is_empty() => return Ok(()),
                        TINFLStatus::NeedsMoreInput if used > 0 || made > 0 => {}
                        _ => {
                            // The exact byte depends on how far inflate read ahead, so the
                            // member is named instead (the report must not depend on chunking).
                            return Err(error(
                                CaptureErrorKind::Malformed,
                                self.produced,
                                format!(
                                    "corrupt deflate data in the gzip member that starts at compressed byte {} \
                                     (gzip-compressed input; {} bytes decompressed before it)",
                                    self.member_start, self.produced
                                ),
                            ));
                        }
                    }
                }
                GzPhase::Trailer => {
                    let take = rest.len().min(8 - self.trailer.len());
                    self.trailer
                        .extend_from_slice(rest.get(..take).unwrap_or(&[]));
                    self.consumed += take as u64;
                    rest = rest.get(take..).unwrap_or(&[]);
                    let Some(t) = self.trailer.first_chunk::<8>() else {
                        return Ok(());
                    };
                    let [c0, c1, c2, c3, l0, l1, l2, l3] = *t;
                    let want_crc = u32::from_le_bytes([c0, c1, c2, c3]);
                    let want_len = u32::from_le_bytes([l0, l1, l2, l3]);
                    let crc = std::mem::take(&mut self.crc).finalize();
                    if crc != want_crc {
                        return Err(self.fail(
                            CaptureErrorKind::Malformed,
                            format!("gzip CRC-32 mismatch: the data gives {crc:08x}, the trailer says {want_crc:08x}"),
                        ));
                    }
                    if self.isize != want_len {
                        return Err(self.fail(
                            CaptureErrorKind::Malformed,
                            format!(
                                "gzip length mismatch: {} bytes decompressed (mod 2^32), the trailer says {want_len}",
                                self.isize
                            ),
                        ));
                    }
                    self.members += 1;
                    self.phase = GzPhase::Header;
                }
            }
        }
    }

    fn finish(&self) -> Result<(), CaptureError> {
        let where_ = match self.phase {
            GzPhase::Header if self.hdr.is_empty() && self.members > 0 => return Ok(()),
            GzPhase::Header => "its header",
            GzPhase::Body => "its compressed data",
            GzPhase::Trailer => "its CRC-32/length trailer",
        };
        Err(self.fail(
            CaptureErrorKind::Truncated,
            format!("the gzip data ends inside {where_}: the compressed file is cut short"),
        ))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ZPhase {
    /// Before a frame: its magic number comes next.
    Magic,
    /// Inside a frame, before a block header; whether the frame ends with a checksum.
    Frame { checksum: bool },
    /// Inside a skippable frame: bytes left to skip.
    Skip(u64),
}

/// zstd (RFC 8878) frames, fed to ruzstd one whole block at a time.
pub(crate) struct Unzstd {
    dec: ruzstd::decoding::FrameDecoder,
    phase: ZPhase,
    /// Compressed bytes not yet used (at most [`ZSTD_TAKE`] plus one block).
    buf: Vec<u8>,
    out: Vec<u8>,
    frames: u64,
    /// Compressed bytes consumed (used) so far, and the position inside `buf` of the unit
    /// being decoded (so that errors name a byte that does not depend on chunking).
    consumed: u64,
    at: usize,
    produced: u64,
}

impl std::fmt::Debug for Unzstd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unzstd")
            .field("phase", &self.phase)
            .field("frames", &self.frames)
            .field("consumed", &self.consumed)
            .field("produced", &self.produced)
            .finish()
    }
}

/// Frame header length (magic included) from its first 5 bytes (RFC 8878 §3.1.1.1).
fn zstd_header_len(fhd: u8) -> usize {
    let single = fhd & 0x20 != 0;
    let dict = match fhd & 3 {
        0 => 0,
        1 => 1,
        2 => 2,
        _ => 4,
    };
    let fcs = match fhd >> 6 {
        0 => usize::from(single),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    4 + 1 + usize::from(!single) + dict + fcs
}

impl Unzstd {
    fn new() -> Self {
        let mut dec = ruzstd::decoding::FrameDecoder::new();
        dec.set_max_window_size(MAX_ZSTD_WINDOW);
        Unzstd {
            dec,
            phase: ZPhase::Magic,
            buf: Vec::new(),
            out: vec![0; OUT_CHUNK],
            frames: 0,
            consumed: 0,
            at: 0,
            produced: 0,
        }
    }

    fn fail(&self, kind: CaptureErrorKind, what: String) -> CaptureError {
        error(
            kind,
            self.produced,
            format!(
                "{what} (zstd-compressed input, at compressed byte {}; {} bytes decompressed before it)",
                self.consumed + self.at as u64,
                self.produced
            ),
        )
    }

    fn push(&mut self, input: &[u8], emit: &mut Emit<'_>) -> Result<(), CaptureError> {
        let mut rest = input;
        loop {
            let take = rest.len().min(ZSTD_TAKE);
            let (now, later) = rest.split_at(take);
            self.buf.extend_from_slice(now);
            rest = later;
            self.at = 0;
            self.units(emit)?;
            let used = std::mem::take(&mut self.at);
            self.buf.drain(..used.min(self.buf.len()));
            self.consumed += used as u64;
            if rest.is_empty() {
                return Ok(());
            }
        }
    }

    /// Decodes every complete unit (frame header, block, skipped bytes) at the start of `buf`,
    /// advancing `at` past each.
    fn units(&mut self, emit: &mut Emit<'_>) -> Result<(), CaptureError> {
        loop {
            let cur = self.buf.get(self.at..).unwrap_or(&[]);
            match self.phase {
                ZPhase::Magic => {
                    let Some(m) = cur.first_chunk::<4>() else {
                        return Ok(());
                    };
                    let magic = u32::from_le_bytes(*m);
                    if magic & 0xffff_fff0 == 0x184d_2a50 {
                        let Some(l) = cur.get(4..).and_then(|t| t.first_chunk::<4>()) else {
                            return Ok(());
                        };
                        let len = u32::from_le_bytes(*l);
                        self.at += 8;
                        self.phase = ZPhase::Skip(u64::from(len));
                        continue;
                    }
                    if magic != 0xfd2f_b528 {
                        return Err(self.fail(
                            CaptureErrorKind::Malformed,
                            format!(
                                "bytes after zstd frame {} are not another zstd frame",
                                self.frames
                            ),
                        ));
                    }
                    let Some(&fhd) = cur.get(4) else {
                        return Ok(());
                    };
                    let n = zstd_header_len(fhd);
                    let Some(h) = cur.get(..n) else {
                        return Ok(());
                    };
                    if let Err(e) = self.dec.reset(h) {
                        return Err(self.fail(
                            CaptureErrorKind::Unsupported,
                            format!("zstd frame header: {e}"),
                        ));
                    }
                    self.at += n;
                    self.phase = ZPhase::Frame {
                        checksum: fhd & 0x04 != 0,
                    };
                }
                ZPhase::Skip(left) => {
                    let n = (cur.len() as u64).min(left);
                    self.at += n as usize;
                    if n < left {
                        self.phase = ZPhase::Skip(left - n);
                        return Ok(());
                    }
                    self.phase = ZPhase::Magic;
                }
                ZPhase::Frame { checksum } => {
                    let Some(&[b0, b1, b2]) = cur.first_chunk::<3>() else {
                        return Ok(());
                    };
                    let h = u32::from(b0) | u32::from(b1) << 8 | u32::from(b2) << 16;
                    let last = h & 1 != 0;
                    let size = (h >> 3) as usize;
                    let content = match (h >> 1) & 3 {
                        0 | 2 => size,
                        1 => 1,
                        _ => {
                            return Err(self.fail(
                                CaptureErrorKind::Malformed,
                                "zstd block of the reserved type 3".into(),
                            ))
                        }
                    };
                    if size > ZSTD_MAX_BLOCK {
                        return Err(self.fail(
                            CaptureErrorKind::BadLength,
                            format!("zstd block of {size} bytes, over the 128 KiB maximum"),
                        ));
                    }
                    let unit = 3 + content + if last && checksum { 4 } else { 0 };
                    let Some(block) = cur.get(..unit) else {
                        return Ok(());
                    };
                    if let Err(e) = self.dec.decode_from_to(block, &mut []) {
                        return Err(self.fail(
                            CaptureErrorKind::Malformed,
                            format!("corrupt zstd data: {e}"),
                        ));
                    }
                    self.at += unit;
                    self.drain(emit)?;
                    if last {
                        if let (Some(want), Some(got)) = (
                            self.dec.get_checksum_from_data(),
                            self.dec.get_calculated_checksum(),
                        ) {
                            if want != got {
                                return Err(self.fail(
                                    CaptureErrorKind::Malformed,
                                    format!("zstd content checksum mismatch: the data gives {got:08x}, the frame says {want:08x}"),
                                ));
                            }
                        }
                        self.frames += 1;
                        self.phase = ZPhase::Magic;
                    }
                }
            }
        }
    }

    /// Hands on what the decoder can release (all of it once the frame is finished).
    fn drain(&mut self, emit: &mut Emit<'_>) -> Result<(), CaptureError> {
        loop {
            let n = match std::io::Read::read(&mut self.dec, &mut self.out) {
                Ok(n) => n,
                Err(e) => {
                    return Err(self.fail(
                        CaptureErrorKind::Malformed,
                        format!("zstd decode buffer: {e}"),
                    ))
                }
            };
            if n == 0 {
                return Ok(());
            }
            self.produced += n as u64;
            emit(self.out.get(..n).unwrap_or(&[]))?;
        }
    }

    fn finish(&mut self, emit: &mut Emit<'_>) -> Result<(), CaptureError> {
        if let ZPhase::Frame { .. } = self.phase {
            // Cut inside a frame: ruzstd releases bytes only once they leave the window, so
            // end the frame with an empty last raw block to hand on every byte the complete
            // blocks held (the frame's checksum, if any, is not checked then).
            if self.dec.decode_from_to(&[0x01, 0, 0], &mut []).is_ok() {
                self.drain(emit)?;
            }
        }
        let where_ = match self.phase {
            ZPhase::Magic if self.buf.is_empty() && self.frames > 0 => return Ok(()),
            ZPhase::Magic => "a frame header",
            ZPhase::Frame { .. } => "a block",
            ZPhase::Skip(_) => "a skippable frame",
        };
        Err(self.fail(
            CaptureErrorKind::Truncated,
            format!("the zstd data ends inside {where_}: the compressed file is cut short"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magics_and_waits_for_prefixes() {
        assert_eq!(sniff(&[0x1f, 0x8b, 8]), Sniff::Known(Compression::Gzip));
        assert_eq!(
            sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Sniff::Known(Compression::Zstd)
        );
        assert_eq!(sniff(&[0x28, 0xb5]), Sniff::Need);
        assert_eq!(sniff(&[0xd4, 0xc3, 0xb2, 0xa1]), Sniff::Plain);
        assert_eq!(sniff(&[0x0a, 0x0d, 0x0d, 0x0a]), Sniff::Plain);
        assert_eq!(sniff(&[]), Sniff::Need);
        assert!(matches!(
            sniff(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
            Sniff::Unsupported("xz", _)
        ));
        assert!(matches!(sniff(b"BZh91AY"), Sniff::Unsupported("bzip2", _)));
        assert!(matches!(sniff(b"PK\x03\x04"), Sniff::Unsupported("zip", _)));
    }

    #[test]
    fn gzip_header_lengths() {
        let base = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        assert_eq!(gzip_header_len(&base), Ok(Some(10)));
        assert_eq!(gzip_header_len(&base[..9]), Ok(None));
        let mut named = base.to_vec();
        named[3] = 0x08;
        named.extend_from_slice(b"a.pcap");
        assert_eq!(gzip_header_len(&named), Ok(None));
        named.push(0);
        assert_eq!(gzip_header_len(&named), Ok(Some(17)));
        let mut bad = base;
        bad[2] = 7;
        assert!(gzip_header_len(&bad).is_err());
    }
}
