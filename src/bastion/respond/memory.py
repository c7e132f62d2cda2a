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

from bastion.assess.identify import TURN_BASELINE_S, manoeuvre_update

__all__ = ["ManoeuvreMemory", "TrackMemory"]


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


class ManoeuvreMemory:
    """Per track id: the velocity and time at the start of its current baseline and the
    running means of ``manoeuvre_update``; ``observe`` returns the (ω̂, ω_n) ``classify``
    takes. A baseline closes at the first epoch ``baseline_s`` or more after it opened."""

    def __init__(self, time_s: float, baseline_s: float = TURN_BASELINE_S) -> None:
        self.time_s, self.baseline_s = time_s, baseline_s
        self.vx, self.vy, self.t = (TrackMemory(np.nan, np.float64) for _ in range(3))
        self.m2, self.n2 = TrackMemory(np.nan, np.float64), TrackMemory(np.nan, np.float64)

    def observe(self, t_s: float, ids: NDArray[np.int64], vel: NDArray[np.float64],
                cov: NDArray[np.float64], update: NDArray[np.bool_]
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Close the baselines due among the rows in ``update`` (n,), open new ones (and a
        first one for new tracks), and return ω̂, ω_n (n,)."""
        m2, n2 = self.m2.get(ids), self.n2.get(ids)
        u = np.flatnonzero(update)
        if u.size:
            iu = ids[u]
            t0 = self.t.get(iu)
            due = np.isnan(t0) | (t_s - t0 >= self.baseline_s - 1e-9)
            u, iu, t0 = u[due], iu[due], t0[due]
        if u.size:
            prev = np.stack([self.vx.get(iu), self.vy.get(iu)], axis=1)
            m2u, n2u, _ = manoeuvre_update(np.nan_to_num(prev), t_s - t0, m2[u], n2[u],
                                           vel[u], cov[u], self.time_s)
            m2[u], n2[u] = m2u, n2u
            self.m2.set(iu, m2u)
            self.n2.set(iu, n2u)
            self.vx.set(iu, vel[u, 0])
            self.vy.set(iu, vel[u, 1])
            self.t.set(iu, np.full(u.size, t_s))
        return np.sqrt(m2), np.sqrt(n2)
