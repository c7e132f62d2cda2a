"""One decision epoch of the doctrine: jammers first (area effectors), then point effectors.

1. Weapons control: hold → nothing; tight / free → a track is a candidate only when its
   P(hostile) clears the matching threshold and it threatens an asset (P(reaches) above
   ``MIN_P_REACH``, an ASSUMED floor so a drone gliding away after a fail-safe is left alone).
2. Jammers radiate while a candidate is inside their activation range (they act on every
   susceptible drone in their footprint; the planner only switches them).
3. Soft kill first: a candidate inside a radiating jammer's nominal footprint is left to
   it for ``soft_kill_wait_s`` unless its time-to-go falls below ``kinetic_reserve_s``; one
   a spoofer visibly pushes off its approach is left to it for as long as that lasts
   (``hold_fire_on_spoofed``), again down to the kinetic reserve.
4. Point effectors: feasibility from envelopes, track quality and rules of engagement. One
   weapon–target assignment covers the threats engageable now *and* those not yet in reach
   (threats heading for an asset inside the effector's envelope, and threats left to a
   jammer), with each effector's capacity its rounds left (up to a planning horizon). An
   effector fires this epoch at its best current target; when the plan gives its rounds to
   threats still to come, it holds them in reserve. Shoot-look-shoot: each shot is assessed
   before its target is planned again.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numba as nb
import numpy as np
from numpy.typing import NDArray

from bastion.assess.threat import Threats
from bastion.respond.assign import solve
from bastion.respond.effectors import EffectorState
from bastion.respond.jamming import radius_m
from bastion.respond.kinetic import intercepts
from bastion.respond.roe import NoFireZones
from bastion.scenario.schema import Doctrine

__all__ = ["SPOOF_SIDE_FRACTION", "Proposal", "assign_point_effectors", "candidates", "plan",
           "soft_kill_hold", "within_reach"]

MIN_P_REACH = 0.05  # ASSUMED
PLAN_SHOTS = 4  # ASSUMED planning horizon: rounds per effector the plan looks ahead
FUTURE_PK_FACTOR = 0.8  # ASSUMED: Pk of a future shot relative to pk_max (geometry unknown)
JAMMER_HOLD_S = 60.0  # ASSUMED: keep radiating this long after the last candidate left
# ASSUMED: a track inside a spoofer's footprint drifting sideways (off the way to the asset
# it threatens) along the spoofer's push direction at least this share of the spoofer's ramp
# rate is taken as captured (half: track velocity noise is a few m/s at the built-ins' rates)
SPOOF_SIDE_FRACTION = 0.5
_LEAD_MIN_SPEED_MPS = 5.0  # ASSUMED: below this a track's heading is not judged
# ASSUMED nominal receiver the defender plans against (it cannot know the threat's):
NOMINAL_RX = {"g_rx_dbi": -10.0, "signal_dbw": -160.0, "threshold_db": 35.0,
              "gnss_mhz": 1575.42}  # GPS L1: the receiver the planner's radius is for


@dataclass(frozen=True)
class Proposal:
    effector: int
    track_row: int
    pk: float
    p_nfz: float
    t_flight_s: float
    reason: str


def jammer_radius_m(eff: EffectorState, j: int) -> float:
    jam = dict(eff.jammers)[j]
    return _radius(jam.mode, jam.eirp_dbw, NOMINAL_RX["gnss_mhz"], jam.spoof_capture_margin_db,
                   NOMINAL_RX["g_rx_dbi"], NOMINAL_RX["signal_dbw"], NOMINAL_RX["threshold_db"])


@functools.cache
def _radius(mode: str, eirp_dbw: float, frequency_mhz: float, margin_db: float,
            g_rx_dbi: float, signal_dbw: float, threshold_db: float) -> float:
    # a few jammer configurations per run, asked for every epoch: keep each answer
    thr = margin_db if mode == "spoof" else threshold_db
    return radius_m(eirp_dbw, frequency_mhz, g_rx_dbi, signal_dbw, thr)


def candidates(doctrine: Doctrine, p_hostile: NDArray[np.float64], confirmed: NDArray[np.bool_],
               threats: Threats) -> NDArray[np.bool_]:
    if doctrine.weapons_control == "hold":
        return np.zeros_like(confirmed)
    thr = doctrine.p_hostile_free if doctrine.weapons_control == "free" else \
        doctrine.p_hostile_tight
    return confirmed & (p_hostile >= thr) & (threats.p_reach >= MIN_P_REACH)


def soft_kill_hold(
    t_s: float, doctrine: Doctrine, eff: EffectorState, radiating: NDArray[np.bool_],
    xy: NDArray[np.float64], asset_xy: NDArray[np.float64], asset: NDArray[np.int64],
    time_to_go_s: NDArray[np.float64], soft_since_s: NDArray[np.float64],
    vel_xy: NDArray[np.float64] | None = None,
) -> NDArray[np.bool_]:
    """Rows left to a jammer this epoch; ``soft_since_s`` is updated in place.

    Soft kill first: a track heading for an asset (``asset``) that a radiating jammer's
    footprint covers is left to the jammer until it has spent soft_kill_wait_s inside the
    footprint without going down, or until its time-to-go falls below the kinetic reserve.
    Led away: with ``vel_xy`` (n, 2) given and ``hold_fire_on_spoofed``, a track inside a
    radiating spoofer's footprint drifting sideways off the way to the asset it threatens,
    along the spoofer's push direction, at ``SPOOF_SIDE_FRACTION`` of its ramp rate or more
    is held for as long as that lasts — the spoofer has it, and a
    kinetic shot would only trade a drone landing where the defender chose for debris and a
    round — until its time-to-go falls below the kinetic reserve.
    ``radiating`` (n, E) holds each row's own jammer states, so one call can serve the tracks
    of many replications at once (row by row it is the same arithmetic as one at a time).
    """
    n = xy.shape[0]
    jams = np.array([j for j, _ in eff.jammers], np.int64)
    radii = np.array([jammer_radius_m(eff, int(j)) for j in jams])
    rates = np.array([jam.spoof_rate_mps for _, jam in eff.jammers], float)
    if n and jams.size and asset_xy.shape[0] == 0 and radiating[:, jams].any():
        raise IndexError("a jammer footprint needs the assets it protects")
    # the compiled pass reads these without bounds checks
    if n and jams.size and (asset.min() < 0 or asset.max() >= asset_xy.shape[0]):
        raise IndexError("asset index out of range")
    if radiating.shape != (n, eff.pos.shape[0]) or time_to_go_s.shape[0] != n \
            or soft_since_s.shape[0] != n or (vel_xy is not None and len(vel_xy) != n):
        raise ValueError("radiating (n, E), time_to_go_s, soft_since_s and vel_xy need n rows")
    lead = vel_xy is not None and doctrine.hold_fire_on_spoofed
    v = np.ascontiguousarray(vel_xy, dtype=float) if lead else np.zeros((n, 2))
    hold, led = _hold_rows(t_s, radiating, jams, eff.pos, radii, xy, asset_xy, asset,
                           time_to_go_s, soft_since_s, doctrine.soft_kill_wait_s,
                           doctrine.kinetic_reserve_s, eff.push_xy, rates, v, lead,
                           SPOOF_SIDE_FRACTION)
    if not doctrine.soft_kill_first:
        return led
    return hold | led


@nb.njit(cache=True, error_model="numpy")
def _hold_rows(t_s, radiating, jams, eff_pos, radii, xy, asset_xy, asset, time_to_go_s,
               soft_since_s, wait_s, reserve_s, push_xy, rates, vel_xy, lead,
               side_frac):  # pragma: no cover - compiled
    # Row by row (rows never mix): inside a radiating jammer's footprint → soft_since set
    # if unset; held when the asset it heads for is covered by a radiating jammer, it has
    # waited less than wait_s and its time-to-go exceeds the reserve. Distances are
    # sqrt(dx² + dy²) as np.linalg.norm computes them, so the comparisons are unchanged.
    # "led" (with lead): inside a radiating spoofer's footprint, heading for its divert
    # point within the lead angle and more nearly than for its asset, time-to-go above the
    # reserve.
    n = xy.shape[0]
    hold = np.zeros(n, np.bool_)
    led = np.zeros(n, np.bool_)
    for i in range(n):
        inside = False
        protected = False
        towards = False
        for q in range(jams.shape[0]):
            j = jams[q]
            if not radiating[i, j]:
                continue
            dx = xy[i, 0] - eff_pos[j, 0]
            dy = xy[i, 1] - eff_pos[j, 1]
            here = math.sqrt(dx * dx + dy * dy) <= radii[q]
            if here:
                inside = True
            a = asset[i]
            ax = asset_xy[a, 0] - eff_pos[j, 0]
            ay = asset_xy[a, 1] - eff_pos[j, 1]
            if math.sqrt(ax * ax + ay * ay) <= radii[q]:
                protected = True
            if lead and here and push_xy[j, 0] == push_xy[j, 0]:
                # A captured drone steers its (false) belief onto its route, so its true
                # track is its usual approach plus the spoofer's push: a sideways velocity
                # along push_xy at the spoofer's ramp rate. The spoofer cannot know the
                # target, so the tell is that sideways drift relative to the way to the
                # asset the track threatens, at least half the ramp rate.
                hx = asset_xy[a, 0] - xy[i, 0]
                hy = asset_xy[a, 1] - xy[i, 1]
                nh = math.sqrt(hx * hx + hy * hy)
                vx = vel_xy[i, 0]
                vy = vel_xy[i, 1]
                nv = math.sqrt(vx * vx + vy * vy)
                if nv >= _LEAD_MIN_SPEED_MPS and nh > 0.0:
                    ux = hx / nh
                    uy = hy / nh
                    along = vx * ux + vy * uy
                    side = (vx - along * ux) * push_xy[j, 0] + (vy - along * uy) * push_xy[j, 1]
                    if side >= side_frac * rates[q]:
                        towards = True
        s = soft_since_s[i]
        if inside and s != s:
            s = t_s
            soft_since_s[i] = s
        waited = t_s - (t_s if s != s else s)
        hold[i] = protected and waited < wait_s and time_to_go_s[i] > reserve_s
        led[i] = towards and time_to_go_s[i] > reserve_s
    return hold, led


def within_reach(
    eff: EffectorState, weap: NDArray[np.int64], delay_s: NDArray[np.float64],
    xy: NDArray[np.float64], speed_mps: NDArray[np.float64], slack: float = 0.0,
) -> NDArray[np.bool_]:
    """(weapons, targets): whether the target could be intercepted at all.

    A target farther than it can fly in the delay plus the longest flight time, beyond
    maximum range, cannot be (an exact bound, so skipping the intercept geometry where it
    fails changes nothing). ``slack`` widens the bound by that fraction, for a caller that
    must never rule out a pair which the bound computed elsewhere admits.
    """
    d_h = np.linalg.norm(xy[None, :, :] - eff.pos[weap][:, None, :2], axis=2)
    v_max = speed_mps[None, :]
    reach_m = eff.max_range_m[weap][:, None] * (1.0 + v_max / eff.speed_mps[weap][:, None]) \
        + v_max * delay_s[:, None] + 1.0
    if slack:
        reach_m = reach_m * (1.0 + slack)
    return d_h <= reach_m


def plan(
    t_s: float, doctrine: Doctrine, eff: EffectorState, x: NDArray[np.float64],
    P: NDArray[np.float64], cand: NDArray[np.bool_], threats: Threats,
    busy_tracks: NDArray[np.bool_],
    soft_since_s: NDArray[np.float64], nfz: NoFireZones, wind: NDArray[np.float64],
    expected_delay_s: float, asset_xy: NDArray[np.float64],
) -> list[Proposal]:
    """Point-effector proposals for this epoch of one group. ``soft_since_s`` is updated in
    place. (The decision stage runs the same two steps, the holds and the assignment, with
    the holds worked out for many groups at once: see ``respond.decision``.)"""
    radiating = np.broadcast_to(eff.radiating, (cand.shape[0], eff.radiating.size))
    hold_soft = soft_kill_hold(t_s, doctrine, eff, radiating, x[:, :2], asset_xy, threats.asset,
                               threats.time_to_go_s, soft_since_s, x[:, 3:5])
    return assign_point_effectors(t_s, doctrine, eff, x, P, cand & ~busy_tracks & ~hold_soft,
                                  cand & ~busy_tracks & hold_soft, threats, nfz, wind,
                                  expected_delay_s, asset_xy)


def assign_point_effectors(
    t_s: float, doctrine: Doctrine, eff: EffectorState, x: NDArray[np.float64],
    P: NDArray[np.float64], now_ok: NDArray[np.bool_], later: NDArray[np.bool_],
    threats: Threats, nfz: NoFireZones, wind: NDArray[np.float64], expected_delay_s: float,
    asset_xy: NDArray[np.float64],
) -> list[Proposal]:
    """Proposals of one group: ``now_ok`` rows may be engaged now, ``later`` rows (held for a
    jammer) only count as threats still to come in the assignment."""
    weap = np.flatnonzero(eff.ready(t_s))
    tgt = np.flatnonzero(now_ok | later)
    if weap.size == 0 or not now_ok.any():
        return []
    delay = eff.reaction_s[weap] + expected_delay_s
    # Most epochs the candidates are still far out, beyond any weapon's reach.
    cur = np.flatnonzero(now_ok)
    speed = np.linalg.norm(x[cur, 3:], axis=1)
    if not within_reach(eff, weap, delay, x[cur][:, :2], speed).any():
        return []
    ic = intercepts(eff.pos[weap], eff.speed_mps[weap], delay, eff.min_range_m[weap],
                    eff.max_range_m[weap], eff.max_alt_m[weap], eff.pk_max[weap],
                    eff.required_sigma_m[weap], eff.error_scale_m[weap],
                    eff.cross_scale_mps[weap], ~eff.gun[weap], x[tgt], P[tgt],
                    burst_rounds=eff.burst_rounds[weap], min_alt_m=eff.min_alt_m[weap])
    feas = ic.feasible & (ic.pk > 0) & now_ok[tgt][None, :]
    if eff.profiles and any(p is not None for p in eff.profiles):
        feas &= eff.visible(weap, ic.point)  # the intercept point in line of sight
    p_nfz = np.zeros_like(ic.pk)
    if nfz and feas.any():
        vel = np.broadcast_to(x[tgt][None, :, 3:], ic.point.shape)
        p_nfz = ic.pk * nfz.p_debris(ic.point, vel, wind)
        gun = eff.gun[weap]
        if gun.any():
            p_nfz[gun] += (1 - ic.pk[gun]) * nfz.p_rounds(
                np.broadcast_to(eff.pos[weap][gun][:, None, :], ic.point[gun].shape),
                ic.point[gun], np.broadcast_to(eff.round_max_range_m[weap][gun][:, None],
                                               ic.range_m[gun].shape))
        feas &= p_nfz <= doctrine.nfz_epsilon
    if not feas.any():
        return []
    # threats still to come for this effector: not engageable now, but heading for an asset
    # inside its envelope (ROE for those shots is checked when they become current)
    reach = np.linalg.norm(asset_xy[threats.asset[tgt]][None, :, :] - eff.pos[weap][:, None, :2],
                           axis=2) <= eff.max_range_m[weap][:, None]
    future = reach & ~ic.feasible
    p = np.where(feas, ic.pk, np.where(future, FUTURE_PK_FACTOR * eff.pk_max[weap][:, None], 0.0))
    # "optimal": the solver's untimed auto path (greedy, layered start and local search; about
    # a millisecond at these sizes), not the MILP, which costs more per epoch than it gains here
    method = "greedy" if doctrine.assignment == "greedy" else "auto"
    sol = solve(p, threats.value[tgt], capacity=np.minimum(eff.rounds[weap], PLAN_SHOTS),
                feasible=feas | future, cost=eff.cost_usd[weap],
                cost_weight=doctrine.cost_weight,
                method=method)
    out = []
    gains = []
    for a in range(weap.size):
        # fire now at the current target the plan values most for this effector
        gain = np.where(feas[a] & (sol.shots[a] > 0), ic.pk[a] * threats.value[tgt], -1.0)
        b = int(np.argmax(gain))
        if gain[b] > 0:
            out.append(Proposal(int(weap[a]), int(tgt[b]), float(ic.pk[a, b]),
                                float(p_nfz[a, b]), float(ic.t_flight_s[a, b]), sol.method))
            gains.append(float(gain[b]))
    return _within_channels(eff, t_s, out, gains)


def _within_channels(eff: EffectorState, t_s: float, out: list[Proposal],
                     gains: list[float]) -> list[Proposal]:
    """At most as many proposals per fire unit as it has channels free: the most valuable
    ones (weapons of one vehicle share its fire-control channels)."""
    if len(out) < 2:
        return out
    free = eff.free_channels(t_s).copy()
    keep = np.zeros(len(out), bool)
    for i in np.argsort(-np.array(gains), kind="stable"):
        u = eff.unit[out[i].effector]
        if u >= 0 and free[u] > 0:
            free[u] -= 1
            keep[i] = True
    return [p for p, k in zip(out, keep, strict=True) if k]
