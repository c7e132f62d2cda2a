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

from bastion.assess.kernels import classify_normalise, classify_shift, classify_terms
from bastion.core.detections import K

__all__ = ["PRIOR", "SPEED_MODEL", "classify"]

# ASSUMED: no class is favoured before any evidence.
PRIOR = np.full(K, 1.0 / K)
# ASSUMED speed (mean, sd) per class, m/s: small drones 25-50 m/s fixed-wing and slower
# multirotors; birds ~10-15 m/s; own fixed-wing aircraft in the terminal area 60-150 m/s.
SPEED_MODEL = np.array([[32.0, 14.0], [11.0, 5.0], [90.0, 35.0]])
_LOG_PRIOR = np.log(PRIOR)


def classify(
    velocity: NDArray[np.float64], covariance: NDArray[np.float64], evidence: NDArray[np.float64]
) -> NDArray[np.float64]:
    """(n, K) class posteriors from velocity (n,3), covariance (n,6,6), evidence (n,K).

    log posterior = log prior − ½((speed − mean)/sd)² − log sd + evidence, with
    sd² = class sd² + the track's mean velocity variance, normalised to sum to one.
    """
    n = velocity.shape[0]
    if n == 0:
        return np.zeros((0, K))
    # compiled arithmetic, NumPy's log and exp between (see assess.kernels)
    sd, quad = classify_terms(velocity, covariance, SPEED_MODEL)
    p = np.exp(classify_shift(quad, np.log(sd), _LOG_PRIOR, evidence))
    return classify_normalise(p)
