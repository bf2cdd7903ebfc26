// Module Web Worker that owns the voipwatch WebAssembly instance.
// Messages in:  { type: "analyze", file: File, job, chunk? } | { type: "cancel", job } | { type: "hash", file: File, id }
//               | { type: "compare", target: File, control: File, targetSel, controlSel, id }
//               | { type: "pack", job, file: File, redact, id }   (the evidence pack of job `job`'s file)
// Messages out: { type: "ready", apps: [{ id, name, calls }], version }  (the engine's app table and version) | { type: "progress", job, bytes, packets, flows, total, wasmBytes }
//               | { type: "flows", job, id, filter, scope, key, asc, offset, limit }   (a page of the flows table)
//               { type: "done", job, blob, view, messages: { en, fr, ar }, pushError, ms, engineMs, total, wasmBytes, peakWasmBytes }
//               (blob: the report JSON, byte-identical to `voipwatch analyze --format json`, assembled from
//               parts; view: the report without its flows, plus flow_count, as a JSON string)
//               { type: "flows", job, id, json } | { type: "flows", job, id, error }
//               (json: {"matching","total","offset","rows":[flow…]}; the job's analyzer is kept for it)
//               (messages: the verdicts and findings in plain words per language, from the engine's table)
//               { type: "hash", id, sha256 } | { type: "hash", id, error }   (SHA-256 of a file, for the printed report)
//               { type: "compared", id, json } | { type: "compared", id, error }   (voipwatch.compare/1, as the CLI prints it)
//               { type: "pack", id, blob, frames, cited, sha256, redactedHosts } | { type: "pack", id, error }
//               (blob: pcapng, byte-identical to `voipwatch evidence FILE -o OUT [--redact]`)
//               { type: "failed", job, message }   (this analysis broke: engine bug or file read error)
//               { type: "fatal", message }         (the engine could not be loaded at all)
// The worker lives as long as the page, so the engine is loaded once and the page works
// offline afterwards. A newer job or a cancel stops an older job at its next chunk.
// The analysed file is read with file.stream() (the other passes with File.slice in fixed
// chunks), so memory stays bounded whatever its size: a few chunks in JS plus the engine's own
// state (which grows with flows, not with bytes).
import init, { Analyzer, Sha256, apps, compare, engineVersion } from "./voipwatch_wasm.js";

const CHUNK = 4 * 1024 * 1024;
const PART = 4 * 1024 * 1024; // bytes of report JSON per part out of the engine
const FOLD = 16; // parts held in JS before they are folded into the Blob
let exports = null;
let stopBefore = 0; // jobs numbered below or equal to this stop at their next chunk

const ready = init({ module_or_path: new URL("./voipwatch_wasm_bg.wasm", import.meta.url) }).then(
  (e) => {
    exports = e;
    self.postMessage({ type: "ready", apps: JSON.parse(apps()), version: engineVersion() });
  },
  (err) => {
    self.postMessage({ type: "fatal", message: String(err && err.message ? err.message : err) });
    throw err;
  },
);

function wasmBytes() {
  return exports && exports.memory ? exports.memory.buffer.byteLength : 0;
}

async function analyze(file, job, chunk) {
  await ready;
  const stopped = () => job <= stopBefore;
  const started = performance.now();
  const total = file.size;
  const analyzer = new Analyzer({ name: file.name, sizeHint: file.size });
  let pushError = null;
  let peak = wasmBytes();
  let engineMs = 0; // time inside the engine (push + finish), without file reading
  // The file is read as a stream (`file.stream()`): Chromium hands its chunks (up to 2 MiB) to
  // the worker as they arrive, with no per-slice Blob read to set up and wait for, which
  // measured 1.5x faster than 4 MiB `File.slice` reads on a bulk-TCP capture (web/bench.mjs).
  // `chunk` only paces the progress messages; memory stays a few chunks plus the engine's state.
  const reader = total > 0 ? file.stream().getReader() : null;
  let sinceProgress = 0;
  try {
    while (reader) {
      const { value, done } = await reader.read();
      if (stopped()) {
        reader.cancel().catch(() => {});
        return;
      }
      if (done) break;
      const e0 = performance.now();
      try {
        analyzer.push(value);
        engineMs += performance.now() - e0;
      } catch (e) {
        // A trap (engine panic) leaves the instance unusable: report it as a failure.
        if (e instanceof WebAssembly.RuntimeError) throw e;
        pushError = String(e && e.message ? e.message : e);
        reader.cancel().catch(() => {});
        break;
      }
      sinceProgress += value.byteLength;
      if (sinceProgress >= chunk) {
        sinceProgress = 0;
        const p = analyzer.progress();
        peak = Math.max(peak, wasmBytes());
        self.postMessage({ type: "progress", job, ...p, total, wasmBytes: wasmBytes() });
      }
    }
    const f0 = performance.now();
    analyzer.end();
    // The report's JSON leaves the engine in parts assembled into a Blob (the download), never
    // as one string: an ~800k-flow report passes the browser's string limit (512 MiB in V8).
    // Parts are folded into the Blob as they come, so JS holds at most FOLD of them at a time.
    let blob = new Blob([]);
    let parts = [];
    analyzer.writeJson((part) => {
      parts.push(part);
      if (parts.length >= FOLD) { blob = new Blob([blob, ...parts]); parts = []; }
    }, PART);
    blob = new Blob([blob, ...parts], { type: "application/json" });
    parts = null;
    const view = analyzer.view(); // what the page renders: the report without its flows
    const messages = {};
    for (const lang of ["en", "fr", "ar"]) messages[lang] = JSON.parse(analyzer.messages(lang));
    engineMs += performance.now() - f0;
    peak = Math.max(peak, wasmBytes());
    self.postMessage({
      type: "done",
      job,
      blob,
      view,
      messages,
      pushError,
      ms: performance.now() - started,
      engineMs,
      total,
      wasmBytes: wasmBytes(),
      peakWasmBytes: peak,
    });
    // The analyzer stays alive with its report: the page asks for the flows a page at a time.
    keep(job, analyzer);
  } finally {
    if (!live || live.analyzer !== analyzer) analyzer.free();
  }
}

/** The analyzer of the last finished job, kept for its flows; the previous one is freed. */
let live = null;
function keep(job, analyzer) {
  if (live) live.analyzer.free();
  live = { job, analyzer };
}

/** One page of the flows table of job `msg.job`, filtered and sorted over all flows. */
function flowPage(msg) {
  if (!live || live.job !== msg.job) return;
  try {
    const json = live.analyzer.flowPage(String(msg.filter || ""), String(msg.scope || "all"), String(msg.key || "id"),
      !!msg.asc, Math.max(0, msg.offset | 0), Math.max(0, msg.limit | 0));
    self.postMessage({ type: "flows", job: msg.job, id: msg.id, json });
  } catch (err) {
    self.postMessage({ type: "flows", job: msg.job, id: msg.id, error: String(err && err.message ? err.message : err) });
  }
}

/**
 * The evidence pack of the live job: the engine kept which frames to take when the analysis
 * ended; the same file is read again in chunks and only those frames are kept.
 */
async function pack(msg) {
  await ready;
  if (!live || live.job !== msg.job) {
    self.postMessage({ type: "pack", id: msg.id, error: "the analysis of this file is no longer in memory" });
    return;
  }
  const file = msg.file;
  let w = null;
  try {
    w = live.analyzer.evidencePack(!!msg.redact);
    for (let off = 0; off < file.size; off += CHUNK) {
      w.push(new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer()));
    }
    const bytes = w.finish();
    self.postMessage({
      type: "pack",
      id: msg.id,
      blob: new Blob([bytes], { type: "application/octet-stream" }),
      frames: w.frames,
      cited: w.cited,
      sha256: w.sha256,
      redactedHosts: w.redactedHosts,
    });
  } catch (err) {
    self.postMessage({ type: "pack", id: msg.id, error: String(err && err.message ? err.message : err) });
  } finally {
    if (w) w.free();
  }
}

/** SHA-256 of `file`, read in chunks (bounded memory), hashed by the engine's own sha2. */
async function hash(file, id) {
  await ready;
  const h = new Sha256();
  try {
    for (let off = 0; off < file.size; off += CHUNK) {
      h.update(new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer()));
    }
    self.postMessage({ type: "hash", id, sha256: h.hex() });
  } catch (err) {
    self.postMessage({ type: "hash", id, error: String(err && err.message ? err.message : err) });
  } finally {
    h.free();
  }
}

/** One side of a comparison: the file analysed in chunks, its flows kept in the engine. */
async function sideOf(file) {
  const a = new Analyzer({ name: file.name, sizeHint: file.size });
  try {
    for (let off = 0; off < file.size; off += CHUNK) {
      try {
        a.push(new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer()));
      } catch (e) {
        break; // a capture that stops early is still compared on what was read, as the CLI does
      }
    }
    return a.finishSide();
  } finally {
    a.free();
  }
}

async function compareFiles(msg) {
  await ready;
  let t = null, c = null;
  try {
    t = await sideOf(msg.target);
    c = await sideOf(msg.control);
    self.postMessage({ type: "compared", id: msg.id, json: compare(t, c, msg.targetSel || "", msg.controlSel || "") });
  } catch (err) {
    self.postMessage({ type: "compared", id: msg.id, error: String(err && err.message ? err.message : err) });
  } finally {
    if (t) t.free();
    if (c) c.free();
  }
}

self.onmessage = (ev) => {
  const msg = ev.data || {};
  const job = Number(msg.job) || 0;
  if (msg.type === "analyze") {
    stopBefore = Math.max(stopBefore, job - 1);
    if (live) { live.analyzer.free(); live = null; } // the old report's flows are no longer shown
    analyze(msg.file, job, msg.chunk > 0 ? msg.chunk : CHUNK).catch((err) => {
      self.postMessage({ type: "failed", job, message: String(err && err.message ? err.message : err) });
    });
  } else if (msg.type === "flows") {
    flowPage({ ...msg, job });
  } else if (msg.type === "compare") {
    compareFiles(msg);
  } else if (msg.type === "pack") {
    pack({ ...msg, job });
  } else if (msg.type === "hash") {
    hash(msg.file, msg.id);
  } else if (msg.type === "cancel") {
    stopBefore = Math.max(stopBefore, job);
  }
};
