"""bastion — counter-drone site-defence analysis.

Public API (the CLI and the service wrap exactly these):

* :func:`load_scenario` — a built-in name or a YAML path to a validated :class:`Scenario`.
* :func:`simulate` — one replication: an event log and its outcome.
* :func:`monte_carlo` — many seeded replications, in parallel, paired across variants.
* :func:`report` — the HTML report and ``summary.json`` of a Monte Carlo result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bastion._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from bastion.outcome.report import report
    from bastion.scenario import Scenario, load_scenario
    from bastion.sim.engine import simulate
    from bastion.sim.montecarlo import monte_carlo

__all__ = ["Scenario", "__version__", "load_scenario", "monte_carlo", "report", "simulate"]

_LAZY = {
    "Scenario": "bastion.scenario",
    "load_scenario": "bastion.scenario",
    "simulate": "bastion.sim.engine",
    "monte_carlo": "bastion.sim.montecarlo",
    "report": "bastion.outcome.report",
}


def __getattr__(name: str) -> Any:
    # Lazy imports keep `import bastion` cheap for worker processes and the CLI's --help.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bastion' has no attribute {name!r}")
