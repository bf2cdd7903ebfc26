//! TURN data framing (RFC 8656 §11–12, RFC 6062, RFC 4571): what a relay carries between
//! the client and a peer, unwrapped so the inner RTP/SRTP/RTCP/DTLS/STUN can be classified.
//!
//! - **ChannelData**: channel number 0x4000–0x7FFE (RFC 8656 §12: 0x4000–0x4FFF assigned,
//!   0x5000–0x7FFF reserved but seen in the wild), 2-byte length, then the data; over TCP the
//!   frame is padded to a multiple of 4 and frames follow each other in the stream.
//! - **Send/Data indications** (types 0x0016/0x0017, magic cookie): the DATA attribute
//!   (0x0013) is the payload, XOR-PEER-ADDRESS (0x0012) the peer behind the relay.
//! - Over TCP, each of these may also sit behind an RFC 4571 2-byte length (ICE-TCP framing).
//!
//! [`frames`] walks one datagram (or one self-contained TCP segment) and returns at most
//! [`MAX_FRAMES`] inner payloads; it stops at the first bytes that are neither (STUN control
//! messages, which the caller sees in the outer payload). The engine reads TCP through
//! [`TcpFramer`] instead, which reassembles the framing across segments in sequence order
//! with a bounded buffer ([`MAX_BUFFER`]).

use crate::proto::stun::{self, MAGIC};
use crate::wire::{be16, be32};
use std::net::SocketAddr;

/// Most inner frames returned per datagram or segment.
pub const MAX_FRAMES: usize = 8;

/// How a frame was carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ChannelData(u16),
    Send,
    Data,
    /// MS-TURN Send Request (type 0x0004).
    MsSend,
    /// MS-TURN Data Indication (type 0x0115).
    MsData,
}

/// The value of MS-TURN's MAGIC-COOKIE attribute ([MS-TURN] §2.2.2.6, the legacy TURN draft's
/// cookie): MS-TURN messages have no RFC 5389 cookie in the header (a 16-byte transaction id
/// follows the length) and carry this attribute first.
pub const MS_COOKIE: u32 = 0x72C6_4BC6;

/// True when `b` starts with an MS-TURN header: type with the top two bits zero, then at
/// offset 20 the MAGIC-COOKIE attribute (type 0x000F, length 4, [`MS_COOKIE`]).
pub fn is_ms_turn(b: &[u8]) -> bool {
    be16(b, 0).is_some_and(|t| t >> 14 == 0)
        && be16(b, 20) == Some(0x000F)
        && be16(b, 22) == Some(4)
        && be32(b, 24) == Some(MS_COOKIE)
}

/// A plain (not XOR-ed) address attribute value (MAPPED-ADDRESS layout: reserved, family 1 or
/// 2, port, address), as MS-TURN's DESTINATION-ADDRESS and REMOTE-ADDRESS carry it.
fn plain_address(v: &[u8]) -> Option<SocketAddr> {
    let port = be16(v, 2)?;
    match *v.get(1)? {
        1 => Some(SocketAddr::new(
            std::net::Ipv4Addr::from(be32(v, 4)?).into(),
            port,
        )),
        2 => Some(SocketAddr::new(
            std::net::Ipv6Addr::from(crate::wire::array::<16>(v, 4)?).into(),
            port,
        )),
        _ => None,
    }
}

/// One whole MS-TURN message `m` (its exact bytes): a relayed payload for a Send Request
/// (DATA 0x0013, the peer in DESTINATION-ADDRESS 0x0011) or a Data Indication (DATA, the peer
/// in REMOTE-ADDRESS 0x0012); None for the others (Allocate, Set Active Destination …) or a
/// relay message without DATA. Attributes are walked padded to 4 bytes, at most 32.
fn ms_frame(m: &[u8]) -> Option<Frame<'_>> {
    let t = be16(m, 0)?;
    let (kind, peer_attr) = match t {
        0x0004 => (Kind::MsSend, 0x0011),
        0x0115 => (Kind::MsData, 0x0012),
        _ => return None,
    };
    let (mut data, mut peer) = (None, None);
    let mut off = 20usize;
    for _ in 0..32 {
        let (Some(at), Some(len)) = (be16(m, off), be16(m, off + 2)) else {
            break;
        };
        let len = usize::from(len);
        let Some(v) = m.get(off + 4..off + 4 + len) else {
            break;
        };
        if at == 0x0013 && data.is_none() {
            data = Some(v);
        } else if at == peer_attr && peer.is_none() {
            peer = plain_address(v);
        }
        off += 4 + ((len + 3) & !3);
    }
    Some(Frame {
        kind,
        data: data?,
        peer,
    })
}

/// One relayed payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub kind: Kind,
    /// The bytes the relay forwards (the peer's packet).
    pub data: &'a [u8],
    /// XOR-PEER-ADDRESS of an indication.
    pub peer: Option<SocketAddr>,
}

/// One frame at the start of `b`: the frame and the bytes it occupies (with TCP padding).
fn one(b: &[u8], tcp: bool) -> Option<(Frame<'_>, usize)> {
    let t = be16(b, 0)?;
    let len = usize::from(be16(b, 2)?);
    if (0x4000..=0x7FFE).contains(&t) {
        let end = 4usize.checked_add(len)?;
        let data = b.get(4..end)?;
        let used = if tcp {
            end.checked_add(3)? & !3
        } else {
            // UDP: the datagram is the frame, padding allowed (RFC 8656 §12.5).
            if b.len() != end && b.len() != (end.checked_add(3)? & !3) {
                return None;
            }
            b.len()
        };
        let frame = Frame {
            kind: Kind::ChannelData(t),
            data,
            peer: None,
        };
        return Some((frame, used.min(b.len())));
    }
    if is_ms_turn(b) {
        // UDP: the datagram is the message.
        let total = len.checked_add(20)?;
        if !tcp && total != b.len() {
            return None;
        }
        let m = b.get(..total)?;
        return ms_frame(m).map(|f| (f, total));
    }
    if (t == 0x0016 || t == 0x0017) && be32(b, 4)? == MAGIC {
        let total = len.checked_add(20)?;
        let m = stun::parse(b.get(..total)?, false)?;
        let mut data = None;
        let mut peer = None;
        for (at, v) in m.attributes() {
            match at {
                0x0013 => data = Some(v),
                0x0012 if peer.is_none() => peer = stun::xor_address(v, m.txid),
                _ => {}
            }
        }
        let kind = if t == 0x0016 { Kind::Send } else { Kind::Data };
        return Some((
            Frame {
                kind,
                data: data?,
                peer,
            },
            total,
        ));
    }
    None
}

/// The relayed payloads in one datagram (`tcp` false) or TCP segment, in order.
pub fn frames(b: &[u8], tcp: bool) -> ([Option<Frame<'_>>; MAX_FRAMES], usize) {
    let mut out = [None; MAX_FRAMES];
    let mut n = 0;
    let mut off = 0usize;
    while n < MAX_FRAMES && off < b.len() {
        let Some(rest) = b.get(off..) else { break };
        let got = match one(rest, tcp) {
            Some(x) => Some(x),
            None if tcp => {
                // RFC 4571: a 2-byte length, then one frame of exactly that length.
                be16(rest, 0).and_then(|l| {
                    let l = usize::from(l);
                    let body = rest.get(2..l.checked_add(2)?)?;
                    one(body, false).map(|(f, _)| (f, l + 2))
                })
            }
            None => None,
        };
        let Some((f, used)) = got else { break };
        if used == 0 {
            break;
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = Some(f);
        }
        n += 1;
        off = off.saturating_add(used);
        if !tcp {
            break;
        }
    }
    (out, n)
}

/// Most bytes a [`TcpFramer`] holds for a frame still arriving; a larger frame (ChannelData
/// may claim up to 65 539 bytes) is skipped as its bytes arrive, counted in `oversized`.
pub const MAX_BUFFER: usize = 8192;

/// One relayed payload taken out of a TCP stream (owned: it may span segments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedFrame {
    pub kind: Kind,
    pub data: Vec<u8>,
    pub peer: Option<SocketAddr>,
}

impl OwnedFrame {
    pub fn as_frame(&self) -> Frame<'_> {
        Frame {
            kind: self.kind,
            data: &self.data,
            peer: self.peer,
        }
    }
}

/// TURN framing of one direction of a TCP connection (RFC 8656 §12.5, RFC 6062: STUN
/// messages and ChannelData back to back; or each behind an RFC 4571 2-byte length),
/// reassembled across segments in sequence order: a frame split over two segments, or
/// several in one, all come out, each once. Retransmitted bytes are dropped by sequence
/// number. The framer starts (and restarts after a gap in the capture, a snaplen cut, or
/// bytes that are no frame) only on a segment that begins with a complete, valid frame, or
/// with a STUN header carrying the magic cookie (a 32-bit signature, [`starts_stun`]) —
/// a 2-byte value in 0x4000–0x7FFE alone is too weak to resynchronise on mid-segment.
#[derive(Clone, Debug, Default)]
pub struct TcpFramer {
    buf: Vec<u8>,
    next_seq: Option<u32>,
    synced: bool,
    /// Each unit behind an RFC 4571 length (decided when synchronising).
    framed: bool,
    /// Bytes still to skip of an oversized frame.
    skip: usize,
    /// Frames whose bytes came from more than one segment.
    pub reassembled: u64,
    /// Frames larger than [`MAX_BUFFER`], skipped.
    pub oversized: u64,
    /// Times the stream was lost (a gap, a cut segment, bytes that are no frame).
    pub lost_sync: u64,
    /// Payload bytes not read as frames (before the first sync or after losing it).
    pub unread_bytes: u64,
}

/// One unit at the start of `b`: `Ok((Some(frame), used))` a relayed payload, `Ok((None,
/// used))` a STUN control message (consumed, not media), `Err(true)` more bytes needed,
/// `Err(false)` not a frame.
fn unit(b: &[u8], framed: bool) -> Result<(Option<Frame<'_>>, usize), bool> {
    if framed {
        // RFC 4571: the length covers exactly one ChannelData (padding optional), Send/Data
        // indication or STUN message.
        let l = usize::from(be16(b, 0).ok_or(true)?);
        let total = l + 2;
        let body = b.get(2..total).ok_or(true)?;
        if let Some((f, _)) = one(body, false) {
            return Ok((Some(f), total));
        }
        if is_ms_turn(body) {
            return Ok((None, total));
        }
        return match stun::parse(body, false) {
            Some(_) if l >= 20 => Ok((None, total)),
            _ => Err(false),
        };
    }
    let t = be16(b, 0).ok_or(true)?;
    let len = usize::from(be16(b, 2).ok_or(true)?);
    if (0x4000..=0x7FFE).contains(&t) {
        let total = (len + 4 + 3) & !3;
        let data = b.get(4..4 + len).ok_or(true)?;
        if b.len() < total {
            return Err(true);
        }
        let f = Frame {
            kind: Kind::ChannelData(t),
            data,
            peer: None,
        };
        return Ok((Some(f), total));
    }
    if t >> 14 == 0 && b.len() < 28 && be32(b, 4) != Some(MAGIC) {
        // Not enough to tell an MS-TURN header (cookie attribute at 20..28) yet.
        return Err(true);
    }
    if is_ms_turn(b) {
        let total = len + 20;
        let m = b.get(..total).ok_or(true)?;
        return Ok((ms_frame(m), total));
    }
    if t >> 14 == 0 && len % 4 == 0 {
        let cookie = be32(b, 4).ok_or(true)?;
        if cookie != MAGIC {
            return Err(false);
        }
        let total = len + 20;
        let msg = b.get(..total).ok_or(true)?;
        if t == 0x0016 || t == 0x0017 {
            return match one(msg, true) {
                Some((f, _)) => Ok((Some(f), total)),
                None => Err(false),
            };
        }
        return match stun::parse(msg, false) {
            Some(_) => Ok((None, total)),
            None => Err(false),
        };
    }
    Err(false)
}

/// True when `b` starts with a STUN header with the magic cookie (or an MS-TURN header,
/// [`is_ms_turn`]), bare (RFC 8656 §12.5) or behind an RFC 4571 length: `Some(framed)`.
pub fn starts_stun(b: &[u8]) -> Option<bool> {
    let bare = |b: &[u8]| {
        (be16(b, 0).is_some_and(|t| t >> 14 == 0) && be32(b, 4) == Some(MAGIC)) || is_ms_turn(b)
    };
    if bare(b) {
        Some(false)
    } else if b.get(2..).is_some_and(bare) {
        Some(true)
    } else {
        None
    }
}

/// The length a unit at the start of `b` claims, when its header is there (for skipping).
fn claimed(b: &[u8], framed: bool) -> Option<usize> {
    if framed {
        return be16(b, 0).map(|l| usize::from(l) + 2);
    }
    let t = be16(b, 0)?;
    let len = usize::from(be16(b, 2)?);
    if (0x4000..=0x7FFE).contains(&t) {
        Some((len + 7) & !3)
    } else {
        Some(len + 20)
    }
}

impl TcpFramer {
    /// Reading frames (not waiting for a segment that starts on one).
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// Feeds one segment: its sequence number, payload, and the segment length on the wire
    /// (larger than the payload when the capture cut it). Complete relayed payloads are
    /// appended to `out`; the first STUN control message that this segment completed but did
    /// not hold whole (it began in an earlier one) goes to `control`, so the STUN classifier
    /// can read it.
    pub fn push(
        &mut self,
        seq: u32,
        payload: &[u8],
        wire_len: u32,
        out: &mut Vec<OwnedFrame>,
        control: &mut Option<Vec<u8>>,
    ) {
        let mut payload = payload;
        let mut seq = seq;
        if let Some(next) = self.next_seq {
            let off = seq.wrapping_sub(next) as i32;
            if off > 0 {
                self.lose();
            } else if off < 0 {
                // Bytes already seen (a retransmission): only what is new counts.
                let old = off.unsigned_abs() as usize;
                if old >= payload.len() {
                    return;
                }
                payload = payload.get(old..).unwrap_or(&[]);
                seq = next;
            }
        }
        let cut = (payload.len() as u64) < u64::from(wire_len);
        self.next_seq = Some(seq.wrapping_add(wire_len.max(payload.len() as u32)));
        self.feed(payload, out, control);
        if cut {
            self.lose();
        }
    }

    fn lose(&mut self) {
        if self.synced {
            self.lost_sync += 1;
        }
        self.unread_bytes += self.buf.len() as u64;
        self.buf.clear();
        self.synced = false;
        self.skip = 0;
    }

    fn feed(
        &mut self,
        mut payload: &[u8],
        out: &mut Vec<OwnedFrame>,
        control: &mut Option<Vec<u8>>,
    ) {
        if self.skip > 0 {
            let n = self.skip.min(payload.len());
            self.skip -= n;
            payload = payload.get(n..).unwrap_or(&[]);
        }
        if payload.is_empty() {
            return;
        }
        if !self.synced {
            // Synchronise only on a segment starting with a complete frame.
            let ok = |framed| matches!(unit(payload, framed), Ok((_, n)) if n > 0);
            if ok(false) {
                self.framed = false;
            } else if ok(true) {
                self.framed = true;
            } else if let Some(framed) = starts_stun(payload) {
                self.framed = framed;
            } else {
                self.unread_bytes += payload.len() as u64;
                return;
            }
            self.synced = true;
            self.buf.clear();
        }
        let carried = !self.buf.is_empty();
        self.buf.extend_from_slice(payload);
        let mut off = 0usize;
        let mut first = true;
        loop {
            let rest = self.buf.get(off..).unwrap_or(&[]);
            if rest.is_empty() {
                break;
            }
            match unit(rest, self.framed) {
                Ok((f, used)) => {
                    if f.is_none() && first && carried && control.is_none() {
                        *control = rest.get(..used).map(<[u8]>::to_vec);
                    }
                    if let Some(f) = f {
                        if first && carried {
                            self.reassembled += 1;
                        }
                        out.push(OwnedFrame {
                            kind: f.kind,
                            data: f.data.to_vec(),
                            peer: f.peer,
                        });
                    }
                    off += used.max(1);
                    first = false;
                }
                Err(true) => {
                    let want = claimed(rest, self.framed).unwrap_or(0);
                    if want > MAX_BUFFER {
                        self.oversized += 1;
                        self.skip = want - rest.len();
                        off = self.buf.len();
                    }
                    break;
                }
                Err(false) => {
                    let n = rest.len();
                    self.buf.clear();
                    self.lose();
                    self.unread_bytes += n as u64;
                    return;
                }
            }
        }
        self.buf.drain(..off.min(self.buf.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chd(ch: u16, data: &[u8]) -> Vec<u8> {
        let mut v = ch.to_be_bytes().to_vec();
        v.extend_from_slice(&(data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    fn pad(mut v: Vec<u8>) -> Vec<u8> {
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
        v
    }

    fn send_ind(peer: [u8; 4], port: u16, data: &[u8]) -> Vec<u8> {
        let mut attrs = vec![0x00, 0x12, 0x00, 0x08, 0x00, 0x01];
        attrs.extend_from_slice(&(port ^ 0x2112).to_be_bytes());
        let a = u32::from_be_bytes(peer) ^ MAGIC;
        attrs.extend_from_slice(&a.to_be_bytes());
        attrs.extend_from_slice(&[0x00, 0x13]);
        attrs.extend_from_slice(&(data.len() as u16).to_be_bytes());
        attrs.extend_from_slice(data);
        let attrs = pad(attrs);
        let mut v = vec![0x00, 0x16];
        v.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        v.extend_from_slice(&MAGIC.to_be_bytes());
        v.extend_from_slice(&[7; 12]);
        v.extend_from_slice(&attrs);
        v
    }

    #[test]
    fn channel_data_over_udp() {
        let d = chd(0x4001, &[0x80, 0, 0, 1, 9, 9]);
        let (f, n) = frames(&d, false);
        assert_eq!(n, 1);
        assert_eq!(f[0].map(|f| f.data), Some(&[0x80, 0, 0, 1, 9, 9][..]));
        assert_eq!(f[0].map(|f| f.kind), Some(Kind::ChannelData(0x4001)));
        // padded datagram
        let (_, n) = frames(&pad(d.clone()), false);
        assert_eq!(n, 1);
        // every truncation: no frame, no panic
        for i in 0..d.len() {
            assert_eq!(frames(&d[..i], false).1, 0, "cut at {i}");
        }
    }

    #[test]
    fn channel_data_frames_back_to_back_over_tcp() {
        let mut s = pad(chd(0x4000, &[1, 2, 3]));
        s.extend(pad(chd(0x4000, &[4, 5, 6, 7, 8])));
        s.extend_from_slice(&[0x40, 0x00, 0x00]); // a frame cut by the segment end
        let (f, n) = frames(&s, true);
        assert_eq!(n, 2);
        assert_eq!(f[1].map(|f| f.data), Some(&[4, 5, 6, 7, 8][..]));
    }

    #[test]
    fn rfc4571_framed_channel_data() {
        let inner = chd(0x4002, &[0x80, 1, 2, 3]);
        let mut s = (inner.len() as u16).to_be_bytes().to_vec();
        s.extend_from_slice(&inner);
        let (f, n) = frames(&s, true);
        assert_eq!(n, 1);
        assert_eq!(f[0].map(|f| f.data), Some(&[0x80, 1, 2, 3][..]));
    }

    #[test]
    fn send_indication_gives_data_and_peer() {
        let m = send_ind([203, 0, 113, 5], 40000, &[0x80, 0x6f, 0, 1]);
        let (f, n) = frames(&m, false);
        assert_eq!(n, 1);
        let f = f[0].unwrap_or(Frame {
            kind: Kind::Data,
            data: &[],
            peer: None,
        });
        assert_eq!(f.kind, Kind::Send);
        assert_eq!(f.data, &[0x80, 0x6f, 0, 1]);
        assert_eq!(f.peer, "203.0.113.5:40000".parse().ok());
        for i in 0..m.len() {
            assert_eq!(frames(&m[..i], false).1, 0, "cut at {i}");
        }
    }

    #[test]
    fn impossible_lengths_and_other_bytes() {
        assert_eq!(frames(&[0x40, 0x00, 0xff, 0xff, 1, 2], false).1, 0);
        assert_eq!(frames(&[0x80, 0x00, 0x00, 0x01], true).1, 0);
        assert_eq!(frames(&[], true).1, 0);
        // a binding request is not a relayed frame
        let mut b = vec![0x00, 0x01, 0x00, 0x00];
        b.extend_from_slice(&MAGIC.to_be_bytes());
        b.extend_from_slice(&[1; 12]);
        assert_eq!(frames(&b, false).1, 0);
    }

    fn stun_msg(typ: u16) -> Vec<u8> {
        let mut v = typ.to_be_bytes().to_vec();
        v.extend_from_slice(&[0, 8]);
        v.extend_from_slice(&MAGIC.to_be_bytes());
        v.extend_from_slice(&[3; 12]);
        v.extend_from_slice(&[0x80, 0x22, 0, 4, b'a', b'b', b'c', b'd']); // SOFTWARE
        v
    }

    /// Feeds `stream` cut at `cuts` as consecutive segments; returns the frames' data.
    fn run(f: &mut TcpFramer, stream: &[u8], cuts: &[usize], seq0: u32) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&stream.len())) {
            let seg = &stream[at..c];
            f.push(
                seq0.wrapping_add(at as u32),
                seg,
                seg.len() as u32,
                &mut out,
                &mut None,
            );
            at = c;
        }
        out.into_iter().map(|o| o.data).collect()
    }

    /// Issue 11: ChannelData and STUN over TURN/TCP, split anywhere across segments or
    /// several per segment, come out once each, in order.
    #[test]
    fn tcp_framer_reassembles_split_and_packed_frames() {
        let rtp = |n: u8| {
            let mut v = vec![0x80, 0x6f, 0, n, 0, 0, 0, n, 1, 2, 3, 4];
            v.extend(std::iter::repeat_n(n, 41 + usize::from(n)));
            v
        };
        let mut stream = stun_msg(0x0103); // Allocate success, control: not media
        for n in 0..6 {
            stream.extend(pad(chd(0x4000, &rtp(n))));
        }
        stream.extend(send_ind([198, 51, 100, 7], 5000, &rtp(6)));
        let want: Vec<Vec<u8>> = (0..7).map(rtp).collect();
        // The first segment holds the Allocate response (the framer synchronises on a segment
        // that starts with a complete frame); after it, every single cut point, then cuts
        // every 7 bytes (several frames split and packed).
        let first = stun_msg(0x0103).len();
        for c in first + 1..stream.len() {
            let mut f = TcpFramer::default();
            assert_eq!(run(&mut f, &stream, &[first, c], 1000), want, "cut at {c}");
            assert_eq!((f.lost_sync, f.unread_bytes), (0, 0), "cut at {c}");
        }
        // A first segment with only part of the Allocate response still synchronises on its
        // cookie; the completed message is handed back for the STUN classifier.
        for c in 8..first {
            let mut f = TcpFramer::default();
            let (mut out, mut ctl) = (Vec::new(), None);
            f.push(7, &stream[..c], c as u32, &mut out, &mut ctl);
            assert!(ctl.is_none());
            f.push(
                7 + c as u32,
                &stream[c..],
                (stream.len() - c) as u32,
                &mut out,
                &mut ctl,
            );
            assert_eq!(ctl.as_deref(), Some(&stream[..first]), "cut at {c}");
            assert_eq!(out.len(), 7, "cut at {c}");
        }
        let cuts: Vec<usize> = std::iter::once(first)
            .chain((first / 7 + 1..stream.len() / 7).map(|k| k * 7))
            .collect();
        let mut f = TcpFramer::default();
        assert_eq!(
            run(&mut f, &stream, &cuts, u32::MAX - 20),
            want,
            "sequence wraps"
        );
        assert_eq!(f.reassembled, 7);
        // One segment with all of it.
        let mut f = TcpFramer::default();
        assert_eq!(run(&mut f, &stream, &[], 5), want);
        assert_eq!(f.reassembled, 0);
    }

    #[test]
    fn tcp_framer_drops_retransmissions_and_resyncs_after_a_gap() {
        let a = pad(chd(0x4001, &[0x80; 20]));
        let b = pad(chd(0x4001, &[0x81; 30]));
        let mut f = TcpFramer::default();
        let mut out = Vec::new();
        f.push(100, &a, a.len() as u32, &mut out, &mut None);
        f.push(100, &a, a.len() as u32, &mut out, &mut None); // retransmitted
        assert_eq!(out.len(), 1);
        // b's first half, then a gap (its second half never captured), then a segment
        // starting mid-frame (not a sync point), then one starting on a frame.
        let s = 100 + a.len() as u32;
        f.push(s, &b[..10], 10, &mut out, &mut None);
        f.push(s + 30, &b[30..], (b.len() - 30) as u32, &mut out, &mut None);
        assert_eq!((out.len(), f.lost_sync), (1, 1));
        let s2 = s + b.len() as u32;
        f.push(s2, &b[5..], (b.len() - 5) as u32, &mut out, &mut None);
        assert_eq!(out.len(), 1, "no sync mid-frame");
        f.push(
            s2 + b.len() as u32 - 5,
            &a,
            a.len() as u32,
            &mut out,
            &mut None,
        );
        assert_eq!(out.len(), 2, "resynchronised on a frame boundary");
        // A segment cut by the snaplen loses sync too.
        f.push(
            s2 + b.len() as u32 - 5 + a.len() as u32,
            &b[..8],
            200,
            &mut out,
            &mut None,
        );
        assert_eq!(f.lost_sync, 2);
    }

    #[test]
    fn tcp_framer_bounds_its_buffer_and_reads_rfc4571() {
        // A 20 000-byte ChannelData: skipped as it arrives, the next frame read.
        let big = pad(chd(0x4002, &vec![0x80; 20_000]));
        let small = pad(chd(0x4002, &[0x80; 16]));
        let mut stream = small.clone();
        stream.extend(&big);
        stream.extend(&small);
        let cuts: Vec<usize> = (1..stream.len() / 1400).map(|k| k * 1400).collect();
        let mut f = TcpFramer::default();
        let got = run(&mut f, &stream, &cuts, 0);
        assert_eq!(got.len(), 2);
        assert_eq!(f.oversized, 1);
        assert!(f.buf.capacity() <= 4 * MAX_BUFFER);
        // RFC 4571 framing: each ChannelData and STUN message behind a length.
        let mut s = Vec::new();
        for unit in [stun_msg(0x0101), chd(0x4003, &[0x80, 1, 2, 3, 4, 5])] {
            s.extend_from_slice(&(unit.len() as u16).to_be_bytes());
            s.extend_from_slice(&unit);
        }
        let first = stun_msg(0x0101).len() + 2;
        for c in first + 1..s.len() {
            let mut f = TcpFramer::default();
            assert_eq!(
                run(&mut f, &s, &[first, c], 9),
                vec![vec![0x80, 1, 2, 3, 4, 5]],
                "cut at {c}"
            );
        }
        // Bytes that are no frame never synchronise.
        let mut f = TcpFramer::default();
        assert!(run(&mut f, &[0x17, 0x03, 0x03, 0, 5, 1, 2, 3, 4, 5], &[], 0).is_empty());
        assert_eq!(f.unread_bytes, 10);
    }

    /// An MS-TURN message: header without the RFC 5389 cookie (16-byte transaction id), the
    /// MAGIC-COOKIE attribute first, then `attrs` (type, value), each padded to 4.
    fn ms_msg(typ: u16, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![0x00, 0x0F, 0x00, 0x04];
        body.extend_from_slice(&MS_COOKIE.to_be_bytes());
        for (t, v) in attrs {
            body.extend_from_slice(&t.to_be_bytes());
            body.extend_from_slice(&(v.len() as u16).to_be_bytes());
            body.extend_from_slice(v);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut m = typ.to_be_bytes().to_vec();
        m.extend_from_slice(&(body.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0x5a; 16]);
        m.extend_from_slice(&body);
        m
    }

    /// Issue 11: MS-TURN Send Requests and Data Indications carry the relayed packet in DATA
    /// and the peer in DESTINATION-/REMOTE-ADDRESS (plain, not XOR-ed); Allocate carries none.
    #[test]
    fn ms_turn_send_request_and_data_indication() {
        let addr = vec![0, 1, 0x3f, 0xcc, 203, 0, 113, 9];
        let inner = vec![0x80, 0x6f, 0, 1, 0, 0, 0, 9, 1, 2, 3, 4, 7, 7];
        let send = ms_msg(0x0004, &[(0x0011, addr.clone()), (0x0013, inner.clone())]);
        let data = ms_msg(0x0115, &[(0x0012, addr.clone()), (0x0013, inner.clone())]);
        assert!(is_ms_turn(&send) && is_ms_turn(&data));
        for (m, kind) in [(&send, Kind::MsSend), (&data, Kind::MsData)] {
            let (f, n) = frames(m, false);
            assert_eq!(n, 1);
            let f = f[0].expect("one frame");
            assert_eq!((f.kind, f.data), (kind, &inner[..]));
            assert_eq!(f.peer, "203.0.113.9:16332".parse().ok());
            for i in 0..m.len() {
                assert_eq!(frames(&m[..i], false).1, 0, "cut at {i}");
            }
        }
        let alloc = ms_msg(0x0003, &[(0x8008, vec![0, 0, 0, 3])]);
        assert!(is_ms_turn(&alloc));
        assert_eq!(frames(&alloc, false).1, 0);
        // The RFC 5389 cookie in place of the transaction id's start is not MS-TURN's
        // attribute; a ChannelData or random bytes neither.
        let mut rfc = send_ind([203, 0, 113, 9], 1, &inner);
        assert!(!is_ms_turn(&rfc));
        rfc.truncate(27);
        assert!(!is_ms_turn(&rfc) && !is_ms_turn(&chd(0x4000, &[0; 40])));
        // Over TCP: an Allocate then two Data Indications, split anywhere after the first
        // 8 bytes; the framer synchronises on the MS-TURN header.
        let mut stream = alloc.clone();
        stream.extend(&data);
        stream.extend(&data);
        for c in 28..stream.len() {
            let mut f = TcpFramer::default();
            assert_eq!(
                run(&mut f, &stream, &[c], 77),
                vec![inner.clone(), inner.clone()],
                "cut at {c}"
            );
        }
    }
}
