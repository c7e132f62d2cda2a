"""Loading scenarios: built-in names or YAML files, with one-line errors.

A bad file must never produce a traceback: every failure becomes a :class:`ScenarioError`
whose message is ``<file>: <field path>: <reason>``, which the CLI prints before exiting 2.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import stat
from collections.abc import Iterator
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
    "field_paths",
    "load_scenario",
    "parse_value",
    "scenario_hash",
    "with_overrides",
]

_LIBRARY = "bastion.scenario.library"
_MAX_BYTES = 10 * 2**20  # a scenario is a page of YAML; refuse to parse a 10 MiB file
# Limits checked on the event stream before any document is built, so a hostile file cannot
# exhaust the stack (PyYAML composes recursively) or memory (aliases of aliases expand
# exponentially once pydantic walks them).
_MAX_DEPTH = 64
_MAX_NODES = 1_000_000


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


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that rejects a key given twice in one mapping (PyYAML keeps the last one
    silently, so a repeated `count:` would quietly override the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r} (first given on line "
                    f"{seen[key_node.value]})", key_node.start_mark)
            seen[key_node.value] = line
        return super().construct_mapping(node, deep)


def _check_shape(text: str) -> None:
    """Nesting depth and size after alias expansion, from the parser's events (iterative:
    no recursion, nothing built)."""
    depth = 0
    total = 0
    anchor_size: dict[str, int] = {}
    opened: list[tuple[str | None, int]] = []
    for ev in yaml.parse(text, Loader=_StrictLoader):
        if isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            total += 1
            if depth > _MAX_DEPTH:
                raise yaml.MarkedYAMLError(problem=f"nested more than {_MAX_DEPTH} levels deep",
                                           problem_mark=ev.start_mark)
            opened.append((ev.anchor, total))
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1
            anchor, start = opened.pop()
            if anchor:
                anchor_size[anchor] = total - start + 1
        elif isinstance(ev, yaml.ScalarEvent):
            total += 1
            if ev.anchor:
                anchor_size[ev.anchor] = 1
        elif isinstance(ev, yaml.AliasEvent):
            total += anchor_size.get(ev.anchor, 1)
        if total > _MAX_NODES:
            raise yaml.MarkedYAMLError(
                problem=f"more than {_MAX_NODES:,} values once aliases are expanded",
                problem_mark=ev.start_mark)


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"at line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}{problem}"


def safe_yaml(text: str) -> Any:
    """Parse YAML text with the depth, size and duplicate-key checks; raises YAMLError."""
    try:
        _check_shape(text)
        # a SafeLoader subclass: plain data only, no arbitrary Python objects
        return yaml.load(text, Loader=_StrictLoader)
    except RecursionError:  # pragma: no cover - _check_shape bounds the depth first
        raise yaml.YAMLError("nested too deeply") from None


def parse_value(text: str) -> Any:
    """A --set value: YAML when it parses (numbers, lists, mappings), else the text itself
    (``description=a: b: c`` is a string, not a syntax error)."""
    try:
        return safe_yaml(text)
    except yaml.YAMLError:
        return text


def parse_scenario(text: str, source: str) -> Scenario:
    try:
        data = safe_yaml(text)
    except yaml.YAMLError as exc:
        kind = ("YAML syntax error" if isinstance(exc, yaml.scanner.ScannerError
                                                  | yaml.parser.ParserError) else "YAML error")
        raise ScenarioError(f"{source}: {kind} {_yaml_error(exc)}") from None
    if data is None:
        raise ScenarioError(f"{source}: the file is empty (expected a YAML mapping of fields)")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}: expected a YAML mapping of scenario fields, found {type(data).__name__}"
        )
    return validate_dict(data, source)


def validate_dict(data: dict[str, Any], source: str, *, check_assumptions: bool = True
                  ) -> Scenario:
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format_validation(source, exc)) from None
    except RecursionError:
        raise ScenarioError(f"{source}: nested too deeply") from None
    if check_assumptions:
        _check_assumptions(sc, source)
    return sc


def _check_assumptions(sc: Scenario, source: str) -> None:
    # An assumption whose path names nothing would show +0.00 in the sensitivity table, which
    # reads as "does not matter": each path must name a numeric field, and its low and high
    # values must be valid values of that field.
    data = sc.model_dump(mode="json")
    for k, a in enumerate(sc.assumptions):
        try:
            value = _lookup(data, a.path)
        except ScenarioError as exc:
            raise ScenarioError(f"{source}: assumptions.{k}.path: {exc}") from None
        if not isinstance(value, int | float):  # numbers, and booleans varied as 0 / 1
            raise ScenarioError(f"{source}: assumptions.{k}.path: {a.path} is not a number "
                                f"(it is {json.dumps(value)[:60]})")
        for level in ("low", "high"):
            v = getattr(a, level)
            try:
                with_overrides(sc, {a.path: v}, label="assumption", check_assumptions=False)
            except ScenarioError as exc:
                reason = str(exc).split(": ", 2)[-1]
                raise ScenarioError(f"{source}: assumptions.{k}.{level}: {v:g} is not a valid "
                                    f"{a.path}: {reason}") from None


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
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise ScenarioError(f"{s}: is a directory, expected a YAML scenario file")
        # A FIFO would block forever and /dev/zero never ends: only regular files are read.
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(f"{s}: not a regular file (a pipe, device or socket); "
                                "expected a YAML scenario file")
        if st.st_size > _MAX_BYTES:
            raise ScenarioError(f"{s}: file is {st.st_size:,} bytes; a scenario is at most "
                                "10 MiB")
        with path.open("rb") as f:
            raw = f.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{s}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > _MAX_BYTES:
        raise ScenarioError(f"{s}: file is over 10 MiB; a scenario is at most 10 MiB")
    if b"\x00" in raw:
        raise ScenarioError(f"{s}: binary data (NUL bytes), not a YAML text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{s}: not UTF-8 text (byte {exc.start}); expected YAML") from None
    return resolve_dem_paths(parse_scenario(text, s), path.parent, s)


def resolve_dem_paths(sc: Scenario, base: Path, source: str) -> Scenario:
    """Terrain DEM paths made absolute (relative to the scenario file's folder) and checked
    readable as GeoTIFF elevation rasters, so a bad file fails at load naming its field."""
    sites = list(sc.sites)
    changed = False
    for k, site in enumerate(sites):
        t = site.terrain
        if t is None or t.dem is None:
            continue
        p = Path(t.dem)
        if not p.is_absolute():
            p = (base / p).resolve()
        where = f"{source}: sites.{k}.terrain.dem"
        if not p.is_file():
            raise ScenarioError(f"{where}: no such file {str(p)!r}")
        try:
            from bastion.scenario.terrain import read_dem

            z, _, _ = read_dem(str(p))
        except Exception as exc:  # rasterio raises its own error types
            raise ScenarioError(f"{where}: cannot read as a GeoTIFF elevation raster: "
                                f"{str(exc)[:200]}") from None
        if z.size == 0:
            raise ScenarioError(f"{where}: the raster is empty")
        sites[k] = site.model_copy(update={"terrain": t.model_copy(update={"dem": str(p)})})
        changed = True
    return sc.model_copy(update={"sites": sites}) if changed else sc


def _children(node: Any) -> Iterator[tuple[str, Any]]:
    """The path parts under a node: dict keys, and list items by name (or index)."""
    if isinstance(node, dict):
        yield from ((str(k), v) for k, v in node.items())
    elif isinstance(node, list):
        for i, item in enumerate(node):
            name = item.get("name") if isinstance(item, dict) else None
            yield (str(name) if name is not None else str(i)), item


def field_paths(data: Any, prefix: str = "") -> Iterator[str]:
    """Every dotted path in a scenario's data, lists stepped by item name where they have one."""
    for part, child in _children(data):
        path = f"{prefix}.{part}" if prefix else part
        yield path
        yield from field_paths(child, path)


def _nearest(data: Any, path: str) -> str:
    near = difflib.get_close_matches(path, list(field_paths(data)), n=1, cutoff=0.6)
    return f"; did you mean {near[0]}?" if near else ""


def _step(node: Any, part: str, above: str) -> tuple[Any, Any]:
    """Step into a dict by an existing key, a list by index or by an item's ``name``."""
    where = f" in {above}" if above else ""
    if isinstance(node, dict):
        if part not in node:
            raise ScenarioError(f"no field {part!r}{where}")
        return node, part
    if isinstance(node, list):
        if part.lstrip("-").isdigit():
            idx = int(part)
            if not -len(node) <= idx < len(node):
                raise ScenarioError(f"index {idx} out of range{where} ({len(node)} items)")
            return node, idx
        for i, item in enumerate(node):
            if isinstance(item, dict) and item.get("name") == part:
                return node, i
        raise ScenarioError(f"no item named {part!r}{where}")
    if node is None:
        raise ScenarioError(f"{above} is not set; give it whole, e.g. "
                            f"{above.rsplit('.', 1)[-1]}={{lat_deg: 35.4, lon_deg: 35.9}}")
    raise ScenarioError(f"{above} is a {type(node).__name__} value, not a group of fields")


def _locate(data: Any, path: str) -> tuple[Any, Any]:
    """The container and key of a dotted path; ScenarioError naming the path otherwise."""
    if not path or any(not p for p in path.split(".")):
        raise ScenarioError(f"{path!r}: expected a dotted field path, e.g. "
                            "doctrine.weapons_control")
    parts = path.split(".")
    node: Any = data
    try:
        for k, part in enumerate(parts):
            container, key = _step(node, part, ".".join(parts[:k]))
            node = container[key]
    except ScenarioError as exc:
        hint = _nearest(data, path) if str(exc).startswith("no ") else ""
        raise ScenarioError(f"{path}: {exc}{hint}") from None
    return container, key


def _lookup(data: Any, path: str) -> Any:
    container, key = _locate(data, path)
    return container[key]


def with_overrides(scenario: Scenario, overrides: dict[str, Any], *, label: str = "override",
                   check_assumptions: bool = True) -> Scenario:
    """A copy of ``scenario`` with dotted-path fields replaced, re-validated.

    Paths step through lists by index or by item name: ``sensors.khm-radar.range_pd90_m``,
    ``airframes.improvised-fw.rcs_m2``, ``doctrine.weapons_control``. Every path must name a
    field that exists (a misspelt path would otherwise add an unused item and change nothing);
    the error suggests the nearest valid path.
    """
    data = copy.deepcopy(scenario.model_dump(mode="json", exclude_defaults=False))
    for path, value in overrides.items():
        try:
            container, key = _locate(data, path)
        except ScenarioError as exc:
            raise ScenarioError(f"{label} {exc}") from None
        container[key] = value
    what = ", ".join(f"{k}={json.dumps(v)[:40]}" for k, v in overrides.items())
    return validate_dict(data, f"{label} {what}", check_assumptions=check_assumptions)


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the scenario's canonical JSON: provenance for every result."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def get_path(scenario: Scenario, path: str) -> Any:
    """The value at a dotted field path (ScenarioError if there is none)."""
    return _lookup(scenario.model_dump(mode="json"), path)
