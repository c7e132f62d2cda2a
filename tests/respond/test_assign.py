"""Behaviour of bastion.respond.assign: optimality against brute force, bounds, validation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.respond.assign import Assignment, solve
from bastion.respond.assign.lagrangian import lagrangian_bound
from bastion.respond.assign.problem import make_problem


def _rows(t: int, cap: int) -> list[tuple[int, ...]]:
    return [r for r in itertools.product(range(cap + 1), repeat=t) if sum(r) <= cap]


def brute_force(p, value, capacity, feasible=None, cost=None, cost_weight=0.0) -> float:
    p = np.asarray(p, float)
    w, t = p.shape
    cap = np.broadcast_to(np.asarray(capacity), (w,))
    feas = np.ones((w, t), bool) if feasible is None else np.asarray(feasible, bool)
    c = np.zeros(w) if cost is None else cost_weight * np.asarray(cost, float)
    options = [
        [r for r in _rows(t, int(cap[i])) if all(feas[i, j] or r[j] == 0 for j in range(t))]
        for i in range(w)
    ]
    best = np.inf
    for combo in itertools.product(*options):
        x = np.array(combo, dtype=float).reshape(w, t)
        obj = float(value @ np.prod((1.0 - p) ** x, axis=0) + c @ x.sum(axis=1))
        best = min(best, obj)
    return best


@st.composite
def tiny_instances(draw):
    w = draw(st.integers(1, 3))
    t = draw(st.integers(1, 3))
    prob = st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0.0, 1.0))
    p = np.array(draw(st.lists(prob, min_size=w * t, max_size=w * t))).reshape(w, t)
    value = np.array(draw(st.lists(st.floats(0.0, 100.0), min_size=t, max_size=t)))
    capacity = np.array(draw(st.lists(st.integers(0, 2), min_size=w, max_size=w)))
    feasible = np.array(draw(st.lists(st.booleans(), min_size=w * t, max_size=w * t)))
    feasible = feasible.reshape(w, t)
    with_cost = draw(st.booleans())
    cost = np.array(draw(st.lists(st.floats(0.0, 20.0), min_size=w, max_size=w)))
    return p, value, capacity, feasible, (cost if with_cost else None), (1.0 if with_cost else 0.0)


def _check_feasible(a: Assignment, p, capacity, feasible) -> None:
    assert a.shots.shape == p.shape
    assert (a.shots >= 0).all()
    assert (a.shots.sum(axis=1) <= np.broadcast_to(capacity, (p.shape[0],))).all()
    assert not a.shots[~np.asarray(feasible, bool)].any()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_instances())
def test_exact_matches_brute_force(inst):
    p, value, capacity, feasible, cost, cw = inst
    opt = brute_force(p, value, capacity, feasible, cost, cw)
    kw = dict(capacity=capacity, feasible=feasible, cost=cost, cost_weight=cw)
    ex = solve(p, value, method="exact", time_limit_s=30, **kw)
    tol = 1e-6 * max(1.0, opt)
    assert ex.optimal
    assert ex.objective == pytest.approx(opt, rel=1e-6, abs=1e-9)
    assert ex.lower_bound is not None and ex.lower_bound <= opt + tol
    _check_feasible(ex, p, capacity, feasible)
    for method in ("greedy", "local", "auto"):
        h = solve(p, value, method=method, **kw)
        _check_feasible(h, p, capacity, feasible)
        assert h.objective >= opt - tol
        recomputed = float(value @ np.prod((1.0 - p) ** h.shots, axis=0))
        assert h.surviving_value == pytest.approx(recomputed, rel=1e-12, abs=1e-12)
    problem = make_problem(p, value, capacity, feasible, cost, cw)
    assert lagrangian_bound(problem, problem.log_q(), ex.shots) <= opt + tol


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_local_search_never_worse_than_greedy(seed):
    rng = np.random.default_rng(seed)
    w, t = rng.integers(2, 12), rng.integers(2, 30)
    p = rng.uniform(0.0, 1.0, (w, t))
    value = rng.uniform(1.0, 100.0, t)
    cap = rng.integers(0, 4, w)
    g = solve(p, value, capacity=cap, method="greedy")
    loc = solve(p, value, capacity=cap, method="local")
    assert loc.objective <= g.objective * (1 + 1e-12)


def test_exact_random_ahuja_instance_bounds_bracket_heuristics():
    rng = np.random.default_rng(7)
    p = rng.uniform(0.6, 0.9, (12, 12))
    value = rng.uniform(25, 100, 12)
    ex = solve(p, value, method="exact", time_limit_s=60)
    assert ex.optimal and ex.method == "exact"
    assert ex.lower_bound is not None and ex.lower_bound <= ex.objective
    for method in ("greedy", "local"):
        assert solve(p, value, method=method).objective >= ex.lower_bound * (1 - 1e-9)
    problem = make_problem(p, value)
    assert lagrangian_bound(problem, problem.log_q(), ex.shots) <= ex.objective * (1 + 1e-9)


def test_certain_kill_and_zero_probability():
    p = np.array([[1.0, 0.0], [0.0, 0.0]])
    a = solve(p, [5.0, 7.0], method="greedy")
    assert a.shots.tolist() == [[1, 0], [0, 0]]  # the p = 0 weapon stays idle
    assert a.surviving_value == pytest.approx(7.0)
    for method in ("local", "exact", "auto"):
        b = solve(p, [5.0, 7.0], method=method)
        assert b.objective == pytest.approx(7.0)
        assert b.shots[:, 1].sum() == 0


def test_repeat_shots_on_one_target():
    # One excellent weapon, one valuable target: both shots go to it.
    a = solve([[0.9, 0.1]], [100.0, 1.0], capacity=2, method="greedy")
    assert a.shots.tolist() == [[2, 0]]
    assert a.objective == pytest.approx(100.0 * 0.01 + 1.0)


def test_cost_leaves_weapons_idle():
    p = np.full((2, 2), 0.5)
    value = np.array([10.0, 1.0])
    for method in ("greedy", "local", "exact"):
        a = solve(p, value, cost=[3.0, 3.0], cost_weight=1.0, method=method)
        # Only the first shot at the valuable target pays (5 > 3); the second saves 2.5 < 3.
        assert a.shots.sum() == 1 and a.shots[:, 0].sum() == 1
        assert a.objective == pytest.approx(5.0 + 1.0 + 3.0)
        free = solve(p, value, method=method)
        assert free.shots.sum() == 2  # without cost all capacity is used


def test_feasibility_and_capacity_respected():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.2, 0.9, (5, 8))
    feas = rng.random((5, 8)) < 0.5
    cap = np.array([0, 1, 2, 3, 1])
    for method in ("greedy", "local", "exact", "auto"):
        a = solve(p, rng.uniform(1, 10, 8), capacity=cap, feasible=feas, method=method)
        _check_feasible(a, p, cap, feas)
        assert a.shots[0].sum() == 0


def test_assignment_fields():
    a = solve([[0.5, 0.6]], [1.0, 2.0], method="local")
    assert isinstance(a, Assignment)
    assert a.pairs() == [(0, 1, 1)]
    assert a.method == "local" and a.time_s >= 0.0
    assert a.objective == pytest.approx(1.0 + 2.0 * 0.4)
    with pytest.raises(AttributeError):
        a.objective = 0.0  # type: ignore[misc]
    assert solve([[0.5]], [1.0]).method in ("local", "exact")


def test_empty_problem():
    a = solve(np.zeros((0, 3)), [1.0, 2.0, 3.0])
    assert a.shots.shape == (0, 3) and a.objective == pytest.approx(6.0)
    b = solve(np.zeros((2, 0)), np.zeros(0), method="exact")
    assert b.objective == 0.0 and b.optimal


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(p=[[0.5, 0.5]], value=[1.0]), "value has shape"),
        (dict(p=[0.5, 0.5], value=[1.0, 1.0]), "2-dimensional"),
        (dict(p=[[1.5, 0.5]], value=[1.0, 1.0]), r"\[0, 1\]"),
        (dict(p=[[-0.1, 0.5]], value=[1.0, 1.0]), r"\[0, 1\]"),
        (dict(p=[[np.nan, 0.5]], value=[1.0, 1.0]), "NaN"),
        (dict(p=[[0.5, 0.5]], value=[1.0, np.nan]), "NaN"),
        (dict(p=[[0.5, 0.5]], value=[1.0, -1.0]), "non-negative"),
        (dict(p=[[0.5, 0.5]], value=[1.0, 1.0], capacity=-1), "non-negative"),
        (dict(p=[[0.5, 0.5]], value=[1.0, 1.0], capacity=1.5), "integer"),
        (dict(p=[[0.5, 0.5]], value=[1.0, 1.0], capacity=[1, 1]), "capacity has shape"),
        (dict(p=[[0.5, 0.5]], value=[1.0, 1.0], feasible=[[True]]), "feasible has shape"),
        (dict(p=[[0.5, 0.5]], value=[1.0, 1.0], feasible=[[2, 0]]), "boolean"),
        (dict(p=[[0.5, 0.5]], value=[1.0, 1.0], cost=[1.0, 2.0]), "cost has shape"),
        (dict(p=[[0.5, 0.5]], value=[1.0, 1.0], cost=[-1.0]), "non-negative"),
        (dict(p=[[0.5, 0.5]], value=[1.0, 1.0], cost_weight=-1.0), "cost_weight"),
        (dict(p=[[0.5, 0.5]], value=[1.0, 1.0], method="magic"), "method"),
        (dict(p=[[0.5, 0.5]], value=[1.0, 1.0], time_limit_s=0.0), "time_limit_s"),
        (dict(p=[["a", 0.5]], value=[1.0, 1.0]), "numeric"),
    ],
)
def test_bad_input_rejected(kwargs, match):
    p = kwargs.pop("p")
    value = kwargs.pop("value")
    with pytest.raises(ValueError, match=match):
        solve(p, value, **kwargs)
