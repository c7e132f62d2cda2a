"""Kinetic engagement geometry and kill probability, over (effector × track) pairs at once.

Pk per shot = pk_max · exp(−½ σ²/σ_scale²) · exp(−v_cross/v_scale) · (1 − ½ (r/r_max)²)
where σ is the track's predicted position error (1σ) at intercept, v_cross the target's
speed across the line of fire, r the intercept range. The functional form is ASSUMED; its
inputs are what a planner changes (sensor accuracy → σ, siting → r and v_cross).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Intercepts", "intercepts"]


@dataclass(frozen=True, slots=True)
class Intercepts:
    t_flight_s: NDArray[np.float64]  # (W, T)
    point: NDArray[np.float64]  # (W, T, 3)
    range_m: NDArray[np.float64]
    sigma_m: NDArray[np.float64]
    pk: NDArray[np.float64]
    feasible: NDArray[np.bool_]  # envelope and track-quality checks only (not ROE, not doctrine)


def intercepts(
    eff_pos: NDArray[np.float64], speed_mps: NDArray[np.float64], delay_s: NDArray[np.float64],
    min_range_m: NDArray[np.float64], max_range_m: NDArray[np.float64],
    max_alt_m: NDArray[np.float64], pk_max: NDArray[np.float64],
    required_sigma_m: NDArray[np.float64], error_scale_m: NDArray[np.float64],
    cross_scale_mps: NDArray[np.float64], guided: NDArray[np.bool_],
    x: NDArray[np.float64], P: NDArray[np.float64],
) -> Intercepts:
    """Effectors (W,) fire after ``delay_s`` at tracks with state x (T,6), covariance P (T,6,6)."""
    pos0 = x[None, :, :3] + x[None, :, 3:] * delay_s[:, None, None]  # (W, T, 3) at fire time
    v = np.broadcast_to(x[None, :, 3:], pos0.shape)
    d = pos0 - eff_pos[:, None, :]
    s = speed_mps[:, None]
    a = np.sum(v * v, axis=2) - s**2  # < 0 whenever the projectile outruns the target
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
    # predicted position error at intercept. The track keeps updating until the shot, so
    # the delay before firing does not count; an unguided round then flies blind for its
    # time of flight, while a guided missile is corrected in flight (hand-over error only).
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
    return Intercepts(tau, point, rng, sigma, np.where(ok, pk, 0.0), ok)
