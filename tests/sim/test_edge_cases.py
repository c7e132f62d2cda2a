"""Scenarios a planner will write while sketching: missing pieces must run, not crash."""

from __future__ import annotations

import pytest
from tests.conftest import small_dict

from bastion.scenario.load import validate_dict
from bastion.sim.montecarlo import monte_carlo


def _variant(name):
    d = small_dict()
    if name == "no raids":
        d["raids"] = []
    elif name == "no sensors":
        d["sensors"] = []
    elif name == "no effectors":
        d["effectors"] = []
    elif name == "ins":
        d["airframes"]["fw"]["navigation"] = "ins"
    elif name == "return home":
        d["airframes"]["fw"]["failsafe"] = {"land": 0, "loiter": 0, "return_home": 1,
                                            "continue_ins": 0}
    return validate_dict(d, name)


@pytest.mark.parametrize("name", ["no raids", "no sensors", "no effectors", "ins",
                                  "return home"])
def test_variant_runs(name):
    mc = monte_carlo(_variant(name), 2)
    s = mc.summary()
    drones = s["drones"]["mean"]
    accounted = sum(s[k]["mean"] for k in ("shot_down", "forced_down", "leaked", "returned",
                                           "still_flying"))
    assert accounted == pytest.approx(drones)  # every drone ends somewhere
    if name in ("no sensors", "no effectors"):
        assert s["leaked"]["mean"] == drones and s["shots"]["mean"] == 0
    if name == "ins":
        assert s["forced_down"]["mean"] == 0  # jamming GNSS does nothing to INS drones


def test_a_noisy_radar_near_its_target_reports_zero_range_rather_than_failing():
    # σ_range 400 m: some target passes within a few σ of the antenna, where range + noise
    # goes negative; the report is clamped at zero range (this used to abort the run).
    from tests.conftest import small_scenario

    from bastion.sim.engine import simulate

    r = simulate(small_scenario(**{"sensors.radar.sigma_range_m": 400.0}), 0)
    assert r.outcome["detected"] > 0
