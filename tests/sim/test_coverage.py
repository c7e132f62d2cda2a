"""Coverage maps: the simulator's own models on a grid, and the physics they must obey."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import small_scenario

from bastion.scenario.geo import RADIO_EARTH_RADIUS_M, Frame
from bastion.scenario.schema import Position, Radar
from bastion.sim.coverage import GRID_CELLS, Coverage, SiteCoverage, coverage_maps
from bastion.sim.sensors.kernels import (
    EXPO,
    RX,
    RY,
    SEL,
    radar_geometry,
    radar_near,
    radar_pd_exponent,
)
from bastion.sim.sensors.radar import RadarSensor, radar_look

_POS = Position(lat_deg=35.0, lon_deg=35.0)
_FAST = dict(extent_m=32_000.0, resolution_m=800.0)  # 81 × 81 cells


def _site(cov: Coverage) -> SiteCoverage:
    return cov.sites[0]


def _map(site: SiteCoverage, name: str):
    return next(m for m in site.sensors if m.name == name)


def _cells(site: SiteCoverage, altitude_m: float) -> np.ndarray:
    gx, gy = np.meshgrid(site.x_m, site.y_m)
    return np.stack([gx, gy, np.full_like(gx, altitude_m)], axis=-1)


def _slant(site: SiteCoverage, xyz: np.ndarray, altitude_m: float) -> np.ndarray:
    return np.linalg.norm(_cells(site, altitude_m) - xyz, axis=-1)


def _radar_pos(sc) -> np.ndarray:
    return Frame(sc.origin).point(sc.sensors[0].position)


# ------------------------------------------------------------- the simulator's own Pd


def _scan_pd(s: RadarSensor, targets: np.ndarray, rcs_m2: float) -> np.ndarray:
    """Pd of each target as the radar's scan computes it (RadarSensor._emit's compiled
    passes), for targets caught as the beam passes them (scan period 0) and moving
    radially fast enough to clear the MTI notch; 0 where the scan drops them."""
    n = targets.shape[0]
    rel = targets - s.pos
    r = np.linalg.norm(rel, axis=1)
    vel = -rel / np.maximum(r, 1e-9)[:, None] * (s.cfg.min_radial_speed_mps + 20.0)
    group = np.ones(1, bool)
    row_block = np.zeros(n, np.int64)
    idx, dx, dy = radar_near(np.ones(n, bool), group, row_block, targets, s.pos,
                             s.cfg.max_range_m)
    f, rows = radar_geometry(idx, np.arctan2(dx, dy), targets, vel, np.full(n, rcs_m2), s.pos,
                             0.0, 0.0, 0.0, s.h1, s.re2, s.cfg.min_radial_speed_mps, s.snr90,
                             s.cfg.reference_rcs_m2, s.cfg.range_pd90_m)
    pr = s.profile
    m = radar_pd_exponent(f, rows, np.arctan2(f[RX], f[RY]), np.arcsin(f[SEL]),
                          f[5] ** 4, s.el_max, s.mask, np.full(n, rcs_m2), pr.horizon,
                          pr.ground, pr.sea, pr.az_step_rad, pr.r_step_m, pr.terrain, s.clut)
    out = np.zeros(n)
    out[rows[:m]] = np.power(s.cfg.pfa, f[EXPO, :m])
    return out


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_radar_pd_is_the_scan_model(seed):
    rng = np.random.default_rng(seed)
    mask = [(float(rng.uniform(0, 360)), float(rng.uniform(0, 360)), float(rng.uniform(-1, 6)))
            for _ in range(int(rng.integers(0, 4)))]
    cfg = Radar(name="r", site="s", position=_POS, range_pd90_m=float(rng.uniform(2e3, 4e4)),
                reference_rcs_m2=float(rng.uniform(0.1, 5.0)), max_range_m=30_000.0,
                pfa=float(rng.choice([1e-8, 1e-6, 1e-4])),
                elevation_coverage_deg=float(rng.uniform(5, 70)),
                min_radial_speed_mps=float(rng.uniform(0, 5)), mask=mask)
    s = RadarSensor(cfg, 0, np.array([150.0, -80.0, float(rng.uniform(0, 40))]))
    n = 300
    targets = np.column_stack([rng.uniform(-35e3, 35e3, n), rng.uniform(-35e3, 35e3, n),
                               rng.choice([5.0, 30.0, 300.0, 2_000.0], n)
                               * rng.uniform(0.5, 1.5, n)])
    rcs = float(rng.lognormal(-3.0, 1.5))
    look = radar_look(cfg, s.pos, targets, rcs)
    want = _scan_pd(s, targets, rcs)
    assert np.array_equal(look.pd > 0, want > 0)  # the same cells seen
    np.testing.assert_allclose(look.pd, want, rtol=1e-13, atol=0)


def test_coverage_grid_uses_the_scan_model_at_chosen_cells(small):
    cov = coverage_maps(small, **_FAST)
    site = _site(cov)
    s = RadarSensor(small.sensors[0], 0, _radar_pos(small))
    cells = _cells(site, cov.altitude_m)
    pick = [(40, 40), (40, 55), (10, 70), (72, 3), (0, 0), (40, 61)]
    pts = np.array([cells[i, j] for i, j in pick])
    got = np.array([_map(site, "radar").pd[i, j] for i, j in pick])
    np.testing.assert_allclose(got, _scan_pd(s, pts, cov.rcs_m2), rtol=1e-13, atol=0)
    assert (got > 0).any() and (got < 0.99).any()  # the picks span the interesting range


# ------------------------------------------------------------- defaults


def test_defaults_are_the_hardest_raid_airframe_and_a_200_grid(small):
    data = small.model_dump(mode="json")
    data["airframes"]["big"] = {**data["airframes"]["fw"], "rcs_m2": 0.5, "altitude_m": 120.0}
    data["raids"].append({**data["raids"][0], "name": "r2", "airframe": "big"})
    from bastion.scenario import Scenario

    sc = Scenario.model_validate(data)
    cov = coverage_maps(sc)
    assert cov.altitude_m == 120.0 and cov.rcs_m2 == 0.03  # lowest altitude, smallest RCS
    site = _site(cov)
    assert site.x_m.size == site.y_m.size == GRID_CELLS
    assert site.combined_pd.shape == (GRID_CELLS, GRID_CELLS)
    # the grid reaches past every sensor and weapon
    half = (site.x_m[-1] - site.x_m[0]) / 2
    assert half >= 10_000.0
    cov2 = coverage_maps(sc, altitude_m=500.0, rcs_m2=2.0)
    assert (cov2.altitude_m, cov2.rcs_m2) == (500.0, 2.0)


@pytest.mark.parametrize("bad", [dict(altitude_m=0.0), dict(altitude_m=float("nan")),
                                 dict(rcs_m2=-1.0), dict(resolution_m=0.0),
                                 dict(extent_m=-5.0), dict(extent_m=1e6, resolution_m=1.0)])
def test_bad_arguments_are_refused(small, bad):
    with pytest.raises(ValueError):
        coverage_maps(small, **bad)


# ------------------------------------------------------------- physics


def test_pd_falls_with_range(small):
    cov = coverage_maps(small, **_FAST)
    site = _site(cov)
    look = radar_look(small.sensors[0], _radar_pos(small), _cells(site, cov.altitude_m),
                      cov.rcs_m2)
    pd = _map(site, "radar").pd
    np.testing.assert_array_equal(pd, look.pd)
    keep = look.in_elevation  # outside the cone of silence overhead
    r, p = look.range_m[keep], pd[keep]
    order = np.argsort(r, kind="stable")
    assert np.all(np.diff(p[order]) <= 0.0)
    assert p.max() > 0.99 and p.min() == 0.0


@settings(max_examples=25, deadline=None)
@given(rcs_gain=st.floats(1.0, 100.0), range_gain=st.floats(1.0, 3.0),
       altitude=st.floats(10.0, 3_000.0), pfa_exp=st.integers(4, 10))
def test_more_rcs_or_range_never_lowers_pd(rcs_gain, range_gain, altitude, pfa_exp):
    base = small_scenario(**{"sensors.radar.pfa": 10.0**-pfa_exp,
                             "sensors.radar.range_pd90_m": 9_000.0})
    better = small_scenario(**{"sensors.radar.pfa": 10.0**-pfa_exp,
                               "sensors.radar.range_pd90_m": 9_000.0 * range_gain})
    a = coverage_maps(base, altitude_m=altitude, rcs_m2=0.02, **_FAST)
    b = coverage_maps(base, altitude_m=altitude, rcs_m2=0.02 * rcs_gain, **_FAST)
    c = coverage_maps(better, altitude_m=altitude, rcs_m2=0.02, **_FAST)
    for other in (b, c):
        for m0, m1 in zip(_site(a).sensors, _site(other).sensors, strict=True):
            assert np.all(m1.pd >= m0.pd), m0.name
        assert np.all(_site(other).combined_pd >= _site(a).combined_pd)


def test_mask_blinds_below_its_elevation_and_not_above(small):
    alt, emin = 300.0, 1.0  # masked beyond 300 m / tan 1° ≈ 17 km in the sector
    plain = coverage_maps(small, altitude_m=alt, **_FAST)
    masked = coverage_maps(small_scenario(**{"sensors.radar.mask": [[30.0, 120.0, emin]]}),
                           altitude_m=alt, **_FAST)
    site, site0 = _site(masked), _site(plain)
    look = radar_look(small.sensors[0], _radar_pos(small), _cells(site, alt), 0.03)
    rel = _cells(site, alt) - _radar_pos(small)
    az = np.degrees(np.mod(np.arctan2(rel[..., 0], rel[..., 1]), 2 * np.pi))
    el = np.degrees(np.arcsin(rel[..., 2] / np.linalg.norm(rel, axis=-1)))
    sector = (az >= 30.0) & (az <= 120.0)
    low = sector & (el < emin) & look.in_range
    high = sector & (el > emin + 0.05) & look.in_range
    assert low.sum() > 50 and high.sum() > 50
    m, m0 = _map(site, "radar"), _map(site0, "radar")
    assert np.all(m.pd[low] == 0.0) and m.blind_mask[low].all() and site.blind[low].all()
    assert not m.blind_mask[high].any() and not site.blind[high].any()
    np.testing.assert_array_equal(m.pd[high], m0.pd[high])
    np.testing.assert_array_equal(m.pd[~sector], m0.pd[~sector])  # elsewhere: unchanged
    assert not m0.blind_mask.any() and not site0.blind.any()


def test_a_mask_wrapping_through_north_is_a_sector_about_north(small):
    sc = small_scenario(**{"sensors.radar.mask": [[340.0, 20.0, 5.0]]})
    site = _site(coverage_maps(sc, altitude_m=100.0, **_FAST))
    rel = _cells(site, 100.0) - _radar_pos(sc)
    blind = _map(site, "radar").blind_mask
    near = np.linalg.norm(rel, axis=-1) < 29_000.0  # inside the 30 km max range
    north = near & (rel[..., 1] > 5_000) & (np.abs(rel[..., 0]) < 0.2 * rel[..., 1])
    south = near & (rel[..., 1] < -5_000) & (np.abs(rel[..., 0]) < 0.2 * -rel[..., 1])
    assert north.sum() > 20 and south.sum() > 20
    assert blind[north].all() and not blind[south].any()


def test_low_target_far_out_is_below_the_radar_horizon(small):
    alt = 15.0
    sc = small_scenario(**{"sensors.radar.range_pd90_m": 60_000.0,
                           "sensors.radar.max_range_m": 36_000.0})
    cov = coverage_maps(sc, altitude_m=alt, extent_m=36_000.0, resolution_m=600.0)
    site = _site(cov)
    p = _radar_pos(sc)
    horizon = math.sqrt(2 * RADIO_EARTH_RADIUS_M * p[2]) + math.sqrt(2 * RADIO_EARTH_RADIUS_M
                                                                      * alt)
    r = _slant(site, p, alt)
    m = _map(site, "radar")
    beyond = (r > horizon + 10.0) & (r <= 36_000.0)
    within = r < horizon - 10.0
    assert horizon < 36_000.0 and beyond.sum() > 100
    assert m.blind_horizon[beyond].all() and site.blind[beyond].all()
    assert np.all(m.pd[beyond] == 0.0)
    assert not m.blind_horizon[within].any() and np.all(m.pd[within] > 0.0)
    assert not site.blind[r > 36_000.0 + 10.0].any()  # out of range is not "blind"
    # higher up, the same cells are in sight
    high = _site(coverage_maps(sc, altitude_m=300.0, extent_m=36_000.0, resolution_m=600.0))
    assert not _map(high, "radar").blind_horizon.any()


def test_combined_is_at_least_each_sensor_and_independent(small):
    sc = small_scenario(**{"airframes.fw.emits_rf": True})
    data = sc.model_dump(mode="json")
    data["sensors"].append({"kind": "rf", "name": "rf", "site": "base", "range_m": 6_000.0,
                            "pd": 0.7, "position": {"lat_deg": 35.02, "lon_deg": 35.0,
                                                    "height_m": 10.0}})
    data["sensors"].append({"kind": "radar", "name": "gap-filler", "site": "base",
                            "range_pd90_m": 5_000.0, "max_range_m": 8_000.0,
                            "position": {"lat_deg": 34.95, "lon_deg": 35.05, "height_m": 5.0}})
    from bastion.scenario import Scenario

    site = _site(coverage_maps(Scenario.model_validate(data), rcs_m2=0.01, **_FAST))
    search = [m for m in site.sensors if m.in_combined]
    assert {m.name for m in search} == {"radar", "rf", "gap-filler"}
    for m in site.sensors:
        assert np.all(site.combined_pd >= m.pd - 1e-15) or not m.in_combined
    want = 1.0 - np.prod([1.0 - m.pd for m in search], axis=0)
    np.testing.assert_allclose(site.combined_pd, want, rtol=0, atol=1e-15)
    assert np.any(site.combined_pd > np.max([m.pd for m in search], axis=0) + 1e-3)
    rf = _map(site, "rf")
    assert set(np.unique(rf.pd)) == {0.0, 0.7}


def test_rf_hears_nothing_from_a_silent_airframe_and_eoir_is_not_a_search_sensor(small):
    data = small.model_dump(mode="json")
    data["sensors"].append({"kind": "rf", "name": "rf", "site": "base",
                            "position": {"lat_deg": 35.0, "lon_deg": 35.0}})
    from bastion.scenario import Scenario

    site = _site(coverage_maps(Scenario.model_validate(data), **_FAST))
    assert not _map(site, "rf").pd.any() and "silent" in _map(site, "rf").note
    eo = _map(site, "eo")
    assert not eo.in_combined and eo.pd.max() == 0.9
    r = _slant(site, Frame(small.origin).point(small.sensors[1].position), 300.0)
    assert np.all(eo.pd[r > small.sensors[1].range_day_m] == 0.0)
    night = _site(coverage_maps(small_scenario(night=True), **_FAST))
    assert _map(night, "eo").pd.sum() < eo.pd.sum()  # IR range is shorter
    assert [n for n, _ in site.not_mapped] == ["fence"]


def _footprint(eirp_dbw: float, mode: str = "jam"):
    sc = small_scenario(**{"effectors.ew.eirp_dbw": eirp_dbw, "effectors.ew.mode": mode,
                           "effectors.ew.divert_to": {"lat_deg": 35.05, "lon_deg": 35.05}})
    return _site(coverage_maps(sc, **_FAST)).footprints[0]


@pytest.mark.parametrize("eirp", [(-20.0, -10.0), (0.5, 6.0), (-25.0, 10.0)])
def test_jammer_footprint_grows_with_eirp(eirp):
    a, b = (_footprint(e) for e in eirp)
    assert b.ground_radius_m > a.ground_radius_m > 0
    assert np.all(b.inside >= a.inside) and b.inside.sum() > a.inside.sum()


@settings(max_examples=20, deadline=None)
@given(lo=st.floats(-60.0, 20.0), step=st.floats(0.0, 20.0),
       mode=st.sampled_from(["jam", "spoof"]))
def test_jammer_footprint_never_shrinks_with_eirp(lo, step, mode):
    a, b = _footprint(lo, mode), _footprint(lo + step, mode)
    assert b.ground_radius_m >= a.ground_radius_m
    assert np.all(b.inside >= a.inside)


def test_jammer_footprint_matches_its_radius_and_spares_ins_drones(small):
    site = _site(coverage_maps(small, **_FAST))
    j = site.footprints[0]
    p = Frame(small.origin).point(small.effectors[2].position)
    ground = np.hypot(*(_cells(site, 300.0)[..., :2] - p[:2]).transpose(2, 0, 1))
    assert j.inside[ground < j.ground_radius_m - 20].all()
    assert not j.inside[ground > j.ground_radius_m + 20].any()
    ins = _site(coverage_maps(small_scenario(**{"airframes.fw.navigation": "ins"}), **_FAST))
    assert not ins.footprints[0].inside.any() and ins.footprints[0].ground_radius_m == 0


def test_envelope_excludes_cells_beyond_max_range_and_above_the_ceiling(small):
    site = _site(coverage_maps(small, **_FAST))
    for e, cfg in zip(site.envelopes, small.effectors[:2], strict=True):
        r = _slant(site, Frame(small.origin).point(cfg.position), 300.0)
        assert e.inside.any()
        assert not e.inside[r > cfg.max_range_m].any()
        assert not e.inside[r < cfg.min_range_m].any()
        assert e.inside[(r >= cfg.min_range_m + 1) & (r <= cfg.max_range_m - 1)].all()
    high = _site(coverage_maps(small, altitude_m=3_500.0, **_FAST))  # above 3,000 m ceilings
    assert all(not e.inside.any() and e.outer_m == 0 for e in high.envelopes)


# ------------------------------------------------------------- GeoJSON


def _rings(geom):
    for poly in geom["coordinates"]:
        yield from ((k, ring) for k, ring in enumerate(poly))


def _area(ring):
    x, y = np.asarray(ring).T
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def _haversine_m(lon0, lat0, lon, lat):
    p0, p1 = np.radians(lat0), np.radians(lat)
    a = np.sin((p1 - p0) / 2) ** 2 + np.cos(p0) * np.cos(p1) * np.sin(
        np.radians(lon - lon0) / 2) ** 2
    return 2 * 6_371_000.0 * np.arcsin(np.sqrt(a))


def test_geojson_is_a_valid_feature_collection(small):
    sc = small_scenario(**{"sensors.radar.mask": [[30.0, 120.0, 1.0]]})
    cov = coverage_maps(sc, **_FAST)
    g = cov.to_geojson()
    assert json.loads(json.dumps(g)) == g
    assert g["type"] == "FeatureCollection" and g["features"]
    layers = {f["properties"]["layer"] for f in g["features"]}
    assert layers == {"detection", "blind_sector", "engagement_envelope", "jam_footprint"}
    for f in g["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "MultiPolygon"
        props = f["properties"]
        assert props["altitude_m"] == cov.altitude_m and props["rcs_m2"] == cov.rcs_m2
        assert "model" in props["model"] and props["site"] == "base"
        for k, ring in _rings(f["geometry"]):
            assert len(ring) >= 4 and ring[0] == ring[-1]
            lon, lat = np.asarray(ring).T
            assert np.all((lon >= -180) & (lon <= 180) & (lat >= -90) & (lat <= 90))
            assert np.all(np.abs(lat - 35.0) < 0.5) and np.all(np.abs(lon - 35.0) < 0.5)
            assert (_area(ring) > 0) == (k == 0)  # exteriors anticlockwise, holes clockwise
    det = [f for f in g["features"] if f["properties"]["layer"] == "detection"]
    assert sorted(f["properties"]["pd_at_least"] for f in det) == [0.5, 0.9]
    assert all(f["properties"]["sensors"] == ["radar"] for f in det)


def test_geojson_circles_are_the_envelopes(small):
    cov = coverage_maps(small, **_FAST)
    g = cov.to_geojson()
    env = _site(cov).envelopes
    for e in env:
        f = next(f for f in g["features"] if f["properties"].get("effector") == e.name)
        lat0, lon0, _ = Frame(small.origin).to_geodetic(np.array([*e.xy_m, 0.0]))
        rings = f["geometry"]["coordinates"][0]
        for ring, radius in zip(rings, [e.outer_m, e.inner_m], strict=False):
            lon, lat = np.asarray(ring).T
            d = _haversine_m(float(lon0), float(lat0), lon, lat)
            np.testing.assert_allclose(d, radius, rtol=5e-3)
        assert len(rings) == (2 if e.inner_m > 0 else 1)


def test_geojson_pd_contour_encloses_the_radar(small):
    g = coverage_maps(small, **_FAST).to_geojson()
    f = next(f for f in g["features"] if f["properties"].get("pd_at_least") == 0.9)
    lat, lon = 35.0, 35.001  # the radar
    outer = np.asarray(f["geometry"]["coordinates"][0][0])
    # ray casting: a point inside crosses the ring an odd number of times
    x, y = outer[:, 0], outer[:, 1]
    crosses = ((y[:-1] > lat) != (y[1:] > lat)) & (
        lon < x[:-1] + (lat - y[:-1]) * (x[1:] - x[:-1]) / (y[1:] - y[:-1]))
    assert crosses.sum() % 2 == 1
