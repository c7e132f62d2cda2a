"""Terrain and clutter: line of sight over ridges and DEMs, land/sea clutter after the MTI
(low flight matters), minimum engagement altitude (paired seeds for the metamorphic test)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import small_dict

from bastion.scenario.geo import Frame
from bastion.scenario.load import ScenarioError, load_scenario, validate_dict
from bastion.scenario.terrain import TerrainModel
from bastion.sim.montecarlo import monte_carlo
from bastion.sim.sensors.radar import radar_look

# a crest across the approach from the north-east, ~5 km out from the base at (35.0, 35.0)
RIDGE = {"start": {"lat_deg": 35.065, "lon_deg": 35.0}, "end": {"lat_deg": 35.0,
                                                                 "lon_deg": 35.08},
         "height_m": 120.0, "width_m": 800.0}


def _low(ridge: bool, **radar):
    d = small_dict()
    d["effectors"] = []  # detection only: nothing shoots or jams them
    d["airframes"]["fw"]["altitude_m"] = 30.0
    d["sensors"][0].update(radar)
    if ridge:
        d["sites"][0]["terrain"] = {"ridges": [RIDGE]}
    return validate_dict(d, f"low-{ridge}")


def test_flying_at_30m_behind_a_ridge_delays_first_detection():
    runs = 4
    open_ground = monte_carlo(_low(False), runs, workers=1).column("t_detect_after_launch_s")
    behind = monte_carlo(_low(True), runs, workers=1).column("t_detect_after_launch_s")
    # paired: the same drones on the same seeds; every replication sees them later
    assert np.all(np.isfinite(behind))
    assert np.all(behind > open_ground + 30.0)


def _sc(**terrain):
    d = small_dict()
    d["sites"][0]["terrain"] = terrain
    return validate_dict(d, "t")


def test_ridge_height_and_line_of_sight():
    sc = _sc(ridges=[RIDGE])
    fr = Frame(sc.origin)
    tm = TerrainModel(sc, fr)
    r = sc.sites[0].terrain.ridges[0]
    mid = fr.point(r.start) * 0.5 + fr.point(r.end) * 0.5
    assert tm.height_m(mid[0], mid[1]) == pytest.approx(120.0, rel=1e-6)
    assert tm.height_m(0.0, 0.0) < 1.0
    prof = tm.profile(np.array([0.0, 0.0, 8.0]), 20_000.0)
    far = mid[:2] * 2.0  # beyond the crest, on the same bearing
    hidden = prof.visible_from(np.array([0.0, 0.0, 8.0]),
                               np.array([[*far, 30.0], [*far, 600.0], [*(mid[:2] * 0.5), 30.0]]))
    assert hidden.tolist() == [False, True, True]


@settings(max_examples=30, deadline=None)
@given(h=st.floats(10.0, 2_000.0), alt=st.floats(1.0, 3_000.0))
def test_a_higher_target_is_never_hidden_when_a_lower_one_is_seen(h, alt):
    ridge = dict(RIDGE, height_m=h)
    sc = _sc(ridges=[ridge])
    prof = TerrainModel(sc, Frame(sc.origin)).profile(np.array([0.0, 0.0, 8.0]), 20_000.0)
    p = np.array([[6_000.0, 6_000.0, alt], [6_000.0, 6_000.0, alt + 50.0]])
    vis = prof.visible_from(np.array([0.0, 0.0, 8.0]), p)
    assert not (vis[0] and not vis[1])


def test_clutter_lowers_pd_of_low_flight_and_mti_restores_it():
    sc = small_dict()
    cfg = validate_dict(sc, "c").sensors[0]
    pos = np.array([0.0, 0.0, 8.0])
    targets = np.array([[6_000.0, 0.0, 30.0], [6_000.0, 0.0, 600.0]])
    pd = radar_look(cfg, pos, targets, 0.03).pd
    no_clutter = radar_look(cfg.model_copy(update={"clutter": False}), pos, targets, 0.03).pd
    better_mti = radar_look(cfg.model_copy(update={"mti_improvement_db": 70.0}), pos, targets,
                            0.03).pd
    assert pd[0] < no_clutter[0] - 0.1  # low: in the ground clutter
    assert pd[1] == pytest.approx(no_clutter[1], rel=1e-3)  # high: clear of it
    assert better_mti[0] > pd[0]


def test_sea_clutter_is_weaker_than_land_clutter():
    cfg = validate_dict(small_dict(), "c").sensors[0]
    land = _sc()
    sea = _sc(sea_sector=[0.0, 180.0])  # the whole east half is sea
    pos = np.array([0.0, 0.0, 8.0])
    tgt = np.array([[6_000.0, 0.0, 30.0]])
    fr = Frame(land.origin)
    p_land = radar_look(cfg, pos, tgt, 0.03, TerrainModel(land, fr).profile(pos, 30_000.0)).pd
    p_sea = radar_look(cfg, pos, tgt, 0.03, TerrainModel(sea, fr).profile(pos, 30_000.0)).pd
    assert p_sea[0] > p_land[0]


def test_dem_geotiff_is_read_relative_to_the_scenario_file(tmp_path):
    import rasterio
    import yaml
    from rasterio.transform import from_origin

    z = np.zeros((50, 50), np.float32)
    z[:, 25] = 300.0  # a north-south wall along one column
    with rasterio.open(tmp_path / "dem.tif", "w", driver="GTiff", height=50, width=50,
                       count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(34.95, 35.05, 0.002, 0.002)) as dst:
        dst.write(z, 1)
    d = small_dict()
    d["sites"][0]["terrain"] = {"dem": "dem.tif"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(d))
    sc = load_scenario(tmp_path / "s.yaml")
    tm = TerrainModel(sc, Frame(sc.origin))
    lon_wall = 34.95 + 25.5 * 0.002
    e = Frame(sc.origin).to_enu(35.0, lon_wall)
    assert tm.height_m(e[0], e[1]) == pytest.approx(300.0, rel=1e-3)
    e0 = Frame(sc.origin).to_enu(35.0, 34.97)  # 20 columns west of the wall
    assert tm.height_m(e0[0], e0[1]) == pytest.approx(0.0, abs=1e-6)
    (tmp_path / "bad.tif").write_bytes(b"not a tiff")
    d["sites"][0]["terrain"] = {"dem": "bad.tif"}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(d))
    with pytest.raises(ScenarioError, match=r"sites\.0\.terrain\.dem"):
        load_scenario(tmp_path / "b.yaml")


def test_minimum_engagement_altitude_spares_low_drones():
    d = small_dict()
    d["effectors"] = [e for e in d["effectors"] if e["kind"] != "jammer"]
    d["airframes"]["fw"]["altitude_m"] = 30.0
    base = monte_carlo(validate_dict(d, "a"), 2, workers=1).column("shots").sum()
    shots = []
    for floor_m in (50.0, 300.0):
        for e in d["effectors"]:
            e["min_altitude_m"] = floor_m
        shots.append(monte_carlo(validate_dict(d, "b"), 2, workers=1).column("shots").sum())
    # the floor is judged on the track's height, whose error at a few km is tens of metres:
    # a 50 m floor spares most 30 m drones, a 300 m floor all of them
    assert base > shots[0] > shots[1] == 0
