"""Scenarios: schema, loading with clear errors, geodesy, the built-in library."""

from bastion.scenario.geo import Frame
from bastion.scenario.load import (
    ScenarioError,
    builtin_names,
    builtin_text,
    load_scenario,
    scenario_hash,
    with_overrides,
)
from bastion.scenario.schema import Scenario

__all__ = [
    "Frame",
    "Scenario",
    "ScenarioError",
    "builtin_names",
    "builtin_text",
    "load_scenario",
    "scenario_hash",
    "with_overrides",
]
