"""The engagement state machine shared by every driver.

    proposed ─► approved ─► firing ─► assessed (killed | missed | unknown)
        │           │
        ├─► rejected └─► expired (no longer feasible when it was time to fire)
        └─► expired (the operator did not decide in time)

The engagement book (``respond.book``) moves engagements through it for every driver; an
illegal transition is a bug, not a state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

__all__ = ["Engagement", "EngagementState", "IllegalTransition"]


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
    """One engagement's C2 record: what was proposed, decided and fired, and when."""

    id: int
    effector: int
    track: int  # the track's reported id (its number in the group's own picture)
    t_proposed_s: float
    pk_expected: float
    cost_usd: float
    reason: str
    state: EngagementState = EngagementState.PROPOSED
    history: list[tuple[EngagementState, float, str]] = field(default_factory=list)
    result: str = ""  # killed | missed | unknown, once assessed
    t_decision_s: float = float("nan")  # when the operator answered
    decided_by: str = ""
    t_fire_s: float = float("nan")
    t_hit_s: float = float("nan")  # predicted arrival of the round or missile
    track_key: int = -1  # the tracker's own id of the track (``track`` is the reported id)
    p_hostile: float = float("nan")  # the track's P(hostile) when proposed

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
