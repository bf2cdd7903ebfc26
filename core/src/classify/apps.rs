//! Host/SNI/domain → app table, and the few IP-range tables used where payload cannot tell.
//!
//! **Adding an app or a domain** is one line in [`HOSTS`]: a name matches an entry when it
//! equals the entry or ends with `.` + entry (so `zoom.us` matches `www3.zoom.us` but not
//! `notzoom.us`). Entries are matched longest first, so a specific name can override a
//! broader one. Names come from the apps' own documentation of the domains their clients
//! use (firewall/allow-list pages) and from their traffic.
//!
//! **IP ranges** ([`RANGES`]) are only for services whose clients speak to fixed address
//! blocks without a name on the wire (TLS resumption without SNI, proprietary UDP). Each
//! block lists its source and the date it was read; they go stale, and match with low
//! confidence only.

use crate::model::App;
use std::net::IpAddr;

/// (domain suffix, app id). Generic parents (facebook.com, google.com, microsoft.com) are
/// deliberately absent: they serve much more than calls.
pub const HOSTS: &[(&str, App)] = &[
    // WhatsApp (Meta's "WhatsApp domains" allow-list guidance).
    ("whatsapp.net", App::WhatsApp),
    ("whatsapp.com", App::WhatsApp),
    ("whatsapp.biz", App::WhatsApp),
    ("wa.me", App::WhatsApp),
    // Messenger: its MQTT chat edges and own domains.
    ("messenger.com", App::Messenger),
    ("edge-mqtt.facebook.com", App::Messenger),
    ("mqtt-mini.facebook.com", App::Messenger),
    ("edge-chat.facebook.com", App::Messenger),
    ("edge-chat.messenger.com", App::Messenger),
    // Microsoft Teams / Skype (Microsoft 365 URLs and IP ranges, "Teams" service area).
    ("teams.microsoft.com", App::SkypeTeams),
    ("teams.live.com", App::SkypeTeams),
    ("teams.office.com", App::SkypeTeams),
    ("teams.cloud.microsoft", App::SkypeTeams),
    ("skype.com", App::SkypeTeams),
    ("skype.net", App::SkypeTeams),
    ("skypeassets.com", App::SkypeTeams),
    ("lync.com", App::SkypeTeams),
    ("microsoftstream.com", App::SkypeTeams),
    ("hockeyapp.net", App::SkypeTeams),
    ("trouter.teams.microsoft.com", App::SkypeTeams),
    // Zoom ("Zoom network firewall or proxy server settings").
    ("zoom.us", App::Zoom),
    ("zoom.com", App::Zoom),
    ("zoomgov.com", App::Zoom),
    ("zoom.com.cn", App::Zoom),
    // Google Meet.
    ("meet.google.com", App::GoogleMeet),
    ("meetings.googleapis.com", App::GoogleMeet),
    ("meet.googleapis.com", App::GoogleMeet),
    // Signal.
    ("signal.org", App::Signal),
    ("whispersystems.org", App::Signal),
    ("signal.art", App::Signal),
    ("signal.group", App::Signal),
    // Telegram.
    ("telegram.org", App::Telegram),
    ("telegram.me", App::Telegram),
    ("t.me", App::Telegram),
    ("tdesktop.com", App::Telegram),
    // Viber.
    ("viber.com", App::Viber),
    // Discord.
    ("discord.com", App::Discord),
    ("discord.gg", App::Discord),
    ("discordapp.com", App::Discord),
    ("discordapp.net", App::Discord),
    ("discord.media", App::Discord),
    // IMO.
    ("imo.im", App::Imo),
    // LINE.
    ("line.me", App::Line),
    ("line-apps.com", App::Line),
    ("line-scdn.net", App::Line),
    ("line.naver.jp", App::Line),
    ("linecorp.com", App::Line),
    // Webex.
    ("webex.com", App::Webex),
    ("wbx2.com", App::Webex),
    ("ciscospark.com", App::Webex),
    // WeChat.
    ("wechat.com", App::WeChat),
    ("weixin.qq.com", App::WeChat),
    ("wx.qq.com", App::WeChat),
    // KakaoTalk.
    ("kakao.com", App::KakaoTalk),
    ("kakaocdn.net", App::KakaoTalk),
    // Snapchat.
    ("snapchat.com", App::Snapchat),
    ("sc-cdn.net", App::Snapchat),
    ("addlive.io", App::Snapchat),
    // FaceTime (Apple's enterprise network guidance lists these for FaceTime).
    ("facetime.apple.com", App::FaceTime),
    ("ess.apple.com", App::FaceTime),
];

/// Looks a name up: the app and the table entry that matched (longest match wins).
pub fn lookup(name: &str) -> Option<(App, &'static str)> {
    let name = name.trim_end_matches('.');
    let mut best: Option<(App, &'static str)> = None;
    for (suffix, app) in HOSTS {
        let (n, s) = (name.as_bytes(), suffix.as_bytes());
        let Some(cut) = n.len().checked_sub(s.len()) else {
            continue;
        };
        let hit = n.get(cut..).is_some_and(|t| t.eq_ignore_ascii_case(s))
            && (cut == 0 || n.get(cut - 1) == Some(&b'.'));
        if hit && best.is_none_or(|(_, b)| suffix.len() > b.len()) {
            best = Some((*app, suffix));
        }
    }
    best
}

/// Apps that make calls (a STUN/TURN relay of theirs is call evidence).
pub fn is_call_app(app: App) -> bool {
    matches!(
        app,
        App::WhatsApp
            | App::Messenger
            | App::SkypeTeams
            | App::Zoom
            | App::GoogleMeet
            | App::FaceTime
            | App::Signal
            | App::Telegram
            | App::Viber
            | App::Discord
            | App::Imo
            | App::Line
            | App::Webex
            | App::WeChat
            | App::KakaoTalk
            | App::Snapchat
    )
}

/// Apps whose TLS flows are web pages rather than chat (service "web").
pub fn is_web_app(app: App) -> bool {
    matches!(app, App::WeChat | App::Webex | App::Zoom | App::GoogleMeet)
}

/// (network, prefix length, app, source and date read).
pub const RANGES: &[(&str, u8, App, &str)] = &[
    // Telegram: https://core.telegram.org/resources/cidr.txt (read 2026-11).
    (
        "91.108.4.0",
        22,
        App::Telegram,
        "core.telegram.org/resources/cidr.txt",
    ),
    (
        "91.108.8.0",
        22,
        App::Telegram,
        "core.telegram.org/resources/cidr.txt",
    ),
    (
        "91.108.12.0",
        22,
        App::Telegram,
        "core.telegram.org/resources/cidr.txt",
    ),
    (
        "91.108.16.0",
        22,
        App::Telegram,
        "core.telegram.org/resources/cidr.txt",
    ),
    (
        "91.108.20.0",
        22,
        App::Telegram,
        "core.telegram.org/resources/cidr.txt",
    ),
    (
        "91.108.56.0",
        22,
        App::Telegram,
        "core.telegram.org/resources/cidr.txt",
    ),
    (
        "95.161.64.0",
        20,
        App::Telegram,
        "core.telegram.org/resources/cidr.txt",
    ),
    (
        "149.154.160.0",
        20,
        App::Telegram,
        "core.telegram.org/resources/cidr.txt",
    ),
    (
        "185.76.151.0",
        24,
        App::Telegram,
        "core.telegram.org/resources/cidr.txt",
    ),
    // Google Meet media: support.google.com/a/answer/1279090 "Prepare your network for Meet"
    // (media IP ranges; read 2026-11).
    (
        "74.125.247.128",
        32,
        App::GoogleMeet,
        "Google Meet network guide, media ranges",
    ),
    (
        "74.125.250.0",
        24,
        App::GoogleMeet,
        "Google Meet network guide, media ranges",
    ),
    (
        "142.250.82.0",
        24,
        App::GoogleMeet,
        "Google Meet network guide, media ranges",
    ),
    // Webex: help.webex.com "Network requirements for Webex services", IPv4 subnets (read 2026-11).
    (
        "62.109.192.0",
        18,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "64.68.96.0",
        19,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "66.114.160.0",
        20,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "66.163.32.0",
        19,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "69.26.160.0",
        19,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "114.29.192.0",
        19,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "150.253.128.0",
        17,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "170.72.0.0",
        16,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "170.133.128.0",
        18,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "173.39.224.0",
        19,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "173.243.0.0",
        20,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "207.182.160.0",
        19,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "209.197.192.0",
        19,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "210.4.192.0",
        20,
        App::Webex,
        "help.webex.com network requirements",
    ),
    (
        "216.151.128.0",
        19,
        App::Webex,
        "help.webex.com network requirements",
    ),
];

/// Documented media/relay UDP port ranges of call apps on their servers: (lo, hi, app, source).
/// 19302 (Google's public STUN server, used by every WebRTC app) is deliberately left out.
pub const MEDIA_PORTS: &[(u16, u16, App, &str)] = &[
    (
        8801,
        8810,
        App::Zoom,
        "Zoom firewall guidance: UDP 8801-8810 to multimedia routers",
    ),
    (
        19303,
        19309,
        App::GoogleMeet,
        "Google Meet network guide: UDP 19302-19309",
    ),
];

/// The call app whose documented server media ports include `port`.
pub fn media_port_app(port: u16) -> Option<(App, &'static str)> {
    MEDIA_PORTS
        .iter()
        .find(|(lo, hi, _, _)| (*lo..=*hi).contains(&port))
        .map(|(_, _, a, s)| (*a, *s))
}

/// The app whose published range holds `ip`, with the source.
pub fn range_app(ip: IpAddr) -> Option<(App, &'static str)> {
    let IpAddr::V4(v4) = ip else { return None };
    let a = u32::from(v4);
    RANGES.iter().find_map(|(net, len, app, src)| {
        let n: std::net::Ipv4Addr = net.parse().ok()?;
        let mask = if *len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(*len))
        };
        (a & mask == u32::from(n) & mask).then_some((*app, *src))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_rules() {
        assert_eq!(lookup("www3.zoom.us").map(|x| x.0), Some(App::Zoom));
        assert_eq!(lookup("ZOOM.US.").map(|x| x.0), Some(App::Zoom));
        assert_eq!(lookup("notzoom.us"), None);
        assert_eq!(
            lookup("edge-mqtt.facebook.com").map(|x| x.0),
            Some(App::Messenger)
        );
        assert_eq!(lookup("www.facebook.com"), None);
        assert_eq!(
            lookup("textsecure-service.whispersystems.org").map(|x| x.0),
            Some(App::Signal)
        );
        assert_eq!(lookup(""), None);
    }

    #[test]
    fn longest_match_wins() {
        // trouter.teams.microsoft.com and teams.microsoft.com both match: same app, longer entry.
        assert_eq!(
            lookup("a.trouter.teams.microsoft.com"),
            Some((App::SkypeTeams, "trouter.teams.microsoft.com"))
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(
            range_app("149.154.167.91".parse().unwrap()).map(|x| x.0),
            Some(App::Telegram)
        );
        assert_eq!(
            range_app("64.68.105.103".parse().unwrap()).map(|x| x.0),
            Some(App::Webex)
        );
        assert_eq!(range_app("8.8.8.8".parse().unwrap()), None);
        assert_eq!(range_app("::1".parse().unwrap()), None);
        for (net, len, _, _) in RANGES {
            assert!(
                net.parse::<std::net::Ipv4Addr>().is_ok() && *len <= 32,
                "{net}"
            );
        }
    }
}
