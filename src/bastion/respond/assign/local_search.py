"""Improvement heuristic: large-neighbourhood search with assignment-optimal re-insertion.

Neighbourhood (an exact special case of the multi-exchange neighbourhoods of Ahuja, Kumar,
Jha & Orlin 2007): remove a set R of shots that sit on *distinct* targets, add every idle
shot slot, and re-insert all of them optimally under the restriction that each target gets at
most one of them. With that restriction the objective change is separable, u'_j p_ij − c_i for
slot i to target j (u' the surviving values after the removal), so the best re-insertion is a
rectangular linear assignment (``scipy.optimize.linear_sum_assignment``) with one zero-cost
"stay idle" column per slot. The old shots are one feasible re-insertion, so a step never
makes the objective worse; moves, swaps and every cyclic or path exchange over distinct
targets are special cases.

:func:`layered_start` builds a starting solution the same way: fire one assignment-optimal
"layer" of shots (each target at most once) at a time until capacity or returns run out.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from bastion.respond.assign.problem import Problem

__all__ = ["layered_start", "lns"]


def _reinsert(
    problem: Problem, u: NDArray[np.float64], slot_w: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], float]:
    """Best one-per-target placement of slots ``slot_w`` given surviving values ``u``.

    Returns (weapon, target) of the placed shots and the objective change they bring.
    """
    n = slot_w.size
    t = u.size
    cost = np.empty((n, t + n))
    np.multiply(problem.p[slot_w], -u, out=cost[:, :t])
    cost[:, :t] += problem.shot_cost[slot_w][:, None]
    cost[:, t:] = 0.0  # idle columns: leaving a slot unused is always allowed
    rows, cols = linear_sum_assignment(cost)
    fire = cols < t
    rows, cols = rows[fire], cols[fire]
    return slot_w[rows], cols, float(cost[rows, cols].sum())


def layered_start(problem: Problem, a: NDArray[np.float64]) -> NDArray[np.int64]:
    """Repeated assignment-optimal layers of at most one shot per target."""
    w, t = problem.p.shape
    x = np.zeros((w, t), dtype=np.int64)
    s = np.zeros(t)
    rem = problem.capacity.copy()
    while rem.sum() > 0:
        slots = np.repeat(np.arange(w), rem)
        u = problem.value * np.exp(-s)
        wi, tj, delta = _reinsert(problem, u, slots)
        if wi.size == 0 or delta >= 0.0:
            break
        np.add.at(x, (wi, tj), 1)
        s[tj] += a[wi, tj]
        rem = problem.capacity - x.sum(axis=1)
    return x


def lns(
    problem: Problem,
    a: NDArray[np.float64],
    x: NDArray[np.int64],
    *,
    deadline: float,
    rng: np.random.Generator,
    max_removed: int = 200,
    patience: int = 30,
) -> NDArray[np.int64]:
    """Improve ``x`` until ``deadline`` (perf_counter) or ``patience`` idle iterations.

    ``max_removed`` caps |R|: the assignment costs grow roughly with |R|²·T, and measured on
    the 300×600 published instances |R| ≈ 200 gave the best objective after one second.
    """
    x = x.copy()
    s = (a * x).sum(axis=0)
    v = problem.value
    c = problem.shot_cost
    obj = float(v @ np.exp(-s)) + float(c @ x.sum(axis=1))
    w = x.shape[0]
    idle_count = 0
    # Tiny problems (the simulator's) have few distinct neighbourhoods: stop sooner.
    patience = min(patience, 4 + int(x.sum()) + int(problem.capacity.sum()))
    last = 0.0  # duration of the previous iteration: do not start one that cannot finish
    while idle_count < patience and time.perf_counter() + last < deadline:
        t_it = time.perf_counter()
        wi, tj = np.nonzero(x)
        cnt = x[wi, tj]
        shot_w = np.repeat(wi, cnt)
        shot_t = np.repeat(tj, cnt)
        # One random shot per engaged target, then a random subset of those.
        perm = rng.permutation(shot_w.size)
        _, first = np.unique(shot_t[perm], return_index=True)
        k = min(first.size, max_removed)
        if idle_count % 2 == 1 and k > 1:
            # Smaller removal sets are not contained in larger ones (kept shots let a
            # re-inserted one double up on a target), so alternate the size once stalled.
            k = int(rng.integers(1, k))
        pick = rng.permutation(perm[first])[:k]
        rw, rt = shot_w[pick], shot_t[pick]
        rem = problem.capacity - x.sum(axis=1)
        slots = np.concatenate([rw, np.repeat(np.arange(w), rem)])
        if slots.size == 0:
            break
        s_new = s.copy()
        s_new[rt] -= a[rw, rt]
        u = v * np.exp(-s_new)
        nw, nt, delta = _reinsert(problem, u, slots)
        new_obj = float(u.sum()) + delta + float(c @ x.sum(axis=1)) - float(c[rw].sum())
        if new_obj < obj - 1e-12 * max(abs(obj), 1.0):
            np.subtract.at(x, (rw, rt), 1)
            np.add.at(x, (nw, nt), 1)
            s_new[nt] += a[nw, nt]
            s = s_new
            obj = new_obj
            idle_count = 0
        else:
            idle_count += 1
        last = time.perf_counter() - t_it
    return x
