"""Improvement heuristic: large-neighbourhood search with assignment-based re-insertion.

Neighbourhood (a generalisation of the multi-exchange neighbourhoods of Ahuja, Kumar, Jha &
Orlin 2007): remove a set R of shots, add every idle shot slot, and re-insert all of them with
one rectangular assignment (dense ``linear_sum_assignment`` for small matrices, sparse
LAPJVsp ``min_weight_full_bipartite_matching`` for large ones).

Re-insertion. With u'_j the surviving values after the removal, slot i placed as the only new
shot on target j changes the objective by c_i − u'_j p_ij, exactly. A target may also take a
second re-inserted shot through a *copy* column whose gain is discounted by θ_j, the smallest
survival factor q_ij of any slot weapon on j: the true gain of the k-th new shot on j is
u'_j p_ij Π(q of the earlier ones) ≥ u'_j p_ij θ_j^k, so the assignment never over-states a
placement's gain and one-shot-per-target placements are priced exactly. Copies are what let a
move turn "weapons A and B on target j" into "A twice on j" (μ ≥ 2 optima are full of such
repeated shots). Slots only get columns for their candidate pairs (:class:`Candidates`) and
the target they were removed from, so putting every shot back is always possible. Every move
is re-priced exactly and kept only if it improves (descent) or passes the annealing test, so
the objective reported is always exact.

Removal: either one random shot on each of a random subset of engaged targets, or a random
subset of all shots (several per target possible: needed to undo a repeated shot).

:func:`lns` first descends until ``patience`` consecutive failures (the only phase the
simulator's untimed calls run); with ``anneal=True`` it then spends the rest of the budget in
simulated annealing (Metropolis acceptance, temperature falling linearly from a small
fraction of the objective to zero, half the moves small forced "kicks"), returning the best
solution seen. The deep local optima at μ = 3 need it: on 50×100×3 descent stalls ≈2 % above
the optimum; annealing usually (not on every seed) reaches it within the second.

:func:`layered_start` builds a starting solution: fire one assignment-optimal "layer" of shots
(each target at most once) at a time until capacity or returns run out.
"""

from __future__ import annotations

import math
import time

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from bastion.respond.assign.problem import Problem

__all__ = ["Candidates", "layered_start", "lns", "reinsert"]

# Candidate pairs: each target's best weapons by p, plus each weapon's best targets. On the
# proven 50×100×3 optimum every engaged pair is among its target's 8 best weapons (by p) and
# its weapon's 15 best targets; moves never look outside these pairs (plus the pairs in use).
WEAPONS_PER_TARGET = 10
TARGETS_PER_WEAPON = 4
# Initial annealing temperature as a fraction of the objective (50×100×3: 0.1 %–1 % all
# reached the optimum in one test; on 100×200 0.3 %–3 % differed less than seeds do).
ANNEAL_T0 = 0.003
# One move may use at most this share of the remaining budget (the assignment's cost grows
# roughly with |R|²; big moves find the long exchange chains, small ones are cheap).
MOVE_BUDGET_SHARE = 0.2
# Share of one-shot-per-target removals (the rest remove arbitrary shots).
P_ONE_PER_TARGET = 0.75
# While annealing: share of kick moves and their largest size (see lns).
KICK_SHARE = 0.5
KICK_MAX = 8
# Annealing ends early after this many times ``patience`` moves without a new best.
ANNEAL_PATIENCE = 20
# Dense assignment up to this many cost entries, sparse (LAPJVsp) above: the dense solver is
# faster on small matrices, the sparse one 2–4× faster from ≈100 slots on 300×600.
DENSE_MAX_ENTRIES = 60_000


class Candidates:
    """Static candidate (weapon, target) pairs, stored weapon-major (CSR-like)."""

    def __init__(self, problem: Problem, *, complete: bool = False) -> None:
        p = problem.p
        w, t = p.shape
        mask = np.zeros((w, t), dtype=bool)
        kw = w if complete else min(WEAPONS_PER_TARGET, w)
        kt = t if complete else min(TARGETS_PER_WEAPON, t)
        if kw < w:
            mask[np.argpartition(p, w - kw, axis=0)[w - kw :], np.arange(t)] = True
        else:
            mask[:] = True
        if kt < t:
            mask[np.arange(w)[:, None], np.argpartition(p, t - kt, axis=1)[:, t - kt :]] = True
        # Every pair is a candidate (small problems): re-insertion may skip the edge lists.
        self.complete = bool(mask.all())
        mask &= p > 0.0
        self.mask = mask
        wi, tj = np.nonzero(mask)
        self.target = tj
        self.start = np.searchsorted(wi, np.arange(w + 1))

    def edges(self, slot_w: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(slot index, target) for every candidate pair of every slot's weapon."""
        st = self.start[slot_w]
        ln = self.start[slot_w + 1] - st
        rows = np.repeat(np.arange(slot_w.size), ln)
        first = np.repeat(st - (np.cumsum(ln) - ln), ln)
        return rows, self.target[first + np.arange(rows.size)]


def reinsert(
    problem: Problem,
    u: NDArray[np.float64],
    slot_w: NDArray[np.int64],
    home: NDArray[np.int64],
    cand: Candidates,
    *,
    copies: int = 2,
    refine: bool = True,
    kick: bool = False,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Placement of slots ``slot_w`` (weapon per slot) given surviving values ``u``.

    Slot k may go to its weapon's candidate targets, to ``home[k]`` (where it was removed
    from; −1 for an idle slot) or stay idle. Up to ``copies`` new shots may land on one
    target. Returns (weapon, target) of the placed shots.
    """
    n = slot_w.size
    t = u.size
    if cand.complete and not kick and n * (copies * t + n) <= DENSE_MAX_ENTRIES:
        return _reinsert_small(problem, u, slot_w, copies)
    r, c = cand.edges(slot_w)
    if kick:
        # Forced change: no slot may go back to the target it came from.
        keep = c != home[r]
        r, c = r[keep], c[keep]
    else:
        back = home >= 0
        back[back] &= ~cand.mask[slot_w[back], home[back]]  # not already a candidate
        r = np.concatenate([r, np.flatnonzero(back)])
        c = np.concatenate([c, home[back]])
    wv = slot_w[r]
    gain = problem.p[wv, c] * u[c]
    price = problem.shot_cost[wv]
    rows = [r]
    cols = [c]
    cost = [price - gain]
    if copies > 1:
        # θ_j: smallest survival factor among the slots that can hit j.
        theta = np.ones(t)
        np.minimum.at(theta, c, np.where(gain > 0.0, problem.q[wv, c], 1.0))
        disc = np.ones(c.size)
        for k in range(1, copies):
            disc = disc * theta[c]
            rows.append(r)
            cols.append(k * t + c)
            cost.append(price - gain * disc)
    idle = copies * t
    rows.append(np.arange(n))
    cols.append(idle + np.arange(n))
    cost.append(np.zeros(n))
    ra = np.concatenate(rows)
    ca = np.concatenate(cols)
    wa = np.concatenate(cost)
    # Compact the columns to those that occur (most targets are nobody's candidate here).
    used, ca = np.unique(ca, return_inverse=True)
    best = _assign(n, ra, ca, wa, used.size, used, idle, t, slot_w)
    if copies == 2 and refine:
        # Second pass: price copy 1 of j against the weapon the first pass put on copy 0 of
        # j (the exact discount if that placement stays), and keep the truly better one.
        w0, j0 = best
        th2 = theta.copy()
        order = np.argsort(problem.q[w0, j0], kind="stable")
        _, idx = np.unique(j0[order], return_index=True)
        jj = j0[order][idx]
        th2[jj] = problem.q[w0[order][idx], jj]
        m = c.size
        wa2 = wa.copy()
        wa2[m : 2 * m] = price - gain * th2[c]
        alt = _assign(n, ra, ca, wa2, used.size, used, idle, t, slot_w)
        if _true_gain(problem, u, *alt) > _true_gain(problem, u, *best):
            best = alt
    return best


def _reinsert_small(
    problem: Problem, u: NDArray[np.float64], slot_w: NDArray[np.int64], copies: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """:func:`reinsert` with every target a candidate, as one dense matrix (the simulator's
    sizes: a handful of NumPy calls instead of edge lists; same prices, one pass)."""
    n = slot_w.size
    t = u.size
    pw = problem.p[slot_w]
    gain = pw * u
    c = problem.shot_cost[slot_w][:, None]
    cost = np.zeros((n, copies * t + n))  # trailing n zero columns: "stay idle"
    np.subtract(c, gain, out=cost[:, :t])
    if copies > 1:
        theta = np.where(gain > 0.0, problem.q[slot_w], 1.0).min(axis=0)
        disc = np.ones(t)
        for k in range(1, copies):
            disc = disc * theta
            np.subtract(c, gain * disc, out=cost[:, k * t : (k + 1) * t])
    # No shot on a pair that cannot hit (it would tie with idling at zero cost).
    cost[:, : copies * t][np.tile(pw <= 0.0, copies)] = np.inf
    ri, ci = linear_sum_assignment(cost)
    fire = ci < copies * t
    return slot_w[ri[fire]], ci[fire] % t


def _true_gain(
    problem: Problem, u: NDArray[np.float64], wi: NDArray[np.int64], tj: NDArray[np.int64]
) -> float:
    surv = np.ones(u.size)
    np.multiply.at(surv, tj, problem.q[wi, tj])
    return float(u @ (1.0 - surv)) - float(problem.shot_cost[wi].sum())


def _assign(
    n: int,
    ra: NDArray[np.int64],
    ca: NDArray[np.int64],
    wa: NDArray[np.float64],
    ncol: int,
    used: NDArray[np.int64],
    idle: int,
    t: int,
    slot_w: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    if n * ncol <= DENSE_MAX_ENTRIES:
        dense = np.full((n, ncol), np.inf)
        dense[ra, ca] = wa
        ri, ci = linear_sum_assignment(dense)
    else:
        # LAPJVsp drops explicit zeros and needs one match per row: shift every edge by the
        # same positive constant, which changes every full matching's cost equally.
        shift = 1.0 + float(np.abs(wa).max())
        mat = csr_matrix((wa + shift, (ra, ca)), shape=(n, ncol))
        ri, ci = min_weight_full_bipartite_matching(mat)
    col = used[ci]
    fire = col < idle
    return slot_w[ri[fire]], col[fire] % t


def layered_start(
    problem: Problem, a: NDArray[np.float64], cand: Candidates | None = None
) -> NDArray[np.int64]:
    """Repeated assignment-optimal layers of at most one shot per target.

    ``cand=None``: every pair is a candidate. Preferred when affordable: at μ ≤ 2 the first
    layer is most of the solution, and its optimum uses pairs far down the p-rankings that
    the LNS candidates lack (restricted layers cost 0.4 % on 150×300×2, for a 3–4× speed-up).
    """
    w, t = problem.p.shape
    if cand is None:
        cand = Candidates(problem, complete=True)
    x = np.zeros((w, t), dtype=np.int64)
    s = np.zeros(t)
    rem = problem.capacity.copy()
    while rem.sum() > 0:
        slots = np.repeat(np.arange(w), rem)
        u = problem.value * np.exp(-s)
        wi, tj = reinsert(problem, u, slots, np.full(slots.size, -1), cand, copies=1)
        gain = u[tj] * problem.p[wi, tj] - problem.shot_cost[wi]
        if wi.size == 0 or gain.sum() <= 0.0:
            break
        np.add.at(x, (wi, tj), 1)
        s[tj] += a[wi, tj]
        rem = problem.capacity - x.sum(axis=1)
    return x


def lns(
    problem: Problem,
    a: NDArray[np.float64],
    x: NDArray[np.int64],
    cand: Candidates,
    *,
    deadline: float,
    rng: np.random.Generator,
    patience: int = 30,
    anneal: bool = False,
) -> NDArray[np.int64]:
    """Improve ``x``: descent until ``patience`` idle iterations, then (``anneal``) annealing.

    Stops at ``deadline`` (perf_counter) in any case and returns the best solution seen.
    """
    x = x.copy()
    v = problem.value
    c = problem.shot_cost
    s = (a * x).sum(axis=0)
    fired = x.sum(axis=1)

    def price(s_: NDArray[np.float64], fired_: NDArray[np.int64]) -> float:
        return float(v @ np.exp(-s_)) + float(c @ fired_)

    obj = price(s, fired)
    best, best_x = obj, x.copy()
    w = x.shape[0]
    # Tiny problems (the simulator's) have few distinct neighbourhoods: stop sooner.
    patience = min(patience, 4 + int(x.sum()) + int(problem.capacity.sum()))
    idle_count = 0
    annealing = False
    t_anneal = 0.0
    # Move size cap, adapted to the budget: time per move ≈ rate·|R|², |R| ≤ sqrt(share/rate).
    rate = 0.0
    last = 0.0  # duration of the previous iteration: do not start one that cannot finish
    while time.perf_counter() + last < deadline:
        t_it = time.perf_counter()
        if not annealing and idle_count >= patience:
            if not anneal:
                break
            annealing, t_anneal = True, t_it
        elif annealing and idle_count >= ANNEAL_PATIENCE * patience:
            break  # small problems: the whole neighbourhood has been tried many times over
        wi, tj = np.nonzero(x)
        cnt = x[wi, tj]
        shot_w = np.repeat(wi, cnt)
        shot_t = np.repeat(tj, cnt)
        idle_w = np.repeat(np.arange(w), problem.capacity - fired)
        if shot_w.size + idle_w.size == 0:
            break
        kmax = max(shot_w.size, 1)
        if rate > 0.0:
            left = max(deadline - t_it, 0.0)
            kmax = min(kmax, max(10, int(math.sqrt(MOVE_BUDGET_SHARE * left / rate))))
        # Half the moves at the largest size (long exchange chains), half at a random one.
        kick = annealing and rng.random() < KICK_SHARE
        if kick:
            k = int(rng.integers(1, min(kmax, KICK_MAX) + 1))
        else:
            k = int(rng.integers(1, kmax + 1))
        if rng.random() < P_ONE_PER_TARGET:
            # One random shot on each of k random engaged targets: every move, swap and
            # cyclic or path exchange over those targets is one re-insertion.
            perm = rng.permutation(shot_w.size)
            _, first = np.unique(shot_t[perm], return_index=True)
            pick = rng.permutation(perm[first])[:k]
        else:
            # Any k shots: several may come off one target (undoing a repeated shot).
            pick = rng.permutation(shot_w.size)[:k]
        rw, rt = shot_w[pick], shot_t[pick]
        slots = np.concatenate([rw, idle_w])
        home = np.concatenate([rt, np.full(idle_w.size, -1)])
        s_new = s.copy()
        np.subtract.at(s_new, rt, a[rw, rt])
        # While annealing, half the moves are kicks (no shot may return where it came from):
        # an optimal re-insertion mostly rebuilds the current solution, which gives the
        # Metropolis test nothing to accept.
        nw, nt = reinsert(problem, v * np.exp(-s_new), slots, home, cand, refine=anneal, kick=kick)
        np.add.at(s_new, nt, a[nw, nt])
        fired_new = fired - np.bincount(rw, minlength=w) + np.bincount(nw, minlength=w)
        new_obj = price(s_new, fired_new)
        delta = new_obj - obj
        tol = 1e-12 * max(abs(obj), 1.0)
        accept = delta < -tol
        if annealing and not accept and delta > tol:
            # Metropolis test; the temperature falls linearly to 0 at the deadline.
            frac = (t_it - t_anneal) / max(deadline - t_anneal, 1e-9)
            temp = ANNEAL_T0 * best * (1.0 - frac)
            accept = temp > 0.0 and rng.random() < math.exp(-delta / temp)
        if accept:
            np.subtract.at(x, (rw, rt), 1)
            np.add.at(x, (nw, nt), 1)
            s, fired, obj = s_new, fired_new, new_obj
            if obj < best - tol:
                best, best_x = obj, x.copy()
                idle_count = 0
            elif not annealing:
                idle_count = 0
            else:
                idle_count += 1
        else:
            idle_count += 1
        last = time.perf_counter() - t_it
        # Smoothed, so one slow iteration (a busy machine) does not shrink moves for good.
        r_now = last / max(slots.size, 10) ** 2
        rate = r_now if rate == 0.0 else 0.8 * rate + 0.2 * r_now
    return best_x
