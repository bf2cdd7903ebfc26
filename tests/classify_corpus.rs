//! Classification against nDPI's labels on its test-suite captures (`../shared/corpus/ndpi`),
//! the Rust twin of `../shared/corpus/score.py` (same groups, same mapping, same matching on
//! transport + unordered endpoints, the last flow of a 5-tuple winning as in the script), and
//! RTP stream metrics against `tshark -q -z rtp,streams`.
//!
//! The thresholds asserted are the ones reached (docs/classification.md explains every miss
//! and every "false call", several of which are nDPI labelling by address owner where the
//! payload says otherwise). Skips cleanly when the corpus is absent.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use voipwatch_core::analyzer::{analyze_bytes, Config};
use voipwatch_core::model::Service;
use voipwatch_core::report::Report;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/ndpi");
    dir.join("labels.csv").is_file().then_some(dir)
}

const APP: &[(&str, &str)] = &[
    ("WhatsAppCall", "whatsapp"),
    ("WhatsApp", "whatsapp"),
    ("Skype_TeamsCall", "skype_teams"),
    ("Skype_Teams", "skype_teams"),
    ("Teams", "skype_teams"),
    ("SkypeCall", "skype_teams"),
    ("Zoom", "zoom"),
    ("GoogleCall", "google_meet"),
    ("GoogleMeet", "google_meet"),
    ("SignalVoip", "signal"),
    ("Signal", "signal"),
    ("TelegramVoip", "telegram"),
    ("Telegram", "telegram"),
    ("ViberVoip", "viber"),
    ("Viber", "viber"),
    ("FacebookVoip", "messenger"),
    ("FacebookMessenger", "messenger"),
    ("Discord", "discord"),
    ("IMO", "imo"),
    ("LineCall", "line"),
    ("Line", "line"),
    ("KakaoTalk_Voice", "kakaotalk"),
    ("KakaoTalk", "kakaotalk"),
    ("SnapchatCall", "snapchat"),
    ("Webex", "webex"),
    ("WeChat", "wechat"),
];
const CALL_APPS: &[&str] = &[
    "whatsapp",
    "skype_teams",
    "zoom",
    "google_meet",
    "signal",
    "telegram",
    "viber",
    "messenger",
    "discord",
    "imo",
    "line",
    "kakaotalk",
    "snapchat",
    "facetime",
    "webex",
];
const CALL_NAMES: &[&str] = &[
    "WhatsAppCall",
    "Skype_TeamsCall",
    "SkypeCall",
    "GoogleCall",
    "SignalVoip",
    "TelegramVoip",
    "ViberVoip",
    "FacebookVoip",
    "IMO",
    "LineCall",
    "KakaoTalk_Voice",
    "SnapchatCall",
];
const UDP_MEDIA_APPS: &[&str] = &["Zoom", "Discord", "Telegram", "Viber"];
const PROTO: &[(&str, &str)] = &[
    ("SIP", "sip"),
    ("RTP", "rtp"),
    ("RTCP", "rtcp"),
    ("SRTP", "rtp"),
    ("STUN", "stun"),
    ("DTLS", "dtls"),
    ("H323", "h323"),
    ("MGCP", "mgcp"),
    ("Megaco", "megaco"),
    ("IAX", "iax"),
    ("CiscoSkinny", "skinny"),
];
const NOT_UNRELATED: &[&str] = &[
    "Unknown",
    "Facebook",
    "Google",
    "Azure",
    "Microsoft",
    "Apple",
    "AmazonAWS",
    "Tencent",
    "QUIC",
    "TLS",
    "HTTP",
];

fn lookup(t: &[(&str, &'static str)], k: &str) -> Option<&'static str> {
    t.iter().find(|(a, _)| *a == k).map(|(_, b)| *b)
}

fn split_label(proto: &str) -> (Option<&str>, &str) {
    let parts: Vec<&str> = proto.split('.').collect();
    if parts.len() == 2 {
        (Some(parts[0]), parts[1])
    } else {
        (None, parts[0])
    }
}

/// (group, expected) of one labelled flow, as score.py's `expectation`.
fn expectation(proto: &str, l4: &str) -> Option<(&'static str, &'static str)> {
    let (master, app) = split_label(proto);
    if master == Some("DNS") {
        return None;
    }
    if let Some(mapped) = lookup(APP, app) {
        let is_call = CALL_NAMES.contains(&app)
            || (l4 == "udp" && UDP_MEDIA_APPS.contains(&app))
            || matches!(master, Some("STUN" | "SRTP" | "DTLS"));
        return Some((if is_call { "calls" } else { "app_other" }, mapped));
    }
    for name in [master, Some(app)].into_iter().flatten() {
        if let Some(p) = lookup(PROTO, name) {
            return Some(("protocols", p));
        }
    }
    None
}

fn confident_unrelated(proto: &str, confidence: &str) -> bool {
    if confidence != "DPI" {
        return false;
    }
    let (master, app) = split_label(proto);
    let names: Vec<&str> = [master, Some(app)].into_iter().flatten().collect();
    !names.iter().any(|n| {
        lookup(APP, n).is_some() || lookup(PROTO, n).is_some() || NOT_UNRELATED.contains(n)
    })
}

/// Canonical endpoint (score.py's `norm`): parsed and printed by Rust's SocketAddr.
fn norm(ep: &str) -> String {
    ep.parse::<SocketAddr>()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| ep.to_string())
}

fn key(l4: &str, a: &str, b: &str) -> (String, BTreeSet<String>) {
    (
        l4.to_ascii_lowercase(),
        [norm(a), norm(b)].into_iter().collect(),
    )
}

#[derive(Default, Debug)]
struct Score {
    groups: BTreeMap<&'static str, (u32, u32)>,
    false_calls: u32,
    /// Flows of the same rows with `service: call` under a generic id or no app (`webrtc`,
    /// `voip`, `sip`, null): a call claimed without naming an app.
    generic_false_calls: u32,
    misses: Vec<String>,
}

fn score(dir: &Path) -> Score {
    let text = std::fs::read_to_string(dir.join("labels.csv")).expect("labels.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("column {name}"))
    };
    let (c_pcap, c_set, c_l4, c_src, c_dst, c_proto, c_conf) = (
        col("pcap"),
        col("set"),
        col("l4"),
        col("src"),
        col("dst"),
        col("proto"),
        col("confidence"),
    );
    let mut by_pcap: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for l in lines {
        let f: Vec<String> = l.split(',').map(str::to_string).collect();
        by_pcap.entry(f[c_pcap].clone()).or_default().push(f);
    }
    let mut s = Score::default();
    for (pcap, rows) in by_pcap {
        let path = dir.join("pcap").join(&pcap);
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        let report: Report = analyze_bytes(
            Config {
                name: pcap.clone(),
                ..Default::default()
            },
            &data,
        );
        let mut flows = BTreeMap::new();
        for f in &report.flows {
            flows.insert(key(f.transport, &f.client, &f.server), f);
        }
        for r in rows {
            let ours = flows.get(&key(&r[c_l4], &r[c_src], &r[c_dst]));
            let our_app = ours.and_then(|f| f.app).map(|a| a.as_str());
            if r[c_set] == "negative" || confident_unrelated(&r[c_proto], &r[c_conf]) {
                if our_app.is_some_and(|a| CALL_APPS.contains(&a)) {
                    s.false_calls += 1;
                    s.misses.push(format!(
                        "{pcap} {} {} <-> {}: false call {our_app:?}",
                        r[c_proto], r[c_src], r[c_dst]
                    ));
                } else if ours.is_some_and(|f| f.service == Service::Call) {
                    s.generic_false_calls += 1;
                    s.misses.push(format!(
                        "{pcap} {} {} <-> {}: false generic call {our_app:?}",
                        r[c_proto], r[c_src], r[c_dst]
                    ));
                }
                continue;
            }
            let Some((group, want)) = expectation(&r[c_proto], &r[c_l4].to_ascii_lowercase())
            else {
                continue;
            };
            let ok = if group == "protocols" {
                ours.is_some_and(|f| f.protocols.iter().any(|p| p.as_str() == want))
            } else {
                our_app == Some(want)
            };
            let g = s.groups.entry(group).or_default();
            g.1 += 1;
            if ok {
                g.0 += 1;
            } else {
                s.misses.push(format!(
                    "{pcap} {} {} <-> {}: want {want}, got app={our_app:?} protocols={:?}",
                    r[c_proto],
                    r[c_src],
                    r[c_dst],
                    ours.map(|f| f.protocols.iter().map(|p| p.as_str()).collect::<Vec<_>>())
                ));
            }
        }
    }
    s
}

#[test]
fn ndpi_corpus_scores() {
    let Some(dir) = corpus() else {
        eprintln!("skip: ../shared/corpus/ndpi absent");
        return;
    };
    let s = score(&dir);
    let ratio = |g: &str| {
        s.groups
            .get(g)
            .map(|(h, t)| f64::from(*h) / f64::from(*t))
            .unwrap_or(0.0)
    };
    let report = format!(
        "groups {:?}, false calls {}\n{}",
        s.groups,
        s.false_calls,
        s.misses.join("\n")
    );
    eprintln!("{report}");
    // Reached with the classifiers of this commit (docs/classification.md lists every miss).
    assert!(ratio("calls") >= 0.96, "calls {}\n{report}", ratio("calls"));
    assert!(
        ratio("protocols") >= 0.99,
        "protocols {}\n{report}",
        ratio("protocols")
    );
    assert!(
        ratio("app_other") >= 0.99,
        "app_other {}\n{report}",
        ratio("app_other")
    );
    // 4 Discord voice flows nDPI names i3D (by address owner) and 2 WhatsApp media-file TLS
    // flows (mmg-fna.whatsapp.net) in a negative capture: see docs/classification.md.
    assert!(
        s.false_calls <= 6,
        "false calls {}\n{report}",
        s.false_calls
    );
    // No call without a known app (WebRTC, plain RTP, H.323 …) on a non-call flow: gaming,
    // VPNs and plain DTLS stay non-calls (issue 11).
    assert_eq!(
        s.generic_false_calls, 0,
        "generic false calls {}\n{report}",
        s.generic_false_calls
    );
}

/// One RTP stream as `tshark -q -z rtp,streams` prints it:
/// (src, dst, ssrc, packets, lost, max jitter ms — None when tshark cannot tell, dynamic PT).
type Tshark = (String, String, u32, u64, i64, Option<f64>);

fn check_rtp(path: &Path, want: &[Tshark]) {
    let Ok(data) = std::fs::read(path) else {
        eprintln!("skip: {} absent", path.display());
        return;
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let report = analyze_bytes(
        Config {
            name,
            ..Default::default()
        },
        &data,
    );
    for (src, dst, ssrc, packets, lost, max_jitter) in want {
        let found = report.flows.iter().find_map(|f| {
            let dir = if f.client == *src && f.server == *dst {
                "c2s"
            } else if f.client == *dst && f.server == *src {
                "s2c"
            } else {
                return None;
            };
            f.rtp.iter().find(|s| s.ssrc == *ssrc && s.dir == dir)
        });
        let s = found.unwrap_or_else(|| {
            panic!(
                "{}: no RTP stream {src} -> {dst} ssrc {ssrc:#x}",
                path.display()
            )
        });
        assert_eq!(
            (s.packets, s.lost),
            (*packets, *lost),
            "{}: ssrc {ssrc:#x} packets/lost",
            path.display()
        );
        if let Some(mj) = max_jitter {
            let err = (s.max_jitter_ms - mj).abs() / mj.max(1e-9);
            assert!(
                err <= 0.10,
                "{}: ssrc {ssrc:#x} max jitter {} vs tshark {mj}",
                path.display(),
                s.max_jitter_ms
            );
        }
    }
}

fn stream(
    src: &str,
    dst: &str,
    ssrc: u32,
    packets: u64,
    lost: i64,
    max_jitter: Option<f64>,
) -> Tshark {
    (
        src.to_string(),
        dst.to_string(),
        ssrc,
        packets,
        lost,
        max_jitter,
    )
}

/// One row of `tshark -q -z rtp,streams` (Wireshark 4.x): src, dst, SSRC, payload name,
/// packets, lost, mean jitter (ms), max jitter (ms).
struct TsharkRow {
    src: String,
    dst: String,
    ssrc: u32,
    payload: String,
    packets: u64,
    lost: i64,
    mean_jitter: f64,
    max_jitter: f64,
}

/// Runs `tshark -r FILE -q -z rtp,streams -o rtp.heuristic_rtp:TRUE` and parses its table
/// (None when tshark is not installed).
fn tshark_rows(path: &Path) -> Option<Vec<TsharkRow>> {
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-q", "-z", "rtp,streams", "-o", "rtp.heuristic_rtp:TRUE"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut v = Vec::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() < 17 || !t[6].starts_with("0x") {
            continue;
        }
        let (Ok(ssrc), Ok(packets), Ok(lost), Ok(mean_jitter), Ok(max_jitter)) = (
            u32::from_str_radix(t[6].trim_start_matches("0x"), 16),
            t[8].parse(),
            t[9].parse(),
            t[15].parse(),
            t[16].parse(),
        ) else {
            continue;
        };
        v.push(TsharkRow {
            src: format!("{}:{}", t[2], t[3]),
            dst: format!("{}:{}", t[4], t[5]),
            ssrc,
            payload: t[7].to_string(),
            packets,
            lost,
            mean_jitter,
            max_jitter,
        });
    }
    Some(v)
}

/// Every RTP capture of the lab (`captures/`) and of `../shared/corpus` (nDPI's and the
/// reference captures).
fn rtp_captures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: u32) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut es: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        es.sort();
        for p in es {
            if p.is_dir() && depth < 4 {
                walk(&p, out, depth + 1);
            } else if p.extension().is_some_and(|e| e == "pcap" || e == "pcapng") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    walk(&root.join("captures"), &mut v, 3);
    walk(&root.join("../shared/corpus"), &mut v, 0);
    v
}

/// Values tshark printed once for nDPI's captures, checked without tshark installed.
#[test]
fn rtp_metrics_match_recorded_tshark_values() {
    let Some(dir) = corpus() else {
        eprintln!("skip: ../shared/corpus/ndpi absent");
        return;
    };
    check_rtp(
        &dir.join("pcap/sip.pcap"),
        &[stream(
            "192.168.1.2:30000",
            "212.242.33.36:40392",
            0x3796_CB71,
            9,
            0,
            Some(7.799),
        )],
    );
    check_rtp(
        &dir.join("pcap/rtp.pcapng"),
        &[
            stream(
                "10.204.220.71:6000",
                "10.204.220.171:6000",
                0x0000_1646,
                15,
                0,
                Some(1.431),
            ),
            // dynamic payload types: tshark has no clock rate, so only packets and loss
            stream(
                "10.140.67.167:55402",
                "148.153.85.97:6008",
                0xB809_74D8,
                29,
                0,
                None,
            ),
            stream(
                "150.219.118.19:54234",
                "192.113.193.227:50003",
                0x001A_7E73,
                7,
                0,
                None,
            ),
            stream(
                "192.113.193.227:50003",
                "150.219.118.19:54234",
                0x001A_757D,
                6,
                0,
                None,
            ),
        ],
    );
}

/// Issue 11: on every RTP stream tshark measures (a static payload type, so it knows the
/// clock) packets and loss equal ours and mean and max jitter are within 0.1 ms. Streams of
/// dynamic payload types (tshark prints no jitter without an SDP) and tshark's heuristic
/// one-off matches on non-RTP datagrams (fewer than 10 packets, or more lost than received)
/// are only checked when we also report them.
#[test]
fn rtp_metrics_match_tshark() {
    if std::process::Command::new("tshark")
        .arg("-v")
        .output()
        .is_err()
    {
        eprintln!("skip: tshark not installed");
        return;
    }
    if corpus().is_none() {
        eprintln!("skip: ../shared/corpus absent (only the lab captures are compared)");
    }
    let (mut compared, mut failures) = (0, Vec::new());
    for path in rtp_captures() {
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        let report = analyze_bytes(Config::default(), &data);
        // tshark only where we saw RTP or the signalling that announces it (it takes ~0.4 s
        // a file; the 250 others hold no RTP stream tshark measures).
        let media = report.flows.iter().any(|f| {
            !f.rtp.is_empty()
                || f.protocols
                    .iter()
                    .any(|p| matches!(p.as_str(), "rtp" | "sip" | "sdp"))
        });
        if !media {
            continue;
        }
        let Some(rows) = tshark_rows(&path) else {
            continue;
        };
        let rows: Vec<&TsharkRow> = rows
            .iter()
            .filter(|r| !r.payload.starts_with("RTPType") && r.max_jitter >= 0.0)
            .collect();
        for r in rows {
            let ours = report.flows.iter().find_map(|f| {
                let dir = if f.client == r.src && f.server == r.dst {
                    "c2s"
                } else if f.client == r.dst && f.server == r.src {
                    "s2c"
                } else {
                    return None;
                };
                f.rtp.iter().find(|s| s.ssrc == r.ssrc && s.dir == dir)
            });
            let name = format!(
                "{} {} -> {} ssrc {:#x} ({})",
                path.display(),
                r.src,
                r.dst,
                r.ssrc,
                r.payload
            );
            let Some(s) = ours else {
                if r.packets >= 10 && r.lost >= 0 && r.lost < r.packets as i64 {
                    failures.push(format!("{name}: no such stream in our report"));
                }
                continue;
            };
            compared += 1;
            if (s.packets, s.lost) != (r.packets, r.lost)
                || (s.mean_jitter_ms - r.mean_jitter).abs() > 0.1
                || (s.max_jitter_ms - r.max_jitter).abs() > 0.1
            {
                failures.push(format!(
                    "{name}: ours packets {} lost {} mean {} max {}; tshark {} {} {} {}",
                    s.packets,
                    s.lost,
                    s.mean_jitter_ms,
                    s.max_jitter_ms,
                    r.packets,
                    r.lost,
                    r.mean_jitter,
                    r.max_jitter
                ));
            }
        }
    }
    eprintln!("compared {compared} RTP streams with tshark");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compared >= 10, "only {compared} streams compared");
}

#[test]
fn expectation_mapping_matches_score_py() {
    assert_eq!(
        expectation("STUN.WhatsAppCall", "udp"),
        Some(("calls", "whatsapp"))
    );
    assert_eq!(expectation("Zoom", "udp"), Some(("calls", "zoom")));
    assert_eq!(expectation("TLS.Zoom", "tcp"), Some(("app_other", "zoom")));
    assert_eq!(expectation("DNS.Zoom", "udp"), None);
    assert_eq!(expectation("SRTP", "udp"), Some(("protocols", "rtp")));
    assert!(confident_unrelated("BitTorrent", "DPI"));
    assert!(!confident_unrelated("TLS.Google", "DPI"));
    assert_eq!(norm("[2001:db8:0::1]:443"), "[2001:db8::1]:443");
}

/// A generated SIP call whose audio is a dynamic payload type (opus, PT 111, 48 kHz) named
/// only by the SDP `a=rtpmap`, both ways, with arrival jitter and one lost packet.
fn sdp_opus_call() -> Vec<u8> {
    use crate::util::{frame, pcap};
    use std::net::Ipv4Addr;
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    let sdp = |ip: &str, port: u16| {
        format!(
            "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 111 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/48000\r\na=ptime:20\r\n"
        )
    };
    let sip = |first: &str, body: &str| {
        format!(
            "{first}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:alice@10.0.0.1>;tag=1\r\nTo: <sip:bob@10.0.0.2>{}\r\nCall-ID: opus-1@10.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@10.0.0.1:5060>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            if first.starts_with("SIP") { ";tag=2" } else { "" },
            body.len()
        )
    };
    let t0 = 1_700_000_000.0;
    let mut frames = vec![
        (
            t0,
            frame(
                17,
                (a, 5060),
                (b, 5060),
                None,
                sip("INVITE sip:bob@10.0.0.2 SIP/2.0", &sdp("10.0.0.1", 40000)).as_bytes(),
            ),
        ),
        (
            t0 + 0.05,
            frame(
                17,
                (b, 5060),
                (a, 5060),
                None,
                sip("SIP/2.0 200 OK", &sdp("10.0.0.2", 50000)).as_bytes(),
            ),
        ),
    ];
    for (src, dst, ssrc, start) in [
        ((a, 40000), (b, 50000), 0x0A11_CE00u32, t0 + 0.1),
        ((b, 50000), (a, 40000), 0x0B0B_0000u32, t0 + 0.107),
    ] {
        for i in 0..200u32 {
            if i == 57 {
                continue; // lost
            }
            let mut p = vec![0x80, if i == 0 { 0x80 | 111 } else { 111 }];
            p.extend_from_slice(&(i as u16).to_be_bytes());
            p.extend_from_slice(&(i * 960).to_be_bytes());
            p.extend_from_slice(&ssrc.to_be_bytes());
            p.extend_from_slice(&[0x5a; 60]);
            // Deterministic arrival offsets of 0–6.3 ms.
            let jitter = f64::from((i * 37 + ssrc % 5) % 8) * 0.9e-3;
            frames.push((
                start + f64::from(i) * 0.02 + jitter,
                frame(17, src, dst, None, &p),
            ));
        }
    }
    frames.sort_by(|x, y| x.0.total_cmp(&y.0));
    pcap(&frames)
}

/// Issue 11: a dynamic payload type takes its codec name and clock rate from the call's SDP
/// rtpmap, so its jitter is measured from the first packet — and equals tshark's, which reads
/// the same rtpmap (compared when tshark is installed).
#[test]
fn sdp_rtpmap_gives_dynamic_payload_types_their_clock() {
    let data = sdp_opus_call();
    let report = analyze_bytes(Config::default(), &data);
    let streams: Vec<_> = report
        .flows
        .iter()
        .flat_map(|f| f.rtp.iter().map(move |s| (f, s)))
        .collect();
    assert_eq!(streams.len(), 2, "two opus streams");
    for (f, s) in &streams {
        assert_eq!(s.codec.as_deref(), Some("opus"), "flow {}", f.id);
        assert_eq!((s.payload_type, s.clock_rate), (111, 48000));
        assert_eq!((s.packets, s.lost), (199, 1));
        assert!(
            s.max_jitter_ms > 0.5,
            "jitter measured: {}",
            s.max_jitter_ms
        );
    }
    if std::process::Command::new("tshark")
        .arg("-v")
        .output()
        .is_err()
    {
        eprintln!("skip the tshark comparison: tshark not installed");
        return;
    }
    let path = std::env::temp_dir().join(format!("voipwatch-sdp-opus-{}.pcap", std::process::id()));
    std::fs::write(&path, &data).expect("write temp capture");
    let rows = tshark_rows(&path).unwrap_or_default();
    if std::env::var_os("KEEP_SDP_OPUS").is_none() {
        let _ = std::fs::remove_file(&path);
    }
    assert_eq!(rows.len(), 2, "tshark's streams: {}", rows.len());
    for r in &rows {
        let (_, s) = streams
            .iter()
            .find(|(f, s)| {
                s.ssrc == r.ssrc
                    && ((s.dir == "c2s" && f.client == r.src)
                        || (s.dir == "s2c" && f.server == r.src))
            })
            .expect("tshark's stream is ours");
        assert_eq!((s.packets, s.lost), (r.packets, r.lost), "{}", r.payload);
        assert!(
            (s.mean_jitter_ms - r.mean_jitter).abs() <= 0.1
                && (s.max_jitter_ms - r.max_jitter).abs() <= 0.1,
            "ssrc {:#x} ({}): ours mean {} max {}; tshark {} {}",
            r.ssrc,
            r.payload,
            s.mean_jitter_ms,
            s.max_jitter_ms,
            r.mean_jitter,
            r.max_jitter
        );
    }
}
