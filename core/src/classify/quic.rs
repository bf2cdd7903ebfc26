//! QUIC Initial packets (RFC 9000 §17.2.2) and their SNI, by decrypting the client's first
//! Initial with keys derived from its Destination Connection ID (RFC 9001 §5.2: HKDF-SHA256
//! with the version's initial salt, "client in" → key/iv/hp labels, AES-128-GCM payload
//! protection, AES-128-ECB header protection). Versions: 1 (RFC 9000), 2 (RFC 9369) and the
//! draft-29 salt. The CRYPTO frames at offset 0 of the decrypted payload hold the TLS
//! ClientHello, read with the TLS parser. CRYPTO frames arriving out of order inside the
//! first packet are reassembled within [`MAX_CRYPTO`] bytes; a ClientHello spanning two
//! Initials (post-quantum key shares) is read from both when they arrive in order.
//! Google QUIC (Q043–Q050) is recognised by its version tag, and the SNI read from the
//! plaintext CHLO of Q043–Q046 (Q050 and later encrypt it: no SNI).

use super::tls::{apply_sni, parse_hello_body};
use super::{Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{Protocol, Scratch};
use crate::flow::Dir;
use crate::proto::quic::{varint, LongHeader, PacketType};
use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// Most CRYPTO bytes gathered for one ClientHello.
pub const MAX_CRYPTO: usize = 8192;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
const SALT_D29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &Hkdf<Sha256>, label: &str, out: &mut [u8]) -> Option<()> {
    let full = [b"tls13 ".as_slice(), label.as_bytes()].concat();
    let mut info = Vec::with_capacity(4 + full.len());
    info.extend_from_slice(&(out.len() as u16).to_be_bytes());
    info.push(full.len() as u8);
    info.extend_from_slice(&full);
    info.push(0);
    prk.expand(&info, out).ok()
}

/// Client Initial key material for a DCID.
struct Keys {
    key: [u8; 16],
    iv: [u8; 12],
    hp: [u8; 16],
}

fn client_keys(version: u32, dcid: &[u8]) -> Option<Keys> {
    let (salt, v2) = match version {
        1 => (&SALT_V1, false),
        0x6b33_43cf => (&SALT_V2, true),
        0xff00_001d..=0xff00_0020 => (&SALT_D29, false),
        _ => return None,
    };
    let (_, ext) = Hkdf::<Sha256>::extract(Some(salt), dcid);
    let mut secret = [0u8; 32];
    expand_label(&ext, "client in", &mut secret)?;
    let c = Hkdf::<Sha256>::from_prk(&secret).ok()?;
    let mut k = Keys {
        key: [0; 16],
        iv: [0; 12],
        hp: [0; 16],
    };
    let (kl, il, hl) = if v2 {
        ("quicv2 key", "quicv2 iv", "quicv2 hp")
    } else {
        ("quic key", "quic iv", "quic hp")
    };
    expand_label(&c, kl, &mut k.key)?;
    expand_label(&c, il, &mut k.iv)?;
    expand_label(&c, hl, &mut k.hp)?;
    Some(k)
}

/// Decrypts the first client Initial packet in `b`, returning its plaintext frames.
pub fn decrypt_initial(b: &[u8]) -> Option<Vec<u8>> {
    let h = LongHeader::parse(b)?;
    let (first, version, dcid) = (h.first, h.version, h.dcid);
    // RFC 9000 §17.2: a v1/v2 connection id has at most 20 bytes.
    if h.packet_type() != PacketType::Initial || dcid.len() > 20 {
        return None;
    }
    let init = h.initial?;
    let pn_off = init.pn_offset;
    let end = pn_off.checked_add(usize::try_from(init.length).ok()?)?;
    if end > b.len() {
        return None;
    }
    let keys = client_keys(version, dcid)?;
    // Header protection: sample 16 bytes starting 4 bytes after the packet number offset.
    let sample = b.get(pn_off + 4..pn_off + 20)?;
    let hp = Aes128::new_from_slice(&keys.hp).ok()?;
    let mut mask = aes::Block::clone_from_slice(sample);
    hp.encrypt_block(&mut mask);
    let (&m0, m_pn) = mask.split_first()?;
    let first_un = first ^ (m0 & 0x0F);
    let pn_len = usize::from(first_un & 3) + 1;
    let mut header = b.get(..pn_off + pn_len)?.to_vec();
    *header.first_mut()? = first_un;
    let mut pn: u64 = 0;
    for (h, m) in header.get_mut(pn_off..)?.iter_mut().zip(m_pn) {
        *h ^= m;
        pn = (pn << 8) | u64::from(*h);
    }
    let mut nonce = keys.iv;
    for (n, x) in nonce.iter_mut().skip(4).zip(pn.to_be_bytes()) {
        *n ^= x;
    }
    let cipher = Aes128Gcm::new_from_slice(&keys.key).ok()?;
    let ct = b.get(pn_off + pn_len..end)?;
    cipher
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: ct,
                aad: &header,
            },
        )
        .ok()
}

/// Collects CRYPTO frame data at offsets into `buf` (bounded); other frames are skipped.
pub fn crypto_frames(plain: &[u8], buf: &mut Vec<u8>) {
    let mut o = 0;
    let mut n = 0;
    while o < plain.len() && n < 64 {
        n += 1;
        let Some((t, tl)) = varint(plain, o) else {
            return;
        };
        o += tl;
        match t {
            0x00 | 0x01 => {}
            0x02 | 0x03 => {
                // ACK: largest, delay, range count, first range, ranges (+ ECN counts).
                let mut fields = 4;
                let mut k = 0;
                while k < fields {
                    let Some((v, l)) = varint(plain, o) else {
                        return;
                    };
                    o += l;
                    if k == 2 {
                        fields += (v.min(64) as usize) * 2;
                    }
                    k += 1;
                }
                if t == 0x03 {
                    for _ in 0..3 {
                        let Some((_, l)) = varint(plain, o) else {
                            return;
                        };
                        o += l;
                    }
                }
            }
            0x06 => {
                let (Some((off, l1)), Some((len, l2))) = (
                    varint(plain, o),
                    varint(plain, o + varint(plain, o).map_or(0, |x| x.1)),
                ) else {
                    return;
                };
                o += l1 + l2;
                let (Ok(off), Ok(len)) = (usize::try_from(off), usize::try_from(len)) else {
                    return;
                };
                let Some(data) = plain.get(o..o + len) else {
                    return;
                };
                o += len;
                let Some(end) = off.checked_add(len) else {
                    return;
                };
                if end > MAX_CRYPTO {
                    continue;
                }
                if buf.len() < end {
                    buf.resize(end, 0);
                }
                if let Some(dst) = buf.get_mut(off..end) {
                    dst.copy_from_slice(data);
                }
            }
            _ => return,
        }
    }
}

/// Google QUIC long header version (`Q043`…`Q050`, `T048`…`T051`): at byte 1 for the
/// IETF-style invariant header of Q046+, or at byte 9 after public flags with the version bit
/// and an 8-byte connection id (Q043 and older).
pub fn gquic_version(b: &[u8]) -> Option<&str> {
    let at = |o: usize| -> Option<&str> {
        let v = b.get(o..o + 4)?;
        let &[kind, zero, d1, d2] = v else {
            return None;
        };
        let ok = (kind == b'Q' || kind == b'T')
            && zero == b'0'
            && d1.is_ascii_digit()
            && d2.is_ascii_digit();
        ok.then(|| std::str::from_utf8(v).ok()).flatten()
    };
    let f = *b.first()?;
    if f & 0xC0 == 0xC0 {
        return at(1);
    }
    if f & 0x80 == 0 && f & 0x01 != 0 && f & 0x08 != 0 {
        return at(9);
    }
    None
}

/// The SNI tag of a plaintext gQUIC CHLO (Q043–Q046 send it unencrypted): the message tag
/// `CHLO`, a little-endian tag count, (tag, end offset) pairs, then the values.
pub fn gquic_chlo_sni(b: &[u8]) -> Option<String> {
    let i = b
        .get(..b.len().min(96))?
        .windows(4)
        .position(|w| w == b"CHLO")?;
    let m = b.get(i..)?;
    let n = usize::from(u16::from_le_bytes([*m.get(4)?, *m.get(5)?])).min(64);
    let values = 8 + 8 * n;
    let mut start = 0usize;
    for k in 0..n {
        let e: [u8; 8] = crate::wire::array(m, 8 + 8 * k)?;
        let [t0, t1, t2, t3, e0, e1, e2, e3] = e;
        let end = usize::try_from(u32::from_le_bytes([e0, e1, e2, e3])).ok()?;
        if &[t0, t1, t2, t3] == b"SNI\0" {
            let v = m.get(values + start..values + end)?;
            let s = std::str::from_utf8(v).ok()?;
            return (!s.is_empty()).then(|| s.to_ascii_lowercase());
        }
        start = end;
    }
    None
}

/// Per-flow state: CRYPTO bytes of Initials until the ClientHello is complete.
#[derive(Debug, Default)]
pub struct QuicState {
    hello: Vec<u8>,
}

/// The QUIC classifier.
pub struct Quic;

impl Classifier for Quic {
    type State = QuicState;
    fn id(&self) -> &'static str {
        "quic"
    }
    fn budget(&self) -> u32 {
        4
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, st: &mut Scratch<QuicState>, p: &Pkt<'_>) -> Outcome {
        if p.dir != Dir::C2s {
            return Outcome::NeedMore;
        }
        let b = p.payload;
        if let Some(v) = gquic_version(b) {
            cx.class.add_protocol(Protocol::Quic);
            cx.class.raise(Confidence::High);
            cx.class
                .add_evidence(format!("Google QUIC {v} long header (frame {})", p.frame));
            if let Some(sni) = gquic_chlo_sni(b) {
                apply_sni(cx.class, &sni, "gQUIC CHLO", p.frame);
            }
            return Outcome::Match;
        }
        if b.len() < 1200 && st.get().is_none_or(|s| s.hello.is_empty()) {
            // Client Initials are padded to at least 1200 bytes (RFC 9000 §14.1).
            return if b.first().is_some_and(|x| x & 0x80 != 0) {
                Outcome::NeedMore
            } else {
                Outcome::NoMatch
            };
        }
        let Some(plain) = decrypt_initial(b) else {
            return Outcome::NoMatch;
        };
        cx.class.add_protocol(Protocol::Quic);
        cx.class.raise(Confidence::High);
        let mut buf = std::mem::take(&mut st.or_default().hello);
        crypto_frames(&plain, &mut buf);
        let done = if let (Some(&1), Some(len)) = (buf.first(), crate::wire::be24(&buf, 1)) {
            let want = len as usize + 4;
            if buf.len() >= want {
                if let Some(h) = buf.get(4..want).and_then(|x| parse_hello_body(x, false)) {
                    cx.class
                        .add_evidence(format!("QUIC Initial decrypted (frame {})", p.frame));
                    if let Some(s) = &h.sni {
                        apply_sni(cx.class, s, "QUIC", p.frame);
                    }
                }
                true
            } else {
                false
            }
        } else {
            false
        };
        if done {
            return Outcome::Match;
        }
        st.or_default().hello = buf;
        Outcome::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9001 Appendix A.2: the client Initial, DCID 8394c8f03e515708.
    #[test]
    fn rfc9001_keys() {
        let dcid = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
        let k = client_keys(1, &dcid).unwrap();
        assert_eq!(
            k.key,
            [
                0x1f, 0x36, 0x96, 0x13, 0xdd, 0x76, 0xd5, 0x46, 0x77, 0x30, 0xef, 0xcb, 0xe3, 0xb1,
                0xa2, 0x2d
            ]
        );
        assert_eq!(
            k.iv,
            [0xfa, 0x04, 0x4b, 0x2f, 0x42, 0xa3, 0xfd, 0x3b, 0x46, 0xfb, 0x25, 0x5c]
        );
        assert_eq!(
            k.hp,
            [
                0x9f, 0x50, 0x44, 0x9e, 0x04, 0xa0, 0xe8, 0x10, 0x28, 0x3a, 0x1e, 0x99, 0x33, 0xad,
                0xed, 0xd2
            ]
        );
    }

    #[test]
    fn crypto_reassembly_out_of_order() {
        // CRYPTO(off 3, "def") then CRYPTO(off 0, "abc"), with PADDING between.
        let f = [
            0x06, 0x03, 0x03, b'd', b'e', b'f', 0x00, 0x06, 0x00, 0x03, b'a', b'b', b'c',
        ];
        let mut buf = Vec::new();
        crypto_frames(&f, &mut buf);
        assert_eq!(buf, b"abcdef");
    }

    #[test]
    fn gquic_chlo() {
        let mut b = vec![0xc3, b'Q', b'0', b'4', b'6', 0x50];
        b.extend_from_slice(&[0; 10]);
        b.extend_from_slice(b"CHLO");
        b.extend_from_slice(&[2, 0, 0, 0]);
        b.extend_from_slice(b"PAD\0");
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(b"SNI\0");
        b.extend_from_slice(&14u32.to_le_bytes());
        b.extend_from_slice(b"---Example.COM");
        assert_eq!(gquic_version(&b), Some("Q046"));
        assert_eq!(gquic_chlo_sni(&b).as_deref(), Some("example.com"));
        for i in 0..b.len() {
            let _ = gquic_chlo_sni(&b[..i]);
            let _ = gquic_version(&b[..i]);
        }
        assert_eq!(gquic_version(&[0xc0, 0, 0, 0, 1]), None, "IETF QUIC v1");
    }

    #[test]
    fn garbage_is_not_quic() {
        assert!(decrypt_initial(&[0xc0; 1200]).is_none());
        assert!(decrypt_initial(&[]).is_none());
    }
}
