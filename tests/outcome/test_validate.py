"""Validation maths and an end-to-end validate run on the small scenario."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import small_scenario

from bastion.outcome.validate import joint_p, mid_p, validate_scenario
from bastion.sim.montecarlo import monte_carlo


def test_mid_p_on_discrete_counts():
    sim = np.array([0, 0, 1, 1, 1, 2, 2, 3])
    assert mid_p(sim, 1) == (2 + 0.5 * 3) / 8
    assert mid_p(sim, -1) == 0.0
    assert mid_p(sim, 9) == 1.0
    assert mid_p(np.zeros(10), 0) == 0.5  # a figure the model always reproduces sits mid-way


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 13), min_size=1, max_size=60), st.integers(-2, 15))
def test_mid_p_in_unit_interval_and_monotone(sim, v):
    sim = np.array(sim)
    p = mid_p(sim, v)
    assert 0.0 <= p <= 1.0
    assert mid_p(sim, v + 1) >= p


def test_joint_p_small_far_from_the_cloud():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(500, 3))
    assert joint_p(m, np.zeros(3)) > 0.5
    assert joint_p(m, np.array([5.0, 5.0, 5.0])) < 0.01


def _runner(sc, runs, seed, workers, label):
    return monte_carlo(sc, runs, seed=seed, workers=workers)


def test_validate_small_scenario_end_to_end():
    res = validate_scenario(small_scenario(), runs=6, sensitivity_runs=2, seed=None, workers=1,
                            runner=_runner)
    assert res["figures"][0]["figure"] == "leaked"
    assert res["consistent"] == (all(f["consistent"] for f in res["figures"])
                                 and res["joint_p"] >= 0.05)
    (row,) = res["sensitivity"]
    assert row["path"] == "airframes.fw.rcs_m2" and row["nominal"] == 0.03
    assert set(row["effect"]) == {"leaked"}


def test_weapons_hold_is_inconsistent_with_no_leakers():
    sc = small_scenario(**{"doctrine.weapons_control": "hold"})
    res = validate_scenario(sc, runs=4, sensitivity_runs=0, seed=None, workers=1,
                            runner=_runner)
    assert not res["consistent"]
    assert "NOT consistent" in res["verdict"]
    # 4 runs are too few for a verdict: the result says so instead of presenting one
    assert not res["meaningful"] and res["verdict"].startswith("no verdict")


def test_cli_validate_exit_code_1_when_inconsistent(tmp_path):
    import json
    import subprocess
    import sys

    import yaml
    from tests.conftest import small_dict

    d = small_dict()
    d["doctrine"]["weapons_control"] = "hold"
    p = tmp_path / "hold.yaml"
    p.write_text(yaml.safe_dump(d))
    r = subprocess.run([sys.executable, "-m", "bastion", "validate", str(p), "--runs", "100",
                        "--sensitivity-runs", "0", "--workers", "1", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    assert json.loads(r.stdout)["consistent"] is False
    # too few replications for a verdict: refused up front, one line, exit 2
    r = subprocess.run([sys.executable, "-m", "bastion", "validate", str(p), "--runs", "3",
                        "--sensitivity-runs", "0"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert "at least 100" in r.stderr and len(r.stderr.strip().splitlines()) <= 2
    assert r.stdout == ""
