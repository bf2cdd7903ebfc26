//! voipwatch-wasm: the voipwatch engine for the browser.
//!
//! A thin wasm-bindgen layer over [`voipwatch_core::Analyzer`]: bytes in, report JSON out.
//! It converts at the boundary only — no DOM code, no analysis logic. The web page's module
//! worker owns one [`Analyzer`] per file and feeds it chunks read with `File.slice`.
//!
//! ```js
//! import init, { Analyzer } from "./voipwatch_wasm.js";
//! await init();
//! const a = new Analyzer({ name: "call.pcap" }); // or new Analyzer("call.pcap")
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

/// Reads the capture name from the constructor argument: a string, or an object with an
/// optional string `name`. Anything else (undefined, null, numbers) gives an empty name.
fn options_name(options: &JsValue) -> Result<String, JsError> {
    if let Some(s) = options.as_string() {
        return Ok(s);
    }
    if options.is_undefined() || options.is_null() {
        return Ok(String::new());
    }
    if !options.is_object() {
        return Err(JsError::new(
            "Analyzer options must be a capture name or an object like { name }",
        ));
    }
    let name = js_sys::Reflect::get(options, &JsValue::from_str("name"))
        .map_err(|_| JsError::new("Analyzer options: cannot read 'name'"))?;
    if name.is_undefined() || name.is_null() {
        return Ok(String::new());
    }
    name.as_string()
        .ok_or_else(|| JsError::new("Analyzer options: 'name' must be a string"))
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
}

#[wasm_bindgen]
impl Analyzer {
    /// `options`: the capture's file name, or `{ name }`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Analyzer, JsError> {
        set_panic_hook();
        let name = base_name(&options_name(&options)?);
        let inner = CoreAnalyzer::new(Config {
            name,
            ..Default::default()
        });
        Ok(Analyzer {
            inner: Some(inner),
            last: Default::default(),
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
        Ok(a.finish().to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::base_name;

    #[test]
    fn base_name_drops_directories() {
        assert_eq!(base_name("/tmp/x/call.pcap"), "call.pcap");
        assert_eq!(base_name("C:\\caps\\call.pcapng"), "call.pcapng");
        assert_eq!(base_name("call.pcap"), "call.pcap");
        assert_eq!(base_name(""), "");
    }
}
