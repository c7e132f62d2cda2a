"""Compile (first time) or load (afterwards) every numerical kernel, once per process.

Numba compiles a kernel on its first call and caches the machine code on disk (see
``bastion/__init__.py`` for where); a fresh install or a new cluster worker pays that once.
``warmup()`` pays it up front by simulating the built-in scenarios briefly — between them
they call every kernel: radar, passive RF, EO/IR, IFF and perimeter sensors, birds, own
aircraft, intruders, guns, missiles, jamming and spoofing, the recorded trace of the map.
``bastion warmup`` runs it; Dask workers run it when they join.
"""

from __future__ import annotations

import time

__all__ = ["warmup"]


def _dense_paths() -> None:
    """Kernels only a crowded picture reaches (hundreds of confirmed tracks in a block):
    called directly, with the argument types the tracker gives them."""
    import numpy as np

    from bastion.tracking.lifecycle import duplicates

    n = 400
    x = np.zeros((n, 6))
    x[:, 0] = np.arange(n) * 1e4
    P = np.broadcast_to(np.eye(6), (n, 6, 6)).copy()
    duplicates(x, P, np.ones(n, dtype=bool), np.ones(n), 16.0)

_done = False


def warmup(force: bool = False) -> float:
    """Make every kernel ready in this process; return the seconds it took (0 if done)."""
    global _done
    if _done and not force:
        return 0.0
    t0 = time.perf_counter()
    from bastion.scenario import builtin_names, load_scenario, with_overrides
    from bastion.sim.engine import simulate_block

    for k, name in enumerate(builtin_names()):
        sc = load_scenario(name)
        # every kind of object, but few of each: the kernels see the same types either way
        small = with_overrides(sc, {
            **{f"raids.{i}.count": min(r.count, 2) for i, r in enumerate(sc.raids)},
            **{f"birds.{i}.count": min(b.count, 2) for i, b in enumerate(sc.birds)}})
        # two replications in one block: the lock-step paths for B > 1 are compiled too
        simulate_block(small, [0, 1], record=(k == 0))
    _dense_paths()
    _done = True
    return time.perf_counter() - t0
