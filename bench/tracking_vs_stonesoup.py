"""bastion's tracker against Stone Soup on identical detections: accuracy and speed.

    python bench/tracking_vs_stonesoup.py            # full run (20 seeds per case)
    python bench/tracking_vs_stonesoup.py --quick    # 3 seeds, shorter runs, smoke check

Cases: 20 and 50 targets with as many clutter points per scan, flying straight or with half
of them turning (10–20 °/s), with Cartesian noise (σ = 5 m per axis) or polar reports from a
radar 10–20 km away (σ_r = 10 m, σ_az = σ_el = 2 mrad, i.e. ~30 m cross-range), converted to
ENU with ``bastion.tracking.polar_to_enu`` and given, converted, to both trackers. Then
bastion alone at 1,000 targets / 200 clutter and 10,000 targets / 2,000 clutter.

Stone Soup's configuration is written once (``stonesoup_tracker``) and matched to bastion's
defaults: the same CV process noise as bastion's CV model, the same chi-square gate, a
3-update confirmation with deletion after 2 missed scans for tentative tracks, deletion after
5 missed scans for confirmed ones, the same initial velocity uncertainty. Nothing is tuned per
case on either side. bastion runs on ``TrackerConfig()`` (IMM, the defaults) and, for
reference, with ``TrackerConfig(imm=False)`` (its CV filter alone).

Figures: GOSPA (position only, c = 100 m, p = 1, α = 2) per scan over confirmed tracks, averaged
over scans and then over seeds with a 95 % confidence interval (Student t); split into
localisation, missed and false parts; id switches per run; mean time to confirm a target (s,
first scan a confirmed track is GOSPA-assigned to it; all targets exist from t = 0); ms per
scan of the tracker alone (detection objects for Stone Soup are built outside the timed
region). Runs are spread over worker processes, one per core: each tracker is timed on one
core, but with other work on the machine the absolute times move; the speed-up is a ratio of
figures measured in the same processes.
"""

from __future__ import annotations

import os

# One BLAS thread, set before NumPy loads: figures are per core.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from bastion.outcome.gospa import gospa  # noqa: E402
from bastion.outcome.track_metrics import id_switches, time_to_confirm  # noqa: E402
from bastion.tracking import Tracker, TrackerConfig, polar_to_enu  # noqa: E402

GOSPA_C_M = 100.0
GOSPA_P = 1.0
SCAN_PERIOD_S = 1.0
P_DETECTION = 0.9
SIGMA_CART_M = 5.0
SIGMA_RANGE_M = 10.0
SIGMA_ANGLE_RAD = 2e-3


@dataclass(frozen=True)
class Case:
    name: str
    n_targets: int
    n_clutter: int
    manoeuvring: bool
    polar: bool
    stonesoup: bool = True


@dataclass
class Scan:
    t_s: float
    z: np.ndarray  # (m, 3)
    R: np.ndarray  # (m, 3, 3)
    truth: np.ndarray  # (n, 3)
    truth_id: np.ndarray  # (n,)


# ----------------------------------------------------------------------------- scenario
def simulate(case: Case, seed: int, n_scans: int) -> list[Scan]:
    """Targets at constant speed (25–50 m/s) and altitude (50–300 m) in a square whose side
    grows with √n (constant density); in manoeuvring cases half of them alternate straight legs
    (3–10 s) and coordinated turns (10–20 °/s, 5–15 s). Clutter uniform over the square."""
    rng = np.random.default_rng(seed)
    n = case.n_targets
    half_side_m = 2000.0 * math.sqrt(n / 20.0)
    pos = np.column_stack([
        rng.uniform(-half_side_m, half_side_m, (n, 2)), rng.uniform(50, 300, n)
    ])
    speed = rng.uniform(25, 50, n)
    heading = rng.uniform(0, 2 * np.pi, n)
    turner = np.zeros(n, bool)
    if case.manoeuvring:
        turner[rng.permutation(n)[: n // 2]] = True
    turn_rate = np.zeros(n)
    phase_left = rng.uniform(0, 10, n)  # time left in the current leg
    turning = np.zeros(n, bool)
    sensor = np.array([0.0, -half_side_m - 12000.0, 0.0])
    sub = 10  # integration sub-steps per scan
    scans = []
    for k in range(n_scans):
        for _ in range(sub):
            dt = SCAN_PERIOD_S / sub
            heading += turn_rate * dt
            pos[:, 0] += speed * np.cos(heading) * dt
            pos[:, 1] += speed * np.sin(heading) * dt
            phase_left -= dt
            flip = turner & (phase_left <= 0)
            if flip.any():
                turning[flip] = ~turning[flip]
                nf = int(flip.sum())
                rate = np.radians(rng.uniform(10, 20, nf)) * rng.choice([-1.0, 1.0], nf)
                turn_rate[flip] = np.where(turning[flip], rate, 0.0)
                phase_left[flip] = np.where(
                    turning[flip], rng.uniform(5, 15, nf), rng.uniform(3, 10, nf)
                )
        t = k * SCAN_PERIOD_S
        seen = rng.random(n) < P_DETECTION
        clutter = np.column_stack([
            rng.uniform(-half_side_m - 500, half_side_m + 500, (case.n_clutter, 2)),
            rng.uniform(0, 400, case.n_clutter),
        ])
        pts = np.concatenate([pos[seen], clutter])
        if case.polar:
            d = pts - sensor
            rng_m = np.linalg.norm(d, axis=1)
            az = np.arctan2(d[:, 0], d[:, 1])
            el = np.arcsin(d[:, 2] / rng_m)
            m = len(pts)
            z, R = polar_to_enu(
                sensor,
                rng_m + rng.normal(0, SIGMA_RANGE_M, m),
                az + rng.normal(0, SIGMA_ANGLE_RAD, m),
                el + rng.normal(0, SIGMA_ANGLE_RAD, m),
                SIGMA_RANGE_M, SIGMA_ANGLE_RAD, SIGMA_ANGLE_RAD,
            )
        else:
            z = pts + rng.normal(0, SIGMA_CART_M, pts.shape)
            R = np.broadcast_to(np.eye(3) * SIGMA_CART_M**2, (len(pts), 3, 3)).copy()
        order = rng.permutation(len(z))  # no ordering hint for either tracker
        scans.append(Scan(t, z[order], R[order], pos.copy(), np.arange(n)))
    return scans


# ----------------------------------------------------------------------------- scoring
def score(scans: list[Scan], est_pos: list[np.ndarray], est_id: list[np.ndarray]) -> dict:
    loc = mis = fal = dist = 0.0
    truth_ids, assigned = [], []
    for scan, p, ids in zip(scans, est_pos, est_id, strict=True):
        g = gospa(scan.truth, p, GOSPA_C_M, GOSPA_P)
        dist += g.distance
        loc += g.localisation
        mis += g.missed
        fal += g.false
        truth_ids.append(scan.truth_id)
        a = g.truth_to_estimate
        assigned.append(np.where(a >= 0, ids[np.maximum(a, 0)] if len(ids) else -1, -1))
    k = len(scans)
    ttc = time_to_confirm([s.t_s for s in scans], truth_ids, assigned,
                          {int(i): scans[0].t_s for i in scans[0].truth_id})
    return {
        "gospa": dist / k, "loc": loc / k, "missed": mis / k, "false": fal / k,
        "switches": id_switches(truth_ids, assigned),
        "ttc": float(np.nanmean(list(ttc.values()))) if ttc else float("nan"),
    }


# ----------------------------------------------------------------------------- trackers
def run_bastion(scans: list[Scan], config: TrackerConfig) -> dict:
    trk = Tracker(config, id_base=0)
    est_pos, est_id, elapsed = [], [], 0.0
    for s in scans:
        t0 = time.perf_counter()
        tr = trk.step(s.t_s, s.z, s.R)
        elapsed += time.perf_counter() - t0
        c = tr.confirmed
        est_pos.append(tr.position[c])
        est_id.append(tr.id[c])
    out = score(scans, est_pos, est_id)
    out["ms_per_scan"] = 1e3 * elapsed / len(scans)
    return out


def stonesoup_tracker(detections_iter, cfg: TrackerConfig):
    """Stone Soup's Kalman + GNN tracker, configured once to match bastion's defaults."""
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import KalmanUpdater

    transition = CombinedLinearGaussianTransitionModel([
        ConstantVelocity(cfg.q_cv_m2_s3),
        ConstantVelocity(cfg.q_cv_m2_s3),
        ConstantVelocity(cfg.q_vertical_m2_s3),
    ])
    predictor = KalmanPredictor(transition)
    updater = KalmanUpdater(measurement_model=None)  # each detection carries its model
    # Stone Soup's Mahalanobis measure is the distance, not its square.
    hypothesiser = DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=math.sqrt(cfg.gate_chi2)
    )
    associator = GNNWith2DAssignment(hypothesiser)
    sv, svz = cfg.init_velocity_sigma_m_s, cfg.init_vertical_velocity_sigma_m_s
    prior = GaussianState(np.zeros((6, 1)), np.diag([0.0, sv**2, 0.0, sv**2, 0.0, svz**2]))
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        deleter=UpdateTimeStepsDeleter(cfg.tentative_max_misses),
        data_associator=GNNWith2DAssignment(hypothesiser),
        updater=updater,
        min_points=cfg.confirm_m,
    )
    return MultiTargetTracker(
        initiator=initiator,
        deleter=UpdateTimeStepsDeleter(cfg.confirmed_max_misses),
        detector=detections_iter,
        data_associator=associator,
        updater=updater,
    )


def run_stonesoup(scans: list[Scan], cfg: TrackerConfig) -> dict:
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.types.detection import Detection

    epoch = datetime.datetime(2025, 1, 1)
    feed = []
    shared = None
    for s in scans:
        ts = epoch + datetime.timedelta(seconds=s.t_s)
        dets = set()
        for z, R in zip(s.z, s.R, strict=True):
            if shared is None or not np.array_equal(shared.noise_covar, R):
                shared = LinearGaussian(ndim_state=6, mapping=(0, 2, 4), noise_covar=R)
            dets.add(Detection(z.reshape(3, 1), timestamp=ts, measurement_model=shared))
        feed.append((ts, dets))
    tracker = stonesoup_tracker(iter(feed), cfg)
    it = iter(tracker)
    est_pos, est_id, elapsed = [], [], 0.0
    ids: dict[int, int] = {}
    for _ in scans:
        t0 = time.perf_counter()
        _, tracks = next(it)
        elapsed += time.perf_counter() - t0
        tl = list(tracks)
        p = np.array([tr.state_vector[[0, 2, 4], 0].astype(float) for tr in tl]).reshape(-1, 3)
        est_pos.append(p)
        est_id.append(np.array([ids.setdefault(id(tr), len(ids)) for tr in tl], np.int64))
    out = score(scans, est_pos, est_id)
    out["ms_per_scan"] = 1e3 * elapsed / len(scans)
    return out


# ----------------------------------------------------------------------------- driver
def one_run(args: tuple[Case, int, int]) -> dict:
    case, seed, n_scans = args
    scans = simulate(case, seed, n_scans)
    out = {"bastion": run_bastion(scans, TrackerConfig()),
           "bastion_cv": run_bastion(scans, TrackerConfig(imm=False))}
    if case.stonesoup:
        out["stonesoup"] = run_stonesoup(scans, TrackerConfig())
    return out


def mean_ci(x: list[float]) -> tuple[float, float]:
    a = np.asarray(x, float)
    if a.size < 2:
        return float(a.mean()), float("nan")
    half = stats.t.ppf(0.975, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size)
    return float(a.mean()), float(half)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds, 30 scans, small cases only")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--scans", type=int, default=None)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--only", default="", help="run only cases whose name contains this")
    args = ap.parse_args()
    seeds = args.seeds or (3 if args.quick else 20)
    n_scans = args.scans or (30 if args.quick else 60)

    cases = [
        Case(f"{n}/{n} {'manoeuvring' if man else 'straight'} {'polar' if pol else 'cartesian'}",
             n, n, man, pol)
        for n in (20, 50) for man in (False, True) for pol in (False, True)
    ]
    big = [Case("1000/200 manoeuvring cartesian", 1000, 200, True, False, stonesoup=False),
           Case("10000/2000 manoeuvring cartesian", 10000, 2000, True, False, stonesoup=False)]
    if not args.quick:
        cases += big
    cases = [c for c in cases if args.only in c.name]

    print(f"cores: {os.cpu_count()}  workers: {args.workers}  seeds/case: {seeds}  "
          f"scans/run: {n_scans}  BLAS threads: 1")
    print(f"GOSPA position-only, c = {GOSPA_C_M:g} m, p = {GOSPA_P:g}, alpha = 2; "
          "confirmed tracks only; mean ± 95 % CI over seeds\n")
    header = (f"{'case':34s} {'tracker':11s} {'GOSPA':>15s} {'loc':>7s} {'missed':>7s} "
              f"{'false':>7s} {'id sw':>6s} {'ttc s':>6s} {'ms/scan':>9s}")
    print(header)
    print("-" * len(header))
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for case in cases:
            n_seeds = seeds if case.n_targets <= 1000 else max(2, seeds // 10)
            runs = list(pool.map(one_run, [(case, s, n_scans) for s in range(n_seeds)]))
            names = [k for k in ("stonesoup", "bastion", "bastion_cv") if k in runs[0]]
            for name in names:
                r = [run[name] for run in runs]
                g, gci = mean_ci([x["gospa"] for x in r])
                print(f"{case.name:34s} {name:11s} {g:8.2f} ± {gci:5.2f} "
                      f"{np.mean([x['loc'] for x in r]):7.1f} "
                      f"{np.mean([x['missed'] for x in r]):7.1f} "
                      f"{np.mean([x['false'] for x in r]):7.1f} "
                      f"{np.mean([x['switches'] for x in r]):6.1f} "
                      f"{np.nanmean([x['ttc'] for x in r]):6.2f} "
                      f"{np.mean([x['ms_per_scan'] for x in r]):9.3f}")
            if "stonesoup" in runs[0]:
                ratio_g = np.mean([x["bastion"]["gospa"] / x["stonesoup"]["gospa"] for x in runs])
                speed = np.mean([x["stonesoup"]["ms_per_scan"] for x in runs]) / np.mean(
                    [x["bastion"]["ms_per_scan"] for x in runs])
                print(f"{'':34s} bastion/stonesoup GOSPA {ratio_g:.3f}   speed-up ×{speed:.0f}")
            print()


if __name__ == "__main__":
    main()
