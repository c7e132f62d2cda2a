"""Loading scenarios: built-in names or YAML files, with one-line errors.

A bad file must never produce a traceback: every failure becomes a :class:`ScenarioError`
whose message is ``<file>: <field path>: <reason>``, which the CLI prints before exiting 2.
"""

from __future__ import annotations

import copy
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bastion.scenario.schema import Scenario

__all__ = [
    "ScenarioError",
    "builtin_names",
    "builtin_text",
    "load_scenario",
    "scenario_hash",
    "with_overrides",
]

_LIBRARY = "bastion.scenario.library"
_MAX_BYTES = 10 * 2**20  # a scenario is a page of YAML; refuse to parse a 10 MiB file


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message names file, field and reason."""


def builtin_names() -> list[str]:
    files = resources.files(_LIBRARY).iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def builtin_text(name: str) -> str:
    if name not in builtin_names():
        raise ScenarioError(
            f"{name}: no such built-in scenario (built-in: {', '.join(builtin_names())})"
        )
    return resources.files(_LIBRARY).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def _field_path(loc: tuple[Any, ...]) -> str:
    # pydantic puts the discriminator tag in the location ("sensors.0.radar.pfa"); users
    # wrote "sensors[0].pfa", so the tag is dropped.
    parts = [str(p) for p in loc if p not in ("radar", "rf", "eoir", "iff", "perimeter",
                                                 "gun", "missile", "jammer")]
    return ".".join(parts) or "(top level)"


def _format_validation(source: str, err: ValidationError) -> str:
    msgs = []
    for e in err.errors()[:3]:
        reason = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            reason = "unknown field (check the spelling; `bastion scenarios schema` lists fields)"
        elif e["type"] == "missing":
            reason = "required field is missing"
        loc = _field_path(tuple(e["loc"]))
        # model-level cross-reference errors already carry their own field paths
        msgs.append(reason if loc == "(top level)" and ": " in reason else f"{loc}: {reason}")
    more = err.error_count() - len(msgs)
    return f"{source}: " + "; ".join(msgs) + (f" (+{more} more)" if more > 0 else "")


def parse_scenario(text: str, source: str) -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{source}: YAML syntax error at {where}{problem}") from None
    if data is None:
        raise ScenarioError(f"{source}: the file is empty (expected a YAML mapping of fields)")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}: expected a YAML mapping of scenario fields, found {type(data).__name__}"
        )
    return validate_dict(data, source)


def validate_dict(data: dict[str, Any], source: str) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format_validation(source, exc)) from None


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name, or a YAML file by path."""
    s = str(name_or_path)
    if s in builtin_names():
        return parse_scenario(builtin_text(s), f"{s} (built-in)")
    path = Path(s)
    if not path.exists():
        raise ScenarioError(
            f"{s}: no such file, and not a built-in scenario "
            f"(built-in: {', '.join(builtin_names())})"
        )
    if path.is_dir():
        raise ScenarioError(f"{s}: is a directory, expected a YAML scenario file")
    raw = path.read_bytes()
    if len(raw) > _MAX_BYTES:
        raise ScenarioError(f"{s}: file is {len(raw)} bytes; a scenario is at most 10 MiB")
    if b"\x00" in raw:
        raise ScenarioError(f"{s}: binary data (NUL bytes), not a YAML text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{s}: not UTF-8 text (byte {exc.start}); expected YAML") from None
    return parse_scenario(text, s)


def _walk(node: Any, part: str, path: str) -> tuple[Any, Any]:
    """Step into a dict by key, a list by index or by an item's `name`."""
    if isinstance(node, dict):
        if part not in node:
            node[part] = {}
        return node, part
    if isinstance(node, list):
        if part.lstrip("-").isdigit():
            idx = int(part)
            if not -len(node) <= idx < len(node):
                raise ScenarioError(f"override {path}: index {idx} out of range")
            return node, idx
        for i, item in enumerate(node):
            if isinstance(item, dict) and item.get("name") == part:
                return node, i
        raise ScenarioError(f"override {path}: no item named {part!r}")
    raise ScenarioError(f"override {path}: cannot descend into {type(node).__name__}")


def with_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """A copy of ``scenario`` with dotted-path fields replaced, re-validated.

    Paths step through lists by index or by item name: ``sensors.khm-radar.range_pd90_m``,
    ``airframes.improvised-fw.rcs_m2``, ``doctrine.weapons_control``.
    """
    data = copy.deepcopy(scenario.model_dump(mode="json", exclude_defaults=False))
    for path, value in overrides.items():
        parts = path.split(".")
        node: Any = data
        for part in parts[:-1]:
            parent, key = _walk(node, part, path)
            node = parent[key]
        parent, key = _walk(node, parts[-1], path)
        parent[key] = value
    return validate_dict(data, f"{scenario.name} with overrides")


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the scenario's canonical JSON: provenance for every result."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def get_path(scenario: Scenario, path: str) -> Any:
    node: Any = scenario.model_dump(mode="json")
    for part in path.split("."):
        parent, key = _walk(node, part, path)
        node = parent[key]
    return node
