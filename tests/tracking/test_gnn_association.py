import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.tracking import association
from bastion.tracking.association import gnn, jpda_weights


def _brute_force(n, m, cost, miss):
    best_val = np.inf
    for perm in itertools.product(range(-1, m), repeat=n):
        used = [j for j in perm if j >= 0]
        if len(used) != len(set(used)):
            continue
        val = 0.0
        ok = True
        for i, j in enumerate(perm):
            if j < 0:
                val += miss[i]
            elif np.isfinite(cost[i, j]):
                val += cost[i, j]
            else:
                ok = False
        if ok and val < best_val:
            best_val = val
    return best_val


def _total(n, assign, cost, miss):
    val = miss.sum()
    for j, i in enumerate(assign):
        if i >= 0:
            val += cost[i, j] - miss[i]
    return val


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 4), m=st.integers(1, 4),
       density=st.floats(0.2, 1.0))
def test_gnn_is_optimal(seed, n, m, density):
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 10, (n, m))
    cost[rng.random((n, m)) > density] = np.inf
    miss = rng.uniform(3, 12, n)
    ti, mj = np.nonzero(np.isfinite(cost))
    out = gnn(n, m, ti, mj, cost[ti, mj], miss)
    # Each report at most once, each track at most once.
    used = out[out >= 0]
    assert len(used) == len(set(used.tolist()))
    assert all(np.isfinite(cost[i, j]) for j, i in enumerate(out) if i >= 0)
    np.testing.assert_allclose(_total(n, out, cost, miss), _brute_force(n, m, cost, miss))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_component_path_equals_dense_path(seed):
    rng = np.random.default_rng(seed)
    n, m = 60, 70
    # Clustered geometry: many small components, a few contested ones.
    pos_t = rng.uniform(0, 1000, (n, 2))
    pos_r = np.concatenate([pos_t[: m - 20] + rng.normal(0, 3, (m - 20, 2)),
                            rng.uniform(0, 1000, (20, 2))])
    d2 = ((pos_t[:, None] - pos_r[None]) ** 2).sum(-1) / 9.0
    ti, mj = np.nonzero(d2 < 16)
    cost = d2[ti, mj]
    miss = np.full(n, 16.0)
    dense = gnn(n, m, ti, mj, cost, miss)
    saved = association._DENSE_CELLS_MAX
    try:
        association._DENSE_CELLS_MAX = 0
        comp = gnn(n, m, ti, mj, cost, miss)
    finally:
        association._DENSE_CELLS_MAX = saved
    full = np.full((n, m), np.inf)
    full[ti, mj] = cost
    np.testing.assert_allclose(_total(n, dense, full, miss), _total(n, comp, full, miss))


def test_jpda_weights_are_probabilities_and_favour_the_closest():
    track = np.array([0, 0, 1, 1])
    report = np.array([0, 1, 1, 2])
    d2 = np.array([0.5, 6.0, 0.2, 9.0])
    log_det = np.zeros(4)
    beta, beta0 = jpda_weights(2, 3, track, report, d2, log_det, 0.9, 1e-4)
    totals = np.bincount(track, weights=beta, minlength=2) + beta0
    np.testing.assert_allclose(totals, 1.0)
    assert np.all(beta >= 0) and np.all(beta0 >= 0)
    assert beta[0] > beta[1] and beta[2] > beta[3]


def test_out_of_range_pairs_are_refused_not_written_past_the_matrix():
    import pytest

    from bastion.tracking.association import gnn

    t = np.array([0, 1])
    with pytest.raises(IndexError):
        gnn(2, 3, t, np.array([0, 5]), np.zeros(2), np.ones(2))
    with pytest.raises(IndexError):
        gnn(2, 3, np.array([0, 2]), np.array([0, 1]), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError):
        gnn(2, 3, t, np.array([0]), np.zeros(2), np.ones(2))
