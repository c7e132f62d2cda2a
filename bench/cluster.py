"""Dask cluster vs local processes: the same replications, bit-identical, and the overhead.

A 2-worker ``LocalCluster`` on loopback (one thread per worker, as ``dask worker --nthreads
1``) against ``monte_carlo(..., workers=2)`` on local processes, same seed. Each side warms
its kernels first (the cluster's plugin does it when workers join; the local side gets a
warm-up run), so the figure is the steady-state overhead of scheduling and moving results.

    python bench/cluster.py               # 10,000 replications of khmeimim-2018
    python bench/cluster.py --runs 1000   # quicker
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import time  # noqa: E402

import pyarrow as pa  # noqa: E402


def _digest(t: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, t.schema) as w:
        w.write_table(t)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--scenario", default="khmeimim-2018")
    a = ap.parse_args()

    from distributed import Client, LocalCluster

    from bastion.scenario import load_scenario
    from bastion.sim.executor import Executor
    from bastion.sim.montecarlo import monte_carlo

    sc = load_scenario(a.scenario)
    print(f"bastion cluster bench — {os.cpu_count()} cores, {a.runs:,} replications of "
          f"{sc.name}")
    monte_carlo(sc, 4, workers=2)  # warm the local side (pool start-up paid per call anyway)
    t0 = time.perf_counter()
    local = monte_carlo(sc, a.runs, workers=2)
    t_local = time.perf_counter() - t0
    print(f"local processes (2): {t_local:8.1f} s  {a.runs / t_local:6.1f} reps/s")

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        t0 = time.perf_counter()
        ex = Executor(client=client)  # registers the warm-up plugin: workers compile/load
        t_warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        remote = monte_carlo(sc, a.runs, executor=ex)
        t_dask = time.perf_counter() - t0
    print(f"dask LocalCluster (2): {t_dask:6.1f} s  {a.runs / t_dask:6.1f} reps/s "
          f"(+ {t_warm:.1f} s warm-up once per worker)")
    same_out = _digest(local.outcomes) == _digest(remote.outcomes)
    same_ev = _digest(local.events) == _digest(remote.events)
    print(f"outcomes identical: {same_out}; events identical: {same_ev}")
    print(f"cluster / local wall time: {t_dask / t_local:.3f}")


if __name__ == "__main__":
    main()
