"""Shared fixtures: a small, fast scenario that still exercises every stage."""

from __future__ import annotations

import os
from typing import Any

import pytest
import yaml

from bastion.scenario import Scenario
from bastion.scenario.load import validate_dict

SMALL = """
name: small-site
description: one site, four GNSS drones from 20 km, radar + missile + gun + jammer
seed: 7
duration_s: 1500
night: false
origin: {lat_deg: 35.0, lon_deg: 35.0}
wind: {speed_mps: 4.0, from_deg: 270.0}
sites:
  - name: base
    assets:
      - {name: apron, position: {lat_deg: 35.0, lon_deg: 35.0}, radius_m: 150, value: 10}
    fence:
      - {lat_deg: 35.01, lon_deg: 34.99}
      - {lat_deg: 35.01, lon_deg: 35.01}
      - {lat_deg: 34.99, lon_deg: 35.01}
      - {lat_deg: 34.99, lon_deg: 34.99}
sensors:
  - {kind: radar, name: radar, site: base, position: {lat_deg: 35.0, lon_deg: 35.001, height_m: 8},
     scan_period_s: 2.0, reference_rcs_m2: 2.0, range_pd90_m: 28000, max_range_m: 30000}
  - {kind: eoir, name: eo, site: base, position: {lat_deg: 35.0, lon_deg: 35.0, height_m: 10}}
  - {kind: perimeter, name: fence, site: base, position: {lat_deg: 35.0, lon_deg: 35.0}}
effectors:
  - {kind: missile, name: sam, site: base, position: {lat_deg: 35.005, lon_deg: 35.0, height_m: 3},
     min_range_m: 1200, max_range_m: 10000, pk_max: 0.8, magazine: 8, cost_per_shot_usd: 80000}
  - {kind: gun, name: gun, site: base, position: {lat_deg: 35.005, lon_deg: 35.0, height_m: 3},
     max_range_m: 4000, pk_max: 0.35, magazine: 40, cost_per_shot_usd: 3000}
  - {kind: jammer, name: ew, site: base, position: {lat_deg: 35.0, lon_deg: 35.002, height_m: 12},
     mode: jam, eirp_dbw: 0.5}
airframes:
  fw:
    cruise_speed_mps: 31
    rcs_m2: 0.03
    altitude_m: 300
    navigation: gnss
    failsafe: {land: 0.5, loiter: 0.0, return_home: 0.0, continue_ins: 0.5}
raids:
  - name: r
    count: 4
    airframe: fw
    launch: {lat_deg: 35.13, lon_deg: 35.13}
    launch_radius_m: 1000
    target: apron
    departure: {t_s: 0, spread_s: 60}
birds:
  - {site: base, count: 4, radius_m: 6000}
intruders:
  - {site: base, count: 4, breach_s: 300, breach_at: {lat_deg: 35.01, lon_deg: 35.0}, target: apron}
doctrine:
  decision_period_s: 2.0
  operator: {decision_time_s: 5}
reference_outcome:
  source: test
  figures:
    leaked: {value: 0, source: test}
assumptions:
  - {path: airframes.fw.rcs_m2, low: 0.01, high: 0.1, reason: test}
"""


def tables_equal(a: Any, b: Any) -> bool:
    """Arrow tables equal bit for bit, NaN included (Arrow's ``equals`` treats NaN as unequal
    to itself; event positions are NaN where not applicable)."""
    import numpy as np

    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x = a.column(name).to_numpy(zero_copy_only=False)
        y = b.column(name).to_numpy(zero_copy_only=False)
        if x.dtype.kind == "f":
            if not np.array_equal(x.view(np.int64), y.view(np.int64)):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def small_dict() -> dict[str, Any]:
    return yaml.safe_load(SMALL)


def small_scenario(**changes: Any) -> Scenario:
    """The small scenario, with top-level or dotted-path changes applied."""
    from bastion.scenario.load import with_overrides

    sc = validate_dict(small_dict(), "small")
    return with_overrides(sc, changes) if changes else sc


@pytest.fixture
def small() -> Scenario:
    return small_scenario()


# CI sets BASTION_REQUIRE_LIVE=1 after installing the browser, the web UI build and the TAK
# server: a live test that skips for want of one of them then fails instead of passing
# silently. A developer without them sees the skip and its reason.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and os.environ.get("BASTION_REQUIRE_LIVE") == "1"
            and "tests/live/" in item.nodeid.replace("\\", "/")):
        report.outcome = "failed"
        report.longrepr = f"skipped, but BASTION_REQUIRE_LIVE=1: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    # the same for a whole live test module skipped at import (no UI build, no Chromium)
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and os.environ.get("BASTION_REQUIRE_LIVE") == "1"
            and "tests/live/" in collector.nodeid.replace("\\", "/")):
        report.outcome = "failed"
        report.longrepr = f"skipped, but BASTION_REQUIRE_LIVE=1: {report.longrepr}"
