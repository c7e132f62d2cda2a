"""Effector state: what the world reports about each weapon and jammer (arrays, one row each).

``respond`` reads this state and never owns it: in analysis the simulator updates it, live
it comes from the effectors' status reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from bastion.scenario.geo import Frame
from bastion.scenario.schema import Gun, Jammer, Missile, Scenario
from bastion.scenario.terrain import Profile, TerrainModel

__all__ = ["UNLIMITED", "EffectorState", "EffectorStatus", "build_effectors"]

UNLIMITED = np.iinfo(np.int64).max // 4  # reserve rounds of a weapon with unlimited stock


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
    burst_rounds: NDArray[np.int64]  # rounds per shot (guns' bursts; 1 for missiles)
    min_alt_m: NDArray[np.float64]
    unit: NDArray[np.int64]  # (E,) fire unit of each kinetic effector, -1 for jammers
    unit_channels: NDArray[np.int64]  # (U,) fire channels of each unit
    # dynamic
    rounds: NDArray[np.int64]
    busy_until_s: NDArray[np.float64]
    reload_done_s: NDArray[np.float64]
    radiating: NDArray[np.bool_]
    reserve: NDArray[np.int64]  # rounds left for reloads (UNLIMITED: no limit)
    channel_until_s: NDArray[np.float64]  # (U, C) when each fire channel is free (+inf: held)
    channel_of: NDArray[np.int64]  # (E,) channel slot held by the effector's engagement, -1
    # jammers
    jammers: list[tuple[int, Jammer]]
    divert_xy: NDArray[np.float64]  # (E, 2) a spoofer's divert point, NaN for the others
    push_xy: NDArray[np.float64]  # (E, 2) unit vector a spoofer pushes along, NaN for others
    # line of sight over terrain from each effector (None: flat ground, nothing hidden)
    profiles: list[Profile | None] = field(default_factory=list)

    def ready(self, t_s: float) -> NDArray[np.bool_]:
        free = self.free_channels(t_s) > 0
        unit_free = free[np.maximum(self.unit, 0)] if free.size else \
            np.zeros(self.unit.size, bool)
        return self.kinetic & (self.rounds > 0) & (self.busy_until_s <= t_s) & unit_free

    def visible(self, weap: NDArray[np.int64], points: NDArray[np.float64]
                ) -> NDArray[np.bool_]:
        """(W, T): whether each weapon in ``weap`` sees the (W, T, 3) points over terrain."""
        out = np.ones(points.shape[:2], bool)
        for a, w in enumerate(weap):
            prof = self.profiles[w] if self.profiles else None
            if prof is not None:
                out[a] = prof.visible_from(self.pos[w], points[a])
        return out

    def free_channels(self, t_s: float) -> NDArray[np.int64]:
        """(U,) fire channels of each unit free at ``t_s``."""
        return (self.channel_until_s <= t_s).sum(axis=-1)


def build_effectors(scenario: Scenario, frame: Frame) -> EffectorState:
    effs = scenario.effectors
    E = len(effs)

    def arr(attr: str, default: float = 0.0) -> NDArray[np.float64]:
        return np.array([float(getattr(e, attr, default)) for e in effs])

    kinetic = np.array([isinstance(e, Gun | Missile) for e in effs], bool)
    mag = np.array([getattr(e, "magazine", 0) for e in effs], np.int64)
    # fire units: weapons naming one share its channels; a weapon naming none is its own
    unit_names: list[str] = []
    unit = np.full(E, -1, np.int64)
    channels: list[int] = []
    for i, e in enumerate(effs):
        if isinstance(e, Gun | Missile):
            key = e.fire_unit if e.fire_unit is not None else f"\x00{e.name}"
            if key not in unit_names:
                unit_names.append(key)
                channels.append(e.fire_channels)
            unit[i] = unit_names.index(key)
            channels[unit[i]] = min(channels[unit[i]], e.fire_channels)  # the fewest stated
    n_ch = np.array(channels, np.int64)
    c_max = int(n_ch.max()) if n_ch.size else 1
    # slots beyond a unit's count are never free (+inf, and no engagement ever holds them)
    ch_until = np.where(np.arange(c_max)[None, :] < n_ch[:, None], 0.0, np.inf)
    reserve = np.array([UNLIMITED if getattr(e, "reserve_rounds", None) is None
                        else int(e.reserve_rounds) for e in effs], np.int64)
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
        burst_rounds=np.array([getattr(e, "burst_rounds", 1) for e in effs], np.int64),
        min_alt_m=arr("min_altitude_m"), unit=unit, unit_channels=n_ch,
        rounds=mag.copy(), busy_until_s=np.zeros(E), reload_done_s=np.full(E, np.inf),
        radiating=np.zeros(E, bool), reserve=reserve,
        channel_until_s=ch_until.reshape(n_ch.size, c_max),
        channel_of=np.full(E, -1, np.int64),
        jammers=[(i, e) for i, e in enumerate(effs) if isinstance(e, Jammer)],
        divert_xy=np.array([frame.point(e.divert_to)[:2] if isinstance(e, Jammer)
                            and e.mode == "spoof" and e.divert_to is not None
                            else (np.nan, np.nan) for e in effs], float).reshape(E, 2),
        push_xy=np.array([_push(e, frame) for e in effs], float).reshape(E, 2),
        profiles=_profiles(scenario, frame),
    )


def _profiles(scenario: Scenario, frame: Frame) -> list[Profile | None]:
    """Each effector's terrain profile out to its reach (None without terrain)."""
    if not any(s.terrain is not None for s in scenario.sites):
        return [None] * len(scenario.effectors)
    tm = TerrainModel(scenario, frame)
    if not tm.present:
        return [None] * len(scenario.effectors)
    return [tm.profile(frame.point(e.position),
                       e.activation_range_m + 5_000.0 if isinstance(e, Jammer)
                       else e.max_range_m) for e in scenario.effectors]


def _push(e: object, frame: Frame) -> tuple[float, float]:
    """A spoofer's push direction (unit east, north): its bearing, or toward its divert
    point as seen from the spoofer (older files)."""
    if not isinstance(e, Jammer) or e.mode != "spoof":
        return (np.nan, np.nan)
    if e.spoof_push_deg is not None:
        a = np.radians(e.spoof_push_deg)
        return (float(np.sin(a)), float(np.cos(a)))
    d = frame.point(e.divert_to)[:2] - frame.point(e.position)[:2]
    n = float(np.hypot(*d))
    return (float(d[0] / n), float(d[1] / n)) if n > 0 else (0.0, 1.0)


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
    reserve: NDArray[np.int64]  # rounds left for reloads (UNLIMITED: no limit)
    channel_until_s: NDArray[np.float64]  # (G, U, C) when each fire channel is free
    channel_of: NDArray[np.int64]  # (G, E) channel slot an effector's engagement holds, -1

    @classmethod
    def initial(cls, eff: EffectorState, n_groups: int) -> EffectorStatus:
        """Every group as the scenario starts it: full magazines, nothing busy or radiating."""
        tile = lambda a: np.tile(a, (n_groups, 1))  # noqa: E731
        return cls(tile(eff.rounds), tile(eff.busy_until_s), tile(eff.reload_done_s),
                   tile(eff.radiating), tile(eff.reserve),
                   np.tile(eff.channel_until_s, (n_groups, 1, 1)), tile(eff.channel_of))

    def ready(self, eff: EffectorState, t_s: float) -> NDArray[np.bool_]:
        """(G, E): kinetic effectors with rounds left, free at ``t_s``, and a free fire
        channel on their unit."""
        free = (self.channel_until_s <= t_s).any(axis=2)  # (G, U)
        unit_free = free[:, np.maximum(eff.unit, 0)] if free.shape[1] else \
            np.zeros((self.rounds.shape[0], eff.unit.size), bool)
        return eff.kinetic & (self.rounds > 0) & (self.busy_until_s <= t_s) & unit_free

    def view(self, eff: EffectorState, g: int) -> EffectorState:
        """Group ``g`` as an :class:`EffectorState` whose dynamic arrays are views of its rows
        (writes through it land here)."""
        return EffectorState(**{**eff.__dict__, "rounds": self.rounds[g],
                                "busy_until_s": self.busy_until_s[g],
                                "reload_done_s": self.reload_done_s[g],
                                "radiating": self.radiating[g],
                                "reserve": self.reserve[g],
                                "channel_until_s": self.channel_until_s[g],
                                "channel_of": self.channel_of[g]})
