//! `voipwatch compare`: differential throughput test (Wehe's KS and area tests, Glasnost's
//! max-throughput rule) of two captures, or of target and control flows in one capture.
//!
//! ```text
//! voipwatch compare TARGET.pcap CONTROL.pcap [--target SEL] [--control SEL] [--format text|json]
//! voipwatch compare CAPTURE.pcap --target SEL --control SEL [--format text|json]
//! ```
//! SEL: `sni=NAME` (exact or parent domain), `server=IP:PORT|IP|:PORT`, `flow=ID[,ID…]`,
//! `app=ID`, `largest` (default with two captures: the flow carrying most bytes).
//! Exit status 0 whatever the verdict; 2 on a usage error, an unreadable capture or a
//! selector that matches no flow.

use std::io::Read;
use voipwatch_core::compare::ks::Method;
use voipwatch_core::compare::{self, CompareConfig, Comparison, Selector};
use voipwatch_core::label::LabeledFlow;
use voipwatch_core::{Analyzer, Config};

pub const USAGE: &str =
    "usage: voipwatch compare TARGET CONTROL [--target SEL] [--control SEL] [--format text|json]
       voipwatch compare CAPTURE --target SEL --control SEL [--format text|json]
SEL: sni=NAME | server=IP:PORT | server=IP | server=:PORT | flow=ID[,ID...] | app=ID | largest";

struct Opts {
    files: Vec<String>,
    target: Option<Selector>,
    control: Option<Selector>,
    json: bool,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        files: Vec::new(),
        target: None,
        control: None,
        json: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--target" | "-t" => o.target = Some(Selector::parse(&value("--target")?)?),
            "--control" | "-c" => o.control = Some(Selector::parse(&value("--control")?)?),
            "--format" | "-f" => {
                o.json = match value("--format")?.as_str() {
                    "json" => true,
                    "text" => false,
                    other => return Err(format!("--format: '{other}' is not text or json")),
                }
            }
            s if s.starts_with('-') && s != "-" => {
                return Err(crate::args::unknown_option(
                    "compare",
                    s,
                    &["--target", "--control", "--format", "--help"],
                ))
            }
            s => o.files.push(s.to_string()),
        }
    }
    match o.files.len() {
        1 if o.target.is_none() || o.control.is_none() => Err(format!(
            "compare: one capture needs both --target and --control\n{USAGE}"
        )),
        1 | 2 => Ok(o),
        0 => Err(format!("compare: missing captures\n{USAGE}")),
        _ => Err(format!("compare: at most two captures\n{USAGE}")),
    }
}

/// Reads and analyses one capture; a capture that stops early is still used (with a warning).
fn load(path: &str) -> Result<Vec<LabeledFlow>, String> {
    let mut reader: Box<dyn Read> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| format!("{path}: cannot open: {e}"))?)
    };
    let mut a = Analyzer::new(Config {
        name: crate::analyze::display_name(path),
        ..Default::default()
    });
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if a.push(buf.get(..n).unwrap_or(&[])).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{path}: read error: {e}")),
        }
    }
    let (report, flows) = a.finish_with_flows();
    if report.capture.packets == 0 {
        return Err(format!(
            "{path}: {}",
            report.capture.error.as_deref().unwrap_or("no packets")
        ));
    }
    if let Some(e) = &report.capture.error {
        eprintln!("voipwatch: {path}: {e} (compared what was read)");
    }
    Ok(flows)
}

fn rate(bps: f64) -> String {
    voipwatch_core::detect::series::fmt_rate(bps)
}

fn text(c: &Comparison, tname: &str, cname: &str) -> String {
    let mut s = String::new();
    s.push_str(&format!("{}\n\n", crate::render::esc(&c.summary)));
    s.push_str(&format!(
        "{:<10} {:<28} {:>8} {:>9} {:>13} {:>13} {:>13}\n",
        "side", "capture / flows", "secs", "packets", "mean", "median", "max"
    ));
    for (role, name, x) in [("target", tname, &c.target), ("control", cname, &c.control)] {
        let flows: Vec<String> = x.flows.iter().map(u32::to_string).collect();
        let label = format!(
            "{} [{} {}]",
            crate::render::esc(name),
            x.dir,
            flows.join(",")
        );
        s.push_str(&format!(
            "{:<10} {:<28} {:>8.1} {:>9} {:>13} {:>13} {:>13}\n",
            role,
            label,
            x.duration_s,
            x.packets,
            rate(x.mean_bps),
            rate(x.median_bps),
            rate(x.max_bps)
        ));
    }
    s.push('\n');
    let cfg = CompareConfig::default();
    let small: Vec<String> = [("target", &c.target), ("control", &c.control)]
        .into_iter()
        .filter(|(_, x)| compare::too_small(x, &cfg))
        .map(|(role, x)| {
            format!(
                "the {role} side has too few samples ({:.1} s, {}; at least {:.0} s and {} packets are needed)",
                x.duration_s,
                crate::args::plural(x.packets, "packet", "packets"),
                cfg.min_duration_s,
                cfg.min_packets
            )
        })
        .collect();
    if !small.is_empty() {
        s.push_str(&format!(
            "Not compared: {}; record a longer transfer on that side.\n",
            small.join("; ")
        ));
        s.push_str(&format!("verdict: {}\n", c.verdict));
        return s;
    }
    if let Some(k) = c.ks {
        let m = match k.method {
            Method::Exact => "exact",
            Method::Asymp => "asymptotic",
        };
        s.push_str(&format!(
            "KS test ({m} p): D = {:.3}, p = {} (significant below {})\n",
            k.d,
            compare::fmt_p(k.p),
            c.ks_alpha
        ));
    }
    if let Some(a) = c.area {
        s.push_str(&format!(
            "area test: {:.3} (differentiated from {})\n",
            a.area, a.threshold
        ));
    }
    s.push_str(&format!(
        "Glasnost max-throughput rule: {} vs {} ({:+.0} %), {}\n",
        rate(c.glasnost.target_max_bps),
        rate(c.glasnost.control_max_bps),
        c.glasnost.rel_diff * 100.0,
        if c.glasnost.differentiated {
            "differentiated"
        } else {
            "not differentiated"
        }
    ));
    s.push_str(&format!("verdict: {}\n", c.verdict));
    s
}

/// Runs `voipwatch compare ARGS…` (ARGS excludes the subcommand). Returns the exit code.
pub fn run(args: &[String]) -> Result<i32, String> {
    let o = parse(args)?;
    let cfg = CompareConfig::default();
    let tsel = o.target.clone().unwrap_or(Selector::Largest);
    let csel = o.control.clone().unwrap_or(Selector::Largest);
    let (tpath, cpath) = match o.files.as_slice() {
        [one] => (one.as_str(), one.as_str()),
        [a, b] => (a.as_str(), b.as_str()),
        _ => return Err(USAGE.to_string()),
    };
    // The error names capture strings (server names, the path): escaped for the terminal.
    let side = |flows: &[LabeledFlow], sel: &Selector, role: &str, path: &str| {
        compare::side(flows, sel, role, path, &cfg).map_err(|e| crate::render::esc(&e).into_owned())
    };
    let tflows = load(tpath)?;
    let (t, c) = if tpath == cpath && o.files.len() == 1 {
        (
            side(&tflows, &tsel, "target", tpath)?,
            side(&tflows, &csel, "control", cpath)?,
        )
    } else {
        let cflows = load(cpath)?;
        (
            side(&tflows, &tsel, "target", tpath)?,
            side(&cflows, &csel, "control", cpath)?,
        )
    };
    let result = compare::compare_sides(t, c, &cfg);
    let (tname, cname) = (
        crate::analyze::display_name(tpath),
        crate::analyze::display_name(cpath),
    );
    if o.json {
        crate::print_out(&compare::document(&result, &tname, &cname, &tsel, &csel));
    } else {
        crate::print_out(&text(&result, &tname, &cname));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parse_forms() {
        let o = parse(&args(&["a.pcap", "b.pcap"])).unwrap();
        assert_eq!(o.files.len(), 2);
        assert!(!o.json);
        let o = parse(&args(&[
            "a.pcap",
            "--target",
            "sni=x.com",
            "--control",
            "flow=2",
            "-f",
            "json",
        ]))
        .unwrap();
        assert!(o.json);
        assert_eq!(o.target, Some(Selector::Sni("x.com".into())));
        assert!(parse(&args(&["a.pcap"])).is_err());
        assert!(parse(&args(&["a.pcap", "--target", "sni=x"])).is_err());
        assert!(parse(&args(&[])).is_err());
        assert!(parse(&args(&["a", "b", "c"])).is_err());
        assert!(parse(&args(&["a", "b", "--format", "xml"])).is_err());
        assert!(parse(&args(&["a", "b", "--bogus"])).is_err());
        assert!(parse(&args(&["a", "b", "--target", "nope"])).is_err());
    }

    /// The lab pairs (DESIGN §5): the SNI-policed flow against its control in one capture and
    /// as two captures is differentiated; two runs of the same path are not.
    #[test]
    fn lab_pairs_verdicts() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
        let cap = |n: &str| dir.join(n).to_string_lossy().into_owned();
        if !dir.join("sni_policer_pair.pcap").exists() || !dir.join("same_path_a.pcap").exists() {
            eprintln!("lab captures absent: skipped");
            return;
        }
        let cfg = CompareConfig::default();
        let verdict = |t: &str, tsel: &Selector, c: &str, csel: &Selector| {
            let tf = load(t).unwrap();
            let cf = load(c).unwrap();
            let ts = compare::side(&tf, tsel, "target", t, &cfg).unwrap();
            let cs = compare::side(&cf, csel, "control", c, &cfg).unwrap();
            compare::compare(ts, cs, &cfg)
        };
        let pair = cap("sni_policer_pair.pcap");
        let r = verdict(
            &pair,
            &Selector::parse("sni=video.lab.example").unwrap(),
            &pair,
            &Selector::parse("sni=other.lab.example").unwrap(),
        );
        assert_eq!(r.verdict, "differentiated", "{}", r.summary);
        assert!(r.target.median_bps < 0.6 * r.control.median_bps);
        let r = verdict(
            &cap("compare_target.pcap"),
            &Selector::Largest,
            &cap("compare_control.pcap"),
            &Selector::Largest,
        );
        assert_eq!(r.verdict, "differentiated", "{}", r.summary);
        let r = verdict(
            &cap("same_path_a.pcap"),
            &Selector::Largest,
            &cap("same_path_b.pcap"),
            &Selector::Largest,
        );
        assert_eq!(r.verdict, "not differentiated", "{}", r.summary);
        // A selector that matches nothing is an error naming the server names seen.
        let e = compare::side(
            &load(&pair).unwrap(),
            &Selector::Sni("nope.example".into()),
            "target",
            &pair,
            &cfg,
        )
        .unwrap_err();
        assert!(e.contains("video.lab.example"), "{e}");
        // The whole command, in JSON.
        assert_eq!(
            run(&args(&[
                &pair,
                "--target",
                "sni=video.lab.example",
                "--control",
                "sni=other.lab.example",
                "-f",
                "json"
            ])),
            Ok(0)
        );
    }

    #[test]
    fn missing_file_is_an_error() {
        let e = run(&args(&["/nonexistent/a.pcap", "/nonexistent/b.pcap"])).unwrap_err();
        assert!(e.contains("cannot open"), "{e}");
    }
}
