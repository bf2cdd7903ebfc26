//! voipwatch-wasm: the voipwatch engine for the browser.
//!
//! A thin wasm-bindgen layer over [`voipwatch_core::Analyzer`]: bytes in, report JSON out.
//! It converts at the boundary only — no DOM code, no analysis logic. The web page's module
//! worker owns one [`Analyzer`] per file and feeds it chunks read with `File.slice`.
//!
//! ```js
//! import init, { Analyzer } from "./voipwatch_wasm.js";
//! await init();
//! const a = new Analyzer({ name: "call.pcap", sizeHint: file.size }); // or new Analyzer("call.pcap")
//! a.push(chunk);                                  // Uint8Array; throws Error on a capture error
//! a.progress();                                   // { bytes, packets, flows }
//! const json = a.finish();                        // identical to `voipwatch analyze --format json`
//! ```
//!
//! The crate keeps the workspace's `forbid(unsafe_code)`: the only `unsafe` is inside the
//! code `#[wasm_bindgen]` generates.

use std::sync::Once;
use voipwatch_core::analyzer::{Analyzer as CoreAnalyzer, Config};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(msg: &str);
}

static PANIC_HOOK: Once = Once::new();

/// Sends Rust panic messages to `console.error` (once per instance), so a bug in the engine
/// shows its message in the browser console instead of a bare "unreachable" trap.
#[wasm_bindgen(js_name = setPanicHook)]
pub fn set_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            console_error(&format!("voipwatch engine panicked: {info}"));
            previous(info);
        }));
    });
}

/// Version of the engine crate, shown on the page.
#[wasm_bindgen(js_name = engineVersion)]
pub fn engine_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The engine's app table (`voipwatch_core::model::APPS`) as JSON,
/// `[{"id":"whatsapp","name":"WhatsApp","calls":true}, …]`, so the page shows the names the
/// engine and the CLI use instead of keeping its own list.
#[wasm_bindgen]
pub fn apps() -> String {
    serde_json::to_string(voipwatch_core::model::APPS).unwrap_or_else(|_| "[]".to_string())
}

/// One side of a comparison: a capture's name and flows (from [`Analyzer::finish_side`]).
#[wasm_bindgen]
pub struct CompareSide {
    name: String,
    flows: Vec<voipwatch_core::label::LabeledFlow>,
}

/// The differential throughput test of `voipwatch compare`, on the page: the flows of `target`
/// that `target_selector` picks against those of `control` that `control_selector` picks
/// (`largest`, `sni=…`, `server=…`, `flow=…`, `app=…`; empty means `largest`). Returns the
/// `voipwatch.compare/1` JSON, byte-identical to `voipwatch compare T C --format json`.
#[wasm_bindgen]
pub fn compare(
    target: &CompareSide,
    control: &CompareSide,
    target_selector: &str,
    control_selector: &str,
) -> Result<String, JsError> {
    use voipwatch_core::compare::{self, CompareConfig, Selector};
    let sel = |s: &str| {
        if s.trim().is_empty() {
            Ok(Selector::Largest)
        } else {
            Selector::parse(s.trim()).map_err(|e| JsError::new(&e))
        }
    };
    let (ts, cs) = (sel(target_selector)?, sel(control_selector)?);
    let cfg = CompareConfig::default();
    let t = compare::side(&target.flows, &ts, "target", &target.name, &cfg)
        .map_err(|e| JsError::new(&e))?;
    let c = compare::side(&control.flows, &cs, "control", &control.name, &cfg)
        .map_err(|e| JsError::new(&e))?;
    let result = compare::compare_sides(t, c, &cfg);
    Ok(compare::document(
        &result,
        &target.name,
        &control.name,
        &ts,
        &cs,
    ))
}

/// SHA-256 of a file fed in chunks, for the printed report (the page hashes the original
/// capture so the printout can be matched to it; the engine's `sha2`, nothing from the browser).
#[wasm_bindgen]
pub struct Sha256(sha2::Sha256);

#[wasm_bindgen]
impl Sha256 {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Sha256 {
        use sha2::Digest;
        Sha256(sha2::Sha256::new())
    }
    pub fn update(&mut self, chunk: &[u8]) {
        use sha2::Digest;
        self.0.update(chunk);
    }
    /// The digest as lowercase hex; the hasher starts over afterwards.
    pub fn hex(&mut self) -> String {
        use sha2::Digest;
        let d = std::mem::take(&mut self.0).finalize();
        d.iter().fold(String::with_capacity(64), |mut s, b| {
            use std::fmt::Write;
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

/// Most memory reserved up front from a size hint (see [`reserve`]).
const MAX_RESERVE: usize = 128 << 20;

/// Options of the constructor: a string (the capture name), or an object with an optional
/// string `name` and an optional number `sizeHint` (the file size in bytes). Anything else
/// (undefined, null) gives an empty name and no hint.
fn options(options: &JsValue) -> Result<(String, f64), JsError> {
    if let Some(s) = options.as_string() {
        return Ok((s, 0.0));
    }
    if options.is_undefined() || options.is_null() {
        return Ok((String::new(), 0.0));
    }
    if !options.is_object() {
        return Err(JsError::new(
            "Analyzer options must be a capture name or an object like { name, sizeHint }",
        ));
    }
    let get = |k: &str| {
        js_sys::Reflect::get(options, &JsValue::from_str(k))
            .map_err(|_| JsError::new(&format!("Analyzer options: cannot read '{k}'")))
    };
    let name = get("name")?;
    let name = if name.is_undefined() || name.is_null() {
        String::new()
    } else {
        name.as_string()
            .ok_or_else(|| JsError::new("Analyzer options: 'name' must be a string"))?
    };
    let hint = get("sizeHint")?;
    let hint = if hint.is_undefined() || hint.is_null() {
        0.0
    } else {
        hint.as_f64()
            .ok_or_else(|| JsError::new("Analyzer options: 'sizeHint' must be a number"))?
    };
    Ok((name, hint))
}

/// Grows the WebAssembly memory in one step to about what the analysis of a file of
/// `size_hint` bytes will use (capped at [`MAX_RESERVE`]; the memory of an instance never
/// shrinks, so it is done at most once per size). A block is allocated and freed: the
/// allocator keeps it in its free pool and serves later allocations from it, instead of
/// growing the memory many times in small steps, which V8 may do by copying the whole memory.
/// Measured on a 95 MB mixed capture (19k flows) in Node: the engine's push time fell from
/// 1.6 s to 0.6 s. If the reservation fails, nothing happens: the engine grows memory as needed.
fn reserve(size_hint: f64) {
    // NaN, zero and negative hints reserve nothing.
    if size_hint.is_nan() || size_hint <= 0.0 {
        return;
    }
    let bytes = size_hint.min(MAX_RESERVE as f64) as usize;
    let mut block: Vec<u8> = Vec::new();
    if block.try_reserve_exact(bytes).is_ok() {
        drop(std::hint::black_box(block));
    }
}

/// Keeps only the last path component, as the CLI does, so the report does not depend on
/// directories (browsers already give bare names; Node callers may pass paths).
fn base_name(name: &str) -> String {
    name.rsplit(['/', '\\']).next().unwrap_or(name).to_string()
}

/// The streaming analyzer: `new Analyzer(options)` → `push(chunk)`* → `finish()`.
#[wasm_bindgen]
pub struct Analyzer {
    inner: Option<CoreAnalyzer>,
    /// Last progress, kept after `finish` so late `progress()` calls still answer.
    last: voipwatch_core::Progress,
    /// The report, kept after `finish` for [`Analyzer::messages`].
    report: Option<voipwatch_core::Report>,
}

#[wasm_bindgen]
impl Analyzer {
    /// `options`: the capture's file name, or `{ name, sizeHint }` where `sizeHint` is the
    /// file size in bytes (lets the engine reserve its memory in one step; optional).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Analyzer, JsError> {
        set_panic_hook();
        let (name, size_hint) = self::options(&options)?;
        reserve(size_hint);
        let name = base_name(&name);
        let inner = CoreAnalyzer::new(Config {
            name,
            ..Default::default()
        });
        Ok(Analyzer {
            inner: Some(inner),
            last: Default::default(),
            report: None,
        })
    }

    /// Feeds the next chunk of the file (any size). Throws an `Error` whose message is the
    /// engine's capture error (e.g. "at byte offset 0: not a pcap or pcapng file"); the
    /// analysis of what was read so far is kept and `finish()` still gives a (partial) report.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsError> {
        let a = self
            .inner
            .as_mut()
            .ok_or_else(|| JsError::new("push after finish"))?;
        let r = a.push(chunk);
        self.last = a.progress();
        r.map_err(|e| JsError::new(&e.to_string()))
    }

    /// `{ bytes, packets, flows }` so far (numbers).
    pub fn progress(&self) -> Result<JsValue, JsError> {
        let p = self
            .inner
            .as_ref()
            .map(CoreAnalyzer::progress)
            .unwrap_or(self.last);
        let o = js_sys::Object::new();
        for (k, v) in [
            ("bytes", p.bytes),
            ("packets", p.packets),
            ("flows", p.flows),
        ] {
            js_sys::Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_f64(v as f64))
                .map_err(|_| JsError::new("progress: cannot build the result object"))?;
        }
        Ok(o.into())
    }

    /// Ends the input and returns the report as pretty JSON with a trailing newline: the
    /// exact bytes `voipwatch analyze --format json` prints for the same file.
    pub fn finish(&mut self) -> Result<String, JsError> {
        let a = self
            .inner
            .take()
            .ok_or_else(|| JsError::new("finish called twice"))?;
        self.last = a.progress();
        let report = a.finish();
        let json = report.to_json();
        self.report = Some(report);
        Ok(json)
    }

    /// Ends the input and keeps the capture's flows as one side of a comparison
    /// ([`compare`]); the analyzer cannot be used afterwards. Throws when nothing was read.
    #[wasm_bindgen(js_name = finishSide)]
    pub fn finish_side(&mut self) -> Result<CompareSide, JsError> {
        let a = self
            .inner
            .take()
            .ok_or_else(|| JsError::new("finish called twice"))?;
        self.last = a.progress();
        let (report, flows) = a.finish_with_flows();
        if report.capture.packets == 0 {
            return Err(JsError::new(&format!(
                "{}: {}",
                report.capture.name,
                report.capture.error.as_deref().unwrap_or("no packets")
            )));
        }
        Ok(CompareSide {
            name: report.capture.name,
            flows,
        })
    }

    /// After [`finish`](Analyzer::finish): the verdicts and findings in plain words in `lang`
    /// (`en`, `fr`, `ar`), as JSON (`voipwatch_core::report::message::Localized`), from the
    /// engine's one message table, so the page and `voipwatch analyze --lang` say the same.
    pub fn messages(&self, lang: &str) -> Result<String, JsError> {
        let r = self
            .report
            .as_ref()
            .ok_or_else(|| JsError::new("messages before finish"))?;
        let lang = voipwatch_core::report::message::Lang::parse(lang)
            .ok_or_else(|| JsError::new("language is not one of en, fr, ar"))?;
        serde_json::to_string(&voipwatch_core::report::message::localize(r, lang))
            .map_err(|e| JsError::new(&e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::{apps, base_name};

    #[test]
    fn apps_lists_the_engine_table() {
        let v: serde_json::Value = serde_json::from_str(&apps()).unwrap();
        let rows = v.as_array().unwrap();
        assert_eq!(rows.len(), voipwatch_core::model::APPS.len());
        assert_eq!(rows[0]["id"], "whatsapp");
        assert_eq!(rows[0]["name"], "WhatsApp");
        assert_eq!(rows[0]["calls"], true);
    }

    #[test]
    fn base_name_drops_directories() {
        assert_eq!(base_name("/tmp/x/call.pcap"), "call.pcap");
        assert_eq!(base_name("C:\\caps\\call.pcapng"), "call.pcapng");
        assert_eq!(base_name("call.pcap"), "call.pcap");
        assert_eq!(base_name(""), "");
    }
}
