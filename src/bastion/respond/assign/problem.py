"""Validated weapon–target assignment problem and its objective.

The objective of a shot matrix ``x`` (W, T) of non-negative integers is

    Σ_j V_j Π_i (1 − p_ij)^x_ij  +  cost_weight · Σ_ij cost_i x_ij

subject to Σ_j x_ij ≤ capacity_i and x_ij = 0 where ``feasible`` is False.

Solvers work on the convex form: with a_ij = −ln(1 − p_ij) the surviving value of target j
is V_j exp(−s_j), s_j = Σ_i a_ij x_ij. ``a`` is capped at :data:`A_MAX` so that p = 1 (a
certain kill, a = ∞) stays finite: exp(−A_MAX) ≈ 1e-26 of a target's value is far below any
tolerance used anywhere, and reported objectives are always recomputed from ``p`` itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["A_MAX", "Problem", "evaluate", "make_problem"]

A_MAX = 60.0


@dataclass(frozen=True, eq=False)
class Problem:
    """A checked instance. ``p`` is already zeroed on infeasible pairs."""

    p: NDArray[np.float64]  # (W, T), 0 where infeasible
    q: NDArray[np.float64]  # 1 − p
    value: NDArray[np.float64]  # (T,)
    capacity: NDArray[np.int64]  # (W,)
    shot_cost: NDArray[np.float64]  # (W,) cost_weight · cost_i, zeros when no cost term

    @property
    def n_weapons(self) -> int:
        return int(self.p.shape[0])

    @property
    def n_targets(self) -> int:
        return int(self.p.shape[1])

    @property
    def has_cost(self) -> bool:
        return bool(self.shot_cost.any())

    def log_q(self) -> NDArray[np.float64]:
        """a_ij = −ln(1 − p_ij), capped at A_MAX (p = 1 ⇒ A_MAX)."""
        with np.errstate(divide="ignore"):
            a = -np.log1p(-self.p)
        return np.minimum(a, A_MAX)


def _as_float_array(name: str, x: ArrayLike, ndim: int) -> NDArray[np.float64]:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite entries")
    return arr


def make_problem(
    p: ArrayLike,
    value: ArrayLike,
    capacity: Any = 1,
    feasible: ArrayLike | None = None,
    cost: ArrayLike | None = None,
    cost_weight: float = 0.0,
) -> Problem:
    """Check the inputs of :func:`bastion.respond.assign.solve` and build a :class:`Problem`.

    Raises ``ValueError`` with the offending argument named on any inconsistency.
    """
    pa = _as_float_array("p", p, 2)
    w, t = pa.shape
    if pa.size and (pa.min() < 0.0 or pa.max() > 1.0):
        raise ValueError("p must lie in [0, 1]")
    va = _as_float_array("value", value, 1)
    if va.shape != (t,):
        raise ValueError(f"value has shape {va.shape}, expected ({t},) to match p {pa.shape}")
    if va.size and va.min() < 0.0:
        raise ValueError("value must be non-negative")

    cap = np.asarray(capacity)
    if cap.dtype == np.bool_ or not (
        np.issubdtype(cap.dtype, np.integer) or np.issubdtype(cap.dtype, np.floating)
    ):
        raise ValueError("capacity must be a non-negative integer or an array of them")
    if cap.ndim == 0:
        cap = np.full(w, cap)
    elif cap.shape != (w,):
        raise ValueError(f"capacity has shape {cap.shape}, expected () or ({w},)")
    if cap.size:
        if not np.isfinite(cap).all() or (cap != np.round(cap)).any():
            raise ValueError("capacity must be integer-valued")
        if cap.min() < 0:
            raise ValueError("capacity must be non-negative")
    cap_i = cap.astype(np.int64)

    if feasible is not None:
        fa = np.asarray(feasible)
        if fa.shape != (w, t):
            raise ValueError(f"feasible has shape {fa.shape}, expected {(w, t)}")
        if fa.dtype != np.bool_:
            if not (np.issubdtype(fa.dtype, np.integer) or np.issubdtype(fa.dtype, np.floating)):
                raise ValueError("feasible must be a boolean mask")
            if not np.isin(fa, (0, 1)).all():
                raise ValueError("feasible must be a boolean mask (only 0/1 or True/False)")
            fa = fa.astype(bool)
        pa = np.where(fa, pa, 0.0)

    if not math.isfinite(float(cost_weight)) or float(cost_weight) < 0.0:
        raise ValueError("cost_weight must be finite and non-negative")
    if cost is None:
        sc = np.zeros(w)
    else:
        ca = _as_float_array("cost", cost, 1)
        if ca.shape != (w,):
            raise ValueError(f"cost has shape {ca.shape}, expected ({w},)")
        if ca.size and ca.min() < 0.0:
            raise ValueError("cost must be non-negative")
        sc = float(cost_weight) * ca
    return Problem(p=pa, q=1.0 - pa, value=va, capacity=cap_i, shot_cost=sc)


def evaluate(problem: Problem, shots: NDArray[np.int64]) -> tuple[float, float]:
    """(objective, surviving value) of a shot matrix, computed exactly from p."""
    # q ** 0 == 1 also for q == 0, so untouched targets and certain kills both come out right.
    surv = problem.value * np.prod(problem.q**shots, axis=0)
    surviving = float(surv.sum())
    return surviving + float(problem.shot_cost @ shots.sum(axis=1)), surviving


def check_shots(problem: Problem, shots: NDArray[np.int64]) -> None:
    """Raise if ``shots`` breaks capacity, feasibility or sign (a solver bug, not user error)."""
    if shots.shape != problem.p.shape or (shots < 0).any():
        raise AssertionError("shot matrix has the wrong shape or negative entries")
    if (shots.sum(axis=1) > problem.capacity).any():
        raise AssertionError("shot matrix exceeds a weapon's capacity")
