"""Kinetic channels: fire units share their channels, a channel is held until intercept,
guns fire bursts, reloads come out of a finite stock (paired seeds)."""

from __future__ import annotations

import numpy as np
from tests.conftest import small_dict

from bastion.respond.effectors import EffectorStatus, build_effectors
from bastion.respond.engagement import Engagement
from bastion.respond.kinetic import intercepts
from bastion.respond.ports import StatusWeapons
from bastion.scenario.geo import Frame
from bastion.scenario.load import validate_dict, with_overrides
from bastion.sim.montecarlo import monte_carlo


def _raid40(**changes):
    d = small_dict()
    d["effectors"] = [e for e in d["effectors"] if e["kind"] != "jammer"]
    for e in d["effectors"]:
        e.update(fire_unit="pantsir", fire_channels=4, magazine=200)
    d["raids"][0].update(count=40, launch_radius_m=300,
                         departure={"t_s": 0, "spread_s": 30})
    sc = validate_dict(d, "raid40")
    return with_overrides(sc, changes) if changes else sc


def test_one_fire_channel_instead_of_four_raises_leakers_on_a_40_drone_raid():
    runs = 4
    four = monte_carlo(_raid40(), runs, workers=1)
    # the same raid on the same seeds, the unit's two weapons down to one channel
    one = monte_carlo(_raid40(**{"effectors.sam.fire_channels": 1,
                                 "effectors.gun.fire_channels": 1}), runs, workers=1)
    assert one.column("leaked").sum() > four.column("leaked").sum()
    assert one.column("shots").sum() < four.column("shots").sum()


def test_fire_unit_has_the_fewest_channels_and_one_site():
    import pytest

    from bastion.scenario.load import ScenarioError

    d = small_dict()
    d["effectors"][0].update(fire_unit="u", fire_channels=2)
    d["effectors"][1].update(fire_unit="u", fire_channels=3)
    sc = validate_dict(d, "ok")
    eff = build_effectors(sc, Frame(sc.origin))
    assert eff.unit[0] == eff.unit[1] and eff.unit_channels.tolist() == [2]
    d["sites"].append({"name": "other", "assets": [dict(d["sites"][0]["assets"][0],
                                                        name="x")]})
    d["effectors"][1]["site"] = "other"
    with pytest.raises(ScenarioError, match="fire_unit"):
        validate_dict(d, "bad")


def _port(**changes):
    d = small_dict()
    for e in d["effectors"][:2]:
        e.update(fire_unit="u", fire_channels=1)
    sc = with_overrides(validate_dict(d, "ch"), changes) if changes else validate_dict(d, "ch")
    eff = build_effectors(sc, Frame(sc.origin))
    st = EffectorStatus.initial(eff, 1)
    return eff, st, StatusWeapons(eff, st, [_Log()])


class _Log:
    def add(self, *a, **k):
        pass


def test_a_channel_is_held_from_proposal_to_intercept_and_shared_by_the_unit():
    eff, st, port = _port()
    assert st.ready(eff, 0.0)[0, :2].all()
    port.reserve(0, 0, 0.0)  # the missile takes the unit's only channel
    assert not st.ready(eff, 0.0)[0, 1]  # the gun of the same vehicle has none left
    e = Engagement(0, 0, 0, 0.0, 0.5, 0.0, "test")
    e.t_hit_s = 13.0
    port.fire(0, e, 1.0, np.zeros(3), 1.0, np.zeros(3))
    assert not st.ready(eff, 12.9)[0, 1]  # still guiding
    assert st.ready(eff, 13.0)[0, 1]  # free at the intercept


def test_release_frees_the_channel():
    eff, st, port = _port()
    port.reserve(0, 1, 0.0)
    assert not st.ready(eff, 0.0)[0, 0]
    port.release(0, 1, 5.0)
    assert st.ready(eff, 5.0)[0, 0]


def test_stock_limits_reloads():
    _eff, st, port = _port(**{"effectors.gun.magazine": 2, "effectors.gun.reserve_rounds": 0})
    for k in range(2):
        e = Engagement(k, 1, 0, 0.0, 0.5, 0.0, "test")
        e.t_hit_s = 1.0
        port.fire(0, e, 0.0, np.zeros(3), 1.0, np.zeros(3))
    assert st.rounds[0, 1] == 0 and np.isinf(st.reload_done_s[0, 1])  # nothing to reload


def test_burst_pk_from_per_round_pk():
    x = np.array([[2000.0, 0.0, 300.0, -30.0, 0.0, 0.0]])
    P = np.tile(np.eye(6) * 4.0, (1, 1, 1))
    args = (np.zeros((1, 3)), np.array([1000.0]), np.zeros(1), np.array([200.0]),
            np.array([4000.0]), np.array([3000.0]), np.array([0.3]), np.array([40.0]),
            np.array([15.0]), np.array([150.0]), np.array([False]), x, P)
    one = intercepts(*args).pk[0, 0]
    five = intercepts(*args, burst_rounds=np.array([5])).pk[0, 0]
    assert 0 < one < 0.3
    assert np.isclose(five, 1 - (1 - one) ** 5)
    low = intercepts(*args, min_alt_m=np.array([400.0]))
    assert not low.feasible[0, 0] and low.pk[0, 0] == 0.0
