"""The batch every sensor produces and the tracker consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bastion.rng import RepStreams

__all__ = ["CLASSES", "BlockView", "Detections", "K", "class_loglik"]

# Identity classes carried as evidence and estimated by assess (order is the contract).
CLASSES = ("hostile_drone", "bird", "own_aircraft")
K = len(CLASSES)


def class_loglik(likelihood: tuple[float, float, float]) -> NDArray[np.float64]:
    """Log-likelihood row from P(report | class) for each class."""
    return np.log(np.asarray(likelihood, dtype=float))


_FIELDS = ("t_s", "sensor", "z", "R", "evidence", "truth", "rep")


@dataclass(frozen=True)
class BlockView:
    """What a sensor needs to know about a lock-step block of replications.

    Rows of the world belong to a block position (``row_block``) and have a row number inside
    their own replication (``row_local``, the entity of their random streams, so a
    replication draws the same numbers whatever block it runs in). Only positions where
    ``stepping`` is set are sensed this tick.
    """

    streams: RepStreams
    rep_ids: NDArray[np.int64]  # (B,) replication index of each block position
    row_block: NDArray[np.int64]  # (n,)
    row_local: NDArray[np.int64]  # (n,)
    stepping: NDArray[np.bool_]  # (B,)


@dataclass(frozen=True, slots=True)
class Detections:
    """A batch of reports, one row each (struct of arrays).

    ``truth`` is the simulator's answer key (row of the world's air objects, -1 for clutter);
    no stage but the outcome may read it.
    """

    t_s: NDArray[np.float64]  # (m,) each report's own time
    sensor: NDArray[np.int64]  # (m,) sensor index in the scenario
    z: NDArray[np.float64]  # (m, 3) ENU m
    R: NDArray[np.float64]  # (m, 3, 3)
    evidence: NDArray[np.float64]  # (m, K) log P(report | class); zeros = no evidence
    truth: NDArray[np.int64]  # (m,)
    rep: NDArray[np.int64]  # (m,) which replication of a lock-step block the report is in

    @property
    def m(self) -> int:
        return int(self.t_s.shape[0])

    @staticmethod
    def empty() -> Detections:
        return Detections(
            np.zeros(0), np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3, 3)),
            np.zeros((0, K)), np.zeros(0, np.int64), np.zeros(0, np.int64),
        )

    @staticmethod
    def concat(batches: list[Detections]) -> Detections:
        batches = [b for b in batches if b.m]
        if not batches:
            return Detections.empty()
        if len(batches) == 1:
            out = batches[0]
        else:
            out = Detections(*(np.concatenate([getattr(b, f) for b in batches]) for f in
                               _FIELDS))
        order = np.argsort(out.t_s, kind="stable")
        return Detections(*(getattr(out, f)[order] for f in _FIELDS))
