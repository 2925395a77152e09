"""The ``exactregions`` command line.

Exit codes: 0 success; 2 bad input (one line on stderr naming the problem, no output file
written); 3 a certificate failed (a bug: please report it with the input).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

from exactregions.errors import CertificateError, ExactRegionsError, InvalidDomainError
from exactregions.exact.netfile import atomic_write_text

__all__ = ["main", "build_parser"]

EXIT_BAD_INPUT = 2
EXIT_CERTIFICATE = 3


def _net_arg(path: str):
    from exactregions.exact.netfile import load_network
    if path.endswith((".pt", ".pth")):
        from exactregions.floating.torch_io import load_torch_network
        return load_torch_network(path)
    return load_network(path)


def _domain_from_args(args: argparse.Namespace, input_dim: int):
    from exactregions.exact.domain import box, parse_box, parse_point, plane, segment
    if args.through:
        pts = [parse_point(p) for p in args.through]
        if len(pts) == 2:
            dom = segment(*pts)
            if args.box:
                lo, hi = parse_box(args.box, 1)[0]
                from exactregions.exact.domain import Domain, Embedding
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
    raise InvalidDomainError("give the domain: --box lo:hi[,lo:hi...] or --through P1 P2 [P3]")


def _check_outputs(*paths: str | None) -> None:
    for p in paths:
        if p is None:
            continue
        parent = Path(p).resolve().parent
        if not parent.is_dir():
            raise InvalidDomainError(f"output folder {str(parent)!r} does not exist")


def cmd_enumerate(args: argparse.Namespace) -> int:
    from exactregions.exact.complex import region_complex
    from exactregions.exact.graph import GRAPH_FORMATS, region_graph, write_graph
    from exactregions.exact.summary import complex_summary
    from exactregions.errors import FormatError

    if args.graph and Path(args.graph).suffix.lower() not in GRAPH_FORMATS:
        raise FormatError(f"--graph {args.graph!r}: use one of {', '.join(GRAPH_FORMATS)}")
    _check_outputs(args.json, args.graph)
    net = _net_arg(args.net)
    dom = _domain_from_args(args, net.input_dim)
    t0 = time.perf_counter()
    rc = region_complex(net, dom)
    elapsed = time.perf_counter() - t0
    summary = complex_summary(rc, include_regions=args.regions)
    summary["seconds"] = round(elapsed, 3)
    if args.json:
        atomic_write_text(args.json, json.dumps(summary, indent=1) + "\n")
    if args.graph:
        write_graph(region_graph(rc), args.graph)
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
    rate = len(rc.activation_regions) / elapsed if elapsed > 0 else float("inf")
    print(f"time: {elapsed:.2f} s ({rate:.0f} regions/s)")
    for p in (args.json, args.graph):
        if p:
            print(f"wrote {p}")
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
    _check_outputs(args.output)
    net = random_network(widths, seed=args.seed, activation=act, bias_std=args.bias_std)
    save_network(net, args.output)
    print(f"wrote {args.output}: widths {'-'.join(map(str, net.widths))}, "
          f"{net.num_neurons} neurons, seed {args.seed}", flush=True)
    return 0


def cmd_net_import(args: argparse.Namespace) -> int:
    from exactregions.exact.netfile import save_network
    from exactregions.floating.torch_io import load_torch_network
    _check_outputs(args.output)
    net = load_torch_network(args.model)
    save_network(net, args.output)
    print(f"wrote {args.output}: widths {'-'.join(map(str, net.widths))}")
    return 0


def cmd_net_export(args: argparse.Namespace) -> int:
    import torch

    from exactregions.exact.netfile import load_network
    from exactregions.floating.torch_io import network_to_torch
    _check_outputs(args.output)
    model = network_to_torch(load_network(args.net))
    tmp = Path(args.output).with_name("." + Path(args.output).name + ".tmp")
    torch.save(model, tmp)
    tmp.replace(args.output)
    print(f"wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``exactregions`` command."""
    p = argparse.ArgumentParser(prog="exactregions",
                                description="Exact linear regions of piecewise-linear networks.")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("enumerate", help="exact regions, linear regions and B_N,k pieces on K")
    e.add_argument("net", help="network file (.json, or a saved torch nn.Sequential .pt)")
    e.add_argument("--box", help="lo:hi[,lo:hi...] (one side for every coordinate, or one each); "
                                 "with --through: the (s,t) box of a plane or the t range")
    e.add_argument("--through", action="append", metavar="P",
                   help="2 points: segment P1 + t (P2-P1); 3 points: plane through them. "
                        "A point is comma-separated numbers or a .npy/.json vector")
    e.add_argument("--json", help="write the summary (exact numbers as strings) here")
    e.add_argument("--graph", help="write the region graph (.graphml, .json node-link, .gexf)")
    e.add_argument("--regions", action="store_true",
                   help="include every region's H-polytope, pattern and witness in --json")
    e.set_defaults(func=cmd_enumerate)

    net = sub.add_parser("net", help="make, import and export networks")
    nsub = net.add_subparsers(dest="net_command", required=True)
    r = nsub.add_parser("random", help="He-normal weights, N(0, bias_std²) biases (the paper's init)")
    r.add_argument("--widths", required=True, help="n_in,n_1,...,n_L e.g. 2,16,16,1")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--activation", default="relu", help="relu, leaky_relu, abs, hardtanh, relu6")
    r.add_argument("--bias-std", type=float, default=1e-3)
    r.add_argument("-o", "--output", required=True)
    r.set_defaults(func=cmd_net_random)
    i = nsub.add_parser("import", help="a saved torch nn.Sequential to the exact JSON format")
    i.add_argument("model")
    i.add_argument("-o", "--output", required=True)
    i.set_defaults(func=cmd_net_import)
    x = nsub.add_parser("export", help="the exact JSON format to a saved torch nn.Sequential")
    x.add_argument("net")
    x.add_argument("-o", "--output", required=True)
    x.set_defaults(func=cmd_net_export)
    return p


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
    parser = build_parser()
    args = parser.parse_args(_normalise_argv(sys.argv[1:] if argv is None else list(argv)))
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


if __name__ == "__main__":
    sys.exit(main())
