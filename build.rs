//! Embeds the web page for `voipwatch serve` (see src/serve.rs).
//!
//! When `web/dist/` holds a built page (web/build.sh: page files + the wasm engine), every file
//! in it is embedded. Otherwise the page's sources in `web/` are embedded without the engine,
//! and `serve` answers the engine's module with one that explains how to build it. Nothing heavy
//! runs here: it only lists files and writes `include_bytes!` lines, so a fresh clone builds.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const SOURCES: &[&str] = &[
    "index.html",
    "app.js",
    "worker.js",
    "i18n.js",
    "charts.js",
    "style.css",
];

fn main() {
    check_libpcap();
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let web = root.join("web");
    let dist = web.join("dist");
    // `web/` always exists, so cargo reruns this only when something under it changes
    // (a missing rerun-if-changed path would rerun it, and rebuild the CLI, on every build).
    println!("cargo:rerun-if-changed=web");
    println!("cargo:rerun-if-changed=build.rs");

    let built =
        dist.join("voipwatch_wasm_bg.wasm").is_file() && dist.join("voipwatch_wasm.js").is_file();
    let mut files: Vec<PathBuf> = Vec::new();
    if built {
        if let Ok(rd) = std::fs::read_dir(&dist) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_file() {
                    files.push(p);
                }
            }
        }
    } else {
        files.extend(SOURCES.iter().map(|f| web.join(f)).filter(|p| p.is_file()));
    }
    files.sort();

    let mut out = String::new();
    let _ = writeln!(out, "/// True when the page was embedded with its WebAssembly engine (web/build.sh ran before cargo).");
    let _ = writeln!(out, "pub const HAS_ENGINE: bool = {built};");
    let _ = writeln!(
        out,
        "/// (URL path, file contents) of every embedded page file."
    );
    let _ = writeln!(out, "pub static ASSETS: &[(&str, &[u8])] = &[");
    for p in &files {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.is_empty() || name.starts_with('.') {
            continue;
        }
        let _ = writeln!(
            out,
            "    ({:?}, include_bytes!({:?})),",
            format!("/{name}"),
            abs(p)
        );
    }
    let _ = writeln!(out, "];");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    if let Err(e) = std::fs::write(out_dir.join("web_assets.rs"), out) {
        println!("cargo:warning=cannot write web_assets.rs: {e}");
    }
}

/// With the `capture` feature (default on) on Linux, live capture links libpcap's development
/// library (`libpcap.so`). When it is there, the `libpcap` cfg turns live capture on. When it is
/// not, the build goes on without live capture (a warning says how to get it, and
/// `voipwatch capture` says the same at run time), so `cargo run -- analyze` works on a machine
/// with only Rust. `VOIPWATCH_WITHOUT_LIBPCAP=1` builds that way on purpose.
fn check_libpcap() {
    println!("cargo::rustc-check-cfg=cfg(libpcap)");
    println!("cargo:rerun-if-env-changed=VOIPWATCH_WITHOUT_LIBPCAP");
    println!("cargo:rerun-if-env-changed=LIBPCAP_LIBDIR");
    println!("cargo:rerun-if-env-changed=LIBRARY_PATH");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|t| t == "linux");
    if std::env::var_os("CARGO_FEATURE_CAPTURE").is_none() {
        return;
    }
    if !linux {
        // Elsewhere the pcap crate finds the library its own way (or fails with its own words).
        println!("cargo:rustc-cfg=libpcap");
        return;
    }
    if std::env::var_os("VOIPWATCH_WITHOUT_LIBPCAP").is_some_and(|v| v == "1") {
        println!("cargo:warning=VOIPWATCH_WITHOUT_LIBPCAP=1: building without live capture");
        return;
    }
    let mut dirs: Vec<PathBuf> = ["/usr/lib", "/usr/lib64", "/usr/local/lib", "/lib", "/lib64"]
        .iter()
        .map(PathBuf::from)
        .collect();
    for var in ["LIBPCAP_LIBDIR", "LIBRARY_PATH"] {
        if let Some(v) = std::env::var_os(var) {
            dirs.extend(std::env::split_paths(&v));
        }
    }
    for base in ["/usr/lib", "/lib"] {
        if let Ok(rd) = std::fs::read_dir(base) {
            dirs.extend(rd.flatten().map(|e| e.path()).filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with("-linux-gnu") || n.ends_with("-linux-musl"))
            }));
        }
    }
    if dirs
        .iter()
        .any(|d| d.join("libpcap.so").exists() || d.join("libpcap.a").exists())
    {
        println!("cargo:rustc-cfg=libpcap");
        return;
    }
    println!(
        "cargo:warning=libpcap's development files (libpcap.so) were not found: building \
         without `voipwatch capture` (analyze, compare, verify and serve work). For live \
         capture: apt-get install libpcap-dev (Fedora: dnf install libpcap-devel) or set \
         LIBPCAP_LIBDIR, then rebuild."
    );
}

fn abs(p: &Path) -> String {
    p.canonicalize()
        .unwrap_or_else(|_| p.to_path_buf())
        .to_string_lossy()
        .into_owned()
}
