"""Effector state: what the world reports about each weapon and jammer (arrays, one row each).

``respond`` reads this state and never owns it: in analysis the simulator updates it, live
it comes from the effectors' status reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bastion.scenario.geo import Frame
from bastion.scenario.schema import Gun, Jammer, Missile, Scenario

__all__ = ["EffectorState", "EffectorStatus", "build_effectors"]


@dataclass
class EffectorState:
    names: list[str]
    kinetic: NDArray[np.bool_]
    gun: NDArray[np.bool_]
    pos: NDArray[np.float64]  # (E, 3)
    cost_usd: NDArray[np.float64]
    # kinetic
    min_range_m: NDArray[np.float64]
    max_range_m: NDArray[np.float64]
    max_alt_m: NDArray[np.float64]
    pk_max: NDArray[np.float64]
    speed_mps: NDArray[np.float64]
    reaction_s: NDArray[np.float64]
    interval_s: NDArray[np.float64]
    magazine: NDArray[np.int64]
    reload_s: NDArray[np.float64]
    required_sigma_m: NDArray[np.float64]
    error_scale_m: NDArray[np.float64]
    cross_scale_mps: NDArray[np.float64]
    round_max_range_m: NDArray[np.float64]
    # dynamic
    rounds: NDArray[np.int64]
    busy_until_s: NDArray[np.float64]
    reload_done_s: NDArray[np.float64]
    radiating: NDArray[np.bool_]
    # jammers
    jammers: list[tuple[int, Jammer]]
    divert_xy: NDArray[np.float64]  # (E, 2) a spoofer's divert point, NaN for the others

    def ready(self, t_s: float) -> NDArray[np.bool_]:
        return self.kinetic & (self.rounds > 0) & (self.busy_until_s <= t_s)


def build_effectors(scenario: Scenario, frame: Frame) -> EffectorState:
    effs = scenario.effectors
    E = len(effs)

    def arr(attr: str, default: float = 0.0) -> NDArray[np.float64]:
        return np.array([float(getattr(e, attr, default)) for e in effs])

    kinetic = np.array([isinstance(e, Gun | Missile) for e in effs], bool)
    mag = np.array([getattr(e, "magazine", 0) for e in effs], np.int64)
    return EffectorState(
        names=[e.name for e in effs], kinetic=kinetic,
        gun=np.array([isinstance(e, Gun) for e in effs], bool),
        pos=np.array([frame.point(e.position) for e in effs]).reshape(E, 3),
        cost_usd=arr("cost_per_shot_usd"),
        min_range_m=arr("min_range_m"), max_range_m=arr("max_range_m"),
        max_alt_m=arr("max_altitude_m"), pk_max=arr("pk_max"),
        speed_mps=arr("projectile_speed_mps", 1.0), reaction_s=arr("reaction_s"),
        interval_s=arr("shot_interval_s"), magazine=mag, reload_s=arr("reload_s"),
        required_sigma_m=arr("required_sigma_m", 1.0), error_scale_m=arr("error_scale_m", 1.0),
        cross_scale_mps=arr("crossing_speed_scale_mps", 1.0),
        round_max_range_m=arr("round_max_range_m"),
        rounds=mag.copy(), busy_until_s=np.zeros(E), reload_done_s=np.full(E, np.inf),
        radiating=np.zeros(E, bool),
        jammers=[(i, e) for i, e in enumerate(effs) if isinstance(e, Jammer)],
        divert_xy=np.array([frame.point(e.divert_to)[:2] if isinstance(e, Jammer)
                            and e.mode == "spoof" and e.divert_to is not None
                            else (np.nan, np.nan) for e in effs], float).reshape(E, 2),
    )


@dataclass
class EffectorStatus:
    """Each group's dynamic effector state, (G, E) arrays: one row per group (a replication
    of a lock-step block, or a live site), one column per effector.

    The simulator updates it as its effects play out; live, the effectors' status reports
    do. ``respond`` reads it; the engagement book only reserves and releases effectors
    through its effector port.
    """

    rounds: NDArray[np.int64]
    busy_until_s: NDArray[np.float64]  # +inf: reserved by an open engagement
    reload_done_s: NDArray[np.float64]
    radiating: NDArray[np.bool_]

    @classmethod
    def initial(cls, eff: EffectorState, n_groups: int) -> EffectorStatus:
        """Every group as the scenario starts it: full magazines, nothing busy or radiating."""
        tile = lambda a: np.tile(a, (n_groups, 1))  # noqa: E731
        return cls(tile(eff.rounds), tile(eff.busy_until_s), tile(eff.reload_done_s),
                   tile(eff.radiating))

    def ready(self, eff: EffectorState, t_s: float) -> NDArray[np.bool_]:
        """(G, E): kinetic effectors with rounds left and free at ``t_s``."""
        return eff.kinetic & (self.rounds > 0) & (self.busy_until_s <= t_s)

    def view(self, eff: EffectorState, g: int) -> EffectorState:
        """Group ``g`` as an :class:`EffectorState` whose dynamic arrays are views of its rows
        (writes through it land here)."""
        return EffectorState(**{**eff.__dict__, "rounds": self.rounds[g],
                                "busy_until_s": self.busy_until_s[g],
                                "reload_done_s": self.reload_done_s[g],
                                "radiating": self.radiating[g]})
