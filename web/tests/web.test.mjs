// Browser tests of the voipwatch page: Debian's chromium driven by playwright-core, against
// web/dist served by a tiny local server. Run through web/test.sh (which builds everything).
//
// Env: VOIPWATCH_BIN (native CLI, default target/release/voipwatch), VOIPWATCH_BIG_MB (size of
// the generated streaming capture, default 1024), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { chromium } from "playwright-core";
import { serve, CSP } from "./server.mjs";
import { callPcap, decodeErrorsPcap, writeBigPcap, writeManyFlowsPcap } from "./pcap.mjs";

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(WEB, "..");
const DIST = join(WEB, "dist");
const ART = join(ROOT, "test-artifacts");
const BIN = process.env.VOIPWATCH_BIN || join(process.env.CARGO_TARGET_DIR || join(ROOT, "target"), "release", "voipwatch");
const BIG_MB = Number(process.env.VOIPWATCH_BIG_MB || 1024);
// 1M one-packet flows make a 664 MB report, past V8's longest string (2^29 - 24 characters):
// the page of main before issue 13 item 5 said "could not be analysed" on it (800k flows, 531 MB,
// just fit). Smaller values still check paging and the bytes, not the limit.
const MANY_FLOWS = Number(process.env.VOIPWATCH_MANY_FLOWS || 1_000_000);
const V8_MAX_STRING = 2 ** 29 - 24;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let srv, browser, tmp, profile;
const offOrigin = []; // every request that tried to leave the origin, from any context
const servedBy = new Set(); // origins of our own servers (the test server, `voipwatch serve`)

before(async () => {
  assert.ok(existsSync(join(DIST, "voipwatch_wasm_bg.wasm")), "web/dist is built (run web/build.sh)");
  assert.ok(existsSync(BIN), `native CLI at ${BIN} (cargo build --release)`);
  mkdirSync(ART, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), "voipwatch-web-"));
  profile = mkdtempSync(join(tmpdir(), "voipwatch-chromium-"));
  srv = await serve(DIST);
  servedBy.add(srv.origin);
  // launchPersistentContext is the only way Playwright accepts a user data dir; the fresh
  // directory keeps every run independent of earlier ones.
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, acceptDownloads: true });
  guard(browser);
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Fails the run on any request leaving the origin: logged, and aborted before it is sent. */
function guard(ctx) {
  const allowed = (u) => {
    if (u.startsWith("blob:") || u.startsWith("data:") || u === "about:blank") return true;
    try { return servedBy.has(new URL(u).origin); } catch { return false; }
  };
  ctx.on("request", (r) => { if (!allowed(r.url())) offOrigin.push(r.url()); });
  return ctx.route("**/*", (route) => {
    const u = route.request().url();
    if (allowed(u)) return route.continue();
    offOrigin.push(u);
    return route.abort("blockedbyclient");
  });
}

async function newPage(viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage();
  await page.setViewportSize(viewport);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.errors = errors;
  return page;
}

async function analyzeIn(page, file, { lang = "en", timeout = 60_000 } = {}) {
  await page.goto(`${srv.origin}/?lang=${lang}`);
  await page.waitForFunction(() => document.body.dataset.state === "idle");
  await page.setInputFiles('[data-testid="capture-input"]', file);
  await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout });
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state === "done") await flowsReady(page, timeout);
  return state;
}

/** Waits for the flows table's page asked of the worker (after a sort, filter or page turn). */
function flowsReady(page, timeout = 60_000) {
  return page.waitForFunction(() => document.body.dataset.flows === "ready", null, { timeout });
}

/** CPU seconds (user + system) used so far by every live descendant of this test process
 *  (the browser and all its children: renderer, worker thread, file reading). Linux /proc. */
function descendantsCpuSeconds() {
  const stat = new Map();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, "utf8");
      const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
      stat.set(Number(pid), { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) });
    } catch { /* exited */ }
  }
  let ticks = 0;
  const todo = [process.pid];
  const seen = new Set(todo);
  while (todo.length) {
    const p = todo.pop();
    for (const [pid, st] of stat) {
      if (st.ppid === p && !seen.has(pid)) { seen.add(pid); todo.push(pid); ticks += st.ticks; }
    }
  }
  return ticks / 100; // USER_HZ
}

/** CPU seconds (user + system) of one CLI run, via bash's `times`. */
function cliCpuSeconds(file) {
  const r = spawnSync("bash", ["-c", '"$0" analyze --format json "$1" >/dev/null; times', BIN, file], { encoding: "utf8" });
  const lines = r.stdout.trim().split("\n");
  const secs = (t) => { const m = t.match(/(\d+)m([\d.]+)s/); return m ? Number(m[1]) * 60 + Number(m[2]) : NaN; };
  const [u, sy] = (lines[lines.length - 1] || "").trim().split(/\s+/);
  return secs(u) + secs(sy);
}

/** What the native CLI prints for the file: the reference bytes. */
function cli(file) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(BIN, ["analyze", "--format", "json", file], { maxBuffer: 1 << 30 });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  assert.ok(r.status === 0 || r.status === 2, `CLI exit status ${r.status}: ${r.stderr}`);
  assert.ok(r.stdout.length > 0, `CLI printed a report for ${file}: ${r.stderr}`);
  return { bytes: r.stdout, report: JSON.parse(r.stdout.toString("utf8")), stderr: r.stderr.toString(), secs };
}

async function downloaded(page) {
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="download-json"]')]);
  return readFileSync(await dl.path());
}

function captures() {
  const dir = join(ROOT, "captures");
  const found = existsSync(dir)
    ? readdirSync(dir).filter((f) => /\.(pcap|pcapng|cap)$/i.test(f)).map((f) => join(dir, f)).sort()
    : [];
  const gen = join(tmp, "generated-call.pcap");
  writeFileSync(gen, callPcap());
  const bad = join(tmp, "generated-decode-errors.pcap");
  writeFileSync(bad, decodeErrorsPcap());
  return [gen, bad, ...found];
}

/** The capture that shows the most: one with a charted finding, else with verdicts, else generated. */
let showcaseFile = null;
function showcase() {
  if (showcaseFile) return showcaseFile;
  const list = captures();
  const score = (f) => {
    const r = cli(f).report;
    const charts = (r.charts || []).some((c) => c.loss.length) ? 4 : 0;
    return charts + ((r.findings || []).length ? 2 : 0) + ((r.verdicts || []).length ? 1 : 0);
  };
  let best = list[0], bestScore = -1;
  for (const f of list) {
    const sc = score(f);
    if (sc > bestScore) { best = f; bestScore = sc; }
  }
  showcaseFile = best;
  console.log(`# showcase capture for screenshots: ${basename(best)}`);
  return best;
}

const tally = (xs) => xs.map((x) => `${x.app}:${x.status}`).sort();

test("each capture: verdicts match the CLI's and the JSON download is byte-identical", async () => {
  const list = captures();
  console.log(`# ${list.length} capture(s): ${list.map((f) => basename(f)).join(", ")}`);
  const page = await newPage();
  for (const file of list) {
    const ref = cli(file);
    const cap = ref.report.capture;
    const state = await analyzeIn(page, file);
    const name = basename(file);
    if (!cap.complete && !(cap.packets > 0)) {
      assert.equal(state, "error", `${name}: unreadable capture ends in state error`);
      continue;
    }
    assert.equal(state, "done", `${name}: analysis ends in state done`);
    const verdicts = await page.$$eval('[data-testid="verdict"]', (els) => els.map((e) => ({ app: e.dataset.app, status: e.dataset.status })));
    assert.deepEqual(tally(verdicts), tally(ref.report.verdicts || []), `${name}: verdict elements match the CLI's verdicts`);
    for (const v of verdicts) assert.match(v.status, /^(ok|blocked|throttled|degraded|inconclusive)$/);
    const calls = await page.$$eval('[data-testid="call"]', (els) => els.map((e) => ({ app: e.dataset.app, status: e.dataset.status })));
    assert.deepEqual(tally(calls), tally(ref.report.calls || []), `${name}: per-call statuses match`);
    // Every flow a (non-info) finding cites has its chart, from the report's `charts`.
    const citedFlows = new Set((ref.report.findings || []).filter((f) => f.flow !== null && f.severity !== "info").map((f) => f.flow));
    assert.deepEqual((ref.report.charts || []).map((c) => c.flow), [...citedFlows].sort((a, b) => a - b), `${name}: the report charts every cited flow`);
    const charted = await page.$$eval('[data-testid="chart"]', (els) => els.map((e) => Number(e.dataset.flow)));
    assert.deepEqual(charted, (ref.report.charts || []).map((c) => c.flow), `${name}: one chart per cited flow`);
    for (const c of ref.report.charts || []) {
      const box = page.locator(`[data-testid="chart"][data-flow="${c.flow}"]`);
      assert.ok(await box.locator("path.series").count() >= 1, `${name}: flow ${c.flow} chart has lines`);
      assert.equal(await box.locator('[data-testid="loss-band"]').count(), 2 * c.loss.length, `${name}: flow ${c.flow}: each loss episode shaded in both panels`);
    }
    if (!(ref.report.charts || []).length) assert.equal(await page.locator('[data-testid="no-charts"]').count(), 1, `${name}: says there is no flow to chart`);
    // Identical findings share one element that counts them: the counts add up to the report's.
    const counts = await page.$$eval('[data-testid="finding"]', (els) => els.map((e) => Number(e.dataset.count)));
    assert.equal(counts.reduce((a, b) => a + b, 0), (ref.report.findings || []).length, `${name}: every finding shown, identical ones grouped`);
    assert.ok(counts.every((n) => n >= 1));
    // What decoding ran into is on the page: one item per decode error and anomaly id.
    for (const [testid, m] of [["decode-error", cap.decode_errors], ["anomaly", cap.anomalies]]) {
      const shown = await page.$$eval(`[data-testid="${testid}"]`, (els) => els.map((e) => [e.dataset.id, Number(e.dataset.count)]));
      assert.deepEqual(shown, Object.entries(m || {}), `${name}: every ${testid} shown with its count`);
    }
    const limits = await page.$$eval('[data-testid="limit"]', (els) => els.map((e) => e.dataset.limit));
    assert.deepEqual(limits, (cap.limits || []).map((l) => l.limit), `${name}: every limit shown`);
    const warning = await page.locator('[data-testid="warning"]').isVisible();
    assert.equal(warning, !cap.complete, `${name}: a partial report shows a warning`);
    const got = await downloaded(page);
    assert.ok(got.equals(ref.bytes), `${name}: downloaded JSON is byte-identical to \`voipwatch analyze --format json\` (${got.length} vs ${ref.bytes.length} bytes)`);
  }
  assert.deepEqual(page.errors, [], "no page errors");
  await page.close();
});

test("a gzip- or zstd-compressed capture is read in the page as by the CLI (issue 13)", async () => {
  const src = captures().find((f) => basename(f) === "sip_call.pcap") || captures()[0];
  const files = [join(tmp, basename(src) + ".gz")];
  writeFileSync(files[0], gzipSync(readFileSync(src)));
  const zst = spawnSync("zstd", ["-19", "-q", "-c", src]);
  if (zst.status === 0) {
    files.push(join(tmp, basename(src) + ".zst"));
    writeFileSync(files[1], zst.stdout);
  } else console.log("# zstd tool absent: gzip only");
  const page = await newPage();
  for (const file of files) {
    assert.equal(await analyzeIn(page, file), "done", `${basename(file)}: analysis ends in state done`);
    const got = await downloaded(page);
    const ref = cli(file);
    assert.ok(ref.report.capture.complete, `${basename(file)}: the CLI read it whole`);
    assert.ok(got.equals(ref.bytes), `${basename(file)}: the page's JSON is the CLI's (${got.length} vs ${ref.bytes.length} bytes)`);
  }
  assert.deepEqual(page.errors, [], "no page errors");
  await page.close();
});

test("a text file shows the engine's error and ends in state error", async () => {
  const file = join(tmp, "notes.txt");
  writeFileSync(file, "These are my meeting notes, not a packet capture.\n".repeat(20));
  const ref = cli(file);
  assert.equal(ref.report.capture.complete, false, "the engine rejects a text file");
  const page = await newPage();
  for (const lang of ["en", "fr", "ar"]) {
    const state = await analyzeIn(page, file, { lang });
    assert.equal(state, "error");
    const box = page.locator('[data-testid="error"]');
    assert.ok(await box.isVisible(), "the error box is shown");
    const text = await page.locator('[data-testid="error-message"]').innerText();
    assert.ok(text.includes(ref.report.capture.error), `error message quotes the engine (${lang}): ${text}`);
    const plain = await page.locator('[data-testid="error-plain"]').innerText();
    const said = { en: "This is a text file", fr: "C'est un fichier texte", ar: "ملف نصّي" }[lang];
    assert.ok(plain.includes(said), `the plain error is in ${lang}: ${plain}`);
    assert.equal(await page.locator('[data-testid="verdict"]').count(), 0);
    if (lang === "en") await page.screenshot({ path: join(ART, "error-en.png"), fullPage: true });
  }
  await page.close();
});

test("a photo picked by mistake is named in the reader's language (issue 15)", async () => {
  const file = join(tmp, "IMG_0042.jpg");
  writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from("JFIF\0"), Buffer.alloc(4000, 7)]));
  const ref = cli(file);
  assert.equal(ref.report.capture.error_message.id, "error.file.jpeg");
  const page = await newPage();
  for (const [lang, said] of [["en", "This is a JPEG photo, not a packet capture"], ["fr", "C'est une photo JPEG, pas une capture de paquets"], ["ar", "هذه صورة JPEG وليست تسجيلًا للحزم"]]) {
    assert.equal(await analyzeIn(page, file, { lang }), "error");
    const plain = await page.locator('[data-testid="error-plain"]').innerText();
    assert.ok(plain.includes(said), `${lang}: ${plain}`);
    assert.ok((await page.locator('[data-testid="error-message"]').innerText()).includes(ref.report.capture.error), "the engine's exact words stay below");
    if (lang === "fr") await page.screenshot({ path: join(ART, "error-jpeg-fr.png") });
  }
  // Switching language re-renders the error box.
  await page.click('[data-lang="en"]');
  assert.ok((await page.locator('[data-testid="error-plain"]').innerText()).includes("JPEG photo"));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a capture cut mid-packet still shows its results, with a warning", async () => {
  const whole = callPcap();
  const file = join(tmp, "cut.pcap");
  writeFileSync(file, whole.subarray(0, Math.floor(whole.length * 0.6) + 7));
  const ref = cli(file);
  assert.equal(ref.report.capture.complete, false, "the engine reports the cut");
  assert.ok(ref.report.capture.packets > 0, "and keeps the packets before it");
  const page = await newPage();
  assert.equal(await analyzeIn(page, file), "done");
  assert.ok(await page.locator('[data-testid="warning"]').isVisible(), "a warning says the report is partial");
  const warning = await page.locator('[data-testid="warning"]').innerText();
  assert.ok(warning.includes(ref.report.capture.error), `the warning quotes the engine: ${warning}`);
  assert.match(await page.locator('[data-testid="warning-plain"]').innerText(), /stops in the middle of a packet \(at byte \d+\)/);
  assert.equal(await page.evaluate(() => document.body.dataset.complete), "false");
  assert.ok((await downloaded(page)).equals(ref.bytes), "partial report byte-identical too");
  await page.close();
});

test("results in English, French and Arabic (RTL), screenshots kept", async () => {
  const file = showcase();
  const page = await newPage();
  assert.equal(await analyzeIn(page, file), "done");
  const headings = {};
  for (const lang of ["en", "fr", "ar"]) {
    await page.click(`[data-lang="${lang}"]`);
    const dir = await page.evaluate(() => document.documentElement.dir);
    assert.equal(dir, lang === "ar" ? "rtl" : "ltr", `${lang}: text direction`);
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
    headings[lang] = await page.locator("h2").allInnerTexts();
    // Every element with a string key is filled in the current language.
    const empty = await page.$$eval("[data-i18n]", (els) => els.filter((e) => !e.textContent.trim()).map((e) => e.dataset.i18n));
    assert.deepEqual(empty, [], `${lang}: every UI string is translated`);
    await page.screenshot({ path: join(ART, `result-${lang}.png`), fullPage: true });
    const chart = page.locator('[data-testid="chart"]').first();
    if (await chart.count()) await chart.screenshot({ path: join(ART, `chart-${lang}.png`) });
  }
  assert.notDeepEqual(headings.en, headings.fr);
  assert.notDeepEqual(headings.en, headings.ar);
  assert.ok(headings.ar.some((h) => /[\u0600-\u06ff]/.test(h)), "Arabic headings are in Arabic script");
  // Printable evidence page: controls hidden in print media; a PDF is kept as an artefact.
  await page.click('[data-lang="en"]');
  await page.emulateMedia({ media: "print" });
  assert.equal(await page.locator('[data-testid="download-json"]').isVisible(), false, "print hides the toolbar");
  assert.ok(await page.locator("#verdicts").isVisible(), "print keeps the verdicts");
  await page.screenshot({ path: join(ART, "print-en.png"), fullPage: true });
  await page.pdf({ path: join(ART, "evidence-en.pdf") });
  await page.emulateMedia({ media: "screen" });
  // Flows table: sorting by a header orders the rows; the filter narrows them.
  const report = cli(file).report;
  const rows = await page.locator('[data-testid="flow-row"]').count();
  assert.equal(rows, Math.min(500, report.flows.length), "one row per flow");
  const order = () => page.$$eval('[data-testid="flow-row"]', (trs) => trs.map((tr) => Number(tr.dataset.flow)));
  const total = (f) => f.bytes.c2s + f.bytes.s2c;
  const expect = (asc) => [...report.flows].sort((a, b) => (asc ? total(a) - total(b) : total(b) - total(a)) || a.id - b.id).map((f) => f.id).slice(0, 500);
  await page.click('#flows th button[data-key="bytes"]');
  await flowsReady(page);
  assert.equal(await page.getAttribute('#flows th:has(button[data-key="bytes"])', "aria-sort"), "ascending");
  assert.deepEqual(await order(), expect(true), "sorted by bytes, ascending");
  await page.click('#flows th button[data-key="bytes"]');
  await flowsReady(page);
  assert.equal(await page.getAttribute('#flows th:has(button[data-key="bytes"])', "aria-sort"), "descending");
  assert.deepEqual(await order(), expect(false), "sorted by bytes, descending");
  if (report.flows.length) {
    const f0 = report.flows[report.flows.length - 1];
    await page.fill('[data-testid="flow-filter"]', f0.server);
    await flowsReady(page);
    const shown = await order();
    assert.ok(shown.includes(f0.id), "filtering by a server address keeps its flow");
    const byId = new Map(report.flows.map((f) => [f.id, f]));
    assert.ok(shown.every((id) => [byId.get(id).client, byId.get(id).server, byId.get(id).sni || ""].some((v) => v.includes(f0.server))), "and only matching flows");
  }
  await page.fill('[data-testid="flow-filter"]', "no-such-flow-zzz");
  await flowsReady(page);
  assert.equal(await page.locator('[data-testid="flow-row"]').count(), 0, "filter hides non-matching flows");
  await page.fill('[data-testid="flow-filter"]', "");
  await flowsReady(page);
  assert.equal(await page.locator('[data-testid="flow-row"]').count(), rows);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("phone width (390×844): nothing overflows horizontally, verdicts visible", async () => {
  const file = showcase();
  const page = await newPage({ width: 390, height: 844 });
  assert.equal(await analyzeIn(page, file), "done");
  for (const lang of ["en", "fr", "ar"]) {
    await page.click(`[data-lang="${lang}"]`);
    const over = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, vw: window.innerWidth }));
    assert.ok(over.doc <= over.vw && over.body <= over.vw, `${lang}: page fits 390 px (${JSON.stringify(over)})`);
    const first = page.locator('[data-testid="verdict"], [data-testid="no-verdicts"]').first();
    await first.scrollIntoViewIfNeeded();
    assert.ok(await first.isVisible(), `${lang}: verdicts visible`);
    const box = await first.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390 + 0.5, `${lang}: verdict inside the screen (${JSON.stringify(box)})`);
    await page.screenshot({ path: join(ART, `phone-${lang}.png`), fullPage: false });
  }
  await page.close();
});


test("the answer comes first in the reader's language: headline on a phone's first screen, French and Arabic sentences", async () => {
  const file = join(ROOT, "captures", "udp_media_blackhole.pcap");
  if (!existsSync(file)) { console.log("# skipped: captures/udp_media_blackhole.pcap absent"); return; }
  const page = await newPage({ width: 390, height: 844 });
  assert.equal(await analyzeIn(page, file), "done");
  const want = {
    en: ["WhatsApp calls were blocked.", "nothing came back"],
    fr: ["Les appels WhatsApp ont été bloqués.", "rien n'est revenu"],
    ar: ["حُظرت مكالمات WhatsApp.", "ولم يعد أي شيء"],
  };
  for (const lang of ["en", "fr", "ar"]) {
    await page.click(`[data-lang="${lang}"]`);
    await page.evaluate(() => window.scrollTo(0, 0));
    const card = page.locator('[data-testid="headline"]').first();
    assert.equal(await card.getAttribute("data-status"), "blocked");
    const text = await card.innerText();
    for (const w of want[lang]) assert.ok(text.includes(w), `${lang}: headline says ${w}: ${text}`);
    const box = await card.boundingBox();
    assert.ok(box && box.y >= 0 && box.y + Math.min(box.height, 120) <= 844, `${lang}: the headline is on the first 390×844 screen (${JSON.stringify(box)})`);
    // The facts that carry the verdict come with it, in the same language.
    const facts = await card.locator('[data-testid="facts"] li').allInnerTexts();
    assert.ok(facts.length >= 1, `${lang}: the facts behind the verdict are listed`);
    if (lang === "fr") assert.ok(facts.some((f) => f.includes("paquets sont partis après le dernier paquet")), facts.join(" | "));
    if (lang === "ar") assert.ok(facts.every((f) => /[\u0600-\u06ff]/.test(f)), facts.join(" | "));
    // The engine's technical English sentence is folded away, one click from the headline.
    assert.equal(await card.locator("details.tech .engine-text").isVisible(), false, `${lang}: technical detail folded`);
    await page.screenshot({ path: join(ART, `answer-phone-${lang}.png`), fullPage: false });
  }
  await checkCallTimeline(page);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("throughput and RTT on one time axis with the loss episodes shaded, for a throttled and a blocked flow, legible on a phone", async () => {
  for (const [cap, shot] of [["policer_1mbit.pcap", "flow-chart-throttled"], ["udp_media_blackhole.pcap", "flow-chart-blocked"]]) {
    const file = join(ROOT, "captures", cap);
    if (!existsSync(file)) { console.log(`# skipped: captures/${cap} absent`); continue; }
    const ref = cli(file).report;
    const page = await newPage({ width: 390, height: 844 });
    assert.equal(await analyzeIn(page, file), "done");
    assert.equal(await page.locator('[data-testid="no-charts"]').count(), 0, `${cap}: never "no flow to chart" under a flagged flow`);
    for (const lang of ["en", "fr", "ar"]) {
      await page.click(`[data-lang="${lang}"]`);
      const box = page.locator('[data-testid="chart"]').first();
      const c = ref.charts[0];
      assert.equal(Number(await box.getAttribute("data-flow")), c.flow);
      const svg = box.locator('[data-testid="time-chart"]');
      // One drawing: the two panels share the x axis (one svg, one axis label).
      assert.equal(await svg.count(), 1);
      assert.equal(await svg.locator(".axis-label").count(), 1, `${cap} ${lang}: one shared time axis`);
      assert.ok(await svg.locator("path.series.rtt").count() + await svg.locator("text").filter({ hasText: /RTT|aller|الذهاب/ }).count() >= 1);
      assert.equal(await svg.locator('[data-testid="loss-band"]').count(), 2 * c.loss.length, `${cap}: loss episodes shaded in both panels`);
      if (cap.startsWith("policer")) assert.ok(c.loss.length >= 3, `${cap}: the policer's losses are there`);
      assert.ok(await svg.locator('[data-testid="chart-mark"]').count() >= 1, `${cap}: the finding is marked`);
      // Legible on a phone: the drawing is not scaled down (text at least 10 CSS px), and fits.
      const fit = await svg.evaluate((e) => {
        const vb = e.viewBox.baseVal.width, w = e.getBoundingClientRect().width;
        const t = e.querySelector(".tick");
        return { scale: w / vb, right: e.getBoundingClientRect().right, font: parseFloat(getComputedStyle(t).fontSize) * (w / vb) };
      });
      assert.ok(fit.scale > 0.9 && fit.font >= 10 && fit.right <= 390 + 0.5, `${cap} ${lang}: legible at 390 px (${JSON.stringify(fit)})`);
      const legend = await box.locator(".chart-legend").innerText();
      if (lang === "fr") assert.ok(legend.includes("paquets perdus"), legend);
      if (lang === "ar") assert.ok(/[\u0600-\u06ff]/.test(legend), legend);
      await box.scrollIntoViewIfNeeded();
      await box.screenshot({ path: join(ART, `${shot}-${lang}.png`) });
    }
    assert.deepEqual(page.errors, []);
    await page.close();
  }
});

test("French and Arabic verdict sentences on every lab capture with a verdict: the page says what `voipwatch analyze --lang` says", async () => {
  const page = await newPage();
  let checked = 0;
  for (const file of captures().filter((f) => f.includes("/captures/"))) {
    const ref = cli(file).report;
    if (!(ref.verdicts || []).length || !ref.capture.complete) continue;
    assert.equal(await analyzeIn(page, file), "done");
    for (const lang of ["fr", "ar"]) {
      const out = spawnSync(BIN, ["analyze", "--lang", lang, file]).stdout.toString("utf8");
      await page.click(`[data-lang="${lang}"]`);
      const heads = await page.$$eval('[data-testid="headline"] .headline strong', (els) => els.map((e) => e.textContent));
      assert.equal(heads.length, ref.verdicts.length, `${basename(file)} ${lang}: one headline per verdict`);
      for (const hd of heads) {
        assert.ok(out.includes(hd), `${basename(file)} ${lang}: the CLI says the page's headline too: ${hd}`);
        assert.ok(lang !== "ar" || /[\u0600-\u06ff]/.test(hd), `${basename(file)}: the Arabic headline is Arabic: ${hd}`);
        assert.ok(!ref.verdicts.some((v) => v.summary === hd), `${basename(file)} ${lang}: not the English summary`);
      }
    }
    checked += 1;
  }
  assert.ok(checked >= 10, `lab captures checked: ${checked}`);
  assert.deepEqual(page.errors, []);
  await page.close();
});

async function checkCallTimeline(page) {
  await page.click('[data-lang="en"]');
  const tl = page.locator('[data-testid="call-timeline"]').first();
  assert.equal(await tl.count(), 1, "a blocked call has a timeline");
  assert.ok(await tl.locator('[data-dir="c2s"]').count() >= 1, "the sent direction is drawn");
  assert.ok(await tl.locator('[data-testid="one-way"]').count() >= 1, "the one-way period is marked");
  assert.ok(await tl.locator('[data-testid="finding-mark"]').count() >= 1, "the blocking finding is marked");
  assert.ok(await page.locator('[data-testid="call-quality"] tr[data-dir="s2c"]').count() >= 1, "quality per direction");
  // MOS per direction: the received audio was cut (MOS 1), the sent audio was fine.
  const mos = async (sent) => Number((await page.locator(`[data-testid="call-quality"] tr[data-sent="${sent}"] [data-testid="mos"]`).first().innerText()).replace(",", "."));
  assert.ok((await mos(false)) < 2 && (await mos(true)) > 3.5, "MOS shown per direction");
  await tl.scrollIntoViewIfNeeded();
  await tl.screenshot({ path: join(ART, "call-timeline.png") });
}

test("the printed report carries the capture's SHA-256, the date and the engine version", async () => {
  const file = join(ROOT, "captures", "udp_media_blackhole.pcap");
  if (!existsSync(file)) { console.log("# skipped: captures/udp_media_blackhole.pcap absent"); return; }
  const page = await newPage();
  assert.equal(await analyzeIn(page, file, { lang: "fr" }), "done");
  await page.evaluate(() => { window.print = () => { document.body.dataset.printed = "yes"; }; });
  await page.click("#print");
  await page.waitForFunction(() => document.body.dataset.printed === "yes");
  const sha = (await import("node:crypto")).createHash("sha256").update(readFileSync(file)).digest("hex");
  assert.equal(await page.locator('[data-testid="print_sha"]').innerText(), sha);
  assert.match(await page.locator('[data-testid="print_date"]').innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  assert.match(await page.locator('[data-testid="print_version"]').innerText(), /^\d+\.\d+\.\d+/);
  await page.emulateMedia({ media: "print" });
  assert.ok(await page.locator('[data-testid="print-head"]').isVisible(), "the head shows in print");
  // No token is broken across lines: each address and the hash keep one line box.
  const broken = await page.$$eval('[data-testid="print_sha"], #calls bdi, #flows bdi', (els) =>
    els.filter((e) => e.getClientRects().length > 1).map((e) => e.textContent));
  assert.deepEqual(broken, [], "no address or hash broken mid-token");
  await page.pdf({ path: join(ART, "evidence-fr.pdf") });
  await page.emulateMedia({ media: "screen" });
  assert.deepEqual(page.errors, []);
  await page.close();
});


test("the evidence pack from the page is byte-identical to `voipwatch evidence`, plain and redacted (issue 15)", async () => {
  const names = ["rst_injection_race.pcap", "http_block_page.pcap", "udp_media_blackhole.pcap"];
  const hasTshark = spawnSync("tshark", ["-v"]).status === 0;
  if (!hasTshark) console.log("# tshark absent: the packs' frame comments are not read back with tshark");
  let shown = 0;
  for (const name of names) {
    const file = join(ROOT, "captures", name);
    if (!existsSync(file)) { console.log(`# skipped ${name}: absent`); continue; }
    const page = await newPage();
    assert.equal(await analyzeIn(page, file), "done", name);
    for (const redact of [false, true]) {
      const out = join(tmp, `${name}.${redact ? "redacted." : ""}pcapng`);
      const r = spawnSync(BIN, ["evidence", file, "-o", out, ...(redact ? ["--redact"] : [])], { encoding: "utf8" });
      assert.equal(r.status, 0, `voipwatch evidence ${name}: ${r.stderr}`);
      const ref = readFileSync(out);
      if (redact !== (await page.locator('[data-testid="pack-redact"]').isChecked())) await page.click('[data-testid="pack-redact"]');
      const [dl] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="evidence-pack"]')]);
      const got = readFileSync(await dl.path());
      assert.equal(dl.suggestedFilename(), `${name.replace(/\.pcap$/, "")}.evidence${redact ? ".redacted" : ""}.pcapng`);
      assert.ok(got.equals(ref), `${name}${redact ? " (redacted)" : ""}: the page's pack is byte-identical to \`voipwatch evidence\` (${got.length} vs ${ref.length} bytes)`);
      await page.waitForFunction(() => document.body.dataset.pack === "done");
      const status = await page.locator('[data-testid="pack-status"]').innerText();
      const frames = Number((r.stdout.match(/: (\d+) frames? \(/) || [])[1]);
      assert.ok(frames > 0, `${name}: the CLI's pack holds frames (${r.stdout})`);
      assert.ok(status.includes(`${frames} frames`), `status names the CLI's frame count ${frames}: ${status}`);
      if (redact) assert.match(status, /Redacted/);
      if (hasTshark) {
        const c = spawnSync("tshark", ["-r", await dl.path(), "-T", "fields", "-e", "frame.comment"], { encoding: "utf8" });
        assert.equal(c.status, 0, c.stderr);
        assert.match(c.stdout, /#0 [a-z_]+: /, `${name}: tshark reads the frames' finding comments`);
        // Every frame a finding cites is in the page's pack, named by its original number.
        const held = new Set([...c.stdout.matchAll(/original frame (\d+)/g)].map((m) => Number(m[1])));
        const cited = new Set(cli(file).report.findings.flatMap((f) => f.packets || []));
        for (const n of cited) assert.ok(held.has(n), `${name}: cited frame ${n} is in the page's pack`);
      }
    }
    if (!shown++) {
      await page.locator('[data-testid="pack-status"]').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ART, "evidence-pack.png") });
    }
    assert.deepEqual(page.errors, []);
    await page.close();
  }
  assert.ok(shown > 0, "at least one capture was checked");
});

test("compare two captures on the page: the CLI's verdict and the same JSON bytes, both series on one chart", async () => {
  const tf = join(ROOT, "captures", "compare_target.pcap"), cf = join(ROOT, "captures", "compare_control.pcap");
  if (!existsSync(tf) || !existsSync(cf)) { console.log("# skipped: the compare captures are absent"); return; }
  const r = spawnSync(BIN, ["compare", tf, cf, "--format", "json"], { maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, String(r.stderr));
  const page = await newPage({ width: 390, height: 844 });
  await page.goto(`${srv.origin}/?lang=fr`);
  await page.waitForFunction(() => document.body.dataset.state === "idle");
  await page.click('[data-testid="compare-box"] summary');
  await page.setInputFiles('[data-testid="cmp-target"]', tf);
  await page.setInputFiles('[data-testid="cmp-control"]', cf);
  await page.click('[data-testid="cmp-run"]');
  await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.compare), null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.compare), "done");
  const cli = JSON.parse(r.stdout.toString());
  assert.equal(await page.getAttribute('[data-testid="cmp-verdict"]', "data-verdict"), cli.result.verdict);
  assert.ok((await page.innerText('[data-testid="cmp-verdict"]')).includes("différemment"), "the verdict reads in French");
  assert.equal(await page.locator('[data-testid="cmp-chart"] path.series').count(), 2, "both throughput series on one chart");
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="cmp-download"]')]);
  assert.ok(readFileSync(await dl.path()).equals(r.stdout), "the downloaded comparison is byte-identical to `voipwatch compare --format json`");
  const over = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.ok(over, "the comparison fits a phone's width");
  await page.locator('[data-testid="cmp-result"]').screenshot({ path: join(ART, "compare-fr.png") });
  // A selector that matches nothing is named, not a silent empty result.
  await page.fill('[data-testid="cmp-target-sel"]', "sni=nothing.example");
  await page.click('[data-testid="cmp-run"]');
  await page.waitForFunction(() => document.body.dataset.compare === "error", null, { timeout: 60_000 });
  assert.match(await page.innerText('[data-testid="cmp-error"]'), /sni=nothing\.example.*matches no flow/);
  assert.deepEqual(page.errors, []);
  await page.close();
});


test("the idle page says how to record a call on each platform, and a sample capture gives the answer", async () => {
  const page = await newPage({ width: 390, height: 844 });
  for (const [lang, word] of [["en", "PCAPdroid"], ["fr", "PCAPdroid"], ["ar", "PCAPdroid"]]) {
    await page.goto(`${srv.origin}/?lang=${lang}`);
    await page.waitForFunction(() => document.body.dataset.state === "idle");
    await page.click('[data-testid="howto"] summary');
    const text = await page.innerText('[data-testid="howto"]');
    for (const w of [word, "rvictl", "Wireshark", "tcpdump"]) assert.ok(text.includes(w), `${lang}: how-to names ${w}`);
  }
  await page.screenshot({ path: join(ART, "howto-ar.png"), fullPage: true });
  await page.click('[data-testid="try-sample"]');
  await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.state), "done");
  assert.equal(await page.getAttribute('[data-testid="headline"]', "data-status"), "blocked");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("`voipwatch serve` serves the embedded page, engine included", async () => {
  const proc = spawn(BIN, ["serve", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const origin = await new Promise((res, rej) => {
      let out = "";
      const timer = setTimeout(() => rej(new Error(`serve printed no URL: ${out}`)), 10_000);
      proc.stdout.on("data", (d) => {
        out += d;
        const m = out.match(/http:\/\/127\.0\.0\.1:\d+/);
        if (m) { clearTimeout(timer); servedBy.add(m[0]); res(m[0]); }
      });
      proc.on("exit", (c) => rej(new Error(`serve exited with ${c}: ${out}`)));
    });
    const page = await browser.newPage();
    const res = await page.goto(`${origin}/?lang=en`);
    assert.equal(res.headers()["content-security-policy"], `${CSP}; frame-ancestors 'none'`,
      "serve sends the page's CSP header, plus frame-ancestors (only a header can carry it)");
    assert.equal(res.headers()["x-frame-options"], "DENY");
    assert.equal((await page.request.get(`${origin}/voipwatch_wasm_bg.wasm`)).headers()["content-type"], "application/wasm",
      "the binary embeds the engine (web/build.sh ran before cargo build --release)");
    await page.waitForFunction(() => document.body.dataset.state === "idle");
    const file = join(tmp, "generated-call.pcap");
    if (!existsSync(file)) writeFileSync(file, callPcap());
    await page.setInputFiles('[data-testid="capture-input"]', file);
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state));
    assert.equal(await page.evaluate(() => document.body.dataset.state), "done");
    assert.ok((await downloaded(page)).equals(cli(file).bytes), "same JSON from the served page");
    await page.close();
  } finally {
    proc.kill();
  }
});

test("once loaded, the page works offline", async () => {
  const file = join(tmp, "generated-call.pcap");
  if (!existsSync(file)) writeFileSync(file, callPcap());
  const ref = cli(file);
  const page = await newPage();
  await page.goto(`${srv.origin}/?lang=en`);
  await page.waitForFunction(() => document.body.dataset.engine === "ready");
  await browser.setOffline(true);
  try {
    const reachable = await page.evaluate(() => fetch("/index.html").then(() => true, () => false));
    assert.equal(reachable, false, "the network is really off");
    for (let i = 0; i < 2; i++) {
      await page.setInputFiles('[data-testid="capture-input"]', file);
      await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state));
      assert.equal(await page.evaluate(() => document.body.dataset.state), "done", `offline analysis ${i + 1}`);
      assert.ok((await downloaded(page)).equals(ref.bytes));
      await page.click("#again");
    }
  } finally {
    await browser.setOffline(false);
  }
  await page.close();
});

test("the CSP blocks a request to another origin", async () => {
  const page = await newPage();
  await page.goto(`${srv.origin}/`);
  const header = (await page.request.get(`${srv.origin}/`)).headers()["content-security-policy"];
  assert.equal(header, CSP);
  const meta = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
  assert.equal(meta, CSP, "the page carries the same CSP as a meta tag (for any static host)");
  const before = offOrigin.length;
  const r = await page.evaluate(async () => {
    const seen = new Promise((res) => document.addEventListener("securitypolicyviolation", (e) => res(e.violatedDirective), { once: true }));
    let fetched = "no";
    try { await fetch("http://192.0.2.1/x"); fetched = "yes"; } catch { fetched = "blocked"; }
    return { fetched, directive: await seen };
  });
  assert.equal(r.fetched, "blocked");
  assert.equal(r.directive, "connect-src");
  assert.equal(offOrigin.length, before, "a CSP-blocked fetch never becomes a request");
  await page.close();
});

test(`a ${BIG_MB} MB capture streams with bounded worker memory`, { timeout: 20 * 60_000 }, async () => {
  const file = join(tmp, `big-${BIG_MB}mb.pcap`);
  const g0 = Date.now();
  const { bytes, packets } = writeBigPcap(file, BIG_MB * 1024 * 1024);
  console.log(`# generated ${file}: ${(bytes / 1e6).toFixed(0)} MB, ${packets} packets in ${((Date.now() - g0) / 1000).toFixed(1)} s`);
  const page = await newPage();
  await page.goto(`${srv.origin}/?lang=en`);
  await page.waitForFunction(() => document.body.dataset.state === "idle");
  // The worker's JS heap, read over CDP from the worker target while it runs.
  const cdp = await page.context().newCDPSession(page);
  let workerSession = null, msgId = 0, peakHeap = 0, samples = 0;
  const pending = new Map();
  cdp.on("Target.attachedToTarget", (e) => { if (e.targetInfo.type === "worker") workerSession = e.sessionId; });
  cdp.on("Target.detachedFromTarget", (e) => { if (e.sessionId === workerSession) workerSession = null; });
  cdp.on("Target.receivedMessageFromTarget", (e) => {
    const m = JSON.parse(e.message);
    if (m.id && pending.has(m.id)) { pending.get(m.id)(m.result); pending.delete(m.id); }
  });
  await cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const heap = () => new Promise((res) => {
    if (!workerSession) return res(null);
    const id = ++msgId;
    pending.set(id, res);
    cdp.send("Target.sendMessageToTarget", { sessionId: workerSession, message: JSON.stringify({ id, method: "Runtime.getHeapUsage" }) }).catch(() => res(null));
    setTimeout(() => { pending.delete(id); res(null); }, 2000);
  });
  // Cancel works mid-file (and the same worker then takes the next job).
  await page.setInputFiles('[data-testid="capture-input"]', file);
  await page.waitForFunction(() => document.getElementById("progress-bar").value > 0, null, { timeout: 60_000 });
  await page.click("#cancel");
  assert.equal(await page.evaluate(() => document.body.dataset.state), "idle", "cancel returns to the upload form");
  assert.equal(await page.locator("#results").isVisible(), false);
  let peakWasmSeen = 0;
  const cpu0 = descendantsCpuSeconds();
  const t0 = Date.now();
  await page.setInputFiles('[data-testid="capture-input"]', file);
  for (;;) {
    const state = await page.evaluate(() => document.body.dataset.state);
    if (state === "done" || state === "error") break;
    const h = await heap();
    if (h && typeof h.usedSize === "number") { peakHeap = Math.max(peakHeap, h.totalSize || h.usedSize); samples++; }
    peakWasmSeen = Math.max(peakWasmSeen, Number(await page.evaluate(() => document.body.dataset.wasmBytes || 0)));
    assert.ok(Date.now() - t0 < 15 * 60_000, "analysis finishes");
    await new Promise((r) => setTimeout(r, 250));
  }
  const wall = (Date.now() - t0) / 1000;
  const browserCpu = descendantsCpuSeconds() - cpu0;
  assert.equal(await page.evaluate(() => document.body.dataset.state), "done");
  const ds = await page.evaluate(() => ({ ...document.body.dataset }));
  const peakWasm = Math.max(peakWasmSeen, Number(ds.peakWasmBytes || 0));
  const wasmMBs = Number(ds.mbps);
  const engineMBs = Number(ds.engineMbps);
  const MB = 1024 * 1024;
  console.log(`# worker memory: JS heap peak ${(peakHeap / MB).toFixed(1)} MiB (${samples} CDP samples), wasm memory peak ${(peakWasm / MB).toFixed(1)} MiB`);
  assert.ok(samples > 0 || wall < 2, "worker heap sampled over CDP");
  assert.ok(peakHeap + peakWasm < 300 * MB, `worker JS heap + wasm memory stay under 300 MiB (got ${((peakHeap + peakWasm) / MB).toFixed(1)} MiB)`);
  // Native reference on the same file: same bytes out, and its speed for comparison.
  const ref = cli(file);
  const got = await downloaded(page);
  assert.ok(got.equals(ref.bytes), "1 GB report byte-identical to the CLI's");
  const nativeMBs = bytes / 1e6 / ref.secs;
  const nativeCpu = cliCpuSeconds(file);
  const line = `# throughput on ${(bytes / 1e6).toFixed(0)} MB (${packets} packets): WASM in Chromium ${wasmMBs.toFixed(1)} MB/s ` +
    `(worker time incl. file reading; engine alone ${engineMBs.toFixed(1)} MB/s; ${(bytes / 1e6 / wall).toFixed(1)} MB/s wall incl. page), native CLI ${nativeMBs.toFixed(1)} MB/s ` +
    `(\`voipwatch analyze --format json\`, ${ref.secs.toFixed(2)} s); ratio ${(wasmMBs / nativeMBs).toFixed(2)}. ` +
    `Per CPU-second (load-independent): Chromium, all browser processes ${(bytes / 1e6 / browserCpu).toFixed(0)} MB/s ` +
    `(${browserCpu.toFixed(2)} CPU-s), native ${(bytes / 1e6 / nativeCpu).toFixed(0)} MB/s (${nativeCpu.toFixed(2)} CPU-s)`;
  console.log(line);
  writeFileSync(join(ART, "throughput.txt"), line.slice(2) + "\n");
  rmSync(file, { force: true });
  await page.close();
});

/** SHA-256 and size of a file, read in 16 MB pieces (reports here are hundreds of MB). */
function fileDigest(path) {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  const buf = Buffer.alloc(16 << 20);
  let size = 0;
  for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) { h.update(buf.subarray(0, n)); size += n; }
  closeSync(fd);
  return { sha256: h.digest("hex"), size };
}

test(`${MANY_FLOWS} flows: the page renders, pages, filters and sorts them, and downloads the CLI's bytes (issue 13)`, { timeout: 30 * 60_000 }, async () => {
  const file = join(tmp, `flows-${MANY_FLOWS}.pcap`);
  const size = writeManyFlowsPcap(file, MANY_FLOWS);
  const refPath = join(tmp, `flows-${MANY_FLOWS}.json`);
  const c0 = Date.now();
  const fd = openSync(refPath, "w");
  const r = spawnSync(BIN, ["analyze", "--format", "json", file], { stdio: ["ignore", fd, "pipe"] });
  closeSync(fd);
  const cliSecs = (Date.now() - c0) / 1000;
  assert.ok(r.status === 0 || r.status === 2, `CLI exit status ${r.status}: ${r.stderr}`);
  const ref = fileDigest(refPath);
  if (MANY_FLOWS >= 1_000_000) assert.ok(ref.size > V8_MAX_STRING, `the report (${ref.size} bytes) is longer than a browser string can be`);
  const page = await newPage();
  const t0 = Date.now();
  const state = await analyzeIn(page, file, { timeout: 20 * 60_000 });
  const secs = (Date.now() - t0) / 1000;
  assert.equal(state, "done", "the page analyses the capture (no \"could not be analysed\")");
  const ds = await page.evaluate(() => ({ ...document.body.dataset }));
  const MB = 1024 * 1024;
  const line = `${MANY_FLOWS} flows (${(size / 1e6).toFixed(0)} MB capture, ${(ref.size / 1e6).toFixed(0)} MB report): page ${secs.toFixed(1)} s ` +
    `to the first rendered flows page (wasm memory peak ${(Number(ds.peakWasmBytes) / MB).toFixed(0)} MiB); CLI ${cliSecs.toFixed(1)} s`;
  console.log(`# ${line}`);
  writeFileSync(join(ART, "many-flows.txt"), line + "\n");
  const summary = await page.textContent('[data-testid="summary"]');
  assert.ok(summary.replace(/\D/g, "").includes(String(MANY_FLOWS)), "the summary counts every flow");
  const ids = () => page.$$eval('[data-testid="flow-row"]', (trs) => trs.map((tr) => Number(tr.dataset.flow)));
  const first = await ids();
  assert.equal(first.length, 500, "one page of rows");
  assert.ok(first.every((id, i) => !i || id > first[i - 1]), "in id order");
  assert.equal(await page.locator('[data-testid="flows-next"]').isVisible(), true, "the pager shows");
  await page.click('[data-testid="flows-next"]');
  await flowsReady(page);
  const second = await ids();
  assert.equal(second.length, 500);
  assert.ok(second[0] > first[first.length - 1], "the next page follows on");
  // Sorting covers all flows: id descending starts at the last flow.
  const s0 = Date.now();
  await page.click('#flows th button[data-key="id"]');
  await flowsReady(page);
  const sortMs = Date.now() - s0;
  const down = await ids();
  assert.equal(Math.max(...down), down[0]);
  assert.ok(down[0] >= MANY_FLOWS - 1, `descending starts at the last flow (${down[0]})`);
  // The filter covers all flows: one client address near the end of the capture.
  const i = MANY_FLOWS - 7;
  const client = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${1024 + (i % 50_000)}`;
  const f0 = Date.now();
  await page.fill('[data-testid="flow-filter"]', client);
  await flowsReady(page);
  const filterMs = Date.now() - f0;
  assert.equal((await ids()).length, 1, `filtering by ${client} finds its one flow`);
  const timing = `flows table over all ${MANY_FLOWS} flows: sort ${sortMs} ms, filter ${filterMs} ms (request to drawn page)`;
  console.log(`# ${timing}`);
  writeFileSync(join(ART, "many-flows.txt"), `${line}\n${timing}\n`);
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="download-json"]')]);
  const got = fileDigest(await dl.path());
  assert.equal(got.size, ref.size, "downloaded report has the CLI's size");
  assert.equal(got.sha256, ref.sha256, "downloaded report is byte-identical to `voipwatch analyze --format json`");
  assert.deepEqual(page.errors, [], "no page errors");
  rmSync(file, { force: true });
  rmSync(refPath, { force: true });
  await page.close();
});

test("no request left the origin", () => {
  assert.deepEqual(offOrigin, []);
  const paths = new Set(srv.requests);
  for (const p of ["/", "/app.js", "/worker.js", "/voipwatch_wasm.js", "/voipwatch_wasm_bg.wasm"]) assert.ok(paths.has(p), `served ${p}`);
});
