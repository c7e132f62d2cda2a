"""Identification: P(hostile drone / bird / own aircraft) per track.

Posterior ∝ prior × exp(evidence) × kinematic likelihood. Evidence is the sum of
log-likelihoods the tracker accumulated from reports associated with the track (RF
emitter, IFF reply, EO/IR class reports). Kinematics are re-read each epoch from the
current estimate: speed through a per-class Gaussian, widened by the track's own velocity
uncertainty so a young, noisy track is not judged confidently on a noisy speed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bastion.sensors.base import K

__all__ = ["PRIOR", "SPEED_MODEL", "classify"]

# ASSUMED: no class is favoured before any evidence.
PRIOR = np.full(K, 1.0 / K)
# ASSUMED speed (mean, sd) per class, m/s: small drones 25-50 m/s fixed-wing and slower
# multirotors; birds ~10-15 m/s; own fixed-wing aircraft in the terminal area 60-150 m/s.
SPEED_MODEL = np.array([[32.0, 14.0], [11.0, 5.0], [90.0, 35.0]])


def classify(
    velocity: NDArray[np.float64], covariance: NDArray[np.float64], evidence: NDArray[np.float64]
) -> NDArray[np.float64]:
    """(n, K) class posteriors from velocity (n,3), covariance (n,6,6), evidence (n,K)."""
    n = velocity.shape[0]
    if n == 0:
        return np.zeros((0, K))
    speed = np.linalg.norm(velocity, axis=1)
    var_v = np.trace(covariance[:, 3:, 3:], axis1=1, axis2=2) / 3.0
    sd = np.sqrt(SPEED_MODEL[None, :, 1] ** 2 + var_v[:, None])
    kin = -0.5 * ((speed[:, None] - SPEED_MODEL[None, :, 0]) / sd) ** 2 - np.log(sd)
    logp = np.log(PRIOR)[None, :] + kin + evidence
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=1, keepdims=True)
