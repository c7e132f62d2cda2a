"""Rotating search radar: Swerling-1 detection, MTI notch, horizon, masks, beam-time stamps.

Detection: ``Pd = Pfa ** (1 / (1 + SNR))`` (Swerling 1, square-law detector), with
``SNR = SNR90 · (σ / σ_ref) · (R90 / R)^4`` calibrated so that a target of the reference
RCS is seen with Pd 0.9 at ``range_pd90_m``. False alarms are not a separate knob: each scan
has Poisson(Pfa × resolution cells) of them, with cells = range cells × azimuth beams.
Each report is stamped with the time the beam crossed its azimuth.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from bastion.scenario.geo import radar_horizon_m
from bastion.scenario.schema import Radar
from bastion.sensors.base import BlockView, Detections, K, PeriodicSensor
from bastion.tracking import polar_to_enu
from bastion.world.air import AirState

__all__ = ["RadarSensor", "swerling1_pd"]

_CLUTTER = 1 << 40  # entity ids of false alarms start here (never a world row)


def swerling1_pd(snr: NDArray[np.float64], pfa: float) -> NDArray[np.float64]:
    return np.power(pfa, 1.0 / (1.0 + snr))


class RadarSensor(PeriodicSensor):
    def __init__(self, cfg: Radar, index: int, pos_enu: NDArray[np.float64]) -> None:
        self.cfg = cfg
        self.index = index
        self.pos = pos_enu
        self.key = f"radar/{index}"
        # SNR at which Pd = 0.9 for this Pfa (Swerling 1)
        self.snr90 = math.log(cfg.pfa) / math.log(0.9) - 1.0
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
        self.reset(1)
        self.period = cfg.scan_period_s

    def reach_m(self, rcs_m2: float, pd_floor: float = 1e-3) -> float:
        """Range beyond which Pd < pd_floor for this RCS: nothing to simulate out there."""
        snr_floor = math.log(self.cfg.pfa) / math.log(pd_floor) - 1.0
        r = self.cfg.range_pd90_m * (self.snr90 * rcs_m2 / self.cfg.reference_rcs_m2
                                     / max(snr_floor, 1e-9)) ** 0.25
        return min(r, self.cfg.max_range_m)

    def _polar(self, p: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
        rel = p - self.pos
        r = np.linalg.norm(rel, axis=1)
        az = np.mod(np.arctan2(rel[:, 0], rel[:, 1]), 2 * np.pi)
        el = np.arcsin(np.clip(rel[:, 2] / np.maximum(r, 1e-9), -1, 1))
        return rel, r, az, el

    def _emit(self, air: AirState, t1_s: float, view: BlockView, k: int,
              group: NDArray[np.bool_]) -> Detections:
        cfg = self.cfg
        t0 = k * self.period
        idx = np.flatnonzero(air.airborne & group[view.row_block])
        pos, vel = air.pos[idx], air.vel[idx]
        _, r, az, _ = self._polar(pos)
        near = r <= cfg.max_range_m
        idx, pos, vel, az = idx[near], pos[near], vel[near], az[near]
        # the beam crosses azimuth az at t0 + az/2π·T: where was the target then?
        t_b = t0 + az / (2 * np.pi) * self.period
        pb = pos - vel * (t1_s - t_b)[:, None]
        rel, r, az, el = self._polar(pb)
        ok = (r <= radar_horizon_m(self.pos[2], pb[:, 2])) & (pb[:, 2] > 0)
        ok &= el <= math.radians(cfg.elevation_coverage_deg)
        for a0, a1, emin in self.mask:
            a = np.degrees(az)
            sector = (a >= a0) & (a <= a1) if a0 <= a1 else (a >= a0) | (a <= a1)
            ok &= ~(sector & (np.degrees(el) < emin))
        v_rad = np.einsum("ij,ij->i", vel, rel) / np.maximum(r, 1e-9)
        ok &= np.abs(v_rad) >= cfg.min_radial_speed_mps
        snr = self.snr90 * (air.rcs_m2[idx] / cfg.reference_rcs_m2) * (cfg.range_pd90_m / r) ** 4
        pd = np.where(ok, swerling1_pd(snr, cfg.pfa), 0.0)
        blk = view.row_block[idx]
        hit = view.streams.uniform(self.key, blk, view.row_local[idx], k, 0) < pd
        idx, r, az, el, t_b, blk = idx[hit], r[hit], az[hit], el[hit], t_b[hit], blk[hit]
        noise = view.streams.normal(self.key, blk[:, None],
                                    view.row_local[idx][:, None], k, np.array([1, 2, 3]))
        rm = r + noise[:, 0] * self.sig[0]
        azm = az + noise[:, 1] * self.sig[1]
        elm = el + noise[:, 2] * self.sig[2]
        # false alarms: a Poisson count per replication, uniform over the range-azimuth cells
        bs = np.flatnonzero(group)
        n_fa = np.searchsorted(self.fa_cdf, view.streams.uniform(
            self.key, bs, _CLUTTER, k, 0)).astype(np.int64)
        total = int(n_fa.sum())
        if total:
            fb = np.repeat(bs, n_fa)
            j = _CLUTTER + 1 + np.arange(total) - np.repeat(np.cumsum(n_fa) - n_fa, n_fa)
            u = view.streams.uniform(self.key, fb[:, None], j[:, None], k,
                                     np.array([1, 2, 3, 4]))
            rm = np.concatenate([rm, 200.0 + u[:, 0] * (cfg.max_range_m - 200.0)])
            az_fa = u[:, 1] * 2 * np.pi
            azm = np.concatenate([azm, az_fa])
            elm = np.concatenate([elm, u[:, 2] * math.radians(5.0)])
            t_b = np.concatenate([t_b, t0 + az_fa / (2 * np.pi) * self.period])
            idx = np.concatenate([idx, np.full(total, -1)])
            blk = np.concatenate([blk, fb])
        m = idx.size
        if m == 0:
            return Detections.empty()
        z, R = polar_to_enu(self.pos, rm, azm, elm, *self.sig)
        return Detections(t_b, np.full(m, self.index, np.int64), z, R, np.zeros((m, K)),
                          idx.astype(np.int64), blk.astype(np.int64))
