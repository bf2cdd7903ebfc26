//! SIP (RFC 3261) with SDP (RFC 4566), and plain HTTP request/response lines.
//!
//! A SIP message starts with a request line (`METHOD sip:… SIP/2.0`, methods of RFC 3261
//! and extensions) or a status line (`SIP/2.0 NNN`), over UDP or TCP, on any port. SIP
//! carries app `sip` (generic telephony) with high confidence; an INVITE (or a 18x/200
//! answer to one, i.e. a CSeq naming INVITE) is call evidence. An SDP body's `c=` address
//! and `m=audio|video <port>` lines are put in the SDP cache, so the RTP flows they
//! announce are linked to the call (`sip`, medium confidence) even on dynamic ports.
//! HTTP: a request line with a known method or an `HTTP/1.x` status line gives `http`;
//! the `Host:` header is looked up in the app table.

use super::{
    apps, contains_ci, starts_with_ci, Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome,
    Pkt,
};
use super::{App, Protocol, Scratch};
use crate::proto::http;
use std::net::{IpAddr, SocketAddr};

const METHODS: &[&[u8]] = &[
    b"INVITE ",
    b"REGISTER ",
    b"OPTIONS ",
    b"ACK ",
    b"BYE ",
    b"CANCEL ",
    b"SUBSCRIBE ",
    b"NOTIFY ",
    b"PRACK ",
    b"UPDATE ",
    b"INFO ",
    b"MESSAGE ",
    b"REFER ",
    b"PUBLISH ",
];

/// What the first line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    Request { invite: bool },
    Status(u16),
}

/// Recognises a SIP start line.
pub fn start_line(b: &[u8]) -> Option<Line> {
    let end = b
        .iter()
        .take(512)
        .position(|c| *c == b'\r' || *c == b'\n')
        .unwrap_or(b.len().min(512));
    let line = b.get(..end)?;
    if starts_with_ci(line, b"SIP/2.0 ") {
        let code = line.get(8..11)?;
        if !code.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = code.iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
        return Some(Line::Status(n));
    }
    let m = METHODS.iter().find(|m| line.starts_with(m))?;
    let rest = line.get(m.len()..)?;
    if !(starts_with_ci(rest, b"sip:")
        || starts_with_ci(rest, b"sips:")
        || starts_with_ci(rest, b"tel:"))
    {
        return None;
    }
    if !line.ends_with(b"SIP/2.0") {
        return None;
    }
    Some(Line::Request {
        invite: m.starts_with(b"INVITE"),
    })
}

/// Most `a=rtpmap` lines kept per SDP media section.
pub const MAX_RTPMAP: usize = 16;

/// One `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` line (RFC 4566
/// §6, RFC 8866 §6.6): what a dynamic payload type of that media section carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpMap {
    pub pt: u8,
    /// The encoding name as the SDP spells it (`opus`, `telephone-event`, `AMR-WB` …), at most
    /// 32 visible ASCII characters.
    pub codec: String,
    /// Clock rate, Hz.
    pub clock: u32,
}

/// Parses the value of an `a=rtpmap:` line; `None` for a malformed one (payload type over
/// 127, no or zero clock rate, an empty, over-long or non-ASCII name).
pub fn parse_rtpmap(v: &[u8]) -> Option<RtpMap> {
    let s = std::str::from_utf8(v).ok()?.trim();
    let (pt, rest) = s.split_once(' ')?;
    let pt = pt.parse::<u8>().ok().filter(|p| *p <= 127)?;
    let mut parts = rest.trim().split('/');
    let codec = parts.next()?;
    if codec.is_empty() || codec.len() > 32 || !codec.bytes().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    let clock = parts
        .next()?
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|c| (1..=1_000_000).contains(c))?;
    Some(RtpMap {
        pt,
        codec: codec.to_string(),
        clock,
    })
}

/// One audio/video media section of an SDP body: where the media goes and its rtpmap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdpMedia {
    pub addr: SocketAddr,
    pub rtpmap: Vec<RtpMap>,
}

/// Media endpoints announced by an SDP body (at most 8).
pub fn sdp_media(b: &[u8]) -> Vec<SocketAddr> {
    sdp_sections(b).into_iter().map(|m| m.addr).collect()
}

/// The audio/video media sections of an SDP body (at most 8, port 0 — a declined stream —
/// left out), each with its `c=` address (media-level, else session-level) and up to
/// [`MAX_RTPMAP`] rtpmap lines.
pub fn sdp_sections(b: &[u8]) -> Vec<SdpMedia> {
    let mut out = Vec::new();
    let mut session_ip: Option<IpAddr> = None;
    let mut media_ip: Option<IpAddr> = None;
    // The current media section: its port (None before the first m= or for non-audio/video).
    let mut port: Option<u16> = None;
    let mut in_media = false;
    let mut maps: Vec<RtpMap> = Vec::new();
    let flush = |ip: Option<IpAddr>,
                 port: &mut Option<u16>,
                 maps: &mut Vec<RtpMap>,
                 out: &mut Vec<SdpMedia>| {
        if let (Some(ip), Some(p)) = (ip, port.take()) {
            if out.len() < 8 && p != 0 {
                out.push(SdpMedia {
                    addr: SocketAddr::new(ip, p),
                    rtpmap: std::mem::take(maps),
                });
            }
        }
        maps.clear();
    };
    for line in b.split(|c| *c == b'\n').take(200) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(rest) = line
            .strip_prefix(b"c=IN IP4 ")
            .or_else(|| line.strip_prefix(b"c=IN IP6 "))
        {
            let s = std::str::from_utf8(rest)
                .ok()
                .and_then(|s| s.split('/').next())
                .unwrap_or("");
            let ip = s.trim().parse::<IpAddr>().ok();
            if in_media {
                media_ip = ip;
            } else {
                session_ip = ip;
            }
        } else if let Some(rest) = line.strip_prefix(b"m=") {
            flush(media_ip.or(session_ip), &mut port, &mut maps, &mut out);
            media_ip = None;
            in_media = true;
            let s = std::str::from_utf8(rest).unwrap_or("");
            let mut it = s.split(' ');
            let kind = it.next().unwrap_or("");
            if kind == "audio" || kind == "video" {
                port = it
                    .next()
                    .and_then(|p| p.split('/').next())
                    .and_then(|p| p.parse::<u16>().ok());
            }
        } else if let Some(v) = line.strip_prefix(b"a=rtpmap:") {
            if port.is_some() && maps.len() < MAX_RTPMAP {
                if let Some(m) = parse_rtpmap(v) {
                    if !maps.iter().any(|x| x.pt == m.pt) {
                        maps.push(m);
                    }
                }
            }
        }
    }
    flush(media_ip.or(session_ip), &mut port, &mut maps, &mut out);
    out
}

/// The SIP (+SDP) and HTTP classifier.
pub struct Sip;

impl Classifier for Sip {
    type State = ();
    /// A SIP flow outlives the budget (a trunk or a long-registered phone carries many
    /// dialogs): `account` keeps reading the SDP of its later messages.
    const KEEPS_STATE: bool = true;
    fn id(&self) -> &'static str {
        "sip"
    }
    fn budget(&self) -> u32 {
        64
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp() || f.is_tcp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, _st: &mut Scratch<()>, p: &Pkt<'_>) -> Outcome {
        let b = p.payload;
        let first = b.first().copied().unwrap_or(0);
        if !first.is_ascii_uppercase() {
            return if cx.class.has_protocol(Protocol::Sip) || p.nth < 6 {
                Outcome::NeedMore
            } else {
                Outcome::NoMatch
            };
        }
        if let Some(line) = start_line(b) {
            if !cx.class.has_protocol(Protocol::Sip) {
                cx.class.add_protocol(Protocol::Sip);
                cx.class.set_app(
                    App::Sip,
                    Confidence::High,
                    format!("SIP start line in frame {}", p.frame),
                );
            }
            let invite_related = match line {
                Line::Request { invite } => invite,
                Line::Status(code) => (180..=200).contains(&code) && contains_ci(b, b"INVITE"),
            };
            if invite_related {
                cx.class
                    .mark_call(format!("SIP INVITE dialog (frame {})", p.frame));
            }
            learn_sdp(cx, p);
            // Kept (a unit: no allocation) so `account` reads the SDP of later messages.
            _st.or_default();
            return Outcome::NeedMore;
        }
        if !cx.class.has_protocol(Protocol::Http) {
            if http::request_method(b).is_some()
                && contains_ci(b.get(..512.min(b.len())).unwrap_or(b), b" HTTP/1.")
            {
                cx.class.add_protocol(Protocol::Http);
                if let Some(h) = header(b, b"host:") {
                    let host = h.split(':').next().unwrap_or(h);
                    if cx.class.sni.is_none() {
                        cx.class.sni = Some(host.to_ascii_lowercase());
                    }
                    if let Some((app, _)) = apps::lookup(host) {
                        cx.class.set_app(
                            app,
                            Confidence::Medium,
                            format!("HTTP Host {host} (frame {})", p.frame),
                        );
                    }
                }
            } else if http::is_status_prefix(b) {
                cx.class.add_protocol(Protocol::Http);
            }
        }
        if cx.class.has_protocol(Protocol::Sip) || p.nth < 6 {
            Outcome::NeedMore
        } else {
            Outcome::NoMatch
        }
    }
    /// After the budget: the SDP of later SIP messages (an answer, a re-INVITE, the next
    /// call of a trunk) still links its media addresses and their payload types.
    fn account(&self, cx: &mut Ctx<'_>, _st: &mut (), p: &Pkt<'_>) {
        if p.nth > Classifier::budget(self)
            && p.payload.first().is_some_and(u8::is_ascii_uppercase)
            && start_line(p.payload).is_some()
        {
            learn_sdp(cx, p);
        }
    }
}

/// Caches the media addresses (and RTCP's next port) and rtpmap lines of a SIP message's SDP.
fn learn_sdp(cx: &mut Ctx<'_>, p: &Pkt<'_>) {
    let b = p.payload;
    if let Some(body) = find_body(b) {
        if contains_ci(b, b"application/sdp") || body.starts_with(b"v=0") {
            cx.class.add_protocol(Protocol::Sdp);
            for sec in sdp_sections(body) {
                let m = sec.addr;
                cx.caches.sdp.insert(m, App::Sip, p.ts, cx.flow.id);
                cx.caches.insert_rtpmap(m, sec.rtpmap);
                // RTCP on the next port (RFC 3550 §11) unless a=rtcp says otherwise.
                if let Some(port) = m.port().checked_add(1) {
                    cx.caches
                        .sdp
                        .insert(SocketAddr::new(m.ip(), port), App::Sip, p.ts, cx.flow.id);
                }
            }
        }
    }
}

/// The body after the blank line, if present.
fn find_body(b: &[u8]) -> Option<&[u8]> {
    let i = b.windows(4).position(|w| w == b"\r\n\r\n")?;
    b.get(i + 4..)
}

/// A header value (first occurrence, case-insensitive name including the colon).
fn header<'a>(b: &'a [u8], name: &[u8]) -> Option<&'a str> {
    for line in b.split(|c| *c == b'\n').take(64) {
        if starts_with_ci(line, name) {
            let v = line.get(name.len()..)?;
            let v = std::str::from_utf8(v).ok()?.trim();
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@example.org SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\nv=0\r\no=a 1 1 IN IP4 10.0.0.1\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8\r\nm=video 0 RTP/AVP 31\r\nm=video 51372 RTP/AVP 31\r\nc=IN IP4 10.0.0.9\r\n";

    #[test]
    fn start_lines() {
        assert_eq!(start_line(INVITE), Some(Line::Request { invite: true }));
        assert_eq!(start_line(b"SIP/2.0 200 OK\r\n"), Some(Line::Status(200)));
        assert_eq!(
            start_line(b"REGISTER sip:x SIP/2.0\r\n"),
            Some(Line::Request { invite: false })
        );
        assert_eq!(start_line(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(start_line(b"SIP/2.0 2x0"), None);
        assert_eq!(start_line(b"INVITE http://x SIP/2.0\r\n"), None);
    }

    #[test]
    fn sdp_ports_with_media_level_c_line() {
        let body = find_body(INVITE).unwrap();
        let m = sdp_media(body);
        assert_eq!(
            m,
            vec![
                "10.0.0.1:49170".parse().unwrap(),
                "10.0.0.9:51372".parse().unwrap()
            ]
        );
    }

    /// Issue 11: each media section's rtpmap lines, malformed ones skipped.
    #[test]
    fn sdp_rtpmap_per_section() {
        let body = b"v=0\r\nc=IN IP4 10.0.0.1\r\na=rtpmap:99 session-level/8000\r\nm=audio 40000 RTP/AVP 96 101 13\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\na=rtpmap:200 bad/8000\r\na=rtpmap:97 nort\r\na=rtpmap:98 zero/0\r\na=rtpmap:96 dup/16000\r\nm=video 40002 RTP/AVP 102\r\nc=IN IP4 10.0.0.5\r\na=rtpmap:102 VP8/90000\r\n";
        let s = sdp_sections(body);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].addr, "10.0.0.1:40000".parse().unwrap());
        let names: Vec<(u8, &str, u32)> = s[0]
            .rtpmap
            .iter()
            .map(|m| (m.pt, m.codec.as_str(), m.clock))
            .collect();
        assert_eq!(names, [(96, "opus", 48000), (101, "telephone-event", 8000)]);
        assert_eq!(s[1].addr, "10.0.0.5:40002".parse().unwrap());
        assert_eq!(s[1].rtpmap[0].codec, "VP8");
        assert_eq!(parse_rtpmap(b"8 PCMA/8000/1").map(|m| m.clock), Some(8000));
        assert_eq!(parse_rtpmap(b"8 PC\xffMA/8000"), None);
        assert_eq!(parse_rtpmap(b"8"), None);
    }

    #[test]
    fn http_host() {
        assert_eq!(
            header(b"GET / HTTP/1.1\r\nHost: line.me\r\n\r\n", b"host:"),
            Some("line.me")
        );
    }
}
