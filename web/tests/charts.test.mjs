// Axis helpers of the hand-drawn SVG charts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { intervals, niceMax, si } from "../charts.js";

test("si prints three significant digits with a prefix, rounding up across units", () => {
  assert.equal(si(1234567), "1.23 M");
  assert.equal(si(999950), "1 M");
  assert.equal(si(999400), "999 k");
  assert.equal(si(5e6), "5 M");
  assert.equal(si(0), "0");
  assert.equal(si(42), "42");
  assert.equal(si(2.5), "2.5");
});

test("niceMax is a round bound at least the maximum", () => {
  assert.equal(niceMax(6.5), 8);
  assert.equal(niceMax(1), 1);
  assert.equal(niceMax(1.01), 1.5);
  assert.equal(niceMax(990173), 1e6);
  assert.equal(niceMax(0), 1);
  assert.equal(niceMax(-3), 1);
  for (const x of [0.3, 7, 12, 99, 101, 4.2e6]) assert.ok(niceMax(x) >= x);
});

test("axis intervals give round steps", () => {
  for (const max of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 150, 0.8, 2.5e6]) {
    const step = max / intervals(max);
    const p = Math.pow(10, Math.floor(Math.log10(step)));
    const m = Math.round((step / p) * 1000) / 1000;
    assert.ok([1, 2, 2.5, 5].includes(m), `max ${max}: step ${step} is 1, 2, 2.5 or 5 × 10^k`);
  }
});
