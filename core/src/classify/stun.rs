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
//! - Skype/Teams: MS-TURN messages ([MS-TURN]): no RFC 5389 cookie, the MAGIC-COOKIE
//!   attribute (0x000F, `0x72C64BC6`) first; they are STUN and TURN.
//! - Google Meet: attribute `0xFF03`, or REALM containing `google.com`.
//! - REALM substrings: `signal.org`/`whispersystems.org` → Signal, `facebook` → Messenger,
//!   `telegram` → Telegram, `viber` → Viber.
//!   App-specific STUN/TURN servers only serve calls, so these labels are call evidence; plain
//!   STUN (a browser's ICE, a game's NAT probe) is not.

use super::{apps, be16, contains_ci, Classifier, Confidence, Ctx, FlowInfo, Outcome, Pkt};
use super::{App, Protocol, Scratch};
use crate::classify::FlowLabels;
pub use crate::proto::stun::{is_channel_data, parse, xor_address, Attrs, Message, MAGIC};
use std::net::SocketAddr;

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
    /// An MS-TURN message was seen (its evidence is written once).
    pub ms_turn: bool,
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
        // MS-TURN ([MS-TURN]): no RFC 5389 cookie, the MAGIC-COOKIE attribute first.
        let ms = crate::proto::turn::is_ms_turn(b)
            || (tcp && b.get(2..).is_some_and(crate::proto::turn::is_ms_turn));
        if ms {
            on_ms_turn(cx, st.or_default(), p, b);
            if msg.is_none() {
                return Outcome::NeedMore;
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

/// An MS-TURN message: STUN and TURN, and Microsoft's relay (Lync / Skype for Business /
/// Teams use MS-TURN; [MS-TURN] is Microsoft's own extension of the legacy TURN draft).
fn on_ms_turn(cx: &mut Ctx<'_>, st: &mut StunState, p: &Pkt<'_>, b: &[u8]) {
    st.messages = st.messages.saturating_add(1);
    let c = &mut *cx.class;
    c.add_protocol(Protocol::Stun);
    c.add_protocol(Protocol::Turn);
    c.raise(Confidence::High);
    if st.ms_turn {
        return;
    }
    st.ms_turn = true;
    let at = if crate::proto::turn::is_ms_turn(b) {
        0
    } else {
        2
    };
    c.add_evidence(format!(
        "MS-TURN message type 0x{:04x} (MAGIC-COOKIE attribute 0x72C64BC6, [MS-TURN]) in frame {}",
        be16(b, at).unwrap_or(0),
        p.frame
    ));
    c.set_app(
        App::SkypeTeams,
        Confidence::High,
        format!(
            "MS-TURN relay (Microsoft Skype for Business/Teams), frame {}",
            p.frame
        ),
    );
    c.mark_call("skype_teams call STUN/TURN (MS-TURN)".to_string());
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
        // The peer behind a relay: XOR-PEER-ADDRESS of CreatePermission, ChannelBind and
        // Send/Data indications.
        if m.cookie && t == 0x0012 && matches!(method, 0x006..=0x009) {
            if let Some(a) = xor_address(v, m.txid) {
                cx.class.add_relay_peer(a);
            }
        }
        // XOR-MAPPED, XOR-PEER, XOR-RELAYED addresses.
        if m.cookie && matches!(t, 0x0020 | 0x0012 | 0x0016 | 0x8020) {
            if let (Some(slot), Some(a)) = (learned.get_mut(nl), xor_address(v, m.txid)) {
                *slot = Some(a);
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

    /// Issue 11: an MS-TURN message (no RFC 5389 cookie; MAGIC-COOKIE attribute first) is
    /// STUN and TURN of Microsoft's relay, even when its attributes do not tile as classic STUN.
    #[test]
    fn ms_turn_is_turn_of_skype_teams() {
        let mut m = vec![0x00, 0x03, 0x00, 0x0C];
        m.extend_from_slice(&[0x11; 16]);
        m.extend_from_slice(&[0x00, 0x0F, 0x00, 0x04, 0x72, 0xC6, 0x4B, 0xC6]);
        m.extend_from_slice(&[0x80, 0x08, 0x00, 0x04]); // MS-VERSION, value cut off
        let info = FlowInfo {
            id: 0,
            transport: crate::flow::Transport::Udp,
            client: "10.0.0.1:50016".parse().unwrap(),
            server: "198.51.100.1:3478".parse().unwrap(),
        };
        let mut c = FlowLabels::default();
        let mut st = Scratch::<StunState>::default();
        let mut caches = crate::classify::cache::Caches::default();
        let out =
            crate::classify::tests::inspect_c2s(&Stun, info, &mut c, &mut st, &mut caches, &m, 1);
        assert_eq!(out, Outcome::NeedMore);
        assert!(c.has_protocol(Protocol::Stun) && c.has_protocol(Protocol::Turn));
        assert_eq!(c.app, Some(App::SkypeTeams));
        assert!(c.call);
        let n = c.evidence.len();
        crate::classify::tests::inspect_c2s(&Stun, info, &mut c, &mut st, &mut caches, &m, 2);
        assert_eq!(c.evidence.len(), n, "evidence written once");
        // The same bytes without the attribute are nothing.
        m[24] = 0;
        let mut c = FlowLabels::default();
        let mut st = Scratch::<StunState>::default();
        crate::classify::tests::inspect_c2s(&Stun, info, &mut c, &mut st, &mut caches, &m, 1);
        assert!(!c.has_protocol(Protocol::Turn));
    }

    #[test]
    fn realm_rules() {
        assert_eq!(realm_app(b"telegram.org").map(|x| x.0), Some(App::Telegram));
        assert_eq!(realm_app(b"Google.com").map(|x| x.0), Some(App::GoogleMeet));
        assert_eq!(realm_app(b"example.org"), None);
    }
}
