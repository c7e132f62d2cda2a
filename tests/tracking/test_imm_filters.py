import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.tracking import TrackerConfig
from bastion.tracking.filters import combine, imm_predict, imm_update
from bastion.tracking.linalg import inv_det_sym3, mahalanobis_sym6
from bastion.tracking.models import MotionModels

CV = MotionModels.from_config(TrackerConfig(imm=False, q_cv_m2_s3=2.0, q_vertical_m2_s3=2.0))
IMM = MotionModels.from_config(TrackerConfig())


def _random_spd(rng, n, dim, scale):
    A = rng.normal(size=(n, dim, dim)) * scale
    return A @ np.swapaxes(A, 1, 2) + np.eye(dim) * scale**2 * 0.1


def test_cv_model_matches_textbook_matrices():
    F, Q = CV.transition(np.array([2.0]))
    F1, Q1 = F[0, 0], Q[0, 0]
    expected_F = np.eye(6)
    expected_F[:3, 3:] = 2.0 * np.eye(3)
    np.testing.assert_allclose(F1, expected_F, atol=1e-12)
    q = 2.0
    np.testing.assert_allclose(Q1[0, 0], q * 8 / 3)
    np.testing.assert_allclose(Q1[0, 3], q * 2)
    np.testing.assert_allclose(Q1[3, 3], q * 2)


@settings(max_examples=30, deadline=None)
@given(dt=st.floats(0.01, 10.0), vx=st.floats(-60, 60), vy=st.floats(-60, 60))
def test_turn_models_rotate_velocity_keep_speed(dt, vx, vy):
    F, _ = IMM.transition(np.array([dt]))
    x = np.array([0.0, 0.0, 0.0, vx, vy, 1.0])
    for m, w in enumerate(IMM.turn_rate_rad_s):
        y = F[0, m] @ x
        np.testing.assert_allclose(np.hypot(y[3], y[4]), np.hypot(vx, vy), atol=1e-9)
        heading_change = np.arctan2(y[4], y[3]) - np.arctan2(vy, vx)
        if np.hypot(vx, vy) > 1:
            d = (heading_change - w * dt + np.pi) % (2 * np.pi) - np.pi
            assert abs(d) < 1e-9
        assert y[2] == 1.0 * dt  # vertical is CV


def test_mode_transition_is_stochastic_and_scan_period_consistent():
    T1 = IMM.mode_transition(np.array([1.0]))[0]
    T2 = IMM.mode_transition(np.array([2.0]))[0]
    np.testing.assert_allclose(T1.sum(axis=1), 1.0)
    np.testing.assert_allclose(T1 @ T1, T2, atol=1e-12)  # continuous-time chain


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 8))
def test_kalman_update_reduces_covariance(seed, k):
    rng = np.random.default_rng(seed)
    P = _random_spd(rng, k, 6, 10.0)[:, None]
    x = rng.normal(size=(k, 1, 6)) * 100
    R = _random_spd(rng, k, 3, 5.0)
    z = rng.normal(size=(k, 3)) * 100
    _, Pm, mu, _ = imm_update(x, P, np.ones((k, 1)), z, R)
    # P - P+ must be positive semi-definite and P+ positive definite.
    diff = np.linalg.eigvalsh(P[:, 0] - Pm[:, 0])
    assert np.all(diff > -1e-7 * np.abs(P).max())
    assert np.all(np.linalg.eigvalsh(Pm[:, 0]) > 0)
    np.testing.assert_allclose(mu, 1.0)


def test_single_model_update_equals_textbook_kalman():
    rng = np.random.default_rng(3)
    P = _random_spd(rng, 1, 6, 4.0)
    x = rng.normal(size=(1, 6))
    R = _random_spd(rng, 1, 3, 2.0)
    z = rng.normal(size=(1, 3))
    H = np.hstack([np.eye(3), np.zeros((3, 3))])
    S = H @ P[0] @ H.T + R[0]
    K = P[0] @ H.T @ np.linalg.inv(S)
    x_ref = x[0] + K @ (z[0] - H @ x[0])
    P_ref = (np.eye(6) - K @ H) @ P[0]
    xm, Pm, _, loglik = imm_update(x[:, None], P[:, None], np.ones((1, 1)), z, R)
    np.testing.assert_allclose(xm[0, 0], x_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(Pm[0, 0], P_ref, rtol=1e-9, atol=1e-9)
    nu = z[0] - x[0, :3]
    ll = -0.5 * (nu @ np.linalg.solve(S, nu) + np.log(np.linalg.det(S)) + 3 * np.log(2 * np.pi))
    np.testing.assert_allclose(loglik[0], ll)


def test_imm_mode_probabilities_follow_the_turn():
    # A target turning left at the model's rate: the left-turn mode must win.
    rng = np.random.default_rng(5)
    w = IMM.turn_rate_rad_s[1]
    k, m = 1, IMM.n_models
    xm = np.zeros((k, m, 6))
    xm[:, :, 3] = 40.0
    Pm = np.broadcast_to(np.diag([25.0, 25, 25, 4, 4, 4]), (k, m, 6, 6)).copy()
    mu = np.full((k, m), 1 / m)
    truth = np.array([0.0, 0.0, 0.0, 40.0, 0.0, 0.0])
    F, _ = IMM.transition(np.array([1.0]))
    R = np.eye(3)[None] * 4.0
    for _ in range(15):
        truth = F[0, 1] @ truth
        xp, Pp, c = imm_predict(xm, Pm, mu, np.ones(k), IMM)
        xm, Pm, mu, _ = imm_update(xp, Pp, c, truth[None, :3] + rng.normal(0, 2, (1, 3)), R)
    assert w > 0 and mu[0, 1] > 0.8
    x, P = combine(xm, Pm, mu)
    assert np.linalg.norm(x[0, :3] - truth[:3]) < 10.0
    assert np.all(np.linalg.eigvalsh(P[0]) > 0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_closed_form_3x3_algebra_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    S = _random_spd(rng, 5, 3, rng.uniform(0.1, 1000))
    inv, det = inv_det_sym3(S)
    np.testing.assert_allclose(inv @ S, np.broadcast_to(np.eye(3), S.shape), atol=1e-8)
    np.testing.assert_allclose(det, np.linalg.det(S), rtol=1e-9)
    nu = rng.normal(size=(5, 3))
    S6 = S.reshape(5, 9)[:, [0, 1, 2, 4, 5, 8]]
    d2, det6 = mahalanobis_sym6(S6.T, nu.T)
    ref = np.einsum("ki,kij,kj->k", nu, np.linalg.inv(S), nu)
    np.testing.assert_allclose(d2, ref, rtol=1e-8)
    np.testing.assert_allclose(det6, det, rtol=1e-9)
