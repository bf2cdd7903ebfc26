//! DTLS (RFC 6347, 9147) over UDP: record recognition, ClientHello SNI and `use_srtp`.
//!
//! RFC 7983 demultiplexing puts DTLS first bytes in 20–63. A datagram is DTLS when its
//! records (13-byte header: content type 20–25, version `0xFEFF`/`0xFEFD`/`0xFEFC` or the
//! pre-RFC OpenSSL `0x0100`, epoch, 48-bit sequence, length) tile it exactly, or when it
//! starts with a DTLS 1.3 unified header (`001x xxxx`) following an earlier DTLS record.
//! The ClientHello (handshake type 1, unfragmented) gives the SNI (app via `apps.rs`) and
//! `use_srtp` (RFC 5764), the mark of DTLS-SRTP media keying. Server Certificate
//! fragments (handshake type 11) are scanned for common names and dNSNames, looked up in the
//! app table (a name split across two fragments is missed). DTLS alone is not a call:
//! VPNs (AnyConnect), games and WebRTC data channels use it too.

use super::tls::{apply_cert, apply_sni, cert_names, parse_hello_body};
use super::{be16, Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{Protocol, Scratch};

/// True when the version field is a DTLS one.
fn dtls_version(v: u16) -> bool {
    matches!(v, 0xFEFF | 0xFEFD | 0xFEFC | 0x0100)
}

/// Records tiling `b` exactly: returns the record count.
pub fn records(b: &[u8]) -> Option<usize> {
    let mut o = 0usize;
    let mut n = 0;
    while o < b.len() && n < 32 {
        let ct = *b.get(o)?;
        if !(20..=25).contains(&ct) || !dtls_version(be16(b, o + 1)?) {
            return None;
        }
        let l = usize::from(be16(b, o + 11)?);
        o = o.checked_add(13 + l)?;
        n += 1;
    }
    (o == b.len() && n > 0).then_some(n)
}

/// The classifier.
pub struct Dtls;

impl Classifier for Dtls {
    type State = ();
    const MEDIA: bool = true;
    fn id(&self) -> &'static str {
        "dtls"
    }
    fn budget(&self) -> u32 {
        24
    }
    fn wants(&self, f: &FlowInfo, c: &FlowLabels) -> bool {
        // Over TCP only relayed through TURN (the engine hands it the relayed payload).
        f.is_udp() || (f.is_tcp() && c.has_protocol(Protocol::Stun))
    }
    fn inspect(&self, cx: &mut Ctx<'_>, _st: &mut Scratch<()>, p: &Pkt<'_>) -> Outcome {
        let b = p.payload;
        let first = b.first().copied().unwrap_or(0);
        if !(20..=63).contains(&first) {
            return Outcome::NeedMore;
        }
        if records(b).is_none() {
            return Outcome::NeedMore;
        }
        if !cx.class.has_protocol(Protocol::Dtls) {
            cx.class.add_protocol(Protocol::Dtls);
            cx.class.raise(Confidence::High);
            cx.class.add_evidence(format!(
                "DTLS record (content type {first}) in frame {}",
                p.frame
            ));
        }
        // Server certificate fragments (handshake type 11): names scanned per fragment.
        if first == 22 && cx.class.app.is_none() {
            let mut o = 0usize;
            let mut n = 0;
            while o + 13 <= b.len() && n < 16 {
                let l = usize::from(be16(b, o + 11).unwrap_or(0));
                let rec = b.get(o + 13..(o + 13 + l).min(b.len())).unwrap_or(&[]);
                if b.get(o) == Some(&22) && rec.first() == Some(&11) {
                    let names = cert_names(rec.get(12..).unwrap_or(&[]));
                    apply_cert(cx.class, &names, p.frame);
                    if cx.class.app.is_some() {
                        return Outcome::Match;
                    }
                }
                o += 13 + l;
                n += 1;
            }
        }
        // Handshake: ClientHello in the first record.
        if first == 22 && b.get(13) == Some(&1) {
            let len = crate::wire::be24(b, 14).map(|x| x as usize);
            let frag_off = crate::wire::be24(b, 19).map(|x| x as usize);
            if frag_off == Some(0) {
                if let (Some(len), Some(body)) = (len, b.get(25..)) {
                    let body = body.get(..len.min(body.len())).unwrap_or(body);
                    if let Some(h) = parse_hello_body(body, true) {
                        if h.use_srtp {
                            cx.class.add_evidence(
                                "DTLS ClientHello offers use_srtp (DTLS-SRTP keying)",
                            );
                        }
                        if let Some(s) = &h.sni {
                            apply_sni(cx.class, s, "DTLS", p.frame);
                        }
                        return if cx.class.app.is_some() {
                            Outcome::Match
                        } else {
                            Outcome::NeedMore
                        };
                    }
                }
            }
        }
        Outcome::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_tiling() {
        // ChangeCipherSpec (1 byte) + an Alert (2 bytes), DTLS 1.2.
        let b = [
            20, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 21, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0,
            2, 0, 2, 2, 40,
        ];
        assert_eq!(records(&b), Some(2));
        assert_eq!(records(&b[..28]), None);
        // TLS version is not DTLS.
        let t = [22, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(records(&t), None);
    }

    #[test]
    fn clienthello_use_srtp() {
        // DTLS 1.2 ClientHello: empty session id and cookie, one suite, use_srtp extension.
        let mut body = vec![0xFE, 0xFD];
        body.extend_from_slice(&[7; 32]);
        body.extend_from_slice(&[0, 0, 0, 2, 0xC0, 0x2B, 1, 0]);
        let ext = [0u8, 14, 0, 5, 0, 2, 0, 1, 0];
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let h = parse_hello_body(&body, true).unwrap();
        assert!(h.use_srtp);
        assert_eq!(h.sni, None);
    }
}
