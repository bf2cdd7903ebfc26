//! The crate's one test kit (compiled only for tests): builders shared by the unit tests of
//! every layer, so no production folder carries test tooling.
//! - [`frames`]: literal packet bytes (Ethernet, IPv4/IPv6, TCP/UDP/ICMP, tunnels) and the
//!   truncation sweep the decoders' tests run;
//! - [`flows`]: synthetic flows, packet logs and labels, and `run_detector` for detectors'
//!   and verdicts' tests.

pub(crate) mod flows;
pub(crate) mod frames;
