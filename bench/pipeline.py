"""Pipeline throughput: replications/s, steps/replication, µs per in-coverage step, peak memory;
and how one replication scales with the raid size.

Cases: the built-in ``khmeimim-2018`` and a 1,000-drone raid (khmeimim-2018's geometry with
the raids scaled up), each run in a fresh process so peak memory is its own. BLAS is pinned
to one thread. "1 core" runs lock-step blocks of ``BLOCK`` replications in one process, as a
single worker does; "all cores" is ``monte_carlo`` through the normal process pool (its
replications; the call also re-runs one replication with a trace for the report map, a few
seconds more, recorded separately in the JSON). µs/step is wall time per
replication-step (a block's tick counts once per replication stepped).

Scaling: raids of 1,000, 5,000 and 20,000 drones (same geometry), one replication each, each
in a fresh process warmed up on khmeimim-2018 (kernels loaded, not the raid run twice): wall
time, time per drone, peak RSS and the peak's growth over the warmed-up process per drone,
the tracker's GNN fallback count (clusters too large to solve exactly), and the growth ratio
from 1,000 to 20,000 drones (goal: at most 25× the time for 20× the drones). A case that
exceeds ``--timeout`` seconds is stopped and reported as such.

    python bench/pipeline.py            # full: throughput, then scaling
    python bench/pipeline.py --quick    # fewer replications; scaling to 5,000 drones only
    python bench/pipeline.py --scale    # scaling only
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


def _scale_case(n: int, q: mp.Queue) -> None:
    import bastion.sim.picture as picture
    from bastion.scenario import load_scenario
    from bastion.sim.engine import simulate_block

    made = []

    class _Tracker(picture.Tracker):  # the block's tracker, to read its stats afterwards
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    picture.Tracker = _Tracker
    simulate_block(load_scenario("khmeimim-2018"), [10_000])  # warm-up: imports, kernels
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sc = _swarm(n)
    t0 = time.perf_counter()
    res = simulate_block(sc, [0])[0]
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    st = made[-1].stats
    q.put({"case": sc.name, "drones": n, "wall_s": wall, "ms_per_drone": 1e3 * wall / n,
           "steps": res.steps, "sim_time_per_wall_time": res.t_end_s / wall,
           "peak_rss_mib": rss, "warm_rss_mib": rss0,
           "kib_per_drone": 1024 * rss / n, "growth_kib_per_drone": 1024 * (rss - rss0) / n,
           "gnn_fallback": st.get("gnn_fallback", 0),
           "gnn_fallback_tracks": st.get("gnn_fallback_tracks", 0),
           "leaked": res.outcome["leaked"], "detected": res.outcome["detected"]})


def scaling(sizes: list[int], timeout_s: float) -> list[dict]:
    """One replication of each raid size, each in a fresh process; prints the table."""
    ctx = mp.get_context("spawn")
    # A first, unreported run of the smallest raid: kernels a small scenario never reaches
    # compile into numba's cache here (after an edit or on a fresh install), not in a case.
    wq = ctx.Queue()
    warm = ctx.Process(target=_scale_case, args=(min(sizes), wq))
    warm.start()
    try:
        wq.get(timeout=timeout_s)
    except Exception:  # queue.Empty: the case below will say so
        warm.kill()
    warm.join()
    out = []
    print(f"{'drones':>7s} {'wall s':>8s} {'ms/drone':>9s} {'steps':>6s} {'peak MiB':>9s} "
          f"{'KiB/drone':>9s} {'growth KiB/drone':>16s} {'GNN fallback':>12s}")
    for n in sizes:
        q = ctx.Queue()
        p = ctx.Process(target=_scale_case, args=(n, q))
        p.start()
        try:
            r = q.get(timeout=timeout_s)
        except Exception:  # queue.Empty: stalled (or died); say so instead of waiting
            p.kill()
            r = {"drones": n, "timeout_s": timeout_s}
            print(f"{n:7d}  stopped after {timeout_s:.0f} s (or failed)", flush=True)
        else:
            print(f"{n:7d} {r['wall_s']:8.1f} {r['ms_per_drone']:9.2f} {r['steps']:6d} "
                  f"{r['peak_rss_mib']:9.0f} {r['kib_per_drone']:9.1f} "
                  f"{r['growth_kib_per_drone']:16.2f} {r['gnn_fallback']:12d}", flush=True)
        p.join()
        out.append(r)
    ok = [r for r in out if "wall_s" in r]
    if len(ok) >= 2 and ok[0]["drones"] != ok[-1]["drones"]:
        a, b = ok[0], ok[-1]
        x = b["drones"] / a["drones"]
        ratio = b["wall_s"] / a["wall_s"]
        print(f"growth {a['drones']:,} -> {b['drones']:,} drones (x{x:.0f}): time x{ratio:.1f}, "
              f"time per drone x{ratio / x:.2f}"
              + (f" (goal: at most x{1.25 * x:.0f}: {'met' if ratio <= 1.25 * x else 'NOT met'})"
                 if x == 20 else ""))
    return out


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
    ap.add_argument("--scale", action="store_true", help="the scaling section only")
    ap.add_argument("--timeout", type=float, default=1800.0,
                    help="seconds before a scaling case is stopped (default 1800)")
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
    sizes = [1000, 5000] if a.quick else [1000, 5000, 20000]
    if a.scale:
        scale = scaling(sizes, a.timeout)
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"cores": cores, "scaling": scale}, f, indent=2)
        return
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
    print("\nscaling: one replication per raid size")
    scale = scaling(sizes, a.timeout)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cores": cores, "results": results, "scaling": scale}, f, indent=2)


if __name__ == "__main__":
    main()
