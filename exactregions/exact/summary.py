"""The JSON-ready summary of a region complex (what ``exactregions enumerate --json`` writes)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, TextIO

from exactregions.exact._runtime import paused_gc
from exactregions.exact.floatfilter import display_float
from exactregions.exact.rational import format_rational

if TYPE_CHECKING:
    from exactregions.exact.complex import RegionComplex

__all__ = ["complex_summary", "certificate_document", "write_document", "LazyEntries",
           "Deferred"]


def complex_summary(rc: "RegionComplex", include_regions: bool = False, lazy: bool = False
                    ) -> dict[str, Any]:
    """Counts, exact boundary volumes and the certificate, with exact numbers as strings
    (``lazy=True``: the boundary volumes as a :class:`Deferred` mapping, summed when read).

    Examples
    --------
    >>> from exactregions.exact.random import random_network
    >>> from exactregions.exact.domain import box
    >>> from exactregions.exact.complex import region_complex
    >>> s = complex_summary(region_complex(random_network([1, 5, 1], seed=0), box([(-1, 1)])))
    >>> s["linear_regions"] == s["boundary_pieces"]["1"] + 1
    True
    """
    cert = rc.certificate

    def volumes() -> dict[str, Any]:
        return {str(k): {"exact": str(v), "float": display_float(v)}
                for k, v in rc.boundary_volumes().items()}
    out: dict[str, Any] = {
        "input_dim": rc.dim,
        "domain": rc.domain.description,
        "net": rc.net.source,
        "widths": list(rc.net.widths),
        "neurons": rc.net.num_neurons,
        "activation_regions": len(rc.activation_regions),
        "linear_regions": len(rc.linear_regions),
        "boundary_pieces": {str(k): c for k, c in rc.boundary_counts().items()},
        "boundary_volumes": Deferred(volumes) if lazy else volumes(),
        "proposition_10_violations": sum(1 for p in rc.pieces if len(p.neurons) != p.codim),
        "certificate": {
            "ok": bool(cert["ok"]),
            "volume_sum": format_rational(cert["volume_sum"]),
            "domain_volume": format_rational(cert["domain_volume"]),
            "patterns_distinct": cert["patterns_distinct"],
            "witnesses_interior": cert["witnesses_interior"],
            "euler_characteristic": cert["euler_characteristic"],
            "face_counts": cert["face_counts"],
            "vertex_sides": cert["vertex_sides"],
            "cdd_redundancy": cert["cdd_redundancy"],
            **({"independent": cert["independent"]} if "independent" in cert else {}),
            **({"tiles": {**cert["tiles"], "volume_sum_over_tiles":
                          format_rational(cert["tiles"]["volume_sum_over_tiles"])}}
               if "tiles" in cert else {}),
        },
    }
    if "engine" in cert:
        out["engine"] = cert["engine"]
    if rc.domain.embedding is not None:
        emb = rc.domain.embedding
        out["slice"] = {"origin": [format_rational(x) for x in emb.origin],
                        "directions": [[format_rational(x) for x in d] for d in emb.directions]}
    if include_regions:
        out.update(_regions_part(rc))
    return out


class Deferred(Mapping):
    """A read-only mapping made by ``make()`` on its first read and kept: in a lazy document,
    the summary's exact boundary volumes (a sum over every piece: 2.1 of the 2.4 s a lazy
    document's header took on 3-16-16-16-1), which the checker does not read.

    >>> d = Deferred(lambda: {"1": 2})
    >>> d._value is None, d == {"1": 2}, d._value
    (True, True, {'1': 2})
    """

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], Mapping[str, Any]]):
        self._make = make
        self._value: Mapping[str, Any] | None = None

    def _made(self) -> Mapping[str, Any]:
        if self._value is None:
            self._value = self._make()
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self._made()[key]

    def __iter__(self) -> Any:
        return iter(self._made())

    def __len__(self) -> int:
        return len(self._made())


class LazyEntries(Sequence):
    """A read-only list whose i-th entry is made each time it is asked for, never kept: the
    regions and pieces of an in-memory certificate document (``certificate_document(rc,
    lazy=True)``), so that checking a big complex does not hold all of it as strings at once.

    >>> squares = LazyEntries(4, lambda i: {"i": i * i})
    >>> len(squares), squares[3], squares[-1], squares[1:3]
    (4, {'i': 9}, {'i': 9}, [{'i': 1}, {'i': 4}])
    """

    __slots__ = ("_n", "_make")

    def __init__(self, n: int, make: Callable[[int], Any]):
        self._n = n
        self._make = make

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(self._n))]
        j = i + self._n if i < 0 else i
        if not 0 <= j < self._n:
            raise IndexError(f"entry {i} of {self._n}")
        return self._make(j)


@paused_gc()
def certificate_document(rc: "RegionComplex", lazy: bool = False, numbers: str = "text"
                         ) -> dict[str, Any]:
    """The self-contained certificate: the summary plus everything the independent checker
    (:func:`exactregions.exact.checker.certify`) needs — the network embedded exactly, K as
    ``A u <= b``, every region's H-polytope, pattern, witness, volume, vertices and output map,
    the linear regions' members, and every B_N,k piece with its faces and neurons.

    ``lazy=True`` gives the regions and pieces as :class:`LazyEntries` (each entry written when
    read) and the summary's boundary volumes as a :class:`Deferred` mapping: the same document
    for :func:`~exactregions.exact.checker.certify`, in a fraction of the memory and time, but
    not one ``json.dump`` takes: :func:`write_document` writes it (what ``exactregions
    enumerate --regions --json`` does).

    ``numbers="exact"`` puts the complex's own :class:`~fractions.Fraction` values where the
    text document has ``"p/q"`` strings (and a piece's volume as its surd): what the in-process
    independent check reads, which then neither writes nor parses a decimal digit.  It is not
    JSON; the checker reads it as the text document.

    Examples
    --------
    >>> from exactregions.exact.random import random_network
    >>> from exactregions.exact.domain import box
    >>> from exactregions.exact.complex import region_complex
    >>> doc = certificate_document(region_complex(random_network([1, 3, 1], seed=0), box([(-1, 1)])))
    >>> doc["format"], len(doc["regions"]) == doc["activation_regions"]
    ('exactregions-certificate', True)
    """
    from exactregions.exact.checker import CERTIFICATE_FORMAT, CERTIFICATE_VERSION
    from exactregions.exact.netfile import network_to_dict

    if numbers not in ("text", "exact"):
        raise ValueError(f"numbers must be 'text' or 'exact', not {numbers!r}")
    fr: Callable[[Fraction], Any] = format_rational if numbers == "text" else _same
    out = {"format": CERTIFICATE_FORMAT, "version": CERTIFICATE_VERSION}
    out.update(complex_summary(rc, include_regions=False, lazy=lazy))
    out["network"] = network_to_dict(rc.net)
    out["K"] = {"A": [[fr(x) for x in row] for row in rc.domain.A],
                "b": [fr(x) for x in rc.domain.b]}
    out.update(_regions_part(rc, lazy, fr))
    return out


def _same(x: Fraction) -> Fraction:
    return x


def _regions_part(rc: "RegionComplex", lazy: bool, fr: Callable[[Fraction], Any]
                  ) -> dict[str, Any]:
    n = rc.dim
    # a region's vertices are the complex's own vertex tuples: look them up by identity first
    # (hashing tuples of Fractions costs a modular inverse per coordinate), by value otherwise
    by_id = {id(v): i for i, v in enumerate(rc.vertices)}
    by_value: dict | None = None

    def vid(v: tuple) -> int:
        nonlocal by_value
        i = by_id.get(id(v))
        if i is not None and rc.vertices[i] is v:
            return i
        if by_value is None:
            by_value = {w: j for j, w in enumerate(rc.vertices)}
        return by_value[v]

    def region(i: int) -> dict[str, Any]:
        r = rc.activation_regions[i]
        return {"index": r.index, "linear_region": r.linear_region,
                "pattern": [list(p) for p in r.pattern],
                "A": [[fr(x) for x in row] for row in r.A],
                "b": [fr(x) for x in r.b],
                "labels": [[list(lab) for lab in labs] for labs in r.labels],
                "witness": [fr(x) for x in r.witness],
                "volume": fr(r.volume),
                "vertices": [vid(v) for v in r.vertices],
                "output_map": [[fr(x) for x in row] for row in r.output_map]}

    def piece(i: int) -> dict[str, Any]:
        p = rc.pieces[i]
        tops = [f for f in sorted(p.faces) if rc.faces[f].dim == n - p.codim]
        return {"index": p.index, "codim": p.codim, "neurons": [list(z) for z in p.neurons],
                "all_neurons": [list(z) for z in p.all_neurons],
                "volume": str(p.volume) if fr is format_rational else p.volume,
                "volume_squared": fr(p.volume.square()),
                "witness": [fr(x) for x in p.witness],
                "faces": [sorted(rc.faces[f].verts) for f in tops]}

    m, k = len(rc.activation_regions), len(rc.pieces)
    return {"vertices": [[fr(x) for x in v] for v in rc.vertices],
            "regions": LazyEntries(m, region) if lazy else [region(i) for i in range(m)],
            "linear_region_members": [list(lr.members) for lr in rc.linear_regions],
            "pieces": LazyEntries(k, piece) if lazy else [piece(i) for i in range(k)]}


def write_document(doc: Mapping[str, Any], fp: TextIO) -> None:
    """Write a document, lazy or not, as JSON: the top level one key a line (small values
    indented), every entry of a :class:`LazyEntries` or of a list of dicts or lists on a line of
    its own, each entry made, written and dropped in turn — so a lazy certificate is never whole
    in memory (3-16-16-16-1: the ``enumerate --regions --json`` run peaked at 1.11 GB writing
    425 MB this way, at 2.86 GB writing the whole document with one ``json.dumps``).
    ``json.load`` reads the file back as the document with its entries expanded.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> write_document({"n": 2, "regions": LazyEntries(2, lambda i: {"i": i}),
    ...                 "volumes": Deferred(lambda: {"1": "3/2"})}, out)
    >>> json.loads(out.getvalue())
    {'n': 2, 'regions': [{'i': 0}, {'i': 1}], 'volumes': {'1': '3/2'}}
    """
    fp.write("{")
    for i, (key, value) in enumerate(doc.items()):
        fp.write(("," if i else "") + "\n " + json.dumps(key) + ": ")
        if isinstance(value, LazyEntries) or (
                isinstance(value, list) and value and isinstance(value[0], (dict, list))):
            fp.write("[")
            for j in range(len(value)):
                fp.write(("," if j else "") + "\n  " + json.dumps(value[j]))
            fp.write("\n ]" if len(value) else "]")
        else:
            if isinstance(value, Deferred):
                value = dict(value)
            fp.write(json.dumps(value, indent=1).replace("\n", "\n "))
    fp.write("\n}\n")
