//! The shared vocabulary of the engine: every id that crosses a stage boundary (apps,
//! protocols, services, confidences, severities, statuses, finding kinds) as an enum.
//!
//! This module is a leaf: it imports nothing from the crate, and every stage (decode, flow,
//! classify, detect, verdict, report, the CLI and the WASM bindings) may import it. Each enum
//! serialises as the stable snake_case id of `voipwatch.report/1` (DESIGN §3), so the JSON is
//! the same as when these were strings; [`as_str`](App::as_str) gives the same id for text.
//!
//! **Apps** have one table, [`APPS`]: id, display name, whether the app makes calls. The CLI
//! and the web page take display names from it (the page through the WASM API), so a name is
//! spelt once.

use serde::Serialize;
use std::fmt;

/// Declares a closed id enum with its ids, `as_str`, `from_id`, `ALL`, `Display` and a
/// `Serialize` that writes the id.
macro_rules! id_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $var:ident = $id:literal,)+ }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vm])* $var,)+ }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var,)+];
            /// The stable snake_case id (as in the report).
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$var => $id,)+ }
            }
            /// Parses an id; `None` for an unknown id.
            pub fn from_id(id: &str) -> Option<$name> {
                match id { $($id => Some($name::$var),)+ _ => None }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

id_enum! {
    /// An application whose traffic voipwatch recognises (DESIGN §3 app ids).
    pub enum App {
        WhatsApp = "whatsapp",
        Messenger = "messenger",
        SkypeTeams = "skype_teams",
        Zoom = "zoom",
        GoogleMeet = "google_meet",
        FaceTime = "facetime",
        Signal = "signal",
        Telegram = "telegram",
        Viber = "viber",
        Discord = "discord",
        Imo = "imo",
        Line = "line",
        Webex = "webex",
        WeChat = "wechat",
        KakaoTalk = "kakaotalk",
        Snapchat = "snapchat",
        /// Generic SIP/RTP telephony (any SIP client or PBX).
        Sip = "sip",
        /// A WebRTC call of an app voipwatch does not recognise (ICE + DTLS-SRTP, or SRTP both
        /// ways on a STUN/DTLS flow): generic, the app is unknown.
        WebRtc = "webrtc",
        /// A call of plain RTP, H.323, MGCP or IAX2 telephony that names no app: generic.
        Voip = "voip",
    }
}

/// One row of the app table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AppInfo {
    pub id: App,
    /// The name shown to people, in reports' sentences, the CLI and the page.
    pub name: &'static str,
    /// The app makes voice/video calls (every app listed does today; kept so a chat-only
    /// app can be added without pretending it calls).
    pub calls: bool,
    /// A generic id (`sip`, `webrtc`, `voip`): the call's protocol is known, the app that made
    /// it is not. Sentences say "WebRTC call (app unknown)".
    pub generic: bool,
}

/// The one app table: id, display name, call-capable. Order is [`App`]'s.
pub const APPS: &[AppInfo] = &[
    AppInfo {
        id: App::WhatsApp,
        name: "WhatsApp",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::Messenger,
        name: "Messenger",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::SkypeTeams,
        name: "Skype/Teams",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::Zoom,
        name: "Zoom",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::GoogleMeet,
        name: "Google Meet",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::FaceTime,
        name: "FaceTime",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::Signal,
        name: "Signal",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::Telegram,
        name: "Telegram",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::Viber,
        name: "Viber",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::Discord,
        name: "Discord",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::Imo,
        name: "imo",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::Line,
        name: "LINE",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::Webex,
        name: "Webex",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::WeChat,
        name: "WeChat",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::KakaoTalk,
        name: "KakaoTalk",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::Snapchat,
        name: "Snapchat",
        calls: true,
        generic: false,
    },
    AppInfo {
        id: App::Sip,
        name: "SIP",
        calls: true,
        generic: true,
    },
    AppInfo {
        id: App::WebRtc,
        name: "WebRTC",
        calls: true,
        generic: true,
    },
    AppInfo {
        id: App::Voip,
        name: "VoIP",
        calls: true,
        generic: true,
    },
];

impl App {
    /// This app's row of [`APPS`].
    pub fn info(self) -> &'static AppInfo {
        // APPS lists every variant in declaration order (checked by a test below).
        const FALLBACK: AppInfo = AppInfo {
            id: App::Sip,
            name: "SIP",
            calls: true,
            generic: true,
        };
        APPS.get(self as usize).unwrap_or(&FALLBACK)
    }
    /// Display name ("WhatsApp", "Skype/Teams", "SIP").
    pub fn name(self) -> &'static str {
        self.info().name
    }
    /// How sentences name one of its calls: "WhatsApp call", "SIP call", and for the generic
    /// ids that name no app, "WebRTC call (app unknown)", "VoIP call (app unknown)".
    pub fn call_noun(self) -> String {
        match self {
            App::WebRtc | App::Voip => format!("{} call (app unknown)", self.name()),
            _ => format!("{} call", self.name()),
        }
    }
}

/// Display name of an app id as found in a report; unknown ids (and "other") are returned
/// as they are.
pub fn app_display_name(id: &str) -> &str {
    match App::from_id(id) {
        Some(a) => a.name(),
        None => id,
    }
}

id_enum! {
    /// A protocol seen on a flow (DESIGN §3 protocol ids). Declared in id order, so sorting
    /// the enum sorts the ids.
    pub enum Protocol {
        Dns = "dns",
        Dtls = "dtls",
        H323 = "h323",
        Http = "http",
        Iax = "iax",
        Megaco = "megaco",
        Mgcp = "mgcp",
        Quic = "quic",
        Rtcp = "rtcp",
        Rtp = "rtp",
        Sdp = "sdp",
        Sip = "sip",
        Skinny = "skinny",
        Srtp = "srtp",
        Stun = "stun",
        Tls = "tls",
        Turn = "turn",
    }
}

impl Protocol {
    /// Protocols of real-time media and call signalling (the CLI's "voip" flow filter).
    pub fn is_voip(self) -> bool {
        !matches!(
            self,
            Protocol::Dns | Protocol::Http | Protocol::Quic | Protocol::Tls
        )
    }
}

id_enum! {
    /// What a flow carries, from classification.
    pub enum Service {
        Call = "call",
        Chat = "chat",
        Web = "web",
        Dns = "dns",
        Other = "other",
    }
}

#[allow(clippy::derivable_impls)] // the enum is declared by `id_enum!`
impl Default for Service {
    fn default() -> Self {
        Service::Other
    }
}

id_enum! {
    /// How sure a label is. `High`: a payload signature specific to the app or protocol;
    /// `Medium`: a name (SNI, DNS answer, REALM) or a cross-flow link (STUN endpoint, SDP);
    /// `Low`: a port or address hint only. Ordered `Low < Medium < High`.
    pub enum Confidence {
        Low = "low",
        Medium = "medium",
        High = "high",
    }
}

#[allow(clippy::derivable_impls)] // the enum is declared by `id_enum!`
impl Default for Confidence {
    fn default() -> Self {
        Confidence::Low
    }
}

id_enum! {
    /// How bad a finding is. Ordered `Info < Degraded < Throttled < Blocked`.
    pub enum Severity {
        /// Cited, but changes no status.
        Info = "info",
        Degraded = "degraded",
        Throttled = "throttled",
        Blocked = "blocked",
    }
}

id_enum! {
    /// The status of a call or a verdict.
    pub enum Status {
        Ok = "ok",
        Blocked = "blocked",
        Throttled = "throttled",
        Degraded = "degraded",
        Inconclusive = "inconclusive",
    }
}

impl Severity {
    /// The status a finding of this severity gives (`Info` gives `Ok`).
    pub fn status(self) -> Status {
        match self {
            Severity::Info => Status::Ok,
            Severity::Degraded => Status::Degraded,
            Severity::Throttled => Status::Throttled,
            Severity::Blocked => Status::Blocked,
        }
    }
}

/// Compares a value with an id (`finding.kind == "rtp_cut"`), for code and tests that read
/// ids from outside the engine.
macro_rules! eq_id {
    ($($name:ident),+) => {$(
        impl PartialEq<&str> for $name {
            fn eq(&self, id: &&str) -> bool {
                self.as_str() == *id
            }
        }
    )+};
}

eq_id!(
    App,
    Protocol,
    Service,
    Confidence,
    Severity,
    Status,
    FindingKind
);

id_enum! {
    /// The kind of a finding (DESIGN §6). Each detector documents the kinds it emits.
    pub enum FindingKind {
        TcpResetInjected = "tcp_reset_injected",
        TcpResetSuspicious = "tcp_reset_suspicious",
        HandshakeTimeout = "handshake_timeout",
        HandshakeRejected = "handshake_rejected",
        TlsSniReset = "tls_sni_reset",
        TlsSniDrop = "tls_sni_drop",
        QuicBlocked = "quic_blocked",
        UdpOneWay = "udp_one_way",
        StunUnanswered = "stun_unanswered",
        UdpMediaBlocked = "udp_media_blocked",
        RtpCut = "rtp_cut",
        UdpBlockedTcpFallback = "udp_blocked_tcp_fallback",
        DnsInjection = "dns_injection",
        DnsBogon = "dns_bogon",
        DnsNxdomain = "dns_nxdomain",
        HttpBlockPage = "http_block_page",
        RequestBlackholed = "request_blackholed",
        BlockingHop = "blocking_hop",
        TcpSynackInjected = "tcp_synack_injected",
        ThrottlingPolicer = "throttling_policer",
        ThrottlingShaper = "throttling_shaper",
        RtpDegraded = "rtp_degraded",
    }
}

id_enum! {
    /// The layer at which decoding stopped (`decode::DecodeError::layer`; the `layer` of the
    /// report's `"layer.reason"` decode-error keys). Documented in `decode`'s module docs.
    pub enum DecodeLayer {
        Link = "link",
        Ethernet = "ethernet",
        Vlan = "vlan",
        Cmd = "cmd",
        Mpls = "mpls",
        Nsh = "nsh",
        Sll = "sll",
        Sll2 = "sll2",
        Null = "null",
        Loop = "loop",
        Ppp = "ppp",
        Pppoe = "pppoe",
        RawIp = "raw_ip",
        Ipv4 = "ipv4",
        Ah = "ah",
        Ipv6 = "ipv6",
        Tcp = "tcp",
        Udp = "udp",
        Icmp = "icmp",
        Icmpv6 = "icmpv6",
        GtpU = "gtp_u",
        Erspan = "erspan",
    }
}

id_enum! {
    /// Why decoding stopped (`decode::DecodeError::reason`; the `reason` of the report's
    /// `"layer.reason"` keys). Each reason's meaning per layer is in `decode`'s module docs.
    pub enum DecodeReason {
        Truncated = "truncated",
        UnsupportedLinktype = "unsupported_linktype",
        BadVersion = "bad_version",
        BadHeaderLength = "bad_header_length",
        BadTotalLength = "bad_total_length",
        BadExtensionLength = "bad_extension_length",
        TooManyExtensionHeaders = "too_many_extension_headers",
        TooManyTags = "too_many_tags",
        TooManyLabels = "too_many_labels",
        TooManyLayers = "too_many_layers",
        BadDataOffset = "bad_data_offset",
        BadLength = "bad_length",
    }
}

id_enum! {
    /// A named oddity of one packet, counted in the report's `capture.anomalies` (id →
    /// packets). `SnaplenTruncated` is the capture reader's (caplen < wire length); the
    /// others are the decoder's, documented in `decode`'s module docs.
    pub enum Anomaly {
        SnaplenTruncated = "snaplen_truncated",
        BadIpv4Checksum = "bad_ipv4_checksum",
        Ipv4Truncated = "ipv4_truncated",
        Ipv6Truncated = "ipv6_truncated",
        Ipv4LengthExceedsFrame = "ipv4_length_exceeds_frame",
        Ipv6LengthExceedsFrame = "ipv6_length_exceeds_frame",
        Ipv4TotalLengthZero = "ipv4_total_length_zero",
        Ipv6PayloadLengthZero = "ipv6_payload_length_zero",
        BadTcpChecksum = "bad_tcp_checksum",
        BadUdpChecksum = "bad_udp_checksum",
        BadTcpOptions = "bad_tcp_options",
        TcpSynFin = "tcp_syn_fin",
        TcpSynRst = "tcp_syn_rst",
        TcpNoFlags = "tcp_no_flags",
        UdpLengthMismatch = "udp_length_mismatch",
        IpVersionMismatch = "ip_version_mismatch",
        TunnelInnerUndecodable = "tunnel_inner_undecodable",
        TunnelDepthExceeded = "tunnel_depth_exceeded",
        /// The same IP packet captured twice within a few ms (a VLAN sub-interface and its
        /// parent, `-i any`): counted once.
        DuplicateFrame = "duplicate_frame",
        /// The packet's timestamp is earlier than the previous packet's (the analyzer's).
        TimeBackwards = "time_backwards",
        /// The timestamp moved more than a day, either way, from the previous packet's.
        TimeJump = "time_jump",
        /// pcap: the record's fraction of a second is ≥ 1 s (≥ 10^9 ns, or ≥ 10^6 µs);
        /// carried into the seconds, as libpcap's readers do.
        TsFractionOverflow = "ts_fraction_overflow",
        /// pcapng: the packet's interface declares an absurd `if_tsresol` (finer than
        /// 10^-12 s or 2^-40 s: no capture clock ticks that fast), or the timestamp overflowed.
        TsResolutionAbsurd = "ts_resolution_absurd",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_table_lists_every_app_once_in_order() {
        assert_eq!(APPS.len(), App::ALL.len());
        for (i, a) in App::ALL.iter().enumerate() {
            assert_eq!(APPS[i].id, *a, "row {i}");
            assert_eq!(a.info().id, *a);
            assert!(!a.name().is_empty());
        }
    }

    #[test]
    fn ids_round_trip_and_serialise_as_ids() {
        for a in App::ALL {
            assert_eq!(App::from_id(a.as_str()), Some(*a));
            assert_eq!(
                serde_json::to_string(a).ok(),
                Some(format!("\"{}\"", a.as_str()))
            );
        }
        for k in FindingKind::ALL {
            assert_eq!(FindingKind::from_id(k.as_str()), Some(*k));
        }
        assert_eq!(App::from_id("other"), None);
        assert_eq!(app_display_name("skype_teams"), "Skype/Teams");
        assert_eq!(app_display_name("other"), "other");
    }

    #[test]
    fn protocol_order_is_id_order() {
        let ids: Vec<&str> = Protocol::ALL.iter().map(|p| p.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn severity_orders_by_harm() {
        assert!(Severity::Blocked > Severity::Throttled);
        assert!(Severity::Throttled > Severity::Degraded);
        assert!(Severity::Degraded > Severity::Info);
        assert_eq!(Severity::Info.status(), Status::Ok);
    }
}
