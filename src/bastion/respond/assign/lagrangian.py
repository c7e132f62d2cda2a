"""Lagrangian lower bound (weapon capacities relaxed) for instances too large for the MILP.

For prices λ ≥ 0 on weapon shots, L(λ) = Σ_j min_{x_·j ∈ ℕ^W} [V_j Π_i q_ij^x_ij + Σ_i λ_i x_ij]
− Σ_i λ_i cap_i is a lower bound on the optimum (weak duality; it ignores cost terms' being
≥ 0 only in the sense that shot costs are simply added to λ). The per-target minimum is
bounded from below, still validly, by the smallest of

* no shot: V_j;
* exactly one shot, exact: min_i V_j q_ij + λ_i + c_i;
* two or more shots: with r_j = min_i (λ_i + c_i)/a_ij the cheapest price of one unit of
  s = Σ a x, any such choice costs at least max(r_j s, 2 min_i(λ_i + c_i)) in prices, so at
  least min_s V_j e^{−s} + max(r_j s, 2 m_j), which has a closed form.

The one-shot term is what makes this much tighter than the continuous relaxation (measured:
≈6 % below the optimum on 100×100 Ahuja-style instances for the continuous relaxation, 0.1–3 %
for this one). λ is maximised with L-BFGS-B on the (concave, piecewise smooth) dual, started
from the marginal shot values of a good solution.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from bastion.respond.assign.problem import Problem

__all__ = ["lagrangian_bound"]


def _dual(
    lam: NDArray[np.float64], problem: Problem, a: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64]]:
    p, v = problem.p, problem.value
    cap = problem.capacity.astype(float)
    t = v.size
    ar = np.arange(t)
    price = lam + problem.shot_cost  # what one shot of weapon i costs in the relaxed problem
    usable = p > 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rate = np.where(usable, price[:, None] / a, np.inf)
    ir = rate.argmin(axis=0)
    r = rate[ir, ar]
    one = np.where(usable, v * problem.q + price[:, None], np.inf)
    i1 = one.argmin(axis=0)
    g1 = one[i1, ar]
    m = np.where(usable, price[:, None], np.inf).min(axis=0)
    c2 = 2.0 * m
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s_kink = np.where(r > 0.0, c2 / r, np.inf)
        # log V − log r, not log(V / r): for a subnormal r the quotient overflows to inf and
        # the bound would lose its cheapest option (found by the brute-force property test)
        s_free = np.where((r > 0.0) & (v > 0.0), np.log(v) - np.log(r), -np.inf)
        g2 = np.where(
            s_free > s_kink, r * (1.0 + s_free), v * np.exp(-np.minimum(s_kink, 700.0)) + c2
        )
    g2 = np.where(r <= 0.0, 0.0, g2)  # free shots: the target can be driven to 0
    g2 = np.where(np.isfinite(r), g2, np.inf)
    g = np.minimum(np.minimum(v, g1), g2)
    val = float(g.sum() - lam @ cap)
    # A supergradient: shots used by the minimising choices minus capacity.
    grad = -cap
    use1 = (g1 <= g2) & (g1 < v)
    np.add.at(grad, i1[use1], 1.0)
    use2 = (g2 < g1) & (g2 < v) & np.isfinite(r) & (r > 0.0)
    s2 = np.maximum(s_free, s_kink)[use2]
    with np.errstate(over="ignore"):
        np.add.at(grad, ir[use2], s2 / a[ir[use2], ar[use2]])
    return val, grad


class _OutOfTime(Exception):
    pass


def lagrangian_bound(
    problem: Problem,
    a: NDArray[np.float64],
    x: NDArray[np.int64],
    *,
    max_iter: int = 200,
    deadline: float | None = None,
) -> float:
    """A valid lower bound on the optimal objective; ``x`` (a good solution) seeds λ.

    ``deadline`` (perf_counter): stop the ascent there and return the best bound so far
    (every evaluated λ ≥ 0 gives a valid bound). One evaluation costs ≈8 ms at 1,000×1,000.
    """
    if problem.p.size == 0:
        return float(problem.value.sum())
    s = (a * x).sum(axis=0)
    u = problem.value * np.exp(-s)
    lam0 = np.maximum((problem.p * u).max(axis=1) - problem.shot_cost, 0.0)
    t1 = time.perf_counter()
    best = [_dual(lam0, problem, a)[0]]
    last = [time.perf_counter() - t1]  # duration of one evaluation

    def neg(lam: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        t2 = time.perf_counter()
        if deadline is not None and t2 + last[0] >= deadline:
            raise _OutOfTime  # the next evaluation would end after the deadline
        lam = np.maximum(lam, 0.0)
        val, grad = _dual(lam, problem, a)
        best[0] = max(best[0], val)  # L(λ) of a concrete λ ≥ 0: a valid bound
        last[0] = time.perf_counter() - t2
        return -val, -grad

    with contextlib.suppress(_OutOfTime):
        minimize(
            neg,
            lam0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, None)] * lam0.size,
            options={"maxiter": max_iter},
        )
    return best[0]
