"""Coverage figures and their place in the report: drawn from the Coverage object alone,
one per site, in report.html and as coverage.geojson in the output folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import small_dict, small_scenario

from bastion.outcome.coverage import coverage_pngs, site_coverage_png
from bastion.outcome.report import write_report
from bastion.scenario import Scenario
from bastion.sim.coverage import coverage_maps
from bastion.sim.montecarlo import MonteCarloResult, monte_carlo

_FAST = dict(extent_m=25_000.0, resolution_m=500.0)
_PNG = b"\x89PNG\r\n\x1a\n"


def _two_sites() -> Scenario:
    """The small scenario with a masked radar, an RF sensor a silent drone defeats, and a
    second site that has assets only (no sensor, no effector)."""
    d = small_dict()
    d["sensors"][0]["mask"] = [[30.0, 120.0, 1.0]]
    d["sensors"].append({"kind": "rf", "name": "rf", "site": "base",
                         "position": {"lat_deg": 35.0, "lon_deg": 35.0}})
    d["sites"].append({"name": "bare", "assets": [
        {"name": "hut", "position": {"lat_deg": 35.2, "lon_deg": 35.2}}]})
    return Scenario.model_validate(d)


def test_one_png_per_site_including_a_site_without_kit():
    cov = coverage_maps(_two_sites(), **_FAST)
    out = coverage_pngs(cov)
    assert [name for name, _ in out] == ["base", "bare"]
    for _, png in out:
        assert png.startswith(_PNG) and len(png) > 10_000
    bare = cov.site("bare")
    assert not bare.sensors and not bare.combined_pd.any()


def test_draws_out_of_reach_effectors_and_empty_footprints():
    # above every weapon's ceiling and every jammer's reach: nothing to outline, still a map
    cov = coverage_maps(small_scenario(**{"effectors.ew.eirp_dbw": -50.0}), altitude_m=3_500.0,
                        **_FAST)
    site = cov.sites[0]
    assert all(e.outer_m == 0 for e in site.envelopes)
    assert site.footprints[0].ground_radius_m == 0
    assert site_coverage_png(cov, site).startswith(_PNG)


def test_the_report_side_does_not_import_the_simulator():
    code = ("import sys, bastion.outcome.coverage, bastion.outcome.html, bastion.outcome.report;"
            "print(sorted(m for m in sys.modules if m.startswith('bastion.sim')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def mc() -> MonteCarloResult:
    return monte_carlo(small_scenario(), 1)


@pytest.fixture(scope="module")
def results(mc: MonteCarloResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cov") / "out"
    write_report(mc, out)
    return out


def test_report_has_the_coverage_section(results: Path, mc: MonteCarloResult):
    page = (results / "report.html").read_text(encoding="utf-8")
    i, j = page.index("2. Map</h2>"), page.index("3. Coverage</h2>")
    assert i < j < page.index("4. Outcome distributions</h2>")
    section = page[j:page.index("4. Outcome distributions</h2>")]
    cov = mc.coverage()
    assert f"<b>{cov.altitude_m:g} m</b>" in section and f"<b>{cov.rcs_m2:g} m²</b>" in section
    assert "one look" in section and "independent" in section
    assert section.count("data:image/png;base64,") == len(mc.scenario.sites)
    assert "coverage map of site base" in section
    assert "fence" in section  # the perimeter sensor is listed as not mapped


def test_coverage_geojson_in_the_output_folder(results: Path, mc: MonteCarloResult):
    g = json.loads((results / "coverage.geojson").read_text(encoding="utf-8"))
    summ = json.loads((results / "summary.json").read_text())["provenance"]
    assert g["type"] == "FeatureCollection"
    assert g["bastion_provenance"]["scenario_sha256"] == summ["scenario_sha256"]
    assert g["bastion_provenance"]["seed"] == summ["seed"]
    want = mc.coverage().to_geojson()
    assert g["features"] == json.loads(json.dumps(want["features"]))
    names = {f["properties"].get("effector") for f in g["features"]}
    assert {"sam", "gun", "ew"} <= names
