//! Output renderers over the same [`voipwatch_core::Report`]: JSON lives on the report
//! itself (`to_json`, so the page produces identical bytes); text is here.

pub mod escape;
pub mod text;

pub use escape::esc;

/// Which flows the text table lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowFilter {
    /// All flows when there are at most [`text::AUTO_MAX_ROWS`], else VoIP and problem flows.
    Auto,
    All,
    /// Flows with an app, a call service or a VoIP protocol.
    Voip,
    /// Flows named by a finding, reset or failed handshakes, and one-way flows.
    Problems,
}
