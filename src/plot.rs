//! `voipwatch analyze --plot DIR`: hand-made SVG charts, the page's pictures. One file per
//! flow a finding cites (`report.charts`: blocking and throttling alike), `flow-<id>.svg`:
//! throughput of both directions (top, with a throttling finding's estimated rate as a dashed
//! line) and the median RTT per bin (bottom) on ONE time axis, seconds since the capture
//! started; the loss episodes shaded across both panels, the span the packet log did not keep
//! hatched grey, and the flow's findings marked at their time. Every call also gets
//! `call-<id>.svg`, the two-lane timeline: what the call's client sent and what it received
//! over the call's time, one-way periods outlined, the call's blocking findings marked. The
//! SVG depends only on the report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use voipwatch_core::report::chart::FlowChart;
use voipwatch_core::Report;

const W: f64 = 860.0;
const H: f64 = 460.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 20.0;
/// Top and bottom of the throughput panel, then of the RTT panel.
const P1: (f64, f64) = (48.0, 270.0);
const P2: (f64, f64) = (318.0, 420.0);

/// Writes one SVG per charted flow and per call into `dir`; returns the files written.
pub fn write_plots(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    let cap_start = report.capture.first_ts.unwrap_or_default();
    for c in &report.charts {
        let flow = c.flow;
        let about: Vec<(usize, &voipwatch_core::report::Finding)> = report
            .findings
            .iter()
            .enumerate()
            .filter(|(_, g)| {
                g.flow == Some(flow) && g.severity != voipwatch_core::model::Severity::Info
            })
            .collect();
        let kinds: Vec<String> = about
            .iter()
            .map(|(i, g)| format!("#{i} {}", g.kind.as_str()))
            .collect();
        let rate = about.iter().find_map(|(_, g)| g.evidence.rate_bps());
        let marks: Vec<(f64, String)> =
            about.iter().map(|(i, g)| (g.ts, format!("#{i}"))).collect();
        let fr = report.flows.iter().find(|x| x.id == flow);
        let title = match fr {
            Some(x) => format!("flow {flow}: {} → {} ({})", x.client, x.server, x.transport),
            None => format!("flow {flow}"),
        };
        let svg = chart(&title, &kinds.join(", "), c, cap_start, rate, &marks);
        let path = dir.join(format!("flow-{flow}.svg"));
        std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    let cited: std::collections::BTreeSet<u32> = report
        .findings
        .iter()
        .filter(|f| f.severity != voipwatch_core::model::Severity::Info)
        .filter_map(|f| f.flow)
        .collect();
    if cited.len() > report.charts.len() {
        eprintln!(
            "voipwatch: --plot: {} more flows the findings cite have no chart (the report keeps the {} most severely flagged)",
            cited.len() - report.charts.len(),
            report.charts.len()
        );
    }
    for c in &report.calls {
        let svg = call_timeline(report, c);
        let path = dir.join(format!("call-{}.svg", c.id));
        std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The IP of a report endpoint (`1.2.3.4:5`, `[::1]:5`, or a bare address).
fn ip_of(endpoint: &str) -> &str {
    match endpoint.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.is_empty() => {
            let h = host.trim_start_matches('[').trim_end_matches(']');
            // A bare IPv6 address has colons but no brackets: keep it whole.
            if host.starts_with('[') || !h.contains(':') {
                h
            } else {
                endpoint
            }
        }
        _ => endpoint,
    }
}

/// Whether a stream of `flow` in direction `dir` was sent by the call's client.
fn sent_by_client(report: &Report, flow: u32, dir: &str, client: &str) -> bool {
    let Some(f) = report.flows.iter().find(|f| f.id == flow) else {
        return dir == "c2s";
    };
    let sender = if dir == "c2s" { &f.client } else { &f.server };
    ip_of(sender) == client
}

/// The two-lane timeline of one call (see the module docs).
pub fn call_timeline(report: &Report, c: &voipwatch_core::report::Call) -> String {
    const TW: f64 = 860.0;
    const TH: f64 = 170.0;
    const LANE: f64 = 34.0;
    const TOP: f64 = 40.0;
    let (t0, t1) = (c.first_ts, c.last_ts.max(c.first_ts + 1e-3));
    let x = |ts: f64| LEFT + (ts.clamp(t0, t1) - t0) / (t1 - t0) * (TW - LEFT - RIGHT);
    let lane_y = |sent: bool| if sent { TOP } else { TOP + LANE + 10.0 };
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{TW}" height="{TH}" viewBox="0 0 {TW} {TH}" font-family="sans-serif" font-size="12">
<rect width="{TW}" height="{TH}" fill="white"/>
<text x="{LEFT}" y="18" font-size="14" font-weight="bold">call {}: {} ({}) — packets each way over time</text>
"##,
        c.id,
        esc(c.app.name()),
        esc(&c.client),
    );
    for (sent, label) in [(true, "sent by"), (false, "received by")] {
        let y = lane_y(sent);
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{y}" width="{:.1}" height="{LANE}" fill="#f2f4f7"/>"##,
            TW - LEFT - RIGHT
        );
        let _ = writeln!(
            s,
            r##"<text x="6" y="{:.1}">{label}</text><text x="6" y="{:.1}" font-size="10">{}</text>"##,
            y + 14.0,
            y + 27.0,
            esc(&c.client)
        );
    }
    for st in &c.media.streams {
        let sent = sent_by_client(report, st.flow, st.dir, &c.client);
        let (a, b) = (x(st.first_ts), x(st.last_ts));
        let color = if sent { "#0b5cad" } else { "#b45309" };
        let _ = writeln!(
            s,
            r##"<rect class="span" x="{a:.1}" y="{:.1}" width="{:.1}" height="{LANE}" fill="{color}" fill-opacity="0.75"/>"##,
            lane_y(sent),
            (b - a).max(1.5)
        );
    }
    for p in &c.media.one_way {
        // `only` names the direction that still flowed; the other lane went silent.
        let silent_sent = !sent_by_client(report, p.flow, p.only, &c.client);
        let (a, b) = (x(p.start), x(p.end));
        let y = lane_y(silent_sent);
        let _ = writeln!(
            s,
            r##"<rect class="one-way" x="{a:.1}" y="{y:.1}" width="{:.1}" height="{LANE}" fill="none" stroke="#b91c1c" stroke-width="2" stroke-dasharray="5 3"/><text x="{:.1}" y="{:.1}" font-size="10" fill="#b91c1c">one direction only</text>"##,
            (b - a).max(2.0),
            a + 4.0,
            y + LANE - 4.0
        );
    }
    for (i, f) in report.findings.iter().enumerate() {
        let about =
            f.evidence.call() == Some(c.id) || f.flow.is_some_and(|id| c.flows.contains(&id));
        if !about || f.severity == voipwatch_core::model::Severity::Info {
            continue;
        }
        let at = x(f.ts);
        let _ = writeln!(
            s,
            r##"<line class="mark" x1="{at:.1}" x2="{at:.1}" y1="{:.1}" y2="{:.1}" stroke="#b91c1c" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" font-size="10">#{i} {}</text>"##,
            TOP - 4.0,
            TOP + 2.0 * LANE + 14.0,
            at + 3.0,
            TH - 22.0,
            f.kind.as_str()
        );
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" fill="#555">seconds since the call started: 0 – {:.1}</text>
</svg>
"##,
        TW - RIGHT,
        TH - 6.0,
        t1 - t0
    );
    s
}

fn nums(v: &[u64]) -> Vec<Option<f64>> {
    v.iter().map(|x| Some(*x as f64)).collect()
}

/// A "nice" axis maximum and tick step covering `max`.
fn nice(max: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (step * (max / step).ceil(), step)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn rate_label(bps: f64) -> String {
    if bps >= 1e6 {
        format!("{:.1} M", bps / 1e6)
    } else if bps >= 1e3 {
        format!("{:.0} k", bps / 1e3)
    } else {
        format!("{bps:.0}")
    }
}

/// Polyline points of a series in a panel.
fn points(
    ys: &[Option<f64>],
    x_of: &dyn Fn(usize) -> f64,
    top: f64,
    bottom: f64,
    ymax: f64,
) -> Vec<String> {
    ys.iter()
        .enumerate()
        .filter_map(|(i, y)| {
            y.map(|y| {
                format!(
                    "{:.1},{:.1}",
                    x_of(i),
                    bottom - (y / ymax).min(1.0) * (bottom - top)
                )
            })
        })
        .collect()
}

/// Renders one flow's chart (see the module docs): `cap_start` is the capture's first packet,
/// `marks` the flow's findings as (time, label).
pub fn chart(
    title: &str,
    kinds: &str,
    c: &FlowChart,
    cap_start: f64,
    rate: Option<f64>,
    marks: &[(f64, String)],
) -> String {
    let bin = c.bin_s.max(1e-6);
    let c2s = nums(&c.c2s_bps);
    let s2c = nums(&c.s2c_bps);
    let rtt = c.rtt_ms.clone();
    let n = c2s.len().max(s2c.len()).max(rtt.len()).max(1);
    // The shared time axis: seconds since the capture started, over the flow's span.
    let x0 = c.t0 - cap_start;
    let x1 = x0 + n as f64 * bin;
    let sx = |t: f64| LEFT + (t.clamp(x0, x1) - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let x_of = |i: usize| sx(x0 + (i as f64 + 0.5) * bin);
    let peak = c2s
        .iter()
        .chain(s2c.iter())
        .flatten()
        .copied()
        .fold(rate.unwrap_or(0.0), f64::max);
    let (ymax, ystep) = nice(peak);
    let (rmax, rstep) = nice(rtt.iter().flatten().copied().fold(0.0, f64::max));
    let (_, tstep) = nice(x1 - x0);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="{W}" height="{H}" fill="white"/>
<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{}</text>
<text x="{LEFT}" y="36" fill="#555">{}</text>
"##,
        esc(title),
        esc(kinds)
    );
    // Bands under everything: the unlogged span, then the loss episodes, across both panels.
    let band = |s: &mut String, a: f64, b: f64, fill: &str, class: &str| {
        for (top, bottom) in [P1, P2] {
            let _ = writeln!(
                s,
                r##"<rect class="{class}" x="{:.1}" y="{top}" width="{:.1}" height="{:.1}" fill="{fill}"/>"##,
                sx(a) - 1.0,
                (sx(b) - sx(a) + 2.0).max(2.0),
                bottom - top
            );
        }
    };
    if let Some([a, b]) = c.log_gap {
        band(&mut s, a - cap_start, b - cap_start, "#cbd5e1", "log-gap");
    }
    for l in &c.loss {
        band(
            &mut s,
            l.start - cap_start,
            l.end - cap_start,
            "#fca5a5",
            "loss",
        );
    }
    // Axes and grid.
    for (top, bottom, max, step, unit) in [
        (P1.0, P1.1, ymax, ystep, "bit/s"),
        (P2.0, P2.1, rmax, rstep, "RTT ms"),
    ] {
        let mut v = 0.0;
        while v <= max + step * 1e-9 {
            let y = bottom - v / max * (bottom - top);
            let label = if unit == "bit/s" {
                rate_label(v)
            } else {
                format!("{v:.0}")
            };
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
                W - RIGHT,
                LEFT - 6.0,
                y + 4.0
            );
            v += step;
        }
        let _ = writeln!(
            s,
            r##"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">{unit}</text>"##,
            (top + bottom) / 2.0,
            (top + bottom) / 2.0
        );
    }
    let mut t = (x0 / tstep).ceil() * tstep;
    while t <= x1 + tstep * 1e-9 {
        let x = sx(t);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#999"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            P2.1,
            P2.1 + 4.0,
            P2.1 + 18.0,
            (t * 1000.0).round() / 1000.0
        );
        t += tstep;
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">seconds since the capture started — red: packets lost ({} episodes{}){}</text>"##,
        (LEFT + W - RIGHT) / 2.0,
        H - 8.0,
        c.loss.len(),
        if c.loss_more > 0 {
            format!(", {} more lost", c.loss_more)
        } else {
            String::new()
        },
        if c.log_gap.is_some() {
            "; grey: not in the packet log, losses unknown"
        } else {
            ""
        }
    );
    // Data.
    for (ys, colour, name, dy) in [
        (&s2c, "#1f77b4", "server→client", 0.0),
        (&c2s, "#ff7f0e", "client→server", 16.0),
    ] {
        let pts = points(ys, &x_of, P1.0, P1.1, ymax);
        if !pts.is_empty() {
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                pts.join(" ")
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" fill="{colour}" text-anchor="end">{name}</text>"#,
            W - RIGHT - 4.0,
            P1.0 + 14.0 + dy
        );
    }
    if let Some(r) = rate {
        let y = P1.1 - (r / ymax).min(1.0) * (P1.1 - P1.0);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d62728" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" fill="#d62728">estimated rate {}bit/s</text>"##,
            W - RIGHT,
            LEFT + 6.0,
            y - 5.0,
            rate_label(r)
        );
    }
    let pts = points(&rtt, &x_of, P2.0, P2.1, rmax);
    if pts.is_empty() {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">no RTT samples</text>"##,
            (LEFT + W - RIGHT) / 2.0,
            (P2.0 + P2.1) / 2.0 + 4.0
        );
    } else {
        let _ = writeln!(
            s,
            r##"<polyline fill="none" stroke="#2ca02c" stroke-width="1.5" points="{}"/>"##,
            pts.join(" ")
        );
    }
    for (ts, label) in marks {
        let x = sx(ts - cap_start);
        let _ = writeln!(
            s,
            r##"<line class="mark" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="#b91c1c" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" font-size="10" fill="#b91c1c">{}</text>"##,
            P1.0,
            P2.1,
            x + 3.0,
            P1.0 + 12.0,
            esc(label)
        );
    }
    for (top, bottom) in [P1, P2] {
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{top}" width="{:.1}" height="{:.1}" fill="none" stroke="#333"/>"##,
            W - LEFT - RIGHT,
            bottom - top
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_draws_both_directions_rtt_rate_and_loss_on_one_axis() {
        let c = FlowChart {
            bin_s: 0.5,
            c2s_bps: vec![1000, 2000, 0],
            flow: 3,
            log_gap: None,
            loss: vec![voipwatch_core::report::chart::LossEpisode {
                dir: "s2c",
                end: 100.9,
                kind: "tcp",
                packets: 4,
                start: 100.6,
            }],
            loss_more: 0,
            rate_truncated: false,
            rtt_ms: vec![Some(10.0), None, Some(40.5)],
            s2c_bps: vec![900000, 1000000, 1000000],
            t0: 100.0,
        };
        let marks = [(100.7, "#0".to_string())];
        let svg = chart(
            "flow 3: a → b (tcp)",
            "#0 throttling_policer",
            &c,
            90.0,
            Some(1e6),
            &marks,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("estimated rate 1.0 Mbit/s"));
        assert!(svg.contains("a → b"));
        // One band per panel for the loss episode, the finding marked, time from the capture's start.
        assert_eq!(svg.matches("class=\"loss\"").count(), 2);
        assert_eq!(svg.matches("class=\"mark\"").count(), 1);
        assert!(
            svg.contains(">10.5</text>") || svg.contains(">11</text>"),
            "{svg}"
        );
        // Deterministic.
        assert_eq!(
            svg,
            chart(
                "flow 3: a → b (tcp)",
                "#0 throttling_policer",
                &c,
                90.0,
                Some(1e6),
                &marks
            )
        );
    }

    #[test]
    fn endpoints_give_their_ip() {
        assert_eq!(ip_of("10.0.0.1:443"), "10.0.0.1");
        assert_eq!(ip_of("[fd00::1]:5060"), "fd00::1");
        assert_eq!(ip_of("fd00::1"), "fd00::1");
        assert_eq!(ip_of("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn escapes_and_nice_axes() {
        assert_eq!(esc("<a&b>"), "&lt;a&amp;b&gt;");
        assert_eq!(nice(0.0), (1.0, 0.2));
        let (m, s) = nice(1_030_000.0);
        assert!(m >= 1_030_000.0 && (m / s).round() <= 6.0, "{m} {s}");
    }

    #[test]
    fn writes_one_file_per_flagged_flow_of_a_lab_capture() {
        let cap = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/policer_1mbit.pcap");
        let Ok(data) = std::fs::read(&cap) else {
            eprintln!("lab capture absent: skipped");
            return;
        };
        let report = voipwatch_core::analyzer::analyze_bytes(
            voipwatch_core::Config {
                name: "policer_1mbit.pcap".into(),
                ..Default::default()
            },
            &data,
        );
        let dir = std::env::temp_dir().join(format!("voipwatch-plot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = write_plots(&report, &dir).unwrap();
        assert_eq!(files.len(), 1, "{files:?}");
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        assert!(svg.contains("throttling_policer") && svg.contains("estimated rate"));
        assert!(
            svg.contains("class=\"loss\""),
            "the policer's losses are shaded"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
