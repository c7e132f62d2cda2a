"""The command line as a hostile or careless user meets it (issue 13): every misuse is one
line and exit 2, checked before any simulation; no failed or interrupted run changes what
was in --out; statistics never present "never seen" as "never happens"."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from bastion import cli
from bastion.outcome.report import read_provenance
from tests.conftest import small_dict


def _bastion(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ei:
        cli.main(list(argv))
    out, err = capsys.readouterr()
    return int(ei.value.code), out, err


def _one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.fixture(scope="module")
def small_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("sc") / "small.yaml"
    p.write_text(yaml.safe_dump(small_dict(), sort_keys=False))
    return p


@pytest.fixture(scope="module")
def results(tmp_path_factory, small_file) -> Path:
    """One real run of the small scenario (2 replications), reused read-only."""
    out = tmp_path_factory.mktemp("res") / "out"
    with pytest.raises(SystemExit) as ei:
        cli.main(["run", str(small_file), "--runs", "2", "--workers", "1", "--out", str(out)])
    assert ei.value.code == 0
    return out


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _no_simulation(monkeypatch) -> None:
    def boom(*a, **k):
        raise AssertionError("the simulation started before the output folder was checked")

    monkeypatch.setattr(cli, "run_mc", boom)


# ----------------------------------------------------------------------------- --out


def test_out_is_a_file_refused_before_simulating(capsys, monkeypatch, tmp_path, small_file):
    _no_simulation(monkeypatch)
    f = tmp_path / "afile"
    f.write_text("keep me")
    code, _, err = _bastion(capsys, "run", str(small_file), "--out", str(f))
    _one_line_error(code, err, "exists and is a file")
    code, _, err = _bastion(capsys, "run", str(small_file), "--out", str(f / "sub"))
    _one_line_error(code, err, "is a file, so no folder can be made under it")
    assert f.read_text() == "keep me"


def test_out_not_writable_refused_before_simulating(capsys, monkeypatch, tmp_path, small_file):
    _no_simulation(monkeypatch)
    import bastion.outcome.output as output

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    # root ignores permission bits, so the refusal of the file system is injected
    monkeypatch.setattr(output.tempfile, "mkdtemp", denied)
    code, _, err = _bastion(capsys, "run", str(small_file), "--out", str(tmp_path / "o"))
    _one_line_error(code, err, "cannot write in", "Permission denied")


def test_out_foreign_folder_refused_and_untouched(capsys, monkeypatch, tmp_path, small_file):
    _no_simulation(monkeypatch)
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.txt").write_text("years of work")
    code, _, err = _bastion(capsys, "run", str(small_file), "--out", str(home))
    _one_line_error(code, err, "non-empty folder with no bastion results")
    assert _snapshot(home) == {"thesis.txt": b"years of work"}


@pytest.mark.parametrize("failure", [RuntimeError("disk on fire"), KeyboardInterrupt()],
                         ids=["failure", "ctrl-c"])
def test_failed_or_interrupted_report_leaves_out_as_it_was(capsys, monkeypatch, tmp_path,
                                                           results, small_file, failure):
    out = tmp_path / "out"
    shutil.copytree(results, out)
    before = _snapshot(out)
    import bastion.outcome.html as html

    def broken(*a, **k):
        raise failure

    monkeypatch.setattr(html, "write_html", broken)  # the last file written
    code, _, err = _bastion(capsys, "run", str(small_file), "--runs", "2", "--workers", "1",
                            "--seed", "99", "--out", str(out))
    assert code == (130 if isinstance(failure, KeyboardInterrupt) else 1), err
    assert "Traceback" not in err
    assert _snapshot(out) == before  # not one file of the new run mixed in
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging left behind


def test_second_run_moves_earlier_results_to_a_backup(capsys, tmp_path, results, small_file):
    out = tmp_path / "out"
    shutil.copytree(results, out)
    before = _snapshot(out)
    code, _, err = _bastion(capsys, "run", str(small_file), "--runs", "2", "--workers", "1",
                            "--seed", "5", "--out", str(out))
    assert code == 0, err
    assert f"now in {out}.1" in err
    assert _snapshot(tmp_path / "out.1") == before
    assert json.loads((out / "summary.json").read_text())["provenance"]["seed"] == 5


def test_every_output_file_carries_provenance(results):
    summ = json.loads((results / "summary.json").read_text())["provenance"]
    assert {"bastion_version", "scenario_sha256", "seed", "runs"} <= set(summ)
    for name in ("events.parquet", "outcomes.parquet"):
        prov = read_provenance(results / name)
        assert prov["scenario_sha256"] == summ["scenario_sha256"]
        assert prov["seed"] == summ["seed"] and prov["runs"] == 2
        # the event schema version stays beside it
        assert b"bastion.events.schema_version" in pq.read_schema(
            results / "events.parquet").metadata
    html = (results / "report.html").read_text()
    assert 'name="bastion-provenance"' in html and summ["scenario_sha256"] in html


# ---------------------------------------------------------------------- options and --set


@pytest.mark.parametrize(("argv", "fragments"), [
    (["run", "--runs", "1e9"], ["--runs", "valid integer"]),
    (["run", "--runs", "1000000000"], ["--runs 1,000,000,000", "at most 100,000"]),
    (["run", "--bogus"], ["No such option: --bogus"]),
    (["run", "a", "b"], ["unexpected extra argument"]),
    (["run", "--set", "airframes.improvised_fw.rcs_m2=5"],
     ["no field 'improvised_fw'", "did you mean airframes.improvised-fw.rcs_m2"]),
    (["run", "--set", "nonsense"], ["expected PATH=VALUE"]),
    (["run", "--set", "=5"], ["expected PATH=VALUE"]),
    (["run", "--set", "doctrine.operator.decision_time_sigma=1e6"], ["decision_time_sigma"]),
    (["compare", "--b", "doctrine.weapons_controll=hold"], ["--b", "weapons_control"]),
    (["validate", "--runs", "1"], ["at least 100 replications"]),
    (["scenarios", "check", "/nonexistent.yaml"], ["no such file"]),
    (["scenarios", "show", "nope"], ["no such built-in"]),
])
def test_misuse_is_one_line_exit_2(capsys, monkeypatch, argv, fragments):
    _no_simulation(monkeypatch)
    code, _, err = _bastion(capsys, *argv)
    _one_line_error(code, err, *fragments)


def test_set_value_with_colons_is_a_string(capsys, monkeypatch, small_file):
    seen = {}

    def fake_mc(sc, *a, **k):
        seen["description"] = sc.description
        raise KeyboardInterrupt  # stop before any work: only the parsing is under test

    monkeypatch.setattr(cli, "run_mc", fake_mc)
    code, _, _ = _bastion(capsys, "run", str(small_file), "--set", "description=a: b: c",
                          "--out", "unused")
    assert code == 130 and seen["description"] == "a: b: c"


def test_workers_capped_to_cpus_and_replications(capsys, tmp_path, small_file):
    code, _, err = _bastion(capsys, "run", str(small_file), "--runs", "1", "--workers", "100",
                            "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert "--workers 100: using 1" in err
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["provenance"][
        "workers"] == 1


def test_progress_lines_when_not_a_terminal(capsys, small_file):
    # under capsys stderr is not a terminal (as in a log or CI): a run must still report
    code, _, err = _bastion(capsys, "compare", str(small_file), "--runs", "2", "--workers",
                            "1", "--b", "doctrine.weapons_control=hold")
    assert code == 0, err
    assert "A: as is: 2/2 replications" in err
    assert "B: doctrine.weapons_control=hold: 2/2 replications" in err


def test_zero_event_outcomes_give_an_upper_bound(capsys, small_file, results):
    summ = json.loads((results / "summary.json").read_text())["outcomes"]
    zero = [k for k, v in summ.items() if v["mean"] == 0 and v["p95"] == 0]
    assert zero, "the small scenario has outcomes never seen in 2 runs"
    for k in zero:
        assert summ[k]["p_nonzero_upper95"] == pytest.approx(1 - 0.05 ** 0.5)
    code, out, err = _bastion(capsys, "compare", str(small_file), "--runs", "3", "--workers",
                              "1", "--b", "doctrine.cost_weight=0", "--json")  # B is A
    assert code == 0, err
    rows = json.loads(out)["paired"]
    assert rows and all(r["p_differ_upper95"] == pytest.approx(1 - 0.05 ** (1 / 3))
                        for r in rows)
    from bastion.outcome.compare import render_difference

    both_zero = next(r for r in rows if r["zero_events"])
    assert render_difference(both_zero) == "0 in both in 3 runs (differs in ≤ 63 %)"
    moved = dict(both_zero, ci95_low=-0.5, ci95_high=1.25)
    del moved["p_differ_upper95"]
    assert render_difference(moved) == "[-0.5, +1.25]"


def test_scenarios_check_estimates_the_cost(capsys):
    code, out, err = _bastion(capsys, "scenarios", "check", "khmeimim-2018", "--runs", "1000")
    assert code == 0, err
    assert "13 drones, 16 birds" in out and "steps of 2 s" in out and "MiB per worker" in out
    code, out, err = _bastion(capsys, "scenarios", "check", "khmeimim-2018", "--set",
                              "raids.khmeimim-raid.count=100000")
    _one_line_error(code, err, "objects in one replication", "at most 100,000")


def test_a_bug_is_one_line_and_a_saved_traceback(capsys, monkeypatch):
    def bug(*a, **k):
        raise ZeroDivisionError("oops\nsecond line")

    monkeypatch.setattr(cli, "load", bug)
    code, _, err = _bastion(capsys, "run")
    assert code == 1
    line = err.strip()
    assert line.startswith("internal error: ZeroDivisionError: oops — this is a bug")
    path = Path(line.rsplit(" ", 1)[-1])
    assert "Traceback" in path.read_text() and "Traceback" not in err
    path.unlink()


def test_bare_command_prints_help(capsys):
    code, out, _ = _bastion(capsys)
    assert code == 0 and "run" in out and "compare" in out


def test_real_ctrl_c_with_worker_processes(tmp_path, results, small_file):
    """SIGINT to the whole process group, as a terminal sends it: workers included."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    shutil.copytree(results, out)
    before = _snapshot(out)

    def own_group_default_sigint() -> None:
        # a background child of a non-interactive shell ignores SIGINT; a terminal's does not
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setpgrp()

    p = subprocess.Popen([sys.executable, "-m", "bastion", "run", str(small_file), "--runs",
                          "4000", "--workers", "2", "--out", str(out)],
                         preexec_fn=own_group_default_sigint, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    first = p.stderr.readline()  # "small-site: 0/4000 replications": the simulation started
    assert "0/4000" in first, first
    time.sleep(2)
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert _snapshot(out) == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out"]


def test_coverage_command_writes_geojson_and_keeps_the_old_file(capsys, tmp_path):
    out = tmp_path / "cov.geojson"
    code, stdout, err = _bastion(capsys, "coverage", "khmeimim-2018", "--out", str(out))
    assert code == 0, err
    gj = json.loads(out.read_text())
    assert gj["type"] == "FeatureCollection" and gj["features"]
    assert "khmeimim: combined Pd" in stdout
    first = out.read_bytes()
    code, _, err = _bastion(capsys, "coverage", "khmeimim-2018", "--rcs-m2", "1",
                            "--out", str(out))
    assert code == 0 and "now" in err
    assert (tmp_path / "cov.geojson.1").read_bytes() == first
    code, _, err = _bastion(capsys, "coverage", "--altitude-m", "-5", "--out", str(out))
    _one_line_error(code, err, "altitude_m")
