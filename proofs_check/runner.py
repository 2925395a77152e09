"""``python -m proofs_check`` / ``exactregions verify``: run the checks, write the reports.

Exit status: 0 when every check passes, 1 when one fails (or raises), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

from exactregions.cli import OneLineArgumentParser, check_output_files, check_output_folder
from exactregions.errors import ExactRegionsError
from proofs_check.context import RunContext
from proofs_check.parallel import start_runner
from proofs_check.registry import CHECKS, statement_of
from proofs_check.report import write_reports
from proofs_check.result import CheckResult, Verdict

__all__ = ["main", "run_checks"]


def run_checks(names: Sequence[str], ctx: RunContext, log=print) -> list[CheckResult]:
    """Run the named checks in registry order; a check that raises becomes a failed result."""
    out = []
    for name in [n for n in CHECKS if n in names]:
        t0 = time.perf_counter()
        try:
            r = CHECKS[name](ctx)
        except Exception as exc:  # a crash is a failure of the check, reported, never a pass
            r = CheckResult(name, statement_of(name), Verdict.FAIL,
                            {"ran": {"ok": False, "rule": "the check ran to the end",
                                     "error": f"{type(exc).__name__}: {exc}"}},
                            {}, {"traceback": traceback.format_exc()}, {"seed": ctx.seed},
                            time.perf_counter() - t0)
        log(f"{r.name:16s} {r.verdict.value.upper():4s}  {r.seconds:7.1f} s  "
            + ", ".join(f"{k}={'ok' if c['ok'] else 'NO'}" for k, c in r.criteria.items()))
        out.append(r)
    return out


def _parser(prog: str = "python -m proofs_check") -> argparse.ArgumentParser:
    p = OneLineArgumentParser(
        prog=prog,
        description="Check the statements of Hanin & Rolnick (2019) on generated nets.")
    p.add_argument("--quick", action="store_true",
                   help="the small version of every check (CI: a few minutes on 2 cores)")
    p.add_argument("--only", nargs="+", metavar="NAME", help=f"run only these: {', '.join(CHECKS)}")
    p.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    p.add_argument("--json", metavar="PATH", help="write the JSON report here")
    p.add_argument("--md", metavar="PATH", help="write the Markdown report here")
    p.add_argument("--plots", metavar="DIR", help="write PNG plots into this folder")
    p.add_argument("--scheduler", default="local",
                   help="'local' (a Dask LocalCluster, default), 'none' (in-process) or a Dask "
                        "scheduler address such as tcp://host:8786")
    p.add_argument("--workers", type=int,
                   help="with --scheduler local: workers (default: #cores)")
    p.add_argument("--device", default="cpu", help="torch device for the float checks")
    p.add_argument("--plant", type=float, default=0.0, metavar="E",
                   help="multiply the predicted side of every equality-type statement by 1 + E "
                        "(a planted error: the checks must fail beyond their reported power)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    return p


def main(argv: Sequence[str] | None = None, prog: str = "python -m proofs_check") -> int:
    args = _parser(prog).parse_args(argv)
    if args.list:
        for name in CHECKS:
            print(f"{name:16s} {statement_of(name)}")
        return 0
    names = args.only or list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        print(f"error: unknown check {', '.join(unknown)}; known: {', '.join(CHECKS)}",
              file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print(f"error: --workers must be positive, got {args.workers}", file=sys.stderr)
        return 2
    if args.workers is not None and args.scheduler != "local":
        print(f"error: --workers sets the size of a local cluster; with --scheduler "
              f"{args.scheduler} it would be ignored", file=sys.stderr)
        return 2
    if args.seed < 0:   # numpy's seed sequences take whole numbers from 0 up
        print(f"error: --seed must be a whole number from 0 up, got {args.seed}", file=sys.stderr)
        return 2
    if not (math.isfinite(args.plant) and args.plant > -1):
        print(f"error: --plant must be a finite number above -1 (the prediction times 1 + E), "
              f"got {args.plant}", file=sys.stderr)
        return 2
    try:   # before any check runs: a report that cannot be written is bad input, not a FAIL
        check_output_files(args.json, args.md)
        if args.plots:
            check_output_folder(args.plots, "--plots")
    except ExactRegionsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not (args.json or args.md):
        print("note: no --json or --md given; printing verdicts only", file=sys.stderr)
    if args.device != "cpu":
        import torch

        try:
            torch.empty(1, device=args.device)
        except (RuntimeError, AssertionError) as exc:
            print(f"error: device {args.device!r} is not usable: {exc}", file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    try:
        runner = start_runner(args.scheduler, args.workers, progress=not args.no_progress)
    except (OSError, ValueError, TimeoutError) as exc:
        print(f"error: cannot start the Dask scheduler {args.scheduler!r}: {exc}", file=sys.stderr)
        return 2
    try:
        ctx = RunContext(args.seed, args.quick, runner,
                         Path(args.plots) if args.plots else None, args.device, args.plant)
        results = run_checks(names, ctx, log=lambda s: print(s, flush=True))
        meta = {"seed": args.seed, "quick": args.quick, "plant": args.plant,
                "runner": runner.describe(),
                "checks": names, "device": args.device, "seconds": time.perf_counter() - t0}
    finally:
        runner.close()
    write_reports(results, meta, args.json, args.md)
    failed = [r.name for r in results if r.verdict is not Verdict.PASS]
    print(f"{len(results) - len(failed)}/{len(results)} checks pass"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
