//! `Report.charts`: a compact throughput/RTT-over-time series with its loss episodes for
//! every flow a finding cites (blocking and throttling alike, not `info`), so the page and
//! `voipwatch analyze --plot` draw the flows the findings are about from the report alone.
//!
//! * Throughput comes from the flow's rate bins ([`crate::flow::DirFacts::rate`]: IP bytes
//!   per 100 ms over every packet), summed into bins of 0.1, 0.2, 0.5, 1, 2, 5, … s so that a
//!   flow has at most [`MAX_BINS`] bins, as bit/s each way. `rate_truncated` says the rate
//!   series stopped early (a cap, listed in `capture.limits`): bins past it read 0 but are not
//!   silence.
//! * RTT is the median per bin of the flow's RTT samples of one direction: the one with the
//!   larger median when both have at least 3 samples (at the client, the data it sends
//!   measures the path; the data it receives measures only its own stack), else all samples.
//! * Loss episodes: TCP retransmissions and sequence holes (lost before the capture point) of
//!   the packet log — a hole counts the segments its sequence jump skipped — and RTP gaps, per direction, events closer than one bin merged;
//!   at most [`MAX_EPISODES`] per flow, `loss_more` counts the events past them. The packet
//!   log keeps a flow's first and last packets: `log_gap` is the time span it did not keep, in
//!   which TCP losses are unknown (not absent).
//!
//! Everything is a function of the flows, so the JSON stays deterministic (native = wasm).

use crate::flow::{obs, Dir, Flow};
use crate::label::LabeledFlow;
use crate::model::Severity;
use crate::report::Finding;
use crate::{secs, Nanos};
use serde::Serialize;

/// Most bins of a chart.
pub const MAX_BINS: usize = 240;
/// Most loss episodes of a chart.
pub const MAX_EPISODES: usize = 64;

/// One flow's chart (fields in the byte order of their JSON names).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowChart {
    pub bin_s: f64,
    pub c2s_bps: Vec<u64>,
    pub flow: u32,
    /// `[start, end]` (capture time, s) the packet log did not keep; `null` when it kept all.
    pub log_gap: Option<[f64; 2]>,
    pub loss: Vec<LossEpisode>,
    /// Loss events past the [`MAX_EPISODES`] episodes listed.
    pub loss_more: u64,
    pub rate_truncated: bool,
    /// Median RTT per bin, ms (`null` for a bin without a sample).
    pub rtt_ms: Vec<Option<f64>>,
    pub s2c_bps: Vec<u64>,
    /// Start of bin 0: the flow's first packet (capture time, s).
    pub t0: f64,
}

/// A run of losses in one direction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LossEpisode {
    /// Direction of the lost data ("c2s" or "s2c").
    pub dir: &'static str,
    pub end: f64,
    /// "tcp" (retransmissions and holes) or "rtp" (sequence gaps).
    pub kind: &'static str,
    /// Packets lost: TCP retransmissions plus the segments the holes skipped (a hole's bytes
    /// over the size of the segment after it), RTP sequence numbers missing.
    pub packets: u64,
    pub start: f64,
}

/// Most flows charted: a capture with thousands of flagged flows (a reset storm) would
/// otherwise carry thousands of series. Past it the most severely flagged flows are kept (the
/// lowest ids on ties); the page and `--plot` say how many cited flows have no chart.
pub const MAX_CHARTS: usize = 100;

/// The charts of the flows a non-`info` finding cites (at most [`MAX_CHARTS`]), by flow id.
pub fn charts(findings: &[Finding], flows: &[LabeledFlow], rate_bin: Nanos) -> Vec<FlowChart> {
    let mut cited: Vec<(u32, Severity)> = findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .filter_map(|f| f.flow.map(|id| (id, f.severity)))
        .collect();
    // Worst severity of each flow, then the worst flows first.
    cited.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    cited.dedup_by_key(|c| c.0);
    cited.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut ids: Vec<u32> = cited.iter().take(MAX_CHARTS).map(|c| c.0).collect();
    ids.sort_unstable();
    ids.iter()
        .filter_map(|id| {
            let i = flows.binary_search_by_key(id, |f| f.flow.id).ok()?;
            flows.get(i).map(|f| chart(f, rate_bin))
        })
        .collect()
}

fn dir_str(d: Dir) -> &'static str {
    match d {
        Dir::C2s => "c2s",
        Dir::S2c => "s2c",
    }
}

/// The chart of one flow (see the module docs).
pub fn chart(lf: &LabeledFlow, rate_bin: Nanos) -> FlowChart {
    let f: &Flow = &lf.flow;
    let rate_bin = rate_bin.max(1);
    let longest = f.dir.iter().map(|d| d.rate.len()).max().unwrap_or(0).max(1);
    // 1, 2, 5 × 10^k rate bins per chart bin.
    let mut k: usize = 1;
    let mut step: u32 = 0;
    while longest.div_ceil(k) > MAX_BINS {
        step += 1;
        let m = match step % 3 {
            1 => 2,
            2 => 5,
            _ => 1,
        };
        k = m * 10usize.saturating_pow(step / 3);
    }
    let n = longest.div_ceil(k);
    let bin = rate_bin.saturating_mul(k as Nanos);
    let bin_s = secs(bin);
    let bps = |d: Dir| -> Vec<u64> {
        let rate: &[u64] = f.dir.get(d.idx()).map_or(&[], |x| &x.rate);
        (0..n)
            .map(|i| {
                let bytes: u64 = rate.iter().skip(i * k).take(k).sum();
                ((bytes as f64) * 8.0 / bin_s).round() as u64
            })
            .collect()
    };
    let bin_of = |ts: Nanos| (ts.saturating_sub(f.first_ts).max(0) / bin) as usize;
    // RTT: one direction's samples (see the module docs).
    let pick = |d: Dir| -> Vec<(Nanos, Nanos)> {
        f.rtt
            .iter()
            .filter(|r| r.dir == d && r.rtt > 0)
            .map(|r| (r.ts, r.rtt))
            .collect()
    };
    let (a, b) = (pick(Dir::C2s), pick(Dir::S2c));
    let med = |v: &[(Nanos, Nanos)]| {
        let x: Vec<f64> = v.iter().map(|s| s.1 as f64).collect();
        crate::stats::median(&x).unwrap_or(0.0)
    };
    let samples = match (a.len() >= 3, b.len() >= 3) {
        (true, true) if med(&b) > med(&a) => b,
        (true, true) | (true, false) => a,
        (false, true) => b,
        (false, false) => a.into_iter().chain(b).collect(),
    };
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); n];
    for (ts, r) in samples {
        if let Some(v) = per.get_mut(bin_of(ts)) {
            v.push(r as f64 / 1e6);
        }
    }
    let rtt_ms = per
        .iter()
        .map(|v| crate::stats::median(v).map(|m| (m * 10.0).round() / 10.0))
        .collect();
    // Loss events in time order, per direction.
    // A retransmission is one packet lost; a hole counts the segments of its size that the
    // sequence jump skipped (its bytes over this segment's payload), when the packet before it
    // in the same direction is in the log.
    let mut events: Vec<(Dir, Nanos, u64, &'static str)> = Vec::new();
    let mut end: [Option<u32>; 2] = [None, None];
    for (i, p) in f.packets.iter().enumerate() {
        if f.log_gap == Some(i) {
            end = [None, None];
        }
        let slot = end.get_mut(p.dir.idx());
        let prev = slot.as_ref().and_then(|e| **e);
        if p.obs & obs::RETRANSMISSION != 0 {
            events.push((p.dir, p.ts, 1, "tcp"));
        } else if p.obs & obs::HOLE_OPENED != 0 {
            let gap = prev.map_or(0, |e| p.seq.wrapping_sub(e) as i32).max(0) as u64;
            let seg = u64::from(p.payload_len.max(1));
            events.push((p.dir, p.ts, gap.div_ceil(seg).max(1), "tcp"));
        }
        if p.payload_len > 0 && p.obs & obs::RETRANSMISSION == 0 {
            if let Some(e) = slot {
                *e = Some(p.seq.wrapping_add(p.payload_len));
            }
        }
    }
    for st in &lf.class.rtp {
        let d = if st.dir == "c2s" { Dir::C2s } else { Dir::S2c };
        for &(t, n) in &st.gaps {
            events.push((d, (t * 1e9).round() as Nanos, n, "rtp"));
        }
    }
    events.sort_by_key(|e| (e.0, e.1));
    let mut loss: Vec<LossEpisode> = Vec::new();
    let mut open: Option<(Dir, Nanos, Nanos, u64, &'static str)> = None;
    let mut loss_more = 0u64;
    let mut close = |e: (Dir, Nanos, Nanos, u64, &'static str), loss: &mut Vec<LossEpisode>| {
        if loss.len() < MAX_EPISODES {
            loss.push(LossEpisode {
                dir: dir_str(e.0),
                end: secs(e.2),
                kind: e.4,
                packets: e.3,
                start: secs(e.1),
            });
        } else {
            loss_more = loss_more.saturating_add(e.3);
        }
    };
    for (d, ts, n, kind) in events {
        match open {
            Some((od, s, e, c, k)) if od == d && k == kind && ts.saturating_sub(e) <= bin => {
                open = Some((od, s, ts.max(e), c.saturating_add(n), k));
            }
            _ => {
                if let Some(e) = open.take() {
                    close(e, &mut loss);
                }
                open = Some((d, ts, ts, n, kind));
            }
        }
    }
    if let Some(e) = open.take() {
        close(e, &mut loss);
    }
    loss.sort_by(|x, y| x.start.total_cmp(&y.start).then(x.dir.cmp(y.dir)));
    let log_gap = f.log_gap.and_then(|i| {
        let before = f.packets.get(i.checked_sub(1)?)?;
        let after = f.packets.get(i)?;
        Some([secs(before.ts), secs(after.ts)])
    });
    FlowChart {
        bin_s,
        c2s_bps: bps(Dir::C2s),
        flow: f.id,
        log_gap,
        loss,
        loss_more,
        rate_truncated: f.dir.iter().any(|d| d.rate_truncated),
        rtt_ms,
        s2c_bps: bps(Dir::S2c),
        t0: secs(f.first_ts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::{analyze_bytes, Config};

    fn lab(name: &str) -> Option<crate::Report> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../captures")
            .join(name);
        let Ok(data) = std::fs::read(&p) else {
            eprintln!("{} absent: skipped", p.display());
            return None;
        };
        Some(analyze_bytes(
            Config {
                name: name.into(),
                ..Default::default()
            },
            &data,
        ))
    }

    #[test]
    fn a_policed_flow_gets_its_chart_with_tcp_loss_episodes() {
        let Some(r) = lab("policer_1mbit.pcap") else {
            return;
        };
        let flagged = r
            .findings
            .iter()
            .find(|f| f.kind == crate::model::FindingKind::ThrottlingPolicer)
            .and_then(|f| f.flow)
            .expect("a policer finding");
        let c = r.charts.iter().find(|c| c.flow == flagged).expect("chart");
        assert!(c.c2s_bps.len() <= MAX_BINS && !c.s2c_bps.is_empty());
        assert_eq!(c.c2s_bps.len(), c.rtt_ms.len());
        assert!(c.loss.iter().any(|l| l.kind == "tcp"), "{:?}", c.loss);
        assert!(c.rtt_ms.iter().flatten().count() > 3);
        // Throughput near the policed 1 Mbit/s in its busiest direction.
        let peak = c
            .c2s_bps
            .iter()
            .chain(&c.s2c_bps)
            .max()
            .copied()
            .unwrap_or(0);
        assert!(peak > 500_000, "{peak}");
    }

    #[test]
    fn a_blocked_call_gets_its_chart_with_the_silence_visible() {
        let Some(r) = lab("udp_media_blackhole.pcap") else {
            return;
        };
        let flow = r
            .findings
            .iter()
            .find(|f| f.kind == crate::model::FindingKind::UdpMediaBlocked)
            .and_then(|f| f.flow)
            .expect("a blocking finding");
        let c = r.charts.iter().find(|c| c.flow == flow).expect("chart");
        // Media went both ways, then only one way: the last bins are empty in one direction.
        assert!(c.s2c_bps.iter().any(|&b| b > 0) && c.c2s_bps.iter().any(|&b| b > 0));
        let tail = c.s2c_bps.len().saturating_sub(20);
        assert!(
            c.s2c_bps.iter().skip(tail).all(|&b| b == 0)
                || c.c2s_bps.iter().skip(tail).all(|&b| b == 0)
        );
    }

    #[test]
    fn charts_are_capped_to_the_worst_flows() {
        let Some(r) = lab("policer_1mbit.pcap") else {
            return;
        };
        let f = r.findings.first().expect("a finding").clone();
        let many: Vec<Finding> = (0..(MAX_CHARTS as u32 + 5))
            .map(|i| Finding {
                flow: Some(i),
                severity: if i == MAX_CHARTS as u32 + 4 {
                    Severity::Blocked
                } else {
                    Severity::Degraded
                },
                ..f.clone()
            })
            .collect();
        let mut ids: Vec<u32> = many.iter().filter_map(|f| f.flow).collect();
        ids.dedup();
        // Only the flows present are charted; build fake flows from the capture's one.
        let data = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/policer_1mbit.pcap"),
        )
        .expect("read");
        let mut a = crate::analyzer::Analyzer::new(Config::default());
        let _ = a.push(&data);
        let (_, flows) = a.finish_with_flows();
        let one = flows.first().expect("a flow").clone();
        let flows: Vec<LabeledFlow> = ids
            .iter()
            .map(|&id| {
                let mut x = one.clone();
                x.flow.id = id;
                x
            })
            .collect();
        let c = charts(&many, &flows, 100_000_000);
        assert_eq!(c.len(), MAX_CHARTS);
        assert!(
            c.iter().any(|c| c.flow == MAX_CHARTS as u32 + 4),
            "the blocked flow is kept"
        );
        assert!(c.windows(2).all(|w| w[0].flow < w[1].flow));
    }

    #[test]
    fn a_clean_capture_has_no_charts() {
        let Some(r) = lab("udp_rtp_call.pcap") else {
            return;
        };
        assert!(r.charts.is_empty());
    }
}
