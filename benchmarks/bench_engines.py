"""The exact engines side by side with Berzins' edge subdivision (float32 torch), printed.

    git clone https://github.com/arturs-berzins/relu_edge_subdivision /tmp/berzins  # anchor only
    .venv/bin/python benchmarks/bench_engines.py --berzins /tmp/berzins [--big] [--reps 3]

On the same He-init weights (biases sd 1e-3, seed 0), in one process, medians of alternating
repeats:

* ``Berzins``: his ``skeletal_subdivision`` (float32, CPU), the anchor — run from a checkout
  given by ``--berzins`` (it is not vendored: read to learn, never copied); without it the
  anchor column is left out;
* ``skeleton``: our float proposal alone (float64, :mod:`exactregions.floating.skeleton`);
* ``propose``: proposal + exact decision + the certified complex (``--engine propose``);
* ``split``: exact splitting + the certified complex (``--engine split``);
* the independent checker on the propose engine's result, timed apart;
* ``volume sum alone``: the exact sum of the regions' volumes that the volume certificate
  makes — GMP arithmetic on rationals with thousands of bits, a floor that no rewrite of the
  Python around it removes — and its ratio to Berzins' whole run;
* ``lowest terms alone``: one GMP gcd for every exact number of the output (volumes,
  witnesses, vertices of regions and pieces) — the cost of reducing them, the other floor of
  an engine whose output is reduced rationals (:func:`lowest_terms_floor`).

``--memory`` measures the peak resident memory of Berzins' code and of the propose engine,
each in a fresh process (both import torch), and that of the propose engine's forked child
(its resident size counts the pages it still shares with the parent).  ``--scaling`` prints
how the propose engine's time grows with #regions (2-w-w-w-1 on [-1,1]² for five widths,
log-log slope).  ``--repair`` times the propose engine's local repair against splitting K
whole on nets with one degenerate point (:data:`REPAIR_NETS`).  The load average is printed
first: measure on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import torch
from gmpy2 import mpq

import exactregions as er
from exactregions.exact.complex import check_independently
from exactregions.floating.propose import propose_complex
from exactregions.floating.skeleton import propose_skeleton

NETS = [([2, 32, 32, 32, 1], False), ([3, 16, 16, 16, 1], False), ([4, 8, 8, 1], False),
        ([3, 24, 24, 24, 1], True), ([3, 32, 32, 32, 1], True)]


REPAIR_NETS = [([2, 32, 32, 32, 1], 3, 0.3), ([3, 16, 16, 16, 1], 4, 0.3),
               ([3, 12, 12, 12, 1], 12, 0.0)]
"""(widths, k, bias sd): biases of the first k first-layer neurons set to 0, so n + 1 or more
hyperplanes cross at the origin (with all of them 0, every region is a cone from it)."""


def planted_net(widths: list[int], k: int, bias_std: float) -> er.Network:
    """A He-init net (seed 0) whose first k first-layer neurons have bias 0."""
    net = er.random_network(widths, seed=0, bias_std=bias_std)
    first = net.layers[0]
    bias = (Fraction(0),) * k + first.bias[k:]
    return er.Network(widths[0], (er.Layer(first.weight, bias, first.activation),)
                      + net.layers[1:])


def repair(reps: int) -> None:
    """The propose engine (its local repair) against exact splitting of K whole, both certified
    (no independent check), alternating repeats, medians."""
    for widths, k, bias_std in REPAIR_NETS:
        net = planted_net(widths, k, bias_std)
        K = er.box([(-1, 1)] * widths[0])
        tp, ts = [], []
        for _ in range(reps):
            t = time.perf_counter()
            rc = propose_complex(net, K, independent_check=False)
            tp.append(time.perf_counter() - t)
            t = time.perf_counter()
            er.build_complex(er.enumerate_cells(net, K))
            ts.append(time.perf_counter() - t)
        p, q = statistics.median(tp), statistics.median(ts)
        print(f"{'-'.join(map(str, widths))} ({k} zero biases, sd {bias_std:g}): "
              f"{len(rc.activation_regions)} regions, propose {p:.2f} s, split {q:.2f} s "
              f"({q / p:.2f}x); {rc.certificate['engine'].split(' (')[0]}", flush=True)


def berzins_anchor(path: str) -> Callable[[er.Network, int], Any] | None:
    """Berzins' skeletal subdivision on our weights (float32, as his code runs), or None."""
    if not path:
        return None
    sys.path.insert(0, path)
    cwd = os.getcwd()
    try:
        os.chdir(path)
        from NN import Net  # type: ignore[import-not-found]
        from edge_subdivision import skeletal_subdivision  # type: ignore[import-not-found]
    finally:
        os.chdir(cwd)

    def run(net: er.Network, n: int) -> Any:
        widths = list(net.widths)
        f = Net(ks=widths)
        with torch.no_grad():
            for fc, layer in zip(f.fcs, net.layers):
                fc.weight.copy_(torch.tensor([[float(w) for w in row] for row in layer.weight]))
                fc.bias.copy_(torch.tensor([float(b) for b in layer.bias]))
            return skeletal_subdivision(f, bbox=(-1, 1), device=torch.device("cpu"),
                                        verbose=False)
    return run


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench(widths: list[int], reps: int, anchor: Callable | None, split: bool) -> None:
    net = er.random_network(widths, seed=0, bias_std=1e-3)
    n = widths[0]
    K = er.box([(-1, 1)] * n)
    name = "-".join(map(str, widths))
    rows: dict[str, list[float]] = {k: [] for k in ("berzins", "skeleton", "propose", "split")}
    rc = None
    for rep in range(reps):      # alternate the tools inside every repeat
        if anchor is not None:
            rows["berzins"].append(timed(lambda: anchor(net, n))[0])
        rows["skeleton"].append(timed(lambda: propose_skeleton(net, K))[0])
        t, rc = timed(lambda: propose_complex(net, K, independent_check=False))
        rows["propose"].append(t)
        if split and rep == 0:   # minutes: once
            rows["split"].append(timed(lambda: er.build_complex(er.enumerate_cells(net, K)))[0])
    med = {k: statistics.median(v) for k, v in rows.items() if v}
    t_check, _ = timed(lambda: check_independently(rc))
    regions = len(rc.activation_regions)
    # a floor for any exact engine: the volume certificate's own sum of the exact volumes,
    # whose denominators have thousands of bits (GMP arithmetic, no Python overhead to cut)
    vols = [mpq(r.volume) for r in rc.activation_regions]
    t_floor, _ = timed(lambda: sum(vols, mpq(0)))
    bits = statistics.median(r.volume.denominator.bit_length() for r in rc.activation_regions)
    t_terms = lowest_terms_floor(rc)
    line = (f"{name:18s} regions {regions:7d}  engine {rc.certificate['engine'][:7]:7s}  "
            f"skeleton {med['skeleton']:7.3f} s  propose (certified) {med['propose']:7.2f} s")
    if "split" in med:
        line += f"  split {med['split']:7.2f} s ({med['split'] / med['propose']:.1f}x propose)"
    line += (f"  independent check {t_check:6.2f} s  volume sum alone {t_floor:6.3f} s "
             f"(volume denominators: median {bits:.0f} bits)  lowest terms alone {t_terms:6.3f} s")
    if "berzins" in med:
        b = med["berzins"]
        line += (f"  Berzins {b:6.3f} s  ratios: skeleton {med['skeleton'] / b:.2f}x, "
                 f"propose {med['propose'] / b:.0f}x"
                 + (f", split {med['split'] / b:.0f}x" if "split" in med else "")
                 + f", volume sum alone {t_floor / b:.1f}x, lowest terms alone "
                   f"{t_terms / b:.1f}x, the two {(t_floor + t_terms) / b:.1f}x")
    print(line, flush=True)


def lowest_terms_floor(rc: er.RegionComplex) -> float:
    """Seconds to bring every exact number of the complex's output to lowest terms — one GMP
    gcd of numerator and denominator each, nothing else: the regions' volumes, witnesses and
    the vertices, the pieces' volumes (coefficient and radicand) and witnesses.  An engine
    that computes these rationals and reduces them by a gcd (``Fraction``, GMP, FLINT) pays at
    least this much, in whatever language, on top of computing them: a floor beside the volume
    certificate's sum (not a bound for an engine that knows reduced forms by construction)."""
    from gmpy2 import gcd, mpz

    qs = [x for r in rc.activation_regions for x in (r.volume, *r.witness)]
    qs += [x for v in rc.vertices for x in v]
    qs += [x for p in rc.pieces for t in p.volume.terms for x in t[::-1]]
    qs += [x for p in rc.pieces for x in p.witness]
    pairs = [(mpz(q.numerator), mpz(q.denominator)) for q in map(Fraction, qs)]
    t = time.perf_counter()
    for a, d in pairs:
        gcd(a, d)
    return time.perf_counter() - t


def scaling(reps: int) -> None:
    sizes, times = [], []
    for w in (8, 12, 16, 24, 32):
        net = er.random_network([2, w, w, w, 1], seed=0, bias_std=1e-3)
        K = er.box([(-1, 1)] * 2)
        ts = [timed(lambda: propose_complex(net, K, independent_check=False))[0]
              for _ in range(reps)]
        rc = propose_complex(net, K, independent_check=False)
        sizes.append(len(rc.activation_regions))
        times.append(statistics.median(ts))
        print(f"2-{w}-{w}-{w}-1: {sizes[-1]:6d} regions, propose engine {times[-1]:6.2f} s",
              flush=True)
    slope = np.polyfit(np.log(sizes), np.log(times), 1)[0]
    print(f"log-log slope of the propose engine's time against #regions: {slope:.2f}")


def peak_memory(widths: list[int], tool: str, berzins: str) -> None:
    """One tool on one net in this (fresh) process; prints its peak resident memory in GB."""
    net = er.random_network(widths, seed=0, bias_std=1e-3)
    K = er.box([(-1, 1)] * widths[0])
    if tool == "berzins":
        berzins_anchor(berzins)(net, widths[0])   # type: ignore[misc]
    else:
        propose_complex(net, K, independent_check=False)
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20,
          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20)


def memory(berzins: str, big: bool) -> None:
    """Peak resident memory, each tool in a fresh process (torch imported in both)."""
    for widths, is_big in NETS:
        if is_big and not big:
            continue
        name = "-".join(map(str, widths))
        peaks, child = {}, {}
        for tool in ("berzins", "propose"):
            out = subprocess.run([sys.executable, __file__, "--berzins", berzins, "--one-tool",
                                  tool, "--one-net", name], capture_output=True, text=True,
                                 check=True).stdout.split()
            child[tool], peaks[tool] = float(out[-2]), float(out[-1])
        print(f"{name:18s} peak memory: Berzins {peaks['berzins']:.2f} GB, propose (certified) "
              f"{peaks['propose']:.2f} GB ({peaks['propose'] / peaks['berzins']:.1f}x); its "
              f"forked child (boundary pieces) {child['propose']:.2f} GB resident, most of it "
              "pages shared with the parent", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--berzins", default="", help="a checkout of arturs-berzins/"
                                                  "relu_edge_subdivision (the anchor)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--big", action="store_true", help="also 3-24-24-24-1 and 3-32-32-32-1")
    ap.add_argument("--no-split", action="store_true", help="skip the split engine (slow)")
    ap.add_argument("--scaling", action="store_true")
    ap.add_argument("--repair", action="store_true",
                    help="the local repair against splitting K whole, on planted degeneracies")
    ap.add_argument("--memory", action="store_true",
                    help="peak memory of Berzins and the propose engine, each in a fresh process")
    ap.add_argument("--one-tool", choices=["berzins", "propose"], help=argparse.SUPPRESS)
    ap.add_argument("--one-net", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one_tool:
        peak_memory([int(w) for w in a.one_net.split("-")], a.one_tool, a.berzins)
        return
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; torch threads "
          f"{torch.get_num_threads()}", flush=True)
    if a.scaling:
        scaling(a.reps)
        return
    if a.repair:
        repair(a.reps)
        return
    if a.memory:
        if not a.berzins:
            ap.error("--memory needs --berzins")
        memory(a.berzins, a.big)
        return
    anchor = berzins_anchor(a.berzins)
    for widths, big in NETS:
        if big and not a.big:
            continue
        bench(widths, a.reps if not big else 1, anchor, split=not a.no_split and not big)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    print(f"peak resident memory of this process: {peak:.2f} GB")


if __name__ == "__main__":
    main()
