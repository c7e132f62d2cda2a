"""Greedy vs optimised effector–target assignment on a raid with more threats than ready shots.

A 40-drone variant of ``khmeimim-2018`` (30 toward Khmeimim, 10 toward Tartus), both doctrines
on the same seeds (common random numbers): per-replication differences (optimised − greedy)
of leakers, assets hit, shots and cost, with Student-t 95 % confidence intervals.

    python bench/doctrine_compare.py --runs 40
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402


def main() -> None:
    from bastion.outcome.compare import paired_differences
    from bastion.outcome.metrics import HEADLINE
    from bastion.scenario import load_scenario, with_overrides
    from bastion.sim.montecarlo import monte_carlo

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--drones", type=int, default=40)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", type=str, default="")
    a = ap.parse_args()
    base = load_scenario("khmeimim-2018")
    k = round(a.drones * 0.75)
    common = {"raids.khmeimim-raid.count": k, "raids.tartus-raid.count": a.drones - k,
              "name": f"khmeimim-2018-{a.drones}"}
    greedy = with_overrides(base, {**common, "doctrine.assignment": "greedy"})
    optimal = with_overrides(base, {**common, "doctrine.assignment": "optimal"})
    print(f"doctrine comparison — {os.cpu_count()} cores, {a.runs} paired replications, "
          f"{a.drones} drones")
    t0 = time.perf_counter()
    mg = monte_carlo(greedy, a.runs, workers=a.workers)
    mo = monte_carlo(optimal, a.runs, workers=a.workers)
    rows = paired_differences(mg, mo, [*HEADLINE, "mean_kill_margin_s"])
    print(f"{'outcome':22s} {'greedy':>10s} {'optimised':>10s} {'opt − greedy':>13s} "
          f"{'95 % CI':>24s}")
    for r in rows:
        print(f"{r['outcome']:22s} {r['a_mean']:10.3f} {r['b_mean']:10.3f} "
              f"{r['diff_mean']:+13.3f} [{r['ci95_low']:+10.3f}, {r['ci95_high']:+10.3f}]")
    print(f"wall {time.perf_counter() - t0:.0f} s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"runs": a.runs, "drones": a.drones, "paired": rows}, f, indent=2)


if __name__ == "__main__":
    main()
