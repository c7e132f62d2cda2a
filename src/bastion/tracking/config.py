"""Tracker configuration: one frozen dataclass, defaults tuned for small drones.

The defaults target small multirotor / fixed-wing drones (25–50 m/s, horizontal turns up to
about 20 °/s) seen by radars with scan periods of 0.5–4 s. They are the configuration the
bench compares against Stone Soup, so changing them changes the published figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from scipy.stats import chi2

__all__ = ["TrackerConfig"]


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Tuning of :class:`bastion.tracking.Tracker`.

    Motion models (IMM):
        ``imm=True`` runs an interacting multiple model filter with a nearly-constant-velocity
        (CV) model, two coordinated-turn models (left and right) at ``turn_rate_rad_s`` and, when
        ``q_cruise_m2_s3 > 0`` (the default), a quiet CV "cruise" model, in that order (the
        columns of ``Tracks.mode_probabilities``). All are linear in the 6-D state
        ``[x, y, z, vx, vy, vz]`` because the turn rate is fixed, so the filter stays a batched
        Kalman filter. ``imm=False`` keeps only the CV model.
    """

    # --- motion models -------------------------------------------------------------------
    imm: bool = True
    # White-noise acceleration spectral density of the CV model (m²/s³): a drone flying
    # straight but not held tightly (multirotor in wind, flown by hand, changing speed) wanders
    # by ~1 m/s². Stone Soup's CV filter in the bench is matched to this mode.
    q_cv_m2_s3: float = 1.0
    # Process noise of the turn models: absorbs the mismatch between the fixed turn rate and the
    # actual one and the speed changes that go with a turn. A turn 8 °/s away from the nominal
    # rate at 50 m/s is a 7 m/s² lateral acceleration the model does not predict, hence
    # 7² m²/s³. With 9 (the first setting) the turn modes followed 20 °/s turns poorly.
    q_turn_m2_s3: float = 49.0
    # Turn rate of the two coordinated-turn models (rad/s); ±12 °/s sits in the middle of the
    # 5–20 °/s turns drones fly, the process noise covers the rest.
    turn_rate_rad_s: float = math.radians(12.0)
    # Vertical process noise (m²/s³) for every model: drones change altitude gently.
    q_vertical_m2_s3: float = 1.0
    # Horizontal process noise (m²/s³) of the cruise mode, a second CV mode for flight under
    # an autopilot between waypoints; 0 removes the mode (the three-model IMM). A GNSS-guided
    # fixed-wing holds its course line to a few metres and its ground speed to ~1 m/s against
    # gusts: over the ~10 s an autopilot takes to correct, white acceleration of density q
    # moves a track by sqrt(q τ³ / 3) across and sqrt(q τ) in speed, i.e. 5.8 m and 1 m/s at
    # q = 0.1 (18 m and 3.2 m/s at the CV mode's q = 1, a drone wandering in wind or flown by
    # hand). Vertical noise stays ``q_vertical_m2_s3``, shared by every mode.
    q_cruise_m2_s3: float = 0.1
    # Rates (1/s) of leaving the CV mode, a turn mode and the cruise mode (to any other mode,
    # equally likely): 1 / the mean time spent in the mode. The mode transition matrix for an
    # interval dt is the matrix exponential of the generator they define, so the IMM behaves
    # the same whatever the scan period. Straight legs between waypoints are 1–3 km, 30–100 s at
    # 25–50 m/s: both straight modes are left at 1/50 s; a turn lasts 5–15 s, left at 1/20 s.
    # The exit rate is also what keeps a little weight on the turn modes in straight flight and
    # lets the likelihoods switch the filter into a turn before the target leaves the gate:
    # with a much rarer exit (0.003–0.0045/s, a 4-5 min leg) a sharp turn after a long straight
    # leg loses the track far more often (see ``bench/README.md``). Without the cruise mode the
    # same 0.02/s applies to CV.
    cv_exit_rate_hz: float = 0.02
    turn_exit_rate_hz: float = 0.05
    cruise_exit_rate_hz: float = 0.02
    # Prior mode probabilities of a new track (CV, turn left, turn right[, cruise]). A new track
    # may already be turning, but its velocity is unknown until its second report, so a turn
    # can only show from the third: meanwhile a large prior turn weight only widens the gates of
    # young tracks (more clutter tracks confirmed) and adds error. Nothing tells cruise from CV
    # before several reports, so they share the rest equally. With ``q_cruise_m2_s3 = 0`` a
    # fourth entry is added to the CV one (3 entries are accepted).
    initial_mode_probabilities: tuple[float, ...] = (0.45, 0.05, 0.05, 0.45)

    # --- initiation ----------------------------------------------------------------------
    # Velocity standard deviation (m/s, per axis) of a track started from a single report.
    init_velocity_sigma_m_s: float = 30.0
    # Vertical velocity standard deviation (m/s) of a new track: drones climb slowly.
    init_vertical_velocity_sigma_m_s: float = 10.0

    # --- gating and association ----------------------------------------------------------
    # Probability that a true report falls inside the chi-square gate (3 degrees of freedom).
    gate_probability: float = 0.9995
    association: Literal["gnn", "jpda"] = "gnn"
    # JPDA only: detection probability and clutter density used in the association weights.
    p_detection: float = 0.9
    clutter_density_per_m3: float = 1e-10
    # Below this many track×report pairs every pair is tested directly (no grid pre-gate): for
    # a handful of tracks binning the reports costs more than it saves.
    dense_pairs_max: int = 6000

    # --- life cycle ----------------------------------------------------------------------
    # M-of-N confirmation over the last N steps of a tentative track.
    confirm_m: int = 3
    confirm_n: int = 4
    # Consecutive steps without an update before a track is deleted.
    tentative_max_misses: int = 2
    confirmed_max_misses: int = 5
    # Two confirmed tracks closer than this (chi-square on the 6-D state difference, metric
    # P1 + P2) follow the same target: the younger is deleted. 0 disables the check.
    duplicate_chi2: float = 4.0
    # A track whose horizontal position standard deviation grows beyond this is deleted.
    max_position_sigma_m: float = 1000.0

    # --- time ----------------------------------------------------------------------------
    # Reports older than the tracker clock by more than this are out of sequence: rejected and
    # counted in ``stats['oosm_rejected']``.
    oosm_tolerance_s: float = 1e-6

    gate_chi2: float = field(init=False)

    def __post_init__(self) -> None:
        positive = {
            "q_cv_m2_s3": self.q_cv_m2_s3,
            "q_turn_m2_s3": self.q_turn_m2_s3,
            "q_vertical_m2_s3": self.q_vertical_m2_s3,
            "init_velocity_sigma_m_s": self.init_velocity_sigma_m_s,
            "init_vertical_velocity_sigma_m_s": self.init_vertical_velocity_sigma_m_s,
            "max_position_sigma_m": self.max_position_sigma_m,
            "clutter_density_per_m3": self.clutter_density_per_m3,
        }
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"TrackerConfig.{name} must be finite and > 0, got {value!r}")
        if not (self.turn_rate_rad_s > 0 and math.isfinite(self.turn_rate_rad_s)):
            raise ValueError("TrackerConfig.turn_rate_rad_s must be finite and > 0")
        if not (self.q_cruise_m2_s3 >= 0 and math.isfinite(self.q_cruise_m2_s3)):
            raise ValueError("TrackerConfig.q_cruise_m2_s3 must be finite and >= 0 (0: no cruise "
                             "mode)")
        for name in ("cv_exit_rate_hz", "turn_exit_rate_hz", "cruise_exit_rate_hz"):
            rate = getattr(self, name)
            if not (rate >= 0 and math.isfinite(rate)):
                raise ValueError(f"TrackerConfig.{name} must be finite and >= 0")
        if not 0.0 < self.gate_probability < 1.0:
            raise ValueError("TrackerConfig.gate_probability must be in (0, 1)")
        if not 0.0 < self.p_detection <= 1.0:
            raise ValueError("TrackerConfig.p_detection must be in (0, 1]")
        if self.association not in ("gnn", "jpda"):
            raise ValueError("TrackerConfig.association must be 'gnn' or 'jpda'")
        if not 1 <= self.confirm_m <= self.confirm_n <= 30:
            raise ValueError("TrackerConfig needs 1 <= confirm_m <= confirm_n <= 30")
        if self.tentative_max_misses < 1 or self.confirmed_max_misses < 1:
            raise ValueError("TrackerConfig max misses must be >= 1")
        if not (self.duplicate_chi2 >= 0 and math.isfinite(self.duplicate_chi2)):
            raise ValueError("TrackerConfig.duplicate_chi2 must be finite and >= 0")
        if self.oosm_tolerance_s < 0:
            raise ValueError("TrackerConfig.oosm_tolerance_s must be >= 0")
        if self.imm:
            mu = tuple(float(v) for v in self.initial_mode_probabilities)
            if self.q_cruise_m2_s3 == 0 and len(mu) == 4:
                # No cruise mode: its prior weight goes to the CV mode it refines.
                mu = (mu[0] + mu[3], mu[1], mu[2])
            n_models = self.n_models
            if len(mu) != n_models or min(mu) < 0 or not math.isclose(sum(mu), 1.0):
                raise ValueError(
                    f"TrackerConfig.initial_mode_probabilities must be {n_models} non-negative "
                    "numbers summing to 1 (CV, turn left, turn right"
                    + (", cruise)" if n_models == 4 else ")")
                )
            object.__setattr__(self, "initial_mode_probabilities", mu)
        object.__setattr__(self, "gate_chi2", float(chi2.ppf(self.gate_probability, 3)))

    @property
    def n_models(self) -> int:
        if not self.imm:
            return 1
        return 4 if self.q_cruise_m2_s3 > 0 else 3
