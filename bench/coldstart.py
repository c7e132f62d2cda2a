"""Cold start: what a fresh install pays before its first result.

Each step runs the real command in a subprocess with its own, empty kernel cache
(``BASTION_NUMBA_CACHE_BASE`` in a temporary folder), as on a new machine:

1. ``bastion run khmeimim-2018 --runs 1`` with no compiled kernels (first run, no warm-up);
2. the same again (kernels cached by step 1);
3. with a fresh cache: ``bastion warmup``, then the first ``bastion run ... --runs 1``;
4. ``bastion run khmeimim-2018 --runs 1000`` (warm), wall time.

    python bench/coldstart.py [--big-runs 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--big-runs", type=int, default=1000)
    a = ap.parse_args()
    exe = [sys.executable, "-m", "bastion"]
    tmp = Path(tempfile.mkdtemp(prefix="bastion-coldstart-"))
    try:
        env = dict(os.environ, BASTION_NUMBA_CACHE_BASE=str(tmp / "cache1"))
        one = [*exe, "run", "khmeimim-2018", "--runs", "1", "--out", str(tmp / "o")]
        print(f"bastion cold start — {os.cpu_count()} cores")
        print(f"1. first run, nothing compiled:      {_timed(one, env):6.1f} s")
        print(f"2. second run (kernels cached):      {_timed(one, env):6.1f} s")
        env2 = dict(os.environ, BASTION_NUMBA_CACHE_BASE=str(tmp / "cache2"))
        w = _timed([*exe, "warmup"], env2)
        print(f"3. bastion warmup on a fresh cache:  {w:6.1f} s")
        print(f"   then the first run:               {_timed(one, env2):6.1f} s")
        big = [*exe, "run", "khmeimim-2018", "--runs", str(a.big_runs), "--out",
               str(tmp / "big")]
        print(f"4. --runs {a.big_runs} (warm):{'':16s}{_timed(big, env2):6.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
