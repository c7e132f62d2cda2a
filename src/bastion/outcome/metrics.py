"""One replication's outcome figures, derived from its event log and the scenario alone.

The simulator and a live session's after-action review read the same figures through
:func:`outcome_row`: nothing here looks at truth arrays, only at the events
(``bastion.sim.events.EVENT_SCHEMA``) and at the scenario they were produced from.

The figures equal, bit for bit, what the simulator's truth bookkeeping gives
(``tests/outcome/test_metrics.py`` checks it), so every sum and mean below adds its terms in
the order the simulator did: per-effector costs by engagement id, per-drone means by drone
number. (The intruders' mean alarm delay is over their alarms in log order.)

Facts taken from the scenario rather than the log:

* drone numbering: drones are numbered raid by raid in scenario order, and a drone aims at
  its raid's target asset (as ``bastion.world.build`` lays them out);
* asset positions (for the kill margin) and effector names (shots and cost per effector);
* whether the scenario has perimeter sensors and intruders (which perimeter keys exist).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from bastion.scenario.geo import Frame
from bastion.scenario.schema import Perimeter, Scenario

__all__ = ["HEADLINE", "outcome_row"]

# events that end a hostile drone's flight (a ``killed`` one only with drone >= 0)
_ENDINGS = frozenset({"killed", "forced_down", "leaked", "returned", "out_of_fuel"})
_CHAIN = (("detected", "detect"), ("confirmed", "confirm"), ("identified", "identify"))


# The outcomes a planner reads first, in report order. ``leaked`` (a drone that reached
# where it believed its target was, wherever that really is) is reported as
# ``reached_target_area``; what damage it did is ``drone_hits`` (drones whose warhead went
# off within an asset's radius plus their lethal radius) and ``asset_hits`` (one per drone
# and asset hit: two drones on one asset count twice).
HEADLINE = ("shot_down", "forced_down", "forced_down_crashed", "reached_target_area",
            "drone_hits", "asset_hits", "assets_hit", "any_asset_hit", "shots", "cost_usd",
            "shots_at_birds", "shots_at_own", "own_aircraft_lost", "nfz_impacts")
NFZ_SOURCES = ("debris", "rounds", "forced_landing", "crash", "leaker", "out_of_fuel")


def outcome_row(events: pa.Table, scenario: Scenario) -> dict[str, float]:
    """The outcome figures of one replication from its event table (one replication's rows).

    Keys: the drone fates and counts, shots and cost (in total and ``shots:<effector>`` /
    ``cost_usd:<effector>`` for every effector), kill-chain lead times, the kill margin,
    the perimeter figures (when the scenario has perimeter sensors or intruders) and
    ``leaked:<asset>`` (drones aimed at it that reached their target area) and
    ``hits:<asset>`` (warheads that hit it) for every asset, ``nfz_impacts:<source>``.
    """
    sc = scenario
    col = {name: events.column(name).to_pylist() for name in (
        "t_s", "kind", "drone", "effector", "engagement", "x_m", "y_m", "z_m", "value",
        "detail")}
    t_s, kind, drone = col["t_s"], col["kind"], col["drone"]

    # the scenario's layout: drones raid by raid, assets site by site
    counts = [r.count for r in sc.raids]
    nd = int(sum(counts))
    assets = [a for s in sc.sites for a in s.assets]
    asset_names = [a.name for a in assets]
    raid_target = np.array([asset_names.index(r.target) for r in sc.raids], np.int64)
    target = np.repeat(raid_target, counts)  # target asset per drone
    eff_names = [e.name for e in sc.effectors]

    t_start = np.full(nd, np.nan)
    speed = np.full(nd, np.nan)
    marks = {k: np.full(nd, np.nan) for k, _ in _CHAIN}
    ended = np.zeros(nd, bool)
    spoofed = np.zeros(nd, bool)
    impact: dict[int, tuple[float, float]] = {}  # shot-down drone -> where it was hit
    n_forced = n_crashed = n_landed = n_returned = 0
    leaked: list[int] = []
    miss: dict[int, float] = {}  # drone -> where it came down, m from its target (last end)
    leaked_miss: list[float] = []
    hit_drones: set[int] = set()
    hits_per: dict[str, int] = {}
    own_lost = 0
    nfz_src = dict.fromkeys(NFZ_SOURCES, 0)
    hits_assets: set[str] = set()
    n_hits = 0
    damage = 0  # summed in log order, as the simulator does
    fired: list[tuple[int, int, float, int]] = []  # (engagement, effector, cost, drone)
    at_bird: set[int] = set()
    at_own: set[int] = set()
    n_jammed_own = n_nfz = n_nuisance = 0
    alarm_delays: list[float] = []
    stopped = reached = stop_delays = 0.0
    breach_t: dict[int, float] = {}  # intruder group -> breach time

    for i, k in enumerate(kind):
        d = drone[i]
        if k in _ENDINGS and d >= 0:
            ended[d] = True
            v = col["value"][i]
            if v is not None and math.isfinite(v):
                miss[d] = v
        if k == "launched":
            t_start[d] = t_s[i]
            speed[d] = col["value"][i]
        elif k in marks:
            m = marks[k]
            # a live session's marks name a track, not a drone (drone -1): no drone's time
            if d >= 0 and math.isnan(m[d]):
                m[d] = t_s[i]
        elif k == "killed":
            if d >= 0:
                impact[d] = (col["x_m"][i], col["y_m"][i])
            elif col["detail"][i] == "own_aircraft":
                own_lost += 1
        elif k == "forced_down":
            n_forced += 1
            if col["detail"][i] == "crashed":
                n_crashed += 1
            elif col["detail"][i] == "landed":
                n_landed += 1
        elif k == "leaked":
            leaked.append(d)
            v = col["value"][i]
            if v is not None and math.isfinite(v):
                leaked_miss.append(v)
        elif k == "returned":
            n_returned += 1
        elif k == "spoofed":
            spoofed[d] = True
        elif k == "asset_hit":
            n_hits += 1
            hits_assets.add(col["detail"][i])
            hits_per[col["detail"][i]] = hits_per.get(col["detail"][i], 0) + 1
            if d >= 0:
                hit_drones.add(d)
            damage += col["value"][i]
        elif k == "fired":
            fired.append((col["engagement"][i], col["effector"][i], col["value"][i], d))
        elif k == "shot_at_bird":
            at_bird.add(col["engagement"][i])
        elif k == "shot_at_own":
            at_own.add(col["engagement"][i])
        elif k == "own_aircraft_jammed":  # logged once per aircraft
            n_jammed_own += 1
        elif k == "nfz_impact":
            n_nfz += 1
            if col["detail"][i] in nfz_src:
                nfz_src[col["detail"][i]] += 1
        elif k == "nuisance_alarm":
            n_nuisance += 1
        elif k == "intrusion_alarm":
            alarm_delays.append(col["value"][i])
        elif k == "intrusion":
            breach_t[col["engagement"][i]] = col["t_s"][i]
        elif k == "intruders_stopped":
            stopped += col["value"][i]
            stop_delays += col["value"][i] * (
                col["t_s"][i] - breach_t.get(col["engagement"][i], math.nan))
        elif k == "intruders_reached_asset":
            reached += col["value"][i]

    # shots and cost per effector, cost added up by engagement id
    fired.sort(key=lambda f: f[0])
    shots = {n: 0 for n in eff_names}
    cost = {n: 0.0 for n in eff_names}
    for _, w, c, _ in fired:
        shots[eff_names[w]] += 1
        cost[eff_names[w]] += c
    birds_or_own = at_bird | at_own
    false_track = sum(1 for e, _, _, d in fired if d < 0 and e not in birds_or_own)

    # kill margin: how far from its target a shot-down drone was, in seconds of its flight
    kill_margin = []
    if impact:
        frame = Frame(sc.origin)
        asset_enu = np.array([frame.point(a.position) for a in assets])
        for d in sorted(impact):
            tgt = asset_enu[target[d]]
            kill_margin.append(np.linalg.norm(np.array(impact[d]) - tgt[:2]) / speed[d])

    chain = {}
    for k, name in _CHAIN:
        lead = marks[k] - t_start
        chain[f"t_{name}_after_launch_s"] = float(np.nanmean(lead)) if np.isfinite(
            lead).any() else math.nan

    out: dict[str, float] = {
        "drones": float(nd),
        "shot_down": float(len(impact)),
        "forced_down": float(n_forced),
        "forced_down_crashed": float(n_crashed),
        "forced_down_landed": float(n_landed),
        "leaked": float(len(leaked)),  # = reached_target_area (kept for older readers)
        "reached_target_area": float(len(leaked)),
        "drone_hits": float(len(hit_drones)),
        "asset_hits": float(n_hits),
        "own_aircraft_lost": float(own_lost),
        "mean_miss_distance_m": (float(np.mean([miss[d] for d in sorted(miss)]))
                                 if miss else math.nan),
        "mean_leaker_miss_m": float(np.mean(leaked_miss)) if leaked_miss else math.nan,
        "returned": float(n_returned),
        "still_flying": float(nd - int(ended.sum())),
        "spoofed": float(spoofed.sum()),
        "assets_hit": float(len(hits_assets)),
        "any_asset_hit": float(n_hits > 0),
        "damage_value": float(damage),
        "shots": float(len(fired)),
        "cost_usd": float(sum(cost.values())),
        "shots_at_birds": float(len(at_bird)),
        "shots_at_own": float(len(at_own)),
        "false_track_shots": float(false_track),
        "own_aircraft_jammed": float(n_jammed_own),
        "nfz_impacts": float(n_nfz),
        "detected": float(np.isfinite(marks["detected"]).sum()),
        "mean_kill_margin_s": float(np.mean(kill_margin)) if kill_margin else math.nan,
        **chain,
        **_perimeter(sc, alarm_delays, n_nuisance, stopped, reached, stop_delays),
    }
    aimed = target[np.array(leaked, np.int64)]
    for a, name in enumerate(asset_names):
        out[f"leaked:{name}"] = float(np.sum(aimed == a))
    for name in asset_names:
        out[f"hits:{name}"] = float(hits_per.get(name, 0))
    for src, n in nfz_src.items():
        out[f"nfz_impacts:{src}"] = float(n)
    for name, n in shots.items():
        out[f"shots:{name}"] = float(n)
    for name, c in cost.items():
        out[f"cost_usd:{name}"] = float(c)
    return out


def _perimeter(sc: Scenario, alarm_delays: list[float], n_nuisance: int, stopped: float,
               reached: float, stop_delays: float) -> dict[str, float]:
    """Perimeter figures: nuisance alarms, and for intruders the mean breach-to-alarm delay
    and how many were stopped or reached their asset."""
    fences = any(isinstance(s, Perimeter) for s in sc.sensors)
    if not sc.intruders:
        return {"nuisance_alarms": float(n_nuisance)} if fences else {}
    return {
        "breach_to_alarm_s": float(np.mean(alarm_delays)) if alarm_delays else math.nan,
        "intruders_stopped": float(stopped),
        # mean over the people stopped of breach-to-stop time
        "breach_to_stop_s": float(stop_delays / stopped) if stopped else math.nan,
        "intruders_reached_asset": float(reached),
        "nuisance_alarms": float(n_nuisance),
    }
