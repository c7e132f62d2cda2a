"""A sink with the LiveDriver's feed methods that records what it is given (tests)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bastion.core.detections import Detections


class RecordingSink:
    def __init__(self, epoch_utc: float | None = None) -> None:
        self.epoch_utc = time.time() if epoch_utc is None else epoch_utc
        self.dets: list[tuple[str, Detections]] = []
        self.status: list[tuple[str, dict[str, Any]]] = []
        self.alerts: list[tuple[str, str, float]] = []
        self.acks: list[tuple[str, int, str]] = []
        self.counters: dict[str, int] = {"reports": 0, "late": 0, "bad_messages": 0}

    def submit(self, dets: Detections, *, node: str) -> None:
        self.dets.append((node, dets))
        self.counters["reports"] += dets.m

    def node_status(self, node: str, status: dict[str, Any]) -> None:
        self.status.append((node, status))

    def alert(self, node: str, text: str, t_s: float) -> None:
        self.alerts.append((node, text, t_s))

    def task_ack(self, node: str, engagement: int, status: str) -> None:
        self.acks.append((node, engagement, status))


async def wait_for(cond: Any, timeout_s: float = 5.0) -> None:
    """Poll ``cond()`` on the loop until true (the server runs on the same loop)."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)
