//! `throttling_policer` and `throttling_shaper` in one pass over each TCP data direction.
//!
//! [`policer::Policer`] and [`shaper::Shaper`] each label a direction's segments
//! ([`series::analyze_dir`]), gather its path RTTs ([`series::path_rtts`]) and replay the
//! policer test (the shaper only reports directions that are not policed). Run one after
//! the other they did all of that twice; this detector, registered in their place, does it
//! once per direction and emits exactly their findings: the same functions, the same
//! prechecks ([`policer::policed_dir`]'s sizes, [`shaper::worth_testing`]), the same
//! thresholds. Only the emission order differs (per flow instead of per detector), and
//! [`super::run_all`] sorts findings by time, flow and kind, so the report is unchanged.
//! No heuristic of its own: see the two detectors' documentation.

use super::series::{self, ThrottleConfig};
use super::{policer, shaper, Detector, Input};
use crate::flow::{Dir, Flow};
use crate::report::Finding;

/// The combined detector (registered in [`super::REGISTRY`]).
pub struct Throttling;

impl Detector for Throttling {
    fn name(&self) -> &'static str {
        "throttling"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let cfg = &input.config.throttle;
        for (flow, dir) in series::tcp_directions(input.flows) {
            out.extend(direction(flow, dir, cfg));
        }
    }
}

/// The policer and shaper findings of one direction (at most one of each).
fn direction(flow: &Flow, dir: Dir, cfg: &ThrottleConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    let data = series::data_packets(flow, dir);
    let policer_sized = (data as usize) >= cfg.policer_min_samples.saturating_mul(2);
    let shaper_sized = shaper::big_enough(flow, data, cfg);
    if !policer_sized && !shaper_sized {
        return out;
    }
    let dd = series::analyze_dir(flow, dir);
    let policer_tried = policer_sized && dd.losses >= 2;
    if !policer_tried && !shaper_sized {
        return out;
    }
    let rtts = series::path_rtts(flow, &dd);
    // As `policer::policed_dir`: at least two losses and enough data packets.
    let policed = if policer_tried {
        policer::analyze(&dd, &rtts, cfg).ok()
    } else {
        None
    };
    if let Some(p) = &policed {
        out.push(policer::finding(flow, &dd, &rtts, p));
    }
    // As `shaper::shaped_dir`: not if the policer test passes on the same segments.
    if shaper_sized {
        let is_policed = match (&policed, policer_tried) {
            (Some(_), _) => true,
            (None, true) => false,
            (None, false) => policer::analyze(&dd, &rtts, cfg).is_ok(),
        };
        if !is_policed {
            if let Ok(s) = shaper::analyze(&dd, &rtts, cfg) {
                out.push(shaper::finding(flow, &dd, &rtts, &s));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::series::sim::{self, Sim};
    use super::super::DetectConfig;
    use super::*;
    use crate::label::LabeledFlow;

    /// Findings of the separate detectors, sorted as `run_all` sorts them.
    fn separate(flows: &[LabeledFlow], cfg: &DetectConfig) -> Vec<Finding> {
        let input = Input {
            flows,
            calls: &[],
            config: cfg,
        };
        let mut out = Vec::new();
        policer::Policer.detect(&input, &mut out);
        shaper::Shaper.detect(&input, &mut out);
        out.sort_by(|a, b| {
            a.ts.total_cmp(&b.ts)
                .then(a.flow.cmp(&b.flow))
                .then(a.kind.as_str().cmp(b.kind.as_str()))
        });
        out
    }

    fn combined(flows: &[LabeledFlow], cfg: &DetectConfig) -> Vec<Finding> {
        let input = Input {
            flows,
            calls: &[],
            config: cfg,
        };
        let mut out = Vec::new();
        Throttling.detect(&input, &mut out);
        out.sort_by(|a, b| {
            a.ts.total_cmp(&b.ts)
                .then(a.flow.cmp(&b.flow))
                .then(a.kind.as_str().cmp(b.kind.as_str()))
        });
        out
    }

    fn json(v: &[Finding]) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn same_findings_as_policer_then_shaper() {
        let cfg = DetectConfig::default();
        let policed = sim::run(&Sim {
            policer: Some((1e6, 30_000.0)),
            ..Default::default()
        });
        let shaped = sim::run(&Sim {
            shaper: Some((2e6, 150_000.0, 3000.0)),
            ..Default::default()
        });
        let plain = sim::run(&Sim::default());
        let flows = vec![policed, shaped, plain];
        let a = separate(&flows, &cfg);
        let b = combined(&flows, &cfg);
        assert!(a.iter().any(|f| f.kind == "throttling_policer"));
        assert!(a.iter().any(|f| f.kind == "throttling_shaper"));
        assert_eq!(json(&a), json(&b));
    }

    #[test]
    fn shaper_still_runs_when_policer_sample_minimum_exceeds_its_size() {
        // With a sample minimum above the shaper's size, the policer is never tried by
        // size, and the shaper's own "not policed" test must still run.
        let mut cfg = DetectConfig::default();
        cfg.throttle.policer_min_samples = 10_000;
        let f = sim::run(&Sim {
            policer: Some((1e6, 30_000.0)),
            ..Default::default()
        });
        let flows = vec![f];
        assert_eq!(json(&separate(&flows, &cfg)), json(&combined(&flows, &cfg)));
    }
}
