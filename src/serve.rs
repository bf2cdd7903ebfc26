//! `voipwatch serve`: the upload-and-check page served from the binary.
//!
//! The page's files are embedded at build time by `build.rs`: all of `web/dist/` when
//! `web/build.sh` ran before `cargo build` (page + WebAssembly engine), else the page's sources
//! without the engine, in which case the engine's module is replaced by one that tells the user
//! how to build it. The server listens on 127.0.0.1 only, answers GET/HEAD for the embedded
//! files with the page's Content-Security-Policy, and never reads the disk: captures are
//! analysed inside the browser and are never uploaded.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

mod assets {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// The page's policy: nothing but its own files; wasm compilation allowed; no inline code.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
worker-src 'self'; style-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; \
form-action 'none'";

/// Served as `/voipwatch_wasm.js` when the binary was built without the engine.
const NO_ENGINE_JS: &str = "const msg = \"this voipwatch binary was built without the page's \
WebAssembly engine: run web/build.sh, then cargo build --release, then voipwatch serve\";\n\
export default async function init() { throw new Error(msg); }\n\
export class Analyzer { constructor() { throw new Error(msg); } }\n";

/// The header policy adds what only a header can say: no page may frame this one.
pub fn header_csp() -> String {
    format!("{CSP}; frame-ancestors 'none'")
}

/// Longest request head accepted (request line + headers).
const MAX_HEAD: usize = 16 * 1024;
/// Worker threads answering requests: at most this many connections are served at once.
pub const WORKERS: usize = 8;
/// Accepted connections waiting for a worker; beyond this a connection gets 503 at once.
pub const QUEUE: usize = 32;
/// Whole-request deadline from accept to the end of the request head (a client that sends
/// one byte every few seconds is cut off here, whoever waits in the queue meanwhile).
const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// Whole-response deadline for writing the answer.
const WRITE_DEADLINE: Duration = Duration::from_secs(30);

/// The head deadline, `VOIPWATCH_SERVE_DEADLINE_MS` overriding it (tests use a short one).
fn head_deadline() -> Duration {
    std::env::var("VOIPWATCH_SERVE_DEADLINE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(HEAD_DEADLINE, Duration::from_millis)
}

/// Serves the embedded page on 127.0.0.1:`port` until interrupted (port 0 picks a free one).
///
/// A fixed pool of [`WORKERS`] threads takes connections from a queue of [`QUEUE`]; when the
/// queue is full the connection is answered 503 by the accepting thread and closed. Each
/// connection has a deadline counted from its accept: the request head must be complete
/// within it (else 408), so slow clients cannot hold the workers. The `Host` header must name
/// this server (`localhost`, `127.0.0.1` or `[::1]`, with this port or none), else 421: a web
/// page whose DNS name was re-pointed at 127.0.0.1 (DNS rebinding) cannot read the page.
pub fn run(port: u16) -> Result<(), String> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("serve: cannot listen on 127.0.0.1:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("serve: {e}"))?;
    println!("voipwatch: serving the page on http://{addr}/ (Ctrl-C to stop)");
    if !assets::HAS_ENGINE {
        eprintln!("voipwatch: warning: this build has no WebAssembly engine; run web/build.sh, then cargo build");
    }
    let _ = std::io::stdout().flush();
    serve(listener, addr.port(), head_deadline());
    Ok(())
}

/// The accept loop and its worker pool (returns when the listener fails for good).
fn serve(listener: TcpListener, port: u16, deadline: Duration) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<(TcpStream, Instant)>(QUEUE);
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    for _ in 0..WORKERS {
        let rx = rx.clone();
        let _ = std::thread::Builder::new()
            .name("serve".into())
            .spawn(move || loop {
                let job = match rx.lock() {
                    Ok(r) => r.recv(),
                    Err(_) => return,
                };
                match job {
                    Ok((stream, accepted)) => {
                        let _ = handle(stream, accepted + deadline, port);
                    }
                    Err(_) => return,
                }
            });
    }
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => match tx.try_send((stream, Instant::now())) {
                Ok(()) => {}
                Err(std::sync::mpsc::TrySendError::Full((stream, _))) => refuse(stream),
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return,
            },
            Err(e) => eprintln!("voipwatch: serve: accept failed: {e}"),
        }
    }
}

/// Every worker is busy and the queue is full: 503 now, from the accepting thread.
fn refuse(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = stream.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n\
          Connection: close\r\n\r\n",
    );
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Whether a `Host` header value names this server: `localhost`, `127.0.0.1` or `[::1]`,
/// with no port or this port.
pub fn host_ok(host: &str, port: u16) -> bool {
    let h = host.trim();
    let (name, rest) = match h.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((inside, after)) => (inside, after),
            None => return false,
        },
        None => match h.split_once(':') {
            Some((n, _)) => (n, h.get(n.len()..).unwrap_or("")),
            None => (h, ""),
        },
    };
    let name_ok = if h.starts_with('[') {
        name == "::1"
    } else {
        name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1"
    };
    let port_ok = match rest.strip_prefix(':') {
        None => rest.is_empty(),
        Some(p) => p.parse::<u16>() == Ok(port) && !p.starts_with('+'),
    };
    name_ok && port_ok
}

/// What to answer for a request path: (status, content type, body).
fn route(method: &str, target: &str) -> (u16, &'static str, &'static [u8]) {
    if method != "GET" && method != "HEAD" {
        return (405, "text/plain; charset=utf-8", b"method not allowed\n");
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let path = if path == "/" { "/index.html" } else { path };
    if !assets::HAS_ENGINE && path == "/voipwatch_wasm.js" {
        return (200, mime(path), NO_ENGINE_JS.as_bytes());
    }
    match assets::ASSETS.iter().find(|(p, _)| *p == path) {
        Some((p, body)) => (200, mime(p), body),
        None => (404, "text/plain; charset=utf-8", b"not found\n"),
    }
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    }
}

/// Reads the request head until its blank line, `MAX_HEAD` bytes or `deadline`; `None` when
/// the deadline passed first.
fn read_head(stream: &mut TcpStream, deadline: Instant) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        stream.set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))))?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(Some(head));
        }
        head.extend_from_slice(buf.get(..n).unwrap_or(&[]));
        let done =
            head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n");
        if done || head.len() >= MAX_HEAD {
            head.truncate(MAX_HEAD);
            return Ok(Some(head));
        }
    }
}

/// The answer to a request head: (status, content type, body, method was HEAD).
fn answer(head: &[u8], port: u16) -> (u16, &'static str, &'static [u8], bool) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines();
    let line = lines.next().unwrap_or("");
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let is_head = method == "HEAD";
    let plain = "text/plain; charset=utf-8";
    if method.is_empty() || !target.starts_with('/') {
        return (400, plain, b"bad request\n", is_head);
    }
    let host = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim());
    match host {
        Some(h) if host_ok(h, port) => {}
        _ => {
            return (
                421,
                plain,
                b"this server answers only to http://localhost, 127.0.0.1 or [::1] with its port\n",
                is_head,
            )
        }
    }
    let (s, t, b) = route(method, target);
    (s, t, b, is_head)
}

fn handle(mut stream: TcpStream, deadline: Instant, port: u16) -> std::io::Result<()> {
    let (status, ctype, body, is_head) = match read_head(&mut stream, deadline)? {
        Some(head) if head.len() >= MAX_HEAD => (
            431,
            "text/plain; charset=utf-8",
            &b"request head too large\n"[..],
            false,
        ),
        Some(head) => answer(&head, port),
        None => (
            408,
            "text/plain; charset=utf-8",
            &b"request not complete in time\n"[..],
            false,
        ),
    };
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
         Content-Security-Policy: {}\r\nX-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\n\
         Referrer-Policy: no-referrer\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        reason(status),
        body.len(),
        header_csp()
    )
    .into_bytes();
    if !is_head {
        out.extend_from_slice(body);
    }
    // The whole answer within its deadline, however slowly the client reads.
    let end = Instant::now() + WRITE_DEADLINE;
    for piece in out.chunks(16 * 1024) {
        let now = Instant::now();
        if now >= end {
            break;
        }
        stream.set_write_timeout(Some(end - now))?;
        stream.write_all(piece)?;
    }
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    if status == 431 {
        // Lingering close: read (a bounded amount of) what the client is still sending, so
        // that closing does not reset the connection before it read the answer.
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let _ = std::io::copy(&mut (&stream).take(256 * 1024), &mut std::io::sink());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_the_page_and_refuses_the_rest() {
        let (s, t, b) = route("GET", "/");
        assert_eq!((s, t), (200, "text/html; charset=utf-8"));
        assert!(std::str::from_utf8(b)
            .unwrap()
            .contains("data-testid=\"capture-input\""));
        assert_eq!(route("GET", "/index.html?lang=ar").0, 200);
        assert_eq!(
            route("GET", "/worker.js").1,
            "text/javascript; charset=utf-8"
        );
        let (s, t, _) = route("GET", "/voipwatch_wasm.js");
        assert_eq!((s, t), (200, "text/javascript; charset=utf-8"));
        if assets::HAS_ENGINE {
            assert_eq!(
                route("GET", "/voipwatch_wasm_bg.wasm").1,
                "application/wasm"
            );
        } else {
            // Without web/dist the engine module explains how to build it.
            let (_, _, js) = route("GET", "/voipwatch_wasm.js");
            assert!(std::str::from_utf8(js)
                .unwrap()
                .contains("run web/build.sh"));
            assert_eq!(route("GET", "/voipwatch_wasm_bg.wasm").0, 404);
        }
        assert_eq!(route("GET", "/../Cargo.toml").0, 404);
        assert_eq!(route("GET", "/nope").0, 404);
        assert_eq!(route("POST", "/").0, 405);
    }

    #[test]
    fn host_must_name_this_server() {
        for ok in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:8080",
            " 127.0.0.1 ",
        ] {
            assert!(host_ok(ok, 8080), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1:8081",
            "127.0.0.1:",
            "127.0.0.1:+8080",
            "localhost.:8080",
            "127.0.0.2",
            "[::1]8080",
            "[::2]:8080",
            "[::1",
            "",
            "0.0.0.0:8080",
            "localhost:8080:8080",
        ] {
            assert!(!host_ok(bad, 8080), "{bad}");
        }
    }

    #[test]
    fn the_page_csp_matches_the_served_header() {
        let (_, _, b) = route("GET", "/index.html");
        let html = std::str::from_utf8(b).unwrap();
        assert!(
            html.contains(&format!("content=\"{CSP}\"")),
            "index.html carries the same CSP as the header"
        );
    }

    #[test]
    fn serves_over_http_with_csp() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for c in listener.incoming().take(2).flatten() {
                let _ = handle(c, Instant::now() + Duration::from_secs(5), addr.port());
            }
        });
        let get = |req: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(req.as_bytes()).unwrap();
            let mut r = String::new();
            s.read_to_string(&mut r).unwrap();
            r
        };
        let r = get(&format!(
            "GET /app.js HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            addr.port()
        ));
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains(&format!("Content-Security-Policy: {}\r\n", header_csp())));
        assert!(r.contains("import "), "body follows the head");
        let r = get("BREW / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 405"), "{r}");
    }
}
