"""The grid pre-gate proposes exactly the pairs within each track's radius, and gating through it
gives exactly what the k-d tree pre-gate it replaced gave (the NumPy reference gate on the k-d
tree against the compiled gate, which has its own grid)."""

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial import cKDTree
from scipy.stats import chi2

from bastion.tracking import gating
from bastion.tracking.gating import gate


def _kdtree_pairs(pos, radius, z):
    """The previous pre-gate, kept as the reference: pairs sorted by track, then report."""
    hits = cKDTree(z).query_ball_point(pos, radius)
    lens = np.fromiter(map(len, hits), dtype=np.int64, count=len(hits))
    if lens.sum() == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e
    ti = np.repeat(np.arange(pos.shape[0]), lens)
    mj = np.concatenate([h for h in hits if h]).astype(np.int64)
    return ti, mj


def _brute_pairs(pos, radius, z):
    # Same distance expression as the pre-gate, so ties at exactly the radius agree (and NaN
    # fails the comparison).
    d = z[None, :, :] - pos[:, None, :]
    d2 = d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1] + d[..., 2] * d[..., 2]
    ti, mj = np.nonzero(d2 <= (radius * radius)[:, None])  # row-major: by track, then report
    return ti.astype(np.int64), mj.astype(np.int64)


def _assert_pairs_equal(got, want):
    for a, b in zip(got, want, strict=True):
        assert a.dtype == np.int64
        np.testing.assert_array_equal(a, b)


# Coordinates: small integers (so many pairs sit exactly on a radius, e.g. 3-4-5, and many
# points coincide) or any floats, scaled and shifted east as in a block of replications.
_INT = st.integers(-6, 6).map(float)
_FLOAT = st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False)


@st.composite
def _scenes(draw):
    n = draw(st.integers(0, 25))
    m = draw(st.integers(0, 40))
    elem = draw(st.sampled_from([_INT, _FLOAT]))
    pos = draw(arrays(np.float64, (n, 3), elements=elem))
    z = draw(arrays(np.float64, (m, 3), elements=elem))
    radius = draw(arrays(np.float64, n, elements=st.one_of(
        st.just(0.0), st.integers(0, 8).map(float), st.floats(0.0, 30.0))))
    if m and draw(st.booleans()):
        z[:] = z[0]  # every report at one point
    if n and m and draw(st.booleans()):
        k = min(n // 2, m)
        pos[:k] = z[:k]  # tracks exactly on reports
    if n and draw(st.integers(0, 9)) == 0:
        radius[0] = np.inf
    if n and draw(st.integers(0, 9)) == 0:
        radius[-1] = np.nan  # no pair, and no effect on the other tracks
    if n and draw(st.integers(0, 9)) == 0:
        pos[-1, draw(st.integers(0, 2))] = np.nan
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    east = draw(st.sampled_from([0.0, 6.4e7]))  # far east, as the last of 64 replications
    shift = np.array([east, 0.0, 0.0])
    return pos * scale + shift, radius * scale, z * scale + shift


# The compiled pre-gate and its NumPy reference.
_PREGATES = [gating._grid_pairs, gating._grid_pairs_numpy]


@settings(max_examples=400, deadline=None)
@given(scene=_scenes())
def test_grid_pregate_gives_exactly_the_pairs_within_the_radius(scene):
    pos, radius, z = scene
    want = _brute_pairs(pos, radius, z)
    for pregate in _PREGATES:
        _assert_pairs_equal(pregate(pos, radius, z), want)


@settings(max_examples=50, deadline=None)
@given(scene=_scenes(), chunk=st.integers(1, 7))
def test_grid_pregate_in_chunks_gives_the_same_pairs(scene, chunk):
    pos, radius, z = scene
    want = _brute_pairs(pos, radius, z)
    for pregate in _PREGATES:
        with mock.patch.object(gating, "_CHUNK_PAIRS", chunk):
            got = pregate(pos, radius, z)
        _assert_pairs_equal(got, want)


def _problem(rng, n, m, n_blocks, spacing_m, time_spread):
    """Tracks and reports spread over ``n_blocks`` areas laid side by side eastwards."""
    x = np.zeros((n, 6))
    x[:, :3] = rng.uniform(-3000, 3000, (n, 3))
    x[:, 0] += rng.integers(0, n_blocks, n) * spacing_m
    x[:, 3:] = rng.normal(0, 30, (n, 3))
    A = rng.normal(size=(n, 6, 6)) * rng.uniform(0.5, 20, (n, 1, 1))
    P = A @ np.swapaxes(A, 1, 2) + np.diag([20.0, 20, 20, 4, 4, 4])
    near = rng.integers(0, n, m)  # reports near tracks, plus clutter
    z = x[near, :3] + rng.normal(0, 60, (m, 3))
    clutter = rng.random(m) < 0.3
    z[clutter] = rng.uniform(-3000, 3000, (int(clutter.sum()), 3))
    z[clutter, 0] += rng.integers(0, n_blocks, int(clutter.sum())) * spacing_m
    z[rng.random(m) < 0.1] = z[0]  # duplicated reports
    B = rng.normal(size=(m, 3, 3)) * 4
    R = B @ np.swapaxes(B, 1, 2) + np.eye(3)
    t_tr = rng.uniform(0, 0.5, n) if time_spread else np.zeros(n)
    t_rep = rng.uniform(0.5, 2.0, m) if time_spread else np.zeros(m)
    return x, P, t_tr, z, R, t_rep


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 300), m=st.integers(1, 300),
       n_blocks=st.sampled_from([1, 4, 64]), time_spread=st.booleans())
def test_gate_output_identical_to_kdtree_pregate(seed, n, m, n_blocks, time_spread):
    rng = np.random.default_rng(seed)
    args = _problem(rng, n, m, n_blocks, 1.0e6, time_spread)
    G = chi2.ppf(0.999, 3)
    new = gate(*args, G, 5.0, dense_pairs_max=0)
    # The NumPy reference (which the compiled gate matches bit for bit) on the k-d tree.
    with mock.patch.object(gating, "_grid_pairs_numpy", _kdtree_pairs):
        old = gating._gate_numpy(*args, G, 5.0, dense_pairs_max=0)
    for f in ("track", "report", "d2", "log_det_s"):
        a, b = getattr(new, f), getattr(old, f)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    # Sorted by track, then report, each pair once.
    key = new.track * m + new.report
    assert np.all(np.diff(key) > 0)


def test_gate_on_a_block_of_replications_matches_kdtree_and_dense():
    # A block-sized problem (64 areas 1,000 km apart, ~1,000 tracks) through all three paths.
    rng = np.random.default_rng(3)
    args = _problem(rng, 1000, 900, 64, 1.0e6, True)
    G = chi2.ppf(0.999, 3)
    new = gate(*args, G, 5.0, dense_pairs_max=0)
    with mock.patch.object(gating, "_grid_pairs_numpy", _kdtree_pairs):
        old = gating._gate_numpy(*args, G, 5.0, dense_pairs_max=0)
    dense = gate(*args, G, 5.0, dense_pairs_max=10**9)
    assert new.track.size > 200
    for f in ("track", "report", "d2", "log_det_s"):
        np.testing.assert_array_equal(getattr(new, f), getattr(old, f))
    np.testing.assert_array_equal(new.track, dense.track)
    np.testing.assert_array_equal(new.report, dense.report)
    np.testing.assert_allclose(new.d2, dense.d2, rtol=1e-9)
