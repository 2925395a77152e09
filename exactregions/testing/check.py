"""Property-based checks of a counter: hypothesis draws nets and domains, the exact core judges,
and a failure is shrunk to a small net and reported with what was missed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import HealthCheck, given, seed as hseed, settings, strategies as st

from exactregions.errors import InvalidOptionError
from exactregions.exact.domain import InvalidDomainError, plane
from exactregions.testing.metamorphic import check_line_metamorphic
from exactregions.testing.oracles import CounterMismatch, assert_line_counts, assert_partition
from exactregions.testing.strategies import activations as activation_strategy
from exactregions.testing.strategies import dyadic_rationals, networks, subtle_networks

ALL_ACTIVATIONS = ("relu", "leaky_relu", "abs", "hardtanh", "pwl")
KNOWN_KINDS = ALL_ACTIVATIONS + ("prelu",)
"""``prelu`` (a per-channel PReLU: a negative slope a neuron) is opt-in: the kit's default nets
have one activation a layer, which every counter of the field handles."""


def _nets(activations: tuple[str, ...], input_dim: st.SearchStrategy[int], max_neurons: int,
          subtle: bool) -> st.SearchStrategy:
    """The kit's nets for these activation kinds (``prelu``: a slope a neuron)."""
    shared = tuple(k for k in activations if k != "prelu")
    parts = []
    if shared:
        parts.append(networks(input_dim=input_dim, weights="dyadic", biases="dyadic",
                              max_neurons=max_neurons, activation=activation_strategy(shared)))
        if subtle:
            parts.append(subtle_networks(input_dim=input_dim, max_neurons=max_neurons,
                                         activation=activation_strategy(shared)))
    if "prelu" in activations:
        parts.append(networks(input_dim=input_dim, weights="dyadic", biases="dyadic",
                              max_neurons=max_neurons, per_neuron_slopes=True))
    return st.one_of(*parts)

__all__ = ["CheckReport", "check_line_counter", "check_slice_counter", "PROFILES", "reproducer"]

PROFILES = {"quick": 30, "thorough": 300}
"""Examples per check for the ``--exactregions-profile`` values."""


@dataclass(frozen=True)
class CheckReport:
    """``passed``; on failure the shrunk ``example`` (a readable description), ``message``, and
    ``reproducer``: a pytest file (the net as exact JSON, the points, the assertion) to paste."""

    passed: bool
    examples: int
    message: str = ""
    example: str = ""
    reproducer: str = ""

    def raise_if_failed(self) -> None:
        if not self.passed:
            raise CounterMismatch(f"{self.message}\nminimal failing example: {self.example}\n"
                                  f"reproduce it:\n{self.reproducer}")


def reproducer(counter: Callable[..., Any], kind: str, net: Any, pts: Any, model: str) -> str:
    """A self-contained pytest file that replays one failing case against the exact oracle.

    >>> from exactregions.exact.constructions import sawtooth_network
    >>> text = reproducer(len, "lines", sawtooth_network(1), [[0], [1]], "numpy")
    >>> "def test_reproduce" in text and "assert_line_counts" in text
    True
    """
    import json

    from exactregions.exact.netfile import network_to_dict
    from exactregions.exact.rational import format_rational
    mod = getattr(counter, "__module__", None) or "my_counters"
    name = getattr(counter, "__qualname__", None) or getattr(counter, "__name__", "counter")
    points = [[format_rational(v) for v in p] for p in pts]
    net_json = json.dumps(network_to_dict(net))
    check = ("assert_line_counts(counter, NET, *POINTS, model=MODEL)" if kind == "lines" else
             "assert_partition(counter, NET, *POINTS, model=MODEL)")
    what = "assert_line_counts" if kind == "lines" else "assert_partition"
    return (f"import json\n\nimport exactregions as er\n"
            f"from exactregions.testing import {what}\n"
            f"from {mod} import {name.split('.')[0]} as counter  # the counter under test\n\n"
            f"NET = er.network_from_dict(json.loads({net_json!r}))\n"
            f"POINTS = [[er.exact_rational(x) for x in p] for p in {points!r}]\n"
            f"MODEL = {model!r}\n\n\n"
            f"def test_reproduce():\n    {check}\n")


def _points(n: int, k: int) -> st.SearchStrategy:
    return st.lists(st.lists(dyadic_rationals(3, 1), min_size=n, max_size=n), min_size=k, max_size=k)


def _describe(net, pts) -> str:
    return (f"net {'-'.join(map(str, net.widths))} "
            f"({', '.join(l.activation_name for l in net.layers[:-1]) or 'linear'}), "
            f"points {[[float(v) for v in p] for p in pts]}, weights "
            f"{[[[str(w) for w in r] for r in l.weight] for l in net.layers]}, biases "
            f"{[[str(b) for b in l.bias] for l in net.layers]}")


SHRINK_BUDGET = 200
"""Test executions allowed after the first failure; then the smallest failure seen is reported
(deterministic for a seed, unlike a time limit)."""


class _StopShrinking(BaseException):
    """Ends hypothesis' shrinking once the budget is spent (a BaseException passes through)."""


class _Tracker:
    """Counts executions after the first failure and keeps the smallest failure seen."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.after = -1
        self.best: tuple[tuple[int, int], str, str] | None = None
        self.example = ""
        self.case: tuple = ()

    def start(self, example: str) -> None:
        if self.after >= 0:
            self.after += 1
            if self.after > self.budget:
                raise _StopShrinking
        self.example = example

    def failed(self, size: int, message: str, case: tuple = ()) -> None:
        self.after = max(self.after, 0)
        key = (size, len(self.example))
        if self.best is None or key < self.best[0]:
            self.best = (key, message, self.example)
            self.case = case


def prune(net):
    """Drop hidden neurons whose outgoing weights are all zero (they cannot matter downstream),
    keeping at least one per layer."""
    from exactregions.exact.network import Layer, Network
    layers = list(net.layers)
    for l in range(len(layers) - 1):
        nxt = layers[l + 1]
        keep = [i for i in range(layers[l].out_dim) if any(row[i] for row in nxt.weight)] or [0]
        cur = layers[l]
        layers[l] = Layer(tuple(cur.weight[i] for i in keep), tuple(cur.bias[i] for i in keep),
                          tuple(cur.activations[i] for i in keep))
        layers[l + 1] = Layer(tuple(tuple(row[i] for i in keep) for row in nxt.weight), nxt.bias,
                              nxt.activation)
    return Network(net.input_dim, tuple(layers), source=net.source)


def _run(test, examples: int, seed: int, tracker: _Tracker, recheck=None,
         replay: Callable[[Any, Any], str] | None = None) -> CheckReport:
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise InvalidOptionError(f"examples must be a whole number at least 1, got {examples!r}")
    budget = tracker.budget
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise InvalidOptionError(f"shrink budget must be a whole number at least 0, got {budget!r}")
    wrapped = settings(max_examples=examples, deadline=None, database=None,
                       suppress_health_check=list(HealthCheck), print_blob=False)(test)
    wrapped = hseed(seed)(wrapped)
    try:
        wrapped()
    except (CounterMismatch, _StopShrinking):
        assert tracker.best is not None
        _, message, example = tracker.best
        if recheck is not None and tracker.case:
            net, pts = tracker.case
            small = prune(net)
            if small.widths != net.widths:
                try:
                    recheck(small, pts)
                except CounterMismatch as exc:
                    message, example = str(exc), _describe(small, pts)
                except Exception as exc:
                    message, example = (f"the counter raised {type(exc).__name__}: {exc}",
                                        _describe(small, pts))
        case = tracker.case
        if recheck is not None and tracker.case:
            net, pts = tracker.case
            small = prune(net)
            if small.widths != net.widths and example == _describe(small, pts):
                case = (small, pts)
        text = replay(*case) if replay is not None and case else ""
        return CheckReport(False, examples, message, example, text)
    return CheckReport(True, examples)


def _size(net) -> int:
    return sum(net.widths[1:]) * 1000 + sum(len(str(w)) for l in net.layers for r in l.weight for w in r)


def _tick(progress: Callable[[int, int], None] | None, examples: int) -> None:
    """One more example tried (shrinking tries count too, so the bar may pass its total)."""
    if progress is not None:
        _tick.n = getattr(_tick, "n", 0) + 1  # type: ignore[attr-defined]
        progress(_tick.n, max(examples, _tick.n))  # type: ignore[attr-defined]


def check_line_counter(counter: Callable[..., Any], model: str = "numpy", examples: int = 30,
                       seed: int = 0, max_neurons: int = 8, metamorphic: bool = True,
                       shrink_budget: int = SHRINK_BUDGET,
                       activations: tuple[str, ...] = ALL_ACTIVATIONS,
                       progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Check ``counter(model, p1, p2)`` on random nets and segments (see
    :mod:`exactregions.testing.oracles` for the protocol).  A failure is shrunk with at most
    ``shrink_budget`` further runs; ``examples`` < 1 or ``shrink_budget`` < 0 raise
    :class:`~exactregions.errors.InvalidOptionError`.

    Examples
    --------
    >>> from exactregions.testing.examples import float_line_counter
    >>> check_line_counter(float_line_counter, examples=5).passed
    True
    """
    tracker = _Tracker(shrink_budget)

    @given(net=_nets(tuple(activations), st.integers(1, 3), max_neurons, subtle=True),
           data=st.data())
    def test(net, data):
        p1, p2 = data.draw(_points(net.input_dim, 2))
        if p1 == p2:
            return
        tracker.start(_describe(net, [p1, p2]))
        _tick(progress, examples)
        try:
            one(net, [p1, p2])
        except CounterMismatch as exc:
            tracker.failed(_size(net), str(exc), (net, [p1, p2]))
            raise
        except Exception as exc:  # the counter itself broke: a failure too, with the example
            msg = f"the counter raised {type(exc).__name__}: {exc}"
            tracker.failed(_size(net), msg, (net, [p1, p2]))
            raise CounterMismatch(msg) from exc

    def one(net, pts):
        assert_line_counts(counter, net, *pts, model=model)
        if metamorphic:
            check_line_metamorphic(counter, net, *pts, model=model, seed=seed)

    return _run(test, examples, seed, tracker, one,
                lambda net, pts: reproducer(counter, "lines", net, pts, model))


def check_slice_counter(counter: Callable[..., Any], model: str = "numpy", examples: int = 30,
                        seed: int = 0, max_neurons: int = 6,
                        shrink_budget: int = SHRINK_BUDGET,
                        activations: tuple[str, ...] = ALL_ACTIVATIONS,
                       progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Check ``counter(model, p1, p2, p3, box)`` on random nets and planes (box [0,1]²); the
    options as in :func:`check_line_counter`."""
    tracker = _Tracker(shrink_budget)

    @given(net=_nets(tuple(activations), st.integers(2, 3), max_neurons, subtle=False),
           data=st.data())
    def test(net, data):
        p1, p2, p3 = data.draw(_points(net.input_dim, 3))
        try:
            plane(p1, p2, p3)
        except InvalidDomainError:
            return
        tracker.start(_describe(net, [p1, p2, p3]))
        _tick(progress, examples)
        try:
            one(net, [p1, p2, p3])
        except CounterMismatch as exc:
            tracker.failed(_size(net), str(exc), (net, [p1, p2, p3]))
            raise
        except Exception as exc:  # the counter itself broke: a failure too, with the example
            msg = f"the counter raised {type(exc).__name__}: {exc}"
            tracker.failed(_size(net), msg, (net, [p1, p2, p3]))
            raise CounterMismatch(msg) from exc

    def one(net, pts):
        assert_partition(counter, net, *pts, model=model)

    return _run(test, examples, seed, tracker, one,
                lambda net, pts: reproducer(counter, "slice", net, pts, model))
