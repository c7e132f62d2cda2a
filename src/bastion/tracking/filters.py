"""Batched IMM Kalman filter (a single-model IMM is the plain CV Kalman filter).

Per-track arrays: per-model means ``xm`` (k, M, 6), covariances ``Pm`` (k, M, 6, 6) and mode
probabilities ``mu`` (k, M). Every function works on a whole batch of tracks at once, each with
its own interval ``dt_s``. The measurement is position only (H = [I₃ 0]), so the update
uses the top-left 3×3 block of P directly instead of multiplying by H.

Standard IMM recursion (Blom & Bar-Shalom 1988): mix → per-model predict → per-model update
→ mode-probability update from the per-model likelihoods → moment-matched combination.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .linalg import inv_det_sym3
from .models import MotionModels

F64 = NDArray[np.float64]

__all__ = ["combine", "imm_predict", "imm_update", "imm_update_weighted"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def combine(xm: F64, Pm: F64, mu: F64) -> tuple[F64, F64]:
    """Moment-matched mean (k, 6) and covariance (k, 6, 6) of the mode mixture."""
    if xm.shape[1] == 1:
        return xm[:, 0], Pm[:, 0]
    x0, P0 = _mix(mu[:, :, None], xm, Pm)
    return x0[:, 0], P0[:, 0]


def _mix(w: F64, xm: F64, Pm: F64) -> tuple[F64, F64]:
    """Moment-match per-model Gaussians with weights ``w`` (k, M_from, M_to) (columns sum to 1).

    Uses Σᵢ wᵢ (Pᵢ + xᵢxᵢᵀ) − x̄x̄ᵀ so that everything is two batched matrix products, on
    means taken relative to the first model's: with absolute positions (tens of kilometres,
    or far more for a caller that offsets groups of tracks) the two second moments would
    cancel catastrophically and the covariance lose definiteness.
    """
    k, m = xm.shape[0], xm.shape[1]
    wt = np.swapaxes(w, 1, 2)  # (k, M_to, M_from)
    ref = xm[:, :1, :]
    xc = xm - ref
    x0c = wt @ xc
    second = Pm.reshape(k, m, 36) + _outer(xc).reshape(k, m, 36)
    P0 = (wt @ second).reshape(k, -1, 6, 6) - _outer(x0c)
    return x0c + ref, P0


def _outer(v: F64) -> F64:
    # einsum beats broadcasting here: broadcasting's inner loops over 6-long axes are slow.
    return np.einsum("...i,...j->...ij", v, v)


def imm_predict(
    xm: F64, Pm: F64, mu: F64, dt_s: F64, models: MotionModels
) -> tuple[F64, F64, F64]:
    """Mix and predict every model over ``dt_s`` (k,).

    Returns per-model predicted means, covariances and the predicted mode probabilities.
    """
    F, Q = models.transition(dt_s)
    if xm.shape[1] > 1:
        T = models.mode_transition(dt_s)  # (k, M_from, M_to)
        joint = mu[:, :, None] * T
        c = joint.sum(axis=1)  # predicted mode probabilities (k, M)
        w = joint / np.maximum(c[:, None, :], 1e-300)  # mixing weights mu_{i|j}
        x0, P0 = _mix(w, xm, Pm)
    else:
        c, x0, P0 = mu, xm, Pm
    xp = (F @ x0[..., None])[..., 0]
    Pp = F @ P0 @ np.swapaxes(F, -1, -2) + Q
    return xp, Pp, c


def imm_update(
    xp: F64, Pp: F64, c: F64, z: F64, R: F64
) -> tuple[F64, F64, F64, F64]:
    """Kalman update of every model with one position report per track.

    ``z`` (k, 3), ``R`` (k, 3, 3). Returns updated ``xm``, ``Pm``, ``mu`` and the log-likelihood
    (k,) of the report under the mixture (used by track scoring and tests).
    """
    S = Pp[..., :3, :3] + R[:, None]
    Sinv, det = inv_det_sym3(S)
    nu = z[:, None, :] - xp[..., :3]
    PHt = Pp[..., :, :3]  # P Hᵀ (k, M, 6, 3)
    K = PHt @ Sinv
    xm = xp + (K @ nu[..., None])[..., 0]
    # P - K S Kᵀ = P - K (H P): H P is the top three rows of P.
    Pm = Pp - K @ Pp[..., :3, :]
    # Symmetrised so that round-off never accumulates into an asymmetric covariance.
    Pm = 0.5 * (Pm + np.swapaxes(Pm, -1, -2))
    d2 = ((Sinv @ nu[..., None])[..., 0] * nu).sum(axis=-1)
    loglik = -0.5 * (d2 + np.log(det) + 3.0 * _LOG_2PI)
    mu, total = _posterior_modes(c, loglik)
    return xm, Pm, mu, total


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
