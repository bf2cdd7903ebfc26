//! The live view: one [`Update`] per interval, drawn in the terminal or written as a JSON line.
//!
//! An update is built from the report of the bytes captured so far plus what only the live
//! capture knows: libpcap's drop counters, what the ring dropped, and per-flow throughput over
//! the last interval (the difference of each flow's byte counts between two updates).

use crate::render::text::{count, size};
use serde::Serialize;
use std::collections::BTreeMap;
use voipwatch_core::model::{App, FindingKind, Status};
use voipwatch_core::report::{Call, Report, Verdict};

/// A call counts as in progress while one of its packets is this recent (seconds before the
/// capture's last packet).
const LIVE_WINDOW_S: f64 = 3.0;
/// Flows listed per update, busiest first.
pub const MAX_FLOWS: usize = 12;

/// libpcap's counters (`pcap_stats`): received, dropped by the kernel for lack of buffer
/// space, dropped by the interface or its driver.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct PcapStats {
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
}

/// What `--ring` has dropped so far.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct RingStats {
    pub limit_bytes: u64,
    pub kept_packets: u64,
    pub dropped_packets: u64,
    pub dropped_bytes: u64,
    /// Timestamp (s since the epoch) of the newest dropped packet: the report starts after it.
    pub dropped_until_ts: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct CallView<'r> {
    #[serde(flatten)]
    pub call: &'r Call,
    /// Some packet of the call within the last few seconds of the capture.
    pub in_progress: bool,
}

#[derive(Debug, Serialize)]
pub struct FindingView {
    pub kind: FindingKind,
    pub flow: Option<u32>,
    pub ts: f64,
    pub status: Status,
    pub summary: String,
}

#[derive(Debug, Serialize)]
pub struct FlowView {
    pub id: u32,
    pub transport: &'static str,
    pub client: String,
    pub server: String,
    pub app: Option<App>,
    pub conn_state: &'static str,
    pub packets: u64,
    pub bytes: u64,
    /// Throughput over the last interval, IP-layer bits per second, each way.
    pub bps_c2s: u64,
    pub bps_s2c: u64,
}

/// One live update (`--format ndjson`: one line each, `"event": "update"`; the final line is
/// the report itself, as `voipwatch analyze --format ndjson` prints it).
#[derive(Debug, Serialize)]
pub struct Update<'r> {
    pub event: &'static str,
    pub seq: u64,
    pub interface: &'r str,
    pub elapsed_s: f64,
    pub pcap: PcapStats,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ring: Option<RingStats>,
    /// Packets in the analysed bytes (the file so far, or the ring's content).
    pub packets: u64,
    pub bytes: u64,
    pub flows_total: u64,
    pub calls: Vec<CallView<'r>>,
    pub verdicts: &'r [Verdict],
    pub findings: Vec<FindingView>,
    pub flows: Vec<FlowView>,
}

/// Bytes each way per flow at the previous update, to turn counts into rates.
pub type Counters = BTreeMap<(&'static str, String, String), (u64, u64)>;

pub struct Live<'a> {
    pub seq: u64,
    pub interface: &'a str,
    pub elapsed_s: f64,
    pub pcap: PcapStats,
    pub ring: Option<RingStats>,
}

/// Builds an update; `prev` (counters and seconds since) gives the rates and is replaced.
pub fn update<'r>(
    live: Live<'r>,
    report: &'r Report,
    prev: &mut Counters,
    dt_s: f64,
) -> Update<'r> {
    let end = report.capture.last_ts.unwrap_or(0.0);
    let mut next = Counters::new();
    let mut flows: Vec<FlowView> = report
        .flows
        .iter()
        .map(|f| {
            let key = (f.transport, f.client.clone(), f.server.clone());
            let (b0, b1) = prev.get(&key).copied().unwrap_or((0, 0));
            let rate = |now: u64, before: u64| -> u64 {
                if dt_s > 0.0 {
                    (now.saturating_sub(before) as f64 * 8.0 / dt_s).round() as u64
                } else {
                    0
                }
            };
            let v = FlowView {
                id: f.id,
                transport: f.transport,
                client: f.client.clone(),
                server: f.server.clone(),
                app: f.app,
                conn_state: f.conn_state,
                packets: f.packets.c2s + f.packets.s2c,
                bytes: f.bytes.c2s + f.bytes.s2c,
                bps_c2s: rate(f.bytes.c2s, b0),
                bps_s2c: rate(f.bytes.s2c, b1),
            };
            // A port reused within the capture: the later flow's counts are the ones kept.
            next.insert(key, (f.bytes.c2s, f.bytes.s2c));
            v
        })
        .collect();
    *prev = next;
    flows.sort_by(|a, b| {
        (b.bps_c2s + b.bps_s2c)
            .cmp(&(a.bps_c2s + a.bps_s2c))
            .then(b.bytes.cmp(&a.bytes))
            .then(a.id.cmp(&b.id))
    });
    flows.truncate(MAX_FLOWS);
    Update {
        event: "update",
        seq: live.seq,
        interface: live.interface,
        elapsed_s: (live.elapsed_s * 10.0).round() / 10.0,
        pcap: live.pcap,
        ring: live.ring,
        packets: report.capture.packets,
        bytes: report.capture.bytes,
        flows_total: report.capture.flows,
        calls: report
            .calls
            .iter()
            .map(|c| CallView {
                call: c,
                in_progress: end - c.last_ts <= LIVE_WINDOW_S,
            })
            .collect(),
        verdicts: &report.verdicts,
        findings: report
            .findings
            .iter()
            .map(|f| FindingView {
                kind: f.kind,
                flow: f.flow,
                ts: f.ts,
                status: f.severity.status(),
                summary: f.summary.clone(),
            })
            .collect(),
        flows,
    }
}

/// Bits per second in words.
fn bps(n: u64) -> String {
    let f = n as f64;
    if f >= 1e9 {
        format!("{:.1} Gbit/s", f / 1e9)
    } else if f >= 1e6 {
        format!("{:.1} Mbit/s", f / 1e6)
    } else if f >= 1e3 {
        format!("{:.1} kbit/s", f / 1e3)
    } else {
        format!("{n} bit/s")
    }
}

/// One line, for a log or a non-terminal stderr.
pub fn status_line(u: &Update<'_>) -> String {
    let mut s = format!(
        "{:>5.1} s  {} packets  {} flows  {} calls",
        u.elapsed_s,
        count(u.packets),
        count(u.flows_total),
        u.calls.len()
    );
    for v in u.verdicts {
        s.push_str(&format!("  {} {}: {}", v.app.name(), v.service, v.status));
    }
    s.push_str(&format!("  (libpcap dropped {})", count(u.pcap.dropped)));
    if let Some(r) = u.ring {
        s.push_str(&format!(", ring dropped {}", count(r.dropped_packets)));
    }
    s
}

/// The full view, for a terminal (redrawn in place by the caller).
pub fn render(u: &Update<'_>) -> String {
    let mut s = format!(
        "voipwatch capture on {} — {:.0} s — {} packets ({}) in {} flows — libpcap: {} received, {} dropped, {} dropped by the interface\n",
        u.interface,
        u.elapsed_s,
        count(u.packets),
        size(u.bytes),
        count(u.flows_total),
        count(u.pcap.received),
        count(u.pcap.dropped),
        count(u.pcap.if_dropped),
    );
    if let Some(r) = u.ring {
        s.push_str(&format!(
            "ring {}: {} packets dropped ({}); the analysis covers the kept part only\n",
            size(r.limit_bytes),
            count(r.dropped_packets),
            size(r.dropped_bytes)
        ));
    }
    s.push_str("\nVERDICTS\n");
    if u.verdicts.is_empty() {
        s.push_str("  (none yet)\n");
    }
    for v in u.verdicts {
        let head = format!("{} {}", v.app.name(), v.service);
        s.push_str(&format!(
            "  {:<20} {:<12} {}\n",
            head,
            v.status.as_str().to_uppercase(),
            crate::render::esc(&v.summary)
        ));
    }
    s.push_str("\nCALLS\n");
    if u.calls.is_empty() {
        s.push_str("  (none yet)\n");
    }
    for c in &u.calls {
        s.push_str(&format!(
            "  #{:<3} {:<12} {:<22} {:<12} {}\n",
            c.call.id,
            c.call.app.name(),
            c.call.client,
            c.call.status.as_str(),
            if c.in_progress {
                "in progress"
            } else {
                "ended"
            }
        ));
    }
    if !u.findings.is_empty() {
        s.push_str("\nFINDINGS\n");
        for f in u.findings.iter().rev().take(6) {
            s.push_str(&format!(
                "  {:<22} {}\n",
                f.kind.as_str(),
                crate::render::esc(&f.summary)
            ));
        }
    }
    s.push_str("\nFLOWS (busiest first)          up             down\n");
    for f in &u.flows {
        let name = f.app.map(|a| a.name()).unwrap_or("");
        s.push_str(&format!(
            "  {} {} → {}  {:<10} {:>14} {:>14}  {}\n",
            f.transport,
            f.client,
            f.server,
            name,
            bps(f.bps_c2s),
            bps(f.bps_s2c),
            f.conn_state
        ));
    }
    s.push_str("\nCtrl-C stops the capture and prints the report.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_13_live_view_escapes_capture_strings() {
        let u = Update {
            event: "update",
            seq: 1,
            interface: "eth0",
            elapsed_s: 1.0,
            pcap: PcapStats::default(),
            ring: None,
            packets: 2,
            bytes: 200,
            flows_total: 1,
            calls: Vec::new(),
            verdicts: &[],
            findings: vec![FindingView {
                kind: FindingKind::DnsBogon,
                flow: Some(0),
                ts: 0.0,
                status: Status::Blocked,
                summary: "answered \x1b[2Jx\r\nVERDICTS\u{202e}.whatsapp.net".into(),
            }],
            flows: Vec::new(),
        };
        let s = render(&u);
        assert!(
            s.contains("answered \\x1b[2Jx\\r\\nVERDICTS\\u{202e}.whatsapp.net"),
            "{s}"
        );
        assert!(!s.contains('\x1b') && !s.contains('\u{202e}') && !s.contains('\r'));
    }
}
