//! The human-readable summary: a headline, verdicts, calls, findings, then a flows table.

use super::{esc, FlowFilter};
use std::fmt::Write;
use voipwatch_core::model::Status;
use voipwatch_core::report::message::{
    caveat, lead_finding, render as render_message, word, Lang, Message, Param,
};
use voipwatch_core::report::{FlowReport, Report};

/// With `--flows auto`, list every flow up to this many.
pub const AUTO_MAX_ROWS: usize = 40;

const VOIP_PROTOCOLS: &[&str] = &[
    "stun", "turn", "rtp", "rtcp", "srtp", "dtls", "sip", "sdp", "h323", "mgcp", "megaco", "iax",
    "skinny",
];

fn is_voip(f: &FlowReport) -> bool {
    f.app.is_some()
        || f.service == voipwatch_core::classify::Service::Call
        || f.protocols
            .iter()
            .any(|p| VOIP_PROTOCOLS.contains(&p.as_str()))
}

fn is_problem(f: &FlowReport, flagged: &[u32]) -> bool {
    flagged.contains(&f.id)
        || matches!(
            f.conn_state,
            "S0" | "REJ" | "RSTO" | "RSTR" | "RSTOS0" | "RSTRH" | "SH" | "SHR"
        ) && !(f.transport == "udp" && f.conn_state == "S0" && !is_voip(f))
}

/// Thousands separators for counts.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An endpoint as the table shows it: ICMP and other portless transports without the port.
fn endpoint(f: &FlowReport, addr: &str) -> String {
    if matches!(f.transport, "tcp" | "udp") {
        return addr.to_string();
    }
    match addr.parse::<std::net::SocketAddr>() {
        Ok(a) => a.ip().to_string(),
        Err(_) => addr.to_string(),
    }
}

/// Bytes with a binary-free SI unit (kB = 1000 B), as network people count.
pub fn size(n: u64) -> String {
    let f = n as f64;
    if f >= 1e9 {
        format!("{:.1} GB", f / 1e9)
    } else if f >= 1e6 {
        format!("{:.1} MB", f / 1e6)
    } else if f >= 1e3 {
        format!("{:.1} kB", f / 1e3)
    } else {
        format!("{n} B")
    }
}

/// A duration in words: "850 ms", "14.2 s", "2 min 14 s", "1 h 03 min".
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "?".into();
    }
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        let s = secs.round() as u64;
        format!("{} min {} s", s / 60, s % 60)
    } else {
        let m = (secs / 60.0).round() as u64;
        format!("{} h {:02} min", m / 60, m % 60)
    }
}

/// UTC date-time of a Unix timestamp, "2016-01-07 14:03:22 UTC" (no time-zone database needed).
pub fn utc(ts: f64) -> String {
    if !ts.is_finite() {
        return "?".into();
    }
    let secs = ts.floor() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A number as [`count`], [`size`] or [`duration`] printed it, in `lang`'s typography: French
/// groups thousands with a narrow no-break space and writes the decimal comma.
fn num_in(s: String, lang: Lang) -> String {
    if lang != Lang::Fr {
        return s;
    }
    s.chars()
        .map(|c| match c {
            ',' => '\u{202f}',
            '.' => ',',
            c => c,
        })
        .collect()
}

/// The CLI message `id` in `lang`, its parameters given as text already escaped.
fn say(id: &'static str, lang: Lang, params: &[(&'static str, String)]) -> String {
    let m = Message {
        id,
        params: params
            .iter()
            .map(|(k, v)| (*k, Param::Text(v.clone())))
            .collect(),
    };
    render_message(&m, lang).unwrap_or_else(|| id.to_string())
}

/// "1 packet", "1,234 packets" in `lang` (`noun` names the ids `cli.<noun>` and `cli.<noun>s`).
fn counted_in(n: u64, noun: &str, lang: Lang) -> String {
    let id = if n == 1 {
        format!("cli.{noun}")
    } else {
        format!("cli.{noun}s")
    };
    format!("{} {}", num_in(count(n), lang), word(&id, lang))
}

fn call_phrase(c: &voipwatch_core::report::Call, lang: Lang) -> String {
    let mut parts = Vec::new();
    if let Some(kind) = c.media.kind {
        parts.push(kind.as_str().to_string());
    }
    parts.push(num_in(duration(c.last_ts - c.first_ts), lang));
    match (c.media.mos, c.media.mos_in, c.media.mos_out) {
        // The two directions differ by a grade: say which one was bad.
        (Some(_), Some(i), Some(o)) if (i - o).abs() >= 1.0 => {
            parts.push(say(
                "cli.mos_dirs",
                lang,
                &[("in", format!("{i:.1}")), ("out", format!("{o:.1}"))],
            ));
        }
        (Some(mos), _, _) => parts.push(format!("MOS {mos:.1}")),
        _ => {}
    }
    let mut s = format!("{} ({})", c.app.name(), parts.join(", "));
    if c.status != Status::Ok {
        let _ = write!(
            s,
            " [{}]",
            word(&format!("status.{}", c.status.as_str()), lang).to_uppercase()
        );
    }
    s
}

/// `m` rendered in `lang` with its text parameters (names and addresses from the capture)
/// escaped for the terminal first; the template's own characters (bidi isolates in Arabic) stay.
fn localized(m: &Message, lang: Lang) -> Option<String> {
    let mut m = m.clone();
    for p in m.params.values_mut() {
        if let Param::Text(t) = p {
            *t = esc(t).into_owned();
        }
    }
    render_message(&m, lang)
}

/// The colon after a label: French sets it off with a no-break space.
fn colon(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => "\u{a0}:",
        _ => ":",
    }
}

/// The summary in `lang`. English keeps the engine's detailed sentences; French and Arabic
/// give the plain-language messages (verdict headline, the finding that carries it, and what
/// else could explain it) from the core's message table.
pub fn render_lang(r: &Report, filter: FlowFilter, lang: Lang) -> String {
    let mut s = String::new();
    let c = &r.capture;
    let span = match (c.first_ts, c.last_ts) {
        (Some(a), Some(b)) => format!(
            ", {}",
            say(
                "cli.span",
                lang,
                &[("dur", num_in(duration(b - a), lang)), ("start", utc(a))]
            )
        ),
        _ => String::new(),
    };
    let format = match c.format {
        Some(voipwatch_core::capture::Format::Pcap) => "pcap",
        Some(voipwatch_core::capture::Format::Pcapng) => "pcapng",
        None => word("cli.unknown_format", lang),
    };
    let _ = writeln!(
        s,
        "{}: {}{}, {} ({}), {}{}",
        esc(&c.name),
        format,
        if c.linktypes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", c.linktypes.join(", "))
        },
        counted_in(c.packets, "packet", lang),
        num_in(size(c.bytes), lang),
        counted_in(c.flows, "flow", lang),
        span
    );
    if !c.complete {
        let _ = writeln!(
            s,
            "{}",
            say(
                "cli.incomplete",
                lang,
                &[(
                    "error",
                    esc(c.error.as_deref().unwrap_or("early")).into_owned()
                )]
            )
        );
        if lang != Lang::En {
            if let Some(m) = c.error_message.as_ref().and_then(|m| localized(m, lang)) {
                let _ = writeln!(s, "{m}");
            }
        }
    }

    // Limits that cut evidence come before the verdicts they made inconclusive.
    for l in &c.limits {
        let flows = match l.flow_count {
            0 => String::new(),
            n => format!(" ({})", counted_in(n, "flow", lang)),
        };
        // English keeps the engine's detailed sentence; French and Arabic the message.
        let effect = if lang == Lang::En {
            format!("{}.", l.effect)
        } else {
            localized(&l.message(), lang).unwrap_or_else(|| format!("{}.", l.effect))
        };
        let _ = writeln!(
            s,
            "{} {} = {}{flows}{} {effect}",
            word("cli.limit", lang),
            l.limit,
            num_in(count(l.max), lang),
            colon(lang)
        );
    }

    // Verdicts first: the answer to the user's question.
    if lang != Lang::En {
        if r.verdicts.is_empty() {
            let _ = writeln!(s, "\n{}", word("label.no_verdict", lang));
        } else {
            let _ = writeln!(s, "\n{}{}", word("label.verdicts", lang), colon(lang));
        }
        for v in &r.verdicts {
            let head =
                localized(&v.message(), lang).unwrap_or_else(|| esc(&v.summary).into_owned());
            let lead = lead_finding(&r.findings, v).and_then(|i| r.findings.get(i));
            let why = lead
                .and_then(|f| localized(&f.message(), lang))
                .map(|t| format!(" {t}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  {:<13} {}{}",
                word(&format!("status.{}", v.status.as_str()), lang).to_uppercase(),
                head,
                why
            );
            if let Some(c) = lead.and_then(|f| caveat(f.kind, lang)) {
                let _ = writeln!(
                    s,
                    "                {}{} {c}",
                    word("label.caveat", lang),
                    colon(lang)
                );
            }
        }
    } else if r.verdicts.is_empty() {
        let _ = writeln!(
            s,
            "\nVerdict: no call app seen, and no blocking or throttling found."
        );
    } else {
        let _ = writeln!(s, "\nVerdicts:");
        for v in &r.verdicts {
            let _ = writeln!(
                s,
                "  {:<13} {:<12} {}",
                v.status.as_str().to_uppercase(),
                v.app.name(),
                esc(&v.summary)
            );
        }
    }

    if !r.calls.is_empty() {
        let n = r.calls.len();
        let list: Vec<String> = r.calls.iter().map(|c| call_phrase(c, lang)).collect();
        let id = if n == 1 {
            "cli.calls.one"
        } else {
            "cli.calls.many"
        };
        let _ = writeln!(
            s,
            "\n{}",
            say(id, lang, &[("n", n.to_string()), ("list", list.join("; "))])
        );
    }

    if !r.findings.is_empty() {
        let _ = writeln!(
            s,
            "\n{} ({}){}",
            word("label.findings", lang),
            r.findings.len(),
            colon(lang)
        );
        for (i, f) in r.findings.iter().enumerate() {
            let flow = f
                .flow
                .map(|id| say("cli.finding_flow", lang, &[("id", id.to_string())]))
                .unwrap_or_else(|| word("cli.finding_capture", lang).to_string());
            let pk: Vec<String> = f.packets.iter().take(8).map(|p| p.to_string()).collect();
            let more = if f.packets.len() > 8 {
                format!(" +{}", f.packets.len() - 8)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "  #{i} [{}] {} ({}, {} {}): {}{}",
                word(&format!("severity.{}", f.severity), lang),
                f.kind,
                flow,
                word("cli.confidence", lang),
                num_in(format!("{:.2}", f.confidence), lang),
                if lang == Lang::En {
                    esc(&f.summary).into_owned()
                } else {
                    localized(&f.message(), lang).unwrap_or_else(|| esc(&f.summary).into_owned())
                },
                if pk.is_empty() {
                    String::new()
                } else {
                    format!(" — {} {}{more}", word("cli.frames", lang), pk.join(", "))
                }
            );
            if let Some(filter) = &f.filter {
                let _ = writeln!(
                    s,
                    "      {}{} {}",
                    word("cli.wireshark_filter", lang),
                    colon(lang),
                    esc(filter)
                );
            }
        }
    }

    let trouble: Vec<String> = c
        .decode_errors
        .iter()
        .map(|(k, v)| format!("{} ×{}", esc(k), num_in(count(*v), lang)))
        .chain(
            c.anomalies
                .iter()
                .map(|(k, v)| format!("{} ×{}", esc(k), num_in(count(*v), lang))),
        )
        .collect();
    if !trouble.is_empty() {
        let _ = writeln!(
            s,
            "\n{}",
            say("cli.decoding_notes", lang, &[("list", trouble.join(", "))])
        );
    }
    if c.anomalies.keys().any(|k| k.contains("checksum")) {
        let _ = writeln!(s, "{}", word("cli.checksum_note", lang));
    }
    if c.untracked_packets > 0 {
        let _ = writeln!(
            s,
            "{}",
            say(
                "cli.flow_cap",
                lang,
                &[("n", num_in(count(c.untracked_packets), lang))]
            )
        );
    }

    let flagged: Vec<u32> = r.findings.iter().filter_map(|f| f.flow).collect();
    let (rows, label): (Vec<&FlowReport>, &str) = match filter {
        FlowFilter::All => (r.flows.iter().collect(), "cli.which.all"),
        FlowFilter::Voip => (
            r.flows.iter().filter(|f| is_voip(f)).collect(),
            "cli.which.voip",
        ),
        FlowFilter::Problems => (
            r.flows.iter().filter(|f| is_problem(f, &flagged)).collect(),
            "cli.which.problem",
        ),
        FlowFilter::Auto if r.flows.len() <= AUTO_MAX_ROWS => {
            (r.flows.iter().collect(), "cli.which.all")
        }
        FlowFilter::Auto => (
            r.flows
                .iter()
                .filter(|f| is_voip(f) || is_problem(f, &flagged))
                .collect(),
            "cli.which.voip_problem",
        ),
    };
    let _ = writeln!(
        s,
        "\n{}",
        say(
            "cli.flows_heading",
            lang,
            &[
                ("shown", rows.len().to_string()),
                ("which", word(label, lang).to_string()),
                ("total", r.flows.len().to_string()),
            ]
        )
    );
    let table: Vec<[String; 10]> = rows.iter().map(|f| flow_row(f, &flagged, lang)).collect();
    let header = [
        "id", "l4", "client", "server", "packets", "bytes", "duration", "state", "history", "what",
    ]
    .map(|c| word(&format!("cli.col.{c}"), lang).to_string());
    if !table.is_empty() {
        // Column widths fit the data, so IPv4-only captures stay narrow.
        let mut w = [0usize; 10];
        for row in std::iter::once(&header).chain(table.iter()) {
            for (i, cell) in row.iter().enumerate() {
                w[i] = w[i].max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(table.iter()) {
            let mut line = String::from(" ");
            for (i, cell) in row.iter().enumerate() {
                let pad = w[i].saturating_sub(cell.chars().count());
                let right = matches!(i, 0 | 4 | 5 | 6);
                line.push(' ');
                if right {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else if i == 9 {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            let _ = writeln!(s, "{}", line.trim_end());
        }
    }
    s
}

fn flow_row(f: &FlowReport, flagged: &[u32], lang: Lang) -> [String; 10] {
    let mut what: Vec<String> = Vec::new();
    if let Some(app) = f.app {
        // The app table's name; an id it does not know is shown as it is.
        what.push(app.name().to_string());
    }
    if f.service == voipwatch_core::classify::Service::Call {
        what.push(word("cli.call", lang).to_string());
    }
    if !f.protocols.is_empty() {
        let ids: Vec<&str> = f.protocols.iter().map(|p| p.as_str()).collect();
        what.push(ids.join("+"));
    }
    if let Some(sni) = &f.sni {
        what.push(format!("sni={}", esc(sni)));
    }
    if flagged.contains(&f.id) {
        what.push(format!("⚑ {}", word("cli.see_findings", lang)));
    }
    let mut history = f.history.clone();
    if history.chars().count() > 12 {
        history = history.chars().take(11).collect::<String>() + "…";
    }
    [
        f.id.to_string(),
        f.transport.to_string(),
        endpoint(f, &f.client),
        endpoint(f, &f.server),
        num_in(
            format!("{}/{}", count(f.packets.c2s), count(f.packets.s2c)),
            lang,
        ),
        num_in(format!("{}/{}", size(f.bytes.c2s), size(f.bytes.s2c)), lang),
        num_in(duration(f.duration), lang),
        f.conn_state.to_string(),
        history,
        what.join(" "),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_matches_known_dates() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_452_175_402.7), "2016-01-07 14:03:22 UTC");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn counts_and_sizes_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1_500_000), "1.5 MB");
        assert_eq!(duration(134.0), "2 min 14 s");
        assert_eq!(duration(0.25), "250 ms");
    }

    /// Issue 13: a limit that cut evidence is printed before the verdicts.
    #[test]
    fn limits_are_printed_before_verdicts() {
        let mut r = voipwatch_core::analyzer::analyze_bytes(Default::default(), b"");
        r.capture.limits.push(voipwatch_core::report::Limit {
            limit: "packets_per_flow",
            max: 360_000,
            flow_count: 2,
            flows: vec![3, 9],
            dropped: 10,
            effect: "the packet log kept the first and the last packets".into(),
        });
        let text = render_lang(&r, FlowFilter::Auto, Lang::En);
        let at = text
            .find("LIMIT packets_per_flow = 360,000 (2 flows): the packet log kept the first and the last packets.")
            .unwrap_or_else(|| panic!("{text}"));
        assert!(at < text.find("Verdicts:").unwrap_or(usize::MAX), "{text}");
        assert!(
            text.contains("inconclusive: the file could not be read"),
            "{text}"
        );
    }

    /// Issue 15: with `--lang`, the LIMIT line says what the cut means in that language.
    #[test]
    fn limit_lines_follow_the_language() {
        let mut r = voipwatch_core::analyzer::analyze_bytes(Default::default(), b"");
        r.capture.limits.push(voipwatch_core::report::Limit {
            limit: "rtt_samples_per_flow",
            max: 10_000,
            flow_count: 1,
            flows: vec![3],
            dropped: 0,
            effect: "later RTT samples were dropped; RTT facts come from the first ones".into(),
        });
        let fr = render_lang(&r, FlowFilter::Auto, Lang::Fr);
        assert!(
            fr.contains("LIMITE rtt_samples_per_flow = 10\u{202f}000 (1 flux)\u{a0}: Les mesures de temps aller-retour suivantes de 1 flux ont été écartées"),
            "{fr}"
        );
        let ar = render_lang(&r, FlowFilter::Auto, Lang::Ar);
        assert!(ar.contains("أُسقطت قياسات زمن الذهاب والإياب"), "{ar}");
        assert!(!ar.contains("later RTT samples"), "{ar}");
    }
}
