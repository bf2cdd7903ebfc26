//! `voipwatch capture` on real traffic (issue 16): a WhatsApp-style call through a router in
//! network namespaces, black-holed mid-call. Needs root and `ip netns`; skips with a message
//! otherwise. Everything stays inside the namespaces created here (removed on drop).
#![cfg(libpcap)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_voipwatch");

fn peers_py() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab/peers.py")
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("voipwatch-live-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn run(cmd: &[&str]) -> Output {
    Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn ok(cmd: &[&str]) {
    let o = run(cmd);
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Why the namespace tests cannot run here, if they cannot.
fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some("not root (network namespaces need root)".into());
    }
    let probe = format!("vwl{}probe", std::process::id());
    match Command::new("ip").args(["netns", "add", &probe]).output() {
        Ok(o) if o.status.success() => {
            let _ = run(&["ip", "netns", "del", &probe]);
        }
        Ok(o) => {
            return Some(format!(
                "`ip netns add` failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
        Err(e) => return Some(format!("cannot run `ip`: {e}")),
    }
    if Command::new("python3").arg("-V").output().is_err() {
        return Some("python3 not found".into());
    }
    None
}

macro_rules! require_netns {
    () => {
        if let Some(why) = skip_reason() {
            eprintln!("SKIPPED {}: {why}", module_path!());
            return;
        }
    };
}

/// client — router — server, like captures/lab/lab.sh but with names and addresses of its own
/// (so it never collides with the lab or another test run). Removed on drop.
struct Lab {
    client: String,
    router: String,
    server: String,
    children: Vec<Child>,
}

const C: &str = "10.73.1.2";
const RELAY1: &str = "10.73.2.3";
const RELAY2: &str = "10.73.2.4";

impl Lab {
    fn up(tag: &str) -> Lab {
        let p = format!("vwl{}{tag}", std::process::id());
        let lab = Lab {
            client: format!("{p}c"),
            router: format!("{p}r"),
            server: format!("{p}s"),
            children: Vec::new(),
        };
        for ns in [&lab.client, &lab.router, &lab.server] {
            ok(&["ip", "netns", "add", ns]);
            lab.nsx(ns, &["ip", "link", "set", "lo", "up"]);
            let _ = run(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.default.disable_ipv6=1",
                "net.ipv6.conf.all.disable_ipv6=1",
            ]);
        }
        ok(&[
            "ip",
            "link",
            "add",
            "lc0",
            "netns",
            &lab.client,
            "type",
            "veth",
            "peer",
            "name",
            "lr1",
            "netns",
            &lab.router,
        ]);
        ok(&[
            "ip",
            "link",
            "add",
            "ls0",
            "netns",
            &lab.server,
            "type",
            "veth",
            "peer",
            "name",
            "lr2",
            "netns",
            &lab.router,
        ]);
        lab.nsx(
            &lab.client,
            &["ip", "addr", "add", "10.73.1.2/24", "dev", "lc0"],
        );
        lab.nsx(
            &lab.router,
            &["ip", "addr", "add", "10.73.1.1/24", "dev", "lr1"],
        );
        lab.nsx(
            &lab.router,
            &["ip", "addr", "add", "10.73.2.1/24", "dev", "lr2"],
        );
        for a in ["10.73.2.2/24", "10.73.2.3/24", "10.73.2.4/24"] {
            lab.nsx(&lab.server, &["ip", "addr", "add", a, "dev", "ls0"]);
        }
        lab.nsx(&lab.client, &["ip", "link", "set", "lc0", "up"]);
        lab.nsx(&lab.router, &["ip", "link", "set", "lr1", "up"]);
        lab.nsx(&lab.router, &["ip", "link", "set", "lr2", "up"]);
        lab.nsx(&lab.server, &["ip", "link", "set", "ls0", "up"]);
        lab.nsx(
            &lab.client,
            &["ip", "route", "add", "default", "via", "10.73.1.1"],
        );
        lab.nsx(
            &lab.server,
            &["ip", "route", "add", "default", "via", "10.73.2.1"],
        );
        lab.nsx(&lab.router, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        // Real checksums in the capture, as on a physical link (lab.sh does the same).
        for (ns, dev) in [
            (&lab.client, "lc0"),
            (&lab.router, "lr1"),
            (&lab.router, "lr2"),
            (&lab.server, "ls0"),
        ] {
            let _ = run(&[
                "ip", "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro",
                "off", "tx", "off", "rx", "off",
            ]);
        }
        lab
    }

    fn nsx(&self, ns: &str, cmd: &[&str]) {
        let mut v = vec!["ip", "netns", "exec", ns];
        v.extend_from_slice(cmd);
        ok(&v);
    }

    fn spawn(&mut self, ns: &str, cmd: &[&str], out: Option<(&Path, &Path)>) -> usize {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(cmd).stdin(Stdio::null());
        match out {
            Some((o, e)) => {
                c.stdout(std::fs::File::create(o).unwrap());
                c.stderr(std::fs::File::create(e).unwrap());
            }
            None => {
                c.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        self.children
            .push(c.spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}")));
        self.children.len() - 1
    }

    fn wait(&mut self, i: usize, limit: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < limit {
            if let Ok(Some(s)) = self.children[i].try_wait() {
                return s.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.client, &self.router, &self.server] {
            let _ = run(&["ip", "netns", "del", ns]);
        }
    }
}

fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn whatsapp_blocked(v: &serde_json::Value) -> bool {
    v["verdicts"].as_array().is_some_and(|vs| {
        vs.iter()
            .any(|x| x["app"] == "whatsapp" && x["status"] == "blocked")
    })
}

fn analyze_ndjson(file: &Path) -> String {
    let o = run(&[BIN, "analyze", "--format", "ndjson", file.to_str().unwrap()]);
    String::from_utf8(o.stdout).unwrap()
}

/// Issue 16: the running verdict turns to blocked after a black hole is inserted mid-call, and
/// the final report is byte-identical to `voipwatch analyze` of the file left behind. A second
/// capture on the same link with a small `--ring` keeps only the end and says what it dropped.
#[test]
fn live_capture_sees_a_call_blackholed_mid_call() {
    require_netns!();
    let dir = tmpdir("blackhole");
    let mut lab = Lab::up("bh");
    let (client, router, server) = (lab.client.clone(), lab.router.clone(), lab.server.clone());
    let py = peers_py();
    let py = py.to_str().unwrap();
    for r in [RELAY1, RELAY2] {
        let listen = format!("{r}:3478");
        lab.spawn(
            &server,
            &[
                "python3",
                py,
                "wa-relay",
                "--listen",
                &listen,
                "--duration",
                "16",
            ],
            None,
        );
    }
    std::thread::sleep(Duration::from_millis(800));

    let (full, ring) = (dir.join("full.pcapng"), dir.join("ring.pcapng"));
    let (full_out, full_err) = (dir.join("full.out"), dir.join("full.err"));
    let (ring_out, ring_err) = (dir.join("ring.out"), dir.join("ring.err"));
    let started = Instant::now();
    let cap_full = lab.spawn(
        &client,
        &[
            BIN,
            "capture",
            "-i",
            "lc0",
            "-f",
            "udp",
            "--duration",
            "14",
            "--format",
            "ndjson",
            "-w",
            full.to_str().unwrap(),
        ],
        Some((&full_out, &full_err)),
    );
    let cap_ring = lab.spawn(
        &client,
        &[
            BIN,
            "capture",
            "-i",
            "lc0",
            "-f",
            "udp",
            "--duration",
            "14",
            "--format",
            "json",
            "--ring",
            "0.05",
            "-w",
            ring.to_str().unwrap(),
        ],
        Some((&ring_out, &ring_err)),
    );
    std::thread::sleep(Duration::from_millis(700));
    let local = format!("{C}:40100");
    let (r1, r2) = (format!("{RELAY1}:3478"), format!("{RELAY2}:3478"));
    let call = lab.spawn(
        &client,
        &[
            "python3",
            py,
            "wa-client",
            "--local",
            &local,
            "--relay",
            &r1,
            "--relay",
            &r2,
            "--duration",
            "12",
        ],
        None,
    );
    std::thread::sleep(Duration::from_millis(5000));
    // The black hole: the router silently discards everything between the two ends.
    lab.nsx(
        &router,
        &["ip", "route", "add", "blackhole", &format!("{C}/32")],
    );
    lab.nsx(
        &router,
        &["ip", "route", "add", "blackhole", &format!("{RELAY1}/32")],
    );
    lab.nsx(
        &router,
        &["ip", "route", "add", "blackhole", &format!("{RELAY2}/32")],
    );
    let cut_s = started.elapsed().as_secs_f64();
    assert!(
        lab.wait(cap_full, Duration::from_secs(30)),
        "capture failed: {}",
        std::fs::read_to_string(&full_err).unwrap_or_default()
    );
    assert!(
        lab.wait(cap_ring, Duration::from_secs(30)),
        "ring capture failed: {}",
        std::fs::read_to_string(&ring_err).unwrap_or_default()
    );
    let _ = lab.wait(call, Duration::from_secs(5));
    drop(lab);

    let lines = json_lines(&full_out);
    let (updates, last) = lines.split_at(lines.len() - 1);
    let final_report = &last[0];
    assert!(
        final_report.get("schema").is_some(),
        "last line is the report"
    );
    assert!(updates.iter().all(|u| u["event"] == "update"));
    let at = |u: &serde_json::Value| u["elapsed_s"].as_f64().unwrap();
    let early: Vec<_> = updates.iter().filter(|u| at(u) + 0.5 < cut_s).collect();
    // The detectors call media blocked after about 5 s of one-way silence.
    let late: Vec<_> = updates.iter().filter(|u| at(u) > cut_s + 6.5).collect();
    let timeline: Vec<String> = updates
        .iter()
        .map(|u| format!("{:.1}s blocked={}", at(u), whatsapp_blocked(u)))
        .collect();
    eprintln!("cut at {cut_s:.1} s; updates: {timeline:?}");
    assert!(early.len() >= 3, "early updates: {timeline:?}");
    assert!(!late.is_empty(), "late updates: {timeline:?}");
    assert!(
        early.iter().all(|u| !whatsapp_blocked(u)),
        "a verdict was blocked before the cut: {timeline:?}"
    );
    assert!(
        early
            .iter()
            .any(|u| u["calls"].as_array().is_some_and(|c| !c.is_empty())),
        "the call was seen before the cut: {timeline:?}"
    );
    assert!(late.iter().all(|u| whatsapp_blocked(u)), "{timeline:?}");
    assert!(whatsapp_blocked(final_report));
    for u in updates {
        assert_eq!(
            u["pcap"]["dropped"], 0,
            "libpcap dropped packets at ~100 packets/s"
        );
    }

    // The final report is `analyze` of the written file, byte for byte.
    let text = std::fs::read_to_string(&full_out).unwrap();
    let final_line = text.lines().last().unwrap();
    assert_eq!(final_line.to_string() + "\n", analyze_ndjson(&full));
    let err = std::fs::read_to_string(&full_err).unwrap();
    assert!(err.contains("libpcap:") && err.contains("dropped"), "{err}");

    // The ring: 50 kB of a ~15 s call keeps the end only, says so, and its report is the
    // kept file's.
    let ring_json = std::fs::read(&ring_out).unwrap();
    let o = run(&[BIN, "analyze", "--format", "json", ring.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8_lossy(&ring_json),
        String::from_utf8_lossy(&o.stdout)
    );
    let rerr = std::fs::read_to_string(&ring_err).unwrap();
    assert!(
        rerr.contains("ring of 50.0 kB") && rerr.contains("dropped the first"),
        "{rerr}"
    );
    let kept: serde_json::Value = serde_json::from_slice(&ring_json).unwrap();
    let kept_packets = kept["capture"]["packets"].as_u64().unwrap();
    let all_packets = final_report["capture"]["packets"].as_u64().unwrap();
    assert!(kept_packets < all_packets, "{kept_packets} < {all_packets}");
    assert!(std::fs::metadata(&ring).unwrap().len() <= 50_000 + 1_000);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without CAP_NET_RAW the error says what is needed and how to grant it.
#[test]
fn capture_without_privilege_says_how_to_grant_it() {
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        // Not root: run as we are, which is the unprivileged case itself.
        let o = run(&[BIN, "capture", "-i", "lo", "--duration", "1"]);
        if is_root() {
            eprintln!("SKIPPED: setpriv not found, cannot drop privileges");
            return;
        }
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("CAP_NET_RAW") && err.contains("setcap"),
            "{err}"
        );
        return;
    }
    let dir = tmpdir("perm");
    let w = dir.join("x.pcapng");
    let o = run(&[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        BIN,
        "capture",
        "-i",
        "lo",
        "--duration",
        "1",
        "-w",
        w.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("CAP_NET_RAW") && err.contains("setcap cap_net_raw,cap_net_admin=eip"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A missing interface is named, with the ones that exist.
#[test]
fn capture_names_a_missing_interface() {
    let o = run(&[BIN, "capture", "-i", "vw-no-such-if", "--duration", "1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    if is_root() {
        assert!(err.contains("no such interface 'vw-no-such-if'"), "{err}");
        assert!(err.contains("available:"), "{err}");
    } else {
        assert!(err.contains("vw-no-such-if"), "{err}");
    }
}

#[test]
fn capture_rejects_bad_options() {
    let o = run(&[BIN, "capture", "--ring", "-3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--ring"));
    let o = run(&[BIN, "capture", "--help"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("--ring MB"));
}
