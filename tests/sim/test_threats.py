"""Multirotor kinematics, ground intruders with a reaction force, and day/night cameras.

Metamorphic tests on paired seeds: each variant meets the same random numbers (keyed
streams), so a difference comes from the lever moved, not from noise.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from tests.conftest import small_dict, small_scenario

from bastion.core.events import EventLog
from bastion.core.rng import Streams
from bastion.scenario.geo import Frame
from bastion.scenario.load import validate_dict, with_overrides
from bastion.scenario.schema import Airframe, Camera
from bastion.sim.sensors.perimeter import camera_range_m, intrusions
from bastion.sim.world import build_air
from bastion.sim.world.air import Phase

# ----------------------------------------------------------------------- multirotor


def _air(kind: str, **changes):
    sc = small_scenario(**{"airframes.fw.kind": kind, "airframes.fw.cruise_speed_mps": 15.0,
                           **changes})
    frame = Frame(sc.origin)
    assets = [a for s in sc.sites for a in s.assets]
    enu = np.array([frame.point(a.position) for a in assets])
    air, _ = build_air(sc, frame, Streams(sc.seed, 0), enu, [a.name for a in assets])
    return air


def _arrivals(air, t_end: float = 4_000.0) -> np.ndarray:
    """Advance in 5 s steps; the time each drone attacked its aim (nan if it did not)."""
    t_hit = np.full(air.n_drones, np.nan)
    for t in np.arange(0.0, t_end, 5.0):
        for k, fate, t_s in air.advance(t, t + 5.0):
            if fate == 4:  # Fate.ATTACKED
                t_hit[k] = t_s
    return t_hit


def test_multirotor_slower_to_arrive_than_fixed_wing_at_the_same_cruise_speed():
    fw = _arrivals(_air("fixed_wing"))
    mr = _arrivals(_air("multirotor"))
    assert np.isfinite(fw).all() and np.isfinite(mr).all()
    # paired: the same drones (launch points, speeds); climb, braking, slow approach, hover
    assert np.all(mr > fw + 20.0)  # at least the hover


def test_multirotor_without_hover_and_slow_approach_still_climbs_first():
    quick = {"airframes.fw.hover_s": 0.0, "airframes.fw.approach_speed_mps": 400.0,
             "airframes.fw.acceleration_mps2": 100.0}
    fw = _arrivals(_air("fixed_wing"))
    mr = _arrivals(_air("multirotor", **quick))
    slow = _arrivals(_air("multirotor"))
    assert np.all(mr > fw)  # vertical take-off to 300 m costs ~60 s
    assert np.all(slow > mr)  # the approach and hover cost time


def test_multirotor_climbs_vertically_then_hovers_over_its_aim():
    air = _air("multirotor", **{"raids.0.departure.spread_s": 0.0})
    assert np.all(air.phase == Phase.CLIMB) and np.all(air.pos[:4, 2] == 0.0)
    xy0 = air.pos[:4, :2].copy()
    air.advance(0.0, 20.0)
    np.testing.assert_allclose(air.pos[:4, :2], xy0)  # straight up: no ground speed
    np.testing.assert_allclose(air.pos[:4, 2], 100.0)  # 20 s at 5 m/s
    # fly until the first one hovers; it holds position there until it dives
    t = 20.0
    while not np.any(air.phase == Phase.HOVER):
        air.advance(t, t + 1.0)
        t += 1.0
    k = int(np.flatnonzero(air.phase == Phase.HOVER)[0])
    p = air.pos[k].copy()
    air.advance(t, t + 10.0)
    np.testing.assert_allclose(air.pos[k], p)


def test_multirotor_fields_rejected_on_fixed_wing():
    with pytest.raises(ValidationError, match="hover_s: only a multirotor"):
        Airframe(kind="fixed_wing", hover_s=10.0)
    assert Airframe(kind="multirotor").kinematics().hover_s > 0.0
    assert Airframe().kinematics().climb_rate_mps == 3.0  # the fixed-wing law unchanged


def test_multirotor_lands_straight_down_on_its_failsafe():
    air = _air("multirotor", **{"raids.0.departure.spread_s": 0.0})
    air.advance(0.0, 200.0)
    from bastion.sim.world.air import Mode

    air.mode[0] = Mode.LAND
    air.drone_velocities(np.array([0]))
    assert air.vel[0, 0] == 0.0 and air.vel[0, 1] == 0.0 and air.vel[0, 2] == -3.0


# ----------------------------------------------------------------------- ground


def _ground_dict(**changes):
    d = small_dict()
    d["raids"] = []
    d["birds"] = []
    d["airframes"] = {}
    d["assumptions"] = []
    d["duration_s"] = 3000
    sc = validate_dict(d, "ground")
    return with_overrides(sc, changes) if changes else sc


def _with_cameras(night: bool, fence_pd: float = 0.0, **changes):
    d = small_dict()
    d.update(raids=[], birds=[], airframes={}, assumptions=[], duration_s=3000, night=night)
    d["sensors"].append({"kind": "camera", "name": "cam-eo", "site": "base",
                         "position": {"lat_deg": 35.009, "lon_deg": 35.0},
                         "eo_range_m": 500, "ir_range_m": 0, "pd": 0.5})
    d["sensors"].append({"kind": "camera", "name": "cam-ir", "site": "base",
                         "position": {"lat_deg": 35.003, "lon_deg": 35.0},
                         "eo_range_m": 0, "ir_range_m": 300, "pd": 0.5})
    sc = validate_dict(d, "cams")
    return with_overrides(sc, {"sensors.fence.pd": fence_pd, **changes})


def _run(sc, reps: int = 20):
    """Per replication: its ground event log rows (kind, t, value)."""
    out = []
    for r in range(reps):
        log = EventLog(r)
        intrusions(sc, Frame(sc.origin), Streams(sc.seed, r), log)
        out.append([(row[2], row[1], row[10]) for row in log.rows])
    return out


def _total(runs, kind):
    return sum(v for rows in runs for k, _, v in rows if k == kind)


def _alarms(runs):
    return np.array([min((t for k, t, _ in rows if k == "intrusion_alarm"), default=np.inf)
                     for rows in runs])


def test_more_reaction_force_delay_more_intruders_reach_the_asset():
    quick = _run(_ground_dict(**{"sites.0.reaction_force.response_time_s": 60.0}))
    slow = _run(_ground_dict(**{"sites.0.reaction_force.response_time_s": 560.0}))
    assert _total(slow, "intruders_reached_asset") > _total(quick, "intruders_reached_asset")
    assert _total(quick, "intruders_stopped") > _total(slow, "intruders_stopped")
    for rows in quick + slow:  # every intruder ends one way or the other
        assert _total([rows], "intruders_stopped") + _total(
            [rows], "intruders_reached_asset") == 4


def test_lower_perimeter_pd_delays_alarms():
    good = _alarms(_run(_ground_dict(**{"sensors.fence.pd": 0.95}), 30))
    poor = _alarms(_run(_ground_dict(**{"sensors.fence.pd": 0.3}), 30))
    assert np.all(poor >= good)  # paired: the same draws, fewer of them succeed
    assert poor.sum() > good.sum()


def test_night_removes_eo_detections_but_keeps_ir():
    day, night = _with_cameras(False), _with_cameras(True)
    eo, ir = (next(s for s in day.sensors if s.name == n) for n in ("cam-eo", "cam-ir"))
    assert isinstance(eo, Camera)
    assert camera_range_m(eo, False) == 500 and camera_range_m(eo, True) == 0
    assert camera_range_m(ir, True) == pytest.approx(300 * 1.3)
    # with the IR camera blinded, the alarm comes from the EO camera by day, never by night
    no_ir = {"sensors.cam-ir.ir_range_m": 0.0}
    d_eo = _alarms(_run(_with_cameras(False, **no_ir)))
    n_eo = _alarms(_run(_with_cameras(True, **no_ir)))
    assert np.all(d_eo < n_eo)  # at night they are found only at the asset
    # the IR camera still sees them at night: alarms before they reach the asset
    assert np.all(_alarms(_run(night)) < n_eo)
    assert _total(_run(night), "intruders_stopped") > _total(_run(_with_cameras(
        True, **no_ir)), "intruders_stopped")


def test_ground_run_is_deterministic():
    sc = _with_cameras(True, fence_pd=0.5)
    assert _run(sc, 5) == _run(sc, 5)


# ----------------------------------------------------------------------- template


def test_generic_airfield_is_a_builtin_of_rf_linked_multirotors_from_5_km():
    from bastion.scenario import builtin_names, load_scenario

    assert "generic-airfield" in builtin_names()
    sc = load_scenario("generic-airfield")
    assert {s.kind for s in sc.sensors} >= {"radar", "eoir", "camera", "perimeter"}
    assert sorted(e.kind for e in sc.effectors) == ["gun", "jammer"]
    frame = Frame(sc.origin)
    for r in sc.raids:
        af = sc.airframes[r.airframe]
        assert af.kind == "multirotor" and af.navigation == "rf_link" and af.emits_rf
        aim = next(a for s in sc.sites for a in s.assets if a.name == r.target)
        d = np.linalg.norm(frame.point(r.launch)[:2] - frame.point(aim.position)[:2])
        assert 4_500.0 < d < 5_500.0
    assert sc.intruders and sc.night
