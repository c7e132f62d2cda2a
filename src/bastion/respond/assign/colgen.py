"""Column generation on the configuration formulation, and an exact reduced-cost MIP.

A *configuration* of target j is a multiset C of shots (weapons, repeats allowed up to a
weapon's capacity). The problem is then a set-partitioning-like MIP: pick exactly one
configuration per target (the empty one included), each weapon used at most ``capacity``
times. Its LP relaxation — the *configuration LP* — convexifies every target's nonlinear
survival function, so it is far tighter than the continuous relaxation or the capacity
Lagrangian with a closed-form per-target bound: on the published 300×600×3 instance it is
0.04 % below the optimum, the best published lower bound 0.85 %.

Pricing. For weapon prices π_i = λ_i + c_i (λ_i ≥ 0 the capacity duals, c_i the weighted
shot cost) the priced value of a configuration is F_j(C) = V_j e^{−s(C)} + Σ_{i∈C} π_i,
s(C) = Σ a_ij. Column generation adds configurations with F_j(C) below the target's dual μ_j.
For *any* λ ≥ 0, L(λ) = Σ_j min_C F_j(C) − Σ_i λ_i cap_i is a lower bound on the optimum
(Lagrangian relaxation of the capacities, each target's subproblem solved exactly), so an
exact pricing pass gives a valid bound whatever the state of the LP.

Exact pricing enumerates configurations level by level (one more shot per level), vectorised
over all targets, with two prunings that are exact:

* a weapon i can be in a configuration with F_j(C) < min F_j + Δ only if
  π_i < p_ij · min F_j + Δ (remove one copy of i: the rest is priced ≥ min F_j, and the
  residual value V e^{−s(C)} ≤ F_j(C) − π_i), so weapons priced above that are never tried;
* a partial configuration with residual R and price P, extended by d ≥ 1 shots from
  weapons whose largest a is A and smallest price m, is priced at least
  P + min_d (d m + R e^{−dA}); weapons are visited in decreasing a_ij, so A is the a of
  the next weapon in the list. This one does most of the work: on 300×600×3 an exact pass
  generates ≈200,000 partial configurations (30–50 ms).

Reduced-cost MIP. Any feasible assignment costs at least L(λ) + Σ_j rc_j, with
rc_j = F_j(C_j) − min F_j ≥ 0 the reduced cost of the configuration it uses on j. So an
assignment better than an upper bound U uses only configurations with rc < U − L(λ): the MIP
over *all* of them (plus the incumbent's) is exact. On the published instances there are a
few hundred to a few thousand such configurations and HiGHS solves that MIP at its root.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
from numpy.typing import NDArray

from bastion.respond.assign.problem import A_MAX, Problem, evaluate

__all__ = [
    "ColgenResult",
    "Configs",
    "colgen",
    "config_mip",
    "enumerate_configs",
    "proven",
    "shot_configs",
]

# Relative optimality tolerance (as the OA MILP's).
OPT_TOL = 1e-6
# Restricted pricing: each target's best weapons by first-shot gain V_j p_ij − π_i, and at most
# this many shots per configuration (the published μ = 3 optima use ≤ 2 per target).
PRICE_WEAPONS = 12
PRICE_SHOTS = 3
# New columns per target per pricing round (the best ones by reduced cost).
COLUMNS_PER_ROUND = 1
# Share of the budget for column generation before the MIPs (it usually converges sooner:
# 0.2–0.6 s of a 1 s budget on the published 300×600 instances).
CG_SHARE = 0.6
# Column generation stops once the Lagrangian bound is this close (relative) to the LP value:
# on 300×600×3 the last six exact pricing passes (0.24 s) moved the bound by 1.3e-4.
CG_TOL = 1e-5
# Seed columns per target before the first LP (0: none).
SEED_PRICES = 3
# Exact pricing and reduced-cost enumeration give up (not exact) beyond this many generated
# partial configurations (per (weapon, target) pair, plus a floor), or shots per
# configuration. Exact pricing on 300×600×3 generates ≈200,000. Prices of zero (weapons with
# spare capacity and no shot cost) defeat the bounds; the limit keeps that cheap.
NODES_PER_PAIR = 20
MIN_NODES = 100_000
MAX_SHOTS = 64
# HiGHS does not check its time limit everywhere (presolve took 0.23 s on 11,200
# configurations; with a 0.5 s limit that MIP returned after 0.92 s): a reduced-cost MIP
# only gets as many configurations as the time left allows at MIP_S_PER_COLUMN (it shrinks
# its window otherwise), and no MIP starts without time for its presolve (MIP_SETUP_*). A MIP
# stopped by its limit still returns HiGHS's best (on 250×500×3, 3 % above the optimum after
# 0.1 s, the optimum after 0.3 s).
MIP_S_PER_COLUMN = 1e-4
MIP_SETUP_S = 0.01
MIP_SETUP_S_PER_COLUMN = 2e-5
# Reduced-cost MIPs take at most this many configurations (HiGHS needed 1.5 s at its root
# for 12,900 on 300×600×3, 0.2 s for 4,400).
MAX_MIP_COLUMNS = 20_000
# First reduced-cost window, relative to the bound. Its MIP gives a near-optimal assignment
# U; the window U − L then proves it (measured on 300×600×3: 1,700 then 4,400 columns, 0.3 s
# together; a first window of 1e-3 meant one MIP of 12,900 columns, 1.5 s; 1e-5 kept too
# few columns for a good U, and the window for U − L then exceeded the limits).
FIRST_WINDOW = 1e-4
# When the configurations within a window are too many, it shrinks by this factor.
WINDOW_SHRINK = 4.0
MAX_SHRINKS = 3


@dataclass(frozen=True)
class Configs:
    """A set of configurations: ``weapons[k]`` lists target ``target[k]``'s shots (−1 pads)."""

    target: NDArray[np.int64]
    weapons: NDArray[np.int64]  # (n, L)
    exact: bool = True  # enumerations: False when a limit cut the search short

    @property
    def size(self) -> int:
        return int(self.target.size)


def _concat(parts: list[Configs]) -> Configs:
    width = max((c.weapons.shape[1] for c in parts), default=0)
    tg = [c.target for c in parts]
    wm = [
        np.pad(c.weapons, ((0, 0), (0, width - c.weapons.shape[1])), constant_values=-1)
        for c in parts
    ]
    return Configs(
        np.concatenate(tg) if tg else np.zeros(0, np.int64),
        np.vstack(wm) if wm else np.zeros((0, 0), np.int64),
        all(c.exact for c in parts),
    )


def _log_kill(a: NDArray[np.float64], cfg: Configs) -> NDArray[np.float64]:
    """s(C) = Σ a_ij over each configuration's shots."""
    used = cfg.weapons >= 0
    tj = np.broadcast_to(cfg.target[:, None], cfg.weapons.shape)
    return np.where(used, a[np.where(used, cfg.weapons, 0), tj], 0.0).sum(axis=1)


def _price_sum(price: NDArray[np.float64], cfg: Configs) -> NDArray[np.float64]:
    used = cfg.weapons >= 0
    return np.where(used, price[np.where(used, cfg.weapons, 0)], 0.0).sum(axis=1)


def shot_configs(x: NDArray[np.int64]) -> Configs:
    """The configuration of every target (empty ones included) in shot matrix ``x``."""
    t = x.shape[1]
    tj, wi = np.nonzero(x.T)  # target-major
    cnt = x[wi, tj]
    tj, wi = np.repeat(tj, cnt), np.repeat(wi, cnt)
    per = np.bincount(tj, minlength=t)
    width = int(per.max()) if t else 0
    weapons = np.full((t, width), -1, dtype=np.int64)
    pos = np.arange(tj.size) - np.repeat(np.cumsum(per) - per, per)
    weapons[tj, pos] = wi
    return Configs(np.arange(t, dtype=np.int64), weapons)


def enumerate_configs(
    a: NDArray[np.float64],
    value: NDArray[np.float64],
    price: NDArray[np.float64],
    capacity: NDArray[np.int64],
    theta: NDArray[np.float64],
    allow: NDArray[np.bool_] | NDArray[np.int64],
    *,
    max_shots: int = MAX_SHOTS,
    max_nodes: int = MIN_NODES,
    max_configs: int | None = None,
) -> tuple[Configs, NDArray[np.float64]]:
    """Every non-empty configuration of every target j with F_j(C) < ``theta[j]``.

    Only allowed weapons are used: ``allow`` is a (W, T) mask, or a (T, k) array listing k
    weapons per target (−1: none). Weapon i fires at most ``capacity[i]`` times per
    configuration. Returns the configurations and their priced values F; ``exact`` is False
    when ``max_shots``, ``max_nodes`` or ``max_configs`` (found) stopped the search (the list
    is then partial).
    """
    t = a.shape[1]
    if allow.dtype == np.bool_:
        tt, ww = np.nonzero(allow.T)  # target-major candidate lists
    else:
        tt = np.repeat(np.arange(t), allow.shape[1])
        ww = allow.ravel()
        tt, ww = tt[ww >= 0], ww[ww >= 0]
    ok = capacity[ww] > 0
    tt, ww = tt[ok], ww[ok]
    ca = a[ww, tt]
    # Decreasing a within each target: the largest a of any extension is the next one's.
    order = np.lexsort((-ca, tt))
    ct, cw, ca = tt[order], ww[order], ca[order]
    cq = np.exp(-ca)
    cp = price[cw]
    ccap = capacity[cw]
    starts = np.searchsorted(ct, np.arange(t + 1))
    n = ct.size
    # Smallest price among each list's suffix (dense per-target rows, then a reversed
    # running minimum): the cheapest shot any extension can still add.
    pos = np.arange(n) - starts[ct]
    width = int(np.diff(starts).max()) if t else 0
    dense = np.full((t, max(width, 1)), np.inf)
    dense[ct, pos] = cp
    sufmin = np.minimum.accumulate(dense[:, ::-1], axis=1)[:, ::-1][ct, pos]

    out_t: list[NDArray[np.int64]] = []
    out_w: list[NDArray[np.int64]] = []
    out_f: list[NDArray[np.float64]] = []
    # Live partial configurations: target, first list index an extension may use, index of
    # the last shot and how many times it repeats, residual value R, price P, shots.
    nt = np.arange(t, dtype=np.int64)
    nxt = starts[:-1].copy()
    last = np.full(t, -1, dtype=np.int64)
    run = np.zeros(t, dtype=np.int64)
    res = value.astype(np.float64).copy()
    psum = np.zeros(t)
    shots = np.zeros((t, 0), dtype=np.int64)
    exact = True
    nodes = found = 0
    for level in range(1, max_shots + 2):
        live = nxt < starts[nt + 1]
        nt, nxt, last, run, res, psum, shots = (
            nt[live],
            nxt[live],
            last[live],
            run[live],
            res[live],
            psum[live],
            shots[live],
        )
        if nt.size == 0:
            break
        nxt_c = np.minimum(nxt, n - 1)
        m, big_a = sufmin[nxt_c], ca[nxt_c]
        go = _extension_bound(res, psum, m, big_a) < theta[nt]
        nt, nxt, last, run, res, psum, shots = (
            nt[go],
            nxt[go],
            last[go],
            run[go],
            res[go],
            psum[go],
            shots[go],
        )
        if nt.size == 0:
            break
        if level > max_shots:
            exact = False
            break
        cnt = starts[nt + 1] - nxt
        tot = int(cnt.sum())
        nodes += tot
        if nodes > max_nodes:
            exact = False
            break
        parent = np.repeat(np.arange(nt.size), cnt)
        k = np.repeat(nxt - np.cumsum(cnt) + cnt, cnt) + np.arange(tot)
        tgt = nt[parent]
        run2 = np.where(k == last[parent], run[parent] + 1, 1)
        res2 = res[parent] * cq[k]
        psum2 = psum[parent] + cp[k]
        f = res2 + psum2
        th = theta[tgt]
        shots2 = np.column_stack([shots[parent], cw[k]])
        rec = f < th
        out_t.append(tgt[rec])
        out_w.append(shots2[rec])
        out_f.append(f[rec])
        found += int(rec.sum())
        if max_configs is not None and found > max_configs:
            exact = False
            break
        # Any extension costs at least its price so far (values and prices are ≥ 0).
        keep = psum2 < th
        nt, last, run, res, psum, shots = (
            tgt[keep],
            k[keep],
            run2[keep],
            res2[keep],
            psum2[keep],
            shots2[keep],
        )
        # The same weapon again only while it has capacity left.
        nxt = np.where(run < ccap[last], last, last + 1)
    parts = [Configs(tg, wm) for tg, wm in zip(out_t, out_w, strict=True)]
    cfg = _concat(parts) if parts else Configs(np.zeros(0, np.int64), np.zeros((0, 0), np.int64))
    f_all = np.concatenate(out_f) if out_f else np.zeros(0)
    return Configs(cfg.target, cfg.weapons, exact), f_all


def _extension_bound(
    res: NDArray[np.float64],
    psum: NDArray[np.float64],
    m: NDArray[np.float64],
    big_a: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Lower bound on F of any extension by d ≥ 1 shots: P + min_d (d·m + R·e^{−d·A})."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = res * big_a / m
        dstar = np.where(ratio > 1.0, np.log(ratio) / big_a, 1.0)
        dstar = np.where(m > 0.0, dstar, np.inf)  # free shots: only R·e^{−dA} → 0 is left
        d1 = np.clip(np.floor(dstar), 1.0, 1e9)
        d2 = np.clip(np.ceil(dstar), 1.0, 1e9)
        b1 = d1 * m + res * np.exp(-d1 * big_a)
        b2 = d2 * m + res * np.exp(-d2 * big_a)
    b = np.minimum(b1, b2)
    b = np.where(np.isfinite(dstar), b, 0.0)
    return psum + b


@dataclass
class _Master:
    """Restricted master LP on HiGHS: one row per target (= 1), one per weapon (≤ capacity)."""

    problem: Problem
    a: NDArray[np.float64]
    scale: float
    h: highspy.Highs = field(init=False)
    cols: list[Configs] = field(default_factory=list)
    keys: set[bytes] = field(default_factory=set)

    def __post_init__(self) -> None:
        w, t = self.problem.p.shape
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        empty_i = np.zeros(0, dtype=np.int32)
        inf = highspy.kHighsInf
        h.addRows(t, np.ones(t), np.ones(t), 0, empty_i, empty_i, np.zeros(0))
        cap = self.problem.capacity.astype(float)
        h.addRows(w, np.full(w, -inf), cap, 0, empty_i, empty_i, np.zeros(0))
        # Primal simplex: adding columns keeps the basis primal feasible (measured: LP time
        # 0.42 → 0.32 s over a 300×600×3 column generation, against HiGHS's default choice).
        h.setOptionValue("simplex_strategy", 4)
        self.h = h

    @property
    def n_cols(self) -> int:
        return sum(c.size for c in self.cols)

    def add(self, cfg: Configs) -> int:
        """Add the configurations not yet in the master; returns how many were new."""
        if cfg.size == 0:
            return 0
        w = self.problem.n_weapons
        # Key: target and sorted shots without padding (one configuration, one key).
        srt = np.sort(np.where(cfg.weapons >= 0, cfg.weapons, w), axis=1)
        keyrows = np.column_stack([cfg.target, srt]).astype(np.int64)
        length = 1 + (cfg.weapons >= 0).sum(axis=1)
        new = []
        for k in range(cfg.size):
            key = keyrows[k, : length[k]].tobytes()
            if key not in self.keys:
                self.keys.add(key)
                new.append(k)
        if not new:
            return 0
        sel = np.array(new)
        cfg = Configs(cfg.target[sel], cfg.weapons[sel])
        self.cols.append(cfg)
        starts, index, coef = _column_entries(cfg, self.problem.n_targets)
        cost = _true_cost(self.problem, self.a, cfg) / self.scale
        nn = cfg.size
        self.h.addCols(
            nn, cost, np.zeros(nn), np.full(nn, highspy.kHighsInf), index.size,
            starts, index, coef,
        )  # fmt: skip
        return nn

    def all_columns(self) -> Configs:
        return _concat(self.cols)

    def lp_values(self) -> NDArray[np.float64]:
        """The last LP solution, one value per column in :meth:`all_columns` order."""
        return np.asarray(self.h.getSolution().col_value, dtype=np.float64)

    def solve(
        self, time_limit: float
    ) -> tuple[float, NDArray[np.float64], NDArray[np.float64]] | None:
        """(LP value, target duals μ, weapon prices λ ≥ 0) in the problem's units, or None
        when HiGHS did not reach the LP optimum (time limit, numerical trouble)."""
        # HiGHS compares its limit with the run time accumulated over all runs of the object.
        self.h.setOptionValue("time_limit", self.h.getRunTime() + max(time_limit, 1e-3))
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        t = self.problem.n_targets
        dual = np.asarray(self.h.getSolution().row_dual) * self.scale
        value = float(self.h.getInfo().objective_function_value) * self.scale
        return value, dual[:t], np.maximum(-dual[t:], 0.0)


def _column_entries(
    cfg: Configs, n_targets: int
) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float64]]:
    """CSC entries of configuration columns: the target row, then shot counts per weapon row."""
    n, width = cfg.weapons.shape
    col = np.repeat(np.arange(n), width)
    wv = cfg.weapons.ravel()
    use = wv >= 0
    key = col[use] * (int(wv.max(initial=0)) + 1) + wv[use]
    uk, cnt = np.unique(key, return_counts=True)
    wmax = int(wv.max(initial=0)) + 1
    kcol, kw = uk // wmax, uk % wmax
    # Entries per column: target row first, then its weapons (np.unique sorted them by column).
    rows = np.concatenate([cfg.target, n_targets + kw])
    cols = np.concatenate([np.arange(n), kcol])
    vals = np.concatenate([np.ones(n), cnt.astype(float)])
    order = np.argsort(cols, kind="stable")
    starts = np.searchsorted(cols[order], np.arange(n)).astype(np.int32)
    return starts, rows[order].astype(np.int32), vals[order]


def _true_cost(problem: Problem, a: NDArray[np.float64], cfg: Configs) -> NDArray[np.float64]:
    """V_j e^{−s(C)} + Σ c_i: a configuration's share of the objective (capped-a model)."""
    return problem.value[cfg.target] * np.exp(-_log_kill(a, cfg)) + _price_sum(
        problem.shot_cost, cfg
    )


def config_mip(
    problem: Problem,
    a: NDArray[np.float64],
    cfg: Configs,
    start: NDArray[np.int64],
    time_limit: float,
    scale: float,
) -> tuple[NDArray[np.int64], float, bool]:
    """Best choice of one configuration per target among ``cfg`` and ``start``'s own.

    Returns (shots, dual bound of this MIP, solved to optimality). The start is HiGHS's
    incumbent, so the result is never worse.
    """
    w, t = problem.p.shape
    allc, where = _unique(_concat([cfg, shot_configs(start)]), w)
    start_cols = where[cfg.size : cfg.size + t]
    n = allc.size
    starts, index, coef = _column_entries(allc, t)
    cost = _true_cost(problem, a, allc) / scale
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", OPT_TOL / 10)
    h.setOptionValue("mip_abs_gap", 0.0)
    h.setOptionValue("time_limit", max(time_limit, 1e-3))
    empty_i = np.zeros(0, dtype=np.int32)
    h.addRows(t, np.ones(t), np.ones(t), 0, empty_i, empty_i, np.zeros(0))
    h.addRows(
        w, np.full(w, -highspy.kHighsInf), problem.capacity.astype(float), 0, empty_i, empty_i,
        np.zeros(0),
    )  # fmt: skip
    h.addCols(n, cost, np.zeros(n), np.ones(n), index.size, starts, index, coef)
    h.changeColsIntegrality(
        n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger)
    )
    sol = np.zeros(n)
    sol[start_cols] = 1.0  # the incumbent's configurations
    h.setSolution(n, np.arange(n, dtype=np.int32), sol)
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    bound = float(info.mip_dual_bound) * scale if math.isfinite(info.mip_dual_bound) else -math.inf
    if info.primal_solution_status == 0:
        return start.copy(), bound, False
    y = np.asarray(h.getSolution().col_value) > 0.5
    if abs(float(cost[y].sum()) - float(info.objective_function_value)) > 1e-6 * max(
        1.0, abs(float(info.objective_function_value))
    ):
        # The reported objective is not that of the returned solution: trust neither.
        return start.copy(), -math.inf, False
    chosen = Configs(allc.target[y], allc.weapons[y])
    x = np.zeros((w, t), dtype=np.int64)
    used = chosen.weapons >= 0
    np.add.at(
        x, (chosen.weapons[used], np.broadcast_to(chosen.target[:, None], used.shape)[used]), 1
    )
    if (x.sum(axis=1) > problem.capacity).any() or (
        np.bincount(chosen.target, minlength=t) != 1
    ).any():
        return start.copy(), bound, False  # tolerance trouble: never return an infeasible plan
    return x, bound, status == highspy.HighsModelStatus.kOptimal


def _unique(cfg: Configs, n_weapons: int) -> tuple[Configs, NDArray[np.int64]]:
    """Drop duplicate configurations; also return where each input row ended up.

    Duplicates matter beyond size: HiGHS 1.16 with presolve and a start solution returned a
    wrong solution (the start, with an objective below the true optimum) on a model whose
    start columns duplicated others (measured on 100×200×2).
    """
    srt = np.sort(np.where(cfg.weapons >= 0, cfg.weapons, n_weapons), axis=1)
    keys = np.column_stack([cfg.target, srt])
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    # Keep the first copy of each, in input order.
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    keep = np.sort(first)
    return Configs(cfg.target[keep], cfg.weapons[keep]), rank[inverse.ravel()]


@dataclass(frozen=True)
class ColgenResult:
    shots: NDArray[np.int64]
    objective: float
    lower_bound: float | None
    optimal: bool


def colgen(
    problem: Problem,
    a: NDArray[np.float64],
    start: NDArray[np.int64],
    deadline: float,
    *,
    stats: dict[str, float] | None = None,
) -> ColgenResult:
    """Column generation from the feasible ``start``, then the reduced-cost MIP.

    Stops at ``deadline`` (perf_counter) and returns the best assignment found, with a valid
    lower bound when an exact pricing pass completed. ``stats`` (optional) receives phase
    timings and counts, for the benchmark.
    """
    st: dict[str, float] = stats if stats is not None else {}
    for key in ("lp_solves", "lp_s", "price_s", "exact_s", "window_s", "mip_s", "mips"):
        st[key] = 0.0
    t_begin = time.perf_counter()
    w, t = problem.p.shape
    v = problem.value
    c = problem.shot_cost
    cap = problem.capacity
    usable = (problem.p > 0.0) & (cap > 0)[:, None] & (v > 0.0)[None, :]
    p_model = -np.expm1(-a)  # p of the capped-a model the enumeration prices
    # Costs in units of a hundredth of the largest value or shot cost (HiGHS's tolerances are
    # absolute; the published instances, values 1–100, solve well unscaled).
    top_cost = max(float(v.max(initial=0.0)), float(c.max(initial=0.0)))
    scale = max(top_cost / 100.0, 1e-300) if top_cost > 0.0 else 1.0
    max_nodes = NODES_PER_PAIR * w * t + MIN_NODES
    # Values the capped a cannot remove (p = 1 shots leave V e^{−60}): subtracted from bounds.
    cap_slack = float(v.sum()) * math.exp(-A_MAX)

    best = start.copy()
    best_obj = evaluate(problem, best)[0]
    master = _Master(problem, a, scale)
    master.add(Configs(np.arange(t, dtype=np.int64), np.zeros((t, 0), np.int64)))
    master.add(shot_configs(best))

    lower: float | None = None
    lam_best: NDArray[np.float64] | None = None
    mustar_best: NDArray[np.float64] | None = None
    k_w = min(PRICE_WEAPONS, w)
    k_shots = min(PRICE_SHOTS, int(cap.sum()))
    if SEED_PRICES:
        # Seed columns priced at the start's marginal shot values (a weapon is worth what its
        # best shot would remove from the start's surviving values), so that the first LP
        # already has sensible duals.
        s0 = (a * best).sum(axis=0)
        u0 = v * np.exp(-s0)
        lam0 = np.maximum((problem.p * u0).max(axis=1) - c, 0.0) if t else np.zeros(w)
        pi0 = lam0 + c
        gain0 = np.where(usable, v * problem.p - pi0[:, None], -np.inf)
        top0 = np.argpartition(-gain0, k_w - 1, axis=0)[:k_w].T
        top0 = np.where(np.isfinite(np.take_along_axis(gain0.T, top0, axis=1)), top0, -1)
        # Only configurations priced below the start's own (else the start's is the seed).
        inc = shot_configs(best)
        theta0 = v * np.exp(-_log_kill(a, inc)) + _price_sum(pi0, inc)
        cfg0, f0 = enumerate_configs(
            a, v, pi0, cap, theta0, top0, max_shots=k_shots, max_nodes=max_nodes
        )
        master.add(_best_per_target(cfg0, f0, SEED_PRICES))
    cg_deadline = t_begin + CG_SHARE * max(deadline - t_begin, 0.0)
    while time.perf_counter() < deadline:
        t1 = time.perf_counter()
        lp = master.solve(deadline - t1)
        st["lp_s"] += time.perf_counter() - t1
        if lp is None:
            break
        lp_value, mu, lam = lp
        st["lp_solves"] += 1
        pi = lam + c
        t1 = time.perf_counter()
        # Restricted pricing: each target's best weapons by first-shot gain.
        gain = np.where(usable, v * problem.p - pi[:, None], -np.inf)
        top = np.argpartition(-gain, k_w - 1, axis=0)[:k_w].T
        top = np.where(np.isfinite(np.take_along_axis(gain.T, top, axis=1)), top, -1)
        cfg, f = enumerate_configs(
            a, v, pi, cap, mu - _rc_tol(mu), top, max_shots=k_shots, max_nodes=max_nodes
        )
        added = master.add(_best_per_target(cfg, f, COLUMNS_PER_ROUND))
        st["price_s"] += time.perf_counter() - t1
        # Past its share of the budget, column generation ends with one exact pricing pass
        # (the bound and reduced costs the MIPs need): the MIPs get the rest.
        late = time.perf_counter() >= cg_deadline
        if (added > max(1, t // 100) and not late) or time.perf_counter() >= deadline:
            continue
        # Few or no new columns: exact pricing (cheap now that the prices are good).
        t1 = time.perf_counter()
        mustar, argmin, exact = _exact_min(problem, a, p_model, pi, master, usable, max_nodes)
        if exact:
            bound = float(mustar.sum() - lam @ cap) - cap_slack
            if lower is None or bound > lower:
                lower, lam_best, mustar_best = bound, lam, mustar
            if lp_value - bound <= CG_TOL * abs(lp_value):
                break  # the LP bound is reached to CG_TOL: more columns would not move it
        neg = master.add(_negative(argmin, mustar, mu))
        st["exact_s"] += time.perf_counter() - t1
        if late or (not neg and added == 0):
            break  # out of time, or converged (or exact pricing gave up, finding nothing)
    st["cg_s"] = time.perf_counter() - t_begin
    st["cg_bound"] = -math.inf if lower is None else lower

    def run_mip(cfg: Configs) -> tuple[float, bool]:
        nonlocal best, best_obj
        t1 = time.perf_counter()
        # The first MIP replaces the (poor) start, so it runs with whatever time is left
        # beyond its presolve; later ones only improve or prove, and need their full share.
        need = MIP_S_PER_COLUMN * cfg.size if st["mips"] else MIP_SETUP_S_PER_COLUMN * cfg.size
        if deadline - t1 < MIP_SETUP_S + need:
            return -math.inf, False  # HiGHS would overrun the deadline
        # HiGHS overruns its limit by up to a few tens of ms (measured): aim a bit early.
        limit = 0.95 * (deadline - t1) - MIP_SETUP_S
        x, bound, solved = config_mip(problem, a, cfg, best, limit, scale)
        st["mip_s"] += time.perf_counter() - t1
        st["mips"] += 1
        st["mip_columns"] = float(cfg.size)
        obj = evaluate(problem, x)[0]
        if obj < best_obj:
            best, best_obj = x, obj
        return bound, solved

    def max_columns() -> int:
        left = deadline - time.perf_counter()
        return int(min(MAX_MIP_COLUMNS, max(left, 0.0) / MIP_S_PER_COLUMN))

    def window_columns(window: float) -> Configs | None:
        """Every configuration with reduced cost < ``window`` (None: over the limits)."""
        assert lam_best is not None and mustar_best is not None
        t1 = time.perf_counter()
        pi = lam_best + c
        slack = window * (1 + 1e-9) + 1e-12 * max(float(v.max()), 1.0)
        allow = usable & (pi[:, None] < mustar_best * p_model + slack)
        shot, _ = enumerate_configs(
            a, v, pi, cap, mustar_best + slack, allow,
            max_nodes=max_nodes, max_configs=max_columns(),
        )  # fmt: skip
        st["window_s"] += time.perf_counter() - t1
        if not shot.exact or shot.size > max_columns():
            return None
        idle = np.flatnonzero(v < mustar_best + slack)  # leaving a target alone
        return _concat([shot, Configs(idle, np.zeros((idle.size, 0), np.int64))])

    optimal = False
    if lower is None or lam_best is None or mustar_best is None:
        if time.perf_counter() < deadline:
            # No exact pricing pass: the restricted master MIP over the generated columns.
            run_mip(master.all_columns())
        return ColgenResult(best, best_obj, lower, optimal)
    # Reduced-cost MIPs. First over the configurations within FIRST_WINDOW of the bound,
    # which gives a near-optimal U; then over all those within U − L, which proves it.
    # When the latter are too many, a smaller window (a heuristic MIP) and again from its U.
    # The last LP's support joins the first MIP: when column generation stopped before
    # converging (a short budget), the reduced costs are rough and the window alone may miss
    # the columns of good assignments; the LP's columns are mostly integral (on 300×600×3,
    # 545 of 600 targets).
    cols = master.all_columns()
    y = np.zeros(cols.size)
    lp_y = master.lp_values()[: cols.size]  # columns added after the last solve stay at 0
    y[: lp_y.size] = lp_y
    support: Configs | None = Configs(cols.target[y > 1e-9], cols.weapons[y > 1e-9])
    window = min(best_obj - lower, FIRST_WINDOW * max(abs(lower), 1e-300))
    first = True
    while True:
        if proven(best_obj, lower, v):
            optimal = True
            break
        if max_columns() < t:
            break  # no time left for a MIP over even one configuration per target
        cfg = window_columns(window)
        for _ in range(MAX_SHRINKS):
            if cfg is not None or window <= OPT_TOL * abs(best_obj) or max_columns() < t:
                break
            window /= WINDOW_SHRINK
            cfg = window_columns(window)
        if cfg is None:
            break
        before = best_obj
        if support is not None:
            cfg, support = _concat([cfg, support]), None
        bound, solved = run_mip(cfg)
        if window >= before - lower or best_obj - lower <= window:
            # Every assignment better than best_obj uses only these configurations, so
            # the MIP's bound holds for the whole problem.
            lower = max(lower, min(bound, best_obj))
            optimal = solved and proven(best_obj, lower, v)
            break
        if best_obj >= before and not first:
            break  # a shrunk window found nothing better; the next one would be the same
        first = False
        window = best_obj - lower
    return ColgenResult(best, best_obj, lower, optimal)


def proven(objective: float, lower: float, value: NDArray[np.float64]) -> bool:
    """Objective and bound agree to OPT_TOL (relative), or to 1e-9 of the total value (as the
    OA MILP: for objectives near zero, e.g. only worthless targets left, relative is too
    strict)."""
    return objective - lower <= max(OPT_TOL * abs(objective), 1e-9 * max(float(value.sum()), 1.0))


def _rc_tol(mu: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1e-9 * (1.0 + np.abs(mu))


def _best_per_target(cfg: Configs, f: NDArray[np.float64], k: int) -> Configs:
    """The ``k`` lowest-F configurations of each target."""
    if cfg.size == 0:
        return cfg
    if k == 1:
        order = np.argsort(f, kind="stable")
        _, first = np.unique(cfg.target[order], return_index=True)
        keep = order[first]
        return Configs(cfg.target[keep], cfg.weapons[keep])
    order = np.lexsort((f, cfg.target))
    tg = cfg.target[order]
    first = np.searchsorted(tg, tg)  # index of each target's first entry
    keep = order[np.arange(tg.size) - first < k]
    return Configs(cfg.target[keep], cfg.weapons[keep])


def _negative(argmin: Configs, mustar: NDArray[np.float64], mu: NDArray[np.float64]) -> Configs:
    neg = mustar[argmin.target] < mu[argmin.target] - _rc_tol(mu[argmin.target])
    return Configs(argmin.target[neg], argmin.weapons[neg])


def _exact_min(
    problem: Problem,
    a: NDArray[np.float64],
    p_model: NDArray[np.float64],
    pi: NDArray[np.float64],
    master: _Master,
    usable: NDArray[np.bool_],
    max_nodes: int,
) -> tuple[NDArray[np.float64], Configs, bool]:
    """min_C F_j(C) for every target (exact unless a limit hit) and a minimising config."""
    v = problem.value
    cols = master.all_columns()
    fcols = v[cols.target] * np.exp(-_log_kill(a, cols)) + _price_sum(pi, cols)
    ubar = v.copy()
    np.minimum.at(ubar, cols.target, fcols)
    # A weapon in a minimising configuration has π_i ≤ p_ij · min F_j ≤ p_ij · ubar_j.
    allow = usable & (pi[:, None] <= ubar * p_model * (1 + 1e-12))
    theta = ubar * (1 + 1e-12) + 1e-300
    cfg, f = enumerate_configs(a, v, pi, problem.capacity, theta, allow, max_nodes=max_nodes)
    mustar = v.copy()
    np.minimum.at(mustar, cfg.target, f)
    best = _best_per_target(cfg, f, 1)
    return np.minimum(mustar, ubar), best, cfg.exact
