"""What a run will cost, before it starts: objects, steps, memory (``bastion scenarios check``).

Rough on purpose — within a factor of two is enough to tell "runs on a laptop" from "needs
a cluster" — and calibrated on ``bench/pipeline.py`` (figures in ``bench/README.md``): a
worker process costs about ``_BASE_MIB`` once imported and compiled, plus ``_KIB_PER_OBJECT``
per simulated object and replication in its lock-step block; the event log every report is
derived from costs about ``_EVENT_KIB_PER_DRONE`` per drone and replication, kept for every
replication of the call.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from bastion.scenario.schema import Radar, Scenario
from bastion.sim.engine import BLOCK

__all__ = ["Estimate", "estimate"]

_BASE_MIB = 300.0  # measured: peak RSS of a worker on khmeimim-2018 (29 objects) is 311 MiB
_KIB_PER_OBJECT = 8.0  # per object-replication; bench/pipeline.py --scale measured 6.8 (20,000
# drones) to 16.6 KiB (1,000 drones, where the fixed part dominates) of peak-memory growth
_EVENT_KIB_PER_DRONE = 1.5  # measured: khmeimim-2018 logs 16.8 KB per replication, 13 drones
_MIN_TICK_S = 0.25  # the engine never ticks faster (sim/engine.py)


@dataclass
class Estimate:
    objects: int
    tick_s: float
    steps_max: int
    block: int
    memory_mib_per_worker: float
    result_mib: float
    warnings: list[str] = field(default_factory=list)


def _total_memory_mib() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def estimate(sc: Scenario, runs: int) -> Estimate:
    counts = sc.object_counts()
    objects = sum(counts.values())
    periods = [s.scan_period_s for s in sc.sensors if isinstance(s, Radar)]
    tick = max(min([*periods, sc.doctrine.decision_period_s]), _MIN_TICK_S)
    steps = math.ceil(sc.duration_s / tick)
    block = min(BLOCK, runs)
    mem = _BASE_MIB + objects * block * _KIB_PER_OBJECT / 1024
    results = runs * (counts["drones"] + 1) * _EVENT_KIB_PER_DRONE / 1024
    warn = []
    total = _total_memory_mib()
    if total is not None and mem > 0.5 * total:
        warn.append(f"a worker may need {mem:,.0f} MiB of this machine's {total:,.0f} MiB: "
                    "run with --workers 1, or fewer objects")
    if total is not None and results > 0.5 * total:
        warn.append(f"{runs:,} replications keep about {results:,.0f} MiB of event logs: "
                    "use fewer --runs per call")
    if steps > 1_000_000:
        warn.append(f"up to {steps:,} steps per replication: a long duration_s at a short "
                    "scan or decision period")
    return Estimate(objects, tick, steps, block, mem, results, warn)
