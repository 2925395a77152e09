"""Training 784-n1-n2-n3-10 ReLU nets (the paper's §3 setting) with region tracking at
checkpoints, resumable: every checkpoint appends one JSON record and saves the state, so an
interrupted run continues where it stopped.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from exactregions.errors import InvalidDomainError
from exactregions.experiments.datasets import Dataset
from exactregions.floating.distance import boundary_distance
from exactregions.floating.lines import line_regions
from exactregions.floating.tensors import TorchNet

__all__ = ["RunSpec", "make_model", "torchnet_of", "checkpoint_fractions", "train_run",
           "gaussian_points", "T_RANGE", "BIAS_STD"]

T_RANGE = (-1.0, 2.0)     # lines x(t) = t·e through the origin (t=0) and a training example (t=1)
BIAS_STD = 1e-3           # biases N(0, 10⁻⁶) at init


@dataclass(frozen=True)
class RunSpec:
    """One training run: architecture (hidden widths), seed and the tracking sizes."""

    hidden: tuple[int, ...]
    seed: int
    epochs: int
    lines: int = 100
    points: int = 10_000
    batch: int = 128
    lr: float = 1e-3

    @property
    def name(self) -> str:
        return "x".join(map(str, self.hidden)) + f"_seed{self.seed}"

    @property
    def neurons(self) -> int:
        return sum(self.hidden)


def make_model(in_dim: int, hidden: Sequence[int], classes: int, seed: int) -> nn.Sequential:
    """He-normal weights (variance 2/fan-in) and N(0, 10⁻⁶) biases, ReLU hidden layers.

    >>> m = make_model(784, (20, 20, 20), 10, 0)
    >>> [tuple(l.weight.shape) for l in m if isinstance(l, nn.Linear)]
    [(20, 784), (20, 20), (20, 20), (10, 20)]
    """
    g = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    widths = [in_dim, *hidden, classes]
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        lin = nn.Linear(a, b)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(b, a, generator=g) * math.sqrt(2.0 / a))
            lin.bias.copy_(torch.randn(b, generator=g) * BIAS_STD)
        layers.append(lin)
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def torchnet_of(model: nn.Sequential, device: str | torch.device = "cpu") -> TorchNet:
    """A float64 :class:`TorchNet` copy of a ReLU MLP (for the region kernels)."""
    lins = [m for m in model if isinstance(m, nn.Linear)]
    f = lambda t: t.detach().to(device=device, dtype=torch.float64).clone()  # noqa: E731
    e = torch.zeros(0, dtype=torch.float64, device=device)
    relu = (torch.zeros(1, dtype=torch.float64, device=device),
            torch.tensor([0.0, 1.0], dtype=torch.float64, device=device),
            torch.zeros(2, dtype=torch.float64, device=device))
    ident = (e, torch.ones(1, dtype=torch.float64, device=device),
             torch.zeros(1, dtype=torch.float64, device=device))
    acts = [relu] * (len(lins) - 1) + [ident]
    return TorchNet(tuple(f(l.weight) for l in lins), tuple(f(l.bias) for l in lins),
                    tuple(a[0] for a in acts), tuple(a[1] for a in acts), tuple(a[2] for a in acts))


def checkpoint_fractions(epochs: int) -> list[float]:
    """0, 0.05, …, 0.5 of the first epoch (Figure 5a), then every epoch.

    >>> checkpoint_fractions(2)[:3], checkpoint_fractions(2)[-3:]
    ([0.0, 0.05, 0.1], [0.5, 1.0, 2.0])
    """
    early = [round(0.05 * i, 2) for i in range(11)]
    return sorted(set(early + [float(e) for e in range(1, epochs + 1)]))


def gaussian_points(data: Dataset, n: int, seed: int) -> torch.Tensor:
    """The paper's sample points for Figure 6: normal with the componentwise mean and variance
    of the training images (seeded)."""
    x = data.x_train.astype(np.float64)
    rng = np.random.default_rng(seed + 7919)
    return torch.as_tensor(rng.normal(x.mean(0), x.std(0), size=(n, x.shape[1])))


def measure(model: nn.Sequential, data: Dataset, line_dirs: torch.Tensor, points: torch.Tensor,
            device: str, gauss: torch.Tensor | None = None) -> dict[str, Any]:
    """Regions along the lines, distance to the boundary at test points (and at the paper's
    Gaussian sample points), test accuracy, at the current weights."""
    tn = torchnet_of(model, device)
    N = sum(tn.widths[1:-1])
    d = line_dirs.to(device, torch.float64)
    r = line_regions(tn, torch.zeros_like(d), d, *T_RANGE)
    dist = boundary_distance(tn, points.to(device, torch.float64), chunk=256)
    extra = {}
    if gauss is not None:
        dg = boundary_distance(tn, gauss.to(device, torch.float64), chunk=256)
        extra = {"distance_gauss": float(dg.good.mean()),
                 "distance_times_neurons_gauss": float(dg.good.mean()) * N,
                 "distance_gauss_near_ties": int(dg.near_ties.sum())}
    with torch.no_grad():
        xt = torch.as_tensor(data.x_test, device=device)
        acc = (model.to(device)(xt).argmax(1).cpu().numpy() == data.y_test).mean()
    lin = r.linear_pieces.double()
    return {"regions_per_neuron": float(lin.mean()) / N,
            "regions_per_neuron_sd": float(lin.std()) / N if lin.numel() > 1 else 0.0,
            "activation_regions_per_neuron": float(r.activation_pieces.double().mean()) / N,
            "line_near_ties": int(r.near_ties.sum()),
            "distance": float(dist.good.mean()), "distance_times_neurons": float(dist.good.mean()) * N,
            "region_distance_times_neurons": float(dist.region.mean()) * N,
            "distance_near_ties": int(dist.near_ties.sum()), "test_accuracy": float(acc),
            **extra}


def _save_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def train_run(spec: RunSpec, data: Dataset, out: Path, device: str = "cpu",
              on_record: Callable[[dict[str, Any]], None] | None = None,
              progress: bool = True) -> list[dict[str, Any]]:
    """Train one net, measuring at every checkpoint; resume from ``out/state.pt`` if present.

    Returns the records (one per checkpoint, in order); ``out/records.jsonl`` holds the same.
    """
    out.mkdir(parents=True, exist_ok=True)
    rec_path, state_path = out / "records.jsonl", out / "state.pt"
    # a run resumes only under the settings it was made with (more epochs may be added)
    fixed = {"hidden": list(spec.hidden), "seed": spec.seed, "lines": spec.lines,
             "points": spec.points, "batch": spec.batch, "lr": spec.lr, "dataset": data.name,
             "measures": 2}   # 2: distances at the Gaussian sample points too
    spec_path = out / "spec.json"
    if spec_path.exists() and state_path.exists():
        old = json.loads(spec_path.read_text())
        diff = sorted(k for k in fixed if old.get(k) != fixed[k])
        if diff == ["measures"]:
            # made by an older version that measured less: start this run again
            state_path.unlink()
            rec_path.unlink(missing_ok=True)
        elif diff:
            raise InvalidDomainError(f"{str(out)!r} holds a run made with other settings "
                                     f"({', '.join(diff)}); use another --out")
    spec_path.write_text(json.dumps(fixed))
    torch.manual_seed(spec.seed)
    model = make_model(data.input_dim, spec.hidden, data.classes, spec.seed).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=spec.lr)
    N = len(data.x_train)
    spe = math.ceil(N / spec.batch)
    stops = [round(f * spe) for f in checkpoint_fractions(spec.epochs)]
    fracs = checkpoint_fractions(spec.epochs)
    rng = np.random.default_rng(spec.seed)
    line_idx = rng.choice(N, size=spec.lines, replace=False)
    line_dirs = torch.as_tensor(data.x_train[line_idx], dtype=torch.float64)
    pts_idx = rng.choice(len(data.x_test), size=min(spec.points, len(data.x_test)), replace=False)
    points = torch.as_tensor(data.x_test[pts_idx], dtype=torch.float64)
    gauss = gaussian_points(data, spec.points, spec.seed)
    records: list[dict[str, Any]] = []
    step = 0
    if state_path.exists():
        st = torch.load(state_path, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step = st["step"]
        records = [json.loads(x) for x in rec_path.read_text().splitlines()][:st["records"]]
    rec_path.write_text("".join(json.dumps(r) + "\n" for r in records))
    xtr = torch.as_tensor(data.x_train)
    ytr = torch.as_tensor(data.y_train)
    lossf = nn.CrossEntropyLoss()
    bar = None
    if progress:
        from exactregions.progress import progress_bar

        bar = progress_bar(total=stops[-1], initial=step, desc=spec.name, leave=False,
                           dynamic_ncols=True)
    perm, perm_epoch = None, -1
    for k, stop in enumerate(stops):
        if k < len(records):
            continue
        model.train()
        while step < stop:
            e = step // spe
            if e != perm_epoch:
                perm = torch.randperm(N, generator=torch.Generator().manual_seed(spec.seed * 1000 + e))
                perm_epoch = e
            idx = perm[(step % spe) * spec.batch:(step % spe + 1) * spec.batch]
            opt.zero_grad()
            loss = lossf(model(xtr[idx].to(device)), ytr[idx].to(device))
            loss.backward()
            opt.step()
            step += 1
            if bar is not None:
                bar.update(1)
        model.eval()
        rec = {"run": spec.name, "hidden": list(spec.hidden), "seed": spec.seed,
               "epoch": fracs[k], "step": step, "neurons": spec.neurons,
               **measure(model, data, line_dirs, points, device, gauss)}
        records.append(rec)
        with rec_path.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        _save_state(state_path, {"model": model.state_dict(), "opt": opt.state_dict(),
                                 "step": step, "records": len(records)})
        if k == 0:
            torch.save(model.state_dict(), out / "init.pt")
        if on_record is not None:
            on_record(rec)
    torch.save(model.state_dict(), out / "final.pt")
    if bar is not None:
        bar.close()
    return records
