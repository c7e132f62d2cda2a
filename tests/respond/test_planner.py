"""The planner's screening stages: one call over many replications equals one per replication."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import small_scenario

from bastion.assess.threat import Threats
from bastion.respond.effectors import EffectorState, build_effectors
from bastion.respond.planner import jammer_radius_m, plan, soft_kill_hold, within_reach
from bastion.respond.roe import NoFireZones
from bastion.scenario.geo import Frame


def _effectors() -> tuple[EffectorState, np.ndarray]:
    sc = small_scenario()
    frame = Frame(sc.origin)
    eff = build_effectors(sc, frame)
    assets = np.array([frame.point(a.position)[:2] for s in sc.sites for a in s.assets])
    return eff, assets


def test_soft_kill_hold_rows_of_many_replications_match_one_at_a_time():
    eff, asset_xy = _effectors()
    doctrine = small_scenario().doctrine
    (j, _), = eff.jammers
    r_j = jammer_radius_m(eff, j)
    rng = np.random.default_rng(1)
    n, reps = 60, 4
    rep = rng.integers(0, reps, n)
    # positions straddling the footprint's edge, so both sides of every test occur
    ang = rng.uniform(0, 2 * np.pi, n)
    dist = r_j * rng.uniform(0.5, 1.5, n)
    xy = eff.pos[j, :2] + dist[:, None] * np.c_[np.cos(ang), np.sin(ang)]
    asset = np.zeros(n, np.int64)
    ttg = rng.uniform(0, 120, n)
    soft0 = np.where(rng.uniform(size=n) < 0.5, np.nan, rng.uniform(0, 100, n))
    rad_rep = np.zeros((reps, eff.radiating.size), bool)
    rad_rep[[0, 2], j] = True
    t = 100.0

    soft_all = soft0.copy()
    hold_all = soft_kill_hold(t, doctrine, eff, rad_rep[rep], xy, asset_xy, asset, ttg, soft_all)
    for b in range(reps):
        rows = np.flatnonzero(rep == b)
        soft_b = soft0[rows].copy()
        on = np.broadcast_to(rad_rep[b], (rows.size, rad_rep.shape[1]))
        hold_b = soft_kill_hold(t, doctrine, eff, on, xy[rows], asset_xy, asset[rows], ttg[rows],
                                soft_b)
        assert np.array_equal(hold_all[rows], hold_b)
        assert np.array_equal(soft_all[rows], soft_b, equal_nan=True)
    # only tracks inside a radiating footprint start their clock, and only once
    started = np.isnan(soft0) & ~np.isnan(soft_all)
    assert started.any()
    assert np.all(rad_rep[rep[started], j])
    assert np.all(soft_all[started] == t)
    kept = ~np.isnan(soft0)
    assert np.array_equal(soft_all[kept], soft0[kept])


def test_soft_kill_hold_nothing_radiating_changes_nothing():
    eff, asset_xy = _effectors()
    doctrine = small_scenario().doctrine
    soft = np.full(3, np.nan)
    hold = soft_kill_hold(5.0, doctrine, eff, np.zeros((3, eff.radiating.size), bool),
                          np.zeros((3, 2)), asset_xy, np.zeros(3, np.int64), np.ones(3), soft)
    assert not hold.any()
    assert np.isnan(soft).all()


def test_within_reach_slack_only_widens():
    eff, _ = _effectors()
    kin = np.flatnonzero(eff.kinetic)
    rng = np.random.default_rng(2)
    xy = rng.uniform(-30_000, 30_000, (200, 2))
    speed = rng.uniform(0, 60, 200)
    delay = eff.reaction_s[kin] + 5.0
    exact = within_reach(eff, kin, delay, xy, speed)
    wide = within_reach(eff, kin, delay, xy, speed, slack=1e-9)
    assert exact.shape == (kin.size, 200)
    assert exact.any() and not exact.all()
    assert np.all(wide[exact])


def _plan_one(soft_kill_first: bool, soft: np.ndarray) -> list:
    """plan alone (as the live service calls it): one track inside the radiating jammer's
    footprint, 3 km out and flying at the asset, with a long time-to-go."""
    sc = small_scenario(**{"doctrine.soft_kill_first": soft_kill_first})
    eff, asset_xy = _effectors()
    (j, _), = eff.jammers
    eff.radiating[j] = True
    x = np.array([[3000.0, 0.0, 300.0, -30.0, 0.0, 0.0]])
    x[0, :2] += asset_xy[0]
    P = np.diag([25.0, 25.0, 25.0, 4.0, 4.0, 4.0])[None]
    threats = Threats(np.zeros(1, np.int64), np.ones(1), np.full(1, 100.0), np.ones(1),
                      np.zeros(1, np.int64))
    return plan(0.0, sc.doctrine, eff, x, P, np.ones(1, bool), threats, np.zeros(1, bool),
                soft, NoFireZones([]), np.zeros(3), 0.0, asset_xy)


def test_plan_alone_leaves_a_covered_track_to_the_jammer():
    soft = np.full(1, np.nan)
    assert _plan_one(True, soft) == []
    assert soft[0] == 0.0  # its time in the footprint starts now
    soft = np.full(1, np.nan)
    props = _plan_one(False, soft)
    assert soft[0] == 0.0
    assert props and props[0].track_row == 0


def _soft_kill_hold_ref(t_s, doctrine, eff, radiating, xy, asset_xy, asset, time_to_go_s,
                        soft_since_s):
    """The array expressions the compiled soft_kill_hold replaced."""
    n = xy.shape[0]
    inside = np.zeros(n, bool)
    protected = np.zeros(n, bool)
    for j, _ in eff.jammers:
        on = radiating[:, j]
        if on.any():
            r_j = jammer_radius_m(eff, j)
            inside |= on & (np.linalg.norm(xy - eff.pos[j, :2], axis=1) <= r_j)
            protected |= on & (np.linalg.norm(asset_xy[asset] - eff.pos[j, :2], axis=1) <= r_j)
    soft_since_s[inside & np.isnan(soft_since_s)] = t_s
    if not doctrine.soft_kill_first:
        return np.zeros(n, bool)
    waited = t_s - np.nan_to_num(soft_since_s, nan=t_s)
    return protected & (waited < doctrine.soft_kill_wait_s) & (
        time_to_go_s > doctrine.kinetic_reserve_s)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 80), first=st.booleans(),
       two=st.booleans())
def test_soft_kill_hold_matches_array_reference(seed, n, first, two):
    sc = small_scenario(**{"doctrine.soft_kill_first": first})
    eff, asset_xy = _effectors()
    (j, jam), = eff.jammers
    if two:  # a second jammer (a spoofer) elsewhere: footprints of both, either or none
        eff.jammers = [(j, jam), (0, jam.model_copy(update={"mode": "spoof"}))]
    rng = np.random.default_rng(seed)
    asset_xy = np.vstack([asset_xy, rng.normal(0, 8000, (3, 2))])
    r_j = jammer_radius_m(eff, j)
    xy = eff.pos[j, :2] + rng.normal(0, r_j, (n, 2))
    asset = rng.integers(0, asset_xy.shape[0], n)
    ttg = rng.choice([0.0, 5.0, 30.0, 200.0, np.inf], n)
    soft0 = np.where(rng.random(n) < 0.5, np.nan, rng.uniform(0, 100, n))
    rad = rng.random((n, eff.radiating.size)) < 0.6
    t = float(rng.choice([40.0, 100.0, 130.0]))
    soft_new, soft_ref = soft0.copy(), soft0.copy()
    hold = soft_kill_hold(t, sc.doctrine, eff, rad, xy, asset_xy, asset, ttg, soft_new)
    want = _soft_kill_hold_ref(t, sc.doctrine, eff, rad, xy, asset_xy, asset, ttg, soft_ref)
    assert hold.dtype == want.dtype and np.array_equal(hold, want)
    assert soft_new.tobytes() == soft_ref.tobytes()


def test_a_track_the_spoofer_pushes_sideways_is_held_past_the_wait():
    from bastion.scenario import load_scenario

    sc = load_scenario("khmeimim-2018")
    frame = Frame(sc.origin)
    eff = build_effectors(sc, frame)
    asset_xy = np.array([frame.point(a.position)[:2] for s in sc.sites for a in s.assets])
    j, jam = next((i, jam) for i, jam in eff.jammers if jam.mode == "spoof")
    push, r, rate = eff.push_xy[j], jammer_radius_m(eff, j), jam.spoof_rate_mps
    assert np.isfinite(push).all()
    # a point inside the footprint from which the way to asset 0 is across the push, so a
    # sideways drift along the push is visible against the approach
    best = -1.0
    for ang in np.linspace(0, 2 * np.pi, 72, endpoint=False):
        p = eff.pos[j, :2] + 0.6 * r * np.array([np.cos(ang), np.sin(ang)])
        w = (asset_xy[0] - p) / np.linalg.norm(asset_xy[0] - p)
        n = np.array([-w[1], w[0]])
        if abs(n @ push) > best:
            best, x0, u, side = abs(n @ push), p, w, n * np.sign(n @ push)
    assert side @ push > 0.3
    to_asset = 30.0 * u
    pushed = to_asset + 1.2 * rate * side / (side @ push)  # sideways drift along the push
    against = to_asset - 1.2 * rate * side / (side @ push)  # drifting the other way
    on = np.zeros((1, eff.radiating.size), bool)
    on[0, j] = True
    d = sc.doctrine
    t = 1000.0

    def held(vel, doctrine=d, ttg=10 * d.kinetic_reserve_s, radiating=on):
        soft = np.array([t - 10 * d.soft_kill_wait_s])  # in the footprint long past the wait
        return bool(soft_kill_hold(t, doctrine, eff, radiating, x0[None], asset_xy,
                                   np.zeros(1, np.int64), np.array([ttg]), soft,
                                   vel[None])[0])

    assert held(pushed)
    assert not held(to_asset)  # the wait is over: a drone on its way in is fired on
    assert not held(against)  # drifting, but not the way this spoofer pushes
    assert not held(pushed, ttg=0.5 * d.kinetic_reserve_s)  # the kinetic reserve still rules
    assert not held(pushed, radiating=np.zeros_like(on))
    assert not held(pushed, doctrine=d.model_copy(update={"hold_fire_on_spoofed": False}))
    assert held(pushed, doctrine=d.model_copy(update={"soft_kill_first": False}))
    assert not held(0.1 * pushed)  # too slow for a drift to mean anything


def test_soft_kill_hold_refuses_an_asset_index_out_of_range():
    import pytest

    eff, asset_xy = _effectors()
    (j, _), = eff.jammers
    on = np.zeros((2, eff.radiating.size), bool)
    on[:, j] = True
    with pytest.raises(IndexError):
        soft_kill_hold(5.0, small_scenario().doctrine, eff, on, np.zeros((2, 2)), asset_xy,
                       np.array([0, asset_xy.shape[0]]), np.ones(2), np.full(2, np.nan))
