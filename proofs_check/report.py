"""The JSON and Markdown reports (written atomically: no half-written file on failure)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

from exactregions.exact.netfile import atomic_write_text
from proofs_check.result import CheckResult

__all__ = ["report_json", "report_markdown", "write_reports"]


def _clean(x: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to strings."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def report_json(results: Sequence[CheckResult], meta: dict[str, Any]) -> dict[str, Any]:
    """``{"meta", "passed", "checks": [{"name", "statement", "verdict", "figures", …}]}``."""
    return _clean({"format": "proofs_check-report", "version": 1, "meta": meta,
                   "passed": all(r.verdict.value == "pass" for r in results),
                   "checks": [r.to_json() for r in results]})


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict) and "mean" in v and "se" in v:
        return f"{v['mean']:.4g} ± {v['se']:.2g}"
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_fmt(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def report_markdown(results: Sequence[CheckResult], meta: dict[str, Any], md_dir: Path) -> str:
    """A page readable on its own: per check the claim, the verdict, each criterion with its
    rule, the figures, and the plots (linked relative to the Markdown file)."""
    ok = all(r.verdict.value == "pass" for r in results)
    lines = ["# proofs_check report — Hanin & Rolnick (2019)", "",
             f"Seed {meta['seed']}, {'quick' if meta['quick'] else 'full'} run, "
             f"{meta['runner']}, {meta['seconds']:.1f} s"
             + (f", **planted error E = {meta['plant']:g}** (every predicted side × (1 + E))"
                if meta.get("plant") else "") + ". "
             f"**{'All checks pass' if ok else 'Some checks FAIL'}.**", "",
             "*Power*: the smallest relative error of the predicted side that the check detects "
             "with probability 80% at its sample size (equality-type statements; its most "
             "sensitive comparison, per comparison in its figures); for an inequality checked "
             "with an explicit constant (corollary_8) the margin: the largest planted error it "
             "survives.", "",
             "| check | verdict | power | seconds |", "|---|---|---|---|"]
    for r in results:
        pw = r.figures.get("power")
        lines.append(f"| [{r.name}](#{r.name.replace('_', '-')}) | "
                     f"{'pass' if r.verdict.value == 'pass' else '**FAIL**'} | "
                     f"{f'{pw:.1%}' if isinstance(pw, (int, float)) else '—'} | {r.seconds:.1f} |")
    for r in results:
        lines += ["", f"## {r.name}", "", f"*Claim.* {r.statement}", "",
                  f"*Verdict:* **{r.verdict.value}**", "", "| criterion | ok | rule | values |",
                  "|---|---|---|---|"]
        for name, c in r.criteria.items():
            vals = {k: v for k, v in c.items() if k not in ("ok", "rule")}
            lines.append(f"| {name} | {'yes' if c['ok'] else '**no**'} | {c.get('rule', '')} | "
                         f"{_fmt(vals) if vals else ''} |")
        lines += ["", "| figure | value |", "|---|---|"]
        for k, v in r.figures.items():
            lines.append(f"| {k} | {_fmt(_clean(v))} |")
        lines += ["", "Settings: " + _fmt(_clean(r.settings))]
        for p in r.plots:
            rel = os.path.relpath(p, md_dir)
            lines += ["", f"![{r.name}]({rel})"]
    return "\n".join(lines) + "\n"


def write_reports(results: Sequence[CheckResult], meta: dict[str, Any], json_path: str | None,
                  md_path: str | None) -> None:
    """Write whichever reports were asked for."""
    if json_path:
        atomic_write_text(json_path, json.dumps(report_json(results, meta), indent=1) + "\n")
    if md_path:
        atomic_write_text(md_path, report_markdown(results, meta, Path(md_path).resolve().parent))
