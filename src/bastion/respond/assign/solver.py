"""``solve``: validate, dispatch to a method, recompute and package the result."""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from bastion.respond.assign.greedy import greedy
from bastion.respond.assign.lagrangian import lagrangian_bound
from bastion.respond.assign.local_search import layered_start, lns
from bastion.respond.assign.milp import solve_milp
from bastion.respond.assign.problem import Problem, check_shots, evaluate, make_problem
from bastion.respond.assign.result import Assignment

__all__ = ["METHODS", "Method", "solve"]

# Default budgets (s) when time_limit_s is None: the heuristic normally stops earlier, when its
# neighbourhood search stalls; the exact method gets the 120 s the acceptance tests allow.
LOCAL_DEFAULT_S = 1.0
EXACT_DEFAULT_S = 120.0
# auto: the MILP is tried when the instance has at most this many usable (weapon, target)
# pairs; above it HiGHS rarely improves on the heuristic within minutes, and auto spends the
# budget on more local search and the Lagrangian bound instead.
AUTO_MILP_MAX_PAIRS = 20_000

Method = Literal["auto", "greedy", "local", "exact"]
METHODS: tuple[str, ...] = ("auto", "greedy", "local", "exact")


def solve(
    p: ArrayLike,
    value: ArrayLike,
    *,
    capacity: Any = 1,
    feasible: ArrayLike | None = None,
    cost: ArrayLike | None = None,
    cost_weight: float = 0.0,
    time_limit_s: float | None = None,
    method: Method = "auto",
) -> Assignment:
    """Assign shots of W effectors to T threats minimising expected surviving value (+ cost).

    Parameters
    ----------
    p : (W, T) kill/defeat probability of one shot of weapon i at target j, in [0, 1].
    value : (T,) non-negative value of each target.
    capacity : shots per weapon this epoch, a non-negative int or (W,) of them (0: unavailable).
        Several shots of one weapon may go to the same target.
    feasible : (W, T) boolean mask (envelopes, timing, rules of engagement); False ⇒ no shot.
    cost : (W,) non-negative cost per shot, traded against value through ``cost_weight``.
        A shot is only worth taking when it lowers surviving value by more than its weighted
        cost, so weapons may be left idle.
    time_limit_s : wall-time budget (``None``: the method's default).
    method : ``"greedy"`` (maximum marginal return), ``"local"`` (greedy then local search),
        ``"exact"`` (outer-approximation MILP; optimal or with a lower bound), ``"auto"``.

    Raises ``ValueError`` on inconsistent input (shapes, probabilities outside [0, 1], NaN,
    negative values, costs or capacities, unknown method).
    """
    t0 = time.perf_counter()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if time_limit_s is not None and not (
        isinstance(time_limit_s, int | float) and math.isfinite(time_limit_s) and time_limit_s > 0
    ):
        raise ValueError("time_limit_s must be a positive finite number or None")
    problem = make_problem(p, value, capacity, feasible, cost, cost_weight)
    lower: float | None = None
    optimal = False
    used = method
    if problem.p.size == 0:  # no weapon or no target: nothing to decide
        shots = np.zeros(problem.p.shape, dtype=np.int64)
        optimal, used = True, "exact" if method == "exact" else "greedy"
    elif method == "greedy":
        shots = greedy(problem)
    elif method == "local":
        budget = LOCAL_DEFAULT_S if time_limit_s is None else float(time_limit_s)
        shots = _local(problem, t0 + budget)
    elif method == "exact":
        budget = EXACT_DEFAULT_S if time_limit_s is None else float(time_limit_s)
        shots, lower, optimal = _exact(problem, t0, budget)
    else:
        shots, lower, optimal, used = _auto(problem, t0, time_limit_s)
    # Shots on p == 0 pairs (infeasible ones included) change nothing but cost: drop them.
    shots = np.where(problem.p > 0.0, shots, 0)
    check_shots(problem, shots)
    objective, surviving = evaluate(problem, shots)
    if optimal and lower is None:
        lower = objective
    if lower is not None:
        lower = min(lower, objective)
    return Assignment(
        shots=shots,
        objective=objective,
        surviving_value=surviving,
        lower_bound=lower,
        optimal=optimal,
        method=used,
        time_s=time.perf_counter() - t0,
    )


def _rng() -> np.random.Generator:
    # Fixed seed: the same inputs give the same assignment (reproducible simulations).
    return np.random.default_rng(0x5EED)


def _local(problem: Problem, deadline: float) -> np.ndarray:
    """Best of greedy and the layered start, improved by large-neighbourhood search."""
    a = problem.log_q()
    g = greedy(problem)
    if time.perf_counter() >= deadline:
        return g
    # The layered start solves one assignment of all slots × (targets + slots) per layer; the
    # first layer costs ≈3e-10·n²·(T + n) s (measured, scipy) and must fit the budget.
    n = int(problem.capacity.sum())
    est = 3e-10 * n * n * (problem.n_targets + n)  # later layers are far smaller
    if est > 0.5 * (deadline - time.perf_counter()):
        return lns(problem, a, g, deadline=deadline, rng=_rng())
    lay = layered_start(problem, a)
    start = g if evaluate(problem, g)[0] <= evaluate(problem, lay)[0] else lay
    return lns(problem, a, start, deadline=deadline, rng=_rng())


def _exact(problem: Problem, t0: float, budget: float) -> tuple[np.ndarray, float, bool]:
    # A short heuristic start gives the MILP an incumbent and cut points where they matter.
    start = _local(problem, t0 + min(0.1 * budget, 1.0))
    remaining = max(t0 + budget - time.perf_counter(), 0.0)
    res = solve_milp(problem, start, remaining)
    return res.shots, res.lower_bound, res.optimal


def _auto(
    problem: Problem, t0: float, time_limit_s: float | None
) -> tuple[np.ndarray, float | None, bool, str]:
    if time_limit_s is None:
        # Fast path (simulator epochs): local search until it stalls, no bound.
        return _local(problem, t0 + LOCAL_DEFAULT_S), None, False, "local"
    n_pairs = int(np.count_nonzero(problem.p))
    if n_pairs <= AUTO_MILP_MAX_PAIRS and time_limit_s >= 0.05:
        shots, lower, optimal = _exact(problem, t0, time_limit_s)
        return shots, lower, optimal, "exact"
    deadline = t0 + time_limit_s
    # Large: most of the budget to local search, then the Lagrangian bound if time remains.
    shots = _local(problem, t0 + 0.7 * time_limit_s)
    lower: float | None = None
    if time.perf_counter() < deadline:
        lower = lagrangian_bound(problem, problem.log_q(), shots)
    return shots, lower, False, "local"
