"""Batched IMM Kalman filter (a single-model IMM is the plain CV Kalman filter).

Per-track arrays: per-model means ``xm`` (k, M, 6), covariances ``Pm`` (k, M, 6, 6) and mode
probabilities ``mu`` (k, M). Every function works on a whole batch of tracks at once, each with
its own interval ``dt_s``. The measurement is position only (H = [I₃ 0]), so the update
uses the top-left 3×3 block of P directly instead of multiplying by H.

Standard IMM recursion (Blom & Bar-Shalom 1988): mix → per-model predict → per-model update
→ mode-probability update from the per-model likelihoods → moment-matched combination. The
arithmetic runs in compiled per-track kernels (``kernels.py``); ``MotionModels.transition``
and ``mode_transition`` give the same model matrices in NumPy form, for reference and tests.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .kernels import advance_rows, combine_kernel, predict_kernel, update_kernel
from .linalg import inv_det_sym3
from .models import MotionModels

F64 = NDArray[np.float64]

__all__ = ["advance_in_place", "combine", "imm_predict", "imm_update", "imm_update_weighted"]



def combine(xm: F64, Pm: F64, mu: F64) -> tuple[F64, F64]:
    """Moment-matched mean (k, 6) and covariance (k, 6, 6) of the mode mixture."""
    if xm.shape[1] == 1:
        return xm[:, 0], Pm[:, 0]
    k = xm.shape[0]
    x, P = np.empty((k, 6)), np.empty((k, 6, 6))
    if k:
        combine_kernel(_c(xm), _c(Pm), _c(mu), x, P)
    return x, P


def _c(a: F64) -> F64:
    # One memory layout for the kernels, so each is compiled once (views of the track table
    # are strided).
    return np.ascontiguousarray(a, dtype=np.float64)


def imm_predict(
    xm: F64, Pm: F64, mu: F64, dt_s: F64, models: MotionModels
) -> tuple[F64, F64, F64]:
    """Mix and predict every model over ``dt_s`` (k,).

    Returns per-model predicted means, covariances and the predicted mode probabilities.
    """
    k, m = xm.shape[0], xm.shape[1]
    xo, Po, co = np.empty((k, m, 6)), np.empty((k, m, 6, 6)), np.empty((k, m))
    if k:
        predict_kernel(_c(xm), _c(Pm), _c(mu), _c(np.broadcast_to(dt_s, (k,))),
                       *models.kernel_args, xo, Po, co)
    return xo, Po, co


def advance_in_place(
    xm: F64, Pm: F64, mu: F64, x: F64, P: F64, rows: NDArray[np.int64], dt_s: F64,
    models: MotionModels, z: F64 | None = None, R: F64 | None = None,
) -> None:
    """Predict tracks ``rows`` (k,) over ``dt_s`` (k,) and, with ``z`` (k, 3) and ``R``
    (k, 3, 3), update each with its report; per-model states and the combined ``x``, ``P``
    are written back into the given arrays (views of the tracker's table) in place.

    A zero interval predicts nothing (the exact limit of a prediction), so a track's result
    never depends on the intervals of the other rows.
    """
    k = rows.shape[0]
    if k == 0:
        return
    update = z is not None
    zz = _c(z) if z is not None else np.empty((0, 3))
    RR = _c(np.broadcast_to(R, (k, 3, 3))) if R is not None else np.empty((0, 3, 3))
    advance_rows(xm, Pm, mu, x, P, np.ascontiguousarray(rows, dtype=np.int64),
                 _c(np.broadcast_to(dt_s, (k,))), zz, RR, update, *models.kernel_args)


def imm_update(
    xp: F64, Pp: F64, c: F64, z: F64, R: F64
) -> tuple[F64, F64, F64, F64]:
    """Kalman update of every model with one position report per track.

    ``z`` (k, 3), ``R`` (k, 3, 3). Returns updated ``xm``, ``Pm``, ``mu`` and the log-likelihood
    (k,) of the report under the mixture (used by track scoring and tests).
    """
    k, m = xp.shape[0], xp.shape[1]
    xo, Po, mo, ll = np.empty((k, m, 6)), np.empty((k, m, 6, 6)), np.empty((k, m)), np.empty(k)
    if k:
        update_kernel(_c(xp), _c(Pp), _c(np.broadcast_to(c, (k, m))), _c(z),
                      _c(np.broadcast_to(R, (k, 3, 3))), xo, Po, mo, ll)
    return xo, Po, mo, ll


def imm_update_weighted(
    xp: F64, Pp: F64, c: F64, nu_comb: F64, spread: F64, beta0: F64, R: F64, loglik_m: F64
) -> tuple[F64, F64, F64]:
    """PDA-style update of every model (used by JPDA).

    ``nu_comb`` (k, M, 3) is the β-weighted innovation per model, ``spread`` (k, M, 3, 3) the
    spread-of-innovations term Σβᵢνᵢνᵢᵀ − ν νᵀ, ``beta0`` (k,) the no-report probability,
    ``R`` (k, 3, 3) a representative report covariance and ``loglik_m`` (k, M) each model's
    log-likelihood of the validated reports (for the mode probabilities).
    """
    S = Pp[..., :3, :3] + R[:, None]
    Sinv, _ = inv_det_sym3(S)
    PHt = Pp[..., :, :3]
    K = PHt @ Sinv
    xm = xp + np.einsum("kmab,kmb->kma", K, nu_comb)
    Pc = Pp - K @ np.swapaxes(PHt, -1, -2)
    b0 = beta0[:, None, None, None]
    Pm = b0 * Pp + (1.0 - b0) * Pc + K @ spread @ np.swapaxes(K, -1, -2)
    Pm = 0.5 * (Pm + np.swapaxes(Pm, -1, -2))
    mu, _ = _posterior_modes(c, loglik_m)
    return xm, Pm, mu


def _posterior_modes(c: F64, loglik: F64) -> tuple[F64, F64]:
    a = np.log(np.maximum(c, 1e-300)) + loglik
    amax = a.max(axis=1, keepdims=True)
    e = np.exp(a - amax)
    s = e.sum(axis=1, keepdims=True)
    mu = e / s
    # Keep every mode reachable: a probability that underflows to 0 could never recover.
    mu = np.maximum(mu, 1e-6)
    mu /= mu.sum(axis=1, keepdims=True)
    return mu, (amax + np.log(s))[:, 0]
