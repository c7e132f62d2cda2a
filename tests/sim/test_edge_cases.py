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
