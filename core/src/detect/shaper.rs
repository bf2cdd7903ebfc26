//! `throttling_shaper`: a rate limiter that queues (a shaper) on a TCP data direction.
//!
//! **Heuristic.** A shaper (`tc tbf` with a deep queue, an ISP's per-subscriber queue)
//! delays instead of dropping: the delivered rate settles on the token rate, the queue
//! fills so the RTT grows, and losses stay rare (only when the queue overflows). From the
//! data direction's delivered IP bytes in 0.5 s bins (ShaperProbe, Kanuparthy & Dovrolis,
//! IMC 2011, uses the same idea and bin order of magnitude):
//! 1. A 3-bin median filter removes single-bin spikes (ShaperProbe's filter).
//! 2. **Level shift** (ShaperProbe): the split that maximises median(before) / median(after)
//!    with ≥ 2 bins before and ≥ 4 after; a shift needs a ratio > 1.10 and a one-sided
//!    Mann–Whitney rank test (before > after) with p < 0.05. The bytes before the shift
//!    beyond the sustained rate estimate the token-bucket burst.
//!    Without a shift (a shaper whose burst is smaller than one bin), the whole series after
//!    the first two bins (slow start) is the shaped part.
//! 3. The shaped part is **flat**: coefficient of variation of the filtered bins ≤ 0.15.
//! 4. **RTT inflation**: the median path RTT in the shaped part is ≥ 1.5 × the minimum RTT
//!    and ≥ 20 ms above it (a queue is being filled; thresholds ours, in line with Flach
//!    et al.'s 1.3 × / 20 ms inflation test).
//! 5. **Paced, backlogged arrivals** (issue 12): at most half of the shaped part is spent
//!    in gaps longer than 4 packet times at the shaped rate. A queue draining at the token
//!    rate releases a packet every packet time; a sender that limits itself (video players,
//!    32 KiB writes every 100 ms) sends line-rate bursts and then idles, and its "RTT" spans
//!    its own idle time (which `flow::rtt` no longer samples either).
//! 6. **Arrivals no faster than the rate** (issue 12, receiver side): at most 10 % of the
//!    shaped part's consecutive arrivals less than a quarter of a packet time apart (at the
//!    shaped rate). A token bucket that is backlogged has no tokens left: it releases the
//!    flow's packets one packet time apart, and links after it are faster, so the spacing
//!    survives to the receiver. An application-limited sender that shares a faster congested
//!    bottleneck with bulk flows (a 2 Mbit/s stream in a 34 Mbit/s tbf queue filled by
//!    downloads) sees the queue's delay and sends a flat rate, but its writes leave that queue
//!    back to back at the bottleneck's rate: the queue is the bulk flows', the limit the
//!    application's. Near the sender the spacing is the sender's own (ACK-clocked pairs) and
//!    says nothing about a queue downstream, so the test is only made at the receiver.
//! 7. **Low loss**: ≤ 2 % of data segments lost after the first loss episode (the slow-start
//!    overshoot into the queue; an episode = losses less than one shaped RTT apart). A
//!    policer drops instead: a direction that passes the policer test (the shared
//!    fact `facts::Facts::policer_test`, whatever the direction's size) is left to
//!    `throttling_policer` and not reported here.
//!
//! **Known false positives.** A slow access link with a large buffer ("bufferbloat") is a
//! shaper in every observable way: the finding then says the path is rate-limited and
//! queues, which is true but not proof of deliberate throttling — hence the lower
//! confidence without a level shift; `voipwatch compare` against a control flow tells the
//! two apart. **Known misses:** flows shorter than 4 s, shapers whose queue is so short that
//! they drop like a policer (reported by `throttling_policer`), captures without RTT samples.

use super::facts::{Facts, TcpDir};
use super::series::{self, DataDir, Seg, ThrottleConfig};
use super::{Detector, Input};
use crate::flow::{Dir, Flow};
use crate::model::{FindingKind, Severity};
use crate::report::evidence::ShaperEvidence;
use crate::report::Finding;
use crate::stats::{self, best_split, cv, mann_whitney_greater, median3};
use crate::{secs, Nanos};

/// The detector (registered in [`super::REGISTRY`]).
pub struct Shaper;

/// Fewest data segments for the test.
const MIN_SEGMENTS: u64 = 100;

/// What the shaper test found.
#[derive(Clone, Debug, PartialEq)]
pub struct Shaped {
    pub rate_bps: f64,
    /// Bin index where the shaped part starts.
    pub shift_bin: usize,
    /// True when a level shift (burst then sustained rate) was found.
    pub level_shift: bool,
    /// median(before) / median(after) at the shift (1.0 without a shift).
    pub ratio: f64,
    pub rank_p: f64,
    pub burst_bytes: f64,
    pub cv: f64,
    /// [`idle_fraction`] of the shaped part.
    pub idle_fraction: f64,
    /// [`fast_fraction`] of the shaped part (receiver side; 0 near the sender).
    pub fast_fraction: f64,
    pub base_rtt: Nanos,
    pub shaped_rtt: Nanos,
    pub loss_fraction: f64,
    pub bin: Nanos,
    pub t0: Nanos,
}

/// Why a direction was not judged shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    TooShort,
    NotFlat,
    NoRtt,
    NoRttInflation,
    Lossy,
    /// Line-rate bursts with gaps, not paced arrivals: the sender limits itself.
    Bursty,
    /// Receiver side: many packets arrived back to back at far above the flow's rate, so the
    /// bottleneck that delayed them is faster than the flow and the sender limits itself.
    FasterBottleneck,
}

/// Most of the shaped part's time spent in gaps longer than [`IDLE_GAP_PACKETS`] packet
/// times at the shaped rate (0.5, ours): a shaper's queue releases packets one packet time
/// apart while it is backlogged; an application-limited sender's writes leave at line rate
/// and then the path idles (32 KiB every 100 ms at 2.7 Mbit/s idles 90 % of the time).
const MAX_IDLE_FRACTION: f64 = 0.5;
/// A gap between arrivals counts as idle beyond this many packet times (4: delayed ACKs
/// release pairs, ACK compression a few packets, at a shaper's rate).
const IDLE_GAP_PACKETS: f64 = 4.0;

/// Most of the shaped part's consecutive arrivals closer than [`FAST_GAP_PACKETS`] packet
/// times (0.10, ours): the lab's shapers (`shaper_tbf`, `shaper_tbf_rwnd`, a bulk flow in a
/// shared 34 Mbit/s tbf) have 0–0.6 %; an app-limited 2 Mbit/s flow in that shared queue 26 %.
const MAX_FAST_FRACTION: f64 = 0.10;
/// Arrivals closer than this many packet times at the shaped rate are "back to back": with up
/// to four flows sharing one shaper in equal parts, a flow's packets are still a quarter of
/// its own packet time apart.
const FAST_GAP_PACKETS: f64 = 0.25;

/// Fraction of the gaps between consecutive passed data segments in `[from, to]` shorter than
/// [`FAST_GAP_PACKETS`] times the later packet's transmission time at `rate_bps`.
pub fn fast_fraction(segs: &[Seg], from: Nanos, to: Nanos, rate_bps: f64) -> f64 {
    if rate_bps <= 0.0 {
        return 0.0;
    }
    let (mut n, mut fast) = (0u64, 0u64);
    let mut prev: Option<Nanos> = None;
    for g in segs
        .iter()
        .filter(|g| !g.lost && g.ts >= from && g.ts <= to)
    {
        if let Some(p) = prev {
            n += 1;
            let limit = FAST_GAP_PACKETS * f64::from(g.bytes) * 8.0 / rate_bps * 1e9;
            if (g.ts.saturating_sub(p) as f64) < limit {
                fast += 1;
            }
        }
        prev = Some(g.ts);
    }
    if n == 0 {
        0.0
    } else {
        fast as f64 / n as f64
    }
}

/// Fraction of `[from, to]` spent in gaps between passed data segments longer than
/// [`IDLE_GAP_PACKETS`] packet times at `rate_bps` (the packet: the median IP size).
pub fn idle_fraction(segs: &[Seg], from: Nanos, to: Nanos, rate_bps: f64) -> f64 {
    let span = to.saturating_sub(from);
    if span <= 0 || rate_bps <= 0.0 {
        return 0.0;
    }
    let sizes: Vec<f64> = segs
        .iter()
        .filter(|g| !g.lost && g.ts >= from && g.ts <= to)
        .map(|g| f64::from(g.bytes))
        .collect();
    let pkt = stats::median(&sizes).unwrap_or(1500.0);
    let limit = IDLE_GAP_PACKETS * pkt * 8.0 / rate_bps * 1e9;
    let mut idle = 0.0;
    let mut prev: Option<Nanos> = None;
    for g in segs
        .iter()
        .filter(|g| !g.lost && g.ts >= from && g.ts <= to)
    {
        if let Some(p) = prev {
            let gap = g.ts.saturating_sub(p) as f64;
            if gap > limit {
                idle += gap;
            }
        }
        prev = Some(g.ts);
    }
    (idle / span as f64).min(1.0)
}

/// Runs the shaper test on one data direction.
pub fn analyze(
    dd: &DataDir,
    rtts: &[(Nanos, Nanos)],
    cfg: &ThrottleConfig,
) -> Result<Shaped, Reject> {
    let (Some(first), Some(last)) = (dd.segs.first(), dd.segs.last()) else {
        return Err(Reject::TooShort);
    };
    let (bin, n) = series::rate_bins(
        (cfg.shaper_bin_ms as Nanos).saturating_mul(1_000_000),
        last.ts.saturating_sub(first.ts),
    );
    if n < cfg.shaper_min_bins || dd.data_packets < MIN_SEGMENTS {
        return Err(Reject::TooShort);
    }
    let t0 = first.ts;
    let raw: Vec<f64> = series::bin_bytes(
        dd.segs
            .iter()
            .filter(|s| !s.lost)
            .map(|s| (s.ts, u64::from(s.bytes))),
        t0,
        bin,
        n,
    )
    .into_iter()
    .map(|b| b as f64 * 8.0 / (bin as f64 / 1e9))
    .collect();
    let filt = median3(&raw);
    // Level shift: the split maximising median(before)/median(after).
    let best = best_split(&filt, n.saturating_sub(4));
    let mut shift = None;
    if let Some((k, r)) = best {
        if r > cfg.shaper_min_ratio {
            let p = mann_whitney_greater(raw.get(..k).unwrap_or(&[]), raw.get(k..).unwrap_or(&[]));
            let c = cv(filt.get(k..).unwrap_or(&[]));
            if p < cfg.shaper_rank_p && c <= cfg.shaper_max_cv {
                shift = Some((k, r, p, c));
            }
        }
    }
    let (k, ratio, rank_p, c, level_shift) = match shift {
        Some((k, r, p, c)) => (k, r, p, c, true),
        None => {
            let c = cv(filt.get(2..).unwrap_or(&[]));
            if c > cfg.shaper_max_cv {
                return Err(Reject::NotFlat);
            }
            (2, 1.0, 1.0, c, false)
        }
    };
    let shaped = raw.get(k..).unwrap_or(&[]);
    let rate_bps = stats::median(shaped).unwrap_or(0.0);
    if rate_bps <= 0.0 {
        return Err(Reject::NotFlat);
    }
    // Paced arrivals while shaped, not line-rate bursts with gaps (issue 12).
    let shaped_from = t0.saturating_add(bin.saturating_mul(k as Nanos));
    let idle = idle_fraction(&dd.segs, shaped_from, last.ts, rate_bps);
    if idle > MAX_IDLE_FRACTION {
        return Err(Reject::Bursty);
    }
    // Receiver side: released no faster than the rate, as from a backlogged token bucket.
    let fast = if dd.vantage == series::Vantage::Receiver {
        fast_fraction(&dd.segs, shaped_from, last.ts, rate_bps)
    } else {
        0.0
    };
    if fast > MAX_FAST_FRACTION {
        return Err(Reject::FasterBottleneck);
    }
    // RTT: the minimum over the flow is the base; the median over the shaped part.
    let base = rtts.iter().map(|r| r.1).min().ok_or(Reject::NoRtt)?;
    let in_shaped: Vec<f64> = rtts
        .iter()
        .filter(|r| r.0 >= shaped_from)
        .map(|r| r.1 as f64)
        .collect();
    let shaped_rtt = stats::median(&in_shaped).ok_or(Reject::NoRtt)? as Nanos;
    let inflation_ok = shaped_rtt as f64 >= base as f64 * cfg.shaper_rtt_factor
        && shaped_rtt.saturating_sub(base) as f64 >= cfg.shaper_rtt_min_ms * 1e6;
    if !inflation_ok {
        return Err(Reject::NoRttInflation);
    }
    // Loss after the first loss episode (the slow-start overshoot into the queue, losses
    // less than one shaped RTT apart): a shaper drops only when its queue overflows.
    let mut episode_end: Option<Nanos> = None;
    for g in dd.segs.iter().filter(|g| g.lost) {
        match episode_end {
            None => episode_end = Some(g.ts),
            Some(e) if g.ts - e <= shaped_rtt => episode_end = Some(g.ts),
            Some(_) => break,
        }
    }
    let after = episode_end.unwrap_or(t0);
    let (mut n_after, mut l_after) = (0u64, 0u64);
    for g in dd.segs.iter().filter(|g| g.ts > after) {
        n_after += 1;
        l_after += u64::from(g.lost);
    }
    let loss_fraction = if n_after == 0 {
        0.0
    } else {
        l_after as f64 / n_after as f64
    };
    if loss_fraction > cfg.shaper_max_loss {
        return Err(Reject::Lossy);
    }
    let before_bytes: f64 = raw
        .get(..k)
        .unwrap_or(&[])
        .iter()
        .map(|b| b / 8.0 * (bin as f64 / 1e9))
        .sum();
    let burst_bytes = if level_shift {
        (before_bytes - rate_bps / 8.0 * (k as f64 * bin as f64 / 1e9)).max(0.0)
    } else {
        0.0
    };
    Ok(Shaped {
        rate_bps,
        shift_bin: k,
        level_shift,
        ratio,
        rank_p,
        burst_bytes,
        cv: c,
        idle_fraction: idle,
        fast_fraction: fast,
        base_rtt: base,
        shaped_rtt,
        loss_fraction,
        bin,
        t0,
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Builds the finding for a shaped direction.
pub fn finding(flow: &Flow, dd: &DataDir, rtts: &[(Nanos, Nanos)], s: &Shaped) -> Finding {
    let who = match dd.dir {
        Dir::S2c => "server→client",
        Dir::C2s => "client→server",
    };
    let how = if s.level_shift {
        format!(
            "after a burst at {:.1}× that rate ({:.0} kB) the rate dropped and stayed flat",
            s.ratio,
            s.burst_bytes / 1000.0
        )
    } else {
        "the rate stayed flat".to_string()
    };
    let summary = format!(
        "TCP {who} data of flow {id} ({srv}) was shaped to about {rate}: {how} while the RTT rose \
         from {b:.1} ms to {r:.1} ms (a queue filling) and only {l:.1} % of segments were lost.",
        id = flow.id,
        srv = flow.server,
        rate = series::fmt_rate(s.rate_bps),
        b = s.base_rtt as f64 / 1e6,
        r = s.shaped_rtt as f64 / 1e6,
        l = s.loss_fraction * 100.0,
    );
    let ts =
        s.t0.saturating_add(s.bin.saturating_mul(s.shift_bin as Nanos));
    let frame = dd.segs.iter().find(|g| g.ts >= ts).map(|g| g.frame);
    Finding {
        filter: None,
        kind: FindingKind::ThrottlingShaper,
        flow: Some(flow.id),
        ts: secs(ts),
        severity: Severity::Throttled,
        confidence: if s.level_shift { 0.8 } else { 0.6 },
        summary,
        evidence: ShaperEvidence {
            base_rtt_ms: round3(s.base_rtt as f64 / 1e6),
            bin_s: s.bin as f64 / 1e9,
            burst_bytes: s.burst_bytes.round(),
            comparison: None,
            cv: round3(s.cv),
            data_segments: dd.data_packets,
            dir: series::dir_str(dd.dir),
            fast_fraction: round3(s.fast_fraction),
            idle_fraction: round3(s.idle_fraction),
            level_shift: s.level_shift,
            loss_fraction: round3(s.loss_fraction),
            rank_p: round3(s.rank_p),
            rate_bps: s.rate_bps.round(),
            ratio: round3(s.ratio),
            series: series::flow_series(flow, rtts),
            shaped_rtt_ms: round3(s.shaped_rtt as f64 / 1e6),
            shift_ts: secs(ts),
            vantage: dd.vantage.as_str(),
        }
        .into(),
        packets: frame.into_iter().collect(),
    }
}

/// False when [`shaped_dir`] would certainly say `None` for size reasons alone (fewer than
/// `MIN_SEGMENTS` data packets, or too short for `shaper_min_bins` bins): a cheap precheck
/// for a TCP direction whose [`series::data_packets`] count is known.
pub fn big_enough(flow: &Flow, data_packets: u64, cfg: &ThrottleConfig) -> bool {
    data_packets >= MIN_SEGMENTS && !too_few_bins(flow, cfg)
}

/// True when even the flow's whole packet span is shorter than `shaper_min_bins` bins: every
/// segment of [`series::analyze_dir`] (inferred losses included) lies between two packets
/// of the flow, so [`analyze`] would reject the direction as [`Reject::TooShort`].
fn too_few_bins(flow: &Flow, cfg: &ThrottleConfig) -> bool {
    let lo = flow.contiguous().iter().map(|p| p.ts).min();
    let hi = flow.contiguous().iter().map(|p| p.ts).max();
    let span = match (lo, hi) {
        (Some(lo), Some(hi)) => hi.saturating_sub(lo).max(0),
        _ => 0,
    };
    let base = (cfg.shaper_bin_ms as Nanos).saturating_mul(1_000_000);
    series::rate_bins(base, span).1 < cfg.shaper_min_bins
}

/// Runs the shaper test on direction `dir` of the `i`-th flow (a TCP flow) from the shared
/// facts: not if the shared policer test passes on the same segments (that direction is
/// `throttling_policer`'s, whatever its size).
pub fn shaped_dir<'f>(
    facts: &'f Facts<'_>,
    i: usize,
    flow: &Flow,
    dir: Dir,
    cfg: &ThrottleConfig,
) -> Option<(&'f TcpDir, Shaped)> {
    // The size test first, without labelling the segments.
    if !big_enough(flow, facts.data_packets(i, dir)?, cfg) {
        return None;
    }
    let d = facts.tcp_dir(i, dir)?;
    if d.data.data_packets < MIN_SEGMENTS || facts.policer_test(i, dir)?.is_ok() {
        return None;
    }
    let s = analyze(&d.data, &d.rtts, cfg).ok()?;
    Some((d, s))
}

impl Detector for Shaper {
    fn name(&self) -> &'static str {
        "throttling_shaper"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let cfg = &input.config.throttle;
        for (i, flow, dir) in series::tcp_directions(input.flows) {
            // RTP over TCP (TURN/TCP, ICE-TCP: lab webrtc_call_turn_tcp) is paced by the codec
            // clock: its flat rate is the codec's, and a few ms of queueing on it is not a shaper.
            // A path too slow for the call shows in the RTP metrics (rtp_quality) instead.
            if flow.class.rtp_media {
                continue;
            }
            if let Some((d, s)) = shaped_dir(input.facts(), i, flow, dir, cfg) {
                let mut f = finding(flow, &d.data, &d.rtts, &s);
                series::add_comparison(&mut f, input.flows, i, dir);
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::series::sim::{self, Sim};
    use super::super::series::Vantage;
    use super::*;
    use crate::testkit::flows::ev;

    fn check(s: &Sim) -> Result<Shaped, Reject> {
        let f = sim::run(s);
        let dd = series::analyze_dir(&f, Dir::S2c);
        let rtts = series::path_rtts(&f, &dd);
        analyze(&dd, &rtts, &ThrottleConfig::default())
    }

    #[test]
    fn deep_queue_shaper_found_both_vantages() {
        for v in [Vantage::Sender, Vantage::Receiver] {
            let s = check(&Sim {
                shaper: Some((2e6, 150_000.0, 3000.0)),
                vantage: v,
                ..Default::default()
            })
            .unwrap_or_else(|r| panic!("{v:?}: {r:?}"));
            assert!(
                (s.rate_bps - 2e6).abs() < 0.15 * 2e6,
                "{v:?}: {}",
                s.rate_bps
            );
            assert!(s.shaped_rtt > s.base_rtt + 20_000_000);
        }
    }

    #[test]
    fn shaper_with_big_burst_shows_a_level_shift() {
        let s = check(&Sim {
            shaper: Some((1e6, 100_000.0, 1_500_000.0)),
            line_bps: 10e6,
            ..Default::default()
        })
        .unwrap();
        assert!(s.level_shift, "{s:?}");
        assert!(s.ratio > 1.1);
        assert!((s.rate_bps - 1e6).abs() < 0.15e6, "{}", s.rate_bps);
        assert!(s.burst_bytes > 500_000.0, "{}", s.burst_bytes);
    }

    #[test]
    fn unshaped_random_loss_and_app_limited_are_not_shaped() {
        assert!(check(&Sim {
            random_loss: 0.02,
            line_bps: 20e6,
            ..Default::default()
        })
        .is_err());
        assert!(check(&Sim {
            app_rate: Some(100_000.0),
            ..Default::default()
        })
        .is_err());
        assert!(check(&Sim {
            line_bps: 10e6,
            ..Default::default()
        })
        .is_err());
    }

    #[test]
    fn policed_flow_is_left_to_the_policer() {
        let f = sim::run(&Sim {
            policer: Some((1e6, 30_000.0)),
            ..Default::default()
        });
        let flows = [f];
        let cfg = super::super::DetectConfig::default();
        let facts = Facts::new(&flows, &cfg);
        assert!(shaped_dir(&facts, 0, &flows[0], Dir::S2c, &cfg.throttle).is_none());
        // The shared policer test passed on those segments, and was run once.
        assert!(matches!(facts.policer_test(0, Dir::S2c), Some(Ok(_))));
        assert_eq!(facts.computed().policer_tests, 1);
    }

    #[test]
    fn detector_emits_finding() {
        let flows = vec![sim::run(&Sim {
            shaper: Some((2e6, 150_000.0, 3000.0)),
            ..Default::default()
        })];
        let cfg = super::super::DetectConfig::default();
        let mut out = Vec::new();
        Shaper.detect(&Input::new(&flows, &[], &cfg), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "throttling_shaper");
        let r = ev(&out[0])["rate_bps"].as_f64().unwrap();
        assert!((r - 2e6).abs() < 0.3e6, "{r}");
    }

    /// Issue 11: a flow carrying RTP (TURN/TCP media) is paced by its codec: no shaper finding.
    #[test]
    fn rtp_over_tcp_is_not_judged() {
        let mut f = sim::run(&Sim {
            shaper: Some((2e6, 150_000.0, 3000.0)),
            ..Default::default()
        });
        f.class.rtp_media = true;
        let cfg = super::super::DetectConfig::default();
        let mut out = Vec::new();
        Shaper.detect(&Input::new(&[f], &[], &cfg), &mut out);
        assert!(out.is_empty());
    }
}
