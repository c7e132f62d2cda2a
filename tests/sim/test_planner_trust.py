"""Issue 12, done-when tests: identification that follows the scenario, damage accounting,
crews. Metamorphic comparisons run both variants on the same seeds (paired)."""

from __future__ import annotations

import math

import numpy as np
from tests.conftest import small_dict

from bastion.assess.identify import IdentModel, best_p_hostile, classify, threshold_warnings
from bastion.core.rng import Streams
from bastion.respond.engagement import Engagement
from bastion.scenario import load_scenario, with_overrides
from bastion.scenario.load import validate_dict
from bastion.sim.engine import simulate_block
from bastion.sim.montecarlo import monte_carlo
from bastion.sim.operator import CrewPool, SimulatedOperator


def _sums(sc, reps, *names):
    res = simulate_block(sc, list(range(reps)))
    return {k: sum(r.outcome[k] for r in res) for k in names}


# --------------------------------------------------------------------------- identification
def test_fast_and_slow_drones_are_still_engaged_on_khmeimim_2018():
    reps = 8
    sc = load_scenario("khmeimim-2018")
    names = ("leaked", "shots", "shot_down")
    at = {v: _sums(with_overrides(sc, {"airframes.improvised-fw.cruise_speed_mps": v}), reps,
                   *names) for v in (30.0, 60.0, 12.0)}
    for v in (60.0, 12.0):
        # no more than one extra leaker per replication on average, and still shot at
        assert at[v]["leaked"] / reps <= at[30.0]["leaked"] / reps + 1.0, (v, at)
        assert at[v]["shots"] > 0 and at[v]["shot_down"] > 0, (v, at)


def test_transponders_off_raises_shots_at_own_aircraft_on_khmeimim_2025():
    reps = 16
    sc = load_scenario("khmeimim-2025")
    on = _sums(sc, reps, "shots_at_own")["shots_at_own"]
    off = _sums(with_overrides(sc, {"own_aircraft.sorties.p_transponder_on": 0.0}), reps,
                "shots_at_own")["shots_at_own"]
    assert off > on


def test_profiles_follow_the_scenario_and_overrides():
    sc = load_scenario("khmeimim-2018")
    m = IdentModel.from_scenario(with_overrides(
        sc, {"airframes.improvised-fw.cruise_speed_mps": 60.0}))
    drone = m.cls == 0
    assert 60.0 in m.speed[drone, 0]
    # priors from the mix: 13 drones, 16 birds, no own aircraft (the floor)
    assert m.prior[2] == sc.identification.prior_floor
    assert m.prior[1] > m.prior[0] > m.prior[2]
    given = with_overrides(sc, {"identification.priors": {
        "hostile_drone": 0.2, "bird": 0.2, "own_aircraft": 0.6}})
    assert np.allclose(IdentModel.from_scenario(given).prior, [0.2, 0.2, 0.6])
    # a 60 m/s drone at its cruise height is a drone; a 12 m/s object at 150 m a bird
    v = np.array([[60.0, 0, 0], [12.0, 0, 0]])
    p = classify(v, np.zeros((2, 6, 6)), np.zeros((2, 3)), model=m,
                 altitude_m=np.array([300.0, 150.0]))
    assert p[0, 0] > 0.9 and p[1, 1] > 0.5


def test_warning_when_a_raid_can_never_reach_the_threshold():
    assert threshold_warnings(load_scenario("khmeimim-2018")) == []
    d = load_scenario("khmeimim-2018").model_dump(mode="json")
    # bird-like drones (speed, height, RCS) seen by radar alone, with no RCS evidence
    d["sensors"] = [s for s in d["sensors"] if s["kind"] == "radar"]
    for s in d["sensors"]:
        s["rcs_evidence"] = False
    d["airframes"]["improvised-fw"].update(cruise_speed_mps=12.0, altitude_m=150.0,
                                           rcs_m2=0.01, speed_sigma_mps=3.6)
    d["identification"] = {"priors": {"hostile_drone": 0.2, "bird": 0.7,
                                      "own_aircraft": 0.1}}
    d["assumptions"] = []
    sc = validate_dict(d, "bird-like")
    assert max(best_p_hostile(sc).values()) < 0.5
    w = threshold_warnings(sc)
    assert len(w) == 2 and "khmeimim-raid" in w[0]


# --------------------------------------------------------------------------- damage
def test_two_drones_on_one_asset_count_twice():
    d = small_dict()
    d["effectors"] = []
    d["raids"][0].update(count=2, launch_radius_m=0.0)
    d["airframes"]["fw"]["lethal_radius_m"] = 300.0
    d["doctrine"] = {"weapons_control": "hold"}
    sc = validate_dict(d, "two-on-one")
    for r in simulate_block(sc, [0, 1]):
        o = r.outcome
        assert o["reached_target_area"] == 2
        assert o["drone_hits"] == 2 and o["asset_hits"] == 2 and o["hits:apron"] == 2
        assert o["assets_hit"] == 1  # one distinct asset
        assert o["damage_value"] == 20.0  # its value, twice
        ends = [e for e in r.events.to_pylist() if e["kind"] == "leaked"]
        # every drone that ends its flight carries its miss distance
        assert all(math.isfinite(e["value"]) and e["value"] < 300.0 for e in ends)
        assert math.isfinite(o["mean_miss_distance_m"])


def _camp_variant():
    """khmeimim-2025 with guns only and a raid from due east, over the camp."""
    d = load_scenario("khmeimim-2025").model_dump(mode="json")
    d["effectors"] = [e for e in d["effectors"] if e["kind"] == "gun"]
    d["raids"][0].update(count=12, launch={"lat_deg": 35.40, "lon_deg": 36.30})
    d["assumptions"] = []
    return validate_dict(d, "camp-variant")


def test_no_fire_zone_rule_off_raises_camp_impacts_on_khmeimim_2025():
    sc = _camp_variant()
    on = monte_carlo(sc, 8).column("nfz_impacts").sum()
    off = monte_carlo(with_overrides(sc, {"doctrine.nfz_epsilon": 1.0}), 8).column(
        "nfz_impacts").sum()
    assert off > on


# --------------------------------------------------------------------------- crews
def test_crew_pool_expired_proposal_releases_the_crew():
    one = CrewPool(1)
    assert one.schedule(0.0, 100.0, deadline_s=60.0) == 100.0  # decided too late: expires
    # the crew was freed at the deadline, not at 100 s
    assert one.schedule(10.0, 5.0, deadline_s=70.0) == 65.0
    # a proposal no crew reaches before its deadline takes none
    busy = CrewPool(1)
    busy.schedule(0.0, 50.0, deadline_s=60.0)
    assert busy.schedule(0.0, 5.0, deadline_s=40.0) == math.inf
    assert busy.free_at_s == [50.0]
    two = CrewPool(2)
    assert two.schedule(0.0, 10.0) == 10.0
    assert two.schedule(0.0, 10.0) == 10.0  # the second crew, in parallel
    assert two.schedule(0.0, 10.0) == 20.0


def _approvals(kind: int, n: int = 2000, **doctrine) -> float:
    sc = with_overrides(load_scenario("khmeimim-2018"), {
        f"doctrine.{k}": v for k, v in doctrine.items()})
    op = SimulatedOperator(sc.doctrine, [Streams(1, 0)], [0], [1], lambda g, key: kind)
    ok = 0
    for i in range(n):
        e = Engagement(i, 0, i, float(i) * 1000.0, 0.8, 0.0, "", track_key=i, p_hostile=0.6)
        op.submit(0, e, e.t_proposed_s)
        ok += op.answer(0, e)[0]
    return ok / n


def test_rejection_depends_on_the_true_class():
    assert abs(_approvals(0) - 0.97) < 0.02
    assert abs(_approvals(1) - 0.5) < 0.05  # p_catch_misid 0.5 by default
    assert _approvals(2, **{"operator.p_catch_misid": 0.9}) < 0.15


def test_automatic_weapons_free_mode():
    sc = with_overrides(load_scenario("khmeimim-2018"), {"doctrine.automatic_above": 0.5})
    op = SimulatedOperator(sc.doctrine, [Streams(1, 0)], [0], [1], lambda g, key: 1)
    auto = Engagement(0, 0, 0, 5.0, 0.8, 0.0, "", track_key=0, p_hostile=0.7)
    crew = Engagement(1, 0, 1, 5.0, 0.8, 0.0, "", track_key=1, p_hostile=0.3)
    op.submit(0, auto, 5.0)
    op.submit(0, crew, 5.0)
    assert op.answer_time(0, auto) == 5.0 and op.answer(0, auto)[0]
    assert op.answer_time(0, crew) > 5.0
