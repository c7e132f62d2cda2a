"""Link-level EW: jammers deny the bands they radiate in (GNSS or control links), spoofers
push a captured drone's believed position at a ramp rate without knowing its target, own
aircraft pay for denial in reported time, blanked sectors are spared (paired seeds)."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import small_dict

from bastion.respond.jamming import blanked, link_js_db
from bastion.scenario.load import ScenarioError, validate_dict
from bastion.sim.montecarlo import monte_carlo

RUNS = 4
ISM_24 = {"low_mhz": 2400.0, "high_mhz": 2483.5}
GNSS_L1 = {"low_mhz": 1565.42, "high_mhz": 1585.42}


def _ew_only(navigation: str, band: dict, **jam):
    d = small_dict()
    d["effectors"] = [e for e in d["effectors"] if e["kind"] == "jammer"]
    d["effectors"][0].update(bands=[band], **jam)
    d["airframes"]["fw"]["navigation"] = navigation
    d["airframes"]["fw"]["failsafe"] = {"land": 1.0, "loiter": 0.0, "return_home": 0.0,
                                        "continue_ins": 0.0}
    return validate_dict(d, f"{navigation}-{band['low_mhz']:.0f}")


def _sum(sc, name):
    return monte_carlo(sc, RUNS, workers=1).column(name).sum()


def test_a_24ghz_jammer_forces_down_rf_link_drones_and_not_gnss_ones():
    rf = monte_carlo(_ew_only("rf_link", ISM_24), RUNS, workers=1)
    gnss = monte_carlo(_ew_only("gnss", ISM_24), RUNS, workers=1)
    assert rf.column("link_lost").sum() > 0
    assert rf.column("forced_down").sum() > 0
    assert gnss.column("forced_down").sum() == 0
    assert gnss.column("leaked").sum() > rf.column("leaked").sum()


def test_a_gnss_jammer_forces_down_gnss_drones_and_not_rf_link_ones():
    assert _sum(_ew_only("gnss", GNSS_L1), "forced_down") > 0
    assert _sum(_ew_only("rf_link", GNSS_L1), "forced_down") == 0


def test_a_jammer_blanking_the_approach_sector_forces_fewer_down():
    # the raid comes from the north-east (bearing ~40° from the base); only when a drone is
    # nearly over the jammer does it leave the blanked sector
    blank = _ew_only("gnss", GNSS_L1, blank_sectors=[[0.0, 90.0]])
    assert _sum(blank, "forced_down") < _sum(_ew_only("gnss", GNSS_L1), "forced_down")


def _spoofer(push_deg: float):
    d = small_dict()
    d["effectors"] = [e for e in d["effectors"] if e["kind"] == "jammer"]
    d["effectors"][0].update(mode="spoof", eirp_dbw=-20.0, p_capture=1.0,
                             spoof_push_deg=push_deg, spoof_rate_mps=10.0)
    return validate_dict(d, f"spoof-{push_deg:.0f}")


def test_spoofed_drones_come_down_displaced_along_the_push_direction():
    for push, axis, sign in ((90.0, "x_m", 1), (270.0, "x_m", -1), (0.0, "y_m", 1)):
        mc = monte_carlo(_spoofer(push), RUNS, workers=1)
        ev = mc.events
        kind = np.array(ev.column("kind").to_pylist())
        down = kind == "forced_down"
        assert down.any(), push
        # the target (apron) is at the origin: they land off it, on the pushed side
        off = ev.column(axis).to_numpy()[down]
        assert np.all(sign * off > 100.0), (push, off)


def test_spoofer_needs_a_push_direction():
    d = small_dict()
    d["effectors"][2].update(mode="spoof")
    with pytest.raises(ScenarioError, match="spoof_push_deg"):
        validate_dict(d, "bad")


def test_link_js_and_blanking_geometry():
    # equal powers at equal distances: J/S 0 dB; twice as far from the jammer: -6 dB
    js = link_js_db(-10.0, 2437.0, np.array([1000.0, 2000.0]), np.array([-10.0, -10.0]),
                    np.array([1000.0, 1000.0]))
    assert np.allclose(js, [0.0, -6.0206], atol=1e-3)
    b = blanked(np.array([[350.0, 10.0]]), np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0,
                                                                                -1.0]))
    assert b.tolist() == [True, False, False]


def test_own_aircraft_denial_is_a_reported_duration():
    d = small_dict()
    d["effectors"] = [e for e in d["effectors"] if e["kind"] == "jammer"]
    d["effectors"][0]["eirp_dbw"] = 30.0
    d["own_aircraft"] = [{"name": "sorties", "site": "base", "count": 4, "first_s": 300,
                          "interval_s": 200, "runway": {"lat_deg": 35.0, "lon_deg": 35.0}}]
    mc = monte_carlo(validate_dict(d, "own"), 2, workers=1)
    assert mc.column("own_aircraft_jammed").sum() > 0
    assert mc.column("own_aircraft_jammed_s").sum() > 0


def test_gnss_denial_is_taken_at_the_receivers_frequency_not_the_jammers_nominal():
    """A jammer whose nominal frequency is 2.44 GHz and whose bands include GNSS L1 denies
    GNSS exactly as one nominally at L1: the path loss is taken at the receiver's frequency
    (at 2.44 GHz it was 3.8 dB more, and the jammer reached less far). Paired seeds."""
    from bastion.respond.jamming import js_db

    # -25 dBW: a weak jammer whose reach decides how many it forces down (11 of 16 at L1
    # over these seeds; 6 when the loss was taken at 2.44 GHz)
    at_l1 = _ew_only("gnss", GNSS_L1, frequency_mhz=1575.42, eirp_dbw=-25.0)
    at_ism = _ew_only("gnss", GNSS_L1, frequency_mhz=2440.0, eirp_dbw=-25.0)
    a, b = monte_carlo(at_l1, RUNS, workers=1), monte_carlo(at_ism, RUNS, workers=1)
    assert a.column("forced_down").sum() > 0
    for name in ("forced_down", "leaked", "shot_down"):
        np.testing.assert_array_equal(a.column(name), b.column(name))
    # and J/S itself: 6 dB less at twice the distance, 20 log10(2440/1575.42) more loss at
    # the higher frequency
    d = np.array([1_000.0, 2_000.0])
    js = js_db(10.0, np.array([1575.42, 1575.42]), d, np.full(2, -10.0), np.full(2, -160.0))
    assert js[0] - js[1] == pytest.approx(20 * np.log10(2.0))
    hi = js_db(10.0, 2440.0, d[:1], np.full(1, -10.0), np.full(1, -160.0))
    assert js[0] - hi[0] == pytest.approx(20 * np.log10(2440.0 / 1575.42))
