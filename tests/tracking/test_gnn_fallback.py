"""GNN on clusters above the size cap: the greedy fallback, its counter, and the exact
solution below the cap."""

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from bastion.tracking import Tracker, association
from bastion.tracking.association import gnn


def _check_valid(n, m, out, ti, mj):
    """Each report to at most one track, each track at most one report, gated pairs only."""
    assert out.shape == (m,) and out.dtype == np.int64
    used = out[out >= 0]
    assert np.all(used < n)
    assert used.size == np.unique(used).size
    gated = set(zip(ti.tolist(), mj.tolist(), strict=True))
    assert all((int(i), j) in gated for j, i in enumerate(out.tolist()) if i >= 0)


def _gain_total(out, ti, mj, cost, miss):
    """Total gain (negative: better than leaving the tracks unassigned) of an assignment."""
    g = {(int(i), int(j)): c - miss[i] for i, j, c in zip(ti, mj, cost, strict=True)}
    return sum(g[(i, j)] for j, i in enumerate(out.tolist()) if i >= 0)


def _exact_total(n, m, ti, mj, cost, miss):
    gain = cost - miss[ti]
    G = np.zeros((n, m))
    use = gain < 0
    G[ti[use], mj[use]] = gain[use]
    r, c = linear_sum_assignment(G)
    return G[r, c].sum()


def _dense_cluster(rng, n, m, reach=6):
    """One connected cluster: track i gates reports within ``reach`` of its place on a line
    (every track and report linked through their neighbours), costs below the miss cost."""
    ti, mj = [], []
    for i in range(n):
        c = i * (m - 1) // max(n - 1, 1)
        for j in range(max(0, c - reach), min(m, c + reach + 1)):
            ti.append(i)
            mj.append(j)
    ti, mj = np.array(ti, np.int64), np.array(mj, np.int64)
    cost = rng.uniform(0.0, 10.0, ti.size)
    miss = np.full(n, 12.0)
    return ti, mj, cost, miss


def test_cluster_above_cap_is_solved_by_the_fallback():
    rng = np.random.default_rng(3)
    n, m = 300, 320  # 96,000 cells, one component: above _CLUSTER_CELLS_MAX
    assert n * m > association._CLUSTER_CELLS_MAX
    ti, mj, cost, miss = _dense_cluster(rng, n, m)
    stats: dict[str, int] = {}
    out = gnn(n, m, ti, mj, cost, miss, stats=stats)
    _check_valid(n, m, out, ti, mj)
    assert stats == {"gnn_fallback": 1, "gnn_fallback_tracks": n}
    # Greedy is maximal: no gated pair with a gain has both its track and its report free.
    t_used = np.zeros(n, bool)
    t_used[out[out >= 0]] = True
    free = ~t_used[ti] & (out[mj] < 0) & (cost < miss[ti])
    assert not free.any()
    # Not better than the exact optimum (and, here, close to it).
    exact = _exact_total(n, m, ti, mj, cost, miss)
    got = _gain_total(out, ti, mj, cost, miss)
    assert got >= exact - 1e-9
    assert got <= 0.8 * exact  # gains are negative: at least 80 % of the optimum's
    # The NumPy reference does the same.
    np.testing.assert_array_equal(association._gnn_numpy(n, m, ti, mj, cost, miss), out)


def test_cluster_below_cap_is_not_counted():
    rng = np.random.default_rng(4)
    ti, mj, cost, miss = _dense_cluster(rng, 100, 120)  # 12,000 cells
    stats: dict[str, int] = {}
    out = gnn(100, 120, ti, mj, cost, miss, stats=stats)
    assert stats == {}
    np.testing.assert_allclose(_gain_total(out, ti, mj, cost, miss),
                               _exact_total(100, 120, ti, mj, cost, miss))


def test_tracker_counts_the_fallback():
    # 40 targets 20 m apart in a line abreast: one contested cluster per scan. With the cap
    # lowered to a few cells the tracker takes the fallback and says so in its stats.
    p = np.column_stack([np.arange(40) * 20.0, np.zeros(40), np.full(40, 100.0)])
    v = np.array([0.0, 30.0, 0.0])
    rng = np.random.default_rng(5)

    def run(cells):
        trk = Tracker(id_base=0)
        with (mock.patch.object(association, "_CLUSTER_CELLS_MAX", cells),
              mock.patch.object(association, "_DENSE_CELLS_MAX", 0)):
            for k in range(8):
                z = p + v * k + rng.normal(0, 3, p.shape)
                tracks = trk.step(float(k), z, np.eye(3) * 9.0)
        return trk, tracks

    trk, tracks = run(4)
    assert trk.stats["gnn_fallback"] > 0
    assert trk.stats["gnn_fallback_tracks"] >= 2 * trk.stats["gnn_fallback"]
    assert tracks.confirmed.sum() >= 35  # the fallback still tracks a formation
    trk, _ = run(association._CLUSTER_CELLS_MAX)
    assert trk.stats["gnn_fallback"] == trk.stats["gnn_fallback_tracks"] == 0


@st.composite
def _problems(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    n = draw(st.integers(1, 40))
    m = draw(st.integers(1, 40))
    density = draw(st.floats(0.02, 1.0))
    rng = np.random.default_rng(seed)
    near = rng.random((n, m)) < density
    ti, mj = np.nonzero(near)
    cost = rng.uniform(0.0, 12.0, ti.size)
    if draw(st.booleans()):  # ties
        cost = np.round(cost)
    miss = rng.uniform(3.0, 12.0, n)
    p = rng.permutation(ti.size)
    return n, m, ti[p], mj[p], cost[p], miss


@settings(max_examples=150, deadline=None)
@given(prob=_problems())
def test_below_cap_exact_and_fallback_never_better(prob):
    n, m, ti, mj, cost, miss = prob
    exact = _exact_total(n, m, ti, mj, cost, miss)
    # Below the cap (every problem here): the exact optimum, whichever path solves it.
    for dense in (0, association._DENSE_CELLS_MAX):
        with mock.patch.object(association, "_DENSE_CELLS_MAX", dense):
            stats: dict[str, int] = {}
            out = gnn(n, m, ti, mj, cost, miss, stats=stats)
        _check_valid(n, m, out, ti, mj)
        assert stats == {}
        np.testing.assert_allclose(_gain_total(out, ti, mj, cost, miss), exact, atol=1e-9)
    # Every contested cluster through the fallback: valid, never better than the optimum,
    # the same as the NumPy reference.
    with (mock.patch.object(association, "_DENSE_CELLS_MAX", 0),
          mock.patch.object(association, "_CLUSTER_CELLS_MAX", 0)):
        stats = {}
        out = gnn(n, m, ti, mj, cost, miss, stats=stats)
        ref = association._gnn_numpy(n, m, ti, mj, cost, miss)
    _check_valid(n, m, out, ti, mj)
    np.testing.assert_array_equal(out, ref)
    assert _gain_total(out, ti, mj, cost, miss) >= exact - 1e-9
    assert stats.get("gnn_fallback_tracks", 0) >= 2 * stats.get("gnn_fallback", 0)
