"""The network file format, read and written losslessly.

``{"format": "exactregions-network", "version": 1, "input_dim": n,
"layers": [{"weight": [[…]], "bias": […], "activation": A}, …]}``.  ``A`` is one activation
for the layer (a name or an object), a list of one a neuron (sharing breakpoints), or
``{"name": "prelu", "negative_slopes": [...]}``, a per-channel PReLU.  Every number is a JSON
number (meaning that float's exact binary value), an integer, or an exact string ``"-3/7"`` /
``"0.1"``.  We write every number as an exact string, so a round trip is the identity.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from exactregions.errors import (ExactRegionsError, FormatError, InvalidNetworkError,
                                 UnsupportedActivationError)
from exactregions.exact.activation import Activation, activation_from_spec
from exactregions.exact.network import Layer, Network
from exactregions.exact.rational import format_rational

__all__ = ["network_from_dict", "network_to_dict", "load_network", "save_network",
           "atomic_write_text", "activation_spec_of_layer", "layer_activation_spec"]

FORMAT_NAME = "exactregions-network"
FORMAT_VERSION = 1


def network_from_dict(data: Any, source: str = "") -> Network:
    """Build a :class:`Network` from the parsed JSON object.

    Examples
    --------
    >>> net = network_from_dict({"format": "exactregions-network", "version": 1, "input_dim": 1,
    ...     "layers": [{"weight": [[1]], "bias": ["-1/2"], "activation": "relu"}]})
    >>> net.layers[0].bias
    (Fraction(-1, 2),)

    Raises
    ------
    FormatError
        If the object is not an exactregions network of a known version.
    InvalidNetworkError, UnsupportedActivationError
        For wrong shapes, non-finite numbers or a non-PWL activation.
    """
    if not isinstance(data, dict):
        raise FormatError("a network file must hold a JSON object")
    if data.get("format") != FORMAT_NAME:
        raise FormatError(f"'format' must be {FORMAT_NAME!r}, got {data.get('format')!r}")
    if data.get("version") != FORMAT_VERSION:
        raise FormatError(f"unsupported network format version {data.get('version')!r}")
    n = data.get("input_dim")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise InvalidNetworkError(f"'input_dim' must be a positive integer, got {n!r}")
    layers_data = data.get("layers")
    if not isinstance(layers_data, list) or not layers_data:
        raise FormatError("'layers' must be a non-empty list")
    layers = []
    for i, ld in enumerate(layers_data):
        if not isinstance(ld, dict) or not {"weight", "bias"} <= ld.keys():
            raise FormatError(f"layer {i} must be an object with 'weight', 'bias', 'activation'")
        if not isinstance(ld["weight"], list) or not isinstance(ld["bias"], list):
            raise InvalidNetworkError(f"layer {i}: 'weight' and 'bias' must be arrays")
        try:
            act = activation_spec_of_layer(ld.get("activation", "identity"), len(ld["weight"]))
            layers.append(Layer.from_numbers(ld["weight"], ld["bias"], act))
        except InvalidNetworkError as exc:
            raise InvalidNetworkError(f"layer {i}: {exc}") from None
        except TypeError as exc:
            raise InvalidNetworkError(f"layer {i}: malformed weight or bias ({exc})") from None
    return Network(n, tuple(layers), source=source or str(data.get("source", "")))


def network_to_dict(net: Network) -> dict[str, Any]:
    """The JSON object for ``net``, every number as an exact string."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "input_dim": net.input_dim,
        **({"source": net.source} if net.source else {}),
        "layers": [
            {"weight": [[format_rational(w) for w in row] for row in layer.weight],
             "bias": [format_rational(b) for b in layer.bias],
             "activation": layer_activation_spec(layer)}
            for layer in net.layers
        ],
    }


def activation_spec_of_layer(spec: Any, width: int) -> "Activation | tuple[Activation, ...]":
    """A layer's activation from its JSON form: one spec for the layer, a list of one spec per
    neuron, or ``{"name": "prelu", "negative_slopes": [...]}`` (a per-channel PReLU)."""
    if isinstance(spec, list):
        return tuple(activation_from_spec(a) for a in spec)
    if isinstance(spec, dict) and str(spec.get("name", "")).lower() == "prelu":
        slopes = spec.get("negative_slopes")
        if not isinstance(slopes, list) or not slopes:
            raise UnsupportedActivationError("a prelu activation needs 'negative_slopes', a "
                                             "non-empty list (one slope, or one a neuron)")
        if len(slopes) == 1:
            return Activation.leaky_relu(slopes[0])
        if len(slopes) != width:
            raise InvalidNetworkError(f"prelu has {len(slopes)} negative slopes for {width} "
                                      "neurons")
        return tuple(Activation.leaky_relu(a) for a in slopes)
    return activation_from_spec(spec)


def layer_activation_spec(layer: Layer) -> Any:
    """The JSON form of a layer's activation (inverse of :func:`_layer_activation`)."""
    if not layer.per_neuron:
        return layer.activation.to_spec()
    acts = layer.activations
    if all(a.name == "leaky_relu" for a in acts):
        return {"name": "prelu", "negative_slopes": [format_rational(a.slopes[0]) for a in acts]}
    return [a.to_spec() for a in acts]


def _reject_constant(name: str) -> float:
    raise InvalidNetworkError(f"non-finite number {name} in the network file")


def load_network(path: str | os.PathLike[str]) -> Network:
    """Read a network file.

    Raises
    ------
    FormatError
        If the file is missing, binary (a saved torch model, say) or not valid JSON.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read network file {str(p)!r}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        hint = (" (a saved torch model: import it with `exactregions net import` or "
                "exactregions.floating.torch_io.load_torch_network)"
                if raw[:2] == b"PK" or p.suffix in (".pt", ".pth") else "")
        raise FormatError(f"{p}: not a JSON network file (binary data){hint}") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{p}: malformed JSON ({exc.msg} at line {exc.lineno} "
                          f"column {exc.colno})") from None
    return network_from_dict(data, source=str(p))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half a file."""
    p = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=p.parent if str(p.parent) else ".", prefix=f".{p.name}.")
    except OSError as exc:
        raise ExactRegionsError(f"cannot write {str(p)!r}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        umask = os.umask(0)   # mkstemp makes 0600 files: give the user's usual permissions
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_network(net: Network, path: str | os.PathLike[str]) -> None:
    """Write ``net`` losslessly (exact strings)."""
    atomic_write_text(path, json.dumps(network_to_dict(net), indent=1) + "\n")
