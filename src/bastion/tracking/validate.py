"""Input checks for ``Tracker.step``: everything is validated before any state changes."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["check_reports"]

F64 = NDArray[np.float64]


def check_reports(
    t_s: ArrayLike,
    z: ArrayLike,
    R: ArrayLike,
    sensor: ArrayLike | None,
    evidence: ArrayLike | None,
) -> tuple[F64, F64, F64, NDArray[np.int64] | None, F64 | None, float | None]:
    """Normalise and check one scan of reports.

    Returns per-report times (m,), ``z`` (m, 3), ``R`` (m, 3, 3), ``sensor`` (m,) or None,
    ``evidence`` (m, K) or None, and the scalar step time if one was given (else None).
    Raises ``ValueError`` with the offending report index on any problem.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 1 and z.size == 0:
        z = z.reshape(0, 3)
    if z.ndim != 2 or z.shape[1] != 3:
        raise ValueError(f"z must have shape (m, 3), got {z.shape}")
    m = z.shape[0]

    t_arr = np.asarray(t_s, dtype=np.float64)
    scalar_t: float | None = None
    if t_arr.ndim == 0:
        if not np.isfinite(t_arr):
            raise ValueError("t_s is NaN or inf")
        scalar_t = float(t_arr)
        t = np.full(m, scalar_t)
    elif t_arr.shape == (m,):
        t = t_arr
        if not np.isfinite(t).all():
            bad = ~np.isfinite(t)
            raise ValueError(f"t_s is NaN or inf for report {int(np.flatnonzero(bad)[0])}")
    else:
        raise ValueError(f"t_s must be a scalar or shape ({m},), got {t_arr.shape}")

    if not np.isfinite(z).all():
        bad = ~np.isfinite(z).all(axis=1)
        raise ValueError(f"z is NaN or inf for report {int(np.flatnonzero(bad)[0])}")

    R = np.asarray(R, dtype=np.float64)
    if R.shape == (3, 3):
        # One covariance for all reports: check it once, then share it.
        _check_one_covariance(R)
        R_all = np.empty((m, 3, 3))
        R_all[:] = R
        R = R_all
    elif R.shape == (m, 3, 3):
            _check_covariances(R, "R")
    else:
        raise ValueError(f"R must have shape (3, 3) or ({m}, 3, 3), got {R.shape}")

    s_arr: NDArray[np.int64] | None = None
    if sensor is not None:
        s_raw = np.asarray(sensor)
        if s_raw.shape == ():
            s_raw = np.full(m, s_raw)
        if s_raw.shape != (m,) or not np.issubdtype(s_raw.dtype, np.integer):
            raise ValueError(f"sensor must be an integer scalar or ({m},) array")
        s_arr = s_raw.astype(np.int64)

    ev: F64 | None = None
    if evidence is not None:
        ev = np.asarray(evidence, dtype=np.float64)
        if ev.ndim != 2 or ev.shape[0] != m:
            raise ValueError(f"evidence must have shape ({m}, K), got {ev.shape}")
        if not np.isfinite(ev).all():
            raise ValueError("evidence contains NaN or inf")
    return t, z, R, s_arr, ev, scalar_t


def _check_one_covariance(R: F64) -> None:
    """The single-matrix case of ``_check_covariances`` with Python floats (no array overhead)."""
    (a, b, c), (b2, d, e), (c2, e2, f) = R.tolist()
    if not all(map(math.isfinite, (a, b, c, b2, d, e, c2, e2, f))):
        raise ValueError("R is NaN or inf")
    scale = max(abs(a), abs(b), abs(c), abs(b2), abs(d), abs(e), abs(c2), abs(e2), abs(f))
    if max(abs(b - b2), abs(c - c2), abs(e - e2)) > 1e-9 * scale:
        raise ValueError("R is not symmetric")
    m3 = a * (d * f - e * e) - b * (b * f - c * e) + c * (b * e - c * d)
    if not (a > 0 and a * d - b * b > 0 and m3 > 0):
        raise ValueError("R is not positive definite")


def _check_covariances(R: F64, name: str) -> None:
    """Raise unless every (3, 3) matrix of ``R`` (k, 3, 3) is finite, symmetric and PD."""
    flat = R.reshape(-1, 9)
    if not np.isfinite(flat).all():
        bad = ~np.isfinite(flat).all(axis=1)
        raise ValueError(f"{name} is NaN or inf for report {int(np.flatnonzero(bad)[0])}")
    a, b, c = flat[:, 0], flat[:, 1], flat[:, 2]
    d, e, f = flat[:, 4], flat[:, 5], flat[:, 8]
    asym = np.maximum(np.maximum(np.abs(b - flat[:, 3]), np.abs(c - flat[:, 6])),
                      np.abs(e - flat[:, 7]))
    scale = np.abs(flat).max(axis=1)
    bad = asym > 1e-9 * scale
    if bad.any():
        raise ValueError(f"{name} is not symmetric for report {int(np.flatnonzero(bad)[0])}")
    # Leading principal minors > 0 (Sylvester's criterion) ⇔ positive definite.
    m2 = a * d - b * b
    m3 = a * (d * f - e * e) - b * (b * f - c * e) + c * (b * e - c * d)
    bad = ~((a > 0) & (m2 > 0) & (m3 > 0))
    if bad.any():
        raise ValueError(
            f"{name} is not positive definite for report {int(np.flatnonzero(bad)[0])}"
        )
