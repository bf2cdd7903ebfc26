// voipwatch page: file input → module worker (WebAssembly engine) → report rendering.
// Plain ES module, DOM built with textContent only (no innerHTML), so a strict CSP holds.
import { LANGS, RTL, STRINGS, format } from "./i18n.js";
import { flowTimeChart, lineChart, si } from "./charts.js";

const $ = (id) => document.getElementById(id);
const STATUSES = ["blocked", "throttled", "degraded", "inconclusive", "ok"];
const PAGE_ROWS = 500; // rows of the flows table per page; the engine filters and sorts all flows

let lang = "en";
let worker = null;
let current = null; // { report, json, file, stats } or { errorKey, errorText }
let sort = { key: "id", asc: true };
let downloadUrl = null;

function t(key, values) {
  const s = (STRINGS[lang] && STRINGS[lang][key]) ?? STRINGS.en[key] ?? key;
  return values ? format(s, values) : s;
}

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("data-") || k === "dir" || k === "lang" || k === "title" || k === "role" || k.startsWith("aria-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// ---------- formatting ----------
function locale() {
  return lang === "ar" ? "ar-u-nu-latn" : lang; // Latin digits keep numbers matching the report
}
const num = (n) => (typeof n === "number" ? n.toLocaleString(locale()) : "–");
function bytes(n) {
  if (typeof n !== "number") return "–";
  const u = lang === "fr" ? ["o", "Ko", "Mo", "Go", "To"] : lang === "ar" ? ["بايت", "ك.ب", "م.ب", "غ.ب", "ت.ب"] : ["B", "KB", "MB", "GB", "TB"];
  let i = 0, v = n;
  while (v >= 1000 && i < u.length - 1) { v /= 1000; i++; }
  return `${v.toLocaleString(locale(), { maximumFractionDigits: i ? 1 : 0 })} ${u[i]}`;
}
function secs(s) {
  if (typeof s !== "number") return "–";
  if (s < 1) return `${(s * 1000).toLocaleString(locale(), { maximumFractionDigits: 1 })} ${t("unit_ms")}`;
  return `${s.toLocaleString(locale(), { maximumFractionDigits: 1 })} ${t("unit_s")}`;
}
function when(ts) {
  if (typeof ts !== "number") return "–";
  try {
    return new Date(ts * 1000).toLocaleString(locale(), { timeZone: "UTC", dateStyle: "medium", timeStyle: "medium" }) + " UTC";
  } catch {
    return new Date(ts * 1000).toISOString();
  }
}
const statusLabel = (s) => t(`status_${s}`) || s;
const serviceLabel = (s) => t(`service_${s}`) || s;
// Display names of the report's app ids: the engine's one app table (model::APPS), sent by
// the worker with "ready" (reports only come after it); unknown ids are shown as they are.
const appNames = new Map();
let engineVersionText = "";
const appLabel = (a) => (a === "other" ? t("app_other") : a === "capture" ? t("app_capture") : a ? appNames.get(a) || a.replace(/_/g, " ") : t("app_unknown"));

// ---------- language ----------
function applyLang(next) {
  lang = LANGS.includes(next) ? next : "en";
  document.documentElement.lang = lang;
  document.documentElement.dir = RTL.has(lang) ? "rtl" : "ltr";
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll("[data-i18n-aria]")) e.setAttribute("aria-label", t(e.dataset.i18nAria));
  for (const e of document.querySelectorAll("[data-i18n-title]")) e.setAttribute("title", t(e.dataset.i18nTitle));
  for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  document.title = `voipwatch — ${t("tagline")}`;
  try { localStorage.setItem("voipwatch.lang", lang); } catch { /* private mode */ }
  if (current && current.report) render();
  renderCompare();
  if (current && current.errorKey) showError(current.errorKey, current.errorText, current.errorPlain);
}

function initialLang() {
  const q = new URLSearchParams(location.search).get("lang");
  if (q && LANGS.includes(q)) return q;
  try {
    const s = localStorage.getItem("voipwatch.lang");
    if (s && LANGS.includes(s)) return s;
  } catch { /* ignore */ }
  const nav = (navigator.language || "en").slice(0, 2);
  return LANGS.includes(nav) ? nav : "en";
}

// ---------- state ----------
function setState(s) {
  document.body.dataset.state = s;
}

function reset() {
  if (worker && document.body.dataset.state === "running") worker.postMessage({ type: "cancel", job });
  job += 1;
  current = null;
  $("results").hidden = true;
  $("error").hidden = true;
  $("progress").hidden = true;
  $("upload").hidden = false;
  $("capture-input").value = "";
  setState("idle");
}

function showError(key, text, plain) {
  const box = $("error");
  // `plain`: the engine's message for a capture error in every language (what the file is and
  // what to do); the engine's exact English text stays below it, for whoever needs the detail.
  const said = plain && (plain[lang] || plain.en);
  box.replaceChildren(
    h("h2", { text: t(key === "error_no_wasm" ? "error_title_engine" : "error_title") }),
    said ? h("p", { class: "plain", "data-testid": "error-plain", text: said }) : null,
    h("p", { "data-testid": "error-message", class: said ? "meta" : "", text: t(key, { error: text }) }),
    key === "error_engine" && !said ? h("p", { text: t("error_hint") }) : null,
  );
  box.hidden = false;
}

/** The engine's plain-language capture error per language, from the job's messages. */
function plainErrors(messages) {
  const out = {};
  for (const [l, m] of Object.entries(messages || {})) if (m && m.error) out[l] = m.error;
  return Object.keys(out).length ? out : null;
}

function fail(key, text, plain) {
  current = { errorKey: key, errorText: text, errorPlain: plain || null };
  $("progress").hidden = true;
  $("upload").hidden = false;
  $("results").hidden = true;
  showError(key, text, plain);
  setState("error");
}

// ---------- analysis ----------
// One long-lived worker, started with the page: the engine is loaded once, so the page keeps
// working offline after it has loaded. Each analysis is a job; messages of older jobs are ignored.
let job = 0;
let jobFile = null;
let jobStarted = 0;
let engineError = null;

function ensureWorker() {
  if (worker) return worker;
  engineError = null;
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onerror = (ev) => {
    ev.preventDefault();
    engineFailed(ev.message || "the worker script failed to start");
  };
  worker.onmessage = onWorkerMessage;
  return worker;
}

function engineFailed(message) {
  if (worker) { worker.terminate(); worker = null; }
  engineError = message;
  document.body.dataset.engine = "failed";
  if (document.body.dataset.state === "running") fail("error_no_wasm", message);
}

function onWorkerMessage(ev) {
  const m = ev.data || {};
  if (m.type === "fatal") { engineFailed(m.message); return; }
  if (m.type === "compared") { compared(m); return; }
  if (m.type === "flows") { flowsArrived(m); return; }
  if (m.type === "pack") { packArrived(m); return; }
  if (m.type === "hash") {
    const w = hashWaiters.get(m.id);
    hashWaiters.delete(m.id);
    if (w) (m.error ? w.reject(new Error(m.error)) : w.resolve(m.sha256));
    return;
  }
  if (m.type === "ready") {
    for (const a of m.apps || []) appNames.set(a.id, a.name);
    engineVersionText = m.version || "";
    document.body.dataset.engine = "ready";
    return;
  }
  if (m.job !== job || document.body.dataset.state !== "running") return;
  if (m.type === "progress") {
    const total = m.total || 1;
    $("progress-bar").value = Math.min(1, m.bytes / total);
    $("progress-label").textContent = m.bytes >= m.total ? t("finishing") : t("reading", {
      done: bytes(m.bytes), total: bytes(m.total), pct: Math.floor((100 * m.bytes) / total),
      packets: num(m.packets), flows: num(m.flows),
    });
    document.body.dataset.wasmBytes = String(m.wasmBytes || 0);
  } else if (m.type === "done") {
    finished(jobFile, m, performance.now() - jobStarted);
  } else if (m.type === "failed") {
    // The instance may be broken (a trapped engine): start a fresh one for the next file.
    if (worker) { worker.terminate(); worker = null; }
    fail("error_crash", m.message);
  }
}

function analyze(file) {
  current = null;
  $("error").hidden = true;
  $("results").hidden = true;
  $("progress").hidden = false;
  $("progress-bar").value = 0;
  $("progress-label").textContent = t("starting");
  setState("running");
  if (engineError) { fail("error_no_wasm", engineError); return; }
  job += 1;
  jobFile = file;
  jobStarted = performance.now();
  // ?chunk=N (MiB) overrides the read size, for measurements; the default is the worker's.
  const chunkMiB = Number(new URLSearchParams(location.search).get("chunk"));
  const chunk = chunkMiB > 0 && chunkMiB <= 64 ? chunkMiB * 1024 * 1024 : 0;
  ensureWorker().postMessage({ type: "analyze", file, job, chunk });
}

function finished(file, m, wallMs) {
  let report;
  try {
    // The view: the report without its flows (those come a page at a time from the worker).
    report = JSON.parse(m.view);
  } catch (e) {
    fail("error_engine", String(e));
    return;
  }
  const cap = report.capture || {};
  current = {
    report, blob: m.blob, file, job, messages: m.messages || {}, sha256: null, analysedAt: Date.now(),
    stats: { ms: m.ms, wallMs, total: m.total, wasmBytes: m.wasmBytes, peakWasmBytes: m.peakWasmBytes },
  };
  const err = cap.error || m.pushError;
  $("progress").hidden = true;
  if (!cap.complete && !(cap.packets > 0)) {
    // Nothing could be read: the file is not a capture (or is empty/corrupt from the start).
    current.report = null;
    fail("error_engine", err || "unknown error", plainErrors(m.messages));
    return;
  }
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = URL.createObjectURL(m.blob);
  flowPageNo = 0;
  resetPack();
  const a = $("download-json");
  a.href = downloadUrl;
  a.download = `${(cap.name || "capture").replace(/\.(gz|zst|zstd)$/i, "").replace(/\.(pcapng|pcap|cap)$/i, "")}.voipwatch.json`;
  $("upload").hidden = true;
  render();
  $("results").hidden = false;
  renderCharts(report); // now that the box has its width
  document.body.dataset.complete = String(!!cap.complete);
  document.body.dataset.mbps = String(m.ms > 0 ? (m.total / 1e6) / (m.ms / 1000) : 0);
  document.body.dataset.engineMbps = String(m.engineMs > 0 ? (m.total / 1e6) / (m.engineMs / 1000) : 0);
  document.body.dataset.peakWasmBytes = String(m.peakWasmBytes || 0);
  setState("done");
}

// ---------- rendering ----------
function render() {
  const r = current.report;
  const cap = r.capture || {};
  const warn = $("warning");
  if (!cap.complete) {
    // The engine's plain sentence in the reader's language (where it stopped, what was
    // analysed), its exact English text after it.
    const plain = msgs().error;
    warn.replaceChildren(...(plain
      ? [h("span", { "data-testid": "warning-plain", text: plain }), " ",
        h("span", { class: "engine-text", lang: "en", dir: "ltr", text: `(${cap.error || "?"})` })]
      : [t("partial", { error: cap.error || "?" })]));
    warn.hidden = false;
  } else warn.hidden = true;
  renderAnswer(r);
  renderSummary(r);
  renderLimits(r);
  renderHealth(r);
  renderVerdicts(r);
  renderCalls(r);
  renderFindings(r);
  renderCharts(r);
  renderFlows();
  const s = current.stats;
  $("stats").textContent = t("stats", {
    size: bytes(s.total), secs: secs(s.ms / 1000),
    mbps: (s.ms > 0 ? s.total / 1e6 / (s.ms / 1000) : 0).toLocaleString(locale(), { maximumFractionDigits: 1 }),
  });
}

function renderSummary(r) {
  const c = r.capture || {};
  const span = typeof c.first_ts === "number" && typeof c.last_ts === "number"
    ? `${when(c.first_ts)} (${secs(c.last_ts - c.first_ts)})` : "–";
  const rows = [
    ["sum_file", c.name], ["sum_format", c.format || "–"], ["sum_size", bytes(c.file_bytes)],
    ["sum_packets", num(c.packets)], ["sum_flows", num(r.flow_count)], ["sum_span", span],
  ];
  $("summary").replaceChildren(h("dl", {}, rows.map(([k, v]) => h("div", {}, h("dt", { text: t(k) }), h("dd", { dir: "auto", text: v ?? "–" })))));
}

// Every cap that cut evidence (capture.limits): the verdicts it touched say inconclusive.
function renderLimits(r) {
  const box = $("limits");
  const ls = (r.capture && r.capture.limits) || [];
  if (!ls.length) { box.hidden = true; box.replaceChildren(); return; }
  // The engine's plain sentence in the page's language; its English detail after it.
  const plain = msgs().limits || [];
  box.replaceChildren(h("p", { text: t("limits_hit") }), h("ul", {}, ls.map((l, i) => h("li", { "data-testid": "limit", "data-limit": l.limit },
    h("code", { dir: "ltr", text: `${l.limit} (${num(l.max)})` }), " ",
    plain[i] ? h("span", { dir: "auto", "data-testid": "limit-plain", text: plain[i] }) : null, plain[i] && lang !== "en" ? " " : null,
    !plain[i] || lang !== "en" ? h("span", { class: "engine-text", lang: "en", dir: "ltr", text: plain[i] ? `(${l.effect})` : l.effect }) : null,
    (l.flows && l.flows.length) ? h("span", { class: "meta", text: ` — ${t("flows_n", { n: num(l.flow_count) })}` }) : null))));
  box.hidden = false;
}

// What decoding ran into (capture.decode_errors, capture.anomalies): engine ids with counts.
function renderHealth(r) {
  const box = $("health");
  const c = r.capture || {};
  const groups = [["health_decode", "decode-error", c.decode_errors], ["health_anomalies", "anomaly", c.anomalies]]
    .map(([k, testid, m]) => [k, testid, Object.entries(m || {})]).filter(([, , es]) => es.length);
  if (!groups.length) { box.hidden = true; box.replaceChildren(); return; }
  box.replaceChildren(h("p", { text: t("health_intro") }), ...groups.map(([k, testid, es]) => h("div", {},
    h("strong", { text: t(k) }),
    h("ul", {}, es.map(([id, n]) => h("li", { "data-testid": testid, "data-id": id, "data-count": String(n) },
      h("code", { dir: "ltr", text: id }), ` × ${num(n)}`))))));
  box.hidden = false;
}

/** The engine's plain-language messages for the page's language (English when missing). */
function msgs() {
  const m = (current && current.messages) || {};
  return m[lang] || m.en || { verdicts: [], findings: [] };
}

const rankOf = (s) => { const i = STATUSES.indexOf(s); return i < 0 ? STATUSES.length : i; };

/** The first screen: one headline per verdict, worst first, in the reader's language: status,
 * the headline, the finding that carries it and what else could explain it; the engine's
 * detailed English sentence folded away. */
function renderAnswer(r) {
  const box = $("answer");
  const loc = msgs();
  const vs = (r.verdicts || []).map((v, i) => ({ v, i, l: (loc.verdicts || [])[i] || {} }));
  if (!vs.length) {
    box.replaceChildren(h("p", { class: "headline empty", "data-testid": "no-verdicts-answer", text: t("no_verdicts") }));
    return;
  }
  vs.sort((a, b) => rankOf(a.v.status) - rankOf(b.v.status));
  box.replaceChildren(...vs.map(({ v, l }) => h("article", {
    class: `headline-card s-${v.status}`, "data-testid": "headline", "data-app": v.app, "data-status": v.status,
  },
  h("p", { class: "headline" }, badge(v.status), " ", h("strong", { dir: "auto", text: l.headline || v.summary })),
  l.because ? h("p", { class: "because", dir: "auto", "data-testid": "because" }, l.because,
    typeof l.lead === "number" ? h("a", { href: `#finding-${l.lead}`, class: "ref", text: ` #${l.lead + 1}` }) : null) : null,
  // The facts that carry the lead finding (the engine's `fact.*` messages): why, not only what.
  (() => {
    const facts = (typeof l.lead === "number" && (loc.findings || [])[l.lead] && loc.findings[l.lead].facts) || [];
    return facts.length ? h("ul", { class: "facts", "data-testid": "facts" }, facts.map((f) => h("li", { dir: "auto", text: f }))) : null;
  })(),
  l.caveat ? h("p", { class: "caveat", dir: "auto", text: t("caveat", { text: l.caveat }) }) : null,
  h("details", { class: "tech" }, h("summary", { text: t("technical_detail") }),
    h("p", { class: "engine-text", lang: "en", dir: "ltr", text: v.summary })),
  )));
}

function badge(status) {
  return h("span", { class: `badge s-${status}`, text: statusLabel(status) });
}

function renderVerdicts(r) {
  const box = $("verdicts");
  const vs = [...(r.verdicts || [])];
  if (!vs.length) {
    box.replaceChildren(h("p", { class: "empty", "data-testid": "no-verdicts", text: t("no_verdicts") }));
    return;
  }
  // Worst first, stable otherwise (the report's own order).
  const rank = (s) => { const i = STATUSES.indexOf(s); return i < 0 ? STATUSES.length : i; };
  const loc = msgs().verdicts || [];
  const idx = new Map((r.verdicts || []).map((v, i) => [v, i]));
  vs.sort((a, b) => rank(a.status) - rank(b.status));
  box.replaceChildren(...vs.map((v) => { const l = loc[idx.get(v)] || {}; return h("article", {
    class: `verdict s-${v.status}`, "data-testid": "verdict", "data-app": v.app, "data-status": v.status, "data-service": v.service,
  },
  h("header", {}, h("strong", { class: "app", text: appLabel(v.app) }), " ", h("span", { class: "service", text: serviceLabel(v.service) }), " ", badge(v.status)),
  // The reader's language first; the engine's detailed English sentence folded under it.
  l.headline && lang !== "en" ? h("p", { class: "plain", dir: "auto", text: l.headline }) : null,
  l.headline && lang !== "en"
    ? h("details", { class: "tech" }, h("summary", { text: t("technical_detail") }), h("p", { class: "engine-text", lang: "en", dir: "ltr", text: v.summary }))
    : h("p", { class: "engine-text", lang: "en", dir: "ltr", text: v.summary }),
  (v.calls && v.calls.length) ? h("p", { class: "meta", text: v.calls.map((id) => t("call_n", { id })).join(", ") }) : null,
  (v.findings && v.findings.length) ? h("p", { class: "meta" }, ...v.findings.map((i) => h("a", { href: `#finding-${i}`, class: "ref", text: `#${i + 1}` }))) : null,
  ); }));
}

function renderCalls(r) {
  const box = $("calls");
  const calls = r.calls || [];
  if (!calls.length) { box.replaceChildren(h("p", { class: "empty", text: t("no_calls") })); return; }
  box.replaceChildren(h("ul", { class: "calls" }, calls.map((c) => h("li", { "data-testid": "call", "data-status": c.status, "data-app": c.app },
    h("strong", { text: `${t("call_n", { id: c.id })} — ${appLabel(c.app)}` }), " ", badge(c.status),
    h("div", { class: "meta" },
      h("span", { text: `${t("client")}: ` }), h("bdi", { text: c.client }), " · ",
      h("span", { text: `${t("when")}: ${when(c.first_ts)}` }), " · ",
      h("span", { text: `${t("duration")}: ${secs(c.last_ts - c.first_ts)}` }), " · ",
      h("span", { text: t("flows_list", { ids: (c.flows || []).join(", ") }) })),
    callTimeline(c, r),
    callQuality(c),
  ))));
}

const SVG = "http://www.w3.org/2000/svg";
function s(name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The IP of a report endpoint ("1.2.3.4:5", "[fd00::1]:5", or a bare address). */
function ipOf(ep) {
  const m = /^\[([^\]]+)\]:\d+$/.exec(ep) || /^([^:]+):\d+$/.exec(ep);
  return m ? m[1] : ep;
}

/** Whether the stream of `flowId` in direction `dir` was sent by the call's client. */
function sentByClient(r, flowId, dir, client) {
  const f = (r.flows || r.call_flows || []).find((x) => x.id === flowId);
  if (!f) return dir === "c2s";
  return ipOf(dir === "c2s" ? f.client : f.server) === client;
}

/** Two lanes (sent by the client, received by it) over the call's time: a bar where each
 * direction's media ran, the one-way periods hatched, and each finding about the call marked. */
function callTimeline(c, r) {
  const t0 = c.first_ts, t1 = Math.max(c.last_ts, c.first_ts + 0.001);
  const W = 640, H = 120, L = 8, R = 8, top = 22, lane = 26;
  const x = (ts) => L + ((Math.min(Math.max(ts, t0), t1) - t0) / (t1 - t0)) * (W - L - R);
  const streams = (c.media && c.media.streams) || [];
  // Lanes are the call's client's view: a stream's direction is relative to its own flow, whose
  // client may be the far end (a linked leg), so each stream is placed by who sent it.
  const spans = { c2s: [], s2c: [] };
  for (const st of streams) spans[sentByClient(r, st.flow, st.dir, c.client) ? "c2s" : "s2c"].push([st.first_ts, st.last_ts]);
  // Without RTP streams, the call's own span stands for the direction(s) that carried packets.
  if (!streams.length) { spans.c2s.push([t0, t1]); }
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart timeline", role: "img", "data-testid": "call-timeline", "aria-label": t("timeline_title", { id: c.id }) });
  svg.append(s("text", { x: L, y: 13, class: "chart-title" }, t("timeline_title", { id: c.id })));
  [["c2s", "up", t("timeline_up", { client: c.client })], ["s2c", "down", t("timeline_down", { client: c.client })]].forEach(([dir, cls, label], k) => {
    const y = top + k * (lane + 8);
    svg.append(s("rect", { x: L, y, width: W - L - R, height: lane, class: "lane" }));
    for (const [a, b] of spans[dir]) svg.append(s("rect", { x: x(a), y, width: Math.max(1.5, x(b) - x(a)), height: lane, class: `span ${cls}`, "data-dir": dir }));
    svg.append(s("text", { x: L + 4, y: y + lane / 2 + 4, class: "lane-label" }, label));
  });
  for (const p of ((c.media && c.media.one_way) || [])) {
    // `only` names the direction that still flowed: the other lane went silent.
    const y = top + (sentByClient(r, p.flow, p.only, c.client) ? 1 : 0) * (lane + 8);
    svg.append(s("rect", { x: x(p.start), y, width: Math.max(2, x(p.end) - x(p.start)), height: lane, class: "one-way", "data-testid": "one-way" },
    ));
    svg.append(s("text", { x: x(p.start) + 4, y: y + lane - 4, class: "tick" }, t("timeline_one_way")));
  }
  (r.findings || []).forEach((f, i) => {
    const about = (f.evidence && f.evidence.call === c.id) || (c.flows || []).includes(f.flow);
    if (!about || f.severity === "info" || typeof f.ts !== "number") return;
    const at = x(f.ts);
    svg.append(s("line", { x1: at, x2: at, y1: top - 4, y2: top + 2 * lane + 12, class: "mark", "data-testid": "finding-mark" }));
    svg.append(s("text", { x: Math.min(at + 3, W - 70), y: H - 10, class: "tick" }, t("timeline_finding", { n: i + 1 })));
  });
  svg.append(s("text", { x: W - R, y: H - 1, class: "axis-label", "text-anchor": "end" }, `${t("timeline_axis")}${lang === "fr" ? "\u00a0:" : ":"} 0 – ${(t1 - t0).toLocaleString(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 })}`));
  return h("figure", { class: "chart-box", dir: "ltr" }, svg);
}

/** MOS, loss and jitter per direction from the call's RTP streams. */
function callQuality(c) {
  const streams = (c.media && c.media.streams) || [];
  if (!streams.length) return h("p", { class: "meta", text: t("q_none") });
  const fmt = (v, unit) => (typeof v === "number" ? `${v.toLocaleString(locale(), { maximumFractionDigits: 2 })}${unit}` : "–");
  return h("div", { class: "table-wrap" }, h("table", { class: "quality", "data-testid": "call-quality" },
    h("caption", { text: t("quality") }),
    h("thead", {}, h("tr", {}, ...["q_dir", "q_packets", "q_loss", "q_jitter", "q_mos", "q_codec"].map((k) => h("th", { text: t(k) })))),
    h("tbody", {}, streams.map((st) => { const sent = sentByClient(current.report, st.flow, st.dir, c.client); return h("tr", { "data-dir": st.dir, "data-sent": String(sent) },
      h("td", { text: sent ? t("timeline_up", { client: c.client }) : t("timeline_down", { client: c.client }) }),
      h("td", { text: num(st.packets) }),
      h("td", { text: fmt(st.loss_pct, " %") }),
      h("td", { text: fmt(st.jitter_ms, " ms") }),
      // MOS is the engine's per direction (mos_out: what the client sent, mos_in: what it got).
      h("td", { "data-testid": "mos", text: fmt(typeof st.mos === "number" ? st.mos : (sent ? c.media.mos_out : c.media.mos_in) ?? (streams.length === 1 ? c.media.mos : null), "") }),
      h("td", { text: typeof st.payload_type === "number" ? String(st.payload_type) : "–" })); }))));
}

function evidenceTable(ev, flowOf) {
  if (!ev || typeof ev !== "object" || Array.isArray(ev)) {
    return ev === undefined || ev === null ? null : h("pre", { dir: "ltr", text: JSON.stringify(ev, null, 1) });
  }
  const rows = Object.entries(ev);
  if (!rows.length) return null;
  return h("table", { class: "evidence", dir: "ltr" }, h("tbody", {}, rows.map(([k, v]) => h("tr", {},
    h("th", { text: k }),
    k === "series" && v && typeof v === "object"
      ? h("td", {}, h("a", { href: `#chart-${flowOf}`, text: t("see_chart") }))
      : h("td", { text: typeof v === "object" ? JSON.stringify(v) : String(v) })))));
}

/** Findings grouped when identical (same kind, severity and plain sentence): one card with a
 * count and the list of flows, so a capture with 500 equal resets stays readable. */
function findingGroups(r) {
  const loc = msgs().findings || [];
  const groups = new Map();
  (r.findings || []).forEach((f, i) => {
    const text = (loc[i] && loc[i].text) || f.summary;
    const key = `${f.kind}\u0000${f.severity}\u0000${text}`;
    if (!groups.has(key)) groups.set(key, { first: i, f, text, caveat: loc[i] && loc[i].caveat, members: [] });
    groups.get(key).members.push(i);
  });
  return [...groups.values()];
}

function renderFindings(r) {
  const box = $("findings");
  const fs = r.findings || [];
  if (!fs.length) { box.replaceChildren(h("p", { class: "empty", "data-testid": "no-findings", text: t("no_findings") })); return; }
  box.replaceChildren(...findingGroups(r).map((g) => {
    const f = g.f;
    const i = g.first;
    const pk = f.packets || [];
    const shown = pk.slice(0, 40).join(", ") + (pk.length > 40 ? ` ${t("more_packets", { n: pk.length - 40 })}` : "");
    const flows = g.members.map((j) => fs[j].flow).filter((x) => x !== null && x !== undefined);
    return h("article", { class: `finding s-${f.severity}`, id: `finding-${i}`, "data-testid": "finding", "data-kind": f.kind, "data-count": String(g.members.length) },
      // Anchors for every member, so links to any of them land on the group.
      ...g.members.slice(1).map((j) => h("span", { id: `finding-${j}`, class: "anchor" })),
      h("header", {}, h("span", { class: "ref", text: `#${i + 1}` }), " ", badge(f.severity), " ", h("code", { text: f.kind }),
        f.flow !== null && f.flow !== undefined ? h("span", { class: "meta", text: ` · ${t("flow_n", { id: f.flow })}` }) : null,
        h("span", { class: "meta", text: ` · ${t("confidence", { pct: Math.round((f.confidence || 0) * 100) })} · ${when(f.ts)}` })),
      h("p", { class: "plain", dir: "auto", text: g.text }),
      g.members.length > 1 ? h("p", { class: "meta", "data-testid": "grouped", text: t("grouped", { n: g.members.length, ids: flows.join(", ") }) }) : null,
      g.caveat ? h("p", { class: "caveat", dir: "auto", text: t("caveat", { text: g.caveat }) }) : null,
      h("details", { class: "tech" }, h("summary", { text: t("technical_detail") }),
        h("p", { class: "engine-text", lang: "en", dir: "ltr", text: f.summary }),
        pk.length ? h("p", { class: "packets", text: t("packets_evidence", { list: "" }) }, h("bdi", { dir: "ltr", text: shown })) : null,
        f.filter ? h("p", { class: "packets", dir: "ltr" }, h("code", { text: f.filter })) : null,
        evidenceTable(f.evidence, f.flow)));
  }));
}

function flaggedFlowIds(r) {
  const ids = new Set();
  for (const f of r.findings || []) if (f.flow !== null && f.flow !== undefined) ids.add(f.flow);
  return ids;
}

/** The width the flow charts are drawn at: their box's (user units = CSS px). */
function chartWidth() {
  const box = $("charts"), main = document.querySelector("main");
  const avail = box.clientWidth > 0 ? box.clientWidth - 16 : (main ? main.clientWidth : 640) - 48;
  return Math.round(Math.min(720, Math.max(300, avail)));
}

/** The throughput/RTT chart of every flow a finding cites (`charts` of the report: blocking
 * and throttling alike), the estimated rate of a throttling finding as a line, the flow's
 * findings marked at their time. */
function renderCharts(r) {
  const box = $("charts");
  const list = Array.isArray(r.charts) ? r.charts : [];
  if (!list.length) { box.replaceChildren(h("p", { class: "empty", "data-testid": "no-charts", text: t("no_charts") })); return; }
  const capStart = (r.capture && typeof r.capture.first_ts === "number") ? r.capture.first_ts : (list[0].t0 || 0);
  // Drawn at the width it is shown at (user units = CSS px), so its text is never scaled down.
  const width = chartWidth();
  box.dataset.width = String(width);
  const fs = r.findings || [];
  const cited = new Set(fs.filter((f) => f.flow !== null && f.flow !== undefined && f.severity !== "info").map((f) => f.flow));
  const omitted = cited.size - list.length;
  box.replaceChildren(...(omitted > 0 ? [h("p", { class: "note", "data-testid": "charts-omitted", text: t("chart_omitted", { n: num(omitted), max: num(list.length) }) })] : []), ...list.map((c) => {
    const about = [];
    fs.forEach((f, i) => { if (f.flow === c.flow && f.severity !== "info") about.push(i); });
    const rateF = about.map((i) => fs[i]).find((f) => f.evidence && typeof f.evidence.rate_bps === "number");
    const rate = rateF ? rateF.evidence.rate_bps : undefined;
    const svg = flowTimeChart(c, {
      capStart, width, rate,
      title: t("chart_flow", { id: c.flow }),
      labels: {
        bps: t("chart_bps"), rttUnit: t("chart_rtt_ms"), noRtt: t("chart_no_rtt"), time: t("chart_time_capture"),
        // The rate is isolated (U+2066 … U+2069) so it stays one left-to-right run in Arabic.
        rate: rate !== undefined ? t("chart_rate_line", { rate: `\u2066${si(rate)}bit/s\u2069` }) : "",
      },
      marks: about.filter((i) => typeof fs[i].ts === "number").map((i) => ({ ts: fs[i].ts, label: `#${i + 1}` })),
    });
    const lost = (c.loss || []).reduce((n, l) => n + (l.packets || 0), 0) + (c.loss_more || 0);
    const key = (cls, label) => h("span", { class: "key" }, h("span", { class: `swatch ${cls}` }), label);
    return h("figure", { class: "chart-box", id: `chart-${c.flow}`, "data-testid": "chart", "data-flow": String(c.flow), "data-loss": String((c.loss || []).length) },
      h("div", { dir: "ltr" }, svg),
      h("figcaption", {},
        h("p", { class: "chart-legend" }, key("up", t("chart_up")), key("down", t("chart_down")), key("rtt", t("chart_rtt_key")),
          key("loss", t("chart_loss_key")), c.log_gap ? key("log-gap", t("chart_gap_key")) : null),
        h("p", { class: "meta" }, (c.loss || []).length
          ? t("chart_loss_summary", { n: num((c.loss || []).length), packets: num(lost) })
          : t("chart_no_loss"),
        c.rate_truncated ? ` ${t("chart_rate_cut")}` : "", " ",
        ...about.map((i) => h("a", { href: `#finding-${i}`, class: "ref", text: `#${i + 1}` })))));
  }));
}

const COLUMNS = [
  ["id", "col_id", (f) => f.id],
  ["transport", "col_transport", (f) => f.transport],
  ["client", "col_client", (f) => f.client],
  ["server", "col_server", (f) => f.server],
  ["app", "col_app", (f) => f.app || ""],
  ["service", "col_service", (f) => f.service],
  ["protocols", "col_protocols", (f) => (f.protocols || []).join(" ")],
  ["conn_state", "col_state", (f) => f.conn_state],
  ["packets", "col_packets", (f) => (f.packets ? f.packets.c2s + f.packets.s2c : 0)],
  ["bytes", "col_bytes", (f) => (f.bytes ? f.bytes.c2s + f.bytes.s2c : 0)],
  ["duration", "col_duration", (f) => f.duration ?? 0],
  ["rtt", "col_rtt", (f) => (typeof f.rtt === "number" ? f.rtt : -1)],
  ["flagged", "col_flagged", (f, flagged) => (flagged.get(f.id) || 0)],
];

// The flows table, a page at a time: the worker's engine filters and sorts all of the
// capture's flows and sends one page of rows, so a capture of a million flows never has its
// flows parsed in the page. body[data-flows] is "loading" while a page is on its way, "ready" after.
let flowPageNo = 0;
let flowReq = 0;

function renderFlows() {
  const r = current.report;
  const thead = $("flows").tHead;
  thead.replaceChildren(h("tr", {}, COLUMNS.map(([key, label]) => h("th", {
    scope: "col", "aria-sort": sort.key === key ? (sort.asc ? "ascending" : "descending") : "none",
  }, h("button", { type: "button", class: "sort", "data-key": key, title: t("sort_hint"),
    text: t(label) + (sort.key === key ? (sort.asc ? " ▲" : " ▼") : "") })))));
  if (current.flowPage && current.flowPage.key === flowKey()) { drawFlows(current.flowPage.data); return; }
  const id = ++flowReq;
  document.body.dataset.flows = "loading";
  ensureWorker().postMessage({
    type: "flows", job, id, filter: $("flow-filter").value.trim(), scope: $("flow-scope").value,
    key: sort.key, asc: sort.asc, offset: flowPageNo * PAGE_ROWS, limit: PAGE_ROWS,
  });
}

/** What the shown page answers: filter, scope, sort and page number. */
function flowKey() {
  return JSON.stringify([$("flow-filter").value.trim(), $("flow-scope").value, sort.key, sort.asc, flowPageNo]);
}

function flowsArrived(m) {
  if (m.job !== job || m.id !== flowReq || !current || !current.report) return;
  if (m.error) { $("flows-count").textContent = m.error; document.body.dataset.flows = "error"; return; }
  const data = JSON.parse(m.json);
  current.flowPage = { key: flowKey(), data };
  drawFlows(data);
}

function drawFlows(data) {
  const r = current.report;
  const flagged = new Map();
  for (const f of r.findings || []) if (f.flow !== null && f.flow !== undefined) flagged.set(f.flow, (flagged.get(f.flow) || 0) + 1);
  const rows = data.rows || [];
  const tb = $("flows").tBodies[0];
  const pair = (p, fmt) => (p ? `${fmt(p.c2s)} / ${fmt(p.s2c)}` : "–");
  tb.replaceChildren(...rows.map((f) => h("tr", { class: flagged.has(f.id) ? "flagged" : "", "data-testid": "flow-row", "data-flow": String(f.id) },
    h("td", { text: String(f.id) }),
    h("td", { text: f.transport }),
    h("td", {}, h("bdi", { dir: "ltr", text: f.client })),
    h("td", {}, h("bdi", { dir: "ltr", text: f.server })),
    h("td", { text: f.app ? appLabel(f.app) : "–" }),
    h("td", { text: serviceLabel(f.service) }),
    h("td", { text: (f.protocols || []).join(", ") || "–", title: f.sni || undefined }),
    h("td", { title: f.history || "" }, h("code", { text: f.conn_state || "–" })),
    h("td", { text: pair(f.packets, num) }),
    h("td", { text: pair(f.bytes, bytes) }),
    h("td", { text: secs(f.duration) }),
    h("td", { text: typeof f.rtt === "number" ? secs(f.rtt) : "–" }),
    h("td", { text: flagged.has(f.id) ? String(flagged.get(f.id)) : "" }),
  )));
  if (!rows.length) tb.replaceChildren(h("tr", {}, h("td", { colSpan: COLUMNS.length, class: "empty", text: t("no_flows") })));
  const pages = Math.max(1, Math.ceil(data.matching / PAGE_ROWS));
  $("flows-count").textContent = data.matching > PAGE_ROWS
    ? t("flows_page", { from: num(data.offset + 1), to: num(data.offset + rows.length), matching: num(data.matching), total: num(data.total) })
    : t("flows_count", { shown: num(data.matching), total: num(data.total) });
  const pager = $("flows-pager");
  pager.hidden = pages <= 1;
  $("flows-prev").disabled = flowPageNo <= 0;
  $("flows-next").disabled = flowPageNo >= pages - 1;
  $("flows-page-no").textContent = t("page_n", { n: num(flowPageNo + 1), pages: num(pages) });
  document.body.dataset.flows = "ready";
}

// ---------- compare two captures ----------
let cmpId = 0;
let cmpUrl = null;
let cmpLast = null; // { json, doc } of the last comparison, re-rendered on a language change

function runCompare() {
  const tf = $("cmp-target").files[0], cf = $("cmp-control").files[0];
  if (!tf || !cf) { $("cmp-result").replaceChildren(h("p", { class: "error", text: t("cmp_need_files") })); return; }
  const id = ++cmpId;
  document.body.dataset.compare = "running";
  $("cmp-result").replaceChildren(h("p", { class: "note", text: t("cmp_running") }));
  ensureWorker().postMessage({ type: "compare", id, target: tf, control: cf,
    targetSel: $("cmp-target-sel").value, controlSel: $("cmp-control-sel").value });
}

function compared(m) {
  if (m.id !== cmpId) return;
  if (m.error) {
    cmpLast = null;
    $("cmp-result").replaceChildren(h("p", { class: "error", "data-testid": "cmp-error", dir: "auto", text: m.error }));
    document.body.dataset.compare = "error";
    return;
  }
  cmpLast = { json: m.json, doc: JSON.parse(m.json) };
  renderCompare();
  document.body.dataset.compare = "done";
}

function renderCompare() {
  if (!cmpLast) return;
  const d = cmpLast.doc, r = d.result || {};
  const key = { differentiated: "cmp_differentiated", "not differentiated": "cmp_not_differentiated" }[r.verdict] || "cmp_inconclusive";
  const status = r.verdict === "differentiated" ? "throttled" : r.verdict === "not differentiated" ? "ok" : "inconclusive";
  if (cmpUrl) URL.revokeObjectURL(cmpUrl);
  cmpUrl = URL.createObjectURL(new Blob([cmpLast.json], { type: "application/json" }));
  const rows = [["target", d.target_capture, d.target_selector, r.target], ["control", d.control_capture, d.control_selector, r.control]];
  const pts = (x) => (x && Array.isArray(x.bps) ? x.bps.map((y, i) => [i * (x.interval_s || 1), y]) : []);
  $("cmp-result").replaceChildren(
    h("p", { class: "headline", "data-testid": "cmp-verdict", "data-verdict": r.verdict }, badge(status), " ", h("strong", { text: t(key) })),
    h("details", { class: "tech" }, h("summary", { text: t("technical_detail") }), h("p", { class: "engine-text", lang: "en", dir: "ltr", text: r.summary || "" })),
    h("div", { class: "table-wrap" }, h("table", { class: "quality" }, h("thead", {}, h("tr", {}, ...["cmp_side", "print_file", "cmp_median", "cmp_max"].map((k) => h("th", { text: t(k) })))),
      h("tbody", {}, rows.map(([role, file, sel, x]) => h("tr", { "data-side": role },
        h("td", { text: t(role === "target" ? "cmp_target_short" : "cmp_control_short") }),
        h("td", {}, h("bdi", { text: `${file} [${sel}]` })),
        h("td", { dir: "ltr", text: x ? `${si(x.median_bps)}bit/s` : "–" }),
        h("td", { dir: "ltr", text: x ? `${si(x.max_bps)}bit/s` : "–" })))))),
    h("figure", { class: "chart-box", dir: "ltr", "data-testid": "cmp-chart" }, lineChart(
      [{ label: t("cmp_target"), cls: "up", points: pts(r.target) }, { label: t("cmp_control"), cls: "down", points: pts(r.control) }],
      { title: t("cmp_chart"), xLabel: t("cmp_time") })),
    h("a", { class: "button", href: cmpUrl, download: "comparison.voipwatch.json", "data-testid": "cmp-download", text: t("cmp_download") }),
  );
}

// ---------- evidence pack ----------
// The frames the findings cite and the first packets of their flows, as pcapng with one
// comment per frame: the engine decided which frames when the analysis ended; the worker reads
// the same file again and keeps only those. The bytes are `voipwatch evidence`'s.
let packId = 0;
let packUrl = null;

function resetPack() {
  packId += 1; // a pack still being built for the previous file is dropped when it arrives
  if (packUrl) { URL.revokeObjectURL(packUrl); packUrl = null; }
  $("pack-status").hidden = true;
  $("evidence-pack").disabled = false;
  delete document.body.dataset.pack;
}

function packName(redact) {
  const name = (current.report.capture || {}).name || "capture";
  const base = name.replace(/\.(gz|zst|zstd)$/i, "").replace(/\.(pcapng|pcap|cap)$/i, "");
  return `${base}.evidence${redact ? ".redacted" : ""}.pcapng`;
}

function buildPack() {
  if (!current || !current.report || !current.file) return;
  const id = ++packId;
  const redact = $("pack-redact").checked;
  current.packRequest = { id, redact };
  $("evidence-pack").disabled = true;
  const st = $("pack-status");
  st.textContent = t("pack_building");
  st.hidden = false;
  document.body.dataset.pack = "building";
  ensureWorker().postMessage({ type: "pack", job: current.job, file: current.file, redact, id });
}

function packArrived(m) {
  if (!current || m.id !== packId) return;
  $("evidence-pack").disabled = false;
  const st = $("pack-status");
  if (m.error) {
    st.textContent = t("pack_failed", { error: m.error });
    document.body.dataset.pack = "failed";
    return;
  }
  const redact = !!(current.packRequest && current.packRequest.redact);
  let text = t("pack_done", { frames: num(m.frames), cited: num(m.cited), size: bytes(m.blob.size) });
  if (redact) text += ` ${t("pack_redacted", { n: num(m.redactedHosts) })}`;
  st.textContent = text;
  document.body.dataset.pack = "done";
  if (packUrl) URL.revokeObjectURL(packUrl);
  packUrl = URL.createObjectURL(m.blob);
  const a = h("a", { href: packUrl, download: packName(redact), hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

// ---------- printable report ----------
let hashId = 0;
const hashWaiters = new Map();

/** SHA-256 of the capture, computed once by the engine in the worker. */
function captureHash() {
  if (current.sha256) return Promise.resolve(current.sha256);
  const id = ++hashId;
  return new Promise((resolve, reject) => {
    hashWaiters.set(id, { resolve, reject });
    ensureWorker().postMessage({ type: "hash", file: current.file, id });
  }).then((h) => { current.sha256 = h; return h; });
}

function renderPrintHead() {
  const cap = current.report.capture || {};
  const rows = [
    ["print_file", cap.name || "–"],
    ["print_sha", current.sha256 || t("print_hashing")],
    ["print_date", new Date(current.analysedAt || Date.now()).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC")],
    ["print_version", engineVersionText || "–"],
  ];
  $("print-head").replaceChildren(h("h2", { text: t("print_title") }),
    h("dl", {}, rows.map(([k, v]) => h("div", {}, h("dt", { text: t(k) }), h("dd", { dir: "ltr", class: k === "print_sha" ? "hash" : "", "data-testid": k, text: v })))));
}

async function printReport() {
  renderPrintHead();
  try { await captureHash(); } catch (e) { current.sha256 = `(${String(e)})`; }
  renderPrintHead();
  document.body.dataset.printReady = "true";
  // The printout carries everything: folded detail is opened for it, then folded back.
  const closed = [...document.querySelectorAll("#results details:not([open])")];
  for (const d of closed) d.open = true;
  try { window.print(); } finally { for (const d of closed) d.open = false; }
}

// ---------- wiring ----------
function start() {
  applyLang(initialLang());
  ensureWorker();
  for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => applyLang(b.dataset.lang));
  $("capture-input").addEventListener("change", (e) => {
    const f = e.target.files && e.target.files[0];
    if (f) analyze(f);
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) analyze(f);
  });
  $("cancel").addEventListener("click", () => { reset(); });
  $("again").addEventListener("click", () => reset());
  $("print").addEventListener("click", () => printReport());
  $("evidence-pack").addEventListener("click", () => buildPack());
  $("cmp-run").addEventListener("click", () => runCompare());
  $("try-sample").addEventListener("click", async () => {
    // Same origin (the CSP allows nothing else): the lab capture web/build.sh ships as sample.pcap.
    try {
      const res = await fetch(new URL("./sample.pcap", location.href));
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      analyze(new File([await res.blob()], "udp_media_blackhole.pcap", { type: "application/vnd.tcpdump.pcap" }));
    } catch (e) {
      fail("sample_failed", String(e && e.message ? e.message : e));
    }
  });
  const refilter = () => { if (current && current.report) { flowPageNo = 0; renderFlows(); } };
  $("flow-filter").addEventListener("input", refilter);
  $("flow-scope").addEventListener("change", refilter);
  const turn = (d) => { if (current && current.report) { flowPageNo = Math.max(0, flowPageNo + d); renderFlows(); } };
  $("flows-prev").addEventListener("click", () => turn(-1));
  $("flows-next").addEventListener("click", () => turn(1));
  $("flows").tHead.addEventListener("click", (e) => {
    const b = e.target.closest("button.sort");
    if (!b || !current || !current.report) return;
    sort = sort.key === b.dataset.key ? { key: sort.key, asc: !sort.asc } : { key: b.dataset.key, asc: true };
    flowPageNo = 0;
    renderFlows();
  });
  // The charts are drawn at the page's width (legible text on a phone): redraw on a resize.
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      // Only a change of width redraws (a full-page screenshot or print changes the height).
      if (current && current.report && Math.abs(chartWidth() - Number($("charts").dataset.width || 0)) > 8) renderCharts(current.report);
    }, 150);
  });
  setState("idle");
}

start();
