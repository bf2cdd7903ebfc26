//! Pure protocol parsers shared by classification and detection: one file per protocol, each
//! a set of functions and views over the caller's bytes that check lengths before reading (all
//! reads go through [`crate::wire`]) and decide nothing beyond the wire format.
//!
//! Mechanism, not policy: where callers apply different rules to one message (the classifier
//! wants certainty, a detector wants every retry counted), the parser exposes the facts and
//! each caller states its rule. Adding a parser: a file here with literal-byte tests at the
//! bottom (every truncation of each sample, impossible lengths), `pub mod` below, then call it
//! from the classifier and, if detectors need its messages, record them in
//! `classify::tx` instead of letting a detector re-read `payload_prefix`.

pub mod dns;
pub mod http;
pub mod quic;
pub mod stun;
pub mod tls;
pub mod turn;
