"""The float path: batched torch kernels on any device, and torch import/export."""

from exactregions.floating.torch_io import (PiecewiseLinear, load_torch_network, network_from_torch,
                                            network_to_torch)

__all__ = ["PiecewiseLinear", "load_torch_network", "network_from_torch", "network_to_torch"]
