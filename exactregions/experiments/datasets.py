"""MNIST-format data: an IDX reader, Debian's Fashion-MNIST, any MNIST directory, and
scikit-learn's bundled 8×8 digits as the small offline fallback.

Images are returned as float32 in [0, 1], flattened (784 or 64 values), labels as int64.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exactregions.errors import InvalidDomainError

__all__ = ["Dataset", "DatasetError", "read_idx", "load_dataset", "FASHION_MNIST_DIR", "DATASETS"]

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
DATASETS = ("fashion-mnist", "mnist", "digits")
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
          "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


class DatasetError(InvalidDomainError):
    """Missing or corrupt data; the message names what to install or pass."""


@dataclass(frozen=True)
class Dataset:
    """A classification data set (images flattened to rows).

    Attributes
    ----------
    name : str
    x_train, x_test : (N, d) float32 arrays in [0, 1]
    y_train, y_test : (N,) int64 arrays
    shape : tuple
        The image shape (28, 28) or (8, 8).
    source : str
        Where the files came from.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    shape: tuple[int, int]
    source: str

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max()) + 1)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (MNIST's format), gzip-compressed or raw.

    Raises
    ------
    DatasetError
        If the file is missing, truncated or not IDX.

    Examples
    --------
    >>> import tempfile, struct
    >>> p = Path(tempfile.mkdtemp()) / "x-idx1-ubyte"
    >>> _ = p.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, 3) + bytes([7, 8, 9]))
    >>> read_idx(p).tolist()
    [7, 8, 9]
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise DatasetError(f"missing data file {str(p)!r}") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetError(f"cannot read {str(p)!r}: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DatasetError(f"{str(p)!r} is not an IDX file (bad magic number)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DatasetError(f"{str(p)!r} is truncated (header)")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dt = np.dtype(_IDX_TYPES[raw[2]])
    count = int(np.prod(dims)) if dims else 1
    body = raw[4 + 4 * ndim:]
    if len(body) != count * dt.itemsize:
        raise DatasetError(f"{str(p)!r} is truncated or corrupt: {len(body)} bytes of data, the "
                           f"header promises {count * dt.itemsize}")
    return np.frombuffer(body, dtype=dt).reshape(dims)


def _find(data_dir: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (data_dir / name).exists():
            return data_dir / name
    raise DatasetError(f"{stem}[.gz] not found in {str(data_dir)!r}")


def _load_idx_dir(name: str, data_dir: Path) -> Dataset:
    arrays = {k: read_idx(_find(data_dir, v)) for k, v in _FILES.items()}
    xtr, xte = arrays["train_images"], arrays["test_images"]
    ytr, yte = arrays["train_labels"], arrays["test_labels"]
    if xtr.ndim != 3 or xte.ndim != 3 or xtr.shape[1:] != xte.shape[1:]:
        raise DatasetError(f"{name}: image files in {str(data_dir)!r} are not N×H×W of one size")
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        raise DatasetError(f"{name}: image and label counts differ in {str(data_dir)!r}")
    shape = (int(xtr.shape[1]), int(xtr.shape[2]))
    f = lambda x: (x.reshape(len(x), -1).astype(np.float32) / 255.0)  # noqa: E731
    return Dataset(name, f(xtr), ytr.astype(np.int64), f(xte), yte.astype(np.int64), shape,
                   str(data_dir))


def load_dataset(name: str, data_dir: str | os.PathLike[str] | None = None,
                 seed: int = 0) -> Dataset:
    """Load ``fashion-mnist`` (Debian's ``dataset-fashion-mnist`` by default), ``mnist`` (from
    ``data_dir``: MNIST's own four IDX files) or ``digits`` (scikit-learn's bundled 8×8 set,
    split 1500/297 with ``seed``).

    Raises
    ------
    DatasetError
        With what to install or pass when the files are missing or corrupt.
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if name == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise DatasetError("the digits set needs scikit-learn: pip install scikit-learn") from None
        d = load_digits()
        x = (d.data / 16.0).astype(np.float32)
        y = d.target.astype(np.int64)
        perm = np.random.default_rng(seed).permutation(len(x))
        tr, te = perm[:1500], perm[1500:]
        return Dataset("digits", x[tr], y[tr], x[te], y[te], (8, 8), "sklearn.datasets.load_digits")
    if name == "fashion-mnist":
        path = Path(data_dir) if data_dir else Path(FASHION_MNIST_DIR)
        if not path.is_dir():
            raise DatasetError(f"Fashion-MNIST not found at {str(path)!r}: install Debian's "
                               "package (apt-get install dataset-fashion-mnist) or pass "
                               "--data-dir with its four IDX files")
        return _load_idx_dir(name, path)
    if not data_dir:
        raise DatasetError("MNIST is not shipped here: pass --data-dir with train-images-idx3-ubyte"
                           "[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], "
                           "t10k-labels-idx1-ubyte[.gz]")
    path = Path(data_dir)
    if not path.is_dir():
        raise DatasetError(f"--data-dir {str(path)!r} is not a directory")
    return _load_idx_dir(name, path)

