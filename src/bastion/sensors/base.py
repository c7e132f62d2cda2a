"""The batch every sensor produces and the tracker consumes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bastion.rng import RepStreams
from bastion.sensors.kernels import gather_rows, next_scan, nondecreasing

__all__ = ["CLASSES", "BlockView", "Detections", "K", "PeriodicSensor", "class_loglik"]

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
        """The batches' reports in one batch, stably sorted by time."""
        batches = [b for b in batches if b.m]
        if not batches:
            return Detections.empty()
        if len(batches) == 1:
            out = batches[0]
        else:
            out = Detections(*(np.concatenate([getattr(b, f) for b in batches]) for f in
                               _FIELDS))
        if nondecreasing(out.t_s):
            return out  # already in order (a sensor's own batch is): the sort is the identity
        order = np.argsort(out.t_s, kind="stable")
        return Detections(*gather_rows(order, *(getattr(out, f) for f in _FIELDS)))


class PeriodicSensor:
    """A sensor that completes a scan (or report epoch) every ``period`` seconds, counted
    separately for each replication of a lock-step block. Subclasses produce one scan's
    reports for a group of block positions in ``_emit``."""

    period: float

    def reset(self, n_block: int) -> None:
        """Counters for a block of ``n_block`` replications."""
        self.counter = np.zeros(n_block, np.int64)  # scans completed, per block position

    def skip_to(self, block_pos: NDArray[np.bool_], t_s: float) -> None:
        """Time jumped for these block positions: scans before t were not simulated."""
        # the same rounding as observe(): a scan ending at t (to 1 ns) counts as done
        k = int(t_s // self.period)
        if (k + 1) * self.period <= t_s + 1e-9:
            k += 1
        self.counter[block_pos] = np.maximum(self.counter[block_pos], k)

    def observe(self, air: Any, t1_s: float, view: BlockView) -> Detections:
        """Every scan of the stepping replications that completes by ``t1_s``."""
        out = []
        while True:
            # the earliest scan still due and the positions it is due for (one compiled pass)
            found, k, group = next_scan(self.counter, self.period, view.stepping, t1_s)
            if not found:
                break
            out.append(self._emit(air, t1_s, view, int(k), group))
            self.counter += group
        return Detections.concat(out)

    def _emit(self, air: Any, t1_s: float, view: BlockView, k: int,
              group: NDArray[np.bool_]) -> Detections:
        raise NotImplementedError
