//! STUN and TURN (RFC 3489, 5389/8489, 5766/8656), TURN ChannelData, STUN over TCP with and
//! without RFC 4571 framing, and the app sub-classification by message types, attributes
//! and REALM.
//!
//! Accepted messages: the top two bits of the type are zero and either
//! - the RFC 5389 magic cookie `0x2112A442` is present and the length field is a multiple
//!   of 4 that fits the payload (UDP: exactly, TCP: at least), or
//! - WhatsApp's message types `0x0800–0x0805` with the cookie (their length fields do not
//!   always match the datagram, so the length is not checked), or
//! - a classic RFC 3489 message (no cookie): a known method, and attributes that tile the
//!   message exactly with the length matching the payload.
//!
//! App rules (each a signature seen in the app's own traffic):
//! - WhatsApp: types `0x0800–0x0805`, attributes `0x4000–0x4007`.
//! - Zoom: classic (cookie-less) STUN with attribute `0x0101` or `0x0103`.
//! - Skype/Teams: MS-ICE/MS-TURN attributes `0x8054 0x8070 0x8095 0x8055 0x8006 0x8036 0x24DF 0x3802`.
//! - Google Meet: attribute `0xFF03`, or REALM containing `google.com`.
//! - REALM substrings: `signal.org`/`whispersystems.org` → Signal, `facebook` → Messenger,
//!   `telegram` → Telegram, `viber` → Viber.
//!   App-specific STUN/TURN servers only serve calls, so these labels are call evidence; plain
//!   STUN (a browser's ICE, a game's NAT probe) is not.

use super::{apps, be16, be32, contains_ci, Classifier, Confidence, Ctx, FlowInfo, Outcome, Pkt};
use super::{App, Protocol, Scratch};
use crate::classify::FlowLabels;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const MAGIC: u32 = 0x2112_A442;

/// Per-flow STUN facts.
#[derive(Clone, Copy, Debug, Default)]
pub struct StunState {
    /// STUN messages recognised.
    pub messages: u16,
    /// Requests seen (for transaction counting).
    pub requests: u16,
    /// Success/error responses seen.
    pub responses: u16,
    /// TURN ChannelData frames recognised.
    pub channel_data: u16,
}

/// A parsed STUN message header plus the span of its attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub typ: u16,
    pub len: u16,
    pub cookie: bool,
    pub txid: &'a [u8],
    /// Attribute bytes (clamped to the payload).
    pub attrs: &'a [u8],
    /// Whether the length field matched the payload exactly.
    pub exact: bool,
}

impl Message<'_> {
    /// Method (12 bits, class bits removed).
    pub fn method(&self) -> u16 {
        (self.typ & 0x000F) | ((self.typ & 0x00E0) >> 1) | ((self.typ & 0x3E00) >> 2)
    }
    /// Class: 0 request, 1 indication, 2 success, 3 error.
    pub fn class(&self) -> u8 {
        (((self.typ >> 4) & 1) | ((self.typ >> 7) & 2)) as u8
    }
    /// WhatsApp's non-standard types.
    pub fn is_whatsapp_type(&self) -> bool {
        (0x0800..=0x0805).contains(&self.typ)
    }
    /// Iterates over (type, value) attributes, capped at 64.
    pub fn attributes(&self) -> Attrs<'_> {
        Attrs {
            b: self.attrs,
            off: 0,
            n: 0,
            pad: self.cookie,
        }
    }
}

/// Attribute iterator (stops at the first one that does not fit).
pub struct Attrs<'a> {
    b: &'a [u8],
    off: usize,
    n: u8,
    pad: bool,
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.n >= 64 {
            return None;
        }
        let t = be16(self.b, self.off)?;
        let l = usize::from(be16(self.b, self.off.checked_add(2)?)?);
        let start = self.off.checked_add(4)?;
        let end = start.checked_add(l)?;
        let v = self.b.get(start..end)?;
        let padded = if self.pad { (l + 3) & !3 } else { l };
        self.off = start.checked_add(padded)?;
        self.n += 1;
        Some((t, v))
    }
}

/// Methods known from RFC 3489/5389/5766/6062 (for cookie-less messages).
fn known_method(m: u16) -> bool {
    matches!(m, 0x001..=0x00C)
}

/// Parses one STUN message at the start of `b`. `stream` allows trailing bytes (TCP).
pub fn parse(b: &[u8], stream: bool) -> Option<Message<'_>> {
    let typ = be16(b, 0)?;
    if typ & 0xC000 != 0 || b.len() < 20 {
        return None;
    }
    let len = be16(b, 2)?;
    let total = usize::from(len).checked_add(20)?;
    let cookie = be32(b, 4)? == MAGIC;
    let exact = total == b.len();
    let fits = if stream { total <= b.len() } else { exact };
    let attrs_end = total.min(b.len());
    if cookie {
        let txid = b.get(8..20)?;
        let attrs = b.get(20..attrs_end)?;
        let m = Message {
            typ,
            len,
            cookie,
            txid,
            attrs,
            exact,
        };
        if m.is_whatsapp_type() {
            return Some(m);
        }
        if len % 4 != 0 || !fits || !known_method(m.method()) && !is_msteams_type(typ) {
            return None;
        }
        return Some(m);
    }
    // Classic RFC 3489: 16-byte transaction id; attributes must tile the message exactly.
    if !fits || !exact {
        return None;
    }
    let txid = b.get(4..20)?;
    let attrs = b.get(20..total)?;
    let m = Message {
        typ,
        len,
        cookie,
        txid,
        attrs,
        exact,
    };
    if !known_method(m.method()) || m.class() == 1 {
        return None;
    }
    let mut off = 0usize;
    let mut n = 0;
    for (_, v) in m.attributes() {
        off = off.checked_add(4)?.checked_add(v.len())?;
        n += 1;
    }
    if off != attrs.len() || (n == 0 && m.class() != 0) {
        return None;
    }
    // An all-zero transaction id is not a STUN client's (it picks it at random).
    if txid.iter().all(|x| *x == 0) {
        return None;
    }
    Some(m)
}

/// MS-TURN data indication and other Microsoft types outside the standard methods.
fn is_msteams_type(t: u16) -> bool {
    matches!(t, 0x0115 | 0x0015)
}

/// TURN ChannelData (RFC 8656 §12): channel 0x4000–0x4FFF, length fitting the payload.
pub fn is_channel_data(b: &[u8], stream: bool) -> bool {
    let (Some(ch), Some(len)) = (be16(b, 0), be16(b, 2)) else {
        return false;
    };
    if !(0x4000..=0x4FFF).contains(&ch) {
        return false;
    }
    let total = usize::from(len) + 4;
    if stream {
        total <= b.len()
    } else {
        total == b.len() || (total + 3) & !3 == b.len()
    }
}

/// Decodes an XOR-mapped style address attribute value.
pub fn xor_address(v: &[u8], txid: &[u8]) -> Option<SocketAddr> {
    let fam = *v.get(1)?;
    let port = be16(v, 2)? ^ (MAGIC >> 16) as u16;
    match fam {
        1 => {
            let a = be32(v, 4)? ^ MAGIC;
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port))
        }
        2 => {
            let raw = v.get(4..20)?;
            let mut key = [0u8; 16];
            key[..4].copy_from_slice(&MAGIC.to_be_bytes());
            key[4..].copy_from_slice(txid.get(..12)?);
            let mut o = [0u8; 16];
            for i in 0..16 {
                o[i] = raw[i] ^ key[i];
            }
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), port))
        }
        _ => None,
    }
}

/// App implied by one attribute (type, value), if any.
pub fn app_of_attribute(t: u16, v: &[u8]) -> Option<(App, &'static str)> {
    match t {
        0x4000..=0x4007 => Some((App::WhatsApp, "STUN attribute 0x4000-family (WhatsApp)")),
        0x8054 | 0x8070 | 0x8095 | 0x8055 | 0x8006 | 0x8036 | 0x24DF | 0x3802 => {
            Some((App::SkypeTeams, "STUN MS-ICE attribute (Skype/Teams)"))
        }
        0xFF03 => Some((App::GoogleMeet, "STUN attribute 0xFF03 (Google)")),
        0x0014 => realm_app(v),
        _ => None,
    }
}

/// App implied by a REALM value.
pub fn realm_app(v: &[u8]) -> Option<(App, &'static str)> {
    const RULES: &[(&[u8], App, &str)] = &[
        (b"google.com", App::GoogleMeet, "STUN REALM google.com"),
        (b"signal.org", App::Signal, "STUN REALM signal.org"),
        (
            b"whispersystems.org",
            App::Signal,
            "STUN REALM whispersystems.org",
        ),
        (b"facebook", App::Messenger, "STUN REALM facebook"),
        (b"telegram", App::Telegram, "STUN REALM telegram"),
        (b"viber", App::Viber, "STUN REALM viber"),
    ];
    RULES
        .iter()
        .find(|(s, _, _)| contains_ci(v, s))
        .map(|(_, a, e)| (*a, *e))
}

/// The STUN/TURN classifier.
pub struct Stun;

impl Classifier for Stun {
    type State = StunState;
    fn id(&self) -> &'static str {
        "stun"
    }
    fn budget(&self) -> u32 {
        32
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp() || f.is_tcp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, st: &mut Scratch<StunState>, p: &Pkt<'_>) -> Outcome {
        let tcp = cx.flow.is_tcp();
        let b = p.payload;
        // RFC 7983 demultiplexing: STUN starts with 0..3; accept WhatsApp's 0x08.
        let first = b.first().copied().unwrap_or(0xFF);
        let mut msg = None;
        if first <= 3 || first == 0x08 {
            msg = parse(b, tcp);
        }
        if msg.is_none() && tcp {
            // RFC 4571 framing: 2-byte length, then the message.
            if let (Some(l), Some(rest)) = (be16(b, 0), b.get(2..)) {
                if usize::from(l) <= rest.len() && l >= 20 {
                    msg = rest.get(..usize::from(l)).and_then(|m| parse(m, false));
                }
            }
        }
        let Some(m) = msg else {
            if cx.class.has_protocol(Protocol::Stun)
                && (64..=79).contains(&first)
                && is_channel_data(b, tcp)
            {
                let st = st.or_default();
                st.channel_data = st.channel_data.saturating_add(1);
                cx.class.add_protocol(Protocol::Turn);
            }
            return if cx.class.has_protocol(Protocol::Stun) || p.nth < 4 {
                Outcome::NeedMore
            } else {
                Outcome::NoMatch
            };
        };
        on_message(cx, st.or_default(), p, &m);
        Outcome::NeedMore
    }
}

fn on_message(cx: &mut Ctx<'_>, st: &mut StunState, p: &Pkt<'_>, m: &Message<'_>) {
    st.messages = st.messages.saturating_add(1);
    match m.class() {
        0 => st.requests = st.requests.saturating_add(1),
        2 | 3 => st.responses = st.responses.saturating_add(1),
        _ => {}
    }
    cx.class.add_protocol(Protocol::Stun);
    cx.class.raise(Confidence::High);
    let method = m.method();
    if !m.is_whatsapp_type() && (0x003..=0x00C).contains(&method) {
        cx.class.add_protocol(Protocol::Turn);
    }
    if st.messages == 1 {
        cx.class.add_evidence(format!(
            "STUN type 0x{:04x} ({}) in frame {}",
            m.typ,
            if m.cookie {
                "RFC 5389"
            } else {
                "classic RFC 3489"
            },
            p.frame
        ));
    }
    let mut app: Option<(App, &'static str)> = None;
    if m.is_whatsapp_type() && m.cookie {
        app = Some((App::WhatsApp, "STUN type 0x0800-0x0805 (WhatsApp relay)"));
    }
    let mut learned: [Option<SocketAddr>; 4] = [None; 4];
    let mut nl = 0;
    for (t, v) in m.attributes() {
        if app.is_none() {
            if let Some(a) = app_of_attribute(t, v) {
                app = Some(a);
            } else if !m.cookie && (t == 0x0101 || t == 0x0103) {
                app = Some((
                    App::Zoom,
                    "classic STUN with attribute 0x0101/0x0103 (Zoom)",
                ));
            }
        }
        // XOR-MAPPED, XOR-PEER, XOR-RELAYED addresses.
        if m.cookie && matches!(t, 0x0020 | 0x0012 | 0x0016 | 0x8020) && nl < learned.len() {
            if let Some(a) = xor_address(v, m.txid) {
                learned[nl] = Some(a);
                nl += 1;
            }
        }
        if t == 0x0014 && cx.class.sni.is_none() {
            if let Ok(s) = std::str::from_utf8(v) {
                if !s.is_empty() && s.len() <= 128 {
                    cx.class.sni = Some(s.to_string());
                }
            }
        }
    }
    if let Some((a, ev)) = app {
        let conf = Confidence::High;
        cx.class
            .set_app(a, conf, format!("{ev}, frame {}", p.frame));
        cx.class.mark_call(format!("{a} call STUN/TURN"));
    } else if cx.class.app.is_none() {
        // Generic STUN to a call app's relay: the server address is in the app's published
        // media ranges, or was answered by DNS for the app's name, or the server port is in
        // the app's documented media port range.
        let srv = cx.flow.server;
        let hint = apps::range_app(srv.ip())
            .map(|(a, s)| (a, format!("STUN to {a}'s published address block ({s})")))
            .or_else(|| {
                cx.caches
                    .dns
                    .get(&srv.ip())
                    .filter(|e| apps::is_call_app(e.app))
                    .map(|e| {
                        let name = cx
                            .caches
                            .dns_names
                            .get(&srv.ip())
                            .map(String::as_str)
                            .unwrap_or("?");
                        (e.app, format!("STUN to an address DNS gave for {name}"))
                    })
            })
            .or_else(|| apps::media_port_app(srv.port()).map(|(a, s)| (a, format!("STUN to {s}"))));
        if let Some((a, ev)) = hint {
            if apps::is_call_app(a) {
                cx.class.set_app(a, Confidence::Medium, ev);
                cx.class.mark_call(format!("STUN/TURN with a {a} relay"));
            }
        }
    }
    if let Some(a) = cx.class.app {
        if cx.class.call {
            let conf = cx.class.app_confidence().unwrap_or(Confidence::Low);
            if conf >= Confidence::Medium {
                cx.caches.endpoints.insert(p.src, a, p.ts, cx.flow.id);
                cx.caches.endpoints.insert(p.dst, a, p.ts, cx.flow.id);
                for s in learned.iter().flatten() {
                    cx.caches.endpoints.insert(*s, a, p.ts, cx.flow.id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn binding_request_rfc5389() {
        let b = hex("000100002112a44253486b6846386f6477677956");
        let m = parse(&b, false).unwrap();
        assert_eq!((m.method(), m.class(), m.cookie), (1, 0, true));
    }

    #[test]
    fn whatsapp_types_accept_mismatched_length() {
        // 0x0801 with a length (0x0010) that does not match the 20-byte datagram.
        let b = hex("080100102112a44270758b44c723a74ed1934a3b");
        let m = parse(&b, false).unwrap();
        assert!(m.is_whatsapp_type());
        // The same with a standard type is rejected.
        let b = hex("000100102112a44270758b44c723a74ed1934a3b");
        assert!(parse(&b, false).is_none());
    }

    #[test]
    fn classic_zoom_attribute() {
        let b = hex("00010018fca5c232b3da5b2065219f418e9b3e1a010100143132333435363738393031323334353637383900");
        let m = parse(&b, false).unwrap();
        assert!(!m.cookie);
        let a: Vec<u16> = m.attributes().map(|(t, _)| t).collect();
        assert_eq!(a, vec![0x0101]);
    }

    #[test]
    fn classic_must_tile() {
        // Attribute claims 0x15 bytes: does not tile the 24-byte body.
        let b = hex("00010018fca5c232b3da5b2065219f418e9b3e1a010100153132333435363738393031323334353637383900");
        assert!(parse(&b, false).is_none());
        // RTP-looking data is not STUN.
        assert!(parse(&hex("8078256900014b404c289e6d3fbd6a8cc3dda431"), false).is_none());
    }

    #[test]
    fn xor_mapped_v4() {
        let b = hex("0101000c2112a44253486b6846386f64776779560020000800017d527c3d45a3");
        let m = parse(&b, false).unwrap();
        let (t, v) = m.attributes().next().unwrap();
        assert_eq!(t, 0x0020);
        let a = xor_address(v, m.txid).unwrap();
        assert_eq!(a, "93.47.225.225:23616".parse().unwrap());
    }

    #[test]
    fn realm_rules() {
        assert_eq!(realm_app(b"telegram.org").map(|x| x.0), Some(App::Telegram));
        assert_eq!(realm_app(b"Google.com").map(|x| x.0), Some(App::GoogleMeet));
        assert_eq!(realm_app(b"example.org"), None);
    }

    #[test]
    fn channel_data() {
        assert!(is_channel_data(&hex("40000004deadbeef"), false));
        assert!(!is_channel_data(&hex("50000004deadbeef"), false));
        assert!(!is_channel_data(&hex("40000008deadbeef"), false));
    }

    #[test]
    fn truncations_never_panic() {
        let b = hex("010300302112a44270758b44c723a74ed1934a25002000080001d1247c310f41400200080000018660b8c8");
        for i in 0..b.len() {
            let _ = parse(&b[..i], true);
            let _ = parse(&b[..i], false);
            let _ = is_channel_data(&b[..i], false);
        }
    }
}
