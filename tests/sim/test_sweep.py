"""Sweeps: common random numbers across points, designs, goals, the report and its table."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from tests.conftest import small_scenario

from bastion.scenario import ScenarioError
from bastion.sim.montecarlo import monte_carlo
from bastion.sim.sweep import Goal, design, parse_axis, parse_goal, sweep


@pytest.fixture(scope="module")
def result():
    sc = small_scenario()
    axes = [parse_axis("effectors.sam.magazine=0:8:3", sc),
            parse_axis("effectors.ew.eirp_dbw=-20,0.5", sc)]
    return sc, sweep(sc, axes, 6, workers=1)


def test_axes_parse_ranges_lists_and_integers():
    sc = small_scenario()
    a = parse_axis("effectors.sam.magazine=0:8:3", sc)
    assert a.values == (0, 4, 8) and a.integer
    assert parse_axis("effectors.sam.magazine=1:2:5", sc).values == (1, 2)  # rounded, unique
    assert parse_axis("airframes.fw.rcs_m2=0.01:0.03:3", sc).values == pytest.approx(
        (0.01, 0.02, 0.03))
    assert parse_axis("doctrine.weapons_control=free,hold", sc).values == ("free", "hold")
    for bad, why in [("airframes.fw.rcs=0.01:0.1:3", "did you mean airframes.fw.rcs_m2"),
                     ("airframes.fw.rcs_m2=-1:1:3", "greater than or equal"),
                     ("airframes.fw.rcs_m2=1:2", "LOW:HIGH:N"),
                     ("airframes.fw.rcs_m2=0:1:0", "between 1 and 1,000"),
                     ("nonsense", "PATH=LOW:HIGH:N")]:
        with pytest.raises(ScenarioError, match=why):
            parse_axis(bad, sc)


def test_goals_parse():
    assert parse_goal("any_asset_hit<=0.01") == Goal("any_asset_hit", "<=", 0.01)
    assert parse_goal(" shot_down >= 7 ") == Goal("shot_down", ">=", 7.0)
    with pytest.raises(ScenarioError, match="OUTCOME OP NUMBER"):
        parse_goal("leaked == 0")


def test_every_point_uses_the_same_replications(result):
    sc, res = result
    assert len(res.points) == 6 and res.table.num_rows == 36
    # common random numbers: a point equal to a plain run of that variant gives the same
    # numbers, replication by replication
    from bastion.scenario import with_overrides

    k = next(i for i, p in enumerate(res.points)
             if p == {"effectors.sam.magazine": 8, "effectors.ew.eirp_dbw": 0.5})
    mc = monte_carlo(with_overrides(sc, res.points[k]), 6, workers=1)
    sel = res.table.column("point").to_numpy() == k
    for name in ("leaked", "shots", "shot_down"):
        np.testing.assert_array_equal(res.table.column(name).to_numpy()[sel], mc.column(name))


def test_response_moves_the_right_way(result):
    _, res = result
    rows = {(r["effectors.sam.magazine"], r["effectors.ew.eirp_dbw"]): r["outcomes"]
            for r in res.summary()}
    # no missiles: none fired, the guns take over, and the ammunition bill falls
    for eirp in (-20, 0.5):
        assert rows[(0, eirp)]["shots:sam"]["mean"] == 0 < rows[(8, eirp)]["shots:sam"]["mean"]
        assert rows[(0, eirp)]["cost_usd"]["mean"] < rows[(8, eirp)]["cost_usd"]["mean"]
    # a stronger jammer forces at least as many down
    assert rows[(8, 0.5)]["forced_down"]["mean"] >= rows[(8, -20)]["forced_down"]["mean"]


def test_best_point_meets_the_goal_cheapest(result):
    _, res = result
    best = res.best(parse_goal("leaked<=4"), "effectors.sam.magazine")
    assert best["points_meeting"] == 6  # 4 drones: every point meets it
    assert best["best"]["effectors.sam.magazine"] == 0
    none = res.best(parse_goal("leaked<=-1"))
    assert none["best"] is None and none["points_meeting"] == 0
    with pytest.raises(ScenarioError, match="no outcome 'leakd'"):
        res.best(parse_goal("leakd<=1"))
    with pytest.raises(ScenarioError, match="--minimise 'x'"):
        res.best(parse_goal("leaked<=1"), "x")


def test_latin_hypercube_covers_each_range_once_per_stratum():
    sc = small_scenario()
    axes = [parse_axis("airframes.fw.rcs_m2=0.01:0.1:2", sc),
            parse_axis("effectors.sam.magazine=0:20:2", sc)]
    pts = design(axes, "lhs", 10, seed=3)
    x = np.array([p["airframes.fw.rcs_m2"] for p in pts])
    strata = np.floor((x - 0.01) / 0.09 * 10).astype(int)
    assert sorted(strata) == list(range(10))
    assert all(isinstance(p["effectors.sam.magazine"], int) for p in pts)
    assert design(axes, "lhs", 10, seed=3) == pts  # seeded


def test_report_files_and_query(result, tmp_path, capsys):
    from bastion import cli
    from bastion.outcome.report import read_provenance
    from bastion.outcome.sweep_report import write_sweep_report

    _, res = result
    out = tmp_path / "sw"
    write_sweep_report(res, out, res.best(parse_goal("leaked<=4")))
    summ = json.loads((out / "sweep_summary.json").read_text())
    assert len(summ["points"]) == 6 and summ["goal"]["points_meeting"] == 6
    assert read_provenance(out / "sweep.parquet")["points"] == 6
    assert pq.read_table(out / "sweep.parquet").num_rows == 36
    html = (out / "sweep.html").read_text()
    assert "Response curves" in html and "data:image/png;base64" in html
    with pytest.raises(SystemExit) as ei:
        cli.main(["query", str(out), "SELECT point, avg(shots) AS s FROM sweep GROUP BY point "
                  "ORDER BY point", "--csv"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert ei.value.code == 0 and lines[0] == "point,s" and len(lines) == 7
    with pytest.raises(SystemExit) as ei:
        cli.main(["query", str(out), "SELECT * FROM nope"])
    err = capsys.readouterr().err
    assert ei.value.code == 2 and "nope" in err and "tables: sweep" in err
