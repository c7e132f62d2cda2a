"""Rules of engagement: P(debris or rounds fall in a no-fire zone) for a planned intercept.

Debris of a drone killed at height h falls for about √(2h/g)·k_drag, carried forward by a
fraction of the drone's ground velocity and drifted by the wind; it spreads with height.
Gun rounds that miss fly on along the line of fire and come down anywhere up to the
round's maximum range. Each footprint is represented by fixed quasi-random sample points
(a Halton set mapped to the footprint), so P(in zone) is a deterministic, smooth function
of the geometry and the planner's choices — not a noisy draw.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.path import Path
from numpy.typing import NDArray
from scipy.stats import qmc

__all__ = ["DEBRIS", "NoFireZones"]

G = 9.81


class DEBRIS:
    """ASSUMED debris model constants (fragments of a small airframe)."""

    DRAG_FALL_FACTOR = 1.5  # fall time vs. vacuum
    FORWARD_CARRY = 0.5  # share of ground velocity carried through the fall
    SPREAD_PER_M = 0.15  # footprint σ per metre of height
    SPREAD_MIN_M = 20.0
    LATERAL_ROUND_SPREAD = 0.01  # σ of rounds across the line of fire, per metre flown


_N = 128
_HALTON = qmc.Halton(d=2, scramble=False).random(_N + 1)[1:]
_NORMAL = np.stack([np.sqrt(-2 * np.log(1 - _HALTON[:, 0])) * np.cos(2 * np.pi * _HALTON[:, 1]),
                    np.sqrt(-2 * np.log(1 - _HALTON[:, 0])) * np.sin(2 * np.pi * _HALTON[:, 1])],
                   axis=1)


def debris_mean(point: NDArray[np.float64], vel: NDArray[np.float64],
                wind: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean ground point (..., 2) and σ (...) of the debris of a kill at ``point``."""
    h = np.maximum(point[..., 2], 0.0)
    t_fall = np.sqrt(2 * h / G) * DEBRIS.DRAG_FALL_FACTOR
    mean = point[..., :2] + (DEBRIS.FORWARD_CARRY * vel[..., :2] + wind[:2]) * t_fall[..., None]
    sigma = DEBRIS.SPREAD_MIN_M + DEBRIS.SPREAD_PER_M * h
    return mean, sigma


class NoFireZones:
    def __init__(self, polygons: list[NDArray[np.float64]]) -> None:
        self.paths = [Path(p) for p in polygons]

    def __bool__(self) -> bool:
        return bool(self.paths)

    def contains(self, xy: NDArray[np.float64]) -> NDArray[np.bool_]:
        flat = xy.reshape(-1, 2)
        inside = np.zeros(flat.shape[0], bool)
        for p in self.paths:
            inside |= p.contains_points(flat)
        return inside.reshape(xy.shape[:-1])

    def zone_of(self, xy: NDArray[np.float64]) -> int:
        """Index of the first zone containing the ground point ``xy`` (2,), -1 for none."""
        for i, p in enumerate(self.paths):
            if p.contains_point((float(xy[0]), float(xy[1]))):
                return i
        return -1

    def p_debris(self, point: NDArray[np.float64], vel: NDArray[np.float64],
                 wind: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(debris in a zone) for intercepts at ``point`` (..., 3) with velocity (..., 3)."""
        if not self.paths:
            return np.zeros(point.shape[:-1])
        mean, sigma = debris_mean(point, vel, wind)
        pts = mean[..., None, :] + sigma[..., None, None] * _NORMAL
        return self.contains(pts).mean(axis=-1)

    def p_rounds(self, shooter: NDArray[np.float64], point: NDArray[np.float64],
                 max_range_m: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(a missed round lands in a zone): uniform along the line of fire beyond the target."""
        if not self.paths:
            return np.zeros(point.shape[:-1])
        d = point[..., :2] - shooter[..., :2]
        r = np.linalg.norm(d, axis=-1)
        u = d / np.maximum(r, 1e-9)[..., None]
        perp = np.stack([-u[..., 1], u[..., 0]], axis=-1)
        beyond = np.maximum(max_range_m - r, 0.0)
        s = r[..., None] + _HALTON[:, 0] * beyond[..., None]
        lat = DEBRIS.LATERAL_ROUND_SPREAD * s * _NORMAL[:, 1]
        pts = (shooter[..., None, :2] + u[..., None, :] * s[..., None]
               + perp[..., None, :] * lat[..., None])
        return self.contains(pts).mean(axis=-1)

    def sample_debris(self, point: NDArray[np.float64], vel: NDArray[np.float64],
                      wind: NDArray[np.float64], u2: NDArray[np.float64]) -> NDArray[np.float64]:
        """One debris ground point from two uniforms (for the outcome, not the plan)."""
        mean, sigma = debris_mean(point, vel, wind)
        r = math.sqrt(-2 * math.log(u2[0]))
        return mean + sigma * r * np.array([math.cos(2 * math.pi * u2[1]),
                                            math.sin(2 * math.pi * u2[1])])
