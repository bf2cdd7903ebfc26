// Throughput of the page (WASM in Chromium) against the native CLI on the same capture.
// Usage (after web/build.sh and cargo build --release):
//   node web/bench.mjs [CAPTURE] [--runs N]
// Without CAPTURE, builds a ~95 MB mixed capture from ../shared/corpus (or $VOIPWATCH_CORPUS) (nDPI test captures and
// the reference captures, concatenated with mergecap, repeated 4× a day apart with editcap) in
// the system temp dir. Prints the median MB/s of each side (wall clock, file size / time) and
// checks that both produce the same JSON.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "./tests/server.mjs";

const WEB = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(WEB, "..");
const BIN = process.env.VOIPWATCH_BIN || join(process.env.CARGO_TARGET_DIR || join(ROOT, "target"), "release", "voipwatch");
const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const RUNS = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 3;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")}: ${r.stderr || r.error}`);
}

function corpusCapture(dir) {
  const corpus = process.env.VOIPWATCH_CORPUS || resolve(ROOT, "..", "shared", "corpus");
  const files = [];
  const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) { const p = join(d, e.name); if (e.isDirectory()) walk(p); else if (/\.(pcap|pcapng|cap)$/i.test(e.name)) files.push(p); } };
  if (!existsSync(corpus)) throw new Error(`no capture given and no corpus at ${corpus}`);
  walk(corpus);
  const merged = join(dir, "merged.pcapng");
  run("mergecap", ["-a", "-F", "pcapng", "-w", merged, ...files.sort()]);
  const copies = [0, 1, 2, 3].map((i) => { const c = join(dir, `c${i}.pcapng`); run("editcap", ["-t", String(i * 86400), merged, c]); return c; });
  const out = join(dir, "corpus-x4.pcapng");
  run("mergecap", ["-a", "-F", "pcapng", "-w", out, ...copies]);
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), "voipwatch-bench-"));
try {
  const file = args[0] ? resolve(args[0]) : corpusCapture(tmp);
  const size = statSync(file).size;
  const native = [];
  let ref = null;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(BIN, ["analyze", "--format", "json", file], { maxBuffer: 1 << 30 });
    native.push(Number(process.hrtime.bigint() - t0) / 1e9);
    ref = r.stdout;
  }
  const srv = await serve(join(WEB, "dist"));
  const profile = mkdtempSync(join(tmp, "profile-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage();
  const page_ = [], engine = [];
  let same = true;
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${srv.origin}/`);
    await page.waitForFunction(() => document.body.dataset.engine === "ready");
    await page.setInputFiles('[data-testid="capture-input"]', file);
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 600_000 });
    const ds = await page.evaluate(() => ({ ...document.body.dataset }));
    page_.push(Number(ds.mbps));
    engine.push(Number(ds.engineMbps));
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="download-json"]')]);
    same = same && readFileSync(await dl.path()).equals(ref);
  }
  await browser.close();
  await srv.close();
  const nat = size / 1e6 / median(native);
  const pg = median(page_);
  console.log(`capture: ${file} (${(size / 1e6).toFixed(1)} MB), ${RUNS} runs each, medians`);
  console.log(`native CLI (voipwatch analyze --format json): ${nat.toFixed(1)} MB/s`);
  console.log(`page, WASM in Chromium (File.slice reading + engine): ${pg.toFixed(1)} MB/s; engine calls alone ${median(engine).toFixed(1)} MB/s`);
  console.log(`ratio page/native: ${(pg / nat).toFixed(2)}; same JSON: ${same}`);
  if (!same) process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
