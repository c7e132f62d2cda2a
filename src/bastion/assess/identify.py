"""Identification: P(hostile drone / bird / own aircraft) per track.

    log P(c | track) = log prior_c + log Σ_{p ∈ c} w_p · N(speed; μ_p, s_p) · N(alt; h_p, a_p)
                                                  · HN(ω̂; √(ω_p² + ω_n²))^β
                       + evidence_c + silence_c                       (then normalised)

* **Profiles** (``IdentModel.from_scenario``): one per raid airframe (its cruise speed,
  altitude and RCS; weight its share of the raid drones), per bird group and per own-aircraft
  group of the scenario, so a planner who makes the drones faster or slower does not make
  them unrecognisable; ``identification.profiles`` overrides a class's profiles. The speed
  and altitude spreads are widened by the track's own velocity and height variance, so a
  young, noisy track is not judged confidently on a noisy estimate.
* **Priors**: the scenario's object mix (drones, birds, own aircraft), each class at least
  ``prior_floor``; ``identification.priors`` overrides them.
* **Evidence** is the sum of log-likelihoods the tracker accumulated from the reports
  associated with the track: RF emitter, IFF reply, EO/IR class report (each sensor's
  stated confusion row) and the radar's measured RCS (``rcs_loglik``).
* **Manoeuvre** (``manoeuvre_update``, kept per track by ``respond.memory.ManoeuvreMemory``):
  ω̂ is the track's running RMS heading rate (its filtered velocity's heading change over
  ~10 s baselines, averaged over ``manoeuvre_time_s``), ω_n the
  RMS the filter's own velocity noise would give a straight flyer; each profile has an RMS
  heading rate ω_p (birds weave, fixed-wing drones fly straight legs, multirotors turn on
  the spot), and HN(x; s) = √(2/π)/s · exp(−x²/2s²) is the half-normal density, weighted
  by β = ``manoeuvre_weight``. A noisy track (ω_n ≫ ω_p) gets no evidence either way.
* **IFF silence** (``iff_silence``): a track inside IFF cover that never replied is less
  likely an own aircraft: P(no reply in n interrogations | own) = (1 − q) + q (1 − r)^n with
  q the doctrine's belief that transponders are on and r the reply probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np
from numpy.typing import NDArray

from bastion.core.detections import K
from bastion.scenario.schema import (
    EOIR,
    IFF,
    ClassProfile,
    Identification,
    PassiveRF,
    Radar,
    Scenario,
)

__all__ = ["DEFAULT_PROFILES", "DEFAULT_TURN_RPS", "TURN_BASELINE_S", "UNKNOWN_FAST",
           "IFFCover", "IdentModel", "best_p_hostile", "classify", "iff_silence",
           "manoeuvre_update", "rcs_loglik", "threshold_warnings"]

_CLS = {"hostile_drone": 0, "bird": 1, "own_aircraft": 2}
_EULER_GAMMA = 0.5772156649015329  # E[ln E] = −γ for E ~ Exp(1) (Swerling-1 fluctuation)
_LN_EXP_SD = math.pi / math.sqrt(6.0)  # sd of ln E for E ~ Exp(1)

# ASSUMED generic profiles for a class the scenario has none of (the figures the code used
# before identification followed the scenario): small drones 25-50 m/s fixed-wing and slower
# multirotors; birds ~10-15 m/s; own fixed-wing aircraft in the terminal area 60-150 m/s.
# Own aircraft climb from the runway through every height: altitude says little about them.
DEFAULT_PROFILES = (
    ClassProfile(class_name="hostile_drone", name="generic drone", speed_mps=32.0,
                 speed_sigma_mps=14.0, altitude_m=300.0, altitude_sigma_m=300.0, rcs_m2=0.03,
                 rcs_log_sigma=1.0),
    ClassProfile(class_name="bird", name="generic bird", speed_mps=11.0, speed_sigma_mps=5.0,
                 altitude_m=150.0, altitude_sigma_m=150.0, rcs_m2=0.01, rcs_log_sigma=1.0),
    ClassProfile(class_name="own_aircraft", name="generic own aircraft", speed_mps=90.0,
                 speed_sigma_mps=35.0, altitude_m=1500.0, altitude_sigma_m=1500.0,
                 rcs_m2=5.0, rcs_log_sigma=1.0),
)
# ASSUMED spreads of the derived profiles that the scenario does not state: birds vary
# their speed and height more than an autopilot does; own aircraft climb through every
# height and accelerate after take-off
_BIRD_SPEED_SPREAD, _BIRD_ALT_SPREAD = 0.3, 0.5
_OWN_SPEED_SPREAD, _OWN_ALT_M, _OWN_ALT_SD_M = 0.35, 1500.0, 1500.0
# ASSUMED: the defence cannot rule out a hostile bigger and faster than the raid it expects
# (a jet-powered or Shahed-class drone: 50-250 m/s, 0.1-10 m²), a fifth of the hostile class
# (this is what makes a silent own aircraft an unknown rather than a friend)
UNKNOWN_FAST = ClassProfile(class_name="hostile_drone", name="unknown large fast drone",
                            speed_mps=120.0, speed_sigma_mps=60.0, altitude_m=1500.0,
                            altitude_sigma_m=1500.0, rcs_m2=2.0, rcs_log_sigma=1.5)
_UNKNOWN_SHARE = 0.2
# ASSUMED RMS heading rates (rad/s) of a profile that states none: a fixed-wing drone flies
# straight legs between waypoints (a 60° turn every few km: ~0.01 rad/s over a minute), an
# own aircraft flies its departure or approach; a multirotor turns on the spot at its
# waypoints and over its aim; birds weave (their derived profile takes the scenario's weave).
DEFAULT_TURN_RPS = {"hostile_drone": 0.02, "bird": 0.1, "own_aircraft": 0.02}
_MULTIROTOR_TURN_RPS = 0.04
_MIN_TURN_RPS = 0.005  # ASSUMED floor: wind gusts and autopilot hunting
# ASSUMED: below this horizontal speed a heading means nothing (hover, climb-out)
_TURN_MIN_SPEED_MPS = 3.0
# ASSUMED: the heading rate is measured over this baseline, not epoch to epoch: five 2 s
# scans, long enough that the filter's errors at its two ends are nearly independent (so
# ω_n² = 2σ_θ²/Δt² holds, and which epoch a late report is folded at hardly matters), short
# against a bird's ~40 s weave (whose rate it averages by sinc(πW/T): 0.9 at W = 10 s)
TURN_BASELINE_S = 10.0
_RCS_LOG_SIGMA = 0.7  # ASSUMED: aspect and airframe spread of ln RCS (×2 either way)
_MIN_SPEED_SD, _MIN_ALT_SD = 2.0, 30.0  # ASSUMED floors: wind gusts, barometric error


@dataclass(frozen=True)
class IdentModel:
    """Class priors and kinematic profiles: one row per profile."""

    prior: NDArray[np.float64]  # (K,)
    cls: NDArray[np.int64]  # (P,) class of each profile
    log_w: NDArray[np.float64]  # (P,) log of its weight within its class
    speed: NDArray[np.float64]  # (P, 2) mean, sd (m/s)
    alt: NDArray[np.float64]  # (P, 2) mean, sd (m)
    rcs_log: NDArray[np.float64]  # (P, 2) mean and sd of ln RCS (m²)
    names: tuple[str, ...] = ()
    rcs_weight: float = 0.1
    p_transponder_belief: float = 0.99
    turn: NDArray[np.float64] | None = None  # (P,) RMS heading rate (rad/s)
    manoeuvre_weight: float = 1.0
    manoeuvre_time_s: float = 30.0

    @staticmethod
    def from_profiles(profiles: list[ClassProfile] | tuple[ClassProfile, ...],
                      prior: NDArray[np.float64], rcs_weight: float = 0.1,
                      p_transponder_belief: float = 0.99, manoeuvre_weight: float = 1.0,
                      manoeuvre_time_s: float = 30.0) -> IdentModel:
        cls = np.array([_CLS[p.class_name] for p in profiles], np.int64)
        if set(cls.tolist()) != set(range(K)):
            raise ValueError("identification needs at least one profile of every class")
        w = np.array([p.weight for p in profiles], float)
        tot = np.bincount(cls, weights=w, minlength=K)
        return IdentModel(
            np.asarray(prior, float) / float(np.sum(prior)), cls, np.log(w / tot[cls]),
            np.array([[p.speed_mps, p.speed_sigma_mps] for p in profiles], float),
            np.array([[p.altitude_m, p.altitude_sigma_m] for p in profiles], float),
            np.array([[math.log(p.rcs_m2), p.rcs_log_sigma] for p in profiles], float),
            tuple(p.name for p in profiles), float(rcs_weight), float(p_transponder_belief),
            np.array([p.turn_rate_rps if p.turn_rate_rps is not None
                      else DEFAULT_TURN_RPS[p.class_name] for p in profiles], float),
            float(manoeuvre_weight), float(manoeuvre_time_s))

    @staticmethod
    def default() -> IdentModel:
        """Generic profiles and equal priors (a stage with no scenario, e.g. a test stand or
        the live driver, which builds its stage without the scenario's identification), and
        no manoeuvre evidence: it is a scenario's choice (``identification``), so a stage
        that does not read one decides as it did before manoeuvre evidence existed."""
        return IdentModel.from_profiles(DEFAULT_PROFILES, np.full(K, 1.0 / K),
                                        manoeuvre_weight=0.0)

    @staticmethod
    def from_scenario(sc: Scenario) -> IdentModel:
        idf = sc.identification
        derived = derived_profiles(sc)
        if idf.profiles:
            given = {p.class_name for p in idf.profiles}
            profiles = [p for p in derived if p.class_name not in given] + list(idf.profiles)
        else:
            profiles = derived
        prior = (np.array([idf.priors[c] for c in _CLS]) if idf.priors is not None
                 else derived_prior(sc, idf))
        return IdentModel.from_profiles(profiles, prior, idf.rcs_evidence_weight,
                                        idf.p_transponder_belief, idf.manoeuvre_weight,
                                        idf.manoeuvre_time_s)


def derived_prior(sc: Scenario, idf: Identification) -> NDArray[np.float64]:
    """Priors from the object mix: floor + (1 − K·floor) · share of each class."""
    n = sc.object_counts()
    counts = np.array([n["drones"], n["birds"], n["own aircraft"]], float)
    share = counts / counts.sum() if counts.sum() > 0 else np.full(K, 1.0 / K)
    return idf.prior_floor + (1.0 - K * idf.prior_floor) * share


def derived_profiles(sc: Scenario) -> list[ClassProfile]:
    """One profile per raid airframe, bird group and own-aircraft group of the scenario (the
    generic profile of a class the scenario has none of)."""
    idf = sc.identification
    wind = sc.wind.speed_mps + sc.wind.speed_sigma_mps
    out: list[ClassProfile] = []
    per_af: dict[str, int] = {}
    for r in sc.raids:
        per_af[r.airframe] = per_af.get(r.airframe, 0) + r.count
    for name, count in per_af.items():
        af = sc.airframes[name]
        v = af.cruise_speed_mps
        # ground speed: airspeed ± the wind (uniform over headings: sd = wind/√2)
        sd = math.sqrt(af.speed_sigma_mps**2 + (idf.speed_spread * v) ** 2 + wind**2 / 2)
        out.append(ClassProfile(
            class_name="hostile_drone", name=name, weight=float(count), speed_mps=v,
            speed_sigma_mps=max(sd, _MIN_SPEED_SD), altitude_m=af.altitude_m,
            altitude_sigma_m=max(idf.altitude_spread * af.altitude_m, _MIN_ALT_SD),
            rcs_m2=af.rcs_m2, rcs_log_sigma=_RCS_LOG_SIGMA,
            turn_rate_rps=_MULTIROTOR_TURN_RPS if af.kind == "multirotor" else None))
    if per_af:
        w = _UNKNOWN_SHARE / (1.0 - _UNKNOWN_SHARE) * sum(per_af.values())
        out.append(UNKNOWN_FAST.model_copy(update={"weight": w}))
    for i, b in enumerate(sc.birds):
        out.append(ClassProfile(
            class_name="bird", name=f"birds {i}", weight=float(max(b.count, 1)),
            speed_mps=b.speed_mps,
            speed_sigma_mps=max(_BIRD_SPEED_SPREAD * b.speed_mps, _MIN_SPEED_SD),
            altitude_m=b.altitude_m,
            altitude_sigma_m=max(_BIRD_ALT_SPREAD * b.altitude_m, _MIN_ALT_SD),
            rcs_m2=b.rcs_m2, rcs_log_sigma=_RCS_LOG_SIGMA,
            # the weave A·sin(ωt + φ) has RMS A/√2, averaged over the baseline W by
            # |sinc(πW/T)| (T the weave's period)
            turn_rate_rps=max(math.radians(b.turn_rate_dps) / math.sqrt(2.0) * abs(
                np.sinc(TURN_BASELINE_S / b.turn_period_s)), _MIN_TURN_RPS)))
    for a in sc.own_aircraft:
        out.append(ClassProfile(
            class_name="own_aircraft", name=a.name, weight=float(max(a.count, 1)),
            speed_mps=a.speed_mps,
            speed_sigma_mps=max(_OWN_SPEED_SPREAD * a.speed_mps, _MIN_SPEED_SD),
            altitude_m=_OWN_ALT_M, altitude_sigma_m=_OWN_ALT_SD_M, rcs_m2=a.rcs_m2,
            rcs_log_sigma=_RCS_LOG_SIGMA))
    have = {p.class_name for p in out}
    out += [p for p in DEFAULT_PROFILES if p.class_name not in have]
    return out


_DEFAULT = IdentModel.default()


def classify(velocity: NDArray[np.float64], covariance: NDArray[np.float64],
             evidence: NDArray[np.float64], *, model: IdentModel | None = None,
             altitude_m: NDArray[np.float64] | None = None,
             silence: NDArray[np.float64] | None = None,
             turn_rps: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
             ) -> NDArray[np.float64]:
    """(n, K) class posteriors from velocity (n, 3), covariance (n, 6, 6), evidence (n, K).

    ``altitude_m`` (n,): the tracks' heights (None: altitude not used); ``silence`` (n, K):
    IFF-silence log-likelihoods (``iff_silence``) added to the evidence; ``turn_rps``: the
    tracks' RMS heading rate ω̂ and its noise RMS ω_n (n,) each (``manoeuvre_update``; nan
    where a track has none yet; None: manoeuvre not used).
    """
    n = velocity.shape[0]
    if n == 0:
        return np.zeros((0, K))
    m = _DEFAULT if model is None else model
    ev = evidence if silence is None else evidence + silence
    use_alt = altitude_m is not None
    alt = np.ascontiguousarray(altitude_m, float) if use_alt else np.zeros(n)
    use_turn = turn_rps is not None and m.turn is not None and m.manoeuvre_weight > 0.0
    if use_turn:
        om = np.ascontiguousarray(turn_rps[0], float)  # type: ignore[index]
        om_n = np.ascontiguousarray(turn_rps[1], float)  # type: ignore[index]
    else:
        om = om_n = np.zeros(n)
    turn = m.turn if m.turn is not None else np.zeros(m.cls.shape[0])
    return _classify_kernel(np.ascontiguousarray(velocity), covariance, alt, use_alt,
                            np.ascontiguousarray(ev, float), np.log(m.prior), m.cls, m.log_w,
                            m.speed, m.alt, K, use_turn, om, om_n, turn, m.manoeuvre_weight)


@nb.njit(cache=True, error_model="numpy")
def _classify_kernel(vel, cov, alt, use_alt, ev, log_prior, cls, log_w, speed, altp,
                     k_, use_turn, om, om_n, turn, beta):  # pragma: no cover - compiled
    n = vel.shape[0]
    npr = cls.shape[0]
    out = np.empty((n, k_))
    term = np.empty(npr)
    for i in range(n):
        vx, vy, vz = vel[i, 0], vel[i, 1], vel[i, 2]
        sp = math.sqrt(vx * vx + vy * vy + vz * vz)
        var_v = (cov[i, 3, 3] + cov[i, 4, 4] + cov[i, 5, 5]) / 3.0
        var_z = cov[i, 2, 2]
        for p in range(npr):
            s = math.sqrt(speed[p, 1] * speed[p, 1] + var_v)
            z = (sp - speed[p, 0]) / s
            t = log_w[p] - 0.5 * z * z - math.log(s)
            if use_alt:
                a = math.sqrt(altp[p, 1] * altp[p, 1] + var_z)
                za = (alt[i] - altp[p, 0]) / a
                t += -0.5 * za * za - math.log(a)
            if use_turn and om[i] == om[i]:
                # half-normal in the RMS heading rate (the constant √(2/π) cancels)
                st = math.sqrt(turn[p] * turn[p] + om_n[i] * om_n[i])
                zt = om[i] / st
                t += beta * (-0.5 * zt * zt - math.log(st))
            term[p] = t
        # per class: log Σ over its profiles (log-sum-exp about the largest)
        for c in range(k_):
            mx = -np.inf
            for p in range(npr):
                if cls[p] == c and term[p] > mx:
                    mx = term[p]
            s = 0.0
            for p in range(npr):
                if cls[p] == c:
                    s += math.exp(term[p] - mx)
            out[i, c] = log_prior[c] + (mx + math.log(s)) + ev[i, c]
        mx = out[i, 0]
        for c in range(1, k_):
            if out[i, c] > mx or mx != mx:
                mx = out[i, c]
        tot = 0.0
        for c in range(k_):
            out[i, c] = math.exp(out[i, c] - mx)
            tot += out[i, c]
        for c in range(k_):
            out[i, c] /= tot
    return out


def rcs_loglik(model: IdentModel, rcs_measured_m2: NDArray[np.float64],
               calibration_sigma_db: float) -> NDArray[np.float64]:
    """(m, K) evidence of radar reports from their measured RCS, weighted.

    A Swerling-1 look measures σ·E with E ~ Exp(1): ln σ̂ = ln σ + ln E, ln E of mean −γ and
    sd π/√6; with the class's spread of ln σ and the calibration error (dB → ln: × ln10/10)
    taken as normal, ln σ̂ | profile ~ N(μ_p − γ, √(s_p² + π²/6 + cal²)); a class's
    log-likelihood is its best profile's, times ``model.rcs_weight``.
    """
    x = np.log(np.maximum(np.asarray(rcs_measured_m2, float), 1e-12))
    cal = calibration_sigma_db * math.log(10.0) / 10.0
    mu = model.rcs_log[:, 0] - _EULER_GAMMA
    sd = np.sqrt(model.rcs_log[:, 1] ** 2 + _LN_EXP_SD**2 + cal**2)
    term = -0.5 * ((x[:, None] - mu[None, :]) / sd[None, :]) ** 2 - np.log(sd)[None, :]
    out = np.empty((x.size, K))
    for c in range(K):
        # the class's best-matching profile: the profiles' shares enter once, through the
        # kinematics (classify), not once per look
        out[:, c] = term[:, model.cls == c].max(axis=1)
    out -= out.max(axis=1, keepdims=True)  # only the differences between classes matter
    return model.rcs_weight * out


def manoeuvre_update(vel_prev: NDArray[np.float64], dt_s: NDArray[np.float64],
                     m2: NDArray[np.float64], n2: NDArray[np.float64],
                     vel: NDArray[np.float64], cov: NDArray[np.float64], time_s: float,
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """One epoch of the tracks' running mean squared heading rate and its noise.

    ``vel_prev`` (n, 2) the horizontal velocity at the track's last epoch, ``dt_s`` (n,) the
    time since (nan: none), ``m2``/``n2`` (n,) the running means (nan: none yet), ``vel``
    (n, ≥2) and ``cov`` (n, 6, 6) now. ω = |Δheading|/Δt; the noise a straight flyer's
    filtered heading would show is ω_n² = 2·σ_θ²/Δt² with σ_θ² = (P_vx + P_vy)/2 / |v|²
    (independent errors at the two ends: Δt is a baseline of ~10 s, not one epoch). Both are
    averaged with weight 1 − exp(−Δt/τ). Rows slower than 3 m/s at either end are not
    updated (a hovering multirotor has no heading). Returns (m2, n2, updated).
    """
    vx, vy = vel[:, 0], vel[:, 1]
    sp2 = vx * vx + vy * vy
    px, py = vel_prev[:, 0], vel_prev[:, 1]
    pp2 = px * px + py * py
    lo = _TURN_MIN_SPEED_MPS**2
    ok = np.isfinite(dt_s) & (dt_s > 0) & (sp2 >= lo) & (pp2 >= lo)
    dt = np.where(ok, dt_s, 1.0)
    # the signed angle between the two headings, via atan2(cross, dot): no wrap-around
    dth = np.arctan2(px * vy - py * vx, px * vx + py * vy)
    w2 = (dth / dt) ** 2
    var_th = 0.5 * (cov[:, 3, 3] + cov[:, 4, 4]) / np.maximum(sp2, lo)
    nn2 = 2.0 * var_th / dt**2
    alpha = 1.0 - np.exp(-dt / time_s)
    first = np.isnan(m2)
    new_m2 = np.where(first, w2, m2 + alpha * (w2 - m2))
    new_n2 = np.where(first, nn2, n2 + alpha * (nn2 - n2))
    return np.where(ok, new_m2, m2), np.where(ok, new_n2, n2), ok


@dataclass(frozen=True)
class IFFCover:
    """The IFF interrogators the defence has: ENU positions (q, 3), ranges, periods and
    reply probabilities."""

    pos: NDArray[np.float64]
    range_m: NDArray[np.float64]
    period_s: NDArray[np.float64]
    reply_p: NDArray[np.float64]

    @staticmethod
    def from_scenario(sc: Scenario, frame: object) -> IFFCover:
        iffs = [s for s in sc.sensors if isinstance(s, IFF)]
        return IFFCover(np.array([frame.point(s.position) for s in iffs],  # type: ignore[attr-defined]
                                 float).reshape(-1, 3),
                        np.array([s.range_m for s in iffs], float),
                        np.array([s.interrogation_period_s for s in iffs], float),
                        np.array([s.reply_probability for s in iffs], float))

    def covers(self, pos: NDArray[np.float64]) -> NDArray[np.int64]:
        """(n,) index of the first interrogator covering each position, -1 for none."""
        out = np.full(pos.shape[0], -1, np.int64)
        for q in range(self.pos.shape[0] - 1, -1, -1):
            d = np.linalg.norm(pos - self.pos[q], axis=1)
            out[d <= self.range_m[q]] = q
        return out


def iff_silence(cover: IFFCover, belief_on: float, t_s: float, since_s: NDArray[np.float64],
                which: NDArray[np.int64], evidence: NDArray[np.float64]) -> NDArray[np.float64]:
    """(n, K) log-likelihoods of IFF silence: tracks in cover since ``since_s`` (nan: never)
    of interrogator ``which``. Only the own-aircraft column is non-zero."""
    n = since_s.shape[0]
    out = np.zeros((n, K))
    ok = np.isfinite(since_s) & (which >= 0)
    if not ok.any():
        return out
    # (replies are not told apart from other evidence in the track's sums: the silence term
    # is applied to every track in cover; a reply's log-likelihood ratio, ln 10⁴ ≈ 9.2 by
    # default, outweighs its bound ln(1 − q) ≈ −3 at once)
    r = np.flatnonzero(ok)
    q = which[r]
    n_int = np.floor((t_s - since_s[r]) / cover.period_s[q] + 1e-9)
    p_none = (1.0 - belief_on) + belief_on * (1.0 - cover.reply_p[q]) ** n_int
    out[r, 2] = np.log(np.maximum(p_none, 1e-300))
    return out


# --------------------------------------------------------------------------- best case
# ASSUMED: the reports a track gathers before a drone reaches its target, for the
# best-attainable check (a drone at 30 m/s crosses 10 km in 5 min: ~150 radar scans; a
# turret dwell gives a few EO/IR reports; a DF network a report a second for minutes)
_BEST_RADAR_LOOKS, _BEST_EO_REPORTS, _BEST_RF_REPORTS = 100, 4, 30


def best_p_hostile(sc: Scenario, model: IdentModel | None = None) -> dict[str, float]:
    """Per raid, the P(hostile) its drones reach at best: a noise-free track at the
    airframe's own speed and altitude, the expected RCS evidence of many radar looks, a
    correct EO/IR report per dwell and RF reports when the airframe emits."""
    m = model or IdentModel.from_scenario(sc)
    radars = [s for s in sc.sensors if isinstance(s, Radar) and s.rcs_evidence]
    eos = [s for s in sc.sensors if isinstance(s, EOIR)]
    rfs = [s for s in sc.sensors if isinstance(s, PassiveRF)]
    out: dict[str, float] = {}
    for r in sc.raids:
        af = sc.airframes[r.airframe]
        ev = np.zeros(K)
        if radars:
            # expected ln σ̂ = ln σ − γ: the log-likelihood at the mean, per look
            cal = min(s.rcs_calibration_sigma_db for s in radars)
            ev += _BEST_RADAR_LOOKS * rcs_loglik(m, np.array([af.rcs_m2 * math.exp(
                -_EULER_GAMMA)]), cal)[0]
        if eos:
            conf = np.array(max(eos, key=lambda s: s.confusion_matrix()[0][0])
                            .confusion_matrix())
            ev += _BEST_EO_REPORTS * np.log(conf[:, 0])
        if rfs and af.emits_rf:
            ev += _BEST_RF_REPORTS * np.log(np.array(max(
                rfs, key=lambda s: s.class_likelihood[0]).class_likelihood))
        v = np.array([[af.cruise_speed_mps, 0.0, 0.0]])
        p = classify(v, np.zeros((1, 6, 6)), ev[None, :], model=m,
                     altitude_m=np.array([af.altitude_m]))
        out[r.name] = float(p[0, 0])
    return out


def threshold_warnings(sc: Scenario) -> list[str]:
    """A warning per raid that can never reach the engagement threshold P(hostile)."""
    dc = sc.doctrine
    if dc.weapons_control == "hold":
        return []
    thr = dc.p_hostile_free if dc.weapons_control == "free" else dc.p_hostile_tight
    out = []
    for name, p in best_p_hostile(sc).items():
        if p < thr:
            out.append(f"raid {name!r}: its drones reach P(hostile) {p:.2f} at best, below the "
                       f"engagement threshold {thr:g} (weapons {dc.weapons_control}): they "
                       "will not be engaged; see identification (priors, profiles) and the "
                       "sensors that give class evidence (EO/IR, RF, IFF)")
    return out
