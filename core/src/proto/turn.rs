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
//! [`frames`] walks one datagram or TCP segment and returns at most [`MAX_FRAMES`] inner
//! payloads; it stops at the first bytes that are neither (a segment that starts mid-frame,
//! or STUN control messages, which the caller sees in the outer payload).

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
}
