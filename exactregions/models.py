"""Every model a researcher has, as an exact network: the front door of ``exactregions``.

:func:`load_network` takes an exact network file (``.json``), a saved torch module (``.pt``,
``.pth``), a TorchScript file, a ``state_dict`` plus its architecture, an ONNX file (``.onnx``),
an ``nn.Module`` or ONNX ``ModelProto`` object, or a :class:`~exactregions.exact.Network`. Torch
and onnx are imported only when such a model is given. Float weights enter by their exact binary
values (the one door, :func:`~exactregions.exact.exact_rational`). The exact package itself
(``exactregions.exact``) takes exact networks only and refuses modules and tensors.

>>> import exactregions as er
>>> er.load_network("data/demo_2d.json").widths
(2, 16, 16, 16, 1)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from exactregions.errors import FormatError, InvalidOptionError, NotExactError
from exactregions.exact.netfile import load_network as load_network_file
from exactregions.exact.network import Network

__all__ = ["load_network", "region_complex"]

TORCH_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript")


def load_network(source: Any, *, widths: Any = None, activation: Any = "relu",
                 input_shape: tuple[int, ...] | None = None, module: str | None = None) -> Network:
    """Any supported model as an exact :class:`Network`.

    Parameters
    ----------
    source : path, Network, nn.Module, state_dict, onnx.ModelProto
        What to load (see the module docstring).
    widths, activation : optional
        The architecture of a ``state_dict`` (n_in, n_1, …, n_L; the hidden activation).
    input_shape : (C, H, W), optional
        For models with Conv2d/AvgPool2d layers, which are unrolled to dense ones.
    module : "pkg.mod:Class", optional
        Import a custom model class before unpickling a saved module.

    Raises
    ------
    FormatError
        For an unreadable or unknown file, a state_dict without widths, a class that cannot be
        imported.
    NotExactError
        For a tensor or array (it is data, not a network).
    UnsupportedActivationError, InvalidNetworkError
        For layers that are not piecewise linear of this form, or wrong shapes.
    """
    given = [name for name, v in (("widths", widths), ("input_shape", input_shape),
                                  ("module", module)) if v is not None]
    if isinstance(source, Network):
        _refuse_torch_options(given, "a Network")
        return source
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        suffix = p.suffix.lower()
        if suffix == ".onnx":
            _refuse_torch_options(given, f"the ONNX model {p.name!r}")
            from exactregions.onnx_io import load_onnx
            return load_onnx(p)
        if suffix in TORCH_SUFFIXES or (suffix != ".json" and _is_zip(p)):
            from exactregions.floating.torch_io import load_torch_network
            return load_torch_network(p, widths=widths, activation=activation,
                                      input_shape=input_shape, module=module)
        _refuse_torch_options(given, f"the network file {p.name!r}")
        return load_network_file(p)
    kind = type(source).__module__.split(".")[0]
    if kind == "onnx" or type(source).__name__ == "ModelProto":
        _refuse_torch_options(given, "an ONNX model")
        from exactregions.onnx_io import network_from_onnx
        return network_from_onnx(source)
    if hasattr(source, "state_dict") and hasattr(source, "forward"):
        _refuse_torch_options([g for g in given if g != "input_shape"], "a torch module object")
        from exactregions.floating.torch_io import checked_network_from_torch
        return checked_network_from_torch(source, input_shape=input_shape)
    if isinstance(source, dict) and source and all(hasattr(v, "shape") for v in source.values()):
        if widths is None:
            raise FormatError("a state_dict needs its architecture: widths=(n_in, …, n_L) "
                              "[, activation='relu']")
        _refuse_torch_options([g for g in given if g != "widths"], "a state_dict of dense "
                              "layers with widths")
        from exactregions.floating.torch_io import network_from_state_dict
        return network_from_state_dict(source, widths, activation)
    if isinstance(source, dict):
        _refuse_torch_options(given, "a network dict")
        from exactregions.exact.netfile import network_from_dict
        return network_from_dict(source)
    raise NotExactError(f"cannot make a network of a {type(source).__name__}: give a path, an "
                        "nn.Module, a state_dict with widths, an ONNX model or a Network")


def _refuse_torch_options(given: list[str], what: str) -> None:
    """``widths`` (of a state_dict), ``input_shape`` (of Conv2d layers) and ``module`` (to
    unpickle a saved module) given where they would be silently ignored are refused."""
    if given:
        names = " and ".join(n.replace("_", " ") for n in given)
        raise InvalidOptionError(f"{names} would be ignored: {what} carries its own "
                                 "architecture")


def _is_zip(p: Path) -> bool:
    try:
        with open(p, "rb") as fh:
            return fh.read(2) == b"PK"
    except OSError:
        return False


def region_complex(net: Any, domain: Any, progress: Callable[[int, int], None] | None = None,
                   independent_check: bool = True, engine: str = "split",
                   device: str = "cpu") -> Any:
    """:func:`exactregions.exact.region_complex` for any model :func:`load_network` takes (a torch
    module, an ONNX model, a path): the model is converted first, by its exact binary values.

    ``engine="propose"`` lets the batched torch skeleton propose the regions (on ``device``) and
    decides them exactly (:mod:`exactregions.floating.propose`); ``"split"`` (the default here,
    no torch needed) splits cells exactly.  Both give the same certified complex;
    ``rc.certificate["engine"]`` says which computed it.

    >>> import exactregions as er
    >>> rc = er.region_complex("data/sawtooth_4.json", er.box([(0, 1)]))
    >>> len(rc.linear_regions)
    16
    >>> rc = er.region_complex("data/sawtooth_4.json", er.box([(0, 1)]), engine="propose")
    >>> rc.certificate["engine"][:24], len(rc.linear_regions)    # its kinks sit on K's end
    ('split (not generic: a ve', 16)
    """
    from exactregions.exact.complex import region_complex as exact_region_complex
    if engine not in ("propose", "split"):
        raise InvalidOptionError(f"engine {engine!r}: use 'propose' or 'split'")
    if not isinstance(net, Network):
        if hasattr(net, "dtype") and not hasattr(net, "forward"):
            raise NotExactError(f"a {type(net).__name__} is data, not a network")
        net = load_network(net)
    if engine == "propose":
        from exactregions.floating.propose import propose_complex
        return propose_complex(net, domain, device, progress, independent_check)
    rc = exact_region_complex(net, domain, progress, independent_check)
    object.__setattr__(rc, "certificate", {**rc.certificate, "engine": "split"})
    return rc
