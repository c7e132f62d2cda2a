"""Rotating search radar: Swerling-1 detection, MTI notch, horizon, masks, beam-time stamps.

Detection: ``Pd = Pfa ** (1 / (1 + SNR))`` (Swerling 1, square-law detector), with
``SNR = SNR90 · (σ / σ_ref) · (R90 / R)^4`` calibrated so that a target of the reference
RCS is seen with Pd 0.9 at ``range_pd90_m``. False alarms are not a separate knob: each scan
has Poisson(Pfa × resolution cells) of them, with cells = range cells × azimuth beams.
Each report is stamped with the time the beam crossed its azimuth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from bastion.assess.identify import IdentModel, rcs_loglik
from bastion.core.convert import raise_polar_error
from bastion.core.detections import Detections, K
from bastion.scenario.geo import RADIO_EARTH_RADIUS_M, radar_horizon_m
from bastion.scenario.schema import Radar
from bastion.scenario.terrain import Profile, flat_profile
from bastion.sim.sensors.base import BlockView, PeriodicSensor
from bastion.sim.sensors.kernels import (
    BASE,
    EXPO,
    RX,
    RY,
    SEL,
    radar_finish,
    radar_geometry,
    radar_hits,
    radar_near,
    radar_pd_exponent,
    terrain_clutter_rows,
)
from bastion.sim.world.air import AirState

__all__ = ["RadarLook", "RadarSensor", "clutter_constants", "masked", "radar_look",
           "radar_profile", "radar_reach_m", "snr_at_pd", "swerling1_pd"]

_CLUTTER = 1 << 40  # entity ids of false alarms start here (never a world row)


def swerling1_pd(snr: NDArray[np.float64], pfa: float) -> NDArray[np.float64]:
    return np.power(pfa, 1.0 / (1.0 + snr))


def snr_at_pd(pd: float, pfa: float) -> float:
    """The SNR at which a Swerling-1 target is seen with probability ``pd`` (the inverse of
    :func:`swerling1_pd`); with pd = 0.9 it calibrates SNR ∝ RCS/R⁴ to ``range_pd90_m``."""
    return math.log(pfa) / math.log(pd) - 1.0


def radar_reach_m(cfg: Radar, rcs_m2: float, pd_floor: float = 1e-3) -> float:
    """Range beyond which Pd < pd_floor for this RCS (capped at ``max_range_m``)."""
    snr_floor = snr_at_pd(pd_floor, cfg.pfa)
    r = cfg.range_pd90_m * (snr_at_pd(0.9, cfg.pfa) * rcs_m2 / cfg.reference_rcs_m2
                            / max(snr_floor, 1e-9)) ** 0.25
    return min(r, cfg.max_range_m)


def clutter_constants(cfg: Radar) -> NDArray[np.float64]:
    """[c_land, c_sea, elevation beamwidth rad, on] for :func:`kernels.terrain_clutter`:
    c = σ0 · θ_az · ΔR / I, the clutter RCS per metre of range after the MTI, before the
    beam-pattern weight (low grazing: cell area R · θ_az · ΔR)."""
    theta = math.radians(cfg.azimuth_beamwidth_deg)
    imp = 10 ** (cfg.mti_improvement_db / 10.0)
    c = [10 ** (s / 10.0) * theta * cfg.range_resolution_m / imp
         for s in (cfg.land_sigma0_db, cfg.sea_sigma0_db)]
    return np.array([*c, math.radians(cfg.elevation_beamwidth_deg), float(cfg.clutter)])


def radar_profile(cfg: Radar, radar_enu: NDArray[np.float64],
                  profile: Profile | None) -> Profile:
    """The radar's terrain profile, or flat ground seen from its mast."""
    return profile if profile is not None else flat_profile(float(radar_enu[2]),
                                                            cfg.max_range_m)


def masked(mask: NDArray[np.float64], az_deg: NDArray[np.float64],
           el_deg: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Where a (k, 3) mask of [from°, to°, min elevation°] sectors hides a target at azimuth
    ``az_deg`` (0…360, clockwise from north) and elevation ``el_deg``: inside a sector
    (``from > to`` wraps through north) and below its elevation. The scan's rule
    (``kernels.radar_pd_exponent``), one sector at a time over whole arrays."""
    out = np.zeros(np.broadcast(az_deg, el_deg).shape, bool)
    for a0, a1, emin in np.asarray(mask, float).reshape(-1, 3):
        sector = (az_deg >= a0) & (az_deg <= a1) if a0 <= a1 else (az_deg >= a0) | (az_deg <= a1)
        out |= sector & (el_deg < emin)
    return out


@dataclass(frozen=True)
class RadarLook:
    """One radar's single look (one scan) at targets, array by array (the targets' shape)."""

    pd: NDArray[np.float64]  # detection probability; 0 wherever the radar cannot see
    in_range: NDArray[np.bool_]  # slant range ≤ max_range_m
    above_horizon: NDArray[np.bool_]  # line of sight over the 4/3 earth, target above ground
    unmasked: NDArray[np.bool_]  # not below a masked sector's elevation
    in_elevation: NDArray[np.bool_]  # below the top of the elevation coverage
    range_m: NDArray[np.float64]

    @property
    def seen(self) -> NDArray[np.bool_]:
        return self.in_range & self.above_horizon & self.unmasked & self.in_elevation


def radar_look(cfg: Radar, radar_enu: NDArray[np.float64], target_enu: NDArray[np.float64],
               rcs_m2: float, profile: Profile | None = None) -> RadarLook:
    """Single-look Pd of targets at ``target_enu`` (..., 3) ENU metres with RCS ``rcs_m2``,
    for a radar at ``radar_enu``: the scan's model (``RadarSensor._emit`` and its compiled
    passes) as whole-array NumPy, for a target caught as the beam passes (no motion during
    the sweep) whose radial speed clears the MTI notch. The same expressions in the same
    order: tests/sim/test_coverage.py checks it against the compiled scan."""
    p = np.asarray(target_enu, float)
    rx, ry, rz = p[..., 0] - radar_enu[0], p[..., 1] - radar_enu[1], p[..., 2] - radar_enu[2]
    r = np.sqrt((rx * rx + ry * ry) + rz * rz)
    in_range = r <= cfg.max_range_m
    h1 = float(radar_horizon_m(radar_enu[2], 0.0))
    above = (r <= h1 + np.sqrt(2 * RADIO_EARTH_RADIUS_M * np.maximum(p[..., 2], 0.0))) & (
        p[..., 2] > 0)
    rr = np.maximum(r, 1e-9)
    el = np.arcsin(np.clip(rz / rr, -1.0, 1.0))
    az = np.mod(np.arctan2(rx, ry), 2 * np.pi)
    in_el = el <= math.radians(cfg.elevation_coverage_deg)
    unmasked = ~masked(np.array(cfg.mask, float), az * (180.0 / np.pi), el * (180.0 / np.pi))
    factor = snr_at_pd(0.9, cfg.pfa) * (rcs_m2 / cfg.reference_rcs_m2)
    with np.errstate(divide="ignore"):
        snr = factor * (cfg.range_pd90_m / r) ** 4
    # terrain and clutter: the scan's own compiled rule, row by row
    prof = radar_profile(cfg, radar_enu, profile)
    shape = r.shape
    hidden, scr = terrain_clutter_rows(
        el.ravel(), az.ravel(), r.ravel(), np.full(r.size, float(rcs_m2)), prof.horizon,
        prof.ground, prof.sea, prof.az_step_rad, prof.r_step_m, prof.terrain,
        clutter_constants(cfg))
    hidden, scr = hidden.reshape(shape), scr.reshape(shape)
    unmasked = unmasked & ~hidden
    with np.errstate(divide="ignore"):
        snr = np.where(scr < np.inf, 1.0 / (1.0 / snr + 1.0 / scr), snr)
    ok = in_range & above & unmasked & in_el
    pd = np.where(ok, swerling1_pd(np.where(ok, snr, 0.0), cfg.pfa), 0.0)
    return RadarLook(pd, in_range, above, unmasked, in_el, r)


class RadarSensor(PeriodicSensor):
    def __init__(self, cfg: Radar, index: int, pos_enu: NDArray[np.float64],
                 ident: IdentModel | None = None, profile: Profile | None = None) -> None:
        """``ident``: the class profiles its reports' RCS evidence is judged against (None,
        or ``cfg.rcs_evidence`` off: reports carry no class evidence). ``profile``: the
        terrain line-of-sight profile about the radar (None: flat earth)."""
        self.cfg = cfg
        self.ident = ident if cfg.rcs_evidence else None
        self.profile = radar_profile(cfg, pos_enu, profile)
        self.clut = clutter_constants(cfg)
        self.index = index
        self.pos = pos_enu
        self.key = f"radar/{index}"
        # SNR at which Pd = 0.9 for this Pfa (Swerling 1)
        self.snr90 = snr_at_pd(0.9, cfg.pfa)
        n_cells = (cfg.max_range_m / cfg.range_resolution_m) * (360.0 / cfg.azimuth_beamwidth_deg)
        lam = cfg.pfa * n_cells
        k = np.arange(0, max(20, int(lam + 10 * math.sqrt(lam) + 10)))
        logpmf = k * math.log(lam) - lam - np.array([math.lgamma(i + 1) for i in k]) if lam > 0 \
            else np.where(k == 0, 0.0, -np.inf)
        self.fa_cdf = np.cumsum(np.exp(logpmf))
        self.false_alarms_per_scan = lam
        self.sig = np.array([cfg.sigma_range_m, math.radians(cfg.sigma_azimuth_deg),
                             math.radians(cfg.sigma_elevation_deg)])
        self.mask = np.array(cfg.mask, float).reshape(-1, 3)
        # scalars of the compiled scan, computed as the NumPy expressions computed them
        self.el_max = math.radians(cfg.elevation_coverage_deg)
        self.h1 = float(radar_horizon_m(self.pos[2], 0.0))  # the radar's own horizon term
        self.re2 = 2 * RADIO_EARTH_RADIUS_M
        self.el_fa = math.radians(5.0)  # false alarms spread up to 5° elevation
        self.reset(1)
        self.period = cfg.scan_period_s

    def reach_m(self, rcs_m2: float, pd_floor: float = 1e-3) -> float:
        """Range beyond which Pd < pd_floor for this RCS: nothing to simulate out there."""
        return radar_reach_m(self.cfg, rcs_m2, pd_floor)

    def _emit(self, air: AirState, t1_s: float, view: BlockView, k: int,
              group: NDArray[np.bool_]) -> Detections:
        # The scan as compiled passes (sensors/kernels.py) with the transcendental functions
        # between them in NumPy, as before, on the rows still in play.
        cfg = self.cfg
        t0 = k * self.period
        pos = air.pos
        idx, dx, dy = radar_near(air.airborne, group, view.row_block, pos, self.pos,
                                 cfg.max_range_m)
        # the beam crosses azimuth az at t0 + az/2π·T: where was the target then?
        f, rows = radar_geometry(idx, np.arctan2(dx, dy), pos, air.vel, air.rcs_m2, self.pos,
                                 t0, self.period, t1_s, self.h1, self.re2,
                                 cfg.min_radial_speed_mps, self.snr90, cfg.reference_rcs_m2,
                                 cfg.range_pd90_m)
        pr = self.profile
        m = radar_pd_exponent(f, rows, np.arctan2(f[RX], f[RY]), np.arcsin(f[SEL]),
                              f[BASE] ** 4, self.el_max, self.mask, air.rcs_m2, pr.horizon,
                              pr.ground, pr.sea, pr.az_step_rad, pr.r_step_m, pr.terrain,
                              self.clut)
        keys = view.streams.keys(self.key)
        pd = np.power(cfg.pfa, f[EXPO, :m])  # swerling1_pd
        h, u = radar_hits(f, rows, m, pd, keys, view.row_block, view.row_local, k)
        # false alarms: a Poisson count per replication, uniform over the range-azimuth cells
        status, t_b, sensor, z, R, truth, rep = radar_finish(
            f, rows, h, ndtri(u, out=u), group, keys, view.row_block, k, self.fa_cdf,
            _CLUTTER, cfg.max_range_m, self.el_fa, t0, self.period, self.pos, self.sig,
            self.index)
        if t_b.size == 0:
            return Detections.empty()
        raise_polar_error(status)
        ev = (np.zeros((t_b.size, K)) if self.ident is None
              else self._rcs_evidence(air, view, k, z, truth, rep))
        return Detections(t_b, sensor, z, R, ev, truth, rep)

    def _rcs_evidence(self, air: AirState, view: BlockView, k: int, z: NDArray[np.float64],
                      truth: NDArray[np.int64], rep: NDArray[np.int64]) -> NDArray[np.float64]:
        """Class evidence of each report from its measured RCS: a Swerling-1 look measures
        σ·E, E ~ Exp(1) (its own stream, keyed by the object, scan and radar); a false alarm
        looks like an echo of SNR 1 at its range (σ_ref·(R/R90)⁴/SNR90 times E)."""
        real = truth >= 0
        u = np.empty(truth.size)
        if real.any():
            rows = truth[real]
            u[real] = view.streams.uniform(self.key + "/rcs", rep[real], view.row_local[rows], k)
        fa = np.flatnonzero(~real)
        if fa.size:
            # entity: the false alarm's rank among its replication's false alarms this scan
            order = np.argsort(rep[fa], kind="stable")
            r_sorted = rep[fa][order]
            first = np.searchsorted(r_sorted, r_sorted, side="left")
            rank = np.empty(fa.size, np.int64)
            rank[order] = np.arange(fa.size) - first
            u[fa] = view.streams.uniform(self.key + "/rcs", rep[fa], _CLUTTER + 1 + rank, k)
        e = -np.log(np.maximum(u, 1e-300))
        sigma = np.empty(truth.size)
        sigma[real] = air.rcs_m2[truth[real]]
        if fa.size:
            r = np.linalg.norm(z[fa] - self.pos, axis=1)
            sigma[fa] = (self.cfg.reference_rcs_m2 * (r / self.cfg.range_pd90_m) ** 4
                         / self.snr90)
        return rcs_loglik(self.ident, sigma * e, self.cfg.rcs_calibration_sigma_db)
