import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from bastion.tracking.gating import gate


def _tracks(rng, n, spread_m=5000.0):
    x = np.zeros((n, 6))
    x[:, :3] = rng.uniform(-spread_m, spread_m, (n, 3))
    x[:, 3:] = rng.normal(0, 20, (n, 3))
    A = rng.normal(size=(n, 6, 6))
    P = A @ np.swapaxes(A, 1, 2) + np.diag([20.0, 20, 20, 4, 4, 4])
    return x, P


def test_fraction_inside_gate_matches_chi_square():
    # Reports drawn from the predicted distribution fall inside the gate with the gate's
    # probability.
    rng = np.random.default_rng(0)
    n = 4000
    x, P = _tracks(rng, n)
    R = np.broadcast_to(np.eye(3) * 9.0, (n, 3, 3))
    S = P[:, :3, :3] + R
    z = x[:, :3] + np.einsum("kij,kj->ki", np.linalg.cholesky(S), rng.normal(size=(n, 3)))
    G = chi2.ppf(0.99, 3)
    t = np.zeros(n)
    # Gate each track against its own report only (one at a time through the same code path).
    pairs = gate(x, P, t, z, R, t, G, 1.0, dense_pairs_max=0)
    own = pairs.track == pairs.report
    frac = own.sum() / n
    assert abs(frac - 0.99) < 0.006
    ref = np.einsum("ki,kij,kj->k", z - x[:, :3], np.linalg.inv(S), z - x[:, :3])
    np.testing.assert_allclose(pairs.d2[own], ref[pairs.track[own]], rtol=1e-8)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 40), m=st.integers(1, 60),
       time_spread=st.booleans())
def test_spatial_pregate_never_loses_a_pair(seed, n, m, time_spread):
    rng = np.random.default_rng(seed)
    x, P = _tracks(rng, n, spread_m=300.0)
    z = rng.uniform(-400, 400, (m, 3))
    A = rng.normal(size=(m, 3, 3)) * 3
    R = A @ np.swapaxes(A, 1, 2) + np.eye(3)
    t_tr = rng.uniform(0, 0.5, n) if time_spread else np.zeros(n)
    t_rep = rng.uniform(0.5, 2.0, m) if time_spread else np.zeros(m)
    G = chi2.ppf(0.999, 3)
    dense = gate(x, P, t_tr, z, R, t_rep, G, 5.0, dense_pairs_max=10**9)
    tree = gate(x, P, t_tr, z, R, t_rep, G, 5.0, dense_pairs_max=0)
    a = sorted(zip(dense.track.tolist(), dense.report.tolist(), strict=True))
    b = sorted(zip(tree.track.tolist(), tree.report.tolist(), strict=True))
    assert a == b
    assert np.all(dense.d2 <= G)
