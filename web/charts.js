// Small SVG line charts drawn by hand (no library, nothing loaded from elsewhere).
// A chart is built with DOM methods only (no innerHTML), so the strict CSP holds.

const NS = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** How many equal intervals split [0, niceMax] into round steps (1.5 → 3 of 0.5, 8 → 4 of 2). */
export function intervals(max) {
  if (!(max > 0)) return 4;
  const m = Math.round((max / Math.pow(10, Math.floor(Math.log10(max)))) * 10) / 10;
  if (m === 1.5 || m === 3 || m === 6) return 3;
  if (m === 2 || m === 4 || m === 8) return 4;
  return 5;
}

/** "Nice" upper bound for an axis (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten), at least max. */
export function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** Short number with SI prefix: 1234567 → "1.23 M", 999950 → "1 M". */
export function si(v) {
  const a = Math.abs(v);
  for (const [f, u] of [[1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
    if (a >= f * 0.9995) return `${Number((v / f).toPrecision(3))} ${u}`;
  }
  return a >= 10 || a === 0 ? `${Math.round(v)}` : `${Number(v.toPrecision(2))}`;
}

/**
 * Line chart.
 * series: [{ label, cls, points: [[x, y], ...] }]  (x in seconds, y in the unit of the chart)
 * opts: { title, xLabel, hline?: { y, label } }
 */
export function lineChart(series, opts) {
  const W = 640, H = 220, L = 56, R = 12, T = 28, B = 36;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": opts.title });
  svg.appendChild(el("title", {}, opts.title));
  let xmax = 0, ymax = 0;
  for (const s of series) for (const [x, y] of s.points) { xmax = Math.max(xmax, x); ymax = Math.max(ymax, y); }
  if (opts.hline) ymax = Math.max(ymax, opts.hline.y);
  xmax = niceMax(xmax);
  ymax = niceMax(ymax);
  const sx = (x) => L + (x / xmax) * (W - L - R);
  const sy = (y) => H - B - (y / ymax) * (H - T - B);
  // Texts follow the page's direction; the plot itself runs left to right (time).
  const rtl = document.documentElement.dir === "rtl";
  svg.appendChild(el("text", { x: rtl ? W - R : L, y: 16, class: "chart-title", "text-anchor": "start", direction: rtl ? "rtl" : "ltr" }, opts.title));
  // Grid and axes (LTR inside the drawing whatever the page direction: time runs left to right).
  const ny = intervals(ymax), nx = intervals(xmax);
  for (let i = 0; i <= ny; i++) {
    const y = (ymax * i) / ny;
    svg.appendChild(el("line", { x1: L, x2: W - R, y1: sy(y), y2: sy(y), class: "grid" }));
    svg.appendChild(el("text", { x: L - 6, y: sy(y) + 4, class: "tick", "text-anchor": "end" }, si(y)));
  }
  for (let i = 0; i <= nx; i++) {
    const x = (xmax * i) / nx;
    svg.appendChild(el("text", { x: sx(x), y: H - B + 16, class: "tick", "text-anchor": "middle" }, si(x)));
  }
  svg.appendChild(el("text", { x: (L + W - R) / 2, y: H - 4, class: "axis-label", "text-anchor": "middle", direction: rtl ? "rtl" : "ltr" }, opts.xLabel));
  if (opts.hline) {
    svg.appendChild(el("line", { x1: L, x2: W - R, y1: sy(opts.hline.y), y2: sy(opts.hline.y), class: "hline" }));
    svg.appendChild(el("text", { x: W - R, y: sy(opts.hline.y) - 4, class: "tick", "text-anchor": rtl ? "start" : "end", direction: rtl ? "rtl" : "ltr" }, opts.hline.label));
  }
  let ly = T + 4;
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    svg.appendChild(el("path", { d, class: `series ${s.cls}` }));
    if (s.points.length === 1) {
      const [x, y] = s.points[0];
      svg.appendChild(el("circle", { cx: sx(x), cy: sy(y), r: 2.5, class: `dot ${s.cls}` }));
    }
    svg.appendChild(el("line", { x1: W - R - 150, x2: W - R - 132, y1: ly, y2: ly, class: `series ${s.cls}` }));
    svg.appendChild(el("text", { x: W - R - 128, y: ly + 4, class: "legend", direction: rtl ? "rtl" : "ltr", "text-anchor": rtl ? "end" : "start" }, s.label));
    ly += 14;
  }
  return svg;
}

/**
 * Throughput and RTT of one flow stacked on ONE time axis (seconds since the capture started),
 * the loss episodes shaded across both panels, the span the packet log did not keep hatched,
 * and the moments of the flow's findings marked. `width` is the drawing's width in CSS pixels
 * (the container's), so 11 px text stays 11 px on a phone instead of being scaled down.
 * c: { t0, bin_s, c2s_bps, s2c_bps, rtt_ms, loss: [{start, end, dir, kind, packets}], log_gap }
 * opts: { capStart, width, title, labels: {up, down, rtt, time, loss, gap, noRtt, rate}, rate?, marks: [{ts, label}] }
 */
export function flowTimeChart(c, opts) {
  const W = Math.round(Math.max(300, Math.min(720, opts.width || 640)));
  const narrow = W < 480;
  const L = narrow ? 40 : 52, R = 8, T = 34, P1 = narrow ? 120 : 140, GAP = 26, P2 = narrow ? 70 : 80, B = 34;
  const H = T + P1 + GAP + P2 + B;
  const bin = c.bin_s > 0 ? c.bin_s : 0.1;
  const n = Math.max((c.c2s_bps || []).length, (c.s2c_bps || []).length, 1);
  const off = (c.t0 || 0) - (opts.capStart || c.t0 || 0); // the flow's start on the capture's clock
  const x0 = off, x1 = off + n * bin;
  const sx = (t) => L + ((Math.min(Math.max(t, x0), x1) - x0) / (x1 - x0 || 1)) * (W - L - R);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart timechart", role: "img", "aria-label": opts.title, "data-testid": "time-chart" });
  svg.appendChild(el("title", {}, opts.title));
  const rtl = document.documentElement.dir === "rtl";
  // "start" is the right edge in right-to-left text.
  svg.appendChild(el("text", { x: rtl ? W - R : L, y: 14, class: "chart-title", "text-anchor": "start", direction: rtl ? "rtl" : "ltr" }, opts.title));
  const top1 = T, bot1 = T + P1, top2 = bot1 + GAP, bot2 = top2 + P2;
  // Bands first (under the lines): losses and the unlogged span, across both panels.
  if (c.log_gap) {
    const a = sx(c.log_gap[0] - (opts.capStart || 0)), b = sx(c.log_gap[1] - (opts.capStart || 0));
    for (const [y0, y1] of [[top1, bot1], [top2, bot2]]) svg.appendChild(el("rect", { x: a, y: y0, width: Math.max(1, b - a), height: y1 - y0, class: "log-gap", "data-testid": "log-gap" }));
  }
  for (const l of c.loss || []) {
    const a = sx(l.start - (opts.capStart || 0)), b = sx(l.end - (opts.capStart || 0));
    for (const [y0, y1] of [[top1, bot1], [top2, bot2]]) {
      svg.appendChild(el("rect", { x: a - 1, y: y0, width: Math.max(2, b - a + 2), height: y1 - y0, class: `loss loss-${l.dir}`, "data-testid": "loss-band", "data-dir": l.dir, "data-kind": l.kind },
      ));
    }
  }
  const pts = (arr) => (Array.isArray(arr) ? arr : []).map((y, i) => [off + (i + 0.5) * bin, y]);
  const up = pts(c.c2s_bps).map(([t, y]) => [t, typeof y === "number" ? y : 0]);
  const down = pts(c.s2c_bps).map(([t, y]) => [t, typeof y === "number" ? y : 0]);
  const rtt = pts(c.rtt_ms).filter(([, y]) => typeof y === "number");
  let ymax = 0;
  for (const [, y] of up.concat(down)) ymax = Math.max(ymax, y);
  if (typeof opts.rate === "number") ymax = Math.max(ymax, opts.rate);
  ymax = niceMax(ymax);
  let rmax = 0;
  for (const [, y] of rtt) rmax = Math.max(rmax, y);
  rmax = niceMax(rmax);
  const panel = (top, bot, max, unit) => {
    const sy = (y) => bot - (y / max) * (bot - top);
    const all = intervals(max);
    const k = narrow && all === 4 ? 2 : all; // round steps, fewer of them when narrow
    for (let i = 0; i <= k; i++) {
      const y = (max * i) / k;
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: sy(y), y2: sy(y), class: "grid" }));
      svg.appendChild(el("text", { x: L - 4, y: sy(y) + 4, class: "tick", "text-anchor": "end" }, si(y)));
    }
    svg.appendChild(el("text", { x: L, y: top - 4, class: "tick", "text-anchor": "start" }, unit));
    svg.appendChild(el("rect", { x: L, y: top, width: W - L - R, height: bot - top, class: "frame" }));
    return sy;
  };
  const sy1 = panel(top1, bot1, ymax, opts.labels.bps);
  const sy2 = panel(top2, bot2, rmax, opts.labels.rttUnit);
  const line = (points, cls, sy) => {
    if (!points.length) return;
    const d = points.map(([t, y], i) => `${i ? "L" : "M"}${sx(t).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    svg.appendChild(el("path", { d, class: `series ${cls}` }));
    if (points.length === 1) svg.appendChild(el("circle", { cx: sx(points[0][0]), cy: sy(points[0][1]), r: 2.5, class: `dot ${cls}` }));
  };
  line(down, "down", sy1);
  line(up, "up", sy1);
  line(rtt, "rtt", sy2);
  if (!rtt.length) svg.appendChild(el("text", { x: (L + W - R) / 2, y: (top2 + bot2) / 2 + 4, class: "tick", "text-anchor": "middle", direction: rtl ? "rtl" : "ltr" }, opts.labels.noRtt));
  if (typeof opts.rate === "number") {
    svg.appendChild(el("line", { x1: L, x2: W - R, y1: sy1(opts.rate), y2: sy1(opts.rate), class: "hline" }));
    svg.appendChild(el("text", { x: W - R - 2, y: sy1(opts.rate) - 4, class: "tick", "text-anchor": "end", direction: rtl ? "rtl" : "ltr" }, opts.labels.rate));
  }
  for (const m of opts.marks || []) {
    const at = sx(m.ts - (opts.capStart || 0));
    svg.appendChild(el("line", { x1: at, x2: at, y1: top1, y2: bot2, class: "mark", "data-testid": "chart-mark" }));
    svg.appendChild(el("text", { x: Math.min(at + 3, W - R - 20), y: top1 + 12, class: "tick mark-label" }, m.label));
  }
  // The shared time axis, under the RTT panel.
  const span = x1 - x0;
  const k = narrow ? 4 : 6;
  const step = niceMax(span / k) || 1;
  for (let t = Math.ceil(x0 / step) * step; t <= x1 + 1e-9; t += step) {
    svg.appendChild(el("line", { x1: sx(t), x2: sx(t), y1: bot2, y2: bot2 + 4, class: "grid" }));
    svg.appendChild(el("text", { x: sx(t), y: bot2 + 15, class: "tick", "text-anchor": "middle" }, si(Math.round(t * 1000) / 1000)));
  }
  svg.appendChild(el("text", { x: (L + W - R) / 2, y: H - 3, class: "axis-label", "text-anchor": "middle", direction: rtl ? "rtl" : "ltr" }, opts.labels.time));
  return svg;
}
