"""Exact method: outer-approximation MILP on HiGHS.

Convex form of the problem (see :mod:`.problem`)::

    min  Σ_j z_j + Σ_ij c_i x_ij
    s.t. s_j = Σ_i a_ij x_ij                          (one row per target)
         Σ_j x_ij ≤ capacity_i                        (one row per weapon)
         z_j ≥ V_j e^{−σ} (1 + σ − s_j)   for cut points σ   (tangents of V_j e^{−s})
         x_ij ∈ {0, …, capacity_i},  s_j, z_j ≥ 0

Every tangent under-estimates the convex V_j e^{−s}, so each MILP is a relaxation and its dual
bound is a valid lower bound on the true optimum. Its solution x is feasible for the true
problem, so its recomputed objective is an upper bound. Cuts are added at the s_j of each new
solution and the MILP solved again until the bounds meet (outer approximation, Duran &
Grossmann 1986; the initial cuts on a grid of s make the first relaxation already tight).

The explicit s_j columns keep cuts at two non-zeros each instead of W.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from bastion.respond.assign.problem import A_MAX, Problem, evaluate

__all__ = ["MilpResult", "solve_milp"]

# Relative gap at which a solution is declared optimal. Published bounds agree to ~1e-5.
OPT_TOL = 1e-6
# Cuts are not placed where the tangent's slope V e^{-σ} is below this (HiGHS drops matrix
# entries under 1e-9; such targets contribute < this to the objective anyway).
_MIN_SLOPE = 1e-7


@dataclass(frozen=True)
class MilpResult:
    shots: NDArray[np.int64]
    objective: float
    lower_bound: float
    optimal: bool
    iterations: int


def _tangent_rows(
    vals: NDArray[np.float64], sig: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(slope, rhs) of z + slope·s ≥ rhs for tangents at σ of V e^{−s}."""
    slope = vals * np.exp(-sig)
    return slope, slope * (1.0 + sig)


def solve_milp(
    problem: Problem,
    start: NDArray[np.int64],
    time_limit_s: float,
    *,
    grid_step: float = 0.5,
    threads: int = 1,
) -> MilpResult:
    """Outer-approximation loop from the feasible start ``start``; stops at ``time_limit_s``."""
    t_end = time.perf_counter() + time_limit_s
    p, value, cap = problem.p, problem.value, problem.capacity
    w, t = p.shape
    a = problem.log_q()
    c = problem.shot_cost

    best = start.copy()
    ub, _ = evaluate(problem, best)
    usable = (p > 0.0) & (cap > 0)[:, None] & (value > 0.0)[None, :]
    tgt = np.flatnonzero(usable.any(axis=0))  # targets some shot can reach
    if tgt.size == 0:
        return MilpResult(best, ub, ub, True, 0)  # nothing can be shot at
    # Value of unreachable targets is a constant: it survives whatever we do.
    const = float(value.sum() - value[tgt].sum())
    nt = tgt.size
    tpos = np.full(t, -1)
    tpos[tgt] = np.arange(nt)
    wi, tj = np.nonzero(usable)
    nx = wi.size
    col_s = nx + np.arange(nt)
    col_z = nx + nt + np.arange(nt)
    ncol = nx + 2 * nt
    # Tiny values/costs are rescaled to units of the largest so cut coefficients stay above
    # HiGHS's drop tolerances; bounds are scaled back.
    # Only ever scale up: rescaling normal instances changes HiGHS's path (measured: 50×100×3
    # went from proven in 29 s to unproven in 120 s).
    scale = min(1.0, max(float(value.max()), float(c.max()) if c.size else 0.0, 1e-300))
    vt = value[tgt] / scale
    s_hi = np.zeros(nt)
    np.add.at(s_hi, tpos[tj], a[wi, tj] * cap[wi])

    # Rows: weapon capacity, s definition (s_j − Σ a x = 0), then cuts.
    wrows = np.unique(wi)
    wrow_of = np.full(w, -1)
    wrow_of[wrows] = np.arange(wrows.size)
    nw = wrows.size
    rows = [wrow_of[wi], nw + tpos[tj], nw + np.arange(nt)]
    cols = [np.arange(nx), np.arange(nx), col_s]
    vals = [np.ones(nx), -a[wi, tj], np.ones(nt)]
    row_lo = [np.full(nw, -np.inf), np.zeros(nt)]
    row_hi = [cap[wrows].astype(float), np.zeros(nt)]

    # Initial cuts: σ on a grid from 0 up to where the slope becomes negligible, plus the
    # start's own s_j (so the start is priced exactly).
    s_start = (a * best).sum(axis=0)[tgt]
    cut_t: list[NDArray[np.int64]] = []
    cut_sig: list[NDArray[np.float64]] = []
    for k in range(math.ceil(A_MAX / grid_step) + 1):
        sig = np.full(nt, k * grid_step)
        keep = (sig <= s_hi) & (vt * np.exp(-sig) >= _MIN_SLOPE)
        cut_t.append(np.flatnonzero(keep))
        cut_sig.append(sig[keep])
    cut_t.append(np.arange(nt))
    cut_sig.append(np.minimum(s_start, s_hi))
    ct = np.concatenate(cut_t)
    cs = np.concatenate(cut_sig)
    slope, rhs = _tangent_rows(vt[ct], cs)
    nk = ct.size
    r0 = nw + nt
    rows += [r0 + np.arange(nk), r0 + np.arange(nk)]
    cols += [col_z[ct], col_s[ct]]
    vals += [np.ones(nk), slope]
    row_lo.append(rhs)
    row_hi.append(np.full(nk, np.inf))

    mat = sparse.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(nw + nt + nk, ncol),
    )
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = mat.shape[0]
    lp.col_cost_ = np.concatenate([c[wi] / scale, np.zeros(nt), np.ones(nt)])
    lp.col_lower_ = np.zeros(ncol)
    lp.col_upper_ = np.concatenate([cap[wi].astype(float), s_hi, vt])
    lp.row_lower_ = np.concatenate(row_lo)
    lp.row_upper_ = np.concatenate(row_hi)
    lp.offset_ = const / scale
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * nx + [highspy.HighsVarType.kContinuous] * (
        2 * nt
    )

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    h.setOptionValue("mip_rel_gap", OPT_TOL / 2)
    h.setOptionValue("mip_abs_gap", 0.0)
    h.setOptionValue("random_seed", 0)
    # A cut row may be violated by the feasibility tolerance, which lowers the dual bound by
    # up to that much per target: keep the total under a tenth of the optimality tolerance
    # (HiGHS's default 1e-7 left tiny instances, objective ≈ 0.2, stuck at a 4e-6 gap).
    feas_tol = min(1e-7, max(1e-9, 0.1 * OPT_TOL * ub / scale / nt))
    h.setOptionValue("primal_feasibility_tolerance", feas_tol)
    h.setOptionValue("mip_feasibility_tolerance", feas_tol)
    h.passModel(lp)

    # Absolute slack: below it differences are HiGHS tolerance noise (tiny objectives).
    abs_tol = 1e-9 * max(float(value.sum()), 1.0)
    lb = -math.inf
    it = 0
    while it < 100:  # each round adds cuts; 100 rounds never happen in practice
        remaining = t_end - time.perf_counter()
        if remaining <= 0.01:
            break
        it += 1
        s_best = (a * best).sum(axis=0)[tgt]
        sol = np.concatenate([best[wi, tj].astype(float), s_best, vt * np.exp(-s_best)])
        h.setSolution(ncol, np.arange(ncol, dtype=np.int32), sol)
        # HiGHS compares its limit with the run time accumulated over every run of ``h``:
        # a plain ``remaining`` left later rounds (almost) no time.
        h.setOptionValue("time_limit", h.getRunTime() + remaining)
        h.run()
        info = h.getInfo()
        status = h.getModelStatus()
        if math.isfinite(info.mip_dual_bound):
            lb = max(lb, info.mip_dual_bound * scale)
        if info.primal_solution_status == 0:  # no solution at all (time limit during presolve)
            break
        xv = np.asarray(h.getSolution().col_value)
        x = np.zeros((w, t), dtype=np.int64)
        x[wi, tj] = np.rint(xv[:nx]).astype(np.int64)
        # Rounding may break capacity only by tolerance errors; never return such a matrix.
        if (x.sum(axis=1) <= cap).all():
            obj, _ = evaluate(problem, x)
            if obj < ub:
                ub, best = obj, x
        if (
            ub - lb <= max(OPT_TOL * abs(ub), abs_tol)
            or status != highspy.HighsModelStatus.kOptimal
        ):
            break
        # Add tangents where the MILP under-priced its own solution.
        s_x = (a * x).sum(axis=0)[tgt]
        z_x = xv[col_z]
        true_z = vt * np.exp(-s_x)
        viol = np.flatnonzero((z_x < true_z * (1 - 1e-9)) & (true_z >= _MIN_SLOPE * 1e-3))
        if viol.size == 0:
            # The MILP's optimum is priced exactly, so it is optimal up to HiGHS's own gap.
            lb = max(lb, min(ub, info.mip_dual_bound * scale))
            break
        sl, rh = _tangent_rows(vt[viol], s_x[viol])
        nv = viol.size
        starts = np.arange(0, 2 * nv, 2, dtype=np.int32)
        idx = np.column_stack([col_z[viol], col_s[viol]]).ravel().astype(np.int32)
        coef = np.column_stack([np.ones(nv), sl]).ravel()
        h.addRows(nv, rh, np.full(nv, np.inf), 2 * nv, starts, idx, coef)
    lb = min(lb, ub)
    optimal = ub - lb <= max(OPT_TOL * abs(ub), abs_tol)
    return MilpResult(best, ub, lb, optimal, it)
