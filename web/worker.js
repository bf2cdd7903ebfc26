// Module Web Worker that owns the voipwatch WebAssembly instance.
// Messages in:  { type: "analyze", file: File, chunk?: number }
// Messages out: { type: "ready" } | { type: "progress", bytes, packets, flows, total, wasmBytes }
//               { type: "done", json, pushError, ms, total, wasmBytes, peakWasmBytes }
//               { type: "fatal", message }   (the engine could not be loaded at all)
// The file is read with File.slice in fixed chunks, so memory stays bounded whatever its size:
// two chunks in JS plus the engine's own state (which grows with flows, not with bytes).
import init, { Analyzer } from "./voipwatch_wasm.js";

const CHUNK = 4 * 1024 * 1024;
let exports = null;

const ready = init({ module_or_path: new URL("./voipwatch_wasm_bg.wasm", import.meta.url) }).then(
  (e) => {
    exports = e;
    self.postMessage({ type: "ready" });
  },
  (err) => {
    self.postMessage({ type: "fatal", message: String(err && err.message ? err.message : err) });
    throw err;
  },
);

function wasmBytes() {
  return exports && exports.memory ? exports.memory.buffer.byteLength : 0;
}

async function analyze(file, chunk) {
  await ready;
  const started = performance.now();
  const total = file.size;
  const analyzer = new Analyzer({ name: file.name });
  let pushError = null;
  let peak = wasmBytes();
  // One slice is read ahead while the engine digests the current one, so file reading and
  // analysis overlap; at most two chunks are held at any time.
  const read = (offset) => file.slice(offset, Math.min(total, offset + chunk)).arrayBuffer();
  let next = total > 0 ? read(0) : null;
  try {
    for (let offset = 0; offset < total; offset += chunk) {
      const buf = await next;
      next = offset + chunk < total ? read(offset + chunk) : null;
      try {
        analyzer.push(new Uint8Array(buf));
      } catch (e) {
        pushError = String(e && e.message ? e.message : e);
        if (next) next.catch(() => {});
        break;
      }
      const p = analyzer.progress();
      peak = Math.max(peak, wasmBytes());
      self.postMessage({ type: "progress", ...p, total, wasmBytes: wasmBytes() });
    }
    const json = analyzer.finish();
    peak = Math.max(peak, wasmBytes());
    self.postMessage({
      type: "done",
      json,
      pushError,
      ms: performance.now() - started,
      total,
      wasmBytes: wasmBytes(),
      peakWasmBytes: peak,
    });
  } finally {
    analyzer.free();
  }
}

self.onmessage = (ev) => {
  const msg = ev.data || {};
  if (msg.type === "analyze") {
    analyze(msg.file, msg.chunk > 0 ? msg.chunk : CHUNK).catch((err) => {
      self.postMessage({ type: "fatal", message: String(err && err.message ? err.message : err) });
    });
  }
};
