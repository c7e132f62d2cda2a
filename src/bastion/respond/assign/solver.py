"""``solve``: validate, dispatch to a method, recompute and package the result."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from bastion.respond.assign.colgen import colgen, proven
from bastion.respond.assign.greedy import greedy
from bastion.respond.assign.lagrangian import lagrangian_bound
from bastion.respond.assign.local_search import Candidates, layered_start, lns
from bastion.respond.assign.milp import solve_milp
from bastion.respond.assign.problem import Problem, check_shots, evaluate, make_problem
from bastion.respond.assign.result import Assignment

__all__ = ["METHODS", "Method", "solve"]

# Default budgets (s) when time_limit_s is None: the heuristic normally stops earlier, when its
# neighbourhood search stalls; the exact method gets the 120 s the acceptance tests allow.
LOCAL_DEFAULT_S = 1.0
EXACT_DEFAULT_S = 120.0
# auto with a limit: column generation (colgen.py) when its estimated time,
# COLGEN_REF_S · (usable pairs / COLGEN_REF_PAIRS) ** COLGEN_EXPONENT, fits the budget; else
# local search. Measured on one core: 500×500 (μ = 1, 250,000 pairs) proven optimal in 0.6 s,
# the published 300×600 instances in 0.2–1.2 s, 1,000×1,000 in 2.3–3.1 s. Below that time it
# is poor on 1,000×1,000 (0.4–0.6 % above the optimum at 1–3 s: the MIP never starts), where
# local search is at 0.1 % after 1 s; on 300×600×3 it is still at 2.6 % after 0.6 s, local
# search at 13 %.
COLGEN_REF_S = 0.6
COLGEN_REF_PAIRS = 250_000
COLGEN_EXPONENT = 1.25
# After an unproven column generation, the OA MILP takes the rest of the budget on
# instances with at most this many usable pairs (it can prove what the configuration bound
# cannot, e.g. with zero prices); larger ones get local search.
AUTO_MILP_MAX_PAIRS = 10_000
# exact: share of the budget for column generation before the OA MILP takes over.
EXACT_COLGEN_SHARE = 0.5
# auto, large instances, budgets from POLISH_FROM_S: local search for this share of the
# budget, then the reduced MILP (_polish) until the Lagrangian bound's reserve.
POLISH_FROM_S = 10.0
POLISH_LOCAL_SHARE = 0.6
POLISH_WEAPONS_PER_TARGET = 8
MAX_POLISH_ROUNDS = 20
# Timed runs stop this share of the budget early (at most MAX_DEADLINE_MARGIN_S).
DEADLINE_MARGIN = 0.03
MAX_DEADLINE_MARGIN_S = 0.5
# Follow-ups (OA MILP, annealing) after column generation only with at least this much time.
MIN_FOLLOW_UP_S = 0.05

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
        ``"exact"`` (column generation with a reduced-cost MIP, then the outer-approximation
        MILP if unproven; optimal or with a lower bound), ``"auto"`` (no limit: local
        search; with a limit: column generation when the instance fits, else local search).
        ``Assignment.method`` reports what ran: ``"exact"`` when proven optimal,
        ``"colgen"`` for an unproven column-generation result.

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
    if time_limit_s is not None:
        # Solvers aim slightly early: their last step, HiGHS's time checks and the final
        # re-pricing here all run over a little (1 s runs returned after 1.006 s without).
        time_limit_s = float(time_limit_s) - min(
            DEADLINE_MARGIN * float(time_limit_s), MAX_DEADLINE_MARGIN_S
        )
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
        shots = _local(problem, t0 + budget, anneal=time_limit_s is not None)
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


_SEED = 0x5EED


def _rng() -> np.random.Generator:
    # Fixed seed: the same inputs give the same assignment (reproducible simulations).
    return np.random.default_rng(_SEED)


def _local(problem: Problem, deadline: float, *, anneal: bool = False) -> np.ndarray:
    """Best of greedy and the layered start, improved by large-neighbourhood search.

    ``anneal``: keep improving (simulated annealing) until ``deadline`` instead of stopping
    when the descent stalls — for callers that gave an explicit budget.
    """
    a = problem.log_q()
    g = greedy(problem)
    if time.perf_counter() >= deadline:
        return g
    rng = _rng()
    cand = Candidates(problem)
    # The layered start solves one assignment of all slots per layer; with every pair a
    # candidate the first layer costs ≈3e-10·n²·(T + n) s (measured, scipy): use all pairs if
    # that fits a sixth of the budget, the LNS candidates (3–4× faster) if it fits half.
    n = int(problem.capacity.sum())
    est = 3e-10 * n * n * (problem.n_targets + n)  # later layers are far smaller
    left = deadline - time.perf_counter()
    if est <= left / 6:
        lay = layered_start(problem, a)
    elif est <= left / 2:
        lay = layered_start(problem, a, cand)
    else:
        lay = g
    start = g if evaluate(problem, g)[0] <= evaluate(problem, lay)[0] else lay
    # A timed run may take more idle iterations before annealing starts: descent is cheaper.
    patience = 60 if anneal else 30
    return lns(
        problem, a, start, cand, deadline=deadline, rng=rng, patience=patience, anneal=anneal
    )


def _exact(problem: Problem, t0: float, budget: float) -> tuple[np.ndarray, float, bool]:
    """Column generation with the reduced-cost MIP; where that does not prove optimality
    within its share, the outer-approximation MILP from its best assignment."""
    a = problem.log_q()
    res = colgen(problem, a, greedy(problem), t0 + EXACT_COLGEN_SHARE * budget)
    if res.optimal:
        return res.shots, res.objective if res.lower_bound is None else res.lower_bound, True
    remaining = max(t0 + budget - time.perf_counter(), 0.0)
    milp = solve_milp(problem, res.shots, remaining)
    lower = max(milp.lower_bound, -math.inf if res.lower_bound is None else res.lower_bound)
    shots = milp.shots if milp.objective < res.objective else res.shots
    objective = min(milp.objective, res.objective)
    optimal = milp.optimal or proven(objective, lower, problem.value)
    return shots, lower, optimal


def _polish(problem: Problem, shots: np.ndarray, time_s: float) -> np.ndarray:
    """MILP over a reduced pair set, warm-started from ``shots``; never returns worse.

    Pairs: each target's POLISH_WEAPONS_PER_TARGET best weapons by p plus every pair in use.
    Local search stalls in a few attractors whatever the seed or budget (100×200×2: 1.2 %
    above the best known) that HiGHS gets out of on this reduced model (to 0.52 % in 15 s
    with 8 weapons per target, measured; 3 per target found nothing there). Its dual bound
    is only valid for the reduced problem and is discarded.
    """
    if time_s <= 1.0:
        return shots
    p = problem.p
    w, t = p.shape
    k = min(POLISH_WEAPONS_PER_TARGET, w)
    keep = shots > 0
    keep[np.argpartition(p, w - k, axis=0)[w - k :], np.arange(t)] = True
    pr = np.where(keep, p, 0.0)
    reduced = replace(problem, p=pr, q=1.0 - pr)
    res = solve_milp(reduced, shots, time_s)
    if evaluate(problem, res.shots)[0] < evaluate(problem, shots)[0]:
        return res.shots
    return shots


def _auto(
    problem: Problem, t0: float, time_limit_s: float | None
) -> tuple[np.ndarray, float | None, bool, str]:
    if time_limit_s is None:
        # Fast path (simulator epochs): local search until it stalls, no bound.
        return _local(problem, t0 + LOCAL_DEFAULT_S), None, False, "local"
    n_pairs = int(np.count_nonzero(problem.p))
    deadline = t0 + time_limit_s
    if COLGEN_REF_S * (n_pairs / COLGEN_REF_PAIRS) ** COLGEN_EXPONENT <= time_limit_s:
        a = problem.log_q()
        res = colgen(problem, a, greedy(problem), deadline)
        if res.optimal:
            return res.shots, res.lower_bound, True, "exact"
        shots, lower = res.shots, res.lower_bound
        left = deadline - time.perf_counter()
        if left > MIN_FOLLOW_UP_S and n_pairs <= AUTO_MILP_MAX_PAIRS:
            milp = solve_milp(problem, shots, left)
            if milp.objective < evaluate(problem, shots)[0]:
                shots = milp.shots
            lower = max(milp.lower_bound, -math.inf if lower is None else lower)
            objective = evaluate(problem, shots)[0]
            return shots, lower, proven(objective, lower, problem.value), "colgen"
        if left > MIN_FOLLOW_UP_S:
            # Not proven (a window too large for the MIP): anneal from the best assignment.
            shots = lns(
                problem, a, shots, Candidates(problem), deadline=deadline, rng=_rng(),
                anneal=True,
            )  # fmt: skip
        return shots, lower, False, "colgen"
    # Large: local search (annealing), then a MILP over a reduced pair set, then the
    # Lagrangian bound, which takes ≈1 s on 300×600 (a tenth of the budget, at most 5 s).
    bound_at = deadline - min(0.1 * time_limit_s, 5.0)
    if time_limit_s >= POLISH_FROM_S:
        shots = _local(problem, t0 + POLISH_LOCAL_SHARE * time_limit_s, anneal=True)
        # Alternate: the reduced MILP often proves its optimum early and annealing stops
        # early once it stagnates, so time left goes to another round of each from there.
        a = problem.log_q()
        cand = Candidates(problem)
        for rnd in range(1, MAX_POLISH_ROUNDS + 1):
            shots = _polish(problem, shots, bound_at - time.perf_counter())
            if bound_at - time.perf_counter() <= 1.0:
                break
            rng = np.random.default_rng([_SEED, rnd])
            shots = lns(problem, a, shots, cand, deadline=bound_at, rng=rng, anneal=True)
    else:
        shots = _local(problem, bound_at, anneal=True)
    lower: float | None = None
    if time.perf_counter() < deadline:
        lower = lagrangian_bound(problem, problem.log_q(), shots, deadline=deadline)
    return shots, lower, False, "local"
