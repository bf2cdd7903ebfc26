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
