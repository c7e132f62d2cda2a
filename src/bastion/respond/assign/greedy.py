"""Greedy maximum marginal return (MMR).

Repeatedly fire the (weapon, shot) with the largest drop in objective,
u_j · p_ij − c_i (u_j: target j's current expected surviving value, c_i: weighted shot cost),
until no weapon has capacity left or no shot pays for itself. A weapon may fire again at the
same target; its return is then smaller because u_j has already shrunk.

Two implementations with identical results: a full-matrix argmax for small problems (a
handful of NumPy calls per shot, which is what the simulator's per-epoch calls need), and
a per-target best-weapon cache for large ones, where a full argmax per shot would cost
O(W·T) each time: with the cache a shot costs O(W + T).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bastion.respond.assign.problem import Problem

__all__ = ["greedy"]

# Above this many pairs the per-target cache beats one argmax over the whole matrix.
_CACHE_FROM = 4096


def greedy(problem: Problem) -> NDArray[np.int64]:
    """Shot matrix (W, T) chosen by maximum marginal return."""
    if problem.p.size <= _CACHE_FROM:
        return _greedy_small(problem)
    return _greedy_cached(problem)


def _greedy_small(problem: Problem) -> NDArray[np.int64]:
    # Target-major (T, W) layout so that a target's gains are one contiguous row, and p set
    # to −inf on pairs that must not fire (p == 0, infeasible, exhausted weapon): a row's
    # gains are then one multiply, −inf · u = −inf for u > 0 (u == 0 is handled apart).
    pt = problem.p.T
    c = problem.shot_cost
    has_cost = problem.has_cost
    t, w = pt.shape
    shots = np.zeros((t, w), dtype=np.int64)
    rem = problem.capacity.tolist()
    u = problem.value.tolist()
    pm = np.where(pt > 0.0, pt, -np.inf)
    pm[:, problem.capacity <= 0] = -np.inf
    dead_v = problem.value <= 0.0
    if dead_v.any():  # worthless targets: masked after the multiply (−inf · 0 is NaN)
        pm[dead_v] = 1.0
    gain = pm * problem.value[:, None]
    if dead_v.any():
        pm[dead_v] = -np.inf
        gain[dead_v] = -np.inf
    if has_cost:
        gain -= c
    for _ in range(int(problem.capacity.sum())):
        k = int(gain.argmax())
        j, i = divmod(k, w)
        if not gain[j, i] > 0.0:
            break
        shots[j, i] += 1
        uj = u[j] * (1.0 - pt[j, i])
        u[j] = uj
        rem[i] -= 1
        if rem[i] == 0:
            pm[:, i] = -np.inf
            gain[:, i] = -np.inf
        if uj > 0.0:
            np.multiply(pm[j], uj, out=gain[j])
            if has_cost:
                gain[j] -= c
        else:  # a certain kill: nothing more to gain on this target
            pm[j] = -np.inf
            gain[j] = -np.inf
    return shots.T.copy()


def _greedy_cached(problem: Problem) -> NDArray[np.int64]:
    p, q, c = problem.p, problem.q, problem.shot_cost
    w, t = p.shape
    shots = np.zeros((w, t), dtype=np.int64)
    rem = problem.capacity.copy()
    u = problem.value.copy()
    live = (p > 0.0) & (rem > 0)[:, None]
    # Masked gains; rows of exhausted weapons go to −inf and stay there.
    gain = np.where(live, p * u - c[:, None], -np.inf)
    best_w = gain.argmax(axis=0)
    best = gain[best_w, np.arange(t)]
    alive = p[:, 0] > -1.0  # all True; weapons with capacity left
    alive &= rem > 0
    for _ in range(int(rem.sum())):
        j = int(best.argmax())
        if not best[j] > 0.0:
            break
        i = int(best_w[j])
        shots[i, j] += 1
        u[j] *= q[i, j]
        rem[i] -= 1
        if rem[i] == 0:
            alive[i] = False
            gain[i, :] = -np.inf
            stale = np.flatnonzero(best_w == i)
            stale = stale[stale != j]
            if stale.size:
                sub = gain[:, stale]
                bw = sub.argmax(axis=0)
                best_w[stale] = bw
                best[stale] = sub[bw, np.arange(stale.size)]
        col = np.where(live[:, j] & alive, p[:, j] * u[j] - c, -np.inf)
        gain[:, j] = col
        b = int(col.argmax())
        best_w[j] = b
        best[j] = col[b]
    return shots
