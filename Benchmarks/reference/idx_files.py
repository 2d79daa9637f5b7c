"""Reads the gzipped IDX files of MNIST-style datasets (Fashion-MNIST) as numpy arrays —
numpy and gzip only, so every reference script can use it whatever its environment."""
import gzip

import numpy as np


def read_idx(path: str) -> np.ndarray:
    """The uint8 array an IDX file holds, in its shape (images [N, H, W], labels [N])."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
