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

# Sources whose functions or constants compiled kernels in *other* modules inline: the
# numerics helpers, the random streams, the polar conversion, the world's mode/kind codes.
_INLINED_ACROSS_MODULES = ("core/numerics.py", "core/rng.py", "core/convert.py",
                          "sim/world/air.py")


def _kernel_cache_dir() -> None:
    """Put Numba's on-disk kernel cache in a directory named after the contents of the
    sources other modules' kernels inline.

    Numba keys a cached kernel on its own file's time stamp only, so after an edit to, say,
    ``rng.py`` the sensor kernels that inline its stream functions would go on running the
    old machine code from cache. Keyed this way, such an edit starts a fresh cache (one
    recompile, ~15-35 s) instead. The directory is ``$NUMBA_CACHE_DIR`` if set, else the
    user's cache directory, then ``bastion-numba/<hash>``; if it cannot be created, Numba's
    defaults apply.
    """
    import hashlib
    import os
    import sys
    from pathlib import Path

    root = Path(__file__).parent
    h = hashlib.sha256()
    try:
        for rel in _INLINED_ACROSS_MODULES:
            h.update((root / rel).read_bytes())
    except OSError:  # sources not on disk (e.g. a zip import): nothing to key on
        return
    base = os.environ.get("BASTION_NUMBA_CACHE_BASE") or os.environ.get("NUMBA_CACHE_DIR") or \
        os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"),
                     "bastion-numba")
    path = os.path.join(base, h.hexdigest()[:16])
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return
    # Worker processes import bastion afresh and compute the same directory; the base is
    # passed on so that a child does not nest its directory inside this one.
    os.environ["BASTION_NUMBA_CACHE_BASE"] = base
    os.environ["NUMBA_CACHE_DIR"] = path
    if "numba" in sys.modules:  # already configured from the environment: set it directly
        sys.modules["numba"].config.CACHE_DIR = path


_kernel_cache_dir()

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
