"""Threat ranking: which asset each track endangers, how likely it gets there, and when.

For each (track, asset) the straight-line prediction gives the closest point of approach;
a descending track is cut off where it meets the ground. P(reaches) is a Gaussian on the
miss distance beyond the asset's radius, with a spread that grows with time-to-go (the
track's own position and velocity uncertainty plus an ASSUMED 5 % of distance flown for
unmodelled turns). Threat value = asset value × P(hostile) × P(reaches); the asset most at
risk is the one with the largest expected loss, and tracks are ranked by time-to-go.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Threats", "assess_threats"]

_TURN_FRACTION = 0.05  # ASSUMED: cross-track uncertainty per metre flown


@dataclass(frozen=True, slots=True)
class Threats:
    asset: NDArray[np.int64]  # (n,) asset most at risk
    p_reach: NDArray[np.float64]  # (n,)
    time_to_go_s: NDArray[np.float64]  # (n,)
    value: NDArray[np.float64]  # (n,) threat value
    order: NDArray[np.int64]  # rows ranked by time-to-go (most urgent first)


def assess_threats(
    position: NDArray[np.float64], velocity: NDArray[np.float64],
    covariance: NDArray[np.float64], p_hostile: NDArray[np.float64],
    asset_xy: NDArray[np.float64], asset_radius_m: NDArray[np.float64],
    asset_value: NDArray[np.float64],
) -> Threats:
    n = position.shape[0]
    if n == 0 or asset_xy.shape[0] == 0:
        z = np.zeros(n)
        return Threats(np.zeros(n, np.int64), z, np.full(n, np.inf), z, np.arange(n))
    p = position[:, None, :2]
    v = velocity[:, None, :2]
    d = asset_xy[None, :, :] - p  # (n, A, 2)
    v2 = np.maximum(np.sum(v * v, axis=2), 1e-6)
    t_cpa = np.clip(np.sum(d * v, axis=2) / v2, 0.0, None)
    # a descending track reaches the ground after h / |vz|
    vz = velocity[:, 2]
    t_ground = np.where(vz < -0.5, position[:, 2] / np.maximum(-vz, 1e-6), np.inf)
    t_end = np.minimum(t_cpa, t_ground[:, None])
    miss = np.linalg.norm(d - v * t_end[..., None], axis=2)
    dist = np.sqrt(v2) * t_end
    var_p = np.trace(covariance[:, :2, :2], axis1=1, axis2=2)[:, None] / 2
    var_v = np.trace(covariance[:, 3:5, 3:5], axis1=1, axis2=2)[:, None] / 2
    sigma = np.sqrt(var_p + var_v * t_end**2 + (_TURN_FRACTION * dist) ** 2) + 1.0
    excess = np.maximum(miss - asset_radius_m[None, :], 0.0)
    p_reach = np.exp(-0.5 * (excess / sigma) ** 2)
    loss = asset_value[None, :] * p_reach
    a = np.argmax(loss, axis=1)
    rows = np.arange(n)
    pr = p_reach[rows, a]
    ttg = np.where(pr > 1e-3, t_end[rows, a], np.inf)
    value = asset_value[a] * pr * p_hostile
    return Threats(a.astype(np.int64), pr, ttg, value, np.argsort(ttg, kind="stable"))
