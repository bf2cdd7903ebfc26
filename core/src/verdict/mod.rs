//! Verdicts: findings + classification → per-app and per-call status in plain language.

use crate::flow::Flow;
use crate::report::{Call, Finding, Verdict};

/// Judges each app seen (and each call), setting `Call::status`.
pub fn judge(flows: &[Flow], calls: &mut [Call], findings: &[Finding]) -> Vec<Verdict> {
    let _ = (flows, calls, findings);
    Vec::new()
}
