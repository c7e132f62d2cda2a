"""report.html: self-contained, complete, and faithful to the Monte Carlo numbers."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from bastion.outcome.html import write_html
from bastion.outcome.metrics import HEADLINE
from bastion.scenario import Scenario, load_scenario
from bastion.sim.montecarlo import MonteCarloResult, monte_carlo


def _small_khmeimim() -> Scenario:
    """khmeimim-2018 cut down to 3 drones launched ~25 km out, so two runs take seconds."""
    data = load_scenario("khmeimim-2018").model_dump(mode="json")
    origin = data["origin"]
    for raid, count in zip(data["raids"], (2, 1), strict=True):
        raid["count"] = count
        # 60 % of the way from the launch point toward the origin keeps the approach bearing
        for key in ("lat_deg", "lon_deg"):
            raid["launch"][key] = raid["launch"][key] + 0.6 * (origin[key] - raid["launch"][key])
        raid["launch_radius_m"] = 1000.0
        raid["departure"] = {"t_s": 0.0, "spread_s": 60.0}
    data["duration_s"] = 2400.0
    for b in data["birds"]:
        b["count"] = 2
    return Scenario.model_validate(data)


@pytest.fixture(scope="module")
def mc() -> MonteCarloResult:
    return monte_carlo(_small_khmeimim(), 2)


@pytest.fixture(scope="module")
def page(mc: MonteCarloResult, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("report") / "report.html"
    t0 = time.perf_counter()
    out = write_html(mc, path)
    elapsed = time.perf_counter() - t0
    assert out == path and path.is_file()
    assert elapsed < 10.0, f"report took {elapsed:.1f} s"
    return path.read_text(encoding="utf-8")


def test_self_contained(page: str) -> None:
    # nothing the page loads may live off-page: no src/href to http(s) or to sibling files
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page, flags=re.IGNORECASE)
    assert refs, "expected embedded images"
    for ref in refs:
        assert ref.startswith(("data:", "#")), ref
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page.lower() and "@import" not in page


def test_scenario_and_provenance(page: str, mc: MonteCarloResult) -> None:
    assert mc.scenario.name in page
    assert mc.scenario_hash in page
    assert str(mc.seed) in page


def test_headline_rows(page: str, mc: MonteCarloResult) -> None:
    summ = mc.summary()
    names = [n for n in HEADLINE if n in summ]
    assert names
    for name in names:
        # one table row per headline outcome, carrying its code name
        assert re.search(rf"<tr><td>[^<]*<br><code>{re.escape(name)}</code></td>", page), name


def test_reference_values_shown(page: str, mc: MonteCarloResult) -> None:
    ref = mc.scenario.reference_outcome
    assert ref is not None and ref.figures
    for name, fig in ref.figures.items():
        row = re.search(rf"<code>{re.escape(name)}</code></td>(.*?)</tr>", page, flags=re.S)
        assert row, name
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), flags=re.S)
        # columns after the outcome: mean ± se, percentiles, reported, source
        assert cells[2] == f"{fig.value:g}", (name, cells)
        assert cells[3] == fig.source.replace('"', "&quot;"), (name, cells)


def test_embedded_figures(page: str, mc: MonteCarloResult) -> None:
    imgs = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    # map overview, site zooms, a coverage map per site, histograms, kill-chain timeline,
    # effector bars
    assert len(imgs) == 5 + len(mc.scenario.sites)
    assert all(len(b) > 1000 for b in imgs)


def test_sections_and_assumptions(page: str, mc: MonteCarloResult) -> None:
    for heading in ("Headline outcomes", "Map", "Coverage", "Outcome distributions", "Kill chain",
                    "Shots and cost per effector", "What to change", "Caveats and assumptions"):
        assert f"{heading}</h2>" in page, heading
    for a in mc.scenario.assumptions:
        assert f"<code>{a.path}</code>" in page
    for e in mc.scenario.effectors:
        assert e.name in page


def test_escapes_scenario_text(mc: MonteCarloResult, tmp_path: Path) -> None:
    sc = mc.scenario.model_copy(update={"description": "<script>alert(1)</script> & co"})
    mc2 = MonteCarloResult(**{**mc.__dict__, "scenario": sc})
    page = write_html(mc2, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def test_no_trace(mc: MonteCarloResult, tmp_path: Path) -> None:
    # a replication where nothing came into coverage has no trace: the map must still render
    import dataclasses

    rep = dataclasses.replace(mc.representative, trace=None)
    mc2 = MonteCarloResult(**{**mc.__dict__, "representative": rep})
    page = write_html(mc2, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No trajectories were recorded" in page
    assert page.count("data:image/png;base64,") == 5 + len(mc.scenario.sites)
