"""The compiled kernels against plain NumPy references of the same maths."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bastion.tracking import TrackerConfig
from bastion.tracking.filters import combine, imm_predict, imm_update
from bastion.tracking.kernels import component_labels
from bastion.tracking.models import MotionModels

IMM = MotionModels.from_config(TrackerConfig())
CV = MotionModels.from_config(TrackerConfig(imm=False))


def _ref_mix(w, xm, Pm):
    # Σᵢ wᵢⱼ (Pᵢ + (xᵢ − x̄ⱼ)(xᵢ − x̄ⱼ)ᵀ), written the direct way
    x0 = np.einsum("kij,kia->kja", w, xm)
    d = xm[:, :, None, :] - x0[:, None, :, :]  # (k, i, j, 6)
    P0 = np.einsum("kij,kiab->kjab", w, Pm) + np.einsum("kij,kija,kijb->kjab", w, d, d)
    return x0, P0


def _ref_predict(xm, Pm, mu, dt, models):
    F, Q = models.transition(dt)
    T = models.mode_transition(dt)
    c = np.einsum("ki,kij->kj", mu, np.broadcast_to(T, (mu.shape[0], *T.shape[1:])))
    w = mu[:, :, None] * T / c[:, None, :]
    x0, P0 = _ref_mix(w, xm, Pm)
    return (F @ x0[..., None])[..., 0], F @ P0 @ np.swapaxes(F, -1, -2) + Q, c


def _spd(rng, shape, scale):
    A = rng.normal(size=(*shape, 6, 6)) * scale
    return A @ np.swapaxes(A, -1, -2) + np.eye(6) * scale**2


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 20), imm=st.booleans(),
       offset=st.sampled_from([0.0, 3e4, 5e6]))
def test_predict_matches_numpy_reference(seed, k, imm, offset):
    rng = np.random.default_rng(seed)
    models = IMM if imm else CV
    m = models.n_models
    xm = rng.normal(size=(k, m, 6)) * 50
    xm[:, :, 0] += offset  # far from the origin: mixing must not cancel
    Pm = _spd(rng, (k, m), 5.0)
    mu = rng.dirichlet(np.ones(m), size=k)
    dt = rng.uniform(0.0, 5.0, size=k)
    xp, Pp, c = imm_predict(xm, Pm, mu, dt, models)
    xr, Pr, cr = _ref_predict(xm, Pm, mu, dt, models)
    np.testing.assert_allclose(c, cr, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(xp, xr, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(Pp, Pr, rtol=1e-9, atol=1e-9 * np.abs(Pr).max())
    assert np.array_equal(Pp, np.swapaxes(Pp, -1, -2))  # exactly symmetric


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 20))
def test_combine_matches_numpy_reference(seed, k):
    rng = np.random.default_rng(seed)
    xm = rng.normal(size=(k, 3, 6)) * 100 + 1e4
    Pm = _spd(rng, (k, 3), 3.0)
    mu = rng.dirichlet(np.ones(3), size=k)
    x, P = combine(xm, Pm, mu)
    xr, Pr = _ref_mix(mu[:, :, None], xm, Pm)
    np.testing.assert_allclose(x, xr[:, 0], rtol=1e-12)
    np.testing.assert_allclose(P, Pr[:, 0], rtol=1e-8, atol=1e-8 * np.abs(Pr).max())


def test_update_mode_probabilities_are_bayes_rule():
    rng = np.random.default_rng(2)
    k = 6
    xp = rng.normal(size=(k, 3, 6)) * 20
    Pp = _spd(rng, (k, 3), 4.0)
    c = rng.dirichlet(np.ones(3), size=k)
    z = rng.normal(size=(k, 3)) * 20
    R = np.broadcast_to(np.eye(3) * 9.0, (k, 3, 3))
    _, _, mu, loglik = imm_update(xp, Pp, c, z, R)
    S = Pp[..., :3, :3] + R[:, None]
    nu = z[:, None, :] - xp[..., :3]
    d2 = np.einsum("kma,kmab,kmb->km", nu, np.linalg.inv(S), nu)
    lik = np.exp(-0.5 * d2) / np.sqrt((2 * np.pi) ** 3 * np.linalg.det(S))
    post = c * lik
    np.testing.assert_allclose(loglik, np.log(post.sum(axis=1)), rtol=1e-10)
    expected = np.maximum(post / post.sum(axis=1, keepdims=True), 1e-6)
    np.testing.assert_allclose(mu, expected / expected.sum(axis=1, keepdims=True), rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), data=st.data())
def test_component_labels_match_scipy(n, data):
    e = data.draw(st.integers(0, 3 * n))
    a = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=e, max_size=e)), np.int64)
    b = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=e, max_size=e)), np.int64)
    label = component_labels(a, b, n)
    g = coo_matrix((np.ones(e), (a, b)), shape=(n, n))
    n_ref, ref = connected_components(g, directed=False)
    assert label.max() + 1 == n_ref
    # the same partition: the two labellings are a bijection of each other
    pairs = set(zip(label.tolist(), ref.tolist(), strict=True))
    assert len(pairs) == n_ref
    # labels are numbered in order of each component's smallest node
    first = [int(np.flatnonzero(label == c)[0]) for c in range(n_ref)]
    assert first == sorted(first)
