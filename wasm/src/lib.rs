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
//! // or, for a report too large for one string (the page does this):
//! a.end();                                        // keeps the report in the engine
//! a.writeJson((part) => parts.push(part), 4 << 20); // the same bytes, in Uint8Array parts
//! const view = JSON.parse(a.view());              // the report without flows, plus flow_count and call_flows
//! const page = JSON.parse(a.flowPage("", "all", "bytes", false, 0, 500)); // {matching,total,offset,rows}
//! ```
//!
//! The crate keeps the workspace's `forbid(unsafe_code)`: the only `unsafe` is inside the
//! code `#[wasm_bindgen]` generates.

use std::sync::Once;
use voipwatch_core::analyzer::{Analyzer as CoreAnalyzer, Config};
use voipwatch_core::evidence_pack;
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

/// An evidence pack being written from a second pass over the capture
/// ([`Analyzer::evidence_pack`]): `push(chunk)`* → `finish()` → the pcapng bytes, then
/// `frames`, `cited` and `sha256` describe it.
#[wasm_bindgen]
pub struct EvidencePack {
    writer: Option<evidence_pack::PackWriter>,
    file: Option<evidence_pack::PackFile>,
}

#[wasm_bindgen]
impl EvidencePack {
    /// Feeds the next bytes of the capture (any chunk sizes). A capture error is not thrown:
    /// the analysis stopped at the same point, so the pack covers what came before it, and
    /// every byte is still hashed for the pack's SHA-256.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsError> {
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| JsError::new("push after finish"))?;
        let _ = w.push(chunk);
        Ok(())
    }

    /// Ends the input and returns the pcapng file.
    pub fn finish(&mut self) -> Result<js_sys::Uint8Array, JsError> {
        let w = self
            .writer
            .take()
            .ok_or_else(|| JsError::new("finish called twice"))?;
        let file = w.finish();
        let bytes = js_sys::Uint8Array::from(file.bytes.as_slice());
        self.file = Some(file);
        Ok(bytes)
    }

    /// After `finish`: the number of frames in the pack.
    #[wasm_bindgen(getter)]
    pub fn frames(&self) -> u32 {
        self.file
            .as_ref()
            .map_or(0, |f| u32::try_from(f.frames.len()).unwrap_or(u32::MAX))
    }

    /// After `finish`: how many of them a finding cites (the rest are context).
    #[wasm_bindgen(getter)]
    pub fn cited(&self) -> u32 {
        self.file
            .as_ref()
            .map_or(0, |f| u32::try_from(f.cited.len()).unwrap_or(u32::MAX))
    }

    /// After `finish`: the SHA-256 of the capture (lowercase hex), as the pack's comment says.
    #[wasm_bindgen(getter)]
    pub fn sha256(&self) -> String {
        self.file
            .as_ref()
            .map(|f| f.sha256.clone())
            .unwrap_or_default()
    }

    /// After `finish`: how many capture-host addresses redaction replaced.
    #[wasm_bindgen(getter, js_name = redactedHosts)]
    pub fn redacted_hosts(&self) -> u32 {
        self.file.as_ref().map_or(0, |f| {
            u32::try_from(f.redacted_hosts.len()).unwrap_or(u32::MAX)
        })
    }
}

/// The streaming analyzer: `new Analyzer(options)` → `push(chunk)`* → `finish()`.
#[wasm_bindgen]
pub struct Analyzer {
    inner: Option<CoreAnalyzer>,
    /// Last progress, kept after `finish` so late `progress()` calls still answer.
    last: voipwatch_core::Progress,
    /// The report, kept after `finish` for [`Analyzer::messages`].
    report: Option<voipwatch_core::Report>,
    /// After [`end`](Analyzer::end): which frames the evidence pack holds
    /// ([`evidence_pack`](Analyzer::evidence_pack)); small, a few entries per finding.
    plan: Option<evidence_pack::Plan>,
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
            plan: None,
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
        let a = self.take_inner()?;
        let report = a.finish();
        let json = report.to_json();
        self.report = Some(report);
        Ok(json)
    }

    /// Ends the input and keeps the capture's flows as one side of a comparison
    /// ([`compare`]); the analyzer cannot be used afterwards. Throws when nothing was read.
    #[wasm_bindgen(js_name = finishSide)]
    pub fn finish_side(&mut self) -> Result<CompareSide, JsError> {
        let a = self.take_inner()?;
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

    /// Ends the input and keeps the report in the engine, for a capture whose JSON is too
    /// large for one browser string (~800k flows pass V8's 512 MiB limit): the page then takes
    /// the download with [`write_json`](Analyzer::write_json), what it renders with
    /// [`view`](Analyzer::view) and the flows table a page at a time with
    /// [`flow_page`](Analyzer::flow_page). Returns the number of flows.
    pub fn end(&mut self) -> Result<u32, JsError> {
        let a = self.take_inner()?;
        let (report, plan) = a.finish_with_plan();
        let n = u32::try_from(report.flows.len()).unwrap_or(u32::MAX);
        self.report = Some(report);
        self.plan = Some(plan);
        Ok(n)
    }

    /// After [`end`](Analyzer::end): a writer of the evidence pack — the frames the findings
    /// cite and the first packets of their flows, as pcapng with per-frame comments — the
    /// exact bytes `voipwatch evidence CAPTURE -o OUT [--redact]` writes. Feed it the same
    /// file again with [`EvidencePack::push`], then [`EvidencePack::finish`]: memory holds the
    /// kept frames, never the capture.
    #[wasm_bindgen(js_name = evidencePack)]
    pub fn evidence_pack(&self, redact: bool) -> Result<EvidencePack, JsError> {
        let report = self.report()?;
        let plan = self
            .plan
            .as_ref()
            .ok_or_else(|| JsError::new("the evidence plan is not ready: call end() first"))?;
        let opts = evidence_pack::PackOptions {
            redact,
            tool: format!("voipwatch {}", env!("CARGO_PKG_VERSION")),
        };
        Ok(EvidencePack {
            writer: Some(plan.writer(report, &opts)),
            file: None,
        })
    }

    /// After [`end`](Analyzer::end): streams the report's JSON — the exact bytes of
    /// [`finish`](Analyzer::finish) and `voipwatch analyze --format json` — to `sink`, called
    /// with one `Uint8Array` (a copy) per part of about `part_bytes` bytes (at least 64 KiB),
    /// in order. The whole text never exists in one piece, in the engine or in JS.
    #[wasm_bindgen(js_name = writeJson)]
    pub fn write_json(&self, sink: &js_sys::Function, part_bytes: u32) -> Result<(), JsError> {
        let r = self.report()?;
        let mut w = Parts::new(part_bytes as usize, |part: &[u8]| {
            sink.call1(&JsValue::NULL, &js_sys::Uint8Array::from(part))
                .map(|_| ())
                .map_err(|_| std::io::Error::other("the JSON sink threw"))
        });
        r.write_json(&mut w)
            .and_then(|()| w.flush_part())
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// After [`end`](Analyzer::end): what the page renders, as compact JSON — the report
    /// without its flows (`schema`, `capture`, `calls`, `findings`, `verdicts`) plus
    /// `flow_count` — small whatever the number of flows.
    pub fn view(&self) -> Result<String, JsError> {
        let r = self.report()?;
        serde_json::to_string(&View::of(r)).map_err(|e| JsError::new(&e.to_string()))
    }

    /// After [`end`](Analyzer::end): one page of the flows table, filtered and sorted over all
    /// flows (see [`FlowQuery`]): `{"matching":N,"total":T,"offset":O,"rows":[flow, …]}`,
    /// each row a flow object as in the report.
    #[wasm_bindgen(js_name = flowPage)]
    pub fn flow_page(
        &self,
        filter: &str,
        scope: &str,
        sort_key: &str,
        ascending: bool,
        offset: u32,
        limit: u32,
    ) -> Result<String, JsError> {
        let r = self.report()?;
        let q = FlowQuery {
            filter,
            scope,
            sort_key,
            ascending,
            offset: offset as usize,
            limit: limit as usize,
        };
        serde_json::to_string(&q.run(r)).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The engine, taken out to end the input (once), with its last progress kept for late
    /// `progress()` calls.
    fn take_inner(&mut self) -> Result<CoreAnalyzer, JsError> {
        let a = self
            .inner
            .take()
            .ok_or_else(|| JsError::new("finish called twice"))?;
        self.last = a.progress();
        Ok(a)
    }

    fn report(&self) -> Result<&voipwatch_core::Report, JsError> {
        self.report
            .as_ref()
            .ok_or_else(|| JsError::new("the report is not ready: call end() first"))
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

/// A writer that hands its bytes on in parts of at least `size` bytes (the last one shorter).
struct Parts<F: FnMut(&[u8]) -> std::io::Result<()>> {
    buf: Vec<u8>,
    size: usize,
    sink: F,
}

impl<F: FnMut(&[u8]) -> std::io::Result<()>> Parts<F> {
    fn new(size: usize, sink: F) -> Self {
        let size = size.clamp(64 << 10, 64 << 20);
        Parts {
            buf: Vec::with_capacity(size),
            size,
            sink,
        }
    }
    /// Sends what is buffered, if anything.
    fn flush_part(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            (self.sink)(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

impl<F: FnMut(&[u8]) -> std::io::Result<()>> std::io::Write for Parts<F> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= self.size {
            self.flush_part()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The report without its flows: what the page parses and renders.
#[derive(serde::Serialize)]
struct View<'a> {
    schema: &'a str,
    capture: &'a voipwatch_core::report::CaptureInfo,
    calls: &'a [voipwatch_core::report::Call],
    findings: &'a [voipwatch_core::report::Finding],
    verdicts: &'a [voipwatch_core::report::Verdict],
    /// The charts of the flows the findings cite (absent when none, as in the report).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    charts: &'a [voipwatch_core::report::chart::FlowChart],
    flow_count: usize,
    /// The flows the calls hold (as in the report), so the page can draw each call's timeline
    /// from the client's side (a linked leg's own client may be the far end).
    call_flows: Vec<&'a voipwatch_core::report::FlowReport>,
}

impl<'a> View<'a> {
    fn of(r: &'a voipwatch_core::Report) -> Self {
        View {
            schema: r.schema,
            capture: &r.capture,
            calls: &r.calls,
            findings: &r.findings,
            verdicts: &r.verdicts,
            charts: &r.charts,
            flow_count: r.flows.len(),
            call_flows: {
                let ids: std::collections::BTreeSet<u32> = r
                    .calls
                    .iter()
                    .flat_map(|c| c.flows.iter().copied())
                    .collect();
                r.flows.iter().filter(|f| ids.contains(&f.id)).collect()
            },
        }
    }
}

/// A request for one page of the flows table, answered over all of the report's flows.
///
/// * `filter`: kept when any of id, transport, client, server, app id, service, protocols
///   (space-joined), SNI, connection state or history contains it, ignoring case (trimmed;
///   empty keeps all).
/// * `scope`: `voip` (service `call` or a known app), `flagged` (a finding names the flow),
///   anything else all flows.
/// * `sort_key`: a column of the page's table (`id`, `transport`, `client`, `server`, `app`,
///   `service`, `protocols`, `conn_state`, `packets`, `bytes`, `duration`, `rtt`, `flagged`;
///   unknown means `id`); ties by ascending id, whatever the direction.
struct FlowQuery<'a> {
    filter: &'a str,
    scope: &'a str,
    sort_key: &'a str,
    ascending: bool,
    offset: usize,
    limit: usize,
}

#[derive(serde::Serialize)]
struct FlowPage<'a> {
    matching: usize,
    total: usize,
    offset: usize,
    rows: Vec<&'a voipwatch_core::report::FlowReport>,
}

/// Whether `hay` contains `needle` (already lowercase), ignoring case.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

/// One flow's sort key for a column.
#[derive(PartialEq, PartialOrd)]
enum Key {
    Num(f64),
    Text(String),
}

impl FlowQuery<'_> {
    fn run<'r>(&self, r: &'r voipwatch_core::Report) -> FlowPage<'r> {
        use std::collections::HashMap;
        use voipwatch_core::report::FlowReport;
        let mut flagged: HashMap<u32, u32> = HashMap::new();
        for f in &r.findings {
            if let Some(id) = f.flow {
                *flagged.entry(id).or_default() += 1;
            }
        }
        let needle = self.filter.trim().to_lowercase();
        let protocols = |f: &FlowReport| {
            f.protocols
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let keep = |f: &FlowReport| {
            let in_scope = match self.scope {
                "voip" => f.service.as_str() == "call" || f.app.is_some(),
                "flagged" => flagged.contains_key(&f.id),
                _ => true,
            };
            if !in_scope {
                return false;
            }
            if needle.is_empty() {
                return true;
            }
            let fixed = [
                f.transport,
                &f.client,
                &f.server,
                f.app.map(|a| a.as_str()).unwrap_or(""),
                f.service.as_str(),
                f.sni.as_deref().unwrap_or(""),
                f.conn_state,
                &f.history,
            ];
            contains_ci(&f.id.to_string(), &needle)
                || fixed.iter().any(|v| contains_ci(v, &needle))
                || (!f.protocols.is_empty() && contains_ci(&protocols(f), &needle))
        };
        let key = |f: &FlowReport| -> Key {
            match self.sort_key {
                "transport" => Key::Text(f.transport.to_string()),
                "client" => Key::Text(f.client.clone()),
                "server" => Key::Text(f.server.clone()),
                "app" => Key::Text(f.app.map(|a| a.as_str()).unwrap_or("").to_string()),
                "service" => Key::Text(f.service.as_str().to_string()),
                "protocols" => Key::Text(protocols(f)),
                "conn_state" => Key::Text(f.conn_state.to_string()),
                "packets" => Key::Num((f.packets.c2s + f.packets.s2c) as f64),
                "bytes" => Key::Num((f.bytes.c2s + f.bytes.s2c) as f64),
                "duration" => Key::Num(f.duration),
                "rtt" => Key::Num(f.rtt.unwrap_or(-1.0)),
                "flagged" => Key::Num(f64::from(flagged.get(&f.id).copied().unwrap_or(0))),
                _ => Key::Num(f64::from(f.id)),
            }
        };
        let mut rows: Vec<(Key, &FlowReport)> = r
            .flows
            .iter()
            .filter(|f| keep(f))
            .map(|f| (key(f), f))
            .collect();
        rows.sort_by(|a, b| {
            let c = a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal);
            let c = if self.ascending { c } else { c.reverse() };
            c.then(a.1.id.cmp(&b.1.id))
        });
        let matching = rows.len();
        let offset = self.offset.min(matching);
        FlowPage {
            matching,
            total: r.flows.len(),
            offset,
            rows: rows
                .into_iter()
                .skip(offset)
                .take(self.limit.min(10_000))
                .map(|(_, f)| f)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{apps, base_name, FlowQuery, Parts, View};
    use std::io::Write;

    /// A pcap of `n` one-packet UDP flows, 10.0.(i/250).(i%250+1):(1024+i) → 192.0.2.1:443.
    fn udp_flows(n: u16) -> voipwatch_core::Report {
        let mut v = vec![
            0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0,
            0, 0,
        ];
        for i in 0..n {
            let (sp, dp) = (1024 + i, 443u16);
            let len = 28u16 + (i % 7);
            let mut p = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0];
            p[2..4].copy_from_slice(&len.to_be_bytes());
            p.extend_from_slice(&[10, 0, (i / 250) as u8, (i % 250 + 1) as u8, 192, 0, 2, 1]);
            p.extend_from_slice(&sp.to_be_bytes());
            p.extend_from_slice(&dp.to_be_bytes());
            p.extend_from_slice(&(len - 20).to_be_bytes());
            p.extend_from_slice(&[0, 0]);
            p.resize(len as usize, 0);
            let ts = 1_700_000_000u32 + u32::from(i);
            for x in [ts, 0, u32::from(len), u32::from(len)] {
                v.extend_from_slice(&x.to_le_bytes());
            }
            v.extend_from_slice(&p);
        }
        let cfg = voipwatch_core::Config {
            name: "flows.pcap".into(),
            ..Default::default()
        };
        voipwatch_core::analyzer::analyze_bytes(cfg, &v)
    }

    fn page(r: &voipwatch_core::Report, f: &str, scope: &str, key: &str, asc: bool) -> Vec<u32> {
        let q = FlowQuery {
            filter: f,
            scope,
            sort_key: key,
            ascending: asc,
            offset: 0,
            limit: 100_000,
        };
        q.run(r).rows.iter().map(|f| f.id).collect()
    }

    #[test]
    fn parts_reassemble_to_the_report_json() {
        let r = udp_flows(300);
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut w = Parts::new(0, |p: &[u8]| {
            parts.push(p.to_vec());
            Ok(())
        });
        r.write_json(&mut w).unwrap();
        w.flush_part().unwrap();
        w.flush().unwrap();
        drop(w);
        assert!(parts.len() > 1, "{} parts", parts.len());
        assert!(parts[..parts.len() - 1].iter().all(|p| p.len() >= 64 << 10));
        assert_eq!(parts.concat(), r.to_json().into_bytes());
    }

    #[test]
    fn the_view_is_the_report_without_flows() {
        let r = udp_flows(20);
        let v: serde_json::Value = serde_json::to_value(View::of(&r)).unwrap();
        let full: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["flow_count"], 20);
        assert!(v.get("flows").is_none());
        for k in ["schema", "capture", "calls", "findings", "verdicts"] {
            assert_eq!(v[k], full[k], "{k}");
        }
        // Only the flows calls hold ride along (none here: no call among these flows).
        assert_eq!(v["call_flows"], serde_json::json!([]));
    }

    #[test]
    fn flow_pages_filter_and_sort_over_all_flows() {
        let r = udp_flows(600);
        assert_eq!(r.flows.len(), 600);
        let all = page(&r, "", "all", "id", true);
        assert_eq!(all.len(), 600);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        let down = page(&r, "", "all", "id", false);
        assert_eq!(down.first(), all.last());
        // The filter matches a client address (case-insensitively on text fields).
        let f = &r.flows[450];
        let hit = page(&r, &f.client.to_uppercase(), "", "id", true);
        assert_eq!(hit, vec![f.id]);
        assert!(page(&r, "UDP", "", "id", true).len() == 600);
        assert!(page(&r, "no-such-flow-zzz", "", "id", true).is_empty());
        // Sorting by bytes: non-decreasing totals, ties by ascending id either way.
        let by = |ids: &[u32]| -> Vec<u64> {
            ids.iter()
                .map(|id| {
                    let f = r.flows.iter().find(|f| f.id == *id).unwrap();
                    f.bytes.c2s + f.bytes.s2c
                })
                .collect()
        };
        let up = page(&r, "", "", "bytes", true);
        assert!(by(&up).windows(2).all(|w| w[0] <= w[1]));
        let dn = page(&r, "", "", "bytes", false);
        assert!(by(&dn).windows(2).all(|w| w[0] >= w[1]));
        let top = by(&dn)[0];
        let tied: Vec<u32> = dn
            .iter()
            .copied()
            .take_while(|id| by(&[*id])[0] == top)
            .collect();
        assert!(tied.windows(2).all(|w| w[0] < w[1]));
        // No finding names these flows: the flagged scope is empty.
        assert!(page(&r, "", "flagged", "id", true).is_empty());
        // Offsets page through, past the end gives no rows.
        let q = FlowQuery {
            filter: "",
            scope: "",
            sort_key: "id",
            ascending: true,
            offset: 590,
            limit: 50,
        };
        let p = q.run(&r);
        assert_eq!(
            (p.matching, p.total, p.offset, p.rows.len()),
            (600, 600, 590, 10)
        );
        let q = FlowQuery { offset: 9999, ..q };
        assert_eq!(q.run(&r).rows.len(), 0);
    }

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
