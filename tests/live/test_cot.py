"""live/cot.py: picture tracks → CoT XML (types, uids, ce/le, times, filtering)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bastion.live.cot import (
    COT_TYPES,
    UNKNOWN_ERROR_M,
    CotOptions,
    ce_le_from_cov,
    cot_time,
    cot_type,
    picture_events,
    track_event,
    track_uid,
)

NOW = 1_700_000_000.25  # 2023-11-14T22:13:20.250Z


def track(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 12, "lat": 35.4012345, "lon": 35.9487654, "alt_m": 310.0,
        "speed_mps": 33.0, "course_deg": 215.0, "identity": "hostile",
        "cls": "hostile_drone", "p_class": [0.9, 0.07, 0.03], "airframe": "fixed_wing",
        "status": "confirmed", "history": [[35.4, 35.95]], "sigma_m": 40.0,
        "threat": {"asset": "runway", "p_reach": 0.45, "ttg_s": 61.0, "value": 10.0},
    }
    row.update(over)
    return row


def parse(b: bytes) -> ET.Element:
    return ET.fromstring(b)


def t_of(s: str) -> float:
    assert s.endswith("Z")
    return datetime.fromisoformat(s[:-1] + "+00:00").timestamp()


def test_type_table() -> None:
    assert COT_TYPES == {
        ("hostile", "fixed_wing"): "a-h-A-M-F-Q",
        ("hostile", "multirotor"): "a-h-A-M-H-Q",
        ("unknown", "fixed_wing"): "a-u-A-M-F-Q",
        ("unknown", "multirotor"): "a-u-A-M-H-Q",
        ("friend", "fixed_wing"): "a-f-A-M-F",
        ("friend", "multirotor"): "a-f-A-M-H",
        ("neutral", "fixed_wing"): "a-n-A",
        ("neutral", "multirotor"): "a-n-A",
    }
    # every type is an atom in the air dimension with the identity's affiliation letter
    for (identity, _), t in COT_TYPES.items():
        assert t.startswith(f"a-{identity[0]}-A")
    with pytest.raises(KeyError):
        cot_type("hostile", "balloon")


def test_event_parses_back_with_every_field() -> None:
    opts = CotOptions(site="Khmeimim 2018")
    (raw,), bad = picture_events({"tracks": [track()]}, opts, now_utc_s=NOW)
    assert bad == 0
    ev = parse(raw)
    assert ev.tag == "event" and ev.get("version") == "2.0"
    assert ev.get("uid") == "bastion-khmeimim-2018-12" == track_uid("Khmeimim 2018", 12)
    assert ev.get("type") == "a-h-A-M-F-Q"
    assert ev.get("how") == "m-f"
    assert ev.get("time") == ev.get("start") == "2023-11-14T22:13:20.250Z"
    assert t_of(ev.get("stale", "")) - t_of(ev.get("time", "")) == pytest.approx(5.0)
    pt = ev.find("point")
    assert pt is not None
    assert float(pt.get("lat", "nan")) == pytest.approx(35.4012345, abs=1e-7)
    assert float(pt.get("lon", "nan")) == pytest.approx(35.9487654, abs=1e-7)
    assert float(pt.get("hae", "nan")) == 310.0
    assert float(pt.get("ce", "nan")) == 40.0          # sigma_m is the horizontal 1-sigma
    assert float(pt.get("le", "nan")) == UNKNOWN_ERROR_M  # no vertical figure given
    tr = ev.find("detail/track")
    assert tr is not None
    assert float(tr.get("course", "nan")) == 215.0 and float(tr.get("speed", "nan")) == 33.0
    contact = ev.find("detail/contact")
    assert contact is not None and contact.get("callsign") == "BST-12"
    remarks = ev.findtext("detail/remarks") or ""
    assert "hostile_drone" in remarks and "runway" in remarks


def test_rotary_unknown_and_own_aircraft_types() -> None:
    opts = CotOptions()
    rows = [track(id=1, airframe="multirotor"),
            track(id=2, identity="unknown", airframe="multirotor"),
            track(id=3, identity="friend", cls="own_aircraft", threat=None)]
    events, _ = picture_events({"tracks": rows}, opts, now_utc_s=NOW)
    assert [parse(e).get("type") for e in events] == ["a-h-A-M-H-Q", "a-u-A-M-H-Q",
                                                     "a-f-A-M-F"]


def test_only_confirmed_by_default_and_birds_held_back() -> None:
    rows = [track(id=1), track(id=2, status="tentative"), track(id=3, status="coasting"),
            track(id=4, identity="neutral", cls="bird")]
    sent, _ = picture_events({"tracks": rows}, CotOptions(), now_utc_s=NOW)
    assert [parse(e).get("uid") for e in sent] == ["bastion-site-1"]
    wide = CotOptions(statuses=frozenset({"confirmed", "coasting"}), send_neutral=True)
    sent, _ = picture_events({"tracks": rows}, wide, now_utc_s=NOW)
    evs = {parse(e).get("uid"): parse(e) for e in sent}
    assert set(evs) == {"bastion-site-1", "bastion-site-3", "bastion-site-4"}
    assert evs["bastion-site-3"].get("how") == "m-p"       # coasting: predicted
    assert evs["bastion-site-4"].get("type") == "a-n-A"


def test_bad_rows_are_counted_not_fatal() -> None:
    rows = [track(id=1, lat=float("nan")), track(id=2, lat=95.0), track(id=3, airframe="x"),
            {"status": "confirmed", "identity": "hostile"}, track(id=5)]
    sent, bad = picture_events({"tracks": rows}, CotOptions(), now_utc_s=NOW)
    assert bad == 4
    assert [parse(e).get("uid") for e in sent] == ["bastion-site-5"]
    assert picture_events({}, CotOptions(), now_utc_s=NOW) == ([], 0)


def test_ce_le_from_covariance_row_and_explicit_fields() -> None:
    cov = [[900.0, 0.0, 0.0], [0.0, 1600.0, 0.0], [0.0, 0.0, 2500.0]]
    ev = track_event(track(cov_enu_m2=cov, sigma_m=None), site="s", now_utc_s=NOW,
                     stale_after_s=5.0)
    pt = ev.find("point")
    assert pt is not None
    assert float(pt.get("ce", "nan")) == pytest.approx(math.sqrt(1250.0), abs=0.05)
    assert float(pt.get("le", "nan")) == 50.0
    ev = track_event(track(ce_m=7.0, le_m=9.0), site="s", now_utc_s=NOW, stale_after_s=5.0)
    pt = ev.find("point")
    assert pt is not None and (pt.get("ce"), pt.get("le")) == ("7.0", "9.0")


def test_stale_follows_options() -> None:
    for opts, expect in [(CotOptions(interval_s=2.0), 6.0), (CotOptions(stale_s=30.0), 30.0)]:
        (raw,), _ = picture_events({"tracks": [track()]}, opts, now_utc_s=NOW)
        ev = parse(raw)
        assert t_of(ev.get("stale", "")) - t_of(ev.get("time", "")) == pytest.approx(expect)


def test_cot_time_format() -> None:
    assert cot_time(0.0) == "1970-01-01T00:00:00.000Z"
    assert cot_time(NOW) == "2023-11-14T22:13:20.250Z"


@pytest.mark.parametrize("kw,word", [
    ({"url": "udp://239.2.3.1:6969"}, "multicast"),
    ({"url": "udp://255.255.255.255:4242"}, "multicast"),
    ({"url": "http://127.0.0.1:8087"}, "tcp://HOST:PORT"),
    ({"url": "tcp://127.0.0.1:0"}, "port"),
    ({"interval_s": 5.0, "stale_s": 3.0}, "stale_s"),
    ({"interval_s": float("nan")}, "interval_s"),
    ({"reconnect_initial_s": 10.0, "reconnect_max_s": 1.0}, "reconnect_max_s"),
    ({"colour": "red"}, "colour"),
])
def test_options_reject_bad_input(kw: dict[str, Any], word: str) -> None:
    with pytest.raises(ValidationError, match=word):
        CotOptions(**kw)


# ---- ce / le maths ------------------------------------------------------------------------

def _spd(a: np.ndarray) -> np.ndarray:
    m = a.reshape(3, 3)
    return m @ m.T


_mat = st.lists(st.floats(-100.0, 100.0), min_size=9, max_size=9).map(
    lambda v: _spd(np.array(v)))


@settings(max_examples=200, deadline=None)
@given(p=_mat, q=_mat)
def test_ce_le_grow_with_the_covariance(p: np.ndarray, q: np.ndarray) -> None:
    ce1, le1 = ce_le_from_cov(p)
    ce2, le2 = ce_le_from_cov(p + q)  # q is positive semi-definite: more uncertainty
    assert ce2 >= ce1 - 1e-9 and le2 >= le1 - 1e-9


@settings(max_examples=200, deadline=None)
@given(p=_mat, angle=st.floats(0.0, 2 * math.pi), k=st.floats(0.01, 100.0))
def test_ce_is_rotation_invariant_and_scales_with_sigma(p: np.ndarray, angle: float,
                                                        k: float) -> None:
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])  # about the up axis
    ce, le = ce_le_from_cov(p)
    ce_r, le_r = ce_le_from_cov(rot @ p @ rot.T)
    assert ce_r == pytest.approx(ce, rel=1e-9, abs=1e-9)
    assert le_r == pytest.approx(le, rel=1e-9, abs=1e-9)
    ce_k, le_k = ce_le_from_cov(k * k * p)
    assert ce_k == pytest.approx(k * ce, rel=1e-9, abs=1e-9)
    assert le_k == pytest.approx(k * le, rel=1e-9, abs=1e-9)


def test_ce_is_the_per_axis_sigma_of_a_circular_error_and_vectorised() -> None:
    sig = np.array([1.0, 5.0, 30.0])
    covs = np.zeros((3, 6, 6))
    covs[:, 0, 0] = covs[:, 1, 1] = sig**2
    covs[:, 2, 2] = (2 * sig) ** 2
    ce, le = ce_le_from_cov(covs)
    np.testing.assert_allclose(ce, sig)
    np.testing.assert_allclose(le, 2 * sig)
    # Monte Carlo sanity of the meaning: 1 - exp(-1/2) ≈ 39.3 % of circular fixes within ce
    rng = np.random.default_rng(0)
    xy = rng.normal(0.0, 5.0, size=(200_000, 2))
    inside = np.mean(np.hypot(xy[:, 0], xy[:, 1]) <= ce[1])
    assert inside == pytest.approx(1 - math.exp(-0.5), abs=0.005)


def test_ce_le_reject_bad_covariances() -> None:
    with pytest.raises(ValueError, match="shape"):
        ce_le_from_cov(np.eye(2))
    with pytest.raises(ValueError, match="finite"):
        ce_le_from_cov(np.diag([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="finite"):
        ce_le_from_cov(np.diag([1.0, np.inf, 1.0]))


_any = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(),
                 st.text(max_size=8), st.lists(st.floats(), max_size=4))
_rows = st.lists(st.fixed_dictionaries({}, optional={
    k: _any for k in ("id", "lat", "lon", "alt_m", "speed_mps", "course_deg", "sigma_m",
                      "ce_m", "le_m", "cov_enu_m2", "p_class", "threat")}).map(
    lambda d: {**track(), **d}), max_size=6)


@settings(max_examples=300, deadline=None)
@given(rows=_rows)
def test_any_rows_never_raise_and_every_event_parses(rows: list[dict[str, Any]]) -> None:
    sent, bad = picture_events({"tracks": rows}, CotOptions(), now_utc_s=NOW)
    assert len(sent) + bad == len(rows)
    for raw in sent:
        pt = parse(raw).find("point")
        assert pt is not None
        for k in ("lat", "lon", "hae", "ce", "le"):
            assert math.isfinite(float(pt.get(k, "nan")))
