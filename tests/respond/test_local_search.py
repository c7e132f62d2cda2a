"""Properties of the large-neighbourhood search internals (re-insertion, candidates, lns)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.respond.assign import local_search as ls
from bastion.respond.assign.local_search import Candidates, layered_start, lns, reinsert
from bastion.respond.assign.problem import Problem, check_shots, evaluate, make_problem


def _instance(seed: int) -> tuple[Problem, np.ndarray]:
    rng = np.random.default_rng(seed)
    w, t = int(rng.integers(1, 16)), int(rng.integers(1, 40))
    p = rng.uniform(0.0, 1.0, (w, t))
    p[rng.random((w, t)) < 0.2] = 0.0  # some impossible pairs
    if rng.random() < 0.2:
        p[rng.random((w, t)) < 0.1] = 1.0  # certain kills
    value = rng.uniform(0.0, 100.0, t)
    cap = rng.integers(0, 4, w)
    cost = rng.uniform(0.0, 5.0, w) if rng.random() < 0.3 else None
    prob = make_problem(p, value, cap, cost=cost, cost_weight=1.0 if cost is not None else 0.0)
    # A random feasible shot matrix (respects capacity).
    x = np.zeros((w, t), dtype=np.int64)
    for i in range(w):
        k = int(rng.integers(0, cap[i] + 1))
        np.add.at(x[i], rng.integers(0, t, k), 1)
    return prob, x


def _true_gain(problem: Problem, u: np.ndarray, wi: np.ndarray, tj: np.ndarray) -> float:
    surv = np.ones(u.size)
    np.multiply.at(surv, tj, problem.q[wi, tj])
    return float(u @ (1.0 - surv) - problem.shot_cost[wi].sum())


@pytest.fixture(params=["dense", "sparse"])
def solver_kind(request, monkeypatch):
    # The same re-insertion is solved densely (small matrices) or with LAPJVsp (large ones).
    if request.param == "sparse":
        monkeypatch.setattr(ls, "DENSE_MAX_ENTRIES", 0)
    return request.param


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 2**32 - 1))
def test_reinsert_is_feasible_and_copies_never_hurt(solver_kind, seed):
    prob, _ = _instance(seed)
    rng = np.random.default_rng(seed + 1)
    w, t = prob.p.shape
    u = prob.value * rng.uniform(0.0, 1.0, t)
    slot_w = rng.integers(0, w, int(rng.integers(1, 12)))
    home = np.where(rng.random(slot_w.size) < 0.5, rng.integers(0, t, slot_w.size), -1)
    cand = Candidates(prob)
    gains = []
    for copies in (1, 2, 3):
        nw, nt = reinsert(prob, u, slot_w, home, cand, copies=copies)
        # Each slot is used at most once, only on a candidate or its home target.
        assert (np.bincount(nw, minlength=w) <= np.bincount(slot_w, minlength=w)).all()
        allowed = cand.mask[nw, nt] | np.isin(nt, home)
        assert allowed.all()
        assert (np.bincount(nt, minlength=t) <= copies).all()
        gains.append(_true_gain(prob, u, nw, nt))
    # The copy discount θ never over-states a gain, so more copies cannot do worse than the
    # exact one-shot-per-target optimum.
    tol = 1e-9 * max(1.0, float(u.sum()))
    assert gains[1] >= gains[0] - tol
    assert gains[2] >= gains[0] - tol
    # Putting every slot back home is one candidate (exactly priced when the homes are
    # distinct targets, as after a one-shot-per-target removal): the optimum is as good.
    back = home >= 0
    if np.unique(home[back]).size == back.sum():
        assert gains[0] >= _true_gain(prob, u, slot_w[back], home[back]) - tol


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_lns_never_worsens_and_stays_feasible(seed, anneal):
    prob, x = _instance(seed)
    a = prob.log_q()
    before = evaluate(prob, x)[0]
    out = lns(
        prob,
        a,
        x,
        Candidates(prob),
        deadline=time.perf_counter() + 0.05,
        rng=np.random.default_rng(seed),
        anneal=anneal,
    )
    check_shots(prob, out)
    assert evaluate(prob, out)[0] <= before * (1 + 1e-12) + 1e-12


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_layered_start_feasible(seed):
    prob, _ = _instance(seed)
    x = layered_start(prob, prob.log_q())
    check_shots(prob, x)


def test_candidates_edges_match_mask():
    rng = np.random.default_rng(5)
    prob = make_problem(rng.uniform(0, 1, (30, 60)), rng.uniform(1, 10, 60), 2)
    cand = Candidates(prob)
    # Every target keeps its best weapons, every weapon its best targets.
    assert cand.mask.sum(axis=0).min() >= ls.WEAPONS_PER_TARGET
    assert cand.mask.sum(axis=1).min() >= ls.TARGETS_PER_WEAPON
    slot_w = np.array([3, 3, 7, 0])
    rows, cols = cand.edges(slot_w)
    for k, i in enumerate(slot_w):
        assert sorted(cols[rows == k].tolist()) == np.flatnonzero(cand.mask[i]).tolist()


def test_repeated_shot_found_by_copies():
    # Weapon 0 is the only good weapon for the valuable target 0; weapon 1 sits there now.
    # The best move puts both of weapon 0's shots on target 0 and sends weapon 1 elsewhere.
    p = np.array([[0.9, 0.1], [0.3, 0.3]])
    prob = make_problem(p, [100.0, 1.0], [2, 1])
    x = np.array([[1, 1], [1, 0]])
    out = lns(
        prob,
        prob.log_q(),
        x,
        Candidates(prob),
        deadline=time.perf_counter() + 1.0,
        rng=np.random.default_rng(0),
    )
    assert out.tolist() == [[2, 0], [0, 1]]


def test_polish_never_worse_and_feasible():
    from bastion.respond.assign.greedy import greedy
    from bastion.respond.assign.solver import _polish

    rng = np.random.default_rng(11)
    prob = make_problem(rng.uniform(0, 1, (8, 16)), rng.uniform(1, 100, 16), 2)
    start = greedy(prob)
    out = _polish(prob, start, 5.0)
    check_shots(prob, out)
    assert evaluate(prob, out)[0] <= evaluate(prob, start)[0]
