"""What simulated sensors share: the view of a lock-step block, and periodic scanning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bastion.core.detections import Detections
from bastion.core.rng import RepStreams
from bastion.sim.sensors.kernels import next_scan

__all__ = ["BlockView", "PeriodicSensor"]

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
