"""bastion warmup compiles every kernel a run reaches, so nothing compiles mid-run."""

from __future__ import annotations

import sys

from tests.conftest import small_scenario

from bastion.sim.montecarlo import monte_carlo
from bastion.sim.warmup import warmup


def _signatures() -> dict[str, int]:
    from numba.core.registry import CPUDispatcher

    return {f"{name}.{k}": len(v.signatures) for name, mod in list(sys.modules.items())
            if name.startswith("bastion") for k, v in vars(mod).items()
            if isinstance(v, CPUDispatcher)}


def test_a_run_after_warmup_compiles_nothing_new():
    warmup(force=True)
    before = _signatures()
    # a full lock-step block of the small scenario: hundreds of tracks in one picture, the
    # crowded paths included, and (record) the map trace
    monte_carlo(small_scenario(), 64, workers=1)
    monte_carlo(small_scenario(), 1, workers=1)
    after = _signatures()
    new = {k: (before.get(k, 0), n) for k, n in after.items() if n != before.get(k, 0)}
    assert not new, f"compiled mid-run, not by warmup: {new}"
    assert warmup() == 0.0  # once per process
