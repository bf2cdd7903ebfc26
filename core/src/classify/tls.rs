//! TLS (over TCP): record-layer recognition and the ClientHello SNI (RFC 8446 §4.1.2,
//! RFC 6066 §3), mapped to an app through the host table in `apps.rs`.
//!
//! A TLS flow starts with a handshake record (`0x16 0x03 0x00–0x04`). The ClientHello may
//! span several segments: the first [`MAX_HELLO`] bytes of the client direction are
//! collected until the declared handshake length is complete. The same ClientHello parser
//! serves DTLS and QUIC (their ClientHello bodies are identical).

use super::{apps, be16, Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{Protocol, Scratch};
use crate::flow::Dir;
pub use crate::proto::tls::{client_hello_from_records, parse_hello_body, Hello, MAX_HELLO};

/// Applies a hello's SNI to the flow (SNI kept; app from the host table).
pub fn apply_sni(c: &mut FlowLabels, sni: &str, what: &str, frame: u64) {
    if c.sni.is_none() {
        c.sni = Some(sni.to_string());
    }
    if let Some((app, _)) = apps::lookup(sni) {
        c.set_app(
            app,
            Confidence::Medium,
            format!("{what} SNI {sni} (frame {frame})"),
        );
    }
}

/// RFC 7443 ALPN names for STUN over (D)TLS: `stun.turn` is TURN (a relay allocation, so
/// the TLS flow is a relay connection: TURN over TLS, RFC 8656 §3.1), `stun.nat-discovery`
/// plain STUN. The protocols are added with an evidence line; the TLS payload stays opaque.
pub fn apply_alpn(c: &mut FlowLabels, alpn: &[String], frame: u64) {
    for a in alpn {
        let turn = a == "stun.turn";
        if !(turn || a == "stun.nat-discovery") || c.has_protocol(Protocol::Stun) {
            continue;
        }
        c.add_protocol(Protocol::Stun);
        if turn {
            c.add_protocol(Protocol::Turn);
        }
        c.add_evidence(format!(
            "TLS ALPN {a} (RFC 7443): {} over TLS, frame {frame}",
            if turn { "TURN" } else { "STUN" }
        ));
    }
}

/// Names in a DER certificate: subject/issuer common names (OID 2.5.4.3) and the
/// subjectAltName dNSNames (OID 2.5.29.17), in order, at most 32. A scan, not a full DER
/// parser: each name's length is checked against the buffer.
pub fn cert_names(der: &[u8]) -> Vec<String> {
    const CN: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
    const SAN: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x11];
    let mut out = Vec::new();
    let mut i = 0;
    while i + 5 <= der.len() && out.len() < 32 {
        let w = der.get(i..i + 5).unwrap_or(&[]);
        if w == CN {
            // string tag (UTF8String 0x0c, PrintableString 0x13, IA5String 0x16, T61 0x14), short length
            if let (Some(t), Some(l)) = (der.get(i + 5), der.get(i + 6)) {
                if matches!(t, 0x0c | 0x13 | 0x16 | 0x14) && *l < 0x80 {
                    if let Some(v) = der.get(i + 7..i + 7 + usize::from(*l)) {
                        out.push(String::from_utf8_lossy(v).to_ascii_lowercase());
                    }
                }
            }
            i += 5;
        } else if w == SAN {
            let mut j = i + 5;
            if der.get(j) == Some(&0x01) {
                j += 3; // critical BOOLEAN
            }
            // OCTET STRING { SEQUENCE { [2] dNSName ... } }
            let Some((_, o1)) = der_len(der, j + 1).filter(|_| der.get(j) == Some(&0x04)) else {
                i += 5;
                continue;
            };
            let Some((seq_len, o2)) = der_len(der, o1 + 1).filter(|_| der.get(o1) == Some(&0x30))
            else {
                i += 5;
                continue;
            };
            let end = (o2 + seq_len).min(der.len());
            let mut k = o2;
            while k < end && out.len() < 32 {
                let tag = der.get(k).copied().unwrap_or(0);
                let Some((l, v0)) = der_len(der, k + 1) else {
                    break;
                };
                if tag == 0x82 {
                    if let Some(v) = der.get(v0..v0 + l) {
                        out.push(String::from_utf8_lossy(v).to_ascii_lowercase());
                    }
                }
                k = v0 + l;
            }
            i = end.max(i + 5);
        } else {
            i += 1;
        }
    }
    out
}

/// A DER length at `o`: (length, offset of the value).
fn der_len(b: &[u8], o: usize) -> Option<(usize, usize)> {
    let f = *b.get(o)?;
    if f < 0x80 {
        return Some((usize::from(f), o + 1));
    }
    let n = usize::from(f & 0x7f);
    if n == 0 || n > 3 {
        return None;
    }
    let mut l = 0usize;
    for x in b.get(o + 1..o + 1 + n)? {
        l = (l << 8) | usize::from(*x);
    }
    Some((l, o + 1 + n))
}

/// The first certificate of a TLS ≤ 1.2 server flight (handshake records concatenated).
pub fn first_certificate(records: &[u8]) -> Option<&[u8]> {
    // Walk handshake messages inside concatenated record payloads (records are stripped by the caller).
    let mut o = 0;
    let mut n = 0;
    while o + 4 <= records.len() && n < 16 {
        let (Some(t), Some(l)) = (records.get(o).copied(), crate::wire::be24(records, o + 1))
        else {
            return None;
        };
        let l = l as usize;
        if t == 11 {
            let body = records.get(o + 4..)?;
            let first_len = usize::from(*body.get(3)?) << 16
                | usize::from(*body.get(4)?) << 8
                | usize::from(*body.get(5)?);
            return body.get(6..6 + first_len).or_else(|| body.get(6..));
        }
        o += 4 + l;
        n += 1;
    }
    None
}

/// Handshake bytes of consecutive TLS records of type 22 in `b` (stops at other types).
pub fn handshake_bytes(b: &[u8], out: &mut Vec<u8>, cap: usize) {
    let mut o = 0;
    let mut n = 0;
    while o + 5 <= b.len() && n < 32 && out.len() < cap {
        let Some(&ct) = b.get(o) else { return };
        let Some(l) = be16(b, o + 3) else { return };
        let end = (o + 5 + usize::from(l)).min(b.len());
        if ct == 22 {
            if let Some(x) = b.get(o + 5..end) {
                out.extend_from_slice(x.get(..x.len().min(cap - out.len())).unwrap_or_default());
            }
        } else if !(20..=23).contains(&ct) {
            return;
        }
        o = end;
        n += 1;
    }
}

/// Looks the certificate's names up in the app table.
pub fn apply_cert(c: &mut FlowLabels, names: &[String], frame: u64) {
    for n in names {
        let name = n.trim_start_matches("*.");
        if let Some((app, _)) = apps::lookup(name) {
            c.set_app(
                app,
                Confidence::Medium,
                format!("server certificate name {n} (frame {frame})"),
            );
            return;
        }
    }
}

/// Per-flow state: each direction's handshake bytes until the names are read.
#[derive(Debug, Default)]
pub struct TlsState {
    /// Client direction bytes of a ClientHello spanning segments (freed when read).
    hello: Vec<u8>,
    /// Server-direction bytes until the Certificate message (freed when read).
    srv: Vec<u8>,
    hello_done: bool,
    srv_done: bool,
}

/// The TLS classifier.
pub struct Tls;

impl Classifier for Tls {
    type State = TlsState;
    fn id(&self) -> &'static str {
        "tls"
    }
    fn budget(&self) -> u32 {
        12
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_tcp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, st: &mut Scratch<TlsState>, p: &Pkt<'_>) -> Outcome {
        let b = p.payload;
        if p.dir == Dir::S2c {
            let (done, empty) = st
                .get()
                .map_or((false, true), |s| (s.srv_done, s.srv.is_empty()));
            if done || (empty && !matches!(b, [0x16, 3, v, ..] if *v <= 4)) {
                return Outcome::NeedMore;
            }
            cx.class.add_protocol(Protocol::Tls);
            let st = st.or_default();
            // The server flight: ServerHello, Certificate (TLS ≤ 1.2 sends it in clear).
            let room = MAX_HELLO * 4 - st.srv.len().min(MAX_HELLO * 4);
            st.srv
                .extend_from_slice(b.get(..b.len().min(room)).unwrap_or_default());
            let mut hs = Vec::new();
            handshake_bytes(&st.srv, &mut hs, MAX_HELLO * 4);
            if let Some(cert) = first_certificate(&hs) {
                let names = cert_names(cert);
                if cx.class.app.is_none() {
                    apply_cert(cx.class, &names, p.frame);
                }
                st.srv = Vec::new();
                st.srv_done = true;
            }
            return Outcome::NeedMore;
        }
        // Client direction: the ClientHello, possibly over several segments; the flow table
        // keeps the prefix, but we only have this segment: keep our own bounded buffer.
        if let Some(s) = st.get().filter(|s| s.hello_done) {
            return if s.srv_done {
                Outcome::Match
            } else {
                Outcome::NeedMore
            };
        }
        if st.get().is_none_or(|s| s.hello.is_empty())
            && !matches!(b, [0x16, 3, v, _, _, 1, ..] if *v <= 4)
        {
            return Outcome::NoMatch;
        }
        let st = st.or_default();
        let room = MAX_HELLO.saturating_sub(st.hello.len());
        st.hello
            .extend_from_slice(b.get(..b.len().min(room)).unwrap_or_default());
        cx.class.add_protocol(Protocol::Tls);
        let hello = client_hello_from_records(&st.hello);
        match hello {
            Some(h) => {
                st.hello = Vec::new();
                st.hello_done = true;
                cx.class.raise(Confidence::High);
                if let Some(s) = &h.sni {
                    apply_sni(cx.class, s, "TLS", p.frame);
                }
                apply_alpn(cx.class, &h.alpn, p.frame);
                if cx.class.app.is_some() {
                    Outcome::Match
                } else {
                    Outcome::NeedMore
                }
            }
            None if st.hello.len() >= MAX_HELLO => {
                st.hello = Vec::new();
                Outcome::NoMatch
            }
            None => Outcome::NeedMore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::App;
    use crate::proto::tls::tests::hello_record;

    #[test]
    fn certificate_names() {
        // A fragment: issuer CN, subject CN "*.webex.com", SAN with two dNSNames.
        let mut der = vec![0x30, 0x00];
        der.extend_from_slice(&[
            0x06, 0x03, 0x55, 0x04, 0x03, 0x13, 0x04, b'C', b'A', b' ', b'1',
        ]);
        der.extend_from_slice(&[0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0b]);
        der.extend_from_slice(b"*.webex.com");
        der.extend_from_slice(&[
            0x06, 0x03, 0x55, 0x1d, 0x11, 0x04, 0x11, 0x30, 0x0f, 0x82, 0x07,
        ]);
        der.extend_from_slice(b"zoom.us");
        der.extend_from_slice(&[0x82, 0x04]);
        der.extend_from_slice(b"a.io");
        let n = cert_names(&der);
        assert_eq!(n, vec!["ca 1", "*.webex.com", "zoom.us", "a.io"]);
        let mut c = FlowLabels::default();
        apply_cert(&mut c, &n, 3);
        assert_eq!(c.app, Some(App::Webex));
        for i in 0..der.len() {
            let _ = cert_names(&der[..i]);
        }
    }

    #[test]
    fn certificate_message() {
        // Certificate handshake (type 11) with one 3-byte certificate.
        let hs = [11, 0, 0, 9, 0, 0, 6, 0, 0, 3, 0xaa, 0xbb, 0xcc];
        assert_eq!(first_certificate(&hs), Some(&[0xaa, 0xbb, 0xcc][..]));
        let mut out = Vec::new();
        let mut rec = vec![22, 3, 3, 0, 13];
        rec.extend_from_slice(&hs);
        handshake_bytes(&rec, &mut out, 100);
        assert_eq!(out, hs);
    }

    #[test]
    fn incomplete_hello_waits_and_truncations_do_not_panic() {
        let r = hello_record("zoom.us");
        assert!(client_hello_from_records(&r[..r.len() - 3]).is_none());
        for i in 0..r.len() {
            let _ = client_hello_from_records(&r[..i]);
            let _ = parse_hello_body(&r[9.min(i)..i], false);
        }
    }

    /// Issue 11: ALPN `stun.turn` marks a TURN/TLS relay connection, `stun.nat-discovery` STUN.
    #[test]
    fn alpn_stun_turn() {
        let mut c = FlowLabels::default();
        apply_alpn(&mut c, &["h2".into()], 4);
        assert!(!c.has_protocol(Protocol::Stun));
        apply_alpn(&mut c, &["stun.turn".into()], 4);
        assert!(c.has_protocol(Protocol::Turn) && c.has_protocol(Protocol::Stun));
        assert!(c.evidence.iter().any(|e| e.contains("ALPN stun.turn")));
        let mut c = FlowLabels::default();
        apply_alpn(&mut c, &["stun.nat-discovery".into()], 4);
        assert!(c.has_protocol(Protocol::Stun) && !c.has_protocol(Protocol::Turn));
    }
}
