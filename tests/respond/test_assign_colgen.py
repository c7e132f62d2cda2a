"""Column generation (bastion.respond.assign.colgen): exact enumeration, valid bounds, proofs."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.respond.assign import colgen as cg
from bastion.respond.assign import solve
from bastion.respond.assign.colgen import (
    Configs,
    colgen,
    config_mip,
    enumerate_configs,
    shot_configs,
)
from bastion.respond.assign.greedy import greedy
from bastion.respond.assign.milp import solve_milp
from bastion.respond.assign.problem import evaluate, make_problem


def _all_multisets(weapons: list[int], cap: np.ndarray) -> list[tuple[int, ...]]:
    """Every non-empty multiset over ``weapons`` with weapon i at most cap[i] times."""
    out = []
    for counts in itertools.product(*[range(int(cap[i]) + 1) for i in weapons]):
        if sum(counts) == 0:
            continue
        out.append(tuple(sorted(i for i, k in zip(weapons, counts, strict=True) for _ in range(k))))
    return out


def _key(cfg: Configs) -> set[tuple[int, tuple[int, ...]]]:
    return {
        (int(j), tuple(sorted(int(i) for i in row if i >= 0)))
        for j, row in zip(cfg.target, cfg.weapons, strict=True)
    }


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_enumeration_is_exactly_the_configurations_below_theta(seed):
    rng = np.random.default_rng(seed)
    w, t = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    a = rng.exponential(1.0, (w, t))
    if rng.random() < 0.3:
        a[rng.random((w, t)) < 0.2] = 60.0  # certain kills (the capped a)
    value = rng.uniform(0.0, 10.0, t)
    price = rng.uniform(0.0, 2.0, w) * (rng.random(w) < 0.8)  # some free weapons
    cap = rng.integers(0, 4, w)
    allow = rng.random((w, t)) < 0.8
    theta = rng.uniform(0.0, 12.0, t)
    cfg, f = enumerate_configs(a, value, price, cap, theta, allow, max_nodes=10**7)
    assert cfg.exact
    expected = set()
    borderline = set()
    for j in range(t):
        for ms in _all_multisets([i for i in range(w) if allow[i, j]], cap):
            fv = value[j] * np.exp(-sum(a[i, j] for i in ms)) + sum(price[i] for i in ms)
            if abs(fv - theta[j]) < 1e-9:
                borderline.add((j, ms))
            elif fv < theta[j]:
                expected.add((j, ms))
    got = _key(cfg)
    assert len(got) == cfg.size  # every configuration once
    assert expected <= got <= expected | borderline
    # Reported F values are the configurations' priced values.
    s = np.where(cfg.weapons >= 0, a[np.maximum(cfg.weapons, 0), cfg.target[:, None]], 0.0)
    ps = np.where(cfg.weapons >= 0, price[np.maximum(cfg.weapons, 0)], 0.0)
    np.testing.assert_allclose(f, value[cfg.target] * np.exp(-s.sum(axis=1)) + ps.sum(axis=1))


def test_enumeration_list_form_matches_mask_form():
    rng = np.random.default_rng(4)
    w, t = 6, 5
    a = rng.exponential(1.0, (w, t))
    value = rng.uniform(1.0, 10.0, t)
    price = rng.uniform(0.1, 1.0, w)
    cap = np.full(w, 2)
    top = np.argsort(-a, axis=0)[:3].T  # (T, 3) weapon lists
    mask = np.zeros((w, t), bool)
    mask[top.T, np.arange(t)] = True
    theta = np.full(t, 5.0)
    by_mask, _ = enumerate_configs(a, value, price, cap, theta, mask)
    by_list, _ = enumerate_configs(a, value, price, cap, theta, top)
    assert _key(by_mask) == _key(by_list)


def test_node_limit_reports_inexact():
    rng = np.random.default_rng(1)
    a = rng.exponential(1.0, (8, 4))
    cfg, _ = enumerate_configs(
        a, np.full(4, 100.0), np.zeros(8), np.full(8, 3), np.full(4, 1e9), np.ones((8, 4), bool),
        max_nodes=50,
    )  # fmt: skip
    assert not cfg.exact


@settings(max_examples=300)
@given(
    st.floats(0.0, 100.0),
    st.floats(0.0, 10.0),
    st.floats(0.0, 5.0),
    st.floats(1e-6, 10.0),
    st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), min_size=1, max_size=6),
)
def test_extension_bound_is_a_lower_bound(res, psum, m, big_a, shots):
    # Any extension by shots priced ≥ m with a ≤ A is priced at least the bound.
    bound = cg._extension_bound(np.array([res]), np.array([psum]), np.array([m]), np.array([big_a]))
    s = sum(fa * big_a for fa, _ in shots)
    price = sum(m + fp for _, fp in shots)
    assert res * np.exp(-s) + psum + price >= bound[0] - 1e-9 * (1.0 + bound[0])


def test_shot_configs_round_trip_and_column_entries():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, (5, 7)) * (rng.random((5, 7)) < 0.4)
    cfg = shot_configs(x)
    assert cfg.target.tolist() == list(range(7))
    back = np.zeros_like(x)
    for j, row in zip(cfg.target, cfg.weapons, strict=True):
        for i in row[row >= 0]:
            back[i, j] += 1
    np.testing.assert_array_equal(back, x)
    starts, index, coef = cg._column_entries(cfg, 7)
    dense = np.zeros((7 + 5, cfg.size))
    ends = np.r_[starts[1:], index.size]
    for k in range(cfg.size):
        dense[index[starts[k] : ends[k]], k] = coef[starts[k] : ends[k]]
    np.testing.assert_array_equal(dense[:7], np.eye(7))
    np.testing.assert_array_equal(dense[7:], x)


def test_unique_maps_every_row_to_its_copy():
    cfg = Configs(np.array([0, 1, 0, 1, 0]), np.array([[2, 1], [0, -1], [1, 2], [0, -1], [1, -1]]))
    kept, where = cg._unique(cfg, 3)
    assert kept.size == 3
    assert _key(kept) == {(0, (1, 2)), (1, (0,)), (0, (1,))}
    for k in range(cfg.size):
        assert _key(Configs(cfg.target[[k]], cfg.weapons[[k]])) == _key(
            Configs(kept.target[[where[k]]], kept.weapons[[where[k]]])
        )


def _brute(p, value, cap, cost=None) -> float:
    w, t = p.shape
    c = np.zeros(w) if cost is None else np.asarray(cost, float)
    rows = [
        [r for r in itertools.product(range(int(cap[i]) + 1), repeat=t) if sum(r) <= cap[i]]
        for i in range(w)
    ]
    best = np.inf
    for combo in itertools.product(*rows):
        x = np.array(combo).reshape(w, t)
        best = min(best, float(value @ np.prod((1.0 - p) ** x, axis=0) + c @ x.sum(axis=1)))
    return best


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_colgen_bound_valid_and_proofs_correct(seed):
    rng = np.random.default_rng(seed)
    w, t = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    p = rng.uniform(0.0, 1.0, (w, t))
    p[rng.random((w, t)) < 0.15] = 0.0
    if rng.random() < 0.2:
        p[rng.random((w, t)) < 0.2] = 1.0
    value = rng.uniform(0.0, 100.0, t)
    cap = rng.integers(0, 4, w)
    cost = rng.uniform(0.0, 20.0, w) if rng.random() < 0.3 else None
    prob = make_problem(p, value, cap, cost=cost, cost_weight=1.0)
    opt = _brute(p, value, cap, cost)
    res = colgen(prob, prob.log_q(), greedy(prob), time.perf_counter() + 30.0)
    tol = 1e-6 * max(1.0, opt)
    assert res.objective >= opt - tol
    assert res.objective == pytest.approx(evaluate(prob, res.shots)[0])
    if res.lower_bound is not None:
        assert res.lower_bound <= opt + tol
    if res.optimal:
        assert res.objective == pytest.approx(opt, rel=1e-6, abs=1e-9)


def test_colgen_and_oa_milp_agree_on_a_mid_size_instance():
    # Two independent exact methods: the configuration proof and the outer approximation.
    rng = np.random.default_rng(11)
    p = rng.uniform(0.0, 1.0, (8, 16))
    value = rng.integers(1, 101, 16).astype(float)
    prob = make_problem(p, value, 3)
    res = colgen(prob, prob.log_q(), greedy(prob), time.perf_counter() + 60.0)
    milp = solve_milp(prob, greedy(prob), 120.0)
    assert res.optimal and milp.optimal
    assert res.objective == pytest.approx(milp.objective, rel=2e-6)
    assert res.lower_bound is not None and res.lower_bound <= milp.objective * (1 + 1e-6)


def test_config_mip_with_start_duplicated_in_the_set():
    # The start's configurations also appear among the candidates (HiGHS 1.16 returned the
    # start with a wrong objective on such a model): the MIP must still find the optimum.
    rng = np.random.default_rng(5)
    p = rng.uniform(0.0, 1.0, (3, 4))
    value = rng.uniform(1.0, 50.0, 4)
    prob = make_problem(p, value, 2)
    a = prob.log_q()
    everything, _ = enumerate_configs(
        a, value, np.zeros(3), prob.capacity, np.full(4, np.inf), np.ones((3, 4), bool)
    )
    idle = Configs(np.arange(4), np.zeros((4, 0), np.int64))
    start = greedy(prob)
    cfg = cg._concat([everything, idle, shot_configs(start)])
    x, bound, solved = config_mip(prob, a, cfg, start, 30.0, 1.0)
    assert solved
    assert evaluate(prob, x)[0] == pytest.approx(_brute(p, value, prob.capacity), rel=1e-9)
    assert bound <= evaluate(prob, x)[0] * (1 + 1e-9)


def test_auto_with_limit_proves_a_random_instance():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.0, 1.0, (20, 40))
    value = rng.integers(1, 101, 40).astype(float)
    a = solve(p, value, capacity=2, time_limit_s=30.0)
    assert a.method == "exact" and a.optimal
    assert a.lower_bound is not None and a.lower_bound <= a.objective
    ex = solve(p, value, capacity=2, method="exact", time_limit_s=60.0)
    assert ex.objective == pytest.approx(a.objective, rel=2e-6)


def test_auto_large_path_still_valid(monkeypatch):
    # Beyond the column-generation size rule, auto runs local search and the Lagrangian bound.
    from bastion.respond.assign import solver

    monkeypatch.setattr(solver, "COLGEN_REF_S", 1e9)
    rng = np.random.default_rng(8)
    p = rng.uniform(0.0, 1.0, (10, 20))
    value = rng.uniform(1.0, 100.0, 20)
    a = solve(p, value, capacity=2, time_limit_s=0.5)
    assert a.method == "local"
    assert a.lower_bound is None or a.lower_bound <= a.objective
    assert (a.shots.sum(axis=1) <= 2).all()


@pytest.mark.parametrize("seed", range(6))
def test_colgen_with_targets_left_alone(seed):
    # Fewer shots than targets: optimal plans leave targets alone, so the reduced-cost
    # MIP needs the empty configurations (a bug once "proved" a 2.5 % worse plan optimal).
    rng = np.random.default_rng(100 + seed)
    p = rng.uniform(0.0, 1.0, (4, 8))
    value = rng.integers(1, 101, 8).astype(float)
    prob = make_problem(p, value, 1)
    res = colgen(prob, prob.log_q(), greedy(prob), time.perf_counter() + 30.0)
    opt = _brute(p, value, prob.capacity)
    assert res.optimal
    assert res.objective == pytest.approx(opt, rel=1e-9)


def test_colgen_stopped_early_still_valid(monkeypatch):
    # Column generation cut short (no share of the budget: one exact pass, then the MIPs,
    # with columns added after the last LP): the result must stay valid.
    rng = np.random.default_rng(21)
    p = rng.uniform(0.0, 1.0, (15, 30))
    value = rng.integers(1, 101, 30).astype(float)
    prob = make_problem(p, value, 3)
    full = colgen(prob, prob.log_q(), greedy(prob), time.perf_counter() + 60.0)
    assert full.optimal
    monkeypatch.setattr(cg, "CG_SHARE", 0.0)
    short = colgen(prob, prob.log_q(), greedy(prob), time.perf_counter() + 60.0)
    assert short.objective >= full.objective * (1 - 1e-9)
    assert short.lower_bound is None or short.lower_bound <= full.objective * (1 + 1e-9)
    assert (short.shots.sum(axis=1) <= 3).all()
