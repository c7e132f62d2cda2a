"""One seed, one result, bit for bit, whatever the number of workers or the lock-step block."""

from __future__ import annotations

import numpy as np
from tests.conftest import small_dict, small_scenario, tables_equal

from bastion.sim.engine import simulate, simulate_block
from bastion.sim.montecarlo import monte_carlo


def assert_same_runs(base, other) -> None:
    """Two lists of SimResult with the same events and every outcome bit for bit."""
    for a, b in zip(base, other, strict=True):
        assert tables_equal(a.events, b.events)
        assert a.outcome.keys() == b.outcome.keys()
        for k, v in a.outcome.items():
            assert np.float64(v).tobytes() == np.float64(b.outcome[k]).tobytes(), k


def test_same_seed_same_events(small):
    a = simulate(small, 3)
    b = simulate(small, 3)
    assert tables_equal(a.events, b.events)
    assert a.outcome == b.outcome


def test_different_replications_differ(small):
    outs = [simulate(small, r).events.num_rows for r in range(4)]
    times = [simulate(small, r).events.column("t_s").to_pylist()[:20] for r in range(2)]
    assert times[0] != times[1] or len(set(outs)) > 1


def test_workers_do_not_change_results(small):
    one = monte_carlo(small, 4, workers=1)
    two = monte_carlo(small, 4, workers=2)
    assert tables_equal(one.outcomes, two.outcomes)
    assert tables_equal(one.events, two.events)
    assert one.representative.replication == two.representative.replication


def test_seed_override_changes_results(small):
    a = monte_carlo(small, 3, seed=1).outcomes
    b = monte_carlo(small, 3, seed=2).outcomes
    assert not tables_equal(a, b)


def test_common_random_numbers_same_drones_across_doctrines(small):
    """Launch times and points are drawn from keyed streams: identical across doctrines."""
    a = simulate(small, 5)
    b = simulate(small_scenario(**{"doctrine.weapons_control": "hold"}), 5)

    def launches(r):
        ev = r.events.filter(np.array(r.events.column("kind").to_pylist()) == "launched")
        return ev.column("t_s").to_pylist(), ev.column("x_m").to_pylist()

    assert launches(a) == launches(b)


def test_lock_step_block_equals_each_replication_alone(small):
    """A replication run in a block with others gives exactly what it gives alone: the
    block shares the stages' cost, never their state."""
    block = simulate_block(small, [0, 1, 2, 3, 4])
    again = simulate_block(small, [4, 2])  # another composition and order
    for r in (0, 2, 4):
        alone = simulate(small, r)
        assert block[r].replication == r
        assert tables_equal(block[r].events, alone.events)
        assert block[r].outcome == alone.outcome or all(
            a == b or (a != a and b != b) for a, b in zip(
                block[r].outcome.values(), alone.outcome.values(), strict=True))
        assert block[r].steps == alone.steps
    assert tables_equal(again[1].events, block[2].events)
    assert tables_equal(again[0].events, block[4].events)


def test_replication_results_do_not_depend_on_run_count(small):
    """Replication 2 of a 3-run and of a 6-run Monte Carlo are the same run."""
    short = monte_carlo(small, 3, workers=1)
    long = monte_carlo(small, 6, workers=2)
    assert tables_equal(short.outcomes, long.outcomes.slice(0, 3))


def test_block_rejects_clashing_slots(small):
    import pytest

    with pytest.raises(ValueError, match="distinct"):
        simulate_block(small, [1, 65])


def _same(a, b) -> bool:
    """Events, outcomes and every engagement's expected Pk (a float computed from the track
    covariance, so it shows a difference in the last bit of the tracker's state)."""
    return tables_equal(a.events, b.events) and all(
        x == y or (x != x and y != y) for x, y in zip(a.outcome.values(), b.outcome.values(),
                                                     strict=True)) and [
        (e.pk_expected, e.track_key) for e in a.engagements] == [
        (e.pk_expected, e.track_key) for e in b.engagements] and a.shot_targets == b.shot_targets


def test_block_equals_alone_with_awkward_scan_period_and_spread_departures():
    """A 1.2 s scan (n · 1.2 lands just below a multiple of 1.2) and departures spread so
    replications wake from their skips at different times: the woken one must not replay an
    old scan the block's tracker has moved past."""
    sc = small_scenario(**{"sensors.radar.scan_period_s": 1.2,
                           "raids.r.departure.spread_s": 600, "raids.r.departure.t_s": 700})
    block = simulate_block(sc, [0, 1, 2, 3])
    for r in (1, 3):
        assert _same(block[r], simulate(sc, r))


def test_block_equals_alone_with_two_radar_periods():
    """Radars of different periods: the tracker clock stops short of the tick end, and the
    tracks of one replication must not be re-predicted because another's are behind."""
    d = small_dict()
    radar2 = dict(d["sensors"][0], name="radar2", scan_period_s=3.0)
    sc = small_scenario(sensors=[*d["sensors"], radar2])
    block = simulate_block(sc, [0, 1, 2])
    for r in (0, 2):
        assert _same(block[r], simulate(sc, r))
