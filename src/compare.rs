//! `voipwatch compare`: differential throughput test of two captures or flow sets (owned by the throttling stream).

/// Runs `voipwatch compare ARGS…` (ARGS excludes the subcommand). Returns the exit code.
pub fn run(args: &[String]) -> Result<i32, String> {
    Err(format!("compare {args:?}: not available in this build yet"))
}
