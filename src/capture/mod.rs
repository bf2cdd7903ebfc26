//! `voipwatch capture` and `voipwatch interfaces` (issue 16): live capture with a running answer.
//!
//! Built with the `capture` cargo feature (default on; libpcap through the `pcap` crate, native
//! only: the core stays pure Rust) when build.rs finds libpcap (the `libpcap` cfg). Without
//! it both commands say how to get them.
//!
//! Design: packets are written as pcapng blocks as they arrive (to the file, or with `--ring`
//! to a bounded in-memory ring written at the end). About once a second the live view analyses
//! the bytes written so far with a fresh [`voipwatch_core::Analyzer`] — so every update is
//! exactly what `voipwatch analyze` would say of the file at that moment, and the final report
//! *is* `analyze` of the written file.

#[cfg(libpcap)]
mod live;
#[cfg(libpcap)]
mod view;

pub const USAGE: &str = "\
USAGE:
    voipwatch capture [OPTIONS]      capture live, show the running answer, then the report
    voipwatch interfaces             list the devices capture can open

CAPTURE OPTIONS:
    -i, --interface IFACE        device to capture on (default: libpcap's first; see
                                 `voipwatch interfaces`; `any` captures on all)
    -f, --filter BPF             capture filter, tcpdump syntax (e.g. 'udp or tcp port 443')
    -d, --duration S             stop after S seconds (default: at Ctrl-C)
    -w, --write FILE.pcapng      capture file to leave behind (default:
                                 voipwatch-capture-<unix time>.pcapng)
    --format text|json|ndjson    final report format, as `analyze` (default text); with ndjson
                                 each live update is also a JSON line on stdout
    --ring MB                    keep only the last MB megabytes (10^6 bytes) of packets; the
                                 file and the report then cover the kept part only, and stderr
                                 says what was dropped
    --interval S                 seconds between live updates (default 1)
    --snaplen N                  bytes kept per packet (default 262144)

Capturing needs root or the CAP_NET_RAW capability; to let a user run it without sudo:
    sudo setcap cap_net_raw,cap_net_admin=eip \"$(command -v voipwatch)\"
";

/// Without the feature: what the user can do about it.
#[cfg(not(libpcap))]
const NO_CAPTURE: &str = "this voipwatch was built without capture support (the `capture` \
feature, on by default, needs libpcap's development files, which the build did not find: on \
Debian/Ubuntu `apt-get install libpcap-dev`, then rebuild). Capture with tcpdump instead and run `voipwatch analyze FILE`.";

pub fn run(args: &[String]) -> Result<i32, String> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        crate::print_out(USAGE);
        return Ok(0);
    }
    #[cfg(libpcap)]
    {
        live::run(args)
    }
    #[cfg(not(libpcap))]
    {
        Err(format!("capture: {NO_CAPTURE}"))
    }
}

pub fn interfaces(args: &[String]) -> Result<i32, String> {
    if let Some(a) = args.first() {
        if a == "--help" || a == "-h" {
            crate::print_out(USAGE);
            return Ok(0);
        }
        return Err(format!("interfaces: unknown option '{a}'"));
    }
    #[cfg(libpcap)]
    {
        live::interfaces()
    }
    #[cfg(not(libpcap))]
    {
        Err(format!("interfaces: {NO_CAPTURE}"))
    }
}
