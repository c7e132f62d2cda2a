"""Compiled arithmetic of threat ranking (Numba; identification's is in ``identify``).

Each decision epoch assesses every confirmed track of a lock-step block (about 800 at a
time, most of them birds) against every asset. In NumPy that was some forty calls over
(n, K) and (n, A) temporaries per epoch; here the arithmetic runs in one pass per row,
leaving to NumPy only the ``exp`` and ``log`` between the passes: NumPy's SIMD versions of
those can differ in the last bit from the libm ones compiled code calls, and every result
must stay bit-identical to the NumPy expressions (``tests/sim/test_assess_kernels.py``).
Everything compiled is ``+ − × ÷`` and ``sqrt`` (exactly rounded in IEEE 754), in the
NumPy expressions' order of operations; rows never mix, so a track's result does not
depend on which other tracks share the call. ``fastmath`` is off.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from bastion.core.numerics import np_maximum as _maximum
from bastion.core.numerics import np_minimum as _minimum

__all__ = ["threat_pick", "threat_terms"]


@nb.njit(cache=True, error_model="numpy")
def threat_terms(position, velocity, covariance, asset_xy, asset_radius_m, turn_fraction
                 ):  # pragma: no cover - compiled
    """Per (track, asset): the Gaussian's exponent −½(excess/σ)² and the time t_end (n, A)
    at which the straight-line prediction is closest (or meets the ground)."""
    n = position.shape[0]
    na = asset_xy.shape[0]
    expo = np.empty((n, na))
    t_end = np.empty((n, na))
    for i in range(n):
        px = position[i, 0]
        py = position[i, 1]
        vx = velocity[i, 0]
        vy = velocity[i, 1]
        v2 = _maximum(vx * vx + vy * vy, 1e-6)
        vz = velocity[i, 2]
        # a descending track reaches the ground after h / |vz|
        t_ground = position[i, 2] / _maximum(-vz, 1e-6) if vz < -0.5 else np.inf
        var_p = (covariance[i, 0, 0] + covariance[i, 1, 1]) / 2
        var_v = (covariance[i, 3, 3] + covariance[i, 4, 4]) / 2
        sv = math.sqrt(v2)
        for a in range(na):
            dx = asset_xy[a, 0] - px
            dy = asset_xy[a, 1] - py
            t = _minimum(_maximum((dx * vx + dy * vy) / v2, 0.0), t_ground)
            mx = dx - vx * t
            my = dy - vy * t
            miss = math.sqrt(mx * mx + my * my)
            f = turn_fraction * (sv * t)
            sigma = math.sqrt(var_p + var_v * (t * t) + f * f) + 1.0
            q = _maximum(miss - asset_radius_m[a], 0.0) / sigma
            expo[i, a] = -0.5 * (q * q)
            t_end[i, a] = t
    return expo, t_end


@nb.njit(cache=True, error_model="numpy")
def threat_pick(p_reach, t_end, asset_value, p_hostile):  # pragma: no cover - compiled
    """The asset with the largest expected loss per track (first on ties, as argmax), its
    P(reaches), time-to-go (inf below 1e-3) and threat value."""
    n, na = p_reach.shape
    asset = np.empty(n, np.int64)
    pr = np.empty(n)
    ttg = np.empty(n)
    value = np.empty(n)
    for i in range(n):
        best = 0
        top = asset_value[0] * p_reach[i, 0]
        if top == top:  # argmax stops at the first NaN
            for a in range(1, na):
                loss = asset_value[a] * p_reach[i, a]
                if loss != loss:
                    best = a
                    break
                if loss > top:
                    best = a
                    top = loss
        p = p_reach[i, best]
        asset[i] = best
        pr[i] = p
        ttg[i] = t_end[i, best] if p > 1e-3 else np.inf
        value[i] = asset_value[best] * p * p_hostile[i]
    return asset, pr, ttg, value
