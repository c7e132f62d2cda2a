"""Pipeline throughput: replications/s, steps/replication, µs per in-coverage step, peak memory.

Cases: the built-in ``khmeimim-2018`` and a 1,000-drone raid (khmeimim-2018's geometry with
the raids scaled up), each run in a fresh process so peak memory is its own. BLAS is pinned
to one thread. "1 core" runs lock-step blocks of ``BLOCK`` replications in one process, as a
single worker does; "all cores" is ``monte_carlo`` through the normal process pool (its
replications; the call also re-runs one replication with a trace for the report map, a few
seconds more, recorded separately in the JSON). µs/step is wall time per
replication-step (a block's tick counts once per replication stepped).

    python bench/pipeline.py            # full
    python bench/pipeline.py --quick    # fewer replications
    python bench/pipeline.py --vs ../old/src   # also run another checkout's sources,
                                               # interleaved, and print the throughput ratio
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402


def _swarm(n: int):
    from bastion.scenario import load_scenario, with_overrides

    sc = load_scenario("khmeimim-2018")
    k = round(n * 10 / 13)
    return with_overrides(sc, {"raids.khmeimim-raid.count": k,
                               "raids.tartus-raid.count": n - k,
                               "name": f"khmeimim-2018-x{n}"})


def _case(name: str, runs: int, workers: int, q: mp.Queue) -> None:
    from bastion.scenario import load_scenario
    from bastion.sim.engine import BLOCK, simulate_block
    from bastion.sim.montecarlo import monte_carlo

    sc = load_scenario(name) if not name.startswith("swarm") else _swarm(int(name[5:]))
    simulate_block(sc, [10_000])  # warm-up: imports, caches
    # one core: lock-step blocks of BLOCK replications, as a single worker runs them
    t0 = time.perf_counter()
    steps = 0
    sim_s = 0.0
    for start in range(0, runs, BLOCK):
        for res in simulate_block(sc, list(range(start, min(runs, start + BLOCK)))):
            steps += res.steps
            sim_s += res.t_end_s
    wall = time.perf_counter() - t0
    out = {"case": sc.name, "runs": runs, "block": min(BLOCK, runs), "wall_s": wall,
           "reps_per_s_1core": runs / wall, "steps_per_rep": steps / runs,
           "us_per_step": 1e6 * wall / max(steps, 1),
           "sim_time_per_wall_time": sim_s / wall,
           "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if workers > 1:
        t0 = time.perf_counter()
        mc = monte_carlo(sc, runs * workers, workers=workers)
        out["reps_per_s_all_cores"] = runs * workers / mc.wall_s
        out["monte_carlo_call_s"] = time.perf_counter() - t0  # + traced re-run of one
        out["workers"] = workers
    q.put(out)


def run(name: str, runs: int, workers: int, src: str = "") -> dict:
    """One case in a fresh process; ``src``: import bastion from that source tree instead."""
    if src:
        import subprocess
        import sys

        env = dict(os.environ, PYTHONPATH=src)
        out = subprocess.run([sys.executable, __file__, "--case", name, "--runs", str(runs),
                              "--workers", str(workers)], env=env, capture_output=True,
                             text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_case, args=(name, runs, workers, q))
    p.start()
    res = q.get()
    p.join()
    return res


def versus(other_src: str, quick: bool) -> None:
    """This checkout against ``other_src``, case by case, interleaved (A B A B), best of
    two each: replications/s on one core and the ratio this / other."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    cases = [("khmeimim-2018", 32 if quick else 64), ("khmeimim-2025", 32 if quick else 64),
             ("swarm1000", 1)]
    print(f"{'case':24s} {'this reps/s':>11s} {'other reps/s':>12s} {'ratio':>6s}")
    for name, runs in cases:
        a, b = [], []
        for _ in range(2):
            a.append(run(name, runs, 1, here)["reps_per_s_1core"])
            b.append(run(name, runs, 1, other_src)["reps_per_s_1core"])
        print(f"{name:24s} {max(a):11.2f} {max(b):12.2f} {max(a) / max(b):6.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=str, default="")
    ap.add_argument("--vs", type=str, default="", help="another checkout's src/ to compare")
    ap.add_argument("--case", type=str, default="", help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case:  # one case in this process (run() with another source tree)
        print(json.dumps(run(a.case, a.runs, a.workers)))
        return
    if a.vs:
        versus(a.vs, a.quick)
        return
    cores = os.cpu_count() or 1
    print(f"bastion pipeline bench — {cores} cores, BLAS pinned to 1 thread")
    results = [run("khmeimim-2018", 32 if a.quick else 64, cores),
               run("swarm1000", 1, 1)]
    hdr = (f"{'case':24s} {'reps/s 1 core':>13s} {'reps/s all':>10s} {'steps/rep':>9s} "
           f"{'µs/step':>8s} {'sim s/wall s':>12s} {'peak MiB':>9s}")
    print(hdr)
    for r in results:
        print(f"{r['case']:24s} {r['reps_per_s_1core']:13.2f} "
              f"{r.get('reps_per_s_all_cores', float('nan')):10.2f} {r['steps_per_rep']:9.0f} "
              f"{r['us_per_step']:8.0f} {r['sim_time_per_wall_time']:12.1f} "
              f"{r['peak_rss_mib']:9.0f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cores": cores, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
