#!/usr/bin/env python3
"""Prints docs/lab.md's per-scenario table (issue 10's closing note) from captures/*.truth.json and
what the engine reports on each capture: scenario → what the truth file requires, the findings
found (severity, confidence, the tests in their evidence), and what stays inconclusive and why (info
findings and inconclusive verdicts, with their sentences' reason).

Usage: python3 captures/lab/scenario_table.py [path/to/voipwatch] [--issue N]
(default binary: target/release/voipwatch, or $CARGO_TARGET_DIR/release/voipwatch)"""
import glob
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
issue = None
if "--issue" in args:
    i = args.index("--issue")
    issue = int(args[i + 1])
    del args[i:i + 2]
target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "..", "target"))
binary = args[0] if args else os.path.join(target, "release", "voipwatch")


def expected(t):
    e = t["expect"]
    out = set()
    for f in e.get("flows", []) + e.get("findings", []):
        for k in (f.get("findings", []) if "match" in f or "select" in f else [f]):
            out.add(k if isinstance(k, str) else "%s (%s)" % (k["kind"], k.get("severity", "any")))
    return sorted(out) or ["clean: " + ", ".join(e.get("no_verdict_status", [])) + " verdicts absent"]


def tests_of(f):
    ev = f.get("evidence") or {}
    t = ev.get("tests") or []
    if f["kind"] == "blocking_hop":
        t = ["onset %s at TTL %s after %s" % (ev.get("onset"), ev.get("first_blocked_ttl"), ev.get("last_hop_from"))]
    if f["kind"] == "request_blackholed":
        t = ["control " + str(ev.get("control"))]
    return "/".join(t)


def reason(summary):
    """The part of an info finding's sentence that says why it is no more than info."""
    if "inconclusive" in summary:
        return "inconclusive" + summary.split("inconclusive", 1)[1].rstrip(".")[:120]
    if "(" in summary and ")" in summary.split("(", 1)[1]:
        return summary.split("(", 1)[1].split(")", 1)[0][:120]
    return summary[:120]


print("| scenario | truth requires | found (severity, confidence, tests) | stays inconclusive, and why |")
print("|---|---|---|---|")
for path in sorted(glob.glob(os.path.join(here, "..", "*.truth.json"))):
    t = json.load(open(path))
    if issue is not None and t.get("issue") != issue:
        continue
    cap = os.path.join(os.path.dirname(path), t["capture"])
    r = json.loads(subprocess.run([binary, "analyze", "-f", "json", cap], capture_output=True, text=True,
                                  check=True).stdout)
    found = {}
    for f in r["findings"]:
        if f["severity"] == "info":
            continue
        key = (f["kind"], f["severity"], f["confidence"], tests_of(f))
        found[key] = found.get(key, 0) + 1
    shown = ["%s%s (%s, %.2f%s)" % ("%d× " % n if n > 1 else "", k, s, c, ", " + ts if ts else "")
             for (k, s, c, ts), n in sorted(found.items())]
    inconclusive = sorted({"%s: %s" % (f["kind"], reason(f["summary"])) for f in r["findings"]
                           if f["severity"] == "info"})
    inconclusive += ["verdict %s: %s" % (v.get("app") or v.get("subject", ""), v["summary"][:120])
                     for v in r["verdicts"] if v["status"] == "inconclusive"]
    print("| `%s` | %s | %s | %s |" % (t["scenario"], "; ".join(expected(t)), "; ".join(shown) or "none",
                                      "; ".join(inconclusive).replace("|", "/") or "—"))
