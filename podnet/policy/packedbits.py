"""Boolean matrices packed eight to a byte (numpy.packbits order: bit 7 of byte 0 is column 0).

A reachability matrix over classes is kept packed: an eighth of the memory of a bool matrix,
and counting allowed pairs is a popcount rather than a float conversion and a product.
"""

from __future__ import annotations

from typing import cast

import numpy as np

# numpy >= 2 counts bits natively; before that, a table of the 256 byte values does.
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_BLOCK = 4096  # columns unpacked at once by ``column_ids``: bounded memory on any input


def popcount(p: np.ndarray) -> np.ndarray:
    """Set bits of each byte of a uint8 array."""
    count = getattr(np, "bitwise_count", None)
    if count is not None:
        return cast("np.ndarray", count(p))
    table: np.ndarray = _POPCOUNT[p]
    return table


def take_bits(p: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``unpack(p)[np.ix_(rows, cols)]`` as bool, without unpacking whole rows."""
    shift = (7 - (cols & 7)).astype(np.uint8)
    out: np.ndarray = ((p[np.ix_(rows, cols >> 3)] >> shift) & 1).astype(bool)
    return out


def column_ids(p: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct columns of packed ``p`` (``n`` columns): (the number of each
    column, one column of each number)."""
    cols = np.empty((n, (p.shape[0] + 7) // 8), dtype=np.uint8)
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        block = np.unpackbits(p[:, start // 8:(stop + 7) // 8], axis=1)[:, :stop - start]
        cols[start:stop] = np.packbits(block, axis=0).T  # packing down, then a byte transpose
    return row_ids(cols)


def row_ids(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct rows of packed ``p`` in order of first appearance: (the number of
    each row, the first row of each number)."""
    # A dict of the rows' bytes: np.unique(axis=0) sorts void records, ten times slower here.
    seen: dict[bytes, int] = {}
    ids = [seen.setdefault(row.tobytes(), len(seen)) for row in p]
    first = np.zeros(len(seen), dtype=np.int64)
    out = np.array(ids, dtype=np.int64)
    first[out[::-1]] = np.arange(out.size - 1, -1, -1)
    return out, first
