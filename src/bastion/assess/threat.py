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

from bastion.assess.kernels import threat_pick, threat_terms

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
    # compiled arithmetic, NumPy's exp between (see assess.kernels). Per (track, asset):
    # closest approach of the straight line, cut at the ground if descending; the miss
    # distance beyond the asset's radius against σ² = position variance + velocity
    # variance·t² + (5 % of the distance flown)², plus a metre.
    # contiguous copies: callers pass column slices of a state array or fresh arrays, and
    # each layout would otherwise be a kernel compiled (and warmed up) of its own
    position, velocity = np.ascontiguousarray(position), np.ascontiguousarray(velocity)
    expo, t_end = threat_terms(position, velocity, covariance, asset_xy, asset_radius_m,
                               _TURN_FRACTION)
    a, pr, ttg, value = threat_pick(np.exp(expo), t_end, np.ascontiguousarray(asset_value),
                                    np.ascontiguousarray(p_hostile))
    return Threats(a, pr, ttg, value, np.argsort(ttg, kind="stable"))
