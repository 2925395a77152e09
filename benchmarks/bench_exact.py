"""Exact-path speed on the issue's three targets (printed, not a timed test).

    .venv/bin/python benchmarks/bench_exact.py [--only 2d|3d|slice]

Targets on a 2-core machine: 2-32-32-32-1 on [-1,1]^2 (~5,000 regions) <= 12 s fully
certified; 3-16-16-16-1 on [-1,1]^3 <= 60 s; the exact 2-D slice of 784-64-64-64-10 through three
points uniform in [0,1]^784 <= 60 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import exactregions as er


def run(name: str, net: er.Network, dom: er.Domain, target: float) -> None:
    t0 = time.perf_counter()
    arr = er.enumerate_cells(net, dom)
    t1 = time.perf_counter()
    rc = er.build_complex(arr)
    t2 = time.perf_counter()
    doc = er.certificate_document(rc)
    t3 = time.perf_counter()
    er.certify(doc)
    t4 = time.perf_counter()
    total = t2 - t0
    n = len(rc.activation_regions)
    print(f"{name:34s} regions {n:6d}  linear {len(rc.linear_regions):6d}  "
          f"enumerate {t1 - t0:6.1f} s  complex+certificates {t2 - t1:6.1f} s  "
          f"total {total:6.1f} s  {n / total:7.0f} regions/s  target {target:.0f} s "
          f"{'MET' if total <= target else 'MISSED'}", flush=True)
    print(f"{'':34s} independent check {t4 - t3:6.1f} s ({(t4 - t3) / total:.2f}x the above; "
          f"writing the document {t3 - t2:.1f} s)", flush=True)


def scaling() -> None:
    """How time grows with #regions: 2-w-w-w-1 on [-1,1]² for five widths, the log-log slope of
    time against regions (enumeration with its certificates, and the independent check)."""
    rows = []
    for w in (8, 12, 16, 24, 32):
        net = er.random_network([2, w, w, w, 1], seed=0, bias_std=1e-3)
        t0 = time.perf_counter()
        rc = er.region_complex(net, er.box([(-1, 1)] * 2), independent_check=False)
        t1 = time.perf_counter()
        er.certify(er.certificate_document(rc))
        t2 = time.perf_counter()
        rows.append((len(rc.activation_regions), t1 - t0, t2 - t1))
        print(f"2-{w}-{w}-{w}-1: {rows[-1][0]:6d} regions, enumeration {rows[-1][1]:6.2f} s, "
              f"independent check {rows[-1][2]:6.2f} s", flush=True)
    x = np.log([r[0] for r in rows])
    for name, col in (("enumeration", 1), ("independent check", 2)):
        slope = np.polyfit(x, np.log([r[col] for r in rows]), 1)[0]
        print(f"log-log slope of {name} time against #regions: {slope:.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["2d", "3d", "slice", "scaling"])
    a = ap.parse_args()
    if a.only == "scaling":
        scaling()
        return
    if a.only in (None, "2d"):
        run("2-32-32-32-1 on [-1,1]^2", er.random_network([2, 32, 32, 32, 1], seed=0, bias_std=1e-3),
            er.box([(-1, 1)] * 2), 12)
    if a.only in (None, "slice"):
        rng = np.random.default_rng(0)
        p = rng.uniform(0, 1, size=(3, 784)).tolist()
        run("784-64-64-64-10 plane slice", er.random_network([784, 64, 64, 64, 10], seed=0,
                                                             bias_std=1e-3), er.plane(*p), 60)
    if a.only in (None, "3d"):
        run("3-16-16-16-1 on [-1,1]^3", er.random_network([3, 16, 16, 16, 1], seed=0, bias_std=1e-3),
            er.box([(-1, 1)] * 3), 60)


if __name__ == "__main__":
    main()
