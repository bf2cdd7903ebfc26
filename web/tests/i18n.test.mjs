// Every UI string exists in every language, with the same placeholders, and every
// data-i18n key used by the page is defined.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { LANGS, STRINGS, format } from "../i18n.js";

const holes = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test("all languages define the same keys and placeholders", () => {
  const keys = Object.keys(STRINGS.en).sort();
  for (const lang of LANGS) {
    assert.deepEqual(Object.keys(STRINGS[lang]).sort(), keys, `${lang}: same keys as English`);
    for (const k of keys) {
      assert.ok(STRINGS[lang][k].trim().length > 0, `${lang}.${k} is not empty`);
      assert.deepEqual(holes(STRINGS[lang][k]), holes(STRINGS.en[k]), `${lang}.${k}: same placeholders`);
    }
  }
});

test("every key the page and the script use is defined", () => {
  const html = readFileSync(new URL("../index.html", import.meta.url), "utf8");
  const js = readFileSync(new URL("../app.js", import.meta.url), "utf8");
  const used = new Set([...html.matchAll(/data-i18n(?:-aria)?="(\w+)"/g)].map((m) => m[1]));
  for (const m of js.matchAll(/\bt\("(\w+)"/g)) used.add(m[1]);
  assert.ok(used.size > 20);
  for (const k of used) assert.ok(k in STRINGS.en, `key ${k} is defined`);
});

test("format fills placeholders and leaves unknown ones", () => {
  assert.equal(format("{a} of {b} {c}", { a: 1, b: "x" }), "1 of x {c}");
});
