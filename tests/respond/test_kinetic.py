"""The compiled intercept geometry equals the array expressions it replaced, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.respond.kinetic import intercepts


def intercepts_ref(eff_pos, speed_mps, delay_s, min_range_m, max_range_m, max_alt_m, pk_max,
                   required_sigma_m, error_scale_m, cross_scale_mps, guided, x, P):
    pos0 = x[None, :, :3] + x[None, :, 3:] * delay_s[:, None, None]
    v = np.broadcast_to(x[None, :, 3:], pos0.shape)
    d = pos0 - eff_pos[:, None, :]
    s = speed_mps[:, None]
    a = np.sum(v * v, axis=2) - s**2
    b = 2 * np.sum(d * v, axis=2)
    c = np.sum(d * d, axis=2)
    disc = b * b - 4 * a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where((a < 0) & (disc >= 0), (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a),
                       np.inf)
    tau = np.where(tau > 0, tau, np.inf)
    fin = np.isfinite(tau)
    tau_f = np.where(fin, tau, 0.0)
    point = pos0 + v * tau_f[..., None]
    rel = point - eff_pos[:, None, :]
    rng = np.linalg.norm(rel, axis=2)
    u = rel / np.maximum(rng, 1e-9)[..., None]
    v_cross = np.linalg.norm(v - np.sum(v * u, axis=2)[..., None] * u, axis=2)
    var_p = np.trace(P[:, :3, :3], axis1=1, axis2=2) / 3.0
    var_v = np.trace(P[:, 3:, 3:], axis1=1, axis2=2) / 3.0
    blind = np.where(guided[:, None], 0.0, tau_f)
    sigma = np.sqrt(var_p[None, :] + var_v[None, :] * blind**2)
    pk = (pk_max[:, None] * np.exp(-0.5 * (sigma / error_scale_m[:, None]) ** 2)
          * np.exp(-v_cross / cross_scale_mps[:, None])
          * (1 - 0.5 * (np.minimum(rng / max_range_m[:, None], 1.0)) ** 2))
    ok = fin & (rng >= min_range_m[:, None]) & (rng <= max_range_m[:, None])
    ok &= (point[..., 2] <= max_alt_m[:, None]) & (point[..., 2] > 0)
    ok &= sigma <= required_sigma_m[:, None]
    return tau, point, rng, sigma, np.where(ok, pk, 0.0), ok


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), nw=st.integers(1, 7), nt=st.integers(0, 40))
def test_intercepts_match_numpy(seed, nw, nt):
    rng = np.random.default_rng(seed)
    eff_pos = np.column_stack([rng.normal(0, 2000, (nw, 2)), rng.uniform(0, 20, nw)])
    speed = rng.choice([20.0, 300.0, 900.0, 1000.0], nw)  # some slower than their targets
    delay = rng.choice([0.0, 2.5, 6.0], nw)
    min_r = rng.choice([0.0, 200.0, 1200.0], nw)
    max_r = rng.choice([1500.0, 4000.0, 10000.0, 20000.0], nw)
    max_alt = rng.choice([300.0, 3000.0, 15000.0], nw)
    pk_max = rng.uniform(0.2, 0.95, nw)
    req = rng.choice([5.0, 40.0, 200.0], nw)
    err = rng.uniform(2.0, 30.0, nw)
    cross = rng.uniform(20.0, 300.0, nw)
    guided = rng.random(nw) < 0.5
    wide = np.empty((nt, 9))  # tracks as views of a wider table, as the planner slices them
    x = wide[:, 1:7]
    x[:, :2] = rng.normal(0, 6000, (nt, 2))
    x[:, 2] = rng.uniform(-50, 800, nt)
    x[:, 3:] = rng.normal(0, 40, (nt, 3)) * rng.choice([0.0, 1.0, 30.0], (nt, 1))
    A = rng.normal(size=(nt, 6, 6)) * rng.choice([0.1, 3.0, 30.0], (nt, 1, 1))
    P = A @ np.swapaxes(A, 1, 2)
    args = (eff_pos, speed, delay, min_r, max_r, max_alt, pk_max, req, err, cross, guided, x, P)
    got = intercepts(*args)
    want = intercepts_ref(*args)
    for name, w in zip(("t_flight_s", "point", "range_m", "sigma_m", "pk", "feasible"), want,
                       strict=True):
        g = getattr(got, name)
        assert g.dtype == w.dtype and g.shape == w.shape, name
        assert g.tobytes() == w.tobytes(), name


def test_zero_scales_give_numpys_inf_and_nan_not_an_exception():
    # A user's effector table with a zero scale divides by zero: the compiled code follows
    # NumPy's rules (inf / NaN, no exception), as the array expressions it replaced did.
    rng = np.random.default_rng(5)
    x = np.column_stack([rng.normal(0, 3000, (4, 2)), np.full(4, 300.0), rng.normal(0, 30, (4, 3))])
    P = np.broadcast_to(np.eye(6) * 25.0, (4, 6, 6)).copy()
    one = np.ones(1)
    args = (np.zeros((1, 3)), one * 900.0, one * 2.0, one * 0.0, one * 0.0, one * 5000.0,
            one * 0.8, one * 50.0, one * 0.0, one * 0.0, np.zeros(1, bool), x, P)
    with np.errstate(all="ignore"):
        want = intercepts_ref(*args)
    got = intercepts(*args)
    for name, w in zip(("t_flight_s", "point", "range_m", "sigma_m", "pk", "feasible"), want,
                       strict=True):
        assert getattr(got, name).tobytes() == w.tobytes(), name
