//! The one integration-test binary (STYLE: `autotests = false`, modules per area).
mod blocking;
mod capture_corpus;
mod capture_oracle;
mod classify_corpus;
mod cli;
mod complexity;
mod complexity_gen;
mod decode_oracle;
mod decode_tshark;
mod evidence;
mod golden;
mod lab;
mod live;
mod mutation;
mod util;
mod verify;
mod zeek;
