//! RTP media quality and UDP throttling, per RTP stream (the classifier's RFC 3550 metrics in
//! `FlowLabels::rtp`, the flow's packets for the received rate).
//!
//! **`rtp_degraded`** (severity `degraded`): a stream of ≥ 100 expected packets whose loss
//! (lost / expected, RFC 3550 A.3) is ≥ 2 %, whose interarrival jitter is ≥ 30 ms, or whose
//! E-model MOS is < 3.6. MOS: ITU-T G.107 simplified as in Cole & Rosenbluth (2001):
//! R = 93.2 − I_d − I_e,eff with I_e,eff = I_e + (95 − I_e)·P/(P + B_pl) (G.113 Appendix I
//! values: G.711 I_e 0 / B_pl 25.1, G.729 11 / 19, others as G.711), the one-way delay taken
//! as 40 ms plus a jitter buffer of twice the jitter (the capture cannot see the far end), and
//! MOS = 1 + 0.035R + 7·10⁻⁶·R(R − 60)(100 − R). Thresholds: 2 % is where codecs without
//! heavy concealment become audibly impaired (G.113), 30 ms the usual jitter target (Cisco,
//! ITU-T Y.1541 class 0 uses 50 ms), 3.6 the "many users dissatisfied" boundary (G.107 Annex B).
//!
//! **`throttling_policer` on UDP** (ours): RTP is sent at a steady rate, so a policer below that
//! rate shows as a *level shift* in the received rate — the first seconds pass at the offered
//! rate while the token bucket's slack lasts, then the rate drops to the policed rate and
//! stays flat — together with RTP sequence gaps. Required: ≥ 5 % loss, a level shift
//! found as in `throttling_shaper` (median ratio > 1.10, one-sided rank test p < 0.05) in the
//! 0.5 s bins of the received IP bytes, and a flat rate after it (CV ≤ 0.15). The policed rate
//! is the median after the shift. Random loss lowers the rate uniformly (no shift) and is
//! reported as `rtp_degraded` only.
//!
//! **Known false positives**: a sender that lowers its bitrate on its own (adaptive codecs do,
//! in response to loss) also shifts level; with loss ≥ 5 % that is reported as throttling —
//! the finding says the rate fell and stayed flat, which a reader can compare with the codec's
//! behaviour. **Misses**: a policer with no slack at all (bucket under one packet) gives no
//! level shift and is reported as `rtp_degraded`.

use super::series::{self, ThrottleConfig};
use super::{Detector, Input};
use crate::classify::RtpStats;
use crate::flow::{Dir, Flow, Transport};
use crate::model::{FindingKind, Severity};
use crate::report::evidence::{RtpPolicerEvidence, RtpStreamEvidence};
use crate::report::Finding;
use crate::stats;
use crate::Nanos;

/// The detector (registered in [`super::REGISTRY`]).
pub struct RtpQuality;

/// Fewest expected packets for a judgement (2 s of 20 ms packets).
const MIN_EXPECTED: u64 = 100;
/// Fewest 0.5 s bins for the level-shift test.
const MIN_BINS: usize = 6;

/// E-model MOS of a stream (see the module docs).
pub fn mos(payload_type: u8, loss_pct: f64, jitter_ms: f64) -> f64 {
    let (ie, bpl) = match payload_type {
        18 => (11.0, 19.0),
        _ => (0.0, 25.1),
    };
    let p = loss_pct.clamp(0.0, 100.0);
    let ie_eff = ie + (95.0 - ie) * p / (p + bpl);
    let d = 40.0 + 2.0 * jitter_ms.max(0.0);
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let r = (93.2 - id - ie_eff).clamp(0.0, 100.0);
    let m = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
    m.clamp(1.0, 4.5)
}

/// Level shift of a received-rate series: (split bin, ratio, rank p, CV after, rate after).
fn level_shift(bins: &[f64], cfg: &ThrottleConfig) -> Option<(usize, f64, f64, f64, f64)> {
    let n = bins.len();
    if n < MIN_BINS {
        return None;
    }
    let filt = stats::median3(bins);
    let (k, r) = stats::best_split(&filt, n.saturating_sub(3))?;
    if r <= cfg.shaper_min_ratio {
        return None;
    }
    let p = stats::mann_whitney_greater(bins.get(..k).unwrap_or(&[]), bins.get(k..).unwrap_or(&[]));
    let cv = stats::cv(filt.get(k..).unwrap_or(&[]));
    if p >= cfg.shaper_rank_p || cv > cfg.shaper_max_cv {
        return None;
    }
    let rate = stats::median(bins.get(k..).unwrap_or(&[]))?;
    Some((k, r, p, cv, rate))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Judges one RTP stream of a flow; pushes its findings.
fn judge(flow: &Flow, st: &RtpStats, cfg: &ThrottleConfig, out: &mut Vec<Finding>) {
    if st.expected < MIN_EXPECTED {
        return;
    }
    let dir = if st.dir == "s2c" { Dir::S2c } else { Dir::C2s };
    let loss = (st.lost.max(0) as f64) / st.expected as f64;
    let m = mos(st.payload_type, loss * 100.0, st.jitter_ms);
    let from = (st.first_ts * 1e9) as Nanos;
    let mut to = (st.last_ts * 1e9) as Nanos;
    // A packet log that dropped its middle: judge the rate on its unbroken start only (the
    // cut is listed in `capture.limits`), never on a series with a hole the log made.
    if flow.log_gap.is_some() {
        let end = flow
            .contiguous()
            .iter()
            .filter(|p| p.dir == dir)
            .map(|p| p.ts)
            .max();
        to = to.min(end.unwrap_or(from)).max(from);
    }
    let (bin, n) = series::rate_bins(
        (cfg.shaper_bin_ms as Nanos).saturating_mul(1_000_000),
        to.saturating_sub(from),
    );
    let bins: Vec<f64> = series::bin_bytes(
        flow.contiguous()
            .iter()
            .filter(|p| p.dir == dir)
            .map(|p| (p.ts, u64::from(p.ip_len))),
        from,
        bin,
        n,
    )
    .into_iter()
    .map(|b| b as f64 * 8.0 / (bin as f64 / 1e9))
    .collect();
    let frames: Vec<u64> = flow
        .contiguous()
        .iter()
        .filter(|p| p.dir == dir)
        .map(|p| p.frame)
        .take(1)
        .collect();
    let who = if dir == Dir::S2c {
        "server→client"
    } else {
        "client→server"
    };
    let base = RtpStreamEvidence {
        dir: st.dir,
        expected: st.expected,
        jitter_ms: round3(st.jitter_ms),
        loss: round3(loss),
        lost: st.lost,
        max_delta_ms: round3(st.max_delta_ms),
        mos: round3(m),
        payload_type: st.payload_type,
        received: st.packets,
        ssrc: st.ssrc,
    };
    if loss >= cfg.rtp_loss_throttled {
        if let Some((k, ratio, p, cv, rate)) = level_shift(&bins, cfg) {
            let shift_ts = from.saturating_add(bin.saturating_mul(k as Nanos));
            let ev = RtpPolicerEvidence {
                burst_bytes: 0,
                cv: round3(cv),
                dir: base.dir,
                expected: base.expected,
                jitter_ms: base.jitter_ms,
                loss: base.loss,
                lost: base.lost,
                max_delta_ms: base.max_delta_ms,
                mos: base.mos,
                payload_type: base.payload_type,
                rank_p: round3(p),
                rate_bps: rate.round(),
                ratio: round3(ratio),
                received: base.received,
                series: series::flow_series(flow, &[]),
                shift_ts: crate::secs(shift_ts),
                ssrc: base.ssrc,
                transport: "udp",
            };
            out.push(Finding {
                filter: None,
                kind: FindingKind::ThrottlingPolicer,
                flow: Some(flow.id),
                ts: crate::secs(shift_ts),
                severity: Severity::Throttled,
                confidence: 0.7,
                summary: format!(
                    "RTP {who} media of flow {id} (SSRC {ssrc:#010x}) was capped at about {rate}: after {t:.1} s the \
                     received rate fell by {ratio:.1}× and stayed flat while {l:.0} % of packets went missing \
                     (RTP sequence gaps), the mark of a rate policer.",
                    id = flow.id,
                    ssrc = st.ssrc,
                    rate = series::fmt_rate(rate),
                    t = shift_ts.saturating_sub(from) as f64 / 1e9,
                    l = loss * 100.0,
                ),
                evidence: ev.into(),
                packets: frames.clone(),
            });
        }
    }
    let degraded = loss >= cfg.rtp_loss_degraded
        || st.jitter_ms >= cfg.rtp_jitter_degraded_ms
        || m < cfg.rtp_mos_degraded;
    if degraded {
        let mut why = Vec::new();
        if loss >= cfg.rtp_loss_degraded {
            why.push(format!("{:.1} % of packets lost", loss * 100.0));
        }
        if st.jitter_ms >= cfg.rtp_jitter_degraded_ms {
            why.push(format!("jitter {:.0} ms", st.jitter_ms));
        }
        out.push(Finding {
            filter: None,
            kind: FindingKind::RtpDegraded,
            flow: Some(flow.id),
            ts: st.first_ts,
            severity: Severity::Degraded,
            confidence: 0.8,
            summary: format!(
                "RTP {who} media of flow {id} (SSRC {ssrc:#010x}) was degraded: {why}; estimated MOS {m:.1}.",
                id = flow.id,
                ssrc = st.ssrc,
                why = if why.is_empty() { "low quality".to_string() } else { why.join(", ") },
            ),
            evidence: base.into(),
            packets: frames,
        });
    }
}

impl Detector for RtpQuality {
    fn name(&self) -> &'static str {
        "rtp_quality"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let cfg = &input.config.throttle;
        for flow in input.flows.iter().filter(|f| f.transport == Transport::Udp) {
            for st in &flow.class.rtp {
                // One pass over the log per stream (its rate series).
                if input
                    .facts()
                    .charge("rtp_quality", flow.id, flow.packets.len() as u64)
                {
                    judge(flow, st, cfg, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::series::sim;
    use super::*;
    use crate::label::LabeledFlow;
    use crate::testkit::flows::ev;

    /// A 50 packet/s stream of 200-byte packets for `secs`, the server sending; packets for
    /// which `keep(i, t)` is false are lost.
    fn stream(secs: f64, keep: impl Fn(u64, f64) -> bool) -> LabeledFlow {
        let mut f = sim::empty_flow();
        f.transport = Transport::Udp;
        let n = (secs * 50.0) as u64;
        let mut got = 0;
        for i in 0..n {
            let t = i as f64 * 0.02;
            if keep(i, t) {
                let mut p = sim::pkt((t * 1e9) as i64, Dir::S2c, 0, 0, 172, 0);
                p.tcp_flags = 0;
                f.packets.push(p);
                got += 1;
            }
        }
        sim::finalize(&mut f);
        f.class.rtp.push(RtpStats {
            ssrc: 0x1234,
            dir: "s2c",
            payload_type: 0,
            packets: got,
            expected: n,
            lost: n as i64 - got as i64,
            jitter_ms: 2.0,
            first_ts: 0.0,
            last_ts: (n - 1) as f64 * 0.02,
            ..Default::default()
        });
        f
    }

    fn run(f: LabeledFlow) -> Vec<Finding> {
        let cfg = super::super::DetectConfig::default();
        let flows = vec![f];
        let mut out = Vec::new();
        RtpQuality.detect(&Input::new(&flows, &[], &cfg), &mut out);
        out
    }

    #[test]
    fn policed_stream_is_throttled_at_the_policed_rate() {
        // 80 kbit/s offered; after 1.5 s a 48 kbit/s token bucket: 3 of 5 packets pass.
        let out = run(stream(8.0, |i, t| t < 1.5 || i % 5 < 3));
        let kinds: Vec<&str> = out.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(kinds, vec!["throttling_policer", "rtp_degraded"], "{out:?}");
        let rate = ev(&out[0])["rate_bps"].as_f64().unwrap();
        assert!((rate - 48_000.0).abs() < 0.15 * 48_000.0, "{rate}");
    }

    #[test]
    fn random_loss_is_degraded_not_throttled() {
        // Every 17th and every 23rd packet lost: ~10 % spread evenly, no level shift.
        let out = run(stream(8.0, |i, _| i % 17 != 5 && i % 23 != 7));
        let kinds: Vec<&str> = out.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(kinds, vec!["rtp_degraded"], "{out:?}");
    }

    #[test]
    fn clean_stream_has_no_finding() {
        assert!(run(stream(8.0, |_, _| true)).is_empty());
        // Too short to judge.
        assert!(run(stream(1.0, |i, _| i % 2 == 0)).is_empty());
    }

    /// Timestamps anywhere in i64 (pcapng offsets), RTP stats that make no sense: every
    /// throttling detector and the compare sampler must finish without panicking.
    #[test]
    fn hostile_inputs_do_not_panic() {
        use super::super::series::sim::Sim;
        let mut tcp = sim::run(&Sim {
            policer: Some((1e6, 30_000.0)),
            duration_s: 3.0,
            ..Default::default()
        });
        let n = tcp.packets.len();
        for (i, p) in tcp.packets.iter_mut().enumerate() {
            p.ts = match i % 7 {
                0 => i64::MAX,
                1 => i64::MIN,
                _ => p.ts,
            };
            if i % 11 == 0 {
                p.seq = p.seq.wrapping_add(0x8000_0000);
                p.ip_id = (i as u32 * 977) & 0xffff;
            }
        }
        tcp.first_ts = i64::MIN;
        tcp.last_ts = i64::MAX;
        tcp.rtt.push(crate::flow::RttSample {
            ts: i64::MIN,
            rtt: i64::MAX,
            dir: Dir::C2s,
            source: "tsopt",
        });
        let mut udp = stream(4.0, |i, _| i % 3 != 0);
        if let Some(st) = udp.class.rtp.first_mut() {
            st.first_ts = 1e300;
            st.last_ts = -1e300;
            st.lost = i64::MIN;
            st.jitter_ms = f64::NAN;
        }
        udp.packets[0].ts = i64::MIN;
        let flows = vec![tcp, udp];
        let cfg = super::super::DetectConfig::default();
        let mut out = Vec::new();
        for d in [
            &super::super::policer::Policer as &dyn Detector,
            &super::super::shaper::Shaper,
            &RtpQuality,
        ] {
            d.detect(&Input::new(&flows, &[], &cfg), &mut out);
        }
        let refs: Vec<&LabeledFlow> = flows.iter().collect();
        let _ = crate::compare::throughput_samples(&refs, 100);
        assert!(n > 100);
    }

    #[test]
    fn mos_values() {
        assert!(mos(0, 0.0, 0.0) > 4.3);
        // G.711 with concealment at 5 % loss: R ≈ 76, MOS ≈ 3.9 (G.113 Appendix I).
        let m = mos(0, 5.0, 10.0);
        assert!(m > 3.7 && m < 4.0, "{m}");
        assert!(mos(18, 0.0, 0.0) < mos(0, 0.0, 0.0));
        assert!(mos(0, 40.0, 0.0) < 2.0);
    }
}
