// Throughput of the page (WASM in Chromium) against the native CLI (pinned to one core with
// taskset) and @goodtools/wiregasm (Wireshark in WebAssembly, run in Node: load + one `conv:TCP`
// tap, the equivalent of `tshark -q -z conv,tcp`) on the same captures, alternating per round.
// Usage (after web/build.sh and cargo build --release):
//   node web/bench.mjs [CAPTURE ...] [--runs N]     e.g. a mixed capture and a flow-poor one
// Prints, per capture, page/native and page/wiregasm (ratios of medians). Wiregasm is a
// devDependency used here only; without it that column is skipped with a message.
// Without CAPTURE, builds a ~95 MB mixed capture from ../shared/corpus (or $VOIPWATCH_CORPUS) (nDPI test captures and
// the reference captures, concatenated with mergecap, repeated 4× a day apart with editcap) in
// the system temp dir. Prints the median MB/s of each side (wall clock, file size / time) and
// checks that both produce the same JSON.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
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

async function wiregasm() {
  const D = join(WEB, "node_modules", "@goodtools", "wiregasm", "dist");
  if (!existsSync(join(D, "wiregasm.wasm"))) { console.log("wiregasm: not installed (npm ci in web/), its ratio is skipped"); return null; }
  const require = createRequire(import.meta.url);
  const { Wiregasm } = require(join(D, "main.js"));
  const wg = new Wiregasm();
  await wg.init(require(join(D, "wiregasm.js")), {
    wasmBinary: readFileSync(join(D, "wiregasm.wasm")),
    getPreloadedPackage: () => readFileSync(join(D, "wiregasm.data")).buffer, print() {}, printErr() {},
  });
  return (file) => {
    const data = readFileSync(file);
    const t0 = process.hrtime.bigint();
    const r = wg.load("capture.pcap", data);
    if (r.code !== 0) throw new Error(`wiregasm load: ${r.error}`);
    const t = wg.tap({ tap0: "conv:TCP" });
    if (t.error) throw new Error(`wiregasm tap: ${t.error}`);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
}

const tmp = mkdtempSync(join(tmpdir(), "voipwatch-bench-"));
try {
  const files = args.length ? args.map((a) => resolve(a)) : [corpusCapture(tmp)];
  const pin = spawnSync("taskset", ["-c", "0", "true"]).status === 0 ? ["taskset", "-c", "0"] : [];
  const wg = await wiregasm();
  const srv = await serve(join(WEB, "dist"));
  const profile = mkdtempSync(join(tmp, "profile-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage();
  let same = true;
  for (const file of files) {
    const size = statSync(file).size;
    const native = [], page_ = [], engine = [], wgs = [];
    let ref = null;
    for (let i = 0; i < RUNS; i++) {
      const t0 = process.hrtime.bigint();
      const cmd = [...pin, BIN, "analyze", "--format", "json", file];
      const r = spawnSync(cmd[0], cmd.slice(1), { maxBuffer: 1 << 30 });
      native.push(Number(process.hrtime.bigint() - t0) / 1e9);
      ref = r.stdout;
      await page.goto(`${srv.origin}/`);
      await page.waitForFunction(() => document.body.dataset.engine === "ready");
      await page.setInputFiles('[data-testid="capture-input"]', file);
      await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 600_000 });
      const ds = await page.evaluate(() => ({ ...document.body.dataset }));
      page_.push(Number(ds.mbps));
      engine.push(Number(ds.engineMbps));
      const [dl] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="download-json"]')]);
      same = same && readFileSync(await dl.path()).equals(ref);
      if (wg) wgs.push(wg(file));
    }
    const nat = size / 1e6 / median(native);
    const pg = median(page_);
    console.log(`capture: ${file} (${(size / 1e6).toFixed(1)} MB), ${RUNS} alternating rounds, medians`);
    console.log(`  native CLI, one core (${pin.join(" ")} voipwatch analyze --format json): ${nat.toFixed(1)} MB/s`);
    console.log(`  page, WASM in Chromium (file.stream() reading + engine): ${pg.toFixed(1)} MB/s; engine calls alone ${median(engine).toFixed(1)} MB/s`);
    console.log(`  ratio page/native: ${(pg / nat).toFixed(2)}; same JSON: ${same}`);
    if (wg) {
      const w = size / 1e6 / median(wgs);
      console.log(`  wiregasm (Node, load + conv:TCP tap): ${w.toFixed(1)} MB/s; ratio page/wiregasm: ${(pg / w).toFixed(1)}`);
    }
  }
  await browser.close();
  await srv.close();
  if (!same) process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
