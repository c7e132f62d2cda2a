"""Weapon–target assignment benchmark: published instances and Ahuja-style random ones.

Usage (from the repo root)::

    python bench/wta.py --quick                 # ~1 min: 1 s runs, small exact checks
    python bench/wta.py                         # full (~4 min): 1 s and 60 s runs, exact checks
    python bench/wta.py --data DIR --budgets 1,60 --exact-limit 120
    python bench/wta.py --budgets 60 --mu 2,3 --exact-limit 0 --skip-random   # 60 s, μ = 2, 3
    python bench/wta.py --method local --budgets 1 --skip-random   # another solve() method

Published instances are solved with ``solve(..., time_limit_s=budget, method="auto")``
(``--method``); runs end early once optimality is proven.

Published instances (Andersen, Pavlikov & Toffolo 2022) are read from ``--data`` (default
``<repo root>/../shared/reference/wta``) and skipped with a message when absent. Every
objective is recomputed here from the instance's p and values; relative differences under
1e-5 are ties (published bounds come from a δ-approximation and can sit a hair off).
"""

from __future__ import annotations

import os

# One BLAS thread before NumPy loads: figures are per core.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import gzip  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bastion.respond.assign import METHODS, Method, solve  # noqa: E402
from bastion.respond.assign.lagrangian import lagrangian_bound  # noqa: E402
from bastion.respond.assign.problem import make_problem  # noqa: E402

TIE = 1e-5
REPO = Path(__file__).resolve().parents[1]


def load_instance(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    with gzip.open(path, "rt") as f:
        w, t, mu = (int(s) for s in f.readline().split())
        value = np.array([float(f.readline()) for _ in range(t)])
        data = np.loadtxt(f, ndmin=2)
    p = np.zeros((w, t))
    p[data[:, 0].astype(int), data[:, 1].astype(int)] = data[:, 2]
    return p, value, mu


def exact_objective(p: np.ndarray, value: np.ndarray, shots: np.ndarray) -> float:
    return float(value @ np.prod((1.0 - p) ** shots, axis=0))


def rel(a: float, b: float) -> float:
    return (a - b) / abs(b)


def published(args: argparse.Namespace) -> None:
    data = Path(args.data)
    best_csv = data / "best_known.csv"
    if not best_csv.exists():
        print(f"[skip] published instances: {best_csv} not found (pass --data DIR)")
        return
    with best_csv.open() as f:
        best = {r["instance"]: r for r in csv.DictReader(f)}
    budgets = [float(b) for b in args.budgets.split(",")]
    print("\n## Published instances (gap = (ours − best known UB) / best known UB)")
    print(
        f"{'instance':16} {'budget':>6} {'method':>6} {'objective':>14} {'best UB':>14} "
        f"{'gap %':>8} {'our LB':>14} {'pub LB':>14} {'time s':>7}"
    )
    # Per instance: best objective (and the smallest budget reaching it), best lower bound.
    beats: dict[str, tuple[float, float, float]] = {}
    tighter: dict[str, tuple[float, float]] = {}
    for name, row in best.items():
        path = data / f"{name}.txt.gz"
        if not path.exists():
            print(f"{name:16} [skip] {path.name} not in {data}")
            continue
        if args.quick and int(row["weapons"]) > 100:
            continue
        if args.mu and int(row["availability"]) not in args.mu:
            continue
        p, value, mu = load_instance(path)
        ub, lb_pub = float(row["best_upper_bound"]), float(row["best_lower_bound"])
        for budget in budgets:
            a = solve(p, value, capacity=mu, time_limit_s=budget, method=args.method)
            obj = exact_objective(p, value, a.shots)
            lb = a.lower_bound
            print(
                f"{name:16} {budget:6g} {a.method:>6} {obj:14.6f} {ub:14.6f} "
                f"{100 * rel(obj, ub):8.4f} {lb if lb is not None else float('nan'):14.6f} "
                f"{lb_pub:14.6f} {a.time_s:7.2f}",
                flush=True,
            )
            if rel(obj, ub) < -TIE:
                if name not in beats or obj < beats[name][0] - TIE * abs(obj):
                    beats[name] = (obj, ub, budget)
            if lb is not None and rel(lb, lb_pub) > TIE:
                tighter[name] = max(tighter.get(name, (lb, lb_pub)), (lb, lb_pub))
    print("\nBeats the best known upper bound (beyond 1e-5, recomputed objective):")
    if not beats:
        print("  none")
    for name, (obj, ub, budget) in beats.items():
        print(f"  {name}: {obj:.6f} < {ub:.6f} ({100 * rel(obj, ub):+.4f} %, from {budget:g} s)")
    print("Lower bound tighter than the best published one (beyond 1e-5):")
    if not tighter:
        print("  none")
    for name, (lb, lb_pub) in tighter.items():
        print(f"  {name}: {lb:.6f} > {lb_pub:.6f} ({100 * rel(lb, lb_pub):+.4f} %)")
    if args.exact_limit > 0:
        print(f"\n## Exact method on 50×100 (limit {args.exact_limit:g} s)")
        for mu in (1, 2, 3):
            name = f"wta_50x100x{mu}"
            path = data / f"{name}.txt.gz"
            if not path.exists():
                print(f"{name} [skip] absent")
                continue
            p, value, mu_ = load_instance(path)
            a = solve(p, value, capacity=mu_, method="exact", time_limit_s=args.exact_limit)
            print(
                f"{name}: objective {a.objective:.6f} LB {a.lower_bound:.6f} "
                f"optimal={a.optimal} time {a.time_s:.1f} s "
                f"(best known UB {best[name]['best_upper_bound']}, "
                f"LB {best[name]['best_lower_bound']})",
                flush=True,
            )


def random_instances(args: argparse.Namespace) -> None:
    print("\n## Random Ahuja-style instances (V ~ U[25, 100], p ~ U[0.6, 0.9], μ = 1, seeded)")
    sizes = [10, 20, 50] if args.quick else [10, 20, 50, 100, 200, 500, 1000]
    exact_max = 20 if args.quick else 100
    print(
        "gap % = (objective − best lower bound bastion found for the instance) / objective; "
        "'own LB' is the run's own bound"
    )
    print(
        f"{'W×T':>10} {'method':>7} {'budget':>6} {'objective':>12} {'own LB':>12} "
        f"{'gap %':>7} {'optimal':>7} {'time s':>7}"
    )
    for n in sizes + ([1000] if args.quick else []):
        rng = np.random.default_rng(1000 + n)
        p = rng.uniform(0.6, 0.9, (n, n))
        value = rng.uniform(25, 100, n)
        runs: list[tuple[Method, float | None]] = [
            ("greedy", None),
            ("local", 1.0),
            ("auto", 1.0),
        ]
        if n <= exact_max and args.exact_limit > 0:
            runs.append(("exact", args.exact_limit))
        results = [(m, tl, solve(p, value, method=m, time_limit_s=tl)) for m, tl in runs]
        bounds = [r.lower_bound for _, _, r in results if r.lower_bound is not None]
        notes = []
        if not any(r.optimal for _, _, r in results) and n >= 200:
            # Reference bounds, computed after (and outside) the timed runs.
            prob = make_problem(p, value)
            t0 = time.perf_counter()
            local_shots = results[1][2].shots
            bounds.append(lagrangian_bound(prob, prob.log_q(), local_shots))
            took = time.perf_counter() - t0
            notes.append(f"closed-form Lagrangian bound {bounds[-1]:.4f} ({took:.1f} s)")
            if args.exact_limit > 0:
                ref = solve(p, value, method="auto", time_limit_s=args.exact_limit)
                if ref.lower_bound is not None:
                    bounds.append(ref.lower_bound)
                notes.append(
                    f"auto {args.exact_limit:g} s: {ref.objective:.4f}, bound "
                    f"{ref.lower_bound if ref.lower_bound is not None else float('nan'):.4f}, "
                    f"optimal={ref.optimal} ({ref.time_s:.1f} s)"
                )
        lb = max(bounds) if bounds else None
        for method, tl, a in results:
            gap = 100 * (a.objective - lb) / a.objective if lb is not None else float("nan")
            own = a.lower_bound if a.lower_bound is not None else float("nan")
            budget = "-" if tl is None else f"{tl:g}"
            print(
                f"{n:>4}×{n:<5} {method:>7} {budget:>6} {a.objective:12.4f} {own:12.4f} "
                f"{gap:7.3f} {a.optimal!s:>7} {a.time_s:7.3f}",
                flush=True,
            )
        for note in notes:
            print(f"{'':>11} {note}")
        if args.quick and n == 1000:
            break


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "reference" / "wta"))
    ap.add_argument("--quick", action="store_true", help="small instances, 1 s budget only")
    ap.add_argument("--budgets", default=None, help="comma-separated budgets in s (1,60)")
    ap.add_argument("--exact-limit", type=float, default=None, help="exact-method limit (s)")
    ap.add_argument(
        "--mu",
        type=lambda s: {int(m) for m in s.split(",")},
        default=None,
        help="only published instances with these availabilities (e.g. 2,3)",
    )
    ap.add_argument(
        "--method",
        default="auto",
        choices=METHODS,
        help="solve() method for the published instances (default auto)",
    )
    ap.add_argument("--skip-published", action="store_true")
    ap.add_argument("--skip-random", action="store_true")
    args = ap.parse_args()
    if args.budgets is None:
        args.budgets = "1" if args.quick else "1,60"
    if args.exact_limit is None:
        args.exact_limit = 20.0 if args.quick else 120.0
    print(f"cores: {os.cpu_count()} (solvers single-threaded: BLAS pinned, HiGHS threads=1)")
    if not args.skip_published:
        published(args)
    if not args.skip_random:
        random_instances(args)


if __name__ == "__main__":
    main()
