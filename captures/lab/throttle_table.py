#!/usr/bin/env python3
"""Prints the per-scenario throttling table of docs/throttling.md: for every lab capture whose
truth file names a throttling scenario (a throttled flow, an issue-12 confounder, a bulk
transfer or a lossy call), what `voipwatch analyze` reports: the throttling findings (kind, flow,
direction, estimated rate) and their in-capture comparison (verdict, area, KS p-value).

  python3 captures/lab/throttle_table.py target/release/voipwatch
"""
import glob
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/voipwatch"
THROTTLE = ("throttling_policer", "throttling_shaper")

print("| scenario | configured | finding (flow, direction) | estimated rate (bit/s) | comparison | area | KS p |")
print("|---|---|---|---|---|---|---|")
for path in sorted(glob.glob(os.path.join(here, "..", "*.truth.json"))):
    t = json.load(open(path))
    exp = t["expect"]
    cfg = t.get("applied", {}).get("config", {})
    positive = any(k in THROTTLE for f in exp.get("flows", []) for k in f.get("findings", []) + f.get("findings_any", []))
    # the throttling scenarios: a throttled flow, issue 12's confounders, the bulk transfers
    # (whose rates the lab measures) and the lossy call
    if not (positive or t.get("issue") == 12 or t["measured"].get("rates") or "loss_probability" in cfg):
        continue
    conf = "%d" % cfg["rate_bps"] if cfg.get("rate_bps") else "none"
    if cfg.get("rate_bps") and len(cfg.get("directions", [])) == 2:
        conf += " each way"
    cap = os.path.join(os.path.dirname(path), t["capture"])
    r = json.loads(subprocess.run([binary, "analyze", "--format", "json", cap], check=True,
                                  capture_output=True, text=True).stdout)
    rows = [f for f in r["findings"] if f["kind"] in THROTTLE]
    if not rows:
        print("| %s | %s | none | — | — | — | — |" % (t["scenario"], conf))
    for f in rows:
        e = f["evidence"]
        c = e.get("comparison") or {}
        print("| %s | %s | %s (flow %s, %s) | %d | %s | %s | %s |" % (
            t["scenario"], conf, f["kind"], f.get("flow"), e.get("dir", "?"), round(e.get("rate_bps") or 0),
            c.get("verdict", "none (no other flow)"), c.get("area", "—") if c else "—",
            c.get("p_value", "—") if c else "—"))
