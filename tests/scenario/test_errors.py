"""Malformed scenarios: one short line naming file, field and reason; exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.conftest import small_dict

from bastion.scenario import ScenarioError, load_scenario


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content)
    return p


def _mutated(mutate) -> str:
    d = small_dict()
    mutate(d)
    return yaml.safe_dump(d)


CASES = [
    ("missing-field.yaml", _mutated(lambda d: d.pop("origin")), "origin", "missing"),
    ("wrong-type.yaml", _mutated(lambda d: d["raids"][0].update(count="many")),
     "raids.0.count", "integer"),
    ("negative-speed.yaml",
     _mutated(lambda d: d["airframes"]["fw"].update(cruise_speed_mps=-30)),
     "airframes.fw.cruise_speed_mps", "greater than 0"),
    ("latitude-200.yaml", _mutated(lambda d: d["origin"].update(lat_deg=200)),
     "origin.lat_deg", "less than or equal to 90"),
    ("unknown-key.yaml", _mutated(lambda d: d["doctrine"].update(weapons_fre="hold")),
     "doctrine.weapons_fre", "unknown field"),
    ("bad-enum.yaml", _mutated(lambda d: d["doctrine"].update(weapons_control="maybe")),
     "doctrine.weapons_control", "free"),
    ("yaml-syntax.yaml", "name: x\nsites: [\n  - {name: a\n", "YAML syntax error", "line"),
    ("empty.yaml", "", "empty", "mapping"),
    ("binary.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary", "NUL"),
    ("not-utf8.yaml", b"name: \xff\xfe bad", "UTF-8", "byte"),
    ("a-list.yaml", "- 1\n- 2\n", "mapping", "list"),
    ("unknown-airframe.yaml", _mutated(lambda d: d["raids"][0].update(airframe="jet")),
     "raids.0.airframe", "unknown airframe"),
    ("failsafe-sum.yaml", _mutated(lambda d: d["airframes"]["fw"].update(
        failsafe={"land": 0.5, "loiter": 0.5, "return_home": 0.5, "continue_ins": 0.0})),
     "airframes.fw.failsafe", "sum to 1"),
    ("unknown-sensor-kind.yaml", _mutated(lambda d: d["sensors"][0].update(kind="sonar")),
     "sensors.0", "kind"),
]


@pytest.mark.parametrize(("name", "content", "field", "reason"), CASES,
                         ids=[c[0] for c in CASES])
def test_load_errors_name_file_field_and_reason(tmp_path, name, content, field, reason):
    p = _write(tmp_path, name, content)
    with pytest.raises(ScenarioError) as ei:
        load_scenario(p)
    msg = str(ei.value)
    assert msg.startswith(str(p)), msg
    assert field in msg, msg
    assert reason.lower() in msg.lower(), msg
    assert "\n" not in msg


def test_missing_file_and_unknown_builtin():
    with pytest.raises(ScenarioError, match="no such file, and not a built-in"):
        load_scenario("/nonexistent/raid.yaml")
    with pytest.raises(ScenarioError, match="khmeimim-2018"):
        load_scenario("khmeimim-1999")


@pytest.mark.parametrize("case", [CASES[1], CASES[6], CASES[8]], ids=lambda c: c[0])
def test_cli_exit_code_2_without_traceback(tmp_path, case):
    name, content, field, _ = case
    p = _write(tmp_path, name, content)
    r = subprocess.run([sys.executable, "-m", "bastion", "run", str(p), "--runs", "1",
                        "--out", str(tmp_path / "out")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert field in r.stderr
    assert not (tmp_path / "out").exists()  # nothing written on bad input


def test_cli_bad_override_is_exit_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "bastion", "run", "khmeimim-2018", "--runs", "1",
                        "--set", "airframes.improvised-fw.rcs_m2=-1", "--out",
                        str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "rcs_m2" in r.stderr and "Traceback" not in r.stderr


def test_builtins_load_and_schema_prints():
    for name in ("khmeimim-2018",):
        sc = load_scenario(name)
        assert sc.reference_outcome is not None
    r = subprocess.run([sys.executable, "-m", "bastion", "scenarios", "schema"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and '"Scenario"' in r.stdout
