"""Polar (range, azimuth, elevation) reports to unbiased ENU positions and covariances.

Method: the *unbiased converted measurement* (UCM) of Mo, Song, Zhou, Sun & Bar-Shalom,
"Unbiased converted measurements for tracking", IEEE Trans. AES 34(3), 1998, with the
covariance conditioned on the measured values as corrected by Duan, Han & Li, "Comments on
'Unbiased converted measurements for tracking'", IEEE Trans. AES 40(4), 2004.

With Gaussian angle noise, E[cos(θ + w)] = λ cos θ where λ = exp(-σ²/2): the naive conversion
r cos(e) sin(a) is biased towards the sensor by the factor λ_a λ_e, which matters when the
cross-range error is large (σ_a = 2 mrad at 15 km is 30 m, against a few metres in range).
Dividing by those factors removes the bias. The covariance is E[(z_u - z)(z_u - z)ᵀ | measured
values], computed in closed form from the second moments of sines and cosines of Gaussian
angles; it is positive semi-definite by construction.

Conventions: azimuth clockwise from north (the ENU y axis) towards east (x), elevation above
the sensor's local horizontal, range in metres; ENU x = east, y = north, z = up.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["polar_checked", "polar_to_enu", "raise_polar_error", "ucm_factors", "ucm_row"]

F64 = NDArray[np.float64]


def polar_to_enu(
    sensor_enu: ArrayLike,
    range_m: ArrayLike,
    azimuth_rad: ArrayLike,
    elevation_rad: ArrayLike,
    sigma_range_m: ArrayLike,
    sigma_azimuth_rad: ArrayLike,
    sigma_elevation_rad: ArrayLike,
) -> tuple[F64, F64]:
    """Polar reports from a sensor at ``sensor_enu`` (3,) to ENU ``z`` (m, 3), ``R`` (m, 3, 3).

    The sigmas may be scalars or (m,) arrays. Raises ``ValueError`` on non-finite inputs,
    negative sigmas or ranges, or mismatched lengths.
    """
    s = np.asarray(sensor_enu, dtype=np.float64)
    if s.shape != (3,) or not np.all(np.isfinite(s)):
        raise ValueError("sensor_enu must be a finite (3,) array")
    r = np.atleast_1d(np.asarray(range_m, dtype=np.float64))
    a = np.atleast_1d(np.asarray(azimuth_rad, dtype=np.float64))
    e = np.atleast_1d(np.asarray(elevation_rad, dtype=np.float64))
    if r.ndim != 1 or a.shape != r.shape or e.shape != r.shape:
        raise ValueError("range_m, azimuth_rad and elevation_rad must be (m,) arrays")
    m = r.shape[0]
    sr, sa, se = (_sigma(v, m) for v in (sigma_range_m, sigma_azimuth_rad,
                                         sigma_elevation_rad))
    z = np.empty((m, 3))
    R = np.empty((m, 3, 3))
    # one compiled pass checks every input and converts (the checks were a dozen NumPy calls)
    raise_polar_error(polar_checked(s, r, a, e, sr, sa, se, z, R))
    return z, R


def _sigma(v: ArrayLike, m: int) -> F64:
    # a scalar (or one-element) sigma stays one element, read for every report; an (m,) one
    # is used as it is; anything else broadcasts as before (or fails as before)
    a = np.asarray(v, dtype=np.float64)
    if a.shape == () or a.shape == (1,):
        return a.reshape(1)
    if a.shape != (m,):
        a = np.broadcast_to(a, (m,))
    return np.ascontiguousarray(a)


# Bits of the status polar_checked returns, in the order the checks are reported.
_BAD_SENSOR, _BAD_R, _BAD_A, _BAD_E, _BAD_SR, _BAD_SA, _BAD_SE, _NEGATIVE = (
    1 << i for i in range(8))
_MESSAGES = (
    (_BAD_SENSOR, "sensor_enu must be a finite (3,) array"),
    (_BAD_R, "range_m contains NaN or inf"),
    (_BAD_A, "azimuth_rad contains NaN or inf"),
    (_BAD_E, "elevation_rad contains NaN or inf"),
    (_BAD_SR, "sigma_range_m contains NaN or inf"),
    (_BAD_SA, "sigma_azimuth_rad contains NaN or inf"),
    (_BAD_SE, "sigma_elevation_rad contains NaN or inf"),
    (_NEGATIVE, "ranges and sigmas must be non-negative"),
)


def raise_polar_error(status: int) -> None:
    """Raise the ``ValueError`` :func:`polar_to_enu` raises for a :func:`polar_checked`
    status (nothing for 0): the first failed check, in the documented order."""
    if status:
        for bit, message in _MESSAGES:
            if status & bit:
                raise ValueError(message)


@nb.njit(cache=True)
def polar_checked(s, r, a, e, sr, sa, se, z, R):  # pragma: no cover - compiled
    """(3,) sensor, (m,) range/azimuth/elevation, (m,) or (1,) sigmas -> fills z (m, 3) and
    R (m, 3, 3) and returns 0, or returns the status bits of the failed checks (nothing
    written). Compiled callers (the radar) use it directly; see :func:`raise_polar_error`."""
    m = r.shape[0]
    status = 0
    for c in range(3):
        if not math.isfinite(s[c]):
            status |= _BAD_SENSOR
    for i in range(m):
        vr, va, ve = r[i], a[i], e[i]
        vsr = sr[min(i, sr.shape[0] - 1)]
        vsa = sa[min(i, sa.shape[0] - 1)]
        vse = se[min(i, se.shape[0] - 1)]
        if not math.isfinite(vr):
            status |= _BAD_R
        if not math.isfinite(va):
            status |= _BAD_A
        if not math.isfinite(ve):
            status |= _BAD_E
        if not math.isfinite(vsr):
            status |= _BAD_SR
        if not math.isfinite(vsa):
            status |= _BAD_SA
        if not math.isfinite(vse):
            status |= _BAD_SE
        if vr < 0 or vsr < 0 or vsa < 0 or vse < 0:
            status |= _NEGATIVE
    if status:
        return status
    if sr.shape[0] == 1 and sa.shape[0] == 1 and se.shape[0] == 1:
        f = ucm_factors(sa[0], se[0])  # one sensor's sigmas: the same factors for every row
        for i in range(m):
            ucm_row(s, r[i], a[i], e[i], sr[0], f, z, R, i)
    else:
        for i in range(m):
            ucm_row(s, r[i], a[i], e[i], sr[min(i, sr.shape[0] - 1)],
                    ucm_factors(sa[min(i, sa.shape[0] - 1)], se[min(i, se.shape[0] - 1)]),
                    z, R, i)
    return 0


@nb.njit(cache=True, inline="always")
def ucm_factors(sa, se):  # pragma: no cover - compiled
    """(σ_a, σ_e) -> (E[cos w_a], E[cos w_e], E[cos 2w_a], E[cos 2w_e]) for :func:`ucm_row`."""
    return (math.exp(-0.5 * sa ** 2), math.exp(-0.5 * se ** 2), math.exp(-2.0 * sa ** 2),
            math.exp(-2.0 * se ** 2))


@nb.njit(cache=True, inline="always")
def ucm_row(s, r, a, e, sr, factors, z, R, i):  # pragma: no cover - compiled
    """One report (scalars; factors from :func:`ucm_factors`) into row i of z (m, 3) and R
    (m, 3, 3); inputs already checked."""
    la, le, la4, le4 = factors
    ca, sna = math.cos(a), math.sin(a)
    ce, sne = math.cos(e), math.sin(e)
    x = r * ce * sna / (la * le)
    y = r * ce * ca / (la * le)
    h = r * sne / le
    z[i, 0] = x + s[0]
    z[i, 1] = y + s[1]
    z[i, 2] = h + s[2]
    # Conditional second moments given the measured values (true = measured - noise).
    r2 = r * r + sr ** 2
    cos2e = 0.5 * (1.0 + le4 * math.cos(2 * e))  # E[cos² e_true]
    sin2e = 0.5 * (1.0 - le4 * math.cos(2 * e))
    sin2a = 0.5 * (1.0 - la4 * math.cos(2 * a))
    cos2a = 0.5 * (1.0 + la4 * math.cos(2 * a))
    sincos_a = 0.5 * la4 * math.sin(2 * a)
    sincos_e = 0.5 * le4 * math.sin(2 * e)
    k2 = la * la * le * le  # E[x_true | measured] = k2 * x_converted
    R[i, 0, 0] = x * x * (1.0 - 2.0 * k2) + r2 * cos2e * sin2a
    R[i, 1, 1] = y * y * (1.0 - 2.0 * k2) + r2 * cos2e * cos2a
    R[i, 2, 2] = h * h * (1.0 - 2.0 * le * le) + r2 * sin2e
    R[i, 0, 1] = R[i, 1, 0] = x * y * (1.0 - 2.0 * k2) + r2 * cos2e * sincos_a
    cross = 1.0 - k2 - le * le
    R[i, 0, 2] = R[i, 2, 0] = x * h * cross + r2 * la * sna * sincos_e
    R[i, 1, 2] = R[i, 2, 1] = y * h * cross + r2 * la * ca * sincos_e
