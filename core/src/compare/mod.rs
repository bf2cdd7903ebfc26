//! Differential throughput comparison of a *target* (the traffic suspected of being
//! throttled) and a *control* (the same test by another path or disguise: through a VPN,
//! to another server name, with bytes inverted), as Wehe and Glasnost do it.
//!
//! * **Samples** (Wehe: Kakhki et al., IMC 2015; Li et al., SIGCOMM 2019): the selected
//!   flows' data direction (the direction carrying most bytes) is cut into 100 equal time
//!   intervals from its first to its last packet, and each interval gives one throughput
//!   sample (IP bytes × 8 / interval).
//! * **KS test**: two-sample Kolmogorov–Smirnov on the two sets of samples (exact p for
//!   small samples, [`ks`]).
//! * **Area test** (Wehe): the area between the two empirical CDFs, normalised by the smaller
//!   of the two maximum throughputs; signed positive when the target is the slower one.
//! * **Verdict** (Wehe's rule): `differentiated` when |area| ≥ 0.5 *and* KS p < 0.01;
//!   `not differentiated` when |area| < 0.5; `inconclusive` when the area is large but the
//!   KS test is not significant, or when either side is too small to measure
//!   (< 2 s or < 50 data packets).
//! * **Glasnost's rule** (Dischinger et al., NSDI 2010) as a second opinion: the maximum
//!   throughputs differ by more than 20 % of the larger one.
//!
//! **Known false positives**: a control that took a different path (a VPN exit far away), or
//! ran at another time of day, differs for reasons other than differentiation; the
//! application-limited target (a call needs only 100 kbit/s) is slower than a bulk control
//! without any throttling — compare like with like (Wehe replays the same bytes).

/// The KS test lives in [`crate::stats`]; re-exported here, where it is used.
pub use crate::stats::ks;

use crate::flow::{Dir, Transport};
use crate::label::LabeledFlow;
use serde::Serialize;
use std::net::SocketAddr;

/// Thresholds of the comparison (sources in the module docs).
#[derive(Clone, Debug)]
pub struct CompareConfig {
    /// Throughput samples per side (Wehe: 100).
    pub samples: usize,
    /// Shortest sampling interval, seconds (ours, 0.1): fewer samples are taken on short
    /// transfers, since an interval holding a handful of packets measures packet counts
    /// (Wehe's ~45 s replays give ~0.45 s intervals).
    pub min_interval_s: f64,
    /// |area| from which the CDFs are "far apart" (Wehe: 0.5).
    pub area_threshold: f64,
    /// KS p-value below which the difference is significant (Wehe: 0.01).
    pub ks_alpha: f64,
    /// Relative difference of maximum throughputs flagged by Glasnost (0.2).
    pub glasnost_threshold: f64,
    /// Shortest measurable side, seconds.
    pub min_duration_s: f64,
    /// Fewest data packets per side.
    pub min_packets: usize,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            samples: 100,
            min_interval_s: 0.1,
            area_threshold: 0.5,
            ks_alpha: 0.01,
            glasnost_threshold: 0.2,
            min_duration_s: 2.0,
            min_packets: 50,
        }
    }
}

/// How flows are chosen on one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// The flow carrying the most bytes (the default with two captures).
    Largest,
    /// TLS/QUIC server name, exact or a suffix after a dot (`sni=example.com`).
    Sni(String),
    /// Server address: `ip:port`, `ip` or `:port`.
    Server {
        ip: Option<std::net::IpAddr>,
        port: Option<u16>,
    },
    /// Flow ids as in the report.
    Flows(Vec<u32>),
    /// App id (`app=whatsapp`).
    App(String),
}

impl Selector {
    /// Parses `sni=…`, `server=ip:port|ip|:port`, `flow=ID[,ID…]`, `app=…` or `largest`.
    pub fn parse(s: &str) -> Result<Selector, String> {
        if s == "largest" {
            return Ok(Selector::Largest);
        }
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("selector {s:?}: expected KEY=VALUE"))?;
        if v.is_empty() {
            return Err(format!("selector {s:?}: empty value"));
        }
        match k {
            "sni" => Ok(Selector::Sni(v.to_ascii_lowercase())),
            "app" => Ok(Selector::App(v.to_ascii_lowercase())),
            "flow" => {
                let ids: Result<Vec<u32>, _> =
                    v.split(',').map(|x| x.trim().parse::<u32>()).collect();
                ids.map(Selector::Flows)
                    .map_err(|e| format!("selector {s:?}: {e}"))
            }
            "server" => {
                if let Some(p) = v.strip_prefix(':') {
                    let port = p
                        .parse::<u16>()
                        .map_err(|e| format!("selector {s:?}: {e}"))?;
                    return Ok(Selector::Server {
                        ip: None,
                        port: Some(port),
                    });
                }
                if let Ok(sa) = v.parse::<SocketAddr>() {
                    return Ok(Selector::Server {
                        ip: Some(sa.ip()),
                        port: Some(sa.port()),
                    });
                }
                let ip = v
                    .trim_matches(|c| c == '[' || c == ']')
                    .parse::<std::net::IpAddr>()
                    .map_err(|e| format!("selector {s:?}: {e}"))?;
                Ok(Selector::Server {
                    ip: Some(ip),
                    port: None,
                })
            }
            _ => Err(format!(
                "selector {s:?}: unknown key {k:?} (sni, server, flow, app)"
            )),
        }
    }

    fn matches(&self, f: &LabeledFlow) -> bool {
        match self {
            Selector::Largest => true,
            Selector::Sni(n) => f.class.sni.as_deref().is_some_and(|s| {
                let s = s.to_ascii_lowercase();
                s == *n || s.ends_with(&format!(".{n}"))
            }),
            Selector::Server { ip, port } => {
                ip.is_none_or(|i| f.server.ip() == i) && port.is_none_or(|p| f.server.port() == p)
            }
            Selector::Flows(ids) => ids.contains(&f.id),
            Selector::App(a) => f
                .class
                .app
                .is_some_and(|x| x.as_str().eq_ignore_ascii_case(a)),
        }
    }

    /// The flows this selector picks (ids ascending).
    pub fn select<'a>(&self, flows: &'a [LabeledFlow]) -> Vec<&'a LabeledFlow> {
        let bytes = |f: &LabeledFlow| f.dir[0].bytes.saturating_add(f.dir[1].bytes);
        match self {
            Selector::Largest => flows
                .iter()
                .filter(|f| matches!(f.transport, Transport::Tcp | Transport::Udp))
                .max_by(|a, b| bytes(a).cmp(&bytes(b)).then(b.id.cmp(&a.id)))
                .into_iter()
                .collect(),
            _ => flows.iter().filter(|f| self.matches(f)).collect(),
        }
    }
}

/// Throughput samples of one side.
#[derive(Clone, Debug, Serialize)]
pub struct Samples {
    /// Flow ids measured.
    pub flows: Vec<u32>,
    /// Direction measured, relative to each flow ("c2s"/"s2c").
    pub dir: &'static str,
    pub packets: u64,
    pub bytes: u64,
    pub duration_s: f64,
    pub interval_s: f64,
    /// Mean throughput over the whole duration (bit/s).
    pub mean_bps: f64,
    pub median_bps: f64,
    pub max_bps: f64,
    /// The samples (bit/s).
    pub bps: Vec<f64>,
}

/// Cuts the main data direction of `flows` into `n` equal intervals, fewer when intervals
/// would be shorter than the default `min_interval_s` (at least 10).
pub fn throughput_samples(flows: &[&LabeledFlow], n: usize) -> Option<Samples> {
    throughput_samples_with(
        flows,
        &CompareConfig {
            samples: n,
            ..CompareConfig::default()
        },
    )
}

/// Cuts the main data direction of `flows` into `cfg.samples` equal intervals (fewer when
/// intervals would be shorter than `cfg.min_interval_s`, at least 10).
pub fn throughput_samples_with(flows: &[&LabeledFlow], cfg: &CompareConfig) -> Option<Samples> {
    throughput_samples_dir(flows, cfg, None)
}

/// As [`throughput_samples_with`], of direction `dir` when given (the in-capture comparison
/// samples the direction a detector flagged, in the target and in the controls alike).
/// With a direction, the transfer starts after its head and ends before its tail: packets
/// before the first (after the last) silence of at least [`HEAD_SILENCE`] that carry under a
/// tenth of the bytes (a TLS handshake record sent before a long upload, a request line, a
/// close_notify sent long after the upload) would otherwise add empty intervals to the samples.
pub fn throughput_samples_dir(
    flows: &[&LabeledFlow],
    cfg: &CompareConfig,
    dir: Option<Dir>,
) -> Option<Samples> {
    if flows.is_empty() || cfg.samples == 0 {
        return None;
    }
    let sum = |d: Dir| {
        flows
            .iter()
            .map(|f| f.dir.get(d.idx()).map_or(0, |x| x.bytes))
            .sum::<u64>()
    };
    let trim = dir.is_some();
    let dir = dir.unwrap_or(if sum(Dir::S2c) >= sum(Dir::C2s) {
        Dir::S2c
    } else {
        Dir::C2s
    });
    let mut pk: Vec<(i64, u64)> = flows
        .iter()
        .flat_map(|f| {
            f.packets
                .iter()
                .filter(|p| p.dir == dir && p.payload_len > 0)
                .map(|p| (p.ts, u64::from(p.ip_len)))
        })
        .collect();
    pk.sort_unstable();
    if trim {
        let total: u64 = pk.iter().map(|p| p.1).sum();
        let mut head = 0u64;
        let mut cut = 0usize;
        for (k, w) in pk.windows(2).enumerate() {
            if let [a, b] = w {
                head = head.saturating_add(a.1);
                if head.saturating_mul(10) >= total {
                    break;
                }
                if b.0.saturating_sub(a.0) >= HEAD_SILENCE {
                    cut = k + 1;
                }
            }
        }
        pk.drain(..cut);
        // The same at the tail: a closing record (TLS close_notify, a final request) sent
        // after the transfer, past a silence, is not part of it.
        let mut tail = 0u64;
        let mut keep = pk.len();
        for (k, w) in pk.windows(2).enumerate().rev() {
            if let [a, b] = w {
                tail = tail.saturating_add(b.1);
                if tail.saturating_mul(10) >= total {
                    break;
                }
                if b.0.saturating_sub(a.0) >= HEAD_SILENCE {
                    keep = k + 1;
                }
            }
        }
        pk.truncate(keep);
    }
    let (first, last) = (pk.first()?.0, pk.last()?.0);
    let span = last.saturating_sub(first).max(1);
    let fit = (span as f64 / 1e9 / cfg.min_interval_s.max(1e-6)).floor() as usize;
    let n = cfg.samples.min(fit.max(10));
    let mut bins = vec![0u64; n];
    for &(ts, b) in &pk {
        let i =
            ((i128::from(ts) - i128::from(first)) * n as i128 / (i128::from(span) + 1)) as usize;
        if let Some(s) = bins.get_mut(i.min(n - 1)) {
            *s = s.saturating_add(b);
        }
    }
    let dur = span as f64 / 1e9;
    let interval = dur / n as f64;
    let bps: Vec<f64> = bins
        .iter()
        .map(|&b| {
            if interval > 0.0 {
                b as f64 * 8.0 / interval
            } else {
                0.0
            }
        })
        .collect();
    let bytes: u64 = pk.iter().map(|p| p.1).sum();
    let mut ids: Vec<u32> = flows.iter().map(|f| f.id).collect();
    ids.sort_unstable();
    Some(Samples {
        flows: ids,
        dir: match dir {
            Dir::C2s => "c2s",
            Dir::S2c => "s2c",
        },
        packets: pk.len() as u64,
        bytes,
        duration_s: dur,
        interval_s: interval,
        mean_bps: if dur > 0.0 {
            bytes as f64 * 8.0 / dur
        } else {
            0.0
        },
        median_bps: crate::stats::median(&bps).unwrap_or(0.0),
        max_bps: bps.iter().copied().fold(0.0, f64::max),
        bps,
    })
}

/// Wehe's area test result.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct AreaTest {
    /// ∫|F_target − F_control| / min(max_target, max_control), signed + when the target is slower.
    pub area: f64,
    pub threshold: f64,
}

/// Glasnost's maximum-throughput rule.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Glasnost {
    pub target_max_bps: f64,
    pub control_max_bps: f64,
    /// (control − target) / max(both).
    pub rel_diff: f64,
    pub threshold: f64,
    pub differentiated: bool,
}

/// The comparison's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// "differentiated", "not differentiated" or "inconclusive".
    pub verdict: &'static str,
    /// One plain sentence.
    pub summary: String,
    pub target: Samples,
    pub control: Samples,
    pub ks: Option<ks::KsResult>,
    pub ks_alpha: f64,
    pub area: Option<AreaTest>,
    pub glasnost: Glasnost,
    /// Whether Glasnost's rule says the same as the verdict (None when inconclusive).
    pub glasnost_agrees: Option<bool>,
}

/// ∫|F_a − F_b| dx over the pooled range, and the sign of mean(b) − mean(a).
fn cdf_area(a: &[f64], b: &[f64]) -> f64 {
    let mut x: Vec<f64> = a.to_vec();
    let mut y: Vec<f64> = b.to_vec();
    x.sort_by(f64::total_cmp);
    y.sort_by(f64::total_cmp);
    let mut pool: Vec<f64> = x.iter().chain(y.iter()).copied().collect();
    pool.sort_by(f64::total_cmp);
    pool.dedup();
    let (mut i, mut j, mut area) = (0usize, 0usize, 0.0f64);
    for w in pool.windows(2) {
        let &[lo, hi] = w else { continue };
        while x.get(i).is_some_and(|&v| v <= lo) {
            i += 1;
        }
        while y.get(j).is_some_and(|&v| v <= lo) {
            j += 1;
        }
        let fa = i as f64 / x.len().max(1) as f64;
        let fb = j as f64 / y.len().max(1) as f64;
        area += (fa - fb).abs() * (hi - lo);
    }
    area
}

/// A p-value as every voipwatch message prints it: three decimals, or two significant
/// digits in scientific notation below 0.001 ("p = 0.042", "p = 3.1e-7").
pub fn fmt_p(p: f64) -> String {
    if p >= 0.001 || p == 0.0 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

/// True when a side is too small for the tests to mean anything.
pub fn too_small(s: &Samples, cfg: &CompareConfig) -> bool {
    s.duration_s < cfg.min_duration_s || (s.packets as usize) < cfg.min_packets
}

/// Compares target and control samples.
pub fn compare(target: Samples, control: Samples, cfg: &CompareConfig) -> Comparison {
    let (tm, cm) = (target.max_bps, control.max_bps);
    let big = tm.max(cm);
    let rel = if big > 0.0 { (cm - tm) / big } else { 0.0 };
    let glasnost = Glasnost {
        target_max_bps: tm,
        control_max_bps: cm,
        rel_diff: rel,
        threshold: cfg.glasnost_threshold,
        differentiated: rel.abs() > cfg.glasnost_threshold,
    };
    let too_small = |s: &Samples| too_small(s, cfg);
    let ks = ks::ks_2samp(&target.bps, &control.bps);
    let norm = tm.min(cm);
    let area = if norm > 0.0 {
        let mag = cdf_area(&target.bps, &control.bps) / norm;
        let sign = if control.mean_bps >= target.mean_bps {
            1.0
        } else {
            -1.0
        };
        Some(AreaTest {
            area: sign * mag,
            threshold: cfg.area_threshold,
        })
    } else {
        None
    };
    let fmt = crate::detect::series::fmt_rate;
    let (verdict, why) = if too_small(&target) || too_small(&control) {
        (
            "inconclusive",
            format!(
                "a side is too small to measure (target {:.1} s / {} packets, control {:.1} s / {} packets; \
                 at least {:.0} s and {} packets each)",
                target.duration_s, target.packets, control.duration_s, control.packets, cfg.min_duration_s, cfg.min_packets
            ),
        )
    } else {
        match (ks, area) {
            (Some(k), Some(a)) if a.area.abs() >= cfg.area_threshold && k.p < cfg.ks_alpha => (
                "differentiated",
                format!(
                    "the {} is consistently slower: median {} vs {} (area {:.2} ≥ {}, KS D = {:.2}, p = {} < {})",
                    if a.area > 0.0 { "target" } else { "control" },
                    fmt(if a.area > 0.0 { target.median_bps } else { control.median_bps }),
                    fmt(if a.area > 0.0 { control.median_bps } else { target.median_bps }),
                    a.area.abs(),
                    cfg.area_threshold,
                    k.d,
                    fmt_p(k.p),
                    cfg.ks_alpha
                ),
            ),
            (Some(k), Some(a)) if a.area.abs() >= cfg.area_threshold => (
                "inconclusive",
                format!(
                    "the throughputs differ (area {:.2}) but not significantly (KS p = {} ≥ {})",
                    a.area.abs(),
                    fmt_p(k.p),
                    cfg.ks_alpha
                ),
            ),
            (Some(k), Some(a)) => (
                "not differentiated",
                format!(
                    "the throughput distributions overlap: median {} vs {} (area {:.2} < {}, KS D = {:.2}, p = {})",
                    fmt(target.median_bps),
                    fmt(control.median_bps),
                    a.area.abs(),
                    cfg.area_threshold,
                    k.d,
                    fmt_p(k.p)
                ),
            ),
            _ => ("inconclusive", "no throughput was measured on a side".to_string()),
        }
    };
    let glasnost_agrees = match verdict {
        "differentiated" => Some(glasnost.differentiated),
        "not differentiated" => Some(!glasnost.differentiated),
        _ => None,
    };
    let summary = format!(
        "{}: {why}. Glasnost's max-throughput rule {} ({} vs {}).",
        match verdict {
            "differentiated" => "Differentiated",
            "not differentiated" => "Not differentiated",
            _ => "Inconclusive",
        },
        if glasnost.differentiated {
            "also flags a difference"
        } else {
            "sees no difference"
        },
        fmt(tm),
        fmt(cm)
    );
    // No comparison is reported against a side too small to measure.
    let summary = if too_small(&target) || too_small(&control) {
        format!("Inconclusive: {why}.")
    } else if glasnost_agrees == Some(false) {
        summary
            .replace("also flags a difference", "flags a difference (disagrees)")
            .replace("sees no difference", "sees no difference (disagrees)")
    } else {
        summary
    };
    Comparison {
        verdict,
        summary,
        target,
        control,
        ks,
        ks_alpha: cfg.ks_alpha,
        area,
        glasnost,
        glasnost_agrees,
    }
}

/// How far (ns) from a throttled flow another flow may lie and still be its control in
/// [`in_capture`]: the same session of the same capture (60 s, ours).
pub const IN_CAPTURE_WINDOW: i64 = 60_000_000_000;
/// A silence after which a direction's transfer starts anew (see [`throughput_samples_dir`]).
pub const HEAD_SILENCE: i64 = 1_000_000_000;

/// Compares flow `target` (index in `flows`) with the capture's other traffic (issue 12):
/// the TCP flows that differ from it in server address, server port or SNI, carry at least
/// `cfg.min_packets` data packets over `cfg.min_duration_s`, and lie within
/// [`IN_CAPTURE_WINDOW`] of it, pooled as one control side; the same KS + area test as
/// `voipwatch compare`. `None` when there is no such flow. Note the caveat of `compare`: an
/// app-limited control is slower than a bulk target without any throttling, so a `selective`
/// outcome is strong only when the control moved as much data as it could.
pub fn in_capture(
    flows: &[LabeledFlow],
    target: usize,
    dir: Dir,
    cfg: &CompareConfig,
) -> Option<crate::report::evidence::InCaptureComparison> {
    let t = flows.get(target)?;
    let lo = t.first_ts.saturating_sub(IN_CAPTURE_WINDOW);
    let hi = t.last_ts.saturating_add(IN_CAPTURE_WINDOW);
    let controls: Vec<&LabeledFlow> = flows
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            *i != target
                && f.transport == Transport::Tcp
                && f.last_ts >= lo
                && f.first_ts <= hi
                && (f.server.ip() != t.server.ip()
                    || f.server.port() != t.server.port()
                    || f.class.sni != t.class.sni)
        })
        .map(|(_, f)| f)
        // The samples hold at most the flow's data packets in `dir`: counting them first spares
        // building the samples of the many short flows that cannot qualify.
        .filter(|f| {
            f.packets
                .iter()
                .filter(|p| p.dir == dir && p.payload_len > 0)
                .count()
                >= cfg.min_packets
        })
        .filter(|f| {
            throughput_samples_dir(&[*f], cfg, Some(dir)).is_some_and(|s| {
                s.duration_s >= cfg.min_duration_s && s.packets as usize >= cfg.min_packets
            })
        })
        .collect();
    if controls.is_empty() {
        return None;
    }
    let ts = throughput_samples_dir(&[t], cfg, Some(dir))?;
    let cs = throughput_samples_dir(&controls, cfg, Some(dir))?;
    let c = compare(ts, cs, cfg);
    let area = c.area.map(|a| a.area);
    let verdict = match c.verdict {
        "differentiated" if area.is_some_and(|a| a > 0.0) => "selective",
        "not differentiated" => "whole_link",
        _ => "inconclusive",
    };
    let r4 = |x: f64| (x * 1e4).round() / 1e4;
    Some(crate::report::evidence::InCaptureComparison {
        area: area.map(r4),
        control_flows: c.control.flows.clone(),
        control_median_bps: c.control.median_bps.round(),
        ks_d: c.ks.map(|k| r4(k.d)),
        p_value: c.ks.map(|k| crate::stats::round_sig(k.p.max(0.0), 3)),
        target_median_bps: c.target.median_bps.round(),
        verdict,
    })
}

/// The sentence a throttling finding adds about [`in_capture`]'s outcome.
pub fn in_capture_sentence(c: &crate::report::evidence::InCaptureComparison) -> String {
    let fmt = crate::detect::series::fmt_rate;
    let ids: Vec<String> = c.control_flows.iter().map(|i| i.to_string()).collect();
    let nums = format!(
        "median {} vs {} on flow{} {}; area {}, KS p = {}",
        fmt(c.target_median_bps),
        fmt(c.control_median_bps),
        if ids.len() == 1 { "" } else { "s" },
        ids.join(", "),
        c.area.map_or("n/a".into(), |a| format!("{a:.2}")),
        c.p_value.map_or("n/a".into(), |p| format!("{p:.2e}")),
    );
    match c.verdict {
        "selective" => format!("This app's traffic was limited while other traffic was not ({nums})."),
        "whole_link" => format!(
            "The whole link was limited: other traffic in the capture was as slow ({nums}), so this is              not a differentiation claim."
        ),
        _ => format!("Compared with the capture's other traffic the difference is inconclusive ({nums})."),
    }
}

impl std::fmt::Display for Selector {
    /// The selector as the user writes it (`sni=x`, `server=1.2.3.4:443`, `flow=1,2`, `largest`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::Largest => f.write_str("largest"),
            Selector::Sni(n) => write!(f, "sni={n}"),
            Selector::App(a) => write!(f, "app={a}"),
            Selector::Flows(ids) => {
                let v: Vec<String> = ids.iter().map(u32::to_string).collect();
                write!(f, "flow={}", v.join(","))
            }
            Selector::Server { ip, port } => match (ip, port) {
                (Some(ip), Some(p)) => write!(f, "server={}", SocketAddr::new(*ip, *p)),
                (Some(ip), None) => write!(f, "server={ip}"),
                (None, Some(p)) => write!(f, "server=:{p}"),
                (None, None) => f.write_str("server="),
            },
        }
    }
}

/// The samples of the flows `sel` picks in `flows` (one side of a comparison); the error names
/// the side (`role`), the capture and, when nothing matched, the server names it holds.
pub fn side(
    flows: &[LabeledFlow],
    sel: &Selector,
    role: &str,
    capture: &str,
    cfg: &CompareConfig,
) -> Result<Samples, String> {
    let picked = sel.select(flows);
    if picked.is_empty() {
        let mut names: Vec<&str> = flows
            .iter()
            .filter_map(|f| f.class.sni.as_deref())
            .collect();
        names.sort_unstable();
        names.dedup();
        names.truncate(12);
        let hint = if names.is_empty() {
            String::new()
        } else {
            format!(" (server names seen: {})", names.join(", "))
        };
        return Err(format!(
            "{role} selector '{sel}' matches no flow in {capture}{hint}"
        ));
    }
    throughput_samples_with(&picked, cfg)
        .ok_or_else(|| format!("{role}: the selected flows carry no data in {capture}"))
}

/// [`compare`], with no test reported against a side too small to measure (the summary
/// says why): what `voipwatch compare` and the page both show.
pub fn compare_sides(t: Samples, c: Samples, cfg: &CompareConfig) -> Comparison {
    let mut result = compare(t, c, cfg);
    if too_small(&result.target, cfg) || too_small(&result.control, cfg) {
        result.ks = None;
        result.area = None;
        result.glasnost_agrees = None;
    }
    result
}

/// The `voipwatch.compare/1` JSON document (pretty, with a trailing newline): the exact bytes
/// `voipwatch compare --format json` prints and the page downloads.
pub fn document(
    result: &Comparison,
    target_capture: &str,
    control_capture: &str,
    target: &Selector,
    control: &Selector,
) -> String {
    let v = serde_json::json!({
        "schema": "voipwatch.compare/1",
        "target_capture": target_capture,
        "control_capture": control_capture,
        "target_selector": target.to_string(),
        "control_selector": control.to_string(),
        "result": result,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Analyses a capture held in memory and returns its report and finished flows.
pub fn analyze_capture(name: &str, data: &[u8]) -> (crate::Report, Vec<LabeledFlow>) {
    let cfg = crate::Config {
        name: name.to_string(),
        ..Default::default()
    };
    let mut a = crate::Analyzer::new(cfg);
    let _ = a.push(data);
    a.finish_with_flows()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::series::sim::{self, Sim};
    use crate::model::App;

    fn samples_of(s: &Sim) -> Samples {
        let f = sim::run(s);
        throughput_samples(&[&f], 100).unwrap()
    }

    #[test]
    fn policed_target_vs_free_control_is_differentiated() {
        let t = samples_of(&Sim {
            policer: Some((1e6, 30_000.0)),
            duration_s: 15.0,
            ..Default::default()
        });
        let c = samples_of(&Sim {
            line_bps: 8e6,
            duration_s: 15.0,
            ..Default::default()
        });
        assert_eq!(t.bps.len(), 100);
        let r = compare(t, c, &CompareConfig::default());
        assert_eq!(r.verdict, "differentiated", "{}", r.summary);
        assert!(r.area.unwrap().area > 0.5);
        assert!(r.ks.unwrap().p < 1e-10);
        assert_eq!(r.glasnost_agrees, Some(true));
    }

    #[test]
    fn in_capture_samples_start_after_a_head_silence() {
        // A response after a long upload: one small record 10 s before the bulk data. The
        // in-capture samples (a direction given) start at the bulk; `compare`'s do not.
        let mut f = sim::run(&Sim {
            line_bps: 8e6,
            duration_s: 5.0,
            ..Default::default()
        });
        let cfg = CompareConfig::default();
        let alone = throughput_samples_dir(&[&f], &cfg, Some(Dir::S2c)).expect("samples");
        let k = f
            .packets
            .iter()
            .position(|p| p.dir == Dir::S2c && p.payload_len > 0)
            .expect("data");
        let mut head = f.packets.get(k).cloned().expect("data");
        head.ts = head.ts.saturating_sub(10_000_000_000);
        head.ip_len = 200;
        f.packets.insert(k, head);
        let trimmed = throughput_samples_dir(&[&f], &cfg, Some(Dir::S2c)).expect("samples");
        assert!(
            (trimmed.duration_s - alone.duration_s).abs() < 1e-9,
            "{}",
            trimmed.duration_s
        );
        assert_eq!(trimmed.packets, alone.packets);
        let whole = throughput_samples_with(&[&f], &cfg).expect("samples");
        assert!(
            whole.duration_s > alone.duration_s + 9.0,
            "{}",
            whole.duration_s
        );
    }

    #[test]
    fn in_capture_samples_end_before_a_tail_silence() {
        // An upload followed, 8 s later, by a 24-byte close_notify: the in-capture samples
        // end with the upload; `compare`'s do not.
        let mut f = sim::run(&Sim {
            line_bps: 8e6,
            duration_s: 5.0,
            ..Default::default()
        });
        let cfg = CompareConfig::default();
        let alone = throughput_samples_dir(&[&f], &cfg, Some(Dir::S2c)).expect("samples");
        let mut tail = f
            .packets
            .iter()
            .rev()
            .find(|p| p.dir == Dir::S2c && p.payload_len > 0)
            .cloned()
            .expect("data");
        tail.ts = tail.ts.saturating_add(8_000_000_000);
        tail.ip_len = 76;
        f.packets.push(tail);
        let trimmed = throughput_samples_dir(&[&f], &cfg, Some(Dir::S2c)).expect("samples");
        assert!(
            (trimmed.duration_s - alone.duration_s).abs() < 1e-9,
            "{}",
            trimmed.duration_s
        );
        assert_eq!(trimmed.packets, alone.packets);
        assert_eq!(trimmed.median_bps, alone.median_bps);
        let whole = throughput_samples_with(&[&f], &cfg).expect("samples");
        assert!(
            whole.duration_s > alone.duration_s + 7.0,
            "{}",
            whole.duration_s
        );
    }

    #[test]
    fn same_path_twice_is_not_differentiated() {
        let t = samples_of(&Sim {
            shaper: Some((4e6, 100_000.0, 10_000.0)),
            duration_s: 10.0,
            ..Default::default()
        });
        let c = samples_of(&Sim {
            shaper: Some((4e6, 100_000.0, 10_000.0)),
            duration_s: 10.0,
            base_rtt_ms: 45.0,
            ..Default::default()
        });
        let r = compare(t, c, &CompareConfig::default());
        assert_eq!(r.verdict, "not differentiated", "{}", r.summary);
        assert_eq!(r.glasnost_agrees, Some(true));
    }

    #[test]
    fn tiny_side_is_inconclusive() {
        let t = samples_of(&Sim {
            duration_s: 0.5,
            ..Default::default()
        });
        let c = samples_of(&Sim {
            duration_s: 10.0,
            ..Default::default()
        });
        assert_eq!(
            compare(t, c, &CompareConfig::default()).verdict,
            "inconclusive"
        );
    }

    #[test]
    fn area_is_mean_gap_for_separated_samples() {
        // Separated CDFs: the area between them is the difference of the means.
        assert!((cdf_area(&[1.0, 2.0, 3.0], &[5.0, 6.0, 7.0]) - 4.0).abs() < 1e-12);
        assert_eq!(cdf_area(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
    }

    #[test]
    fn selectors_parse_and_match() {
        let mut f = sim::empty_flow();
        f.id = 7;
        f.class.sni = Some("video.Example.com".into());
        f.class.app = Some(App::WhatsApp);
        for (s, want) in [
            ("sni=example.com", true),
            ("sni=ample.com", false),
            ("server=10.0.1.2:443", true),
            ("server=:443", true),
            ("server=10.0.1.2", true),
            ("server=10.0.1.3", false),
            ("flow=3,7", true),
            ("flow=3", false),
            ("app=WhatsApp", true),
            ("largest", true),
        ] {
            let sel = Selector::parse(s).unwrap();
            assert_eq!(sel.select(std::slice::from_ref(&f)).len() == 1, want, "{s}");
        }
        for bad in ["sni", "sni=", "flow=x", "server=nope", "color=red"] {
            assert!(Selector::parse(bad).is_err(), "{bad}");
        }
    }
}
