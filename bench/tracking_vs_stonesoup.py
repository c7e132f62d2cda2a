"""bastion's tracker against Stone Soup on identical detections: accuracy and speed.

    python bench/tracking_vs_stonesoup.py            # full run (20 seeds per case)
    python bench/tracking_vs_stonesoup.py --quick    # 3 seeds, shorter runs, smoke check

Cases: 20 and 50 targets with as many clutter points per scan, flying straight or with half
of them turning (10–20 °/s), with Cartesian noise (σ = 5 m per axis) or polar reports from a
radar 10–20 km away (σ_r = 10 m, σ_az = σ_el = 2 mrad, i.e. ~30 m cross-range), converted to
ENU with ``bastion.tracking.polar_to_enu`` and given, converted, to both trackers. Then
bastion alone at 1,000 targets / 200 clutter and 10,000 targets / 2,000 clutter. Last, turn
onset: one target flies straight for 30 s and then turns at 10–20 °/s for 10 s (no clutter);
the figure is the share of runs in which the confirmed track that held the target just before
the turn still holds it at the end: a quiet filter that has settled on a straight line must
not let the target out of its gate when it turns.

Stone Soup's configuration is written once (``stonesoup_tracker``) and matched to bastion's
defaults: the same CV process noise as bastion's CV model, the same chi-square gate, a
3-update confirmation with deletion after 2 missed scans for tentative tracks, deletion after
5 missed scans for confirmed ones, the same initial velocity uncertainty. Nothing is tuned per
case on either side. bastion runs on ``TrackerConfig()`` (IMM: CV, two turns and a quiet
"cruise" CV mode, the defaults). For reference (``--no-reference`` drops them): Stone Soup's
single CV filter with the cruise mode's process noise instead (``ss_quiet``: is one quieter
filter enough?), bastion without the cruise mode (``bastion_3m``, ``q_cruise_m2_s3=0``) and
bastion's CV filter alone (``bastion_cv``, ``imm=False``).

Figures: GOSPA (position only, c = 100 m, p = 1, α = 2) per scan over confirmed tracks, averaged
over scans and then over seeds with a 95 % confidence interval (Student t); split into
localisation, missed and false parts; id switches per run; mean time to confirm a target (s,
first scan a confirmed track is GOSPA-assigned to it; all targets exist from t = 0); ms per
scan of the tracker alone (detection objects for Stone Soup are built outside the timed
region); "0-4" and "5+" split the mean GOSPA into the scans before confirmation is possible for
every target and the rest (their weighted sum is the GOSPA column); ratios are means of
per-seed ratios, paired on the same detections. Runs are spread over worker processes, one per
core: each tracker is timed on one core, but with other work on the machine the absolute times
move; the speed-up is a ratio of figures measured in the same processes.
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
EARLY_SCANS = 5  # scans 0-4: a target needs 3 updates to be confirmed, Pd = 0.9 delays some


def score(scans: list[Scan], est_pos: list[np.ndarray], est_id: list[np.ndarray]) -> dict:
    loc = mis = fal = dist = early = 0.0
    truth_ids, assigned = [], []
    for k, (scan, p, ids) in enumerate(zip(scans, est_pos, est_id, strict=True)):
        g = gospa(scan.truth, p, GOSPA_C_M, GOSPA_P)
        dist += g.distance
        if k < EARLY_SCANS:
            early += g.distance
        loc += g.localisation
        mis += g.missed
        fal += g.false
        truth_ids.append(scan.truth_id)
        a = g.truth_to_estimate
        assigned.append(np.where(a >= 0, ids[np.maximum(a, 0)] if len(ids) else -1, -1))
    k = len(scans)
    ttc = time_to_confirm([s.t_s for s in scans], truth_ids, assigned,
                          {int(i): scans[0].t_s for i in scans[0].truth_id})
    n_early = min(k, EARLY_SCANS)
    return {
        "gospa": dist / k, "loc": loc / k, "missed": mis / k, "false": fal / k,
        "early": early / max(n_early, 1),
        "steady": (dist - early) / (k - n_early) if k > n_early else float("nan"),
        "switches": id_switches(truth_ids, assigned),
        "ttc": float(np.nanmean(list(ttc.values()))) if ttc else float("nan"),
    }


# ----------------------------------------------------------------------------- trackers
def run_bastion(scans: list[Scan], config: TrackerConfig, scorer=score) -> dict:
    trk = Tracker(config, id_base=0)
    est_pos, est_id, elapsed = [], [], 0.0
    for s in scans:
        t0 = time.perf_counter()
        tr = trk.step(s.t_s, s.z, s.R)
        elapsed += time.perf_counter() - t0
        c = tr.confirmed
        est_pos.append(tr.position[c])
        est_id.append(tr.id[c])
    out = scorer(scans, est_pos, est_id)
    out["ms_per_scan"] = 1e3 * elapsed / len(scans)
    return out


def stonesoup_tracker(detections_iter, cfg: TrackerConfig, q_horizontal_m2_s3: float | None = None):
    """Stone Soup's Kalman + GNN tracker, configured once to match bastion's defaults.

    ``q_horizontal_m2_s3`` replaces the horizontal process noise of the CV model (default:
    bastion's CV mode, ``cfg.q_cv_m2_s3``); only the ``ss_quiet`` reference row uses it.
    """
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

    q_h = cfg.q_cv_m2_s3 if q_horizontal_m2_s3 is None else q_horizontal_m2_s3
    transition = CombinedLinearGaussianTransitionModel([
        ConstantVelocity(q_h),
        ConstantVelocity(q_h),
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


def run_stonesoup(scans: list[Scan], cfg: TrackerConfig, q_horizontal_m2_s3: float | None = None,
                  scorer=score) -> dict:
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
    tracker = stonesoup_tracker(iter(feed), cfg, q_horizontal_m2_s3)
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
    out = scorer(scans, est_pos, est_id)
    out["ms_per_scan"] = 1e3 * elapsed / len(scans)
    return out


# ----------------------------------------------------------------------------- turn onset
ONSET_STRAIGHT_SCANS = 30
ONSET_TURN_SCANS = 10


def simulate_onset(seed: int) -> list[Scan]:
    """One target at 25–50 m/s, straight for 30 s, then a 10–20 °/s turn (either side) for
    10 s; Pd = 0.9, σ = 5 m per axis, no clutter."""
    rng = np.random.default_rng(seed)
    speed = rng.uniform(25, 50)
    rate = np.radians(rng.uniform(10, 20)) * rng.choice([-1.0, 1.0])
    heading = rng.uniform(0, 2 * np.pi)
    pos = np.array([0.0, 0.0, rng.uniform(50, 300)])
    sub = 10
    scans = []
    for k in range(ONSET_STRAIGHT_SCANS + ONSET_TURN_SCANS):
        w = rate if k >= ONSET_STRAIGHT_SCANS else 0.0
        for _ in range(sub):
            heading += w / sub
            pos = pos + (speed / sub) * np.array([np.cos(heading), np.sin(heading), 0.0])
        z = pos[None] + rng.normal(0, SIGMA_CART_M, (1, 3))
        if rng.random() >= P_DETECTION:
            z = z[:0]
        R = np.broadcast_to(np.eye(3) * SIGMA_CART_M**2, (len(z), 3, 3)).copy()
        scans.append(Scan(float(k), z, R, pos[None].copy(), np.arange(1)))
    return scans


def onset_score(scans: list[Scan], est_pos: list[np.ndarray], est_id: list[np.ndarray]) -> dict:
    def holder(k: int) -> int:  # id of the nearest confirmed track within c, or -1
        if len(est_pos[k]) == 0:
            return -1
        d = np.linalg.norm(est_pos[k] - scans[k].truth[0], axis=1)
        j = int(d.argmin())
        return int(est_id[k][j]) if d[j] < GOSPA_C_M else -1

    before, after = holder(ONSET_STRAIGHT_SCANS - 1), holder(len(scans) - 1)
    return {"held": float(before >= 0 and after == before), "before": float(before >= 0)}


def one_onset(args: tuple[int, bool]) -> dict:
    seed, reference = args
    scans = simulate_onset(seed)
    cfg = TrackerConfig()
    out = {"bastion": run_bastion(scans, cfg, onset_score)}
    if reference:
        out["bastion_3m"] = run_bastion(scans, TrackerConfig(q_cruise_m2_s3=0.0), onset_score)
    out["bastion_cv"] = run_bastion(scans, TrackerConfig(imm=False), onset_score)
    out["stonesoup"] = run_stonesoup(scans, cfg, scorer=onset_score)
    if reference:
        out["ss_quiet"] = run_stonesoup(scans, cfg, cfg.q_cruise_m2_s3, onset_score)
    return out


# ----------------------------------------------------------------------------- driver
def one_run(args: tuple[Case, int, int, bool]) -> dict:
    case, seed, n_scans, reference = args
    scans = simulate(case, seed, n_scans)
    cfg = TrackerConfig()
    out = {"bastion": run_bastion(scans, cfg)}
    if reference:
        out["bastion_3m"] = run_bastion(scans, TrackerConfig(q_cruise_m2_s3=0.0))
    out["bastion_cv"] = run_bastion(scans, TrackerConfig(imm=False))
    if case.stonesoup:
        out["stonesoup"] = run_stonesoup(scans, cfg)
        if reference:
            out["ss_quiet"] = run_stonesoup(scans, cfg, cfg.q_cruise_m2_s3)
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
    ap.add_argument("--no-reference", action="store_true",
                    help="skip the reference rows (ss_quiet, bastion_3m)")
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
    cfg = TrackerConfig()
    print(f"Stone Soup: CV q = {cfg.q_cv_m2_s3:g} m²/s³ (ss_quiet: {cfg.q_cruise_m2_s3:g}); "
          f"bastion: {cfg.n_models}-model IMM, q CV/turn/cruise = {cfg.q_cv_m2_s3:g}/"
          f"{cfg.q_turn_m2_s3:g}/{cfg.q_cruise_m2_s3:g}\n")
    header = (f"{'case':34s} {'tracker':11s} {'GOSPA':>15s} {'loc':>7s} {'missed':>7s} "
              f"{'false':>7s} {'0-4':>7s} {'5+':>7s} {'id sw':>6s} {'ttc s':>6s} "
              f"{'ms/scan':>9s}")
    print(header)
    print("-" * len(header))
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for case in cases:
            n_seeds = seeds if case.n_targets <= 1000 else max(2, seeds // 10)
            runs = list(pool.map(one_run, [(case, s, n_scans, not args.no_reference)
                                           for s in range(n_seeds)]))
            names = [k for k in ("stonesoup", "ss_quiet", "bastion", "bastion_3m", "bastion_cv")
                     if k in runs[0]]
            for name in names:
                r = [run[name] for run in runs]
                g, gci = mean_ci([x["gospa"] for x in r])
                print(f"{case.name:34s} {name:11s} {g:8.2f} ± {gci:5.2f} "
                      f"{np.mean([x['loc'] for x in r]):7.1f} "
                      f"{np.mean([x['missed'] for x in r]):7.1f} "
                      f"{np.mean([x['false'] for x in r]):7.1f} "
                      f"{np.mean([x['early'] for x in r]):7.1f} "
                      f"{np.mean([x['steady'] for x in r]):7.1f} "
                      f"{np.mean([x['switches'] for x in r]):6.1f} "
                      f"{np.nanmean([x['ttc'] for x in r]):6.2f} "
                      f"{np.mean([x['ms_per_scan'] for x in r]):9.3f}")
            if "stonesoup" in runs[0]:
                speed = np.mean([x["stonesoup"]["ms_per_scan"] for x in runs]) / np.mean(
                    [x["bastion"]["ms_per_scan"] for x in runs])
                pairs = [(a, b) for a in ("bastion", "bastion_3m", "bastion_cv", "ss_quiet")
                         for b in ("stonesoup", "ss_quiet") if a != b and a in runs[0]
                         and b in runs[0]]
                for i, (a, b) in enumerate(pairs):
                    m, h = mean_ci([x[a]["gospa"] / x[b]["gospa"] for x in runs])
                    tail = f"   speed-up ×{speed:.0f}" if i == 0 else ""
                    print(f"{'':34s} {a + '/' + b:22s} GOSPA ratio {m:.4f} ± {h:.4f}{tail}")
            print()
        onset_name = "turn onset after 30 s straight (1 target)"
        if args.only in onset_name:
            n_runs = 30 if args.quick else 10 * seeds
            runs = list(pool.map(one_onset, [(s, not args.no_reference) for s in range(n_runs)]))
            print(f"{onset_name}: share of {n_runs} runs whose track before the turn still holds "
                  "the target 10 s into it (mean ± 95 % CI)")
            for name in ("stonesoup", "ss_quiet", "bastion", "bastion_3m", "bastion_cv"):
                if name in runs[0]:
                    m, h = mean_ci([x[name]["held"] for x in runs])
                    b = np.mean([x[name]["before"] for x in runs])
                    print(f"{'':34s} {name:11s} held {m:.3f} ± {h:.3f}   (tracked before the "
                          f"turn {b:.3f})")


if __name__ == "__main__":
    main()
