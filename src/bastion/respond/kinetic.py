"""Kinetic engagement geometry and kill probability, over (effector × track) pairs at once.

Pk per shot = pk_max · exp(−½ σ²/σ_scale²) · exp(−v_cross/v_scale) · (1 − ½ (r/r_max)²)
where σ is the track's predicted position error (1σ) at intercept, v_cross the target's
speed across the line of fire, r the intercept range. The functional form is ASSUMED; its
inputs are what a planner changes (sensor accuracy → σ, siting → r and v_cross).

The planner asks for a few weapons × a score of tracks per epoch, and every shot asks for
one pair: dozens of small NumPy calls each time. The geometry is compiled instead (Numba,
one pass per pair); the two exponentials stay in NumPy, whose SIMD ``exp`` can differ in
the last bit from the libm one compiled code calls. The rest is ``+ − × ÷`` and ``sqrt``
(exactly rounded) in the order of the array expressions it replaced, so results are bit
for bit the same (``tests/respond/test_kinetic.py``); ``fastmath`` is off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np
from numpy.typing import NDArray

from bastion.core.numerics import np_maximum as _maximum
from bastion.core.numerics import np_minimum as _minimum

__all__ = ["Intercepts", "intercepts"]


@dataclass(frozen=True, slots=True)
class Intercepts:
    t_flight_s: NDArray[np.float64]  # (W, T)
    point: NDArray[np.float64]  # (W, T, 3)
    range_m: NDArray[np.float64]
    sigma_m: NDArray[np.float64]
    pk: NDArray[np.float64]
    feasible: NDArray[np.bool_]  # envelope and track-quality checks only (not ROE, not doctrine)


@nb.njit(cache=True, error_model="numpy")
def _geometry(eff_pos, speed_mps, delay_s, min_range_m, max_range_m, max_alt_m,
              required_sigma_m, error_scale_m, cross_scale_mps, guided, x, P
              ):  # pragma: no cover - compiled
    # Everything but the two exponentials of Pk, per (weapon w, track i); expo[0] and
    # expo[1] receive their arguments, shape the range factor.
    nw = eff_pos.shape[0]
    nt = x.shape[0]
    tau_o = np.empty((nw, nt))
    point = np.empty((nw, nt, 3))
    rng_o = np.empty((nw, nt))
    sigma_o = np.empty((nw, nt))
    ok = np.empty((nw, nt), np.bool_)
    expo = np.empty((2, nw, nt))
    shape = np.empty((nw, nt))
    for i in range(nt):
        vx = x[i, 3]
        vy = x[i, 4]
        vz = x[i, 5]
        var_p = (P[i, 0, 0] + P[i, 1, 1] + P[i, 2, 2]) / 3.0
        var_v = (P[i, 3, 3] + P[i, 4, 4] + P[i, 5, 5]) / 3.0
        for w in range(nw):
            dl = delay_s[w]
            # position at fire time, relative to the weapon
            p0x = x[i, 0] + vx * dl
            p0y = x[i, 1] + vy * dl
            p0z = x[i, 2] + vz * dl
            dx = p0x - eff_pos[w, 0]
            dy = p0y - eff_pos[w, 1]
            dz = p0z - eff_pos[w, 2]
            s = speed_mps[w]
            a = vx * vx + vy * vy + vz * vz - s * s  # < 0 when the projectile outruns it
            b = 2 * (dx * vx + dy * vy + dz * vz)
            c = dx * dx + dy * dy + dz * dz
            disc = b * b - 4 * a * c
            tau = np.inf
            if a < 0 and disc >= 0:
                tau = (-b - math.sqrt(_maximum(disc, 0.0))) / (2 * a)
            if not tau > 0:
                tau = np.inf
            fin = np.isfinite(tau)
            tf = tau if fin else 0.0
            px = p0x + vx * tf
            py = p0y + vy * tf
            pz = p0z + vz * tf
            rx = px - eff_pos[w, 0]
            ry = py - eff_pos[w, 1]
            rz = pz - eff_pos[w, 2]
            r = math.sqrt(rx * rx + ry * ry + rz * rz)
            den = _maximum(r, 1e-9)
            ux = rx / den
            uy = ry / den
            uz = rz / den
            dot = vx * ux + vy * uy + vz * uz
            cx = vx - dot * ux
            cy = vy - dot * uy
            cz = vz - dot * uz
            v_cross = math.sqrt(cx * cx + cy * cy + cz * cz)
            # predicted position error at intercept: an unguided round flies blind for its
            # time of flight, a guided missile is corrected in flight
            blind = 0.0 if guided[w] else tf
            sigma = math.sqrt(var_p + var_v * (blind * blind))
            q = sigma / error_scale_m[w]
            expo[0, w, i] = -0.5 * (q * q)
            expo[1, w, i] = -v_cross / cross_scale_mps[w]
            f = _minimum(r / max_range_m[w], 1.0)
            shape[w, i] = 1 - 0.5 * (f * f)
            tau_o[w, i] = tau
            point[w, i, 0] = px
            point[w, i, 1] = py
            point[w, i, 2] = pz
            rng_o[w, i] = r
            sigma_o[w, i] = sigma
            ok[w, i] = (fin and r >= min_range_m[w] and r <= max_range_m[w]
                        and pz <= max_alt_m[w] and pz > 0 and sigma <= required_sigma_m[w])
    return tau_o, point, rng_o, sigma_o, ok, expo, shape


@nb.njit(cache=True, error_model="numpy")
def _pk(pk_max, e, shape, ok):  # pragma: no cover - compiled
    nw, nt = ok.shape
    pk = np.zeros((nw, nt))
    for w in range(nw):
        for i in range(nt):
            if ok[w, i]:
                pk[w, i] = pk_max[w] * e[0, w, i] * e[1, w, i] * shape[w, i]
    return pk


def intercepts(
    eff_pos: NDArray[np.float64], speed_mps: NDArray[np.float64], delay_s: NDArray[np.float64],
    min_range_m: NDArray[np.float64], max_range_m: NDArray[np.float64],
    max_alt_m: NDArray[np.float64], pk_max: NDArray[np.float64],
    required_sigma_m: NDArray[np.float64], error_scale_m: NDArray[np.float64],
    cross_scale_mps: NDArray[np.float64], guided: NDArray[np.bool_],
    x: NDArray[np.float64], P: NDArray[np.float64], *,
    burst_rounds: NDArray[np.int64] | None = None, min_alt_m: NDArray[np.float64] | None = None,
) -> Intercepts:
    """Effectors (W,) fire after ``delay_s`` at tracks with state x (T,6), covariance P (T,6,6).

    The target flies on at constant velocity; the projectile flies straight at constant
    speed, so the intercept time is the smaller positive root of a quadratic (none when the
    target outruns it). Pk is zero outside the envelope (range, altitude) or where the
    predicted error exceeds what the weapon needs. Compiled (one pass per pair, the
    exponentials in NumPy: see the module notes), bit-identical to the array expressions.

    ``burst_rounds`` (W,): a gun's shot is a burst of n rounds, pk_max is per round and the
    burst's Pk is 1 − (1 − Pk_round)^n (rounds independent). ``min_alt_m`` (W,): intercepts
    below it are infeasible (the weapon's minimum engagement height).
    """
    tau, point, rng, sigma, ok, expo, shape = _geometry(
        eff_pos, speed_mps, delay_s, min_range_m, max_range_m, max_alt_m, required_sigma_m,
        error_scale_m, cross_scale_mps, guided, x, P)
    if min_alt_m is not None and np.any(min_alt_m > 0):
        ok &= point[..., 2] >= np.asarray(min_alt_m, float)[:, None]
    pk = _pk(pk_max, np.exp(expo), shape, ok)
    if burst_rounds is not None and np.any(burst_rounds > 1):
        n = np.asarray(burst_rounds)[:, None]
        pk = np.where(n > 1, 1.0 - np.power(1.0 - pk, n), pk)
    return Intercepts(tau, point, rng, sigma, pk, ok)
