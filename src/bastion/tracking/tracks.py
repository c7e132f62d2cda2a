"""The public track table: a struct of arrays, one row per live track."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

__all__ = ["TrackStatus", "Tracks"]


class TrackStatus(IntEnum):
    """Codes of ``Tracks.status`` (int8)."""

    TENTATIVE = 0  # started, not yet confirmed (M-of-N not reached)
    CONFIRMED = 1  # confirmed and updated at the last step
    COASTING = 2  # confirmed but missed at the last step(s): predicted only


@dataclass(frozen=True, slots=True)
class Tracks:
    """Live tracks. Every field has one row per track, in the same order.

    States are ENU metres / metres per second, ``[x, y, z, vx, vy, vz]``, valid at time
    ``t_s`` (the tracker's clock after the step that produced them).
    """

    id: NDArray[np.int64]  # (n,)
    state: NDArray[np.float64]  # (n, 6)
    covariance: NDArray[np.float64]  # (n, 6, 6)
    status: NDArray[np.int8]  # (n,) TrackStatus codes
    t_s: NDArray[np.float64]  # (n,) time at which ``state`` is valid
    t_first_s: NDArray[np.float64]  # (n,) time of the report that started the track
    t_last_s: NDArray[np.float64]  # (n,) time of the last report that updated it
    t_confirmed_s: NDArray[np.float64]  # (n,) time of confirmation, nan if tentative
    n_updates: NDArray[np.int64]  # (n,) reports used, the initiating one included
    evidence: NDArray[np.float64]  # (n, K) summed log-likelihood rows of its reports
    mode_probabilities: NDArray[np.float64]  # (n, M) IMM modes: CV, left, right, cruise

    @property
    def position(self) -> NDArray[np.float64]:
        """(n, 3) ENU position, m."""
        return self.state[:, :3]

    @property
    def velocity(self) -> NDArray[np.float64]:
        """(n, 3) ENU velocity, m/s."""
        return self.state[:, 3:]

    @property
    def confirmed(self) -> NDArray[np.bool_]:
        """(n,) True for confirmed tracks, coasting included."""
        return self.status != TrackStatus.TENTATIVE

    def __len__(self) -> int:
        return int(self.id.shape[0])

    def select(self, mask: NDArray[np.bool_] | NDArray[np.int64]) -> Tracks:
        """Rows picked by a boolean mask or an index array."""
        return Tracks(
            id=self.id[mask],
            state=self.state[mask],
            covariance=self.covariance[mask],
            status=self.status[mask],
            t_s=self.t_s[mask],
            t_first_s=self.t_first_s[mask],
            t_last_s=self.t_last_s[mask],
            t_confirmed_s=self.t_confirmed_s[mask],
            n_updates=self.n_updates[mask],
            evidence=self.evidence[mask],
            mode_probabilities=self.mode_probabilities[mask],
        )
