// Axis helpers of the hand-drawn SVG charts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { niceMax, si } from "../charts.js";

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
