"""The ``exactregions`` command line.

Exit codes: 0 success; 1 ``check-counter`` found the counter wrong; 2 bad input (one line on stderr naming the problem, no output file
written); 3 a certificate failed (a bug: please report it with the input).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from exactregions.errors import (CertificateError, ExactRegionsError, FormatError,
                                 InvalidDomainError, InvalidOptionError)

__all__ = ["main", "build_parser", "OneLineArgumentParser", "check_output_files",
           "check_output_folder"]

EXIT_DISAGREE = 1
EXIT_BAD_INPUT = 2
EXIT_CERTIFICATE = 3


def _net_arg(path: str, args: argparse.Namespace | None = None):
    """The net of a command: a JSON network, a torch file or an ONNX file
    (:func:`exactregions.models.load_network`)."""
    from exactregions.models import load_network
    kw = {}
    if args is not None:
        if getattr(args, "widths", None):
            try:
                kw["widths"] = [int(w) for w in args.widths.split(",")]
            except ValueError:
                raise InvalidDomainError(f"--widths {args.widths!r}: comma-separated integers") from None
            kw["activation"] = args.activation
        if getattr(args, "input_shape", None):
            try:
                kw["input_shape"] = tuple(int(w) for w in args.input_shape.split(","))
            except ValueError:
                raise InvalidDomainError(f"--input-shape {args.input_shape!r}: C,H,W") from None
        if getattr(args, "module", None):
            kw["module"] = args.module
    return load_network(path, **kw)


def _domain_from_args(args: argparse.Namespace, input_dim: int):
    from exactregions.exact.domain import (box, on_slice, parse_box, parse_point, plane,
                                           read_polytope, segment)
    polytope = args.polytope
    if polytope:
        if args.box:
            raise InvalidOptionError("give the domain once: --box or --polytope, not both")
        if not args.through:
            return read_polytope(polytope, input_dim)
        if len(args.through) not in (2, 3):
            raise InvalidDomainError("--through takes 2 points (a segment) or 3 (a plane)")
        pts = [parse_point(p) for p in args.through]
        sl = segment(*pts) if len(pts) == 2 else plane(*pts)
        return on_slice(read_polytope(polytope, sl.dim), sl)
    if args.through:
        pts = [parse_point(p) for p in args.through]
        if len(pts) == 2:
            dom = segment(*pts)
            if args.box:
                lo, hi = parse_box(args.box, 1)[0]
                from exactregions.exact.domain import Domain
                K = box([(lo, hi)])
                dom = Domain(K.A, K.b, K.vertices, dom.embedding,
                             f"segment P1 + t (P2 - P1), t in [{lo},{hi}]")
            return dom
        if len(pts) == 3:
            bounds = parse_box(args.box, 2) if args.box else [(0, 1), (0, 1)]
            return plane(*pts, bounds=bounds)
        raise InvalidDomainError("--through takes 2 points (a segment) or 3 (a plane)")
    if args.box:
        return box(parse_box(args.box, input_dim))
    raise InvalidDomainError("give the domain: --box lo:hi[,lo:hi...], --polytope K.json, or "
                             "--through P1 P2 [P3]")


@contextlib.contextmanager
def _bar(args: argparse.Namespace, desc: str, unit: str):
    """A tqdm progress bar on stderr (when it is a terminal, or with --progress; never with
    --no-progress or without tqdm); yields ``update(done, total[, desc])`` for a kernel's
    callback (``desc`` renames the bar, for a kernel with several steps)."""
    want = getattr(args, "progress", None)
    show = want if want is not None else sys.stderr.isatty()
    bar = None
    if show:
        try:
            from exactregions.progress import progress_bar

            bar = progress_bar(desc=desc, unit=unit, file=sys.stderr, leave=False)
        except ImportError:
            bar = None

    def update(done: int, total: int, desc: str | None = None) -> None:
        if bar is not None:
            if desc is not None and desc != bar.desc:
                bar.set_description(desc, refresh=False)
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


_SLICE_POINTS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0))
_SLICE_AXES = ("s (along P2 − P1)", "t (along P3 − P1)")


def _figure_arg(args: argparse.Namespace) -> str | None:
    """The figure's path (``--figure``, or the older ``--png``), checked for its suffix."""
    from exactregions.figure import FIGURE_SUFFIXES
    path = getattr(args, "figure", None) or getattr(args, "png", None)
    if path and Path(path).suffix.lower() not in FIGURE_SUFFIXES:
        raise InvalidDomainError(f"figure {path!r}: write .png, .svg or .pdf")
    if getattr(args, "dpi", 200) < 10:
        raise InvalidDomainError(f"--dpi must be at least 10, got {args.dpi}")
    return path


def _labels(args: argparse.Namespace) -> list[str]:
    labels = [x.strip() for x in (getattr(args, "labels", None) or "P1,P2,P3").split(",")]
    if len(labels) != 3 or not all(labels):
        raise InvalidDomainError("--labels takes three comma-separated names, e.g. 'cat,dog,ship'")
    return labels


MAX_BOX_DIM = 20
"""An exact enumeration of a box of higher dimension is refused: the box alone has 2^n vertices
(2^784 for MNIST's inputs), and the regions of a generic first layer alone number
Σ_{k≤n} C(N_1, k)."""


def _feasibility(net, dom) -> None:
    """Refuse an exact enumeration that cannot finish, or warn about one that may take very long;
    either way name the reason and the alternative (a slice)."""
    n = dom.dim
    hint = ("enumerate a 2-D slice instead (--through P1 P2 P3 [--box S]), or count with the "
            "float kernels (`exactregions slice`, `exactregions lines`)")
    width = net.widths[1] if len(net.widths) > 1 else 1
    bound = sum(math.comb(width, k) for k in range(min(n, width) + 1))
    if n > 6 and bound > 10 ** 6:
        print(f"exactregions: warning: a {n}-dimensional domain with {width} first-layer neurons "
              f"can have up to {bound:,} regions from the first layer alone; this may not finish. "
              f"Alternative: {hint}", file=sys.stderr)
    return None


def check_output_files(*paths: str | None) -> None:
    """Refuse output paths that cannot be written, before any work: a missing folder, a folder
    we may not write to, or a path that is a folder (None: no such output).

    >>> check_output_files(None, "/no/such/folder/out.json")
    Traceback (most recent call last):
    exactregions.errors.InvalidDomainError: output folder '/no/such/folder' does not exist
    """
    for p in paths:
        if p is None:
            continue
        target = Path(p)
        parent = target.resolve().parent
        if not parent.is_dir():
            raise InvalidDomainError(f"output folder {str(parent)!r} does not exist")
        if target.is_dir():
            raise InvalidDomainError(f"output {p!r} is a folder")
        if not os.access(parent, os.W_OK):
            raise InvalidDomainError(f"output folder {str(parent)!r} is not writable")


def check_output_folder(path: str, option: str = "--out") -> None:
    """Refuse an output folder that cannot be made or written, before any work and without
    making it: an existing non-folder on its path, or no folder can be made where it would be.

    >>> check_output_folder("/proc/runs", "--plots")
    Traceback (most recent call last):
    exactregions.errors.InvalidDomainError: --plots '/proc/runs': cannot make a folder in '/proc': ...
    """
    p = Path(path).absolute()
    ancestor = p
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InvalidDomainError(f"{option} {path!r}: {str(ancestor)!r} is not a folder")
    try:   # a real write test (root passes os.access even where mkdir fails, as in /proc)
        os.rmdir(tempfile.mkdtemp(dir=ancestor, prefix=".exactregions-"))
    except OSError as exc:
        raise InvalidDomainError(f"{option} {path!r}: cannot make a folder in "
                                 f"{str(ancestor)!r}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _staged(*paths: str | None):
    """Temporary files beside each output; all renamed into place only when the block
    succeeds, all removed otherwise — never one output written and another missing.

    Yields one temporary path per given path (None stays None)."""
    tmps: list[str | None] = []
    try:
        for p in paths:
            if p is None:
                tmps.append(None)
                continue
            target = Path(p)
            try:
                fd, tmp = tempfile.mkstemp(dir=target.resolve().parent, prefix=f".{target.name}.",
                                           suffix=target.suffix)
            except OSError as exc:
                raise InvalidDomainError(f"cannot write {p!r}: {exc.strerror}") from None
            os.close(fd)
            tmps.append(tmp)
        yield tmps
        umask = os.umask(0)
        os.umask(umask)
        for p, tmp in zip(paths, tmps):
            if p is not None and tmp is not None:
                os.chmod(tmp, 0o666 & ~umask)
                os.replace(tmp, p)
                tmps[tmps.index(tmp)] = None
    except OSError as exc:
        raise InvalidDomainError(f"cannot write output: {exc.strerror or exc}") from None
    finally:
        for tmp in tmps:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)


def _tiles_arg(text: str, dim: int) -> int | list[int]:
    """``--tiles 3`` or ``--tiles 2,4`` (one count per axis)."""
    try:
        counts = [int(x) for x in text.split(",")]
    except ValueError:
        raise InvalidOptionError(f"--tiles {text!r}: a count, or one count per axis") from None
    if len(counts) not in (1, dim) or min(counts) < 1:
        raise InvalidOptionError(f"--tiles {text!r}: one positive count, or {dim} of them")
    return counts[0] if len(counts) == 1 else counts


def _enumerate_options(args: argparse.Namespace) -> None:
    """Options of ``enumerate`` that would be ignored in this combination are refused."""
    if not args.tiles and args.scheduler != "local":
        raise InvalidOptionError(f"--scheduler {args.scheduler}: the scheduler runs the tiles; "
                                 "give --tiles too")
    if args.workers is not None and not (args.tiles and args.scheduler == "local"):
        raise InvalidOptionError("--workers sets the size of the local cluster that runs the "
                                 "tiles: give --tiles (with --scheduler local)")
    if args.engine == "split" and args.device != "cpu":
        raise InvalidOptionError(f"--device {args.device}: the split engine runs no torch "
                                 "kernel; --device is for --engine propose")
    if args.device != "cpu":
        _device(args.device)   # torch and the device are there (the default engine needs both)


def cmd_enumerate(args: argparse.Namespace) -> int:
    from exactregions.exact.complex import region_complex
    from exactregions.exact.graph import GRAPH_FORMATS, region_graph, write_graph
    from exactregions.exact.summary import complex_summary

    if args.graph and Path(args.graph).suffix.lower() not in GRAPH_FORMATS:
        raise FormatError(f"--graph {args.graph!r}: use one of {', '.join(GRAPH_FORMATS)}")
    if args.regions and not args.json:   # refused before the work, not ignored after it
        raise InvalidOptionError("--regions writes the full certificate into the --json file: "
                                 "give --json OUT.json")
    _enumerate_options(args)
    figure = _figure_arg(args)
    labels = _labels(args)
    check_output_files(args.json, args.graph, figure, args.geojson)
    net = _net_arg(args.net)
    if not args.through and net.input_dim > MAX_BOX_DIM:
        what = ("polytope cannot finish: its face lattice alone (a simplex's has 2^n faces)"
                if args.polytope else f"box cannot finish: the box alone has 2^{net.input_dim} "
                "vertices")
        raise InvalidDomainError(
            f"an exact enumeration of a {net.input_dim}-dimensional {what}; enumerate a 2-D "
            "slice instead (--through P1 P2 P3 [--box S | --polytope K.json]), or count with the "
            "float kernels (`exactregions slice`, `exactregions lines`)")
    dom = _domain_from_args(args, net.input_dim)
    _feasibility(net, dom)
    check = not args.no_independent_check
    t0 = time.perf_counter()
    with _bar(args, "exact enumeration (layers)", "layer") as update:
        depth = len(net.layers)
        progress = lambda l, cells: update(l + 1, depth)  # noqa: E731
        if args.tiles:
            device = str(_device(args.device))       # one clear line when torch is missing
            from exactregions.floating.tiled import tiled_complex
            rc = tiled_complex(net, dom, tiles=_tiles_arg(args.tiles, dom.dim),
                               scheduler=args.scheduler, workers=args.workers,
                               engine=args.engine or "propose", device=device,
                               independent_check=check)
        elif args.engine == "split" or (args.engine is None and not _has_torch()):
            rc = region_complex(net, dom, progress=progress, independent_check=False)
            object.__setattr__(rc, "certificate", {**rc.certificate, "engine": "split"})
        else:
            device = _device(args.device)
            from exactregions.floating.propose import propose_complex
            rc = propose_complex(net, dom, device=device, progress=progress,
                                 independent_check=False)
    if check and not args.tiles:   # with a bar of its own (it can take longer than the build)
        from exactregions.exact.complex import check_independently
        with _check_bar(args) as check_progress:
            check_independently(rc, check_progress)
    elapsed = time.perf_counter() - t0
    if args.regions:
        from exactregions.exact.summary import certificate_document
        summary = certificate_document(rc, lazy=True)   # each entry written as made
    else:
        summary = complex_summary(rc)
    summary["seconds"] = round(elapsed, 3)
    if (figure or args.geojson) and rc.dim not in (2, 3):
        raise InvalidDomainError(f"figures and GeoJSON are drawn for 2-D domains (and figures for "
                                 f"3-D boxes); this domain has dimension {rc.dim}")
    if args.geojson and rc.dim != 2:
        raise InvalidDomainError("GeoJSON needs a 2-D domain (a 2-D box or a plane slice)")
    with _staged(args.json, args.graph, figure, args.geojson) as (json_tmp, graph_tmp, fig_tmp,
                                                                   geo_tmp):
        if args.json:
            from exactregions.exact.summary import write_document
            with open(json_tmp, "w") as fp:
                write_document(summary, fp)
        if args.graph:
            write_graph(region_graph(rc), graph_tmp)
        if figure:
            _draw_complex(rc, fig_tmp, labels, args)
        if args.geojson:
            from exactregions.exact.geojson import complex_geojson
            Path(geo_tmp).write_text(json.dumps(complex_geojson(rc)) + "\n")
    counts = summary["boundary_pieces"]
    print(f"net {args.net}: widths {'-'.join(map(str, net.widths))}, {net.num_neurons} neurons")
    print(f"domain: {dom.description}")
    print(f"activation regions: {summary['activation_regions']}   "
          f"linear regions: {summary['linear_regions']}")
    for k, c in counts.items():
        vol = summary["boundary_volumes"][k]["float"]
        what = "points" if int(k) == rc.dim else f"{rc.dim - int(k)}-volume {vol:.6g}"
        print(f"B_N,{k}: {c} pieces ({what})")
    cert = summary["certificate"]
    print(f"certificate: ok (volumes sum to {cert['volume_sum']} = vol(K); "
          f"{len(rc.activation_regions)} witnesses strictly inside with matching patterns; "
          f"Euler characteristic {cert['euler_characteristic']}; vertex sides; "
          f"cddlib facets checked on {cert['cdd_redundancy']})")
    if check:
        print("independent check: ok (vertex sets, exact volumes, vertex sides, witnesses, "
              "facets, linear regions, B_N pieces with their volumes, witnesses and neurons)")
    else:
        later = (f"`exactregions certify {args.json}`" if args.regions and args.json else
                 "`exactregions certify` on an `--regions --json` file")
        print(f"independent check: skipped (--no-independent-check); run {later} to make it")
    print(f"engine: {rc.certificate['engine']}")
    rate = len(rc.activation_regions) / elapsed if elapsed > 0 else float("inf")
    print(f"time: {elapsed:.2f} s ({rate:.0f} regions/s)")
    for p in (args.json, args.graph, figure, args.geojson):
        if p:
            print(f"wrote {p}")
    return 0


def _draw_complex(rc, path: str, labels: list[str], args: argparse.Namespace) -> None:
    """The exact complex drawn: 2-D as coloured polygons, 3-D as a wireframe of its edges."""
    from exactregions import figure as fig
    title = (f"{Path(args.net).name}: {len(rc.activation_regions)} activation, "
             f"{len(rc.linear_regions)} linear regions (exact, certified)")
    if rc.dim == 2:
        on_plane = rc.domain.embedding is not None
        fig.draw_partition(fig.polygons_of_complex(rc),
                           [r.linear_region for r in rc.activation_regions], path, title=title,
                           points=dict(zip(labels, _SLICE_POINTS)) if on_plane else None,
                           axis_labels=_SLICE_AXES if on_plane else ("x1", "x2"), dpi=args.dpi)
        return
    segs, on = [], []
    for face in rc.faces:
        if face.dim == 1:
            a, b = (tuple(float(x) for x in rc.vertices[v]) for v in face.verts)
            segs.append((a, b))
            on.append(face.in_bn)
    fig.draw_wireframe(segs, on, path, title=title, dpi=args.dpi)


def cmd_certify(args: argparse.Namespace) -> int:
    from exactregions.exact.checker import certify
    t0 = time.perf_counter()
    with _check_bar(args) as progress:
        rep = certify(args.certificate, progress)
    el = time.perf_counter() - t0
    pieces = ", ".join(f"B_N,{k}: {c}" for k, c in rep["pieces"].items())
    print(f"{args.certificate}: ok — {rep['regions']} activation regions, "
          f"{rep['linear_regions']} linear regions, {pieces}; volumes sum to "
          f"{rep['volume_sum']} = vol(K); checked: {', '.join(rep['checks'])} ({el:.2f} s)")
    return 0


def cmd_net_random(args: argparse.Namespace) -> int:
    from exactregions.exact.activation import activation_from_spec
    from exactregions.exact.netfile import save_network
    from exactregions.exact.random import random_network
    try:
        widths = [int(w) for w in args.widths.split(",")]
    except ValueError:
        raise InvalidDomainError(f"--widths {args.widths!r}: comma-separated integers") from None
    act = activation_from_spec(args.activation)
    check_output_files(args.output)
    net = random_network(widths, seed=args.seed, activation=act, bias_std=args.bias_std)
    save_network(net, args.output)
    print(f"wrote {args.output}: widths {'-'.join(map(str, net.widths))}, "
          f"{net.num_neurons} neurons, seed {args.seed}", flush=True)
    return 0


def cmd_net_import(args: argparse.Namespace) -> int:
    from exactregions.exact.netfile import save_network
    check_output_files(args.output)
    net = _net_arg(args.model, args)
    save_network(net, args.output)
    print(f"wrote {args.output}: widths {'-'.join(map(str, net.widths))}")
    return 0


def cmd_net_export(args: argparse.Namespace) -> int:
    import torch

    from exactregions.exact.netfile import load_network
    from exactregions.floating.torch_io import network_to_torch
    if Path(args.output).suffix.lower() not in (".pt", ".pth"):
        raise FormatError(f"-o {args.output!r}: the torch module is written with torch.save; "
                          "name it .pt or .pth")
    check_output_files(args.output)
    model = network_to_torch(load_network(args.net))
    with _staged(args.output) as (tmp,):
        torch.save(model, tmp)
    print(f"wrote {args.output}")
    return 0


def _has_torch() -> bool:
    """Whether torch can be imported (the propose engine's default depends on it)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise InvalidDomainError("the float path needs torch: pip install 'exactregions[float]' "
                                 "(pin torch==2.13.0 for the CPU wheel)") from None


def _device(name: str):
    _need_torch()
    import torch
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidDomainError(f"--device {name}: no CUDA device is available here")
    try:
        return torch.device(name)
    except RuntimeError:
        raise InvalidDomainError(f"--device {name!r} is not a torch device") from None


def _load_points(path: str, dim: int):
    import numpy as np
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InvalidDomainError(f"cannot read points {path!r}: {exc}") from None
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InvalidDomainError(f"{path}: points must be numbers, got an array of {arr.dtype}")
    if arr.size == 0:
        raise InvalidDomainError(f"{path}: the points array is empty")
    arr = arr.reshape(arr.shape[0], -1) if arr.ndim > 2 else arr
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise InvalidDomainError(f"{path}: points must be an (N, {dim}) array, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidDomainError(f"{path}: points contain NaN or infinity")
    return arr.astype(np.float64)


def _check_tol(tol: float) -> None:
    if not (tol >= 0 and tol < 1):
        raise InvalidDomainError(f"--tol must be in [0, 1), got {tol}")


def cmd_lines(args: argparse.Namespace) -> int:
    _need_torch()
    from fractions import Fraction

    import numpy as np
    import torch

    from exactregions.exact.domain import parse_box, parse_point
    from exactregions.floating.lines import line_regions
    from exactregions.floating.tensors import TorchNet

    check_output_files(args.json)
    _check_tol(args.tol)
    net = _net_arg(args.net)
    dev = _device(args.device)
    n = net.input_dim
    lo, hi = Fraction(0), Fraction(1)
    if args.t_range:
        lo, hi = parse_box(args.t_range, 1, "--t-range")[0]
    t0, t1 = float(lo), float(hi)
    exact_lines = None  # (P, D) exactly as given, for --exact
    if args.through:
        if len(args.through) != 2:
            raise InvalidDomainError("lines --through takes exactly 2 points")
        pa, pb = (parse_point(q) for q in args.through)
        if len(pa) != n or len(pb) != n:
            raise InvalidDomainError(f"--through points must have dimension {n}")
        if pa == pb:
            raise InvalidDomainError("--through points coincide: they span no line")
        exact_lines = [(pa, tuple(y - x for x, y in zip(pa, pb)))]
        a, b = np.array([float(v) for v in pa]), np.array([float(v) for v in pb])
        P, D = a[None], (b - a)[None]
    elif args.points:
        X = _load_points(args.points, n)
        P = np.zeros_like(X) if args.through_origin else X
        D = X
    elif args.random is not None:
        if args.random < 1:
            raise InvalidDomainError(f"--random must be a positive number of lines, got {args.random}")
        rng = np.random.default_rng(args.seed)
        X = rng.uniform(0, 1, size=(args.random, n))
        P, D = np.zeros_like(X), X
    else:
        raise InvalidDomainError("give lines: --through P1 P2, --through-origin --points FILE.npy, "
                                 "or --random N")
    if not (np.abs(D).sum(axis=1) > 0).all():
        raise InvalidDomainError("a line has a zero direction (a point at the origin with "
                                 "--through-origin, or identical points)")
    if exact_lines is None:  # the float data are the exact points (their binary values)
        exact_lines = [(tuple(Fraction(float(v)) for v in p), tuple(Fraction(float(v)) for v in d))
                       for p, d in zip(P, D)]
    tn = TorchNet.from_network(net, device=dev)
    t_start = time.perf_counter()
    with _bar(args, "lines", "line") as update:
        r = line_regions(tn, torch.tensor(P, device=dev), torch.tensor(D, device=dev), t0, t1,
                         tol=args.tol, progress=update)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t_start
    neurons = tn.num_neurons()
    act = r.activation_pieces.cpu().tolist()
    lin = r.linear_pieces.cpu().tolist()
    ties = r.near_ties.cpu().tolist()
    out = {
        "net": args.net, "widths": list(net.widths), "neurons": neurons, "t_range": [t0, t1],
        "device": str(dev), "tolerance": r.tol, "seconds": round(elapsed, 4),
        "lines": [{"activation_pieces": a, "linear_pieces": b, "near_ties": c, "breakpoints": bp}
                  for a, b, c, bp in zip(act, lin, ties, _breakpoints_by_line(r, len(act)))],
        "totals": {"lines": len(act), "activation_pieces": sum(act), "linear_pieces": sum(lin),
                   "near_ties": sum(ties),
                   "mean_linear_pieces_per_neuron": sum(lin) / len(lin) / max(neurons, 1)},
    }
    disagree_silent = 0
    if args.exact:
        from exactregions.exact.complex import region_complex
        from exactregions.exact.domain import segment
        agree = []
        with _bar(args, "exact recount", "line") as update:
            for i, (p, d) in enumerate(exact_lines):
                update(i, len(exact_lines))
                # the exact segment P + t D, t in [lo, hi], on the points as given ("1/10" stays)
                seg = segment([x + lo * y for x, y in zip(p, d)],
                              [x + hi * y for x, y in zip(p, d)])
                rc = region_complex(net, seg)
                ok = len(rc.activation_regions) == act[i] and len(rc.linear_regions) == lin[i]
                agree.append(ok)
                out["lines"][i]["exact"] = {"activation_pieces": len(rc.activation_regions),
                                            "linear_pieces": len(rc.linear_regions), "agree": ok}
                out["lines"][i]["exact_linear_pieces"] = len(rc.linear_regions)
                if not ok and not ties[i]:
                    disagree_silent += 1
        out["totals"]["exact_agree"] = sum(agree)
        out["totals"]["exact_disagree_without_near_tie"] = disagree_silent
        out["totals"]["exact_linear_pieces"] = sum(ln["exact"]["linear_pieces"] for ln in out["lines"])
    with _staged(args.json) as (json_tmp,):
        if args.json:
            Path(json_tmp).write_text(json.dumps(out, indent=1) + "\n")
    tot = out["totals"]
    print(f"{tot['lines']} lines through {'-'.join(map(str, net.widths))} on {dev}: "
          f"{tot['activation_pieces']} activation pieces, {tot['linear_pieces']} linear pieces, "
          f"{tot['near_ties']} near-ties; linear pieces per line / #neurons = "
          f"{tot['mean_linear_pieces_per_neuron']:.4f}; {elapsed:.3f} s "
          f"({len(act) / elapsed if elapsed > 0 else float('inf'):.0f} lines/s)")
    if args.exact:
        print(f"exact core agrees on {tot['exact_agree']} of {tot['lines']} lines "
              f"({tot['exact_linear_pieces']} exact linear pieces)")
        for i, ln in enumerate(out["lines"]):
            if not ln["exact"]["agree"]:
                e = ln["exact"]
                print(f"line {i}: float {ln['activation_pieces']} activation / "
                      f"{ln['linear_pieces']} linear pieces, exact {e['activation_pieces']} / "
                      f"{e['linear_pieces']}: DISAGREE"
                      + (f" ({ln['near_ties']} near-ties reported)" if ln["near_ties"]
                         else " with no near-tie reported"))
    if args.json:
        print(f"wrote {args.json}")
    return EXIT_DISAGREE if disagree_silent else 0


def _breakpoints_by_line(r, n_lines: int) -> list[dict[str, list]]:
    """Each line's interior breakpoints as columns: t, layer, neuron, good (the neuron is good
    there: a linear-region boundary)."""
    counts = r.line.bincount(minlength=n_lines).cpu().tolist()
    cols = [r.t.cpu().tolist(), r.layer.cpu().tolist(), r.neuron.cpu().tolist(),
            r.good.cpu().tolist()]
    out, k = [], 0
    for c in counts:
        t, layer, neuron, good = (col[k:k + c] for col in cols)
        out.append({"t": t, "layer": layer, "neuron": neuron, "good": [bool(g) for g in good]})
        k += c
    return out


def _parse_archs(values: Sequence[str]) -> list[tuple[int, ...]]:
    out = []
    for v in values:
        try:
            widths = tuple(int(x) for x in v.replace("[", "").replace("]", "").split(","))
        except ValueError:
            raise InvalidDomainError(f"--archs {v!r}: hidden widths are comma-separated integers") from None
        if not widths or min(widths) < 1:
            raise InvalidDomainError(f"--archs {v!r}: widths must be positive")
        out.append(widths)
    return out


def cmd_experiment(args: argparse.Namespace) -> int:
    _need_torch()
    from exactregions.experiments.experiment import DEFAULT_ARCHS, PRESETS, run_experiment

    dev = _device(args.device)
    preset = "quick" if args.quick else (args.preset or "")
    q = PRESETS[preset] if preset else {}
    archs = _parse_archs(args.archs) if args.archs else list(q.get("archs", DEFAULT_ARCHS))
    pick = lambda v, key, default: v if v is not None else q.get(key, default)  # noqa: E731
    epochs, seeds = pick(args.epochs, "epochs", 20), pick(args.seeds, "seeds", 5)
    lines, points = pick(args.lines, "lines", 100), pick(args.points, "points", 10_000)
    for name, v in (("--epochs", epochs), ("--seeds", seeds), ("--lines", lines),
                    ("--points", points)):
        if v < 1:
            raise InvalidDomainError(f"{name} must be at least 1, got {v}")
    if args.workers is not None and args.workers < 1:
        raise InvalidDomainError(f"--workers must be at least 1, got {args.workers}")
    if args.workers is not None and args.scheduler != "local":
        raise InvalidOptionError(f"--workers sets the size of a local cluster; with --scheduler "
                                 f"{args.scheduler} it would be ignored: add --scheduler local")
    check_output_folder(args.out)
    try:
        run_experiment(Path(args.out), args.dataset, args.data_dir, archs, epochs, seeds, lines,
                       points, str(dev), progress=not args.no_progress, scheduler=args.scheduler,
                       workers=args.workers, preset=preset)
    except (OSError, TimeoutError) as exc:
        if args.scheduler in ("none", "local"):
            raise
        raise InvalidDomainError(f"cannot use the Dask scheduler {args.scheduler!r}: "
                                 f"{exc}") from None
    return 0


def cmd_distance(args: argparse.Namespace) -> int:
    _need_torch()
    import numpy as np
    import torch

    from exactregions.floating.distance import boundary_distance
    from exactregions.floating.tensors import TorchNet

    check_output_files(args.json)
    _check_tol(args.tol)
    net = _net_arg(args.net)
    dev = _device(args.device)
    if args.points:
        X = _load_points(args.points, net.input_dim)
    elif args.random is not None:
        if args.random < 1:
            raise InvalidDomainError(f"--random must be a positive number of points, got {args.random}")
        X = np.random.default_rng(args.seed).uniform(0, 1, size=(args.random, net.input_dim))
    else:
        raise InvalidDomainError("give points: --points FILE.npy or --random N")
    tn = TorchNet.from_network(net, device=dev)
    t_start = time.perf_counter()
    with _bar(args, "distance", "point") as update:
        r = boundary_distance(tn, torch.tensor(X, device=dev), tol=args.tol, progress=update)
    elapsed = time.perf_counter() - t_start
    neurons = tn.num_neurons()
    reg = r.region.cpu().numpy()
    good = r.good.cpu().numpy()
    fin = np.isfinite(good)
    out = {"net": args.net, "widths": list(net.widths), "neurons": neurons, "device": str(dev),
           "tolerance": r.tol, "seconds": round(elapsed, 4),
           "points": [{"region": float(a), "good": float(b), "near_tie": bool(c)}
                      for a, b, c in zip(reg, good, r.near_ties.cpu().tolist())],
           "mean_region_distance": float(reg[np.isfinite(reg)].mean()) if np.isfinite(reg).any() else None,
           "mean_good_distance": float(good[fin].mean()) if fin.any() else None,
           "near_ties": int(r.near_ties.sum())}
    out["mean_good_distance_times_neurons"] = (out["mean_good_distance"] or 0.0) * neurons
    with _staged(args.json) as (json_tmp,):
        if args.json:
            Path(json_tmp).write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(X)} points through {'-'.join(map(str, net.widths))} on {dev}: mean distance to "
          f"B_N {out['mean_good_distance']:.6g} (x #neurons = "
          f"{out['mean_good_distance_times_neurons']:.4f}); to the region boundary "
          f"{out['mean_region_distance']:.6g}; {out['near_ties']} near-ties; {elapsed:.3f} s")
    if args.json:
        print(f"wrote {args.json}")
    return 0


def cmd_slice(args: argparse.Namespace) -> int:
    _need_torch()
    import torch

    from exactregions.exact.domain import parse_box, parse_point
    from exactregions.floating.slice import slice_regions
    from exactregions.floating.tensors import TorchNet

    if not args.through or len(args.through) != 3:
        raise InvalidDomainError("slice needs --through P1 P2 P3")
    figure = _figure_arg(args)
    labels = _labels(args)
    check_output_files(args.json, figure)
    _check_tol(args.tol)
    net = _net_arg(args.net)
    dev = _device(args.device)
    pts = [parse_point(q) for q in args.through]
    if any(len(q) != net.input_dim for q in pts):
        raise InvalidDomainError(f"--through points must have dimension {net.input_dim}")
    bounds = parse_box(args.box, 2) if args.box else [(0, 1), (0, 1)]
    from exactregions.exact.domain import plane
    plane(*pts, bounds=bounds)  # validates (identical or collinear points) before any float work
    box = tuple((float(a), float(b)) for a, b in bounds)
    tn = TorchNet.from_network(net, device=dev)
    t_start = time.perf_counter()
    with _bar(args, "slice (layers)", "layer") as update:
        res = slice_regions(tn, *[torch.tensor([float(v) for v in q], device=dev,
                                               dtype=torch.float64) for q in pts],
                            box=box, tol=args.tol, progress=update)
    elapsed = time.perf_counter() - t_start
    out = {"net": args.net, "widths": list(net.widths), "box": [list(b) for b in box],
           "device": str(dev), "tolerance": res.tol, "seconds": round(elapsed, 4),
           "activation_regions": res.activation_regions, "linear_regions": res.linear_regions,
           "near_ties": res.near_ties}
    title = (f"{Path(args.net).name}: {res.activation_regions} activation, "
             f"{res.linear_regions} linear regions (float)")
    silent_disagreement = False
    if args.exact:
        from exactregions.exact.complex import region_complex
        # the exact plane through the points as given ("1/10" stays 1/10)
        rc = region_complex(net, plane(*pts, bounds=bounds))
        agree = (len(rc.activation_regions) == res.activation_regions
                 and len(rc.linear_regions) == res.linear_regions)
        out["exact"] = {"activation_regions": len(rc.activation_regions),
                        "linear_regions": len(rc.linear_regions), "agree": agree}
        silent_disagreement = not agree and res.near_ties == 0
        title += (f"\nexact: {len(rc.activation_regions)} activation, {len(rc.linear_regions)} "
                  f"linear regions — {'agree' if agree else 'DISAGREE'}")
    with _staged(figure, args.json) as (fig_tmp, json_tmp):
        if figure:
            from exactregions import figure as fig
            fig.draw_partition(fig.polygons_of_slice(res), res.linear.cpu().tolist(), fig_tmp,
                               title=title, points=dict(zip(labels, _SLICE_POINTS)),
                               axis_labels=_SLICE_AXES, dpi=args.dpi)
        if args.json:
            Path(json_tmp).write_text(json.dumps(out, indent=1) + "\n")
    print(f"slice of {'-'.join(map(str, net.widths))} on {dev}: {res.activation_regions} activation "
          f"regions, {res.linear_regions} linear regions, {res.near_ties} near-ties; {elapsed:.3f} s")
    if args.exact:
        e = out["exact"]
        print(f"exact core: {e['activation_regions']} activation, {e['linear_regions']} linear "
              f"regions: {'agree' if e['agree'] else 'DISAGREE'}"
              + ("" if e["agree"] else (f" ({res.near_ties} near-ties reported)" if res.near_ties
                                        else " with no near-tie reported")))
    for p in (figure, args.json):
        if p:
            print(f"wrote {p}")
    return EXIT_DISAGREE if silent_disagreement else 0


def cmd_check_counter(args: argparse.Namespace) -> int:
    import importlib

    from exactregions.testing.check import check_line_counter, check_slice_counter

    mod_name, _, func_name = args.target.partition(":")
    if not mod_name or not func_name:
        raise FormatError(f"{args.target!r}: write MODULE:FUNCTION")
    sys.path.insert(0, str(Path.cwd()))
    try:
        func = getattr(importlib.import_module(mod_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise FormatError(f"cannot import {args.target!r}: {exc}") from None
    check = check_line_counter if args.kind == "lines" else check_slice_counter
    kinds = tuple(a.strip() for a in args.activations.split(",") if a.strip())
    from exactregions.testing.check import KNOWN_KINDS
    bad = [k for k in kinds if k not in KNOWN_KINDS]
    if bad or not kinds:
        raise FormatError(f"--activations: choose from {', '.join(KNOWN_KINDS)}")
    t0 = time.perf_counter()
    with _bar(args, "examples", "example") as update:
        budget = {} if args.shrink_budget is None else {"shrink_budget": args.shrink_budget}
        rep = check(func, model=args.model, examples=args.examples, seed=args.seed,
                    activations=kinds, progress=update, **budget)
    el = time.perf_counter() - t0
    if rep.passed:
        print(f"{args.target}: passed {rep.examples} examples ({args.kind}, exact oracle"
              f"{', metamorphic checks' if args.kind == 'lines' else ''}) in {el:.1f} s")
        return 0
    print(f"{args.target}: FAILED\n{rep.message}\nminimal failing example: {rep.example}\n"
          f"reproduce it (save as test_reproduce.py, run pytest):\n{rep.reproducer}")
    return 1


@contextlib.contextmanager
def _check_bar(args: argparse.Namespace):
    """A progress bar for the independent checker: yields its ``progress(what, done, total)``
    (the regions, then the pieces)."""
    with _bar(args, "independent check", "item") as update:
        yield lambda what, done, total: update(done, total, f"independent check: {what}")


def _progress_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="progress bars on stderr (default: when stderr is a terminal)")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bars")


class _Help(argparse.HelpFormatter):
    """Help that shows each option's default where it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (action.default is not None and action.default is not False
                and action.default != argparse.SUPPRESS and "default" not in text
                and action.option_strings):
            text += " (default: %(default)s)"
        return text


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse with its errors on one line (the usage is what ``--help`` is for), exit 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _seed(text: str) -> int:
    """A ``--seed``: numpy's generators take whole numbers from 0 up."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is a whole number from 0 up, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``exactregions`` command."""
    fmt = _Help
    p = OneLineArgumentParser(prog="exactregions", formatter_class=fmt,
                description="Exact linear regions of piecewise-linear networks, and checks of "
                            "Hanin & Rolnick (2019).",
                epilog="exit codes: 0 ok; 1 a float count or a counter is wrong; 2 bad input; "
                       "3 a certificate failed")
    from exactregions import __version__
    p.add_argument("--version", action="version", version=f"exactregions {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    e = sub.add_parser("enumerate", help="exact regions, linear regions and B_N,k pieces on K")
    e.add_argument("net", help="network file: .json, a saved torch module or TorchScript .pt, or .onnx")
    e.add_argument("--box", help="lo:hi[,lo:hi...] (one side for every coordinate, or one each); "
                                 "with --through: the (s,t) box of a plane or the t range")
    e.add_argument("--through", action="append", metavar="P",
                   help="2 points: segment P1 + t (P2-P1); 3 points: plane through them. "
                        "A point is comma-separated numbers or a .npy/.json vector")
    e.add_argument("--polytope", metavar="K.json",
                   help='the domain K = {x : A x <= b} from a JSON file {"A": [[...]], '
                        '"b": [...]} (numbers or exact strings "1/3"; the "K" of a certificate '
                        'file) instead of --box; with --through, in the slice coordinates (t, '
                        'or (s,t): A = [[-1,0],[0,-1],[1,1]], b = [0,0,1] is the triangle P1 P2 '
                        'P3)')
    e.add_argument("--json", help="write the summary (exact numbers as strings) here")
    e.add_argument("--graph", help="write the region graph (.graphml, .json node-link, .gexf)")
    e.add_argument("--figure", help="draw the exact complex (.png, .svg, .pdf): a 2-D box or "
                                    "plane coloured by linear region, a 3-D box as a wireframe")
    e.add_argument("--dpi", type=int, default=200, help="figure resolution")
    e.add_argument("--labels", default="P1,P2,P3", help="names of a plane's three points")
    e.add_argument("--geojson", help="the 2-D regions as GeoJSON polygons (float coordinates, "
                                     "exact ones as strings beside them)")
    e.add_argument("--regions", action="store_true",
                   help="write the full certificate to --json: the net, K, every region's "
                        "H-polytope, pattern, witness, volume, vertices and output map, the "
                        "linear regions and the B_N,k pieces (`exactregions certify` re-checks it)")
    e.add_argument("--engine", choices=("propose", "split"),
                   help="propose (the default where torch is installed, else split): a batched "
                        "torch skeleton proposes every region and exact rationals decide (a "
                        "non-generic or rejected proposal is repaired tile by tile or split); "
                        "split: exact splitting cell by cell. Same certified result")
    e.add_argument("--device", default="cpu", help="torch device of the propose engine")
    e.add_argument("--no-independent-check", action="store_true",
                   help="skip the independent checker here (the enumerator's own certificates "
                        "still run): it takes 1.2-1.7x the build on 2,000-20,000 regions, "
                        "2.5x on 161,373 (7.5 min, 9 GB); check the --regions --json file later with "
                        "`exactregions certify`")
    e.add_argument("--tiles", metavar="K[,K...]",
                   help="cut the box (or the slice, in its coordinates) into K parts along "
                        "every axis (or one count per axis): each tile computed and certified "
                        "as its own task, the tiles glued back exactly by pattern and the "
                        "whole certified again")
    e.add_argument("--scheduler", default="local",
                   help="with --tiles: 'local' (a Dask LocalCluster, default), 'none' (in "
                        "process) or a scheduler address tcp://host:8786")
    e.add_argument("--workers", type=int, help="with --tiles and a local cluster: workers "
                                               "(default: one a core)")
    _progress_options(e)
    e.set_defaults(func=cmd_enumerate)

    ce = sub.add_parser("certify", help="re-check a certificate file (enumerate --regions --json) "
                                        "exactly, independently of the enumerator")
    ce.add_argument("certificate", help="the JSON written by enumerate … --regions --json OUT.json")
    _progress_options(ce)
    ce.set_defaults(func=cmd_certify)

    ln = sub.add_parser("lines", help="float: regions along lines (Theorem 1), batched torch")
    ln.add_argument("net", help="network file: .json, a saved torch module or TorchScript .pt, or .onnx")
    ln.add_argument("--through", action="append", metavar="P", help="2 points: the segment P1->P2")
    ln.add_argument("--through-origin", action="store_true",
                    help="with --points: lines from the origin through each point")
    ln.add_argument("--points", help="an (N, n_in) .npy file of points")
    ln.add_argument("--random", type=int, help="N lines from the origin through uniform [0,1]^n points")
    ln.add_argument("--seed", type=_seed, default=0, help="seed of --random")
    ln.add_argument("--t-range", help="lo:hi for t (default 0:1)")
    ln.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1, ...")
    ln.add_argument("--tol", type=float, default=1e-9, help="relative tolerance for near-ties")
    ln.add_argument("--exact", action="store_true", help="re-run every line in the exact core")
    ln.add_argument("--json", help="write per-line counts (and the exact recount) here")
    _progress_options(ln)
    ln.set_defaults(func=cmd_lines)

    sl = sub.add_parser("slice", help="float: 2-D slice through three points, with a picture")
    sl.add_argument("net", help="network file: .json, a saved torch module or TorchScript .pt, or .onnx")
    sl.add_argument("--through", action="append", metavar="P", help="three points P1 P2 P3")
    sl.add_argument("--box", help="the (s,t) box, default 0:1,0:1")
    sl.add_argument("--device", default="cpu", help="torch device: cpu, cuda, ...")
    sl.add_argument("--tol", type=float, default=1e-9, help="relative tolerance for near-ties")
    sl.add_argument("--exact", action="store_true", help="re-run in the exact core and compare")
    sl.add_argument("--figure", help="draw the slice for a paper (.png, .svg or .pdf): regions "
                                     "coloured by linear region, activation edges thin, linear "
                                     "boundaries dark, the three points labelled")
    sl.add_argument("--png", help="the same as --figure (kept for old scripts)")
    sl.add_argument("--dpi", type=int, default=200, help="figure resolution")
    sl.add_argument("--labels", default="P1,P2,P3", help="names of the three points in the figure")
    sl.add_argument("--json", help="write the counts (and the exact recount) here")
    _progress_options(sl)
    sl.set_defaults(func=cmd_slice)

    di = sub.add_parser("distance", help="float: distance to the region boundary and to B_N")
    di.add_argument("net", help="network file: .json, a saved torch module or TorchScript .pt, or .onnx")
    di.add_argument("--points", help="an (N, n_in) .npy file")
    di.add_argument("--random", type=int, help="N points uniform in [0,1]^n")
    di.add_argument("--seed", type=_seed, default=0, help="seed of --random")
    di.add_argument("--device", default="cpu", help="torch device: cpu, cuda, ...")
    di.add_argument("--tol", type=float, default=1e-9, help="relative tolerance for near-ties")
    di.add_argument("--json", help="write per-point distances here")
    _progress_options(di)
    di.set_defaults(func=cmd_distance)

    cc = sub.add_parser("check-counter", help="check your own region counter against the exact core")
    cc.add_argument("target", help="MODULE:FUNCTION (see exactregions.testing.oracles for the protocol)")
    cc.add_argument("--kind", choices=["lines", "slice"], default="lines")
    cc.add_argument("--model", choices=["numpy", "torch", "exact"], default="numpy",
                    help="what your function takes as the net")
    cc.add_argument("--examples", type=int, default=30, help="hypothesis examples to try")
    cc.add_argument("--seed", type=_seed, default=0,
                    help="hypothesis seed (same seed, same examples)")
    cc.add_argument("--shrink-budget", type=int, metavar="N",
                    help="runs of your counter allowed for shrinking a failure to a small net "
                         "(default 200; 0 reports the first failure as found)")
    cc.add_argument("--activations", default="relu,leaky_relu,abs,hardtanh,pwl",
                    help="comma-separated activations your counter supports (add prelu for "
                         "per-channel PReLU nets: a negative slope a neuron)")
    _progress_options(cc)
    cc.set_defaults(func=cmd_check_counter)

    ex = sub.add_parser("experiment", help="the paper's §3: train, track regions and distances, "
                                           "draw Figures 1, 3-6, 8")
    ex.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist", "digits"])
    ex.add_argument("--data-dir", help="folder with the four IDX files (MNIST's format, .gz or raw)")
    ex.add_argument("--archs", nargs="+", metavar="W1,W2,W3",
                    help="hidden widths per architecture (default: the paper's five)")
    ex.add_argument("--epochs", type=int, help="training epochs (default 20; --quick: 2)")
    ex.add_argument("--seeds", type=int, help="seeds per architecture (default 5; --quick: 1)")
    ex.add_argument("--lines", type=int, help="lines per checkpoint (default 100)")
    ex.add_argument("--points", type=int, help="distance points per checkpoint (default 10000)")
    ex.add_argument("--device", default="cpu", help="torch device for training and the kernels")
    ex.add_argument("--quick", action="store_true",
                    help="3 archs, 2 epochs, 1 seed, 25 lines, 500 points (about a minute on 2 "
                         "cores)")
    ex.add_argument("--preset", choices=["quick", "medium"],
                    help="medium: the paper's 5 archs, 2 seeds, 4 epochs, 50 lines, 2000 points "
                         "(about ten minutes on 2 cores); flags given explicitly win")
    ex.add_argument("--scheduler", default="none",
                    help="'none' (in process, default), 'local' (a Dask LocalCluster, one "
                         "training run a task) or a scheduler address tcp://host:8786")
    ex.add_argument("--workers", type=int, help="with --scheduler local: workers (default: "
                                                "#cores)")
    ex.add_argument("--no-progress", action="store_true", help="no progress bars")
    ex.add_argument("--out", required=True, help="output folder (runs resume from it)")
    ex.set_defaults(func=cmd_experiment)
    sub.add_parser("verify", add_help=False,
                   help="check the paper's statements (proofs_check; `exactregions verify --help`)")
    net = sub.add_parser("net", help="make, import and export networks")
    nsub = net.add_subparsers(dest="net_command", required=True)
    r = nsub.add_parser("random", help="He-normal weights, N(0, bias_std²) biases (the paper's init)")
    r.add_argument("--widths", required=True, help="n_in,n_1,...,n_L e.g. 2,16,16,1")
    r.add_argument("--seed", type=_seed, default=0, help="numpy seed: same seed, same net")
    r.add_argument("--activation", default="relu", help="relu, leaky_relu, abs, hardtanh, relu6")
    r.add_argument("--bias-std", type=float, default=1e-3, help="standard deviation of the biases")
    r.add_argument("-o", "--output", required=True, help="the network file to write (.json)")
    r.set_defaults(func=cmd_net_random)
    i = nsub.add_parser("import", help="a torch or ONNX model to the exact JSON format")
    i.add_argument("model", help="a saved torch module (.pt/.pth), a TorchScript file, a "
                                 "state_dict (with --widths) or an ONNX model (.onnx)")
    i.add_argument("--widths", help="for a state_dict: n_in,n_1,...,n_L")
    i.add_argument("--activation", default="relu", help="for a state_dict: the hidden activation")
    i.add_argument("--input-shape", help="C,H,W of the input, for Conv2d/AvgPool2d layers "
                                         "(unrolled into dense layers)")
    i.add_argument("--module", help="PACKAGE.MODULE:CLASS of a custom model class to import "
                                    "before unpickling")
    i.add_argument("-o", "--output", required=True, help="the network file to write (.json)")
    i.set_defaults(func=cmd_net_import)
    x = nsub.add_parser("export", help="the exact JSON format to a saved torch nn.Sequential")
    x.add_argument("net", help="the network file (.json)")
    x.add_argument("-o", "--output", required=True, help="the torch file to write (.pt)")
    x.set_defaults(func=cmd_net_export)
    _every_parser_shows_defaults(p)
    return p


def _every_parser_shows_defaults(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = _Help
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _every_parser_shows_defaults(child)


_VALUE_OPTIONS = ("--box", "--t-range")
_MULTI_OPTIONS = ("--through",)


def _normalise_argv(argv: Sequence[str]) -> list[str]:
    """Let values start with '-' (``--box -1:1``, ``--through -1,0 1,0``) as users write them."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _VALUE_OPTIONS and i + 1 < len(argv):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        if a in _MULTI_OPTIONS:
            i += 1
            while i < len(argv) and not argv[i].startswith("--"):
                out.append(f"{a}={argv[i]}")
                i += 1
            continue
        out.append(a)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    raw = sys.argv[1:] if argv is None else list(argv)
    if raw[:1] == ["verify"]:  # the same command line as `python -m proofs_check`
        from proofs_check.runner import main as verify_main

        return verify_main(raw[1:], prog="exactregions verify")
    parser = build_parser()
    args = parser.parse_args(_normalise_argv(raw))
    try:
        return int(args.func(args))
    except CertificateError as exc:
        print(f"exactregions: certificate failed: {exc}", file=sys.stderr)
        return EXIT_CERTIFICATE
    except ExactRegionsError as exc:
        print(f"exactregions: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("exactregions: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """The ``exactregions`` console script (and ``python -m exactregions``): :func:`main`, then
    exit without tearing the heap down object by object, which on a big complex takes a good
    part of the run (3-32-32-32-1: 34 s after a 180 s build; 2-32-32-32-1: 0.8 s after 3 s).
    Every output is written and closed by then; the process flushes its streams and ends.
    Where Dask ran (proofs_check, tiles: its clusters close in exit handlers) it exits as usual.
    """
    code = main()
    if "distributed" in sys.modules:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:   # the reader went away: nothing more to tell it
        pass
    os._exit(code)


if __name__ == "__main__":
    run()
