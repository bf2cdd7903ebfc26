//! voipwatch-core: the engine behind voipwatch.
//!
//! One pass over a capture, packets in capture order:
//! `capture → decode → flow → classify → detect → verdict → report`.
//! The [`Analyzer`] is the streaming entry point: feed it chunks of any size
//! with [`Analyzer::push`], then call [`Analyzer::finish`] for the [`report::Report`].
//! Memory is bounded by the number of flows (and configurable caps), never by the file size.
//! The crate is pure Rust, has no OS calls and builds for `wasm32-unknown-unknown`.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod analyzer;
pub mod capture;
pub mod classify;
pub mod compare;
pub mod decode;
pub mod detect;
pub mod evidence_pack;
pub mod flow;
pub mod label;
pub mod model;
pub mod pcapng_writer;
pub mod proto;
pub mod report;
pub mod slim;
pub mod stats;
#[cfg(test)]
pub(crate) mod testkit;
pub mod truth;
pub mod tx;
pub mod verdict;
pub mod wire;

pub use analyzer::{Analyzer, Config, Progress};
pub use report::Report;

/// Nanoseconds since the Unix epoch.
pub type Nanos = i64;

/// Converts nanoseconds since the epoch to the report's f64 seconds.
pub fn secs(ts: Nanos) -> f64 {
    ts as f64 / 1e9
}
