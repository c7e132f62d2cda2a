"""Compiled threat ranking equals the NumPy expressions bit for bit; compiled identification
equals its NumPy statement to rounding (its kernel calls libm's exp and log)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.assess import assess_threats, classify
from bastion.assess.identify import IdentModel
from bastion.scenario import load_scenario

_MODEL = IdentModel.from_scenario(load_scenario("khmeimim-2025"))  # profiles of every class


def classify_ref(velocity, covariance, evidence, altitude, m=_MODEL):
    """log P(c) = log prior + log Σ_p∈c w_p N(speed) N(alt) + evidence, normalised."""
    n = velocity.shape[0]
    if n == 0:
        return np.zeros((0, 3))
    speed = np.linalg.norm(velocity, axis=1)
    var_v = np.trace(covariance[:, 3:, 3:], axis1=1, axis2=2) / 3.0
    sd = np.sqrt(m.speed[None, :, 1] ** 2 + var_v[:, None])
    sa = np.sqrt(m.alt[None, :, 1] ** 2 + covariance[:, 2, 2][:, None])
    term = (m.log_w[None, :] - 0.5 * ((speed[:, None] - m.speed[None, :, 0]) / sd) ** 2
            - np.log(sd) - 0.5 * ((altitude[:, None] - m.alt[None, :, 0]) / sa) ** 2
            - np.log(sa))
    logp = np.empty((n, 3))
    for c in range(3):
        t = term[:, m.cls == c]
        mx = t.max(axis=1)
        logp[:, c] = np.log(m.prior[c]) + mx + np.log(np.exp(t - mx[:, None]).sum(axis=1))
    logp += evidence
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=1, keepdims=True)


def threats_ref(position, velocity, covariance, p_hostile, asset_xy, asset_radius_m,
                asset_value):
    n = position.shape[0]
    p = position[:, None, :2]
    v = velocity[:, None, :2]
    d = asset_xy[None, :, :] - p
    v2 = np.maximum(np.sum(v * v, axis=2), 1e-6)
    t_cpa = np.clip(np.sum(d * v, axis=2) / v2, 0.0, None)
    vz = velocity[:, 2]
    t_ground = np.where(vz < -0.5, position[:, 2] / np.maximum(-vz, 1e-6), np.inf)
    t_end = np.minimum(t_cpa, t_ground[:, None])
    miss = np.linalg.norm(d - v * t_end[..., None], axis=2)
    dist = np.sqrt(v2) * t_end
    var_p = np.trace(covariance[:, :2, :2], axis1=1, axis2=2)[:, None] / 2
    var_v = np.trace(covariance[:, 3:5, 3:5], axis1=1, axis2=2)[:, None] / 2
    sigma = np.sqrt(var_p + var_v * t_end**2 + (0.05 * dist) ** 2) + 1.0
    excess = np.maximum(miss - asset_radius_m[None, :], 0.0)
    p_reach = np.exp(-0.5 * (excess / sigma) ** 2)
    loss = asset_value[None, :] * p_reach
    a = np.argmax(loss, axis=1)
    rows = np.arange(n)
    pr = p_reach[rows, a]
    ttg = np.where(pr > 1e-3, t_end[rows, a], np.inf)
    value = asset_value[a] * pr * p_hostile
    return a, pr, ttg, value, np.argsort(ttg, kind="stable")


def _tracks(rng: np.random.Generator, n: int):
    """Track states as decide passes them: (n, 6) views of a wider table, covariances with
    a spread of sizes, some tracks at rest, some descending, some right over an asset."""
    x = np.empty((n, 6))
    x[:, :2] = rng.normal(0, 8000, (n, 2))
    x[:, 2] = rng.uniform(0, 600, n)
    x[:, 3:5] = rng.normal(0, 30, (n, 2)) * rng.choice([0.0, 1e-4, 1.0, 4.0], (n, 1))
    x[:, 5] = rng.choice([0.0, -0.4, -0.6, -5.0, 3.0], n)
    A = rng.normal(size=(n, 6, 6)) * rng.choice([1e-3, 1.0, 30.0, 1e3], (n, 1, 1))
    P = A @ np.swapaxes(A, 1, 2)
    return x, P


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300))
def test_classify_matches_numpy(seed, n):
    rng = np.random.default_rng(seed)
    x, P = _tracks(rng, n)
    ev = rng.normal(0, 3, (n, 3)) * (rng.random((n, 1)) < 0.7)
    ev[rng.random((n, 3)) < 0.05] = -np.inf  # a report that rules a class out
    with np.errstate(invalid="ignore"):
        want = classify_ref(x[:, 3:], P, ev, x[:, 2])
    got = classify(x[:, 3:], P, ev, model=_MODEL, altitude_m=x[:, 2])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), na=st.integers(1, 6))
def test_assess_threats_matches_numpy(seed, n, na):
    rng = np.random.default_rng(seed)
    x, P = _tracks(rng, n)
    enu = np.column_stack([rng.normal(0, 3000, (na, 2)), np.zeros(na)])
    # some tracks on an asset, some flying straight at one
    on = rng.random(n) < 0.1
    x[on, :2] = enu[rng.integers(0, na, int(on.sum())), :2]
    radius = rng.uniform(0, 200, na)
    value = rng.choice([1.0, 4.0, 10.0], na)  # equal values: ties between assets
    ph = rng.random(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        want = threats_ref(x[:, :3], x[:, 3:], P, ph, enu[:, :2], radius, value)
    got = assess_threats(x[:, :3], x[:, 3:], P, ph, enu[:, :2], radius, value)
    for g, w, name in zip((got.asset, got.p_reach, got.time_to_go_s, got.value, got.order),
                          want, ("asset", "p_reach", "ttg", "value", "order"), strict=True):
        assert g.dtype == w.dtype and g.tobytes() == w.tobytes(), name
