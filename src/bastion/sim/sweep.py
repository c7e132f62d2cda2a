"""Sweeps: one scenario, many settings of a few fields, the same replications at every point.

``bastion sweep SCENARIO --vary PATH=LOW:HIGH:N [--vary ...] --runs R`` runs R replications
at each point of a grid (or a Latin hypercube) over the varied fields. Every point uses the
same seed and replications — common random numbers: replication r meets the same drones,
weather and sensor noise at every point — so differences between points are paired and the
response curves are smooth where the model is. All (point, block) jobs go to one executor
at once, so the processes or the Dask cluster stay busy across points.

A goal such as ``any_asset_hit<=0.01`` is checked on each point's mean, and with 95 %
confidence (the one-sided bound of the mean must meet it too); the cheapest point meeting it
is the one with the least of ``minimise`` (an outcome's mean, e.g. ``cost_usd``, or a varied
field's value, e.g. a magazine size).
"""

from __future__ import annotations

import itertools
import math
import operator
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from scipy import stats

from bastion._version import __version__
from bastion.outcome.summary import zero_event_upper95
from bastion.scenario.load import (
    ScenarioError,
    get_path,
    parse_value,
    scenario_hash,
    with_overrides,
)
from bastion.scenario.schema import Scenario
from bastion.sim.engine import simulate_block
from bastion.sim.executor import Executor
from bastion.sim.montecarlo import blocks

__all__ = ["Axis", "Goal", "SweepResult", "parse_axis", "parse_goal", "sweep"]

MAX_POINTS = 10_000
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


@dataclass(frozen=True)
class Axis:
    path: str
    values: tuple[Any, ...]
    integer: bool = False
    low: float | None = None  # the range, for a Latin hypercube
    high: float | None = None


def parse_axis(spec: str, sc: Scenario) -> Axis:
    """``PATH=LOW:HIGH:N`` (N evenly spaced values, ends included) or ``PATH=A,B,C``."""
    path, eq, rng = spec.partition("=")
    path = path.strip()
    if not eq or not path or not rng.strip():
        raise ScenarioError(f"--vary {spec!r}: expected PATH=LOW:HIGH:N or PATH=A,B,C, e.g. "
                            "effectors.khm-pantsir-missile.magazine=4:16:5")
    try:
        current = get_path(sc, path)
    except ScenarioError as exc:
        raise ScenarioError(f"--vary {exc}") from None
    integer = isinstance(current, int) and not isinstance(current, bool)
    low = high = None
    if ":" in rng:
        parts = rng.split(":")
        try:
            if len(parts) != 3:
                raise ValueError
            low, high, n = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise ScenarioError(f"--vary {path}: {rng!r} is not LOW:HIGH:N (two numbers and a "
                                "count)") from None
        if not (math.isfinite(low) and math.isfinite(high)) or not 1 <= n <= 1_000:
            raise ScenarioError(f"--vary {path}: LOW and HIGH must be finite and N between 1 "
                                f"and 1,000 (got {rng!r})")
        vals = np.linspace(low, high, n)
        values: tuple[Any, ...] = (tuple(dict.fromkeys(int(np.rint(v)) for v in vals)) if integer
                                   else tuple(float(v) for v in vals))
    else:
        values = tuple(parse_value(v.strip()) for v in rng.split(","))
    for v in values:  # every value must be valid before anything runs
        with_overrides(sc, {path: v}, label="--vary", check_assumptions=False)
    return Axis(path, values, integer, low, high)


@dataclass(frozen=True)
class Goal:
    outcome: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.outcome}{self.op}{self.threshold:g}"

    def met(self, value: float) -> bool:
        return bool(np.isfinite(value) and _OPS[self.op](value, self.threshold))


def parse_goal(text: str) -> Goal:
    m = re.fullmatch(r"\s*([A-Za-z0-9_:.\-]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*", text)
    if not m:
        raise ScenarioError(f"--goal {text!r}: expected OUTCOME OP NUMBER, e.g. "
                            "'any_asset_hit<=0.01' (OP one of <=, <, >=, >)")
    try:
        thr = float(m.group(3))
    except ValueError:
        raise ScenarioError(f"--goal {text!r}: {m.group(3)!r} is not a number") from None
    return Goal(m.group(1), m.group(2), thr)


def design(axes: list[Axis], kind: str = "grid", samples: int | None = None,
           seed: int = 0) -> list[dict[str, Any]]:
    """The points: the full grid of the axes' values, or ``samples`` Latin-hypercube points
    over their ranges (integer fields rounded)."""
    if kind == "grid":
        n = math.prod(len(a.values) for a in axes)
        if n > MAX_POINTS:
            raise ScenarioError(f"--vary: the grid has {n:,} points (at most {MAX_POINTS:,}); "
                                "use fewer values or --design lhs")
        return [dict(zip([a.path for a in axes], combo, strict=True))
                for combo in itertools.product(*(a.values for a in axes))]
    if kind != "lhs":
        raise ScenarioError(f"--design {kind!r}: expected grid or lhs")
    if not samples or not 1 <= samples <= MAX_POINTS:
        raise ScenarioError(f"--design lhs needs --samples between 1 and {MAX_POINTS:,}")
    for a in axes:
        if a.low is None or a.high is None:
            raise ScenarioError(f"--vary {a.path}: a Latin hypercube needs a range LOW:HIGH:N")
    u = stats.qmc.LatinHypercube(d=len(axes), seed=np.random.default_rng(seed)).random(samples)
    pts = []
    for row in u:
        p: dict[str, Any] = {}
        for a, x in zip(axes, row, strict=True):
            v = a.low + x * (a.high - a.low)  # type: ignore[operator]
            p[a.path] = int(np.rint(v)) if a.integer else float(v)
        pts.append(p)
    return pts


def _point_block(args: tuple[int, Scenario, list[int], int]
                 ) -> tuple[int, list[tuple[int, dict[str, float]]]]:
    k, sc, reps, seed = args
    return k, [(r.replication, r.outcome) for r in simulate_block(sc, reps, seed=seed)]


@dataclass
class SweepResult:
    scenario: Scenario
    axes: list[Axis]
    points: list[dict[str, Any]]
    table: pa.Table  # one row per (point, replication)
    seed: int
    runs: int
    wall_s: float
    workers: int
    design: str = "grid"
    summary_cache: dict[str, Any] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        return {"bastion_version": __version__, "scenario": self.scenario.name,
                "scenario_sha256": scenario_hash(self.scenario), "seed": self.seed,
                "runs": self.runs, "points": len(self.points), "design": self.design,
                "vary": {a.path: list(a.values) for a in self.axes}, "workers": self.workers}

    def outcome_names(self) -> list[str]:
        skip = {"point", "replication", *(a.path for a in self.axes)}
        return [c for c in self.table.column_names if c not in skip]

    def summary(self) -> list[dict[str, Any]]:
        """Per point: its settings and, per outcome, mean, s.e. and a 95 % interval."""
        if "rows" in self.summary_cache:
            return self.summary_cache["rows"]
        point = self.table.column("point").to_numpy()
        out = []
        for k, p in enumerate(self.points):
            sel = point == k
            row: dict[str, Any] = {"point": k, **p, "outcomes": {}}
            for name in self.outcome_names():
                v = self.table.column(name).to_numpy(zero_copy_only=False)[sel].astype(float)
                v = v[np.isfinite(v)]
                n = v.size
                if n == 0:
                    continue
                mean = float(v.mean())
                se = float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
                half = float(stats.t.ppf(0.975, n - 1)) * se if n > 1 else math.nan
                s = {"mean": mean, "se": se, "ci95_low": mean - half, "ci95_high": mean + half,
                     "n": n}
                if not v.any():
                    s["p_nonzero_upper95"] = zero_event_upper95(n)
                row["outcomes"][name] = s
            out.append(row)
        self.summary_cache["rows"] = out
        return out

    def best(self, goal: Goal, minimise: str = "cost_usd") -> dict[str, Any]:
        """Which points meet ``goal`` (on the mean, and with 95 % confidence) and the one
        with the least ``minimise`` among those meeting it with confidence (else on the
        mean)."""
        rows = self.summary()
        if goal.outcome not in self.outcome_names():
            raise ScenarioError(f"--goal {goal}: no outcome {goal.outcome!r} (outcomes: "
                                f"{', '.join(sorted(self.outcome_names()))})")
        paths = [a.path for a in self.axes]
        if minimise not in paths and minimise not in self.outcome_names():
            raise ScenarioError(f"--minimise {minimise!r}: neither a varied field "
                                f"({', '.join(paths)}) nor an outcome")

        def key(r: dict[str, Any]) -> tuple[float, ...]:
            first = (float(r[minimise]) if minimise in paths
                     else r["outcomes"].get(minimise, {}).get("mean", math.inf))
            return (first, *(float(r[p]) for p in paths))

        def bound(r: dict[str, Any]) -> float:
            s = r["outcomes"].get(goal.outcome)
            if s is None:
                return math.nan
            if "p_nonzero_upper95" in s and goal.op in ("<=", "<"):
                # never seen in n runs: the t-interval is [0, 0]; the honest bound is how
                # often it could still happen (exact binomial, ≈ 3/n)
                return s["p_nonzero_upper95"]
            hi = s["ci95_high"] if goal.op in ("<=", "<") else s["ci95_low"]
            return hi if math.isfinite(hi) else s["mean"]

        on_mean = [r for r in rows if goal.met(r["outcomes"].get(goal.outcome, {})
                                               .get("mean", math.nan))]
        sure = [r for r in on_mean if goal.met(bound(r))]
        pick = min(sure or on_mean, key=key) if (sure or on_mean) else None
        return {"goal": str(goal), "outcome": goal.outcome, "minimise": minimise,
                "points_meeting": len(on_mean), "points_meeting_95": len(sure), "best": pick,
                "confident": bool(sure), "best_bound": bound(pick) if pick else None}


def sweep(sc: Scenario, axes: list[Axis], runs: int, *, seed: int | None = None,
          kind: str = "grid", samples: int | None = None, workers: int = 1,
          executor: Executor | None = None,
          progress: Callable[[int], None] | None = None) -> SweepResult:
    """Run ``runs`` replications at every point of the design (see the module docstring)."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    if not axes:
        raise ScenarioError("sweep needs at least one --vary PATH=LOW:HIGH:N")
    seed = sc.seed if seed is None else int(seed)
    points = design(axes, kind, samples, seed)
    variants = [with_overrides(sc, p, label="--vary", check_assumptions=False) for p in points]
    own = executor is None
    ex = Executor(workers) if executor is None else executor
    t0 = time.perf_counter()
    got: dict[tuple[int, int], dict[str, float]] = {}
    try:
        # enough blocks per point that the workers have work even with a single point
        split = blocks(range(runs), max(1, math.ceil(ex.workers / len(points))))
        jobs = [(k, v, b, seed) for k, v in enumerate(variants) for b in split]
        for k, out in ex.run(_point_block, jobs):
            for rep, row in out:
                got[(k, rep)] = row
            if progress:
                progress(len(out))
    finally:
        if own:
            ex.close()
    wall = time.perf_counter() - t0
    keys = sorted(got)
    cols = sorted({c for row in got.values() for c in row})
    data: dict[str, pa.Array] = {
        "point": pa.array([k for k, _ in keys], pa.int32()),
        **{a.path: pa.array([points[k][a.path] for k, _ in keys]) for a in axes},
        "replication": pa.array([r for _, r in keys], pa.int32()),
        **{c: pa.array([got[key].get(c, math.nan) for key in keys], pa.float64())
           for c in cols},
    }
    return SweepResult(sc, axes, points, pa.table(data), seed, runs, wall, ex.workers, kind)
