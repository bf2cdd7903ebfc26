#!/usr/bin/env python3
"""Prints the measured-throughput table of docs/lab.md from captures/*.truth.json."""
import glob
import json
import os

here = os.path.dirname(os.path.abspath(__file__))
print("| scenario | flow | configured | goodput (bit/s) | median 1 s bin (bit/s) | retransmissions | packets | file bytes |")
print("|---|---|---|---|---|---|---|---|")
for path in sorted(glob.glob(os.path.join(here, "..", "*.truth.json"))):
    t = json.load(open(path))
    cfg = t.get("applied", {}).get("config", {})
    conf = cfg.get("rate_bps") or cfg.get("app_rate_bps")
    for f in t["expect"]["flows"]:
        m = f.get("measured_s2c")
        if not m:
            continue
        rate = f.get("rate_bps")
        shown = "%g Mbit/s" % (rate / 1e6) if rate else ("app %g Mbit/s" % (cfg["app_rate_bps"] / 1e6) if cfg.get("app_rate_bps") else "none")
        print("| %s | %s %s | %s | %d | %d | %d | %d | %d |" % (
            t["scenario"], f.get("role", ""), f.get("sni") or "", shown, m["goodput_bps"],
            m["median_ip_bps_full_bins"], m["retransmissions"], t["expect"]["packets"],
            t["measured"]["capinfos"]["file_bytes"]))
