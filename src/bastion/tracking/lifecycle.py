"""Track life cycle: M-of-N confirmation, coasting and deletion, on whole arrays.

Each track keeps a hit history as bits of a uint32 (bit 0 = the latest step). A *step* is one
call of ``Tracker.step`` with a time: the caller's scan. A track not updated by any report of
the step has missed it. Counting per step rather than per sensor means a track seen by one
sensor of several is not penalised for the others.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .config import TrackerConfig
from .gating import _grid_pairs
from .tracks import TrackStatus

__all__ = ["advance", "duplicates"]

_TENTATIVE = float(TrackStatus.TENTATIVE)
_CONFIRMED = float(TrackStatus.CONFIRMED)
_COASTING = float(TrackStatus.COASTING)
_KEEP_BITS = (1 << 30) - 1


def advance(
    cfg: TrackerConfig,
    status: NDArray[np.float64],
    history: NDArray[np.float64],
    misses: NDArray[np.float64],
    age_steps: NDArray[np.float64],
    hit: NDArray[np.bool_],
    position_var_m2: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
           NDArray[np.bool_], NDArray[np.bool_]]:
    """One step of the life cycle, on the float columns of the track table.

    ``status`` holds :class:`TrackStatus` codes; ``history`` the hit bits (exact in a float
    for the 30 bits kept); ``hit`` says which tracks were updated during the step;
    ``position_var_m2`` is the largest horizontal position variance. Returns the new
    ``status``, ``history``, ``misses``, ``age_steps``, a ``keep`` mask (False = delete) and a
    ``newly_confirmed`` mask.
    """
    bits = ((history.astype(np.int64) << 1) | hit) & _KEEP_BITS
    misses = np.where(hit, 0.0, misses + 1.0)
    age_steps = age_steps + 1.0
    hits_in_window = np.bitwise_count(bits & ((1 << cfg.confirm_n) - 1))
    tentative = status == _TENTATIVE
    # M of the last N steps, or M + 1 hits in the track's life (its bits, 2N <= 30 steps by
    # default): with 3 of 4, a target seen every other step (at Pd = 0.9 that run comes now
    # and then) never has 3 hits in 4 consecutive steps and would die unconfirmed at 2N steps.
    # Clutter seldom lines up M + 1 times in one gate sequence, so false tracks stay rare.
    newly_confirmed = tentative & ((hits_in_window >= cfg.confirm_m)
                                   | (np.bitwise_count(bits) > cfg.confirm_m))
    still_tentative = tentative ^ newly_confirmed
    status = np.where(still_tentative, _TENTATIVE, np.where(misses > 0.0, _COASTING, _CONFIRMED))
    # A tentative track whose hits come too sparsely would neither confirm nor die (with
    # tentative_max_misses > 2): its life is bounded at 2N steps.
    drop = np.where(
        still_tentative,
        (misses >= cfg.tentative_max_misses) | (age_steps >= 2 * cfg.confirm_n),
        misses >= cfg.confirmed_max_misses,
    )
    drop |= position_var_m2 > cfg.max_position_sigma_m**2
    return status, bits.astype(np.float64), misses, age_steps, ~drop, newly_confirmed


def duplicates(
    x: NDArray[np.float64],
    P: NDArray[np.float64],
    confirmed: NDArray[np.bool_],
    n_updates: NDArray[np.float64],
    chi2_max: float,
    dense_max: int = 300,
) -> NDArray[np.bool_] | None:
    """Rows of confirmed tracks that duplicate another confirmed track (to delete), or None.

    Two tracks whose 6-D states differ by less than ``chi2_max`` in the metric of P₁ + P₂ follow
    the same target: once a target's reports alternate between two tracks, both keep being
    updated often enough to survive, and one of them is a false track for as long as it lives.
    The track with fewer updates (the younger, on a tie the later row) is marked. Ignoring the
    cross-covariance of the two estimates makes P₁ + P₂ an over-estimate, so the test is
    lenient; real targets a few tens of metres apart are far outside it.
    """
    rows = np.flatnonzero(confirmed)
    k = rows.size
    if k < 2:
        return None
    pos = x[rows, :3]
    var = P[rows, 0, 0] + P[rows, 1, 1] + P[rows, 2, 2]
    # A pair can only pass the test if its distance is below sqrt(chi2 * trace(P1 + P2)).
    if k <= dense_max:
        diff = pos[:, None, :] - pos[None, :, :]
        d2 = np.einsum("ijk,ijk->ij", diff, diff)
        close = d2 <= chi2_max * (var[:, None] + var[None, :])
        if np.count_nonzero(close) == k:  # only the diagonal: the common case
            return None
        i, j = np.nonzero(np.triu(close, 1))
    else:
        # d² ≤ chi2 (var_i + var_j) ≤ 2 chi2 max(var_i, var_j): a pair that can pass lies within
        # sqrt(2 chi2 var) of whichever of the two has the larger trace, so a search with each
        # track's own radius finds it (once or twice; keep i < j).
        i, j = _grid_pairs(pos, np.sqrt(2.0 * chi2_max * var), pos)
        i, j = np.minimum(i, j), np.maximum(i, j)
        uniq = np.unique(i[i != j] * k + j[i != j])
        i, j = uniq // k, uniq % k
    if i.size == 0:
        return None
    a, b = rows[i], rows[j]
    d = x[a] - x[b]
    S = P[a] + P[b]
    m2 = np.einsum("ki,ki->k", d, np.linalg.solve(S, d[..., None])[..., 0])
    hit = m2 < chi2_max
    if not hit.any():
        return None
    a, b = a[hit], b[hit]
    # Keep the better-established track of each pair.
    younger = np.where(n_updates[a] < n_updates[b], a, np.where(n_updates[b] < n_updates[a], b,
                                                                np.maximum(a, b)))
    out = np.zeros(x.shape[0], dtype=bool)
    out[younger] = True
    return out
