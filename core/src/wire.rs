//! Bounds-checked byte reading for every parser above `decode`: free big-endian readers
//! ([`be16`], [`be24`], [`be32`], [`bytes`]) and a [`Reader`] cursor.
//!
//! Contract: nothing here can panic or overflow; a read that does not fit the buffer (or whose
//! offset arithmetic would overflow) is `None`, and a failed [`Reader`] read leaves the cursor
//! where it was. `decode/` keeps its own range-based accessors (`decode/bytes.rs`): its views
//! check lengths once in their constructors and read fixed offsets on the per-packet hot path,
//! where an `Option` per field would only add branches the constructor already ruled out.

/// The byte at `off`.
#[inline]
pub fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

/// `n` bytes at `off`.
#[inline]
pub fn bytes(b: &[u8], off: usize, n: usize) -> Option<&[u8]> {
    b.get(off..off.checked_add(n)?)
}

/// The `N` bytes at `off` as an array.
#[inline]
pub fn array<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    bytes(b, off, N)?.try_into().ok()
}

/// Big-endian u16 at `off`.
#[inline]
pub fn be16(b: &[u8], off: usize) -> Option<u16> {
    array::<2>(b, off).map(u16::from_be_bytes)
}

/// Big-endian 24-bit integer at `off` (TLS handshake lengths).
#[inline]
pub fn be24(b: &[u8], off: usize) -> Option<u32> {
    let [x, y, z] = array::<3>(b, off)?;
    Some(u32::from_be_bytes([0, x, y, z]))
}

/// Big-endian u32 at `off`.
#[inline]
pub fn be32(b: &[u8], off: usize) -> Option<u32> {
    array::<4>(b, off).map(u32::from_be_bytes)
}

/// A cursor over a byte slice: each read advances past what it read, or returns `None` and
/// stays put. Slices it returns borrow the underlying buffer, not the reader.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `b`.
    pub fn new(b: &'a [u8]) -> Self {
        Reader { b, pos: 0 }
    }
    /// A reader at `pos` (past the end reads nothing).
    pub fn at(b: &'a [u8], pos: usize) -> Self {
        Reader { b, pos }
    }
    /// Offset of the cursor in the buffer.
    pub fn pos(&self) -> usize {
        self.pos
    }
    /// Bytes left after the cursor.
    pub fn remaining(&self) -> usize {
        self.b.len().saturating_sub(self.pos)
    }
    /// True when nothing is left.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }
    /// The bytes after the cursor (does not advance).
    pub fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or(&[])
    }
    /// The next byte, without advancing.
    pub fn peek_u8(&self) -> Option<u8> {
        u8_at(self.b, self.pos)
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = bytes(self.b, self.pos, n)?;
        self.pos += n;
        Some(s)
    }
    /// Skips `n` bytes (all of them must be there).
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    pub fn u8(&mut self) -> Option<u8> {
        let v = self.peek_u8()?;
        self.pos += 1;
        Some(v)
    }
    pub fn be16(&mut self) -> Option<u16> {
        let v = be16(self.b, self.pos)?;
        self.pos += 2;
        Some(v)
    }
    pub fn be24(&mut self) -> Option<u32> {
        let v = be24(self.b, self.pos)?;
        self.pos += 3;
        Some(v)
    }
    pub fn be32(&mut self) -> Option<u32> {
        let v = be32(self.b, self.pos)?;
        self.pos += 4;
        Some(v)
    }
    /// A one-byte length, then that many bytes (TLS `opaque<0..2^8-1>`).
    pub fn vec8(&mut self) -> Option<&'a [u8]> {
        let save = self.pos;
        let n = self.u8()?;
        self.take(usize::from(n)).or_else(|| {
            self.pos = save;
            None
        })
    }
    /// A two-byte length, then that many bytes (TLS `opaque<0..2^16-1>`).
    pub fn vec16(&mut self) -> Option<&'a [u8]> {
        let save = self.pos;
        let n = self.be16()?;
        self.take(usize::from(n)).or_else(|| {
            self.pos = save;
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_readers_check_bounds_and_overflow() {
        let b = [1u8, 2, 3, 4];
        assert_eq!(be16(&b, 0), Some(0x0102));
        assert_eq!(be16(&b, 3), None);
        assert_eq!(be24(&b, 1), Some(0x020304));
        assert_eq!(be32(&b, 0), Some(0x01020304));
        assert_eq!(be32(&b, 1), None);
        assert_eq!(be32(&b, usize::MAX), None);
        assert_eq!(bytes(&b, usize::MAX, 2), None);
        assert_eq!(bytes(&b, 4, 0), Some(&[][..]));
        assert_eq!(u8_at(&b, 4), None);
    }

    #[test]
    fn reader_advances_only_on_success() {
        let b = [0u8, 3, 9, 9, 9, 5, 1];
        let mut r = Reader::new(&b);
        assert_eq!(r.vec16(), Some(&[9u8, 9, 9][..]));
        assert_eq!(r.pos(), 5);
        // Claims 5 bytes, 1 left: fails and stays put.
        assert_eq!(r.vec8(), None);
        assert_eq!(r.pos(), 5);
        assert_eq!(r.be32(), None);
        assert_eq!(r.u8(), Some(5));
        assert_eq!(r.rest(), &[1]);
        assert_eq!(r.skip(2), None);
        assert_eq!(r.remaining(), 1);
        let far = Reader::at(&b, 100);
        assert!(far.is_empty());
        assert_eq!(far.rest(), &[] as &[u8]);
    }
}
