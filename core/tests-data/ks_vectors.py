#!/usr/bin/env python3
"""Writes ks_vectors.json: two-sample Kolmogorov-Smirnov test vectors from SciPy.

Run once (from the repository root):
    pip install scipy && python3 core/tests-data/ks_vectors.py > core/tests-data/ks_vectors.json
The Rust tests in core/src/compare/ks.rs read the JSON and check D and both p-values.
"""
import json
import numpy as np
import scipy
from scipy.stats import ks_2samp

rng = np.random.default_rng(20161)  # fixed seed: the samples are stored, not regenerated


def r(x):
    return [float(round(v, 6)) for v in x]


cases = {
    "small_unequal": ([1.2, 3.4, 0.5, 2.2, 5.1], [0.3, 0.9, 1.1, 4.4]),
    "small_equal": ([0.1, 0.5, 0.9, 1.3, 1.7, 2.1, 2.5, 2.9], [1.0, 1.4, 1.8, 2.2, 2.6, 3.0, 3.4, 3.8]),
    "ties": ([1, 2, 2, 3, 3, 3, 4, 5, 5, 6], [2, 3, 3, 4, 4, 5, 6, 6, 7, 8, 8, 9]),
    "separated": (list(range(1, 21)), list(range(30, 55))),
    "n100_shift": (r(rng.normal(10.0, 2.0, 100)), r(rng.normal(11.0, 2.0, 100))),
    "n100_same": (r(rng.normal(5.0, 1.0, 100)), r(rng.normal(5.0, 1.0, 100))),
    "n100_vs_80": (r(rng.exponential(2.0, 100)), r(rng.exponential(2.4, 80))),
    "n30_vs_45_lognormal": (r(rng.lognormal(0.0, 1.0, 30)), r(rng.lognormal(0.3, 1.0, 45))),
    "n200_vs_150": (r(rng.normal(0.0, 1.0, 200)), r(rng.normal(0.15, 1.0, 150))),
}

out = {"scipy": scipy.__version__, "command": "python3 core/tests-data/ks_vectors.py", "cases": []}
for name, (a, b) in cases.items():
    ex = ks_2samp(a, b, method="exact")
    asy = ks_2samp(a, b, method="asymp")
    out["cases"].append({
        "name": name,
        "a": [float(v) for v in a],
        "b": [float(v) for v in b],
        "d": float(ex.statistic),
        "p_exact": float(ex.pvalue),
        "p_asymp": float(asy.pvalue),
    })
print(json.dumps(out, indent=1))
