//! Non-panicking big-endian field readers shared by the protocol views.
//!
//! Every view checks its buffer length once in its constructor; these readers then never
//! take their fallback (zero) path. They exist so that no accessor can panic even if a
//! check were wrong: a short buffer reads as zero instead of indexing out of bounds.

use std::ops::Range;

/// The byte at `i`, or 0 past the end.
#[inline(always)]
pub(crate) fn u8_at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// A big-endian u16 over `r` (must span 2 bytes), or 0 when out of range.
#[inline(always)]
pub(crate) fn be16(b: &[u8], r: Range<usize>) -> u16 {
    match b.get(r) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

/// A big-endian u32 over `r` (must span 4 bytes), or 0 when out of range.
#[inline(always)]
pub(crate) fn be32(b: &[u8], r: Range<usize>) -> u32 {
    match b.get(r) {
        Some(&[a, b2, c, d]) => u32::from_be_bytes([a, b2, c, d]),
        _ => 0,
    }
}

/// The 4 bytes over `r`, or zeros when out of range.
#[inline(always)]
pub(crate) fn arr4(b: &[u8], r: Range<usize>) -> [u8; 4] {
    match b.get(r) {
        Some(&[a, b2, c, d]) => [a, b2, c, d],
        _ => [0; 4],
    }
}

/// The 16 bytes over `r`, or zeros when out of range.
#[inline(always)]
pub(crate) fn arr16(b: &[u8], r: Range<usize>) -> [u8; 16] {
    let mut out = [0u8; 16];
    if let Some(s) = b.get(r) {
        if s.len() == 16 {
            out.copy_from_slice(s);
        }
    }
    out
}

/// `b[from..]`, or empty when `from` is past the end.
#[inline(always)]
pub(crate) fn tail(b: &[u8], from: usize) -> &[u8] {
    b.get(from..).unwrap_or(&[])
}

/// `b[..len]`, or all of `b` when shorter.
#[inline(always)]
pub(crate) fn head(b: &[u8], len: usize) -> &[u8] {
    b.get(..len).unwrap_or(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_in_and_out_of_range() {
        let b = [1u8, 2, 3, 4, 5];
        assert_eq!(u8_at(&b, 4), 5);
        assert_eq!(u8_at(&b, 5), 0);
        assert_eq!(be16(&b, 0..2), 0x0102);
        assert_eq!(be16(&b, 4..6), 0);
        assert_eq!(be32(&b, 1..5), 0x0203_0405);
        assert_eq!(be32(&b, 2..6), 0);
        assert_eq!(arr4(&b, 0..4), [1, 2, 3, 4]);
        assert_eq!(arr16(&b, 0..16), [0; 16]);
        assert_eq!(tail(&b, 3), &[4, 5]);
        assert_eq!(tail(&b, 9), &[] as &[u8]);
        assert_eq!(head(&b, 2), &[1, 2]);
        assert_eq!(head(&b, 9), &b);
    }
}
