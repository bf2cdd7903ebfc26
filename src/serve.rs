//! `voipwatch serve`: the upload-and-check page served from the binary.
//!
//! The page's files are embedded at build time by `build.rs`: all of `web/dist/` when
//! `web/build.sh` ran before `cargo build` (page + WebAssembly engine), else the page's sources
//! without the engine, in which case the engine's module is replaced by one that tells the user
//! how to build it. The server listens on 127.0.0.1 only, answers GET/HEAD for the embedded
//! files with the page's Content-Security-Policy, and never reads the disk: captures are
//! analysed inside the browser and are never uploaded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

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

/// Longest request head accepted (request line + headers).
const MAX_HEAD: usize = 16 * 1024;
/// Most header lines read from one request.
const MAX_HEADERS: usize = 100;

/// Serves the embedded page on 127.0.0.1:`port` until interrupted (port 0 picks a free one).
pub fn run(port: u16) -> Result<(), String> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("serve: cannot listen on 127.0.0.1:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("serve: {e}"))?;
    println!("voipwatch: serving the page on http://{addr}/ (Ctrl-C to stop)");
    if !assets::HAS_ENGINE {
        eprintln!("voipwatch: warning: this build has no WebAssembly engine; run web/build.sh, then cargo build");
    }
    let _ = std::io::stdout().flush();
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                // One short-lived thread per connection: a slow client cannot block the others.
                let _ = std::thread::Builder::new()
                    .name("serve".into())
                    .spawn(move || {
                        let _ = handle(stream);
                    });
            }
            Err(e) => eprintln!("voipwatch: serve: accept failed: {e}"),
        }
    }
    Ok(())
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
        _ => "Error",
    }
}

fn handle(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    let mut head = 0usize;
    let n = reader.by_ref().take(MAX_HEAD as u64).read_line(&mut line)?;
    head += n;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let bad = method.is_empty() || !target.starts_with('/');
    // Read (and ignore) the headers, bounded in count and size.
    for _ in 0..MAX_HEADERS {
        let mut h = String::new();
        let budget = MAX_HEAD.saturating_sub(head) as u64;
        let n = reader.by_ref().take(budget).read_line(&mut h)?;
        head += n;
        if n == 0 || h == "\r\n" || h == "\n" || head >= MAX_HEAD {
            break;
        }
    }
    let (status, ctype, body) = if bad {
        (400, "text/plain; charset=utf-8", &b"bad request\n"[..])
    } else {
        route(method, target)
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
         Content-Security-Policy: {CSP}\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        reason(status),
        body.len()
    )?;
    if method != "HEAD" {
        out.write_all(body)?;
    }
    out.flush()
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
                let _ = handle(c);
            }
        });
        let get = |req: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(req.as_bytes()).unwrap();
            let mut r = String::new();
            s.read_to_string(&mut r).unwrap();
            r
        };
        let r = get("GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains(&format!("Content-Security-Policy: {CSP}\r\n")));
        assert!(r.contains("import "), "body follows the head");
        let r = get("BREW /\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 405"), "{r}");
    }
}
