//! Issue 13 item 9: `voipwatch serve` against real sockets. The binary is started on a free
//! port; the tests check the Host rule (DNS rebinding), the headers that forbid framing, and
//! that slow clients cannot hold the bounded worker pool past the whole-request deadline.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Must match `src/serve.rs`.
const WORKERS: usize = 8;
const QUEUE: usize = 32;

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(deadline_ms: u64) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voipwatch"))
        .args(["serve", "--port", "0"])
        .env("VOIPWATCH_SERVE_DEADLINE_MS", deadline_ms.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "voipwatch: serving the page on http://127.0.0.1:PORT/ (Ctrl-C to stop)"
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    Server { child, port }
}

fn request(port: u16, raw: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut r = Vec::new();
    let _ = s.read_to_end(&mut r);
    String::from_utf8_lossy(&r).into_owned()
}

fn status(r: &str) -> &str {
    r.split(' ').nth(1).unwrap_or("")
}

#[test]
fn issue_13_serve_answers_only_to_its_own_host_and_forbids_framing() {
    let srv = start(5000);
    let p = srv.port;
    for host in [
        format!("127.0.0.1:{p}"),
        format!("localhost:{p}"),
        format!("[::1]:{p}"),
        "localhost".into(),
    ] {
        let r = request(p, &format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"));
        assert_eq!(status(&r), "200", "Host {host}: {r:.200}");
        assert!(r.contains("frame-ancestors 'none'"), "{r:.400}");
        assert!(r.contains("\r\nX-Frame-Options: DENY\r\n"), "{r:.400}");
    }
    // A rebinding attacker's name, another port, or no Host at all: 421, no page.
    for head in [
        format!("Host: attacker.example:{p}\r\n"),
        "Host: attacker.example\r\n".into(),
        format!("Host: 127.0.0.1:{}\r\n", p.wrapping_add(1)),
        format!("Host: 127.0.0.1.nip.io:{p}\r\n"),
        String::new(),
    ] {
        let r = request(p, &format!("GET / HTTP/1.1\r\n{head}\r\n"));
        assert_eq!(status(&r), "421", "{head:?}: {r:.200}");
        assert!(!r.contains("capture-input"), "the page leaked to {head:?}");
    }
}

/// Threads of process `pid`, from /proc.
fn threads(pid: u32) -> Option<usize> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("Threads:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn issue_13_slow_clients_cannot_hold_the_pool_past_the_deadline() {
    const DEADLINE_MS: u64 = 1500;
    let srv = start(DEADLINE_MS);
    let p = srv.port;
    let t0 = Instant::now();
    // More trickling clients than workers and queue together: each sends one byte now and
    // would send one every 5 s.
    let mut slow: Vec<TcpStream> = (0..WORKERS + QUEUE + 8)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", p)).unwrap();
            s.write_all(b"G").unwrap();
            s.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    if let Some(n) = threads(srv.child.id()) {
        assert!(
            n <= WORKERS + 3,
            "{n} threads for {} connections",
            slow.len()
        );
    }
    // Every slow client is answered and closed: 503 at once for those beyond the queue,
    // 408 once the deadline (counted from accept) passed for the others.
    let (mut c408, mut c503) = (0, 0);
    for s in &mut slow {
        let mut r = Vec::new();
        let _ = s.read_to_end(&mut r);
        match status(&String::from_utf8_lossy(&r)) {
            "408" => c408 += 1,
            "503" => c503 += 1,
            other => panic!("a slow client got {other:?}"),
        }
    }
    let took = t0.elapsed();
    assert!(c503 >= 1 && c408 >= WORKERS, "408 ×{c408}, 503 ×{c503}");
    assert!(
        took < Duration::from_millis(DEADLINE_MS * 3),
        "slow clients held the server for {took:?}"
    );
    // The pool is free again: a normal request is served at once.
    let t1 = Instant::now();
    let r = request(
        p,
        &format!("GET /app.js HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\n\r\n"),
    );
    assert_eq!(status(&r), "200", "{r:.200}");
    assert!(t1.elapsed() < Duration::from_secs(2));
    eprintln!(
        "serve: {} slow clients: {c408} got 408 after the {DEADLINE_MS} ms deadline, {c503} got 503 at once; all closed in {:.2} s",
        slow.len(),
        took.as_secs_f64()
    );
}

#[test]
fn issue_13_a_request_head_too_large_is_refused() {
    let srv = start(5000);
    let big = format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nX: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let r = request(srv.port, &big);
    assert_eq!(status(&r), "431", "{r:.200}");
}
