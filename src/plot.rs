//! `voipwatch analyze --plot DIR`: SVG charts for flagged flows (owned by the throttling stream).

use std::path::{Path, PathBuf};
use voipwatch_core::Report;

/// Writes one SVG per flagged flow into `dir`; returns the files written.
pub fn write_plots(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let _ = report;
    Err(format!("--plot {}: not available in this build yet", dir.display()))
}
