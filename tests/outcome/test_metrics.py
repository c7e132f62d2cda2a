"""outcome_row: the outcome figures from the event log equal the simulator's truth figures,
bit for bit (``struct``-level: same float, NaN where the simulator gives NaN)."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from tests.conftest import small_dict, small_scenario

from bastion.core.events import EventLog
from bastion.core.rng import Streams
from bastion.outcome.metrics import outcome_row
from bastion.scenario.geo import Frame
from bastion.scenario.load import validate_dict
from bastion.sim.engine import simulate_block
from bastion.sim.sensors.perimeter import intrusions


def _bits(row):
    return {k: struct.pack("<d", float(v)) for k, v in row.items()}


def _differing(want, got):
    assert set(want) == set(got), set(want) ^ set(got)
    a, b = _bits(want), _bits(got)
    return {k: (want[k], got[k]) for k in want if a[k] != b[k]}


@pytest.fixture(scope="module")
def small_runs():
    sc = small_scenario()
    return sc, simulate_block(sc, list(range(16)))


def test_small_scenario_figures_add_up(small_runs):
    """Every drone ends one way or is still flying; the figures come from the events alone.
    (Bit-for-bit agreement with the truth-array accounting it replaced was checked on
    replications 0-127 of both built-ins: bench/fingerprint.py.)"""
    sc, runs = small_runs
    for r in runs:
        row = outcome_row(r.events, sc)
        assert _differing(r.outcome, row) == {}, r.replication
        ends = ("shot_down", "forced_down", "leaked", "returned", "still_flying")
        out_of_fuel = sum(1 for k in r.events["kind"].to_pylist() if k == "out_of_fuel")
        assert sum(row[k] for k in ends) + out_of_fuel == row["drones"]
    rows = [r.outcome for r in runs]
    for k in ("shot_down", "forced_down", "leaked", "nuisance_alarms", "intruders_reached_asset"):
        assert sum(row[k] for row in rows) > 0, k


def test_simulator_events_carry_speed_and_nuisance_alarms(small_runs):
    sc, runs = small_runs
    for r in runs:
        ev = r.events.to_pylist()
        speeds = [e["value"] for e in ev if e["kind"] == "launched"]
        assert len(speeds) == 4 and all(v >= 5.0 for v in speeds)
        nuisance = [e for e in ev if e["kind"] == "nuisance_alarm"]
        assert len(nuisance) == r.outcome["nuisance_alarms"]
        assert all(e["detail"] == "base" and 0 < e["t_s"] < sc.duration_s for e in nuisance)


def _log(*events):
    log = EventLog(0)
    for t, kind, kw in events:
        log.add(t, kind, **kw)
    return log.table()


def _launches(speeds, t0=10.0):
    return [(t0 + i, "launched", {"drone": i, "xyz": (0.0, 0.0, 300.0), "value": s})
            for i, s in enumerate(speeds)]


def test_no_events(small_runs):
    sc, runs = small_runs
    row = outcome_row(_log(), sc)
    assert set(row) == set(runs[0].outcome)  # every key, even with nothing logged
    assert row["drones"] == 4 and row["still_flying"] == 4
    for k in ("shot_down", "shots", "cost_usd", "cost_usd:sam", "shots:gun", "detected",
              "assets_hit", "any_asset_hit", "damage_value", "nuisance_alarms",
              "leaked:apron", "own_aircraft_jammed", "false_track_shots"):
        assert row[k] == 0.0, k
    for k in ("mean_kill_margin_s", "t_detect_after_launch_s", "t_identify_after_launch_s",
              "breach_to_alarm_s"):
        assert math.isnan(row[k]), k


def test_two_drones_hit_one_asset():
    d = small_dict()
    d["sites"][0]["assets"].append(
        {"name": "hq", "position": {"lat_deg": 35.002, "lon_deg": 35.0}, "value": 2.5})
    d["raids"].append({**d["raids"][0], "name": "r2", "count": 2, "target": "hq"})
    sc = validate_dict(d, "two targets")  # drones 0-3 aim at apron, 4-5 at hq
    hit = lambda t, k: (t, "asset_hit", {"drone": k, "value": 10.0, "detail": "apron"})  # noqa: E731
    row = outcome_row(_log(
        *_launches([30.0] * 6),
        (500.0, "leaked", {"drone": 1, "xyz": (0.0, 0.0, 0.0)}), hit(500.0, 1),
        (520.0, "leaked", {"drone": 4, "xyz": (0.0, 0.0, 0.0)}), hit(520.0, 4),
        (530.0, "forced_down", {"drone": 2, "detail": "crashed"}),
        (540.0, "forced_down", {"drone": 5, "detail": "landed"}),
        (550.0, "out_of_fuel", {"drone": 3}),
    ), sc)
    assert row["leaked"] == 2 and row["leaked:apron"] == 1 and row["leaked:hq"] == 1
    assert row["assets_hit"] == 1 and row["any_asset_hit"] == 1 and row["damage_value"] == 20.0
    assert row["forced_down"] == 2 and row["forced_down_crashed"] == 1
    assert row["forced_down_landed"] == 1
    assert row["still_flying"] == 1  # drone 0: launched, never ended


def test_shots_at_birds_own_aircraft_and_false_tracks():
    sc = small_scenario()  # effectors: 0 sam (80 000 $), 1 gun (3 000 $), 2 ew
    fire = lambda t, e, w, cost, k=-1: (t, "fired", {  # noqa: E731
        "drone": k, "effector": w, "engagement": e, "value": cost, "detail": "x"})
    row = outcome_row(_log(
        *_launches([30.0] * 4),
        fire(100.0, 0, 0, 80_000.0),
        (100.0, "shot_at_bird", {"effector": 0, "engagement": 0}),
        fire(110.0, 1, 1, 3_000.0),  # at nothing real: a false track
        fire(120.0, 2, 1, 3_000.0),
        (120.0, "shot_at_own", {"effector": 1, "engagement": 2}),
        fire(130.0, 3, 0, 80_000.0, k=2),
        (135.0, "killed", {"drone": -1, "effector": 0, "engagement": 0, "detail": "bird"}),
        (140.0, "killed", {"drone": 2, "effector": 0, "engagement": 3,
                           "xyz": (3000.0, 4000.0, 300.0)}),
    ), sc)
    assert row["shots"] == 4 and row["shots:sam"] == 2 and row["shots:gun"] == 2
    assert row["shots:ew"] == 0 and row["cost_usd:ew"] == 0.0
    assert row["cost_usd:sam"] == 160_000.0 and row["cost_usd"] == 166_000.0
    assert row["shots_at_birds"] == 1 and row["shots_at_own"] == 1
    assert row["false_track_shots"] == 1
    assert row["shot_down"] == 1 and row["still_flying"] == 3  # a bird is not a drone
    apron = Frame(sc.origin).point(sc.sites[0].assets[0].position)
    margin = np.linalg.norm(np.array([3000.0, 4000.0]) - apron[:2]) / 30.0
    assert row["mean_kill_margin_s"] == pytest.approx(margin, rel=1e-12)


def test_cost_added_in_engagement_order_not_time_order():
    sc = small_scenario()
    # the same effector at costs whose sum depends on the order: by engagement id,
    # (0 + 1) + 1 + 1e16 = 1e16 + 2; in time order, 1e16 + 1 + 1 rounds back to 1e16
    row = outcome_row(_log(
        (5.0, "fired", {"effector": 1, "engagement": 2, "value": 1e16}),
        (6.0, "fired", {"effector": 1, "engagement": 0, "value": 1.0}),
        (7.0, "fired", {"effector": 1, "engagement": 1, "value": 1.0}),
    ), sc)
    assert row["cost_usd:gun"] == 1e16 + 2 and row["cost_usd"] == 1e16 + 2


def test_kill_chain_means_and_own_aircraft_jamming():
    sc = small_scenario()
    row = outcome_row(_log(
        *_launches([30.0] * 4, t0=0.0),  # launches at 0, 1, 2, 3
        (12.0, "detected", {"drone": 2}),
        (20.0, "detected", {"drone": 0}),
        (30.0, "confirmed", {"drone": 0}),
        (40.0, "own_aircraft_jammed", {"effector": 2, "xyz": (1.0, 2.0, 3.0)}),
        (41.0, "own_aircraft_jammed", {"effector": 2, "xyz": (9.0, 2.0, 3.0)}),
    ), sc)
    assert row["detected"] == 2
    assert row["t_detect_after_launch_s"] == 15.0  # (20 + 10) / 2, drones without one left out
    assert row["t_confirm_after_launch_s"] == 30.0
    assert math.isnan(row["t_identify_after_launch_s"])
    assert row["own_aircraft_jammed"] == 2


def test_intruder_figures_from_the_perimeter_log():
    """Three groups breaching out of scenario order, the fence missing some: the mean alarm
    delay is over every group's alarm, and each group is either stopped or reaches its
    asset."""
    d = small_dict()
    d["raids"] = []
    d["duration_s"] = 4000  # long enough for the slowest group to get there
    d["sensors"][2]["pd"] = 0.5
    d["sites"][0]["assets"].append(
        {"name": "hq", "position": {"lat_deg": 35.0013, "lon_deg": 35.0021}, "value": 3.3})
    d["intruders"] = [
        {"site": "base", "count": 4, "breach_s": 900.25, "target": "apron", "speed_mps": 1.3,
         "breach_at": {"lat_deg": 35.01, "lon_deg": 35.0}},
        {"site": "base", "count": 2, "breach_s": 300.1, "target": "hq", "speed_mps": 0.9,
         "breach_at": {"lat_deg": 34.99, "lon_deg": 35.004}},
        {"site": "base", "count": 3, "breach_s": 610.7, "target": "hq", "speed_mps": 1.7,
         "breach_at": {"lat_deg": 35.0, "lon_deg": 34.99}},
    ]
    sc = validate_dict(d, "three groups")
    frame = Frame(sc.origin)
    fence = sc.sensors[2]
    assert fence.kind == "perimeter" and fence.pd == 0.5
    late = 0
    for rep in range(100):
        log = EventLog(rep)
        intrusions(sc, frame, Streams(sc.seed, rep), log)
        got = outcome_row(log.table(), sc)
        # per group, from the events (the group index rides in the engagement column)
        logged = {e["engagement"]: e["value"] for e in log.table().to_pylist()
                  if e["kind"] == "intrusion_alarm"}
        assert sorted(logged) == [0, 1, 2]
        for i, g in enumerate(sc.intruders):
            breach = frame.point(g.breach_at)
            asset = next(a for s in sc.sites for a in s.assets if a.name == g.target)
            walk = float(np.linalg.norm(frame.point(asset.position)[:2] - breach[:2]))
            seen = float(Streams(sc.seed, rep).uniform("perimeter", i, 0)) < fence.pd
            if seen:  # the fence's draw, one per group, as the closed form had it
                assert logged[i] == fence.latency_s
            else:  # found at the asset: its radius reached at ±10 % of the group's speed
                to_go = walk - asset.radius_m
                assert to_go / (1.1 * g.speed_mps) - 1 <= logged[i] <= to_go / (
                    0.9 * g.speed_mps) + 1, (rep, i)
        late += not all(x == logged[0] for x in logged.values())
        assert got["breach_to_alarm_s"] == pytest.approx(np.mean(list(logged.values())),
                                                         rel=1e-12), rep
        assert got["intruders_stopped"] + got["intruders_reached_asset"] == 9
    assert late > 0  # some replications mix detected and missed groups


def test_perimeter_keys_follow_the_scenario():
    d = small_dict()
    d["intruders"] = []
    assert outcome_row(_log((9.0, "nuisance_alarm", {"detail": "base"})),
                       validate_dict(d, "fence only"))["nuisance_alarms"] == 1
    d["sensors"] = [s for s in d["sensors"] if s["kind"] != "perimeter"]
    row = outcome_row(_log(), validate_dict(d, "no fence"))
    assert not {"nuisance_alarms", "breach_to_alarm_s", "intruders_stopped"} & set(row)
