"""Monte Carlo: many seeded replications, in parallel, identical whatever the worker count.

Replication *r* draws only from streams keyed by (seed, r, subsystem, entity), so its
result does not depend on which process runs it, in which order, or which lock-step block
it shares (see ``sim/engine.py``); results are put back in replication order before
anything is summarised. Two variants run on the same seed see the
same drones, weather and sensor noise (common random numbers), so their difference is paired.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from bastion._version import __version__
from bastion.outcome.metrics import HEADLINE
from bastion.outcome.summary import zero_event_upper95
from bastion.scenario.load import load_scenario, scenario_hash
from bastion.scenario.schema import Scenario
from bastion.sim.engine import BLOCK, SimResult, simulate, simulate_block
from bastion.sim.executor import Executor

__all__ = ["HEADLINE", "MonteCarloResult", "monte_carlo", "summarise", "zero_event_upper95"]



@dataclass
class MonteCarloResult:
    scenario: Scenario
    scenario_hash: str
    seed: int
    runs: int
    outcomes: pa.Table  # one row per replication, in replication order
    events: pa.Table  # every replication's event log
    representative: SimResult  # re-run with a trace for the map
    wall_s: float
    steps: int
    workers: int

    def column(self, name: str) -> np.ndarray:
        return self.outcomes.column(name).to_numpy(zero_copy_only=False).astype(float)

    def summary(self) -> dict[str, dict[str, float]]:
        return summarise(self.outcomes)

    def coverage(self, **kw: Any) -> Any:
        """Coverage maps of the scenario's sites (``sim/coverage.py``); the report draws them
        through this method, so ``outcome`` needs no import of the simulator."""
        from bastion.sim.coverage import coverage_maps

        return coverage_maps(self.scenario, **kw)

    def provenance(self) -> dict[str, Any]:
        return {"bastion_version": __version__, "scenario": self.scenario.name,
                "scenario_sha256": self.scenario_hash, "seed": self.seed, "runs": self.runs,
                "workers": self.workers, "events_schema_version": "1"}


def summarise(outcomes: pa.Table) -> dict[str, dict[str, float]]:
    """Mean, Monte Carlo standard error and 5th/95th percentiles of every outcome column."""
    out: dict[str, dict[str, float]] = {}
    for name in outcomes.column_names:
        if name == "replication":
            continue
        v = outcomes.column(name).to_numpy(zero_copy_only=False).astype(float)
        v = v[np.isfinite(v)]
        n = v.size
        if n == 0:
            out[name] = {"mean": math.nan, "se": math.nan, "p05": math.nan, "p95": math.nan,
                         "n": 0}
            continue
        out[name] = {
            "mean": float(v.mean()),
            "se": float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan,
            "p05": float(np.percentile(v, 5)),
            "p95": float(np.percentile(v, 95)),
            "n": int(n),
        }
        if not v.any():
            # Never seen is not "never happens": a zero mean ± 0 from 30 runs reads as a
            # certainty. What the runs do show is an upper bound on how often it happens.
            out[name]["p_nonzero_upper95"] = zero_event_upper95(n)
    return out



def _block(args: tuple[Scenario, list[int], int]
           ) -> list[tuple[int, dict[str, float], pa.Table, int]]:
    sc, reps, seed = args
    return [(r.replication, r.outcome, r.events, r.steps)
            for r in simulate_block(sc, reps, seed=seed)]


def blocks(reps: range, workers: int) -> list[list[int]]:
    """Split replications into lock-step blocks of at most ``BLOCK``, as equal as possible and
    a multiple of ``workers`` in number (so 200 on 2 workers run as 4 × 50, not 3 × 64 + 8,
    which leaves one worker idle for a whole block). A replication's result does not depend
    on its block, so this split only changes the speed (bigger blocks share more of each
    tick's cost)."""
    n = len(reps)
    if n == 0:
        return []
    k = math.ceil(n / BLOCK)
    k = min(n, math.ceil(k / workers) * workers)
    size, extra = divmod(n, k)
    out, i = [], 0
    for j in range(k):
        m = size + (j < extra)
        out.append(list(reps[i:i + m]))
        i += m
    return out


def monte_carlo(scenario: Scenario | str, runs: int = 100, *, seed: int | None = None,
                workers: int = 1, progress: Callable[[int], None] | None = None,
                first_replication: int = 0, scheduler: str | None = None,
                executor: Executor | None = None) -> MonteCarloResult:
    """Run ``runs`` replications; ``progress(k)`` is called as each block of k finishes.

    They run in this process (``workers=1``), on ``workers`` local processes, on the Dask
    cluster at ``scheduler`` (``tcp://HOST:PORT``), or on a given ``executor``; the results
    are the same bit for bit whichever it is.
    """
    sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
    if runs < 1:
        raise ValueError("runs must be at least 1")
    if workers < 1:
        raise ValueError("workers must be at least 1")
    seed = sc.seed if seed is None else int(seed)
    reps = range(first_replication, first_replication + runs)
    t0 = time.perf_counter()
    results: dict[int, tuple[dict[str, float], pa.Table, int]] = {}
    traced: SimResult | None = None
    if runs == 1:
        # One replication is its own representative: record its trace now rather than
        # simulate it a second time for the map, and skip starting a pool or a cluster.
        traced = simulate(sc, reps[0], seed=seed, record=True)
        results[reps[0]] = (traced.outcome, traced.events, traced.steps)
        workers = 1
        if progress:
            progress(1)
    else:
        own = executor is None
        ex = Executor(workers, scheduler=scheduler) if executor is None else executor
        try:
            jobs = [(sc, b, seed) for b in blocks(reps, ex.workers)]
            for out in ex.run(_block, jobs):
                for rep, row, ev, st in out:
                    results[rep] = (row, ev, st)
                if progress:
                    progress(len(out))
        finally:
            if own:
                ex.close()
        workers = ex.workers
    wall = time.perf_counter() - t0
    rows = [results[r][0] for r in reps]
    cols = sorted({k for row in rows for k in row})
    table = pa.table({"replication": pa.array(list(reps), pa.int32()),
                      **{c: pa.array([row.get(c, math.nan) for row in rows], pa.float64())
                         for c in cols}})
    events = pa.concat_tables([results[r][1] for r in reps])
    # With more than one, the representative is known only once all are in: it is simulated
    # again with a trace (one replication more, 1/runs of the work).
    rep_run = traced or simulate(sc, representative_replication(table), seed=seed,
                                 record=True)
    return MonteCarloResult(sc, scenario_hash(sc), seed, runs, table, events, rep_run, wall,
                            sum(results[r][2] for r in reps), workers)


def representative_replication(outcomes: pa.Table) -> int:
    """The replication whose headline outcomes sit closest to the means (scaled by spread)."""
    names = [n for n in HEADLINE if n in outcomes.column_names]
    m = np.column_stack([outcomes.column(n).to_numpy(zero_copy_only=False).astype(float)
                         for n in names])
    m = np.nan_to_num(m)
    sd = m.std(axis=0)
    sd[sd == 0] = 1.0
    d = np.sum(((m - m.mean(axis=0)) / sd) ** 2, axis=1)
    return int(outcomes.column("replication")[int(np.argmin(d))].as_py())


def from_session(folder: Any) -> MonteCarloResult:
    """A live session folder (``live/session.py``) as a one-replication result, so the
    report code reads a live session exactly as a simulated run (its outcome figures come
    from the same event log; there is no truth, so no trace for the map)."""
    from bastion.live.session import read_session
    from bastion.outcome.metrics import outcome_row

    s = read_session(folder)
    sc, ev = s.scenario, s.events
    row = outcome_row(ev, sc)
    cols = sorted(row)
    table = pa.table({"replication": pa.array([0], pa.int32()),
                      **{c: pa.array([row[c]], pa.float64()) for c in cols}})
    prov = s.provenance
    t_end = float(prov.get("t_end_s", 0.0))
    rep = SimResult(sc.name, 0, sc.seed, row, ev, int(s.summary.get("counters", {})
                                                       .get("steps", 0)), t_end)
    return MonteCarloResult(sc, scenario_hash(sc), sc.seed, 1, table, ev, rep, t_end or 1.0,
                            rep.steps, 1)
