"""The paper's §3 experiments end to end: data, training with region tracking, figures."""

from exactregions.experiments.datasets import Dataset, load_dataset, read_idx

__all__ = ["Dataset", "load_dataset", "read_idx"]
