"""The engagement state machine shared by every driver.

    proposed ─► approved ─► firing ─► assessed (killed | missed | unknown)
        │           │
        ├─► rejected └─► expired (no longer feasible when it was time to fire)
        └─► expired (the operator did not decide in time)

In analysis the operator is a single-server queue with a random decision time; live, a
person answers through the service. Either way the same transitions are recorded with
their times, and an illegal transition is a bug, not a state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

__all__ = ["Engagement", "EngagementState", "IllegalTransition", "OperatorQueue"]


class EngagementState(IntEnum):
    PROPOSED = 0
    APPROVED = 1
    REJECTED = 2
    EXPIRED = 3
    FIRING = 4
    ASSESSED = 5


_ALLOWED = {
    EngagementState.PROPOSED: {
        EngagementState.APPROVED, EngagementState.REJECTED, EngagementState.EXPIRED},
    EngagementState.APPROVED: {EngagementState.FIRING, EngagementState.EXPIRED},
    EngagementState.FIRING: {EngagementState.ASSESSED},
    EngagementState.REJECTED: set(),
    EngagementState.EXPIRED: set(),
    EngagementState.ASSESSED: set(),
}


class IllegalTransition(RuntimeError):
    pass


@dataclass
class Engagement:
    id: int
    effector: int
    track: int
    t_proposed_s: float
    pk_expected: float
    cost_usd: float
    reason: str
    state: EngagementState = EngagementState.PROPOSED
    history: list[tuple[EngagementState, float, str]] = field(default_factory=list)
    result: str = ""  # killed | missed | unknown, once assessed
    t_decision_s: float = float("nan")  # when the operator will have answered
    approve: bool = True
    t_fire_s: float = float("nan")
    t_hit_s: float = float("nan")
    target_row: int = -1  # truth row hit (simulation only)
    hit: bool = False
    resolved: bool = False  # the projectile has arrived (hit or miss decided)
    aim_point: tuple[float, float, float] | None = None
    track_key: int = -1  # the tracker's own id of the track (``track`` is the reported id)

    def __post_init__(self) -> None:
        if not self.history:
            self.history.append((self.state, self.t_proposed_s, self.reason))

    @property
    def open(self) -> bool:
        return self.state in (EngagementState.PROPOSED, EngagementState.APPROVED,
                              EngagementState.FIRING)

    def to(self, state: EngagementState, t_s: float, note: str = "") -> None:
        if state not in _ALLOWED[self.state]:
            raise IllegalTransition(f"engagement {self.id}: {self.state.name} -> {state.name}")
        if t_s < self.history[-1][1] - 1e-9:
            raise IllegalTransition(f"engagement {self.id}: time went backwards")
        self.state = state
        self.history.append((state, t_s, note))


class OperatorQueue:
    """One operator deciding proposals in order; a busy operator delays the next decision."""

    def __init__(self) -> None:
        self.free_at_s = 0.0

    def schedule(self, t_s: float, service_s: float) -> float:
        start = max(t_s, self.free_at_s)
        self.free_at_s = start + service_s
        return self.free_at_s
