"""Hostile and careless scenario files (issue 13): each gets one line naming file, field and
reason — or runs correctly — never a traceback, a hang, or a silently wrong result."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import small_dict

from bastion.scenario import ScenarioError, load_scenario, with_overrides
from bastion.scenario.load import parse_scenario, parse_value
from bastion.scenario.schema import MAX_OBJECTS, polygon_problem


def _load(tmp_path: Path, d: dict[str, Any] | str, name: str = "s.yaml") -> Any:
    p = tmp_path / name
    p.write_text(d if isinstance(d, str) else yaml.safe_dump(d, sort_keys=False))
    return load_scenario(p)


def _error(tmp_path: Path, d: dict[str, Any] | str) -> str:
    with pytest.raises(ScenarioError) as ei:
        _load(tmp_path, d)
    msg = str(ei.value)
    assert msg.startswith(str(tmp_path / "s.yaml")), msg
    assert "\n" not in msg
    return msg


def _radar(d: dict[str, Any]) -> dict[str, Any]:
    return d["sensors"][0]


def _jammer(d: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in d["effectors"] if e["kind"] == "jammer")


# (id, mutation, field named, reason fragment)
BAD: list[tuple[str, Any, str, str]] = [
    ("nan radar mask", lambda d: _radar(d).update(mask=[[0, 90, math.nan]]),
     "sensors.0.mask.0.2", "finite"),
    ("inf cruise speed", lambda d: d["airframes"]["fw"].update(cruise_speed_mps=math.inf),
     "airframes.fw.cruise_speed_mps", "finite"),
    ("nan eirp", lambda d: _jammer(d).update(eirp_dbw=math.nan), "effectors.2.eirp_dbw",
     "finite"),
    ("inf eirp", lambda d: _jammer(d).update(eirp_dbw=math.inf), "effectors.2.eirp_dbw",
     "finite"),
    ("1e300 eirp", lambda d: _jammer(d).update(eirp_dbw=1e300), "effectors.2.eirp_dbw",
     "less than or equal to 90"),
    ("jammer at 1e-300 MHz", lambda d: _jammer(d).update(frequency_mhz=1e-300),
     "effectors.2.frequency_mhz", "greater than or equal to 1"),
    ("decision time sigma 1e6", lambda d: d["doctrine"]["operator"].update(
        decision_time_sigma=1e6), "doctrine.operator.decision_time_sigma", "less than"),
    ("scan period 1e-9 s", lambda d: _radar(d).update(scan_period_s=1e-9),
     "sensors.0.scan_period_s", "greater than or equal to 0.01"),
    ("radar max range 1e12 m", lambda d: _radar(d).update(max_range_m=1e12),
     "sensors.0.max_range_m", "less than or equal"),
    ("false alarms per scan", lambda d: _radar(d).update(pfa=0.5),
     "sensors.0", "false alarms per scan"),
    ("birds 1e9", lambda d: d["birds"][0].update(count=10**9), "birds.0.count",
     "less than or equal"),
    ("spoofer without a push direction", lambda d: _jammer(d).update(mode="spoof"),
     "effectors.2", "spoof_push_deg: a spoofer"),
    ("two assets one name", lambda d: d["sites"][0]["assets"].append(
        dict(d["sites"][0]["assets"][0])), "sites.0.assets.1.name", "duplicate name"),
    ("two raids one name", lambda d: d["raids"].append(dict(d["raids"][0])),
     "raids.1.name", "duplicate name"),
    ("two sensors one name", lambda d: d["sensors"].append(dict(d["sensors"][0])),
     "sensors.3.name", "duplicate name"),
    ("min range above max", lambda d: d["effectors"][0].update(min_range_m=20_000),
     "effectors.0", "min_range_m"),
    ("bow-tie fence", lambda d: d["sites"][0].update(fence=[
        {"lat_deg": 35.01, "lon_deg": 34.99}, {"lat_deg": 34.99, "lon_deg": 35.01},
        {"lat_deg": 35.01, "lon_deg": 35.01}, {"lat_deg": 34.99, "lon_deg": 34.99}]),
     "sites.0.fence", "cross"),
    ("fence on a line", lambda d: d["sites"][0].update(fence=[
        {"lat_deg": 35.0, "lon_deg": 35.0}, {"lat_deg": 35.0, "lon_deg": 35.01},
        {"lat_deg": 35.0, "lon_deg": 35.02}]), "sites.0.fence", "no area"),
    ("launch 5,000 km away", lambda d: d["raids"][0].update(
        launch={"lat_deg": -10.0, "lon_deg": 35.0}), "raids.0.launch", "km from origin"),
    ("name with a dot", lambda d: d["raids"][0].update(name="raid.1"), "raids.0.name",
     "pattern"),
    ("nan reference figure", lambda d: d["reference_outcome"]["figures"]["leaked"].update(
        value=math.nan), "reference_outcome.figures.leaked.value", "finite"),
    ("assumption path missing", lambda d: d["assumptions"].append(
        {"path": "airframes.fw.rcs", "low": 0.01, "high": 0.1, "reason": "typo"}),
     "assumptions.1.path", "did you mean airframes.fw.rcs_m2"),
    ("assumption on a text field", lambda d: d["assumptions"].append(
        {"path": "doctrine.weapons_control", "low": 0, "high": 1, "reason": "x"}),
     "assumptions.1.path", "not a number"),
    ("assumption low invalid", lambda d: d["assumptions"].append(
        {"path": "airframes.fw.rcs_m2", "low": -1, "high": 0.1, "reason": "x"}),
     "assumptions.1.low", "not a valid airframes.fw.rcs_m2"),
]


@pytest.mark.parametrize(("mutate", "field", "reason"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_value_named_with_reason(tmp_path, mutate, field, reason):
    d = small_dict()
    mutate(d)
    msg = _error(tmp_path, d)
    assert field in msg, msg
    assert reason.lower() in msg.lower(), msg


def test_small_scenario_still_valid(tmp_path):
    # the fixtures above start from a valid file: a mutation, not the base, is what fails
    assert _load(tmp_path, small_dict()).name == "small-site"


def test_duplicate_yaml_keys_rejected_with_both_lines(tmp_path):
    text = yaml.safe_dump(small_dict(), sort_keys=False).replace(
        "seed: 7\n", "seed: 7\nduration_s: 900\nseed: 8\n", 1)
    msg = _error(tmp_path, text)
    assert "duplicate key 'seed'" in msg and "line" in msg


def test_yaml_merge_keys_are_not_duplicates():
    sc = parse_scenario(yaml.safe_dump(small_dict(), sort_keys=False).replace(
        "wind:", "x_base: &w {speed_mps: 1.0}\nwind:", 1).replace(
        "x_base: &w {speed_mps: 1.0}\n", ""), "merge")
    assert sc.wind.speed_mps == 4.0
    text = "a: &a {p: 1}\nb:\n  <<: *a\n  p: 2\n"
    from bastion.scenario.load import safe_yaml

    assert safe_yaml(text)["b"] == {"p": 2}


def test_deep_nesting_and_alias_bomb(tmp_path):
    msg = _error(tmp_path, "name: " + "[" * 50_000 + "]" * 50_000)
    assert "nested more than 64 levels" in msg
    bomb = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n"
        for i in range(8))
    assert "once aliases are expanded" in _error(tmp_path, bomb)


def test_many_raids_by_alias_hit_the_object_cap(tmp_path):
    d = small_dict()
    d["raids"][0]["count"] = 100_000
    text = yaml.safe_dump(d, sort_keys=False)
    # `raids: [&r {...}, *r, *r, ...]`: 1,000 raids of 100,000 drones from one anchor
    raid = yaml.safe_dump(d["raids"][0], default_flow_style=True).strip()
    start = text.index("raids:")
    end = text.index("birds:")
    aliased = "raids: [&r " + raid + ", " + ", ".join(["*r"] * 999) + "]\n"
    msg = _error(tmp_path, text[:start] + aliased + text[end:])
    assert f"at most {MAX_OBJECTS:,}" in msg or "duplicate name" in msg
    # with unique names the same count fails on the object cap alone
    d["raids"] = [dict(d["raids"][0], name=f"r{k}", count=60_000) for k in range(2)]
    assert "120,008 objects in one replication (120,000 drones" in _error(tmp_path, d)


def test_non_regular_files_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    # in a subprocess with a timeout: a regression would block forever on open()
    code = ("import sys\nfrom bastion.scenario import load_scenario, ScenarioError\n"
            "for p in sys.argv[1:]:\n"
            "    try: load_scenario(p)\n"
            "    except ScenarioError as e: print(e)\n")
    r = subprocess.run([sys.executable, "-c", code, str(fifo), "/dev/zero", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    lines = r.stdout.splitlines()
    assert len(lines) == 3, r
    assert "not a regular file" in lines[0] and "not a regular file" in lines[1]
    assert "is a directory" in lines[2]


def test_unreadable_file(tmp_path, monkeypatch):
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(small_dict()))

    def denied(self, *a, **k):
        raise PermissionError(13, "Permission denied")

    # root reads anything, so the permission failure is injected where the file is opened
    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(ScenarioError, match="cannot read: Permission denied"):
        load_scenario(p)


def test_oversized_file(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_bytes(b"#" * (10 * 2**20 + 1))
    with pytest.raises(ScenarioError, match="at most 10 MiB"):
        load_scenario(p)


# ------------------------------------------------------------------ --set and assumptions


def test_override_path_must_exist_and_suggests_nearest():
    sc = load_scenario("khmeimim-2018")
    with pytest.raises(ScenarioError) as ei:
        with_overrides(sc, {"airframes.improvised_fw.rcs_m2": 5}, label="--set")
    msg = str(ei.value)
    assert msg.startswith("--set airframes.improvised_fw.rcs_m2: no field 'improvised_fw'")
    assert "did you mean airframes.improvised-fw.rcs_m2" in msg
    with pytest.raises(ScenarioError, match=r"no item named 'khm-radr'.*khm-radar\.pfa"):
        with_overrides(sc, {"sensors.khm-radr.pfa": 1e-5})
    with pytest.raises(ScenarioError, match="index 9 out of range"):
        with_overrides(sc, {"raids.9.count": 1})
    with pytest.raises(ScenarioError, match="divert_to is not set"):
        with_overrides(sc, {"effectors.tartus-ew-jammer.divert_to.lat_deg": 35.0})
    # the typo used to create an unused airframe and change nothing: now the real path works
    ok = with_overrides(sc, {"airframes.improvised-fw.rcs_m2": 0.05})
    assert ok.airframes["improvised-fw"].rcs_m2 == 0.05


@pytest.mark.parametrize(("text", "value"), [
    ("a: b: c", "a: b: c"), ("5", 5), ("0.2", 0.2), ("hold", "hold"), ("[1, 2]", [1, 2]),
    ("{lat_deg: 1, lon_deg: 2}", {"lat_deg": 1, "lon_deg": 2}), ("", None),
    ("[" * 500 + "]" * 500, "[" * 500 + "]" * 500), ("a: 1\na: 2", "a: 1\na: 2"),
])
def test_set_values_parse_safely(text, value):
    assert parse_value(text) == value


def test_override_description_with_colons_runs():
    sc = with_overrides(load_scenario("khmeimim-2018"), {"description": parse_value("a: b: c")})
    assert sc.description == "a: b: c"


def test_polygon_problem_accepts_closed_and_either_winding():
    from bastion.scenario.schema import LatLon

    sq = [LatLon(lat_deg=a, lon_deg=b) for a, b in ((0, 0), (0, 1), (1, 1), (1, 0))]
    assert polygon_problem(sq) is None
    assert polygon_problem([*sq, sq[0]]) is None
    assert polygon_problem(sq[::-1]) is None
    bow = [sq[0], sq[2], sq[1], sq[3]]
    assert "cross" in (polygon_problem(bow) or "")


def test_builtins_pass_every_new_check():
    for name in ("khmeimim-2018", "khmeimim-2025", "generic-airfield"):
        sc = load_scenario(name)
        assert sum(sc.object_counts().values()) < MAX_OBJECTS
