"""Per-track memory of the decision stage, keyed by track id.

A track id is unique for the life of a tracker (across groups and restarts), so one array
indexed by id serves every group at once: the replications of a lock-step block, or the
one site of a live session.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

__all__ = ["TrackMemory"]


class TrackMemory:
    """One attribute per track id, ``fill`` for ids never set.

    Ids index an array from the smallest id set so far (a tracker hands out consecutive
    ids from its base, which may be any 64-bit number), so a lookup is one compiled pass.
    """

    def __init__(self, fill: float, dtype: type) -> None:
        self.fill = fill
        self.a = np.full(256, fill, dtype)
        self.base = 0  # id of a[0]
        self._empty = True
        self._fill = self.a.dtype.type(fill)  # typed, for the compiled lookup

    def get(self, ids: NDArray[np.int64]) -> NDArray[Any]:
        """Values at ``ids`` (1-d); ``fill`` for ids never set."""
        ids = np.asarray(ids, np.int64)
        return lookup(self.a, ids - self.base if self.base else ids, self._fill)

    def set(self, ids: NDArray[np.int64], values: Any) -> None:
        ids = np.asarray(ids, np.int64)
        if ids.size == 0:
            return
        lo = int(ids.min())
        if self._empty:
            self.base, self._empty = (0 if lo >= 0 and lo < self.a.size else lo), False
        elif lo < self.base:  # an id below the base: grow at the front
            grown = np.full(self.a.size + (self.base - lo), self.fill, self.a.dtype)
            grown[self.base - lo:] = self.a
            self.a, self.base = grown, lo
        top = int(ids.max()) - self.base
        if top >= self.a.size:
            grown = np.full(max(top + 1, 2 * self.a.size), self.fill, self.a.dtype)
            grown[: self.a.size] = self.a
            self.a = grown
        self.a[ids - self.base] = values


@nb.njit(cache=True, error_model="numpy")
def lookup(a, ids, fill):  # pragma: no cover - compiled
    # a handful of lookups of ~800 ids per epoch: one compiled pass instead of five NumPy
    # calls (mask, index, fill) each
    n = a.shape[0]
    out = np.empty(ids.shape[0], a.dtype)
    for i in range(ids.shape[0]):
        k = ids[i]
        out[i] = a[k] if 0 <= k < n else fill
    return out
