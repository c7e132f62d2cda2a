"""The simulated operator: the engagement book's operator port in analysis.

One operator per replication deciding proposals in the order they arrive (a single-server
queue): a decision takes a lognormal time (``doctrine.operator``), so a busy operator delays
the next one. The answer (approve with ``p_approve``) is drawn when the book asks for it, from
the replication's own stream keyed by the engagement, so it is the same draw whenever asked.
Without a human in the loop every proposal is approved at once.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from bastion.core.rng import Streams
from bastion.respond.engagement import Engagement
from bastion.scenario.schema import Doctrine

__all__ = ["OperatorQueue", "SimulatedOperator"]


class OperatorQueue:
    """One operator deciding proposals in order; a busy operator delays the next decision."""

    def __init__(self) -> None:
        self.free_at_s = 0.0

    def schedule(self, t_s: float, service_s: float) -> float:
        start = max(t_s, self.free_at_s)
        self.free_at_s = start + service_s
        return self.free_at_s


class SimulatedOperator:
    """Operator port for the groups of a block; ``streams[g]`` is group g's replication."""

    WHO = "simulated operator"

    def __init__(self, doctrine: Doctrine, streams: list[Streams]) -> None:
        self.doctrine, self.streams = doctrine, streams
        self.queues = [OperatorQueue() for _ in streams]
        self._t_answer: list[dict[int, float]] = [{} for _ in streams]

    def submit(self, group: int, e: Engagement, t_s: float) -> None:
        if not self.doctrine.human_in_loop:
            self._t_answer[group][e.id] = t_s
            return
        op = self.doctrine.operator
        u = self.streams[group].uniform("operator", e.id, 0, np.array([0, 1]))
        service = op.decision_time_s * math.exp(op.decision_time_sigma * float(ndtri(u[0])))
        self._t_answer[group][e.id] = self.queues[group].schedule(t_s, service)

    def answer_time(self, group: int, e: Engagement) -> float:
        return self._t_answer[group][e.id]

    def answer(self, group: int, e: Engagement) -> tuple[bool, str]:
        if not self.doctrine.human_in_loop:
            return True, "weapons free (automatic)"
        u = self.streams[group].uniform("operator", e.id, 0, np.array([0, 1]))
        return bool(u[1] < self.doctrine.operator.p_approve), self.WHO
