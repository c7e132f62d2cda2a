"""The compiled gating and GNN kernels give bit for bit what their NumPy references give."""

import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from bastion.tracking import association, gate_kernels, gating
from bastion.tracking.gate_kernels import gate_candidates, gate_spans

G = float(chi2.ppf(0.999, 3))
FIELDS = ("track", "report", "d2", "log_det_s")


def _assert_same(got, want):
    for f in FIELDS:
        a, b = getattr(got, f), getattr(want, f)
        assert a.dtype == b.dtype, f
        np.testing.assert_array_equal(a, b, err_msg=f)


def _problem(rng, n, m, n_blocks, time_mode, strided):
    """Tracks and reports over ``n_blocks`` areas 1,000 km apart eastwards (a block of
    replications), reports near tracks plus clutter and exact duplicates; ``time_mode``:
    0 every track and report at one time, 1 one report time, 2 times spread out.
    ``strided``: tracks as column views of one wide table, as the tracker stores them."""
    x = np.zeros((n, 6))
    x[:, :3] = rng.uniform(-3000, 3000, (n, 3))
    x[:, 0] += rng.integers(0, n_blocks, n) * 1.0e6
    x[:, 3:] = rng.normal(0, 30, (n, 3))
    A = rng.normal(size=(n, 6, 6)) * rng.uniform(0.5, 20, (n, 1, 1))
    P = A @ np.swapaxes(A, 1, 2) + np.diag([20.0, 20, 20, 4, 4, 4])
    z = x[rng.integers(0, n, m), :3] + rng.normal(0, 60, (m, 3))
    clutter = rng.random(m) < 0.3
    k = int(clutter.sum())
    z[clutter] = rng.uniform(-3000, 3000, (k, 3))
    z[clutter, 0] += rng.integers(0, n_blocks, k) * 1.0e6
    z[rng.random(m) < 0.1] = z[0]  # duplicated reports
    B = rng.normal(size=(m, 3, 3)) * 4
    R = B @ np.swapaxes(B, 1, 2) + np.eye(3)
    if time_mode == 0:
        t_tr, t_rep = np.full(n, 3.0), np.full(m, 3.0)
    elif time_mode == 1:
        t_tr, t_rep = rng.uniform(0, 0.5, n), np.full(m, 1.0)
    else:
        t_tr, t_rep = rng.uniform(0, 0.5, n), rng.uniform(0.5, 2.0, m)
    if strided:
        f = np.zeros((n, 50))
        f[:, 1:7], f[:, 7:43], f[:, 45] = x, P.reshape(n, 36), t_tr
        x, P, t_tr = f[:, 1:7], f[:, 7:43].reshape(-1, 6, 6), f[:, 45]
    return x, P, t_tr, z, R, t_rep


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 200), m=st.integers(1, 200),
       n_blocks=st.sampled_from([1, 4, 64]), time_mode=st.integers(0, 2),
       strided=st.booleans(), dense=st.sampled_from([0, 6000, 10**9]))
def test_gate_matches_numpy_reference(seed, n, m, n_blocks, time_mode, strided, dense):
    rng = np.random.default_rng(seed)
    args = _problem(rng, n, m, n_blocks, time_mode, strided)
    _assert_same(gating.gate(*args, G, 5.0, dense), gating._gate_numpy(*args, G, 5.0, dense))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 120), m=st.integers(1, 120),
       chunk=st.integers(1, 50), dense=st.sampled_from([0, 10**9]))
def test_gate_in_chunks_matches_numpy_reference(seed, n, m, chunk, dense):
    # A tiny candidate budget forces many passes, each resuming where the last stopped.
    rng = np.random.default_rng(seed)
    args = _problem(rng, n, m, 2, 2, False)
    with mock.patch.object(gating, "_CHUNK_PAIRS", chunk):
        got = gating.gate(*args, G, 5.0, dense)
    _assert_same(got, gating._gate_numpy(*args, G, 5.0, dense))


def test_gate_on_a_block_of_replications_matches_numpy_reference():
    rng = np.random.default_rng(11)
    args = _problem(rng, 1000, 900, 64, 2, True)
    got = gating.gate(*args, G, 5.0, 6000)
    assert got.track.size > 200
    _assert_same(got, gating._gate_numpy(*args, G, 5.0, 6000))


def test_gate_with_a_diverged_track_matches_numpy_reference():
    # NaN and infinite covariances give no pair (and do not disturb the others).
    rng = np.random.default_rng(5)
    x, P, t_tr, z, R, t_rep = _problem(rng, 40, 30, 1, 2, False)
    P[3] = np.nan
    P[7, 3, 3] = np.inf
    x[9, 0] = np.nan
    for dense in (0, 10**9):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the compiled path is quiet about NaN tracks
            got = gating.gate(x, P, t_tr, z, R, t_rep, G, 5.0, dense)
        with np.errstate(invalid="ignore", divide="ignore"):  # the reference's NaN arithmetic
            want = gating._gate_numpy(x, P, t_tr, z, R, t_rep, G, 5.0, dense)
        _assert_same(got, want)
        assert not np.isin([3, 7, 9], got.track).any()


def _radius(x, P, t_tr, R, t_rep, q):
    # The NumPy reference's pre-gate radius.
    big_dt = max(abs(t_rep.max() - t_tr.min()), abs(t_rep.min() - t_tr.max()))
    tr_pp = P[:, 0, 0] + P[:, 1, 1] + P[:, 2, 2]
    tr_vv = P[:, 3, 3] + P[:, 4, 4] + P[:, 5, 5]
    tr_pv = np.abs(P[:, 0, 3] + P[:, 1, 4] + P[:, 2, 5])
    tr_r = float((R[:, 0, 0] + R[:, 1, 1] + R[:, 2, 2]).max())
    bound = tr_pp + 2 * big_dt * tr_pv + big_dt**2 * tr_vv + q * big_dt**3 + tr_r
    speed = np.sqrt(x[:, 3] ** 2 + x[:, 4] ** 2 + x[:, 5] ** 2)
    return np.sqrt(G * bound) + speed * big_dt, big_dt


def _within_trace(x, P, t_tr, z, R, t_rep, q):
    # The compiled candidate test in NumPy, operation for operation: |nu|² within the trace
    # bound of the pair's own gate (with its margin).
    dt = t_rep[None, :] - t_tr[:, None]
    nx = z[None, :, 0] - x[:, None, 0] - x[:, None, 3] * dt
    ny = z[None, :, 1] - x[:, None, 1] - x[:, None, 4] * dt
    nz = z[None, :, 2] - x[:, None, 2] - x[:, None, 5] * dt
    ad = np.abs(dt)
    tr_pp = (P[:, 0, 0] + P[:, 1, 1] + P[:, 2, 2])[:, None]
    tr_pv = np.abs(P[:, 0, 3] + P[:, 1, 4] + P[:, 2, 5])[:, None]
    tr_vv = (P[:, 3, 3] + P[:, 4, 4] + P[:, 5, 5])[:, None]
    tr_r = (R[:, 0, 0] + R[:, 1, 1] + R[:, 2, 2])[None, :]
    b = tr_pp + 2.0 * ad * tr_pv + ad * ad * tr_vv + q * ad * ad * ad + tr_r
    return nx * nx + ny * ny + nz * nz <= (G * gate_kernels._TRACE_SLACK) * b


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 150), m=st.integers(1, 150),
       n_blocks=st.sampled_from([1, 3, 64]), scale=st.sampled_from([1e-3, 1.0, 30.0]),
       wild=st.booleans())
def test_candidates_are_exactly_the_pairs_within_the_trace_bound(seed, n, m, n_blocks, scale,
                                                                 wild):
    # Both grids (cell directory for one area, widened cells for areas far apart) and the
    # scan of every report must give exactly the brute-force pairs, by track then report:
    # those within the trace bound of their own gate, of the tracks whose pre-gate radius over
    # the whole span is not NaN; and every pair the exact test keeps.
    rng = np.random.default_rng(seed)
    x, P, t_tr, z, R, t_rep = _problem(rng, n, m, n_blocks, 2, False)
    P *= scale  # radii from tiny to covering the whole area
    if wild:  # an infinite radius (every report) and positions at NaN or infinity (none)
        P[0, 3, 3] = np.inf
        x[n // 2, 1] = np.nan
        x[-1, 0] = -np.inf
    radius, big_dt = _radius(x, P, t_tr, R, t_rep, 5.0)
    tr_r = gate_spans(t_tr, t_rep, R)[4]
    ti, mj, adt, nxt = gate_candidates(x, P, t_tr, z, R, t_rep, t_rep.min(), t_rep.max(),
                                       2 * big_dt, big_dt**2, 5.0 * big_dt**3, tr_r, G, big_dt,
                                       5.0, False, False, 0, n * m)
    assert nxt == n
    with np.errstate(invalid="ignore", over="ignore"):
        want = _within_trace(x, P, t_tr, z, R, t_rep, 5.0) & ~np.isnan(radius)[:, None]
    want_t, want_m = np.nonzero(want)
    np.testing.assert_array_equal(ti, want_t)
    np.testing.assert_array_equal(mj, want_m)
    np.testing.assert_array_equal(adt, np.abs(t_rep[mj] - t_tr[ti]))
    if not wild:
        exact = gating._gate_numpy(x, P, t_tr, z, R, t_rep, G, 5.0, 10**9)
        assert exact.track.size == 0 or want[exact.track, exact.report].all()


@pytest.mark.parametrize("axis", [0, 1])
def test_near_pairs_on_areas_far_apart_east_or_north(axis):
    # Areas 1,000 km apart along one axis: the grid is widened along it to stay within its
    # cell budget; radii from tiny to covering everything, coordinates rounded so that many
    # reports coincide and many pairs sit exactly on a radius.
    rng = np.random.default_rng(axis)
    for _ in range(40):
        n, m = int(rng.integers(1, 300)), int(rng.integers(1, 300))
        z = rng.uniform(-3000, 3000, (m, 3))
        z[:, axis] += rng.integers(0, 64, m) * 1.0e6
        z = np.round(z, int(rng.integers(-3, 2)))
        pos = z[rng.integers(0, m, n)] + rng.normal(0, rng.choice([0.1, 10.0, 1e4]), (n, 3))
        radius = rng.uniform(0, rng.choice([0.01, 5.0, 1e4, 1e7]), n)
        ti, mj = gating._grid_pairs(pos, radius, z)
        d = z[None, :, :] - pos[:, None, :]
        d2 = d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1] + d[..., 2] * d[..., 2]
        want_t, want_m = np.nonzero(d2 <= (radius * radius)[:, None])
        np.testing.assert_array_equal(ti, want_t)
        np.testing.assert_array_equal(mj, want_m)


def test_spans_propagate_nan_like_numpy():
    t = np.array([1.0, np.nan, 0.5])
    R = np.broadcast_to(np.eye(3), (3, 3, 3)).copy()
    assert all(np.isnan(v) for v in gate_spans(t, t, R)[:4])
    R[1, 2, 2] = np.nan
    assert np.isnan(gate_spans(t[[0, 2]], t[[0, 2]], R)[4])
    assert gate_spans(t[[0, 2]], t[[2, 0]], R[[0, 2]]) == (0.5, 1.0, 0.5, 1.0, 3.0)


# ----------------------------------------------------------------------------- GNN


def _gnn_problem(rng, n, m, density, integer, shuffle):
    """Gated pairs with costs, clustered so that some components are contested; integer costs
    make ties common, which the compiled solver must break as the reference does."""
    pos_t = rng.uniform(0, 100, n)
    pos_r = np.concatenate([pos_t[rng.integers(0, n, m // 2)] + rng.normal(0, 0.5, m // 2),
                            rng.uniform(0, 100, m - m // 2)])
    near = np.abs(pos_t[:, None] - pos_r[None, :]) < 2.0
    near &= rng.random((n, m)) < density
    ti, mj = np.nonzero(near)
    cost = rng.uniform(0, 12, ti.size)
    miss = rng.uniform(3, 12, n)
    if integer:
        cost, miss = np.round(cost), np.round(miss)
    if shuffle:
        p = rng.permutation(ti.size)
        ti, mj, cost = ti[p], mj[p], cost[p]
    return ti, mj, cost, miss


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 150), m=st.integers(1, 150),
       density=st.floats(0.2, 1.0), integer=st.booleans(), shuffle=st.booleans(),
       cells=st.sampled_from([0, 50, 4096]))
def test_gnn_matches_numpy_reference(seed, n, m, density, integer, shuffle, cells):
    rng = np.random.default_rng(seed)
    ti, mj, cost, miss = _gnn_problem(rng, n, m, density, integer, shuffle)
    with mock.patch.object(association, "_DENSE_CELLS_MAX", cells):
        got = association.gnn(n, m, ti, mj, cost, miss)
        want = association._gnn_numpy(n, m, ti, mj, cost, miss)
    assert got.dtype == want.dtype == np.int64
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("cells", [0, 4096])
def test_gnn_ties_go_to_the_first_pair(cells):
    # One track, two equally good reports; one report, two equally good tracks.
    ti = np.array([0, 0, 1, 2])
    mj = np.array([3, 1, 0, 0])
    cost = np.array([1.0, 1.0, 2.0, 2.0])
    miss = np.full(3, 5.0)
    with mock.patch.object(association, "_DENSE_CELLS_MAX", cells):
        got = association.gnn(3, 4, ti, mj, cost, miss)
        want = association._gnn_numpy(3, 4, ti, mj, cost, miss)
    np.testing.assert_array_equal(got, want)
    if cells == 0:  # components: the stable sort's choice, the first of the tied pairs
        np.testing.assert_array_equal(got, [1, -1, -1, 0])


def test_gnn_without_gain_assigns_nothing():
    out = association.gnn(3, 2, np.array([0, 1]), np.array([0, 1]), np.array([9.0, 9.0]),
                          np.full(3, 5.0))
    np.testing.assert_array_equal(out, [-1, -1])
    assert association.gnn(3, 2, np.empty(0, np.int64), np.empty(0, np.int64),
                           np.empty(0), np.full(3, 5.0)).tolist() == [-1, -1]
