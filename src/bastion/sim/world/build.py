"""Build the truth state of one replication from a scenario.

Set-up draws come from keyed streams, one slot per parameter, so drone *i* gets the same
launch point, speed, drift and fail-safe in every variant of a scenario that keeps its
raids: comparisons between doctrines or layouts are paired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bastion.core.rng import Streams
from bastion.scenario.geo import Frame
from bastion.scenario.schema import Scenario
from bastion.sim.world.air import KIN_COLUMNS, AirState, Kind, Mode, Nav, Phase

__all__ = ["DroneInfo", "build_air", "wind_vector"]


@dataclass(frozen=True)
class DroneInfo:
    """Static facts about drone rows that the outcome needs (not state)."""

    raid: NDArray[np.int64]  # raid index per drone
    target_asset: NDArray[np.int64]  # global asset index per drone
    js_threshold_db: NDArray[np.float64]
    gnss_signal_dbw: NDArray[np.float64]
    antenna_gain_dbi: NDArray[np.float64]
    gnss_mhz: NDArray[np.float64]  # GNSS frequency it navigates on
    link_mhz: NDArray[np.float64]  # rf_link drones: control uplink frequency
    control_eirp_dbw: NDArray[np.float64]
    link_js_threshold_db: NDArray[np.float64]


def wind_vector(scenario: Scenario, streams: Streams) -> NDArray[np.float64]:
    w = scenario.wind
    speed = max(0.0, w.speed_mps + w.speed_sigma_mps * float(streams.normal("wind", 0, 0)))
    to = math.radians(w.from_deg + 180.0)  # blows toward
    return np.array([speed * math.sin(to), speed * math.cos(to), 0.0])


def build_air(
    scenario: Scenario, frame: Frame, streams: Streams, asset_enu: NDArray[np.float64],
    asset_names: list[str],
) -> tuple[AirState, DroneInfo]:
    raids = scenario.raids
    counts = [r.count for r in raids]
    nd = int(sum(counts))
    raid_of = np.repeat(np.arange(len(raids)), counts).astype(np.int64)
    ids = np.arange(nd)
    u = lambda slot: streams.uniform("drone-setup", ids, 0, slot)  # noqa: E731
    n = lambda slot: streams.normal("drone-setup", ids, 0, slot)  # noqa: E731

    afs = [scenario.airframes[r.airframe] for r in raids]
    per = lambda attr: np.array([getattr(afs[i], attr) for i in raid_of], float)  # noqa: E731

    # launch point: uniform in a disc about the raid's launch centre
    centre = np.array([frame.point(r.launch) for r in raids]).reshape(-1, 3)[raid_of]
    radius = np.array([r.launch_radius_m for r in raids])[raid_of]
    rr = radius * np.sqrt(u(0))
    th = 2 * np.pi * u(1)
    launch = centre + np.stack([rr * np.cos(th), rr * np.sin(th), np.zeros(nd)], axis=1)
    dep = [r.departure for r in raids]
    t_start = np.array([d.t_s for d in dep])[raid_of] + (2 * u(2) - 1) * np.array(
        [d.spread_s for d in dep]
    )[raid_of]
    t_start = np.maximum(t_start, 0.0)
    speed = np.maximum(per("cruise_speed_mps") + per("speed_sigma_mps") * n(3), 5.0)
    alt = per("altitude_m")
    drift = np.zeros((nd, 3))
    drift[:, 0] = per("wind_estimate_sigma_mps") * n(4)
    drift[:, 1] = per("wind_estimate_sigma_mps") * n(5)
    # fail-safe: one uniform against the cumulative table; order fixed so CRN holds
    fs_table = np.array(
        [[a.failsafe.land, a.failsafe.loiter, a.failsafe.return_home, a.failsafe.continue_ins]
         for a in afs]
    ).reshape(-1, 4)[raid_of]
    choice = (u(6)[:, None] > np.cumsum(fs_table, axis=1)).sum(axis=1).clip(0, 3)
    fs_mode = np.array([Mode.LAND, Mode.LOITER, Mode.RETURN, Mode.CRUISE], np.int8)[choice]
    js = per("js_threshold_db") + per("js_threshold_sigma_db") * n(7)
    crash_draw = u(8)

    # waypoints: the raid's route, then the aim point (its target asset) at cruise height
    w_max = max((len(r.waypoints) for r in raids), default=0) + 1
    wp = np.zeros((nd, w_max, 3))
    n_wp = np.zeros(nd, np.int64)
    target = np.zeros(nd, np.int64)
    for i, r in enumerate(raids):
        rows = raid_of == i
        pts = [frame.point(p) for p in r.waypoints]
        t_idx = asset_names.index(r.target)
        pts.append(asset_enu[t_idx])
        arr = np.array(pts)
        arr[:, 2] = afs[i].altitude_m
        wp[rows, : len(pts)] = arr
        wp[rows, len(pts):] = arr[-1]
        n_wp[rows] = len(pts)
        target[rows] = t_idx
    launch[:, 2] = alt
    # kinematics by airframe kind: multirotors take off from the ground and fly phases
    kins = [a.kinematics() for a in afs]
    multirotor = np.array([afs[i].kind == "multirotor" for i in raid_of], bool)
    kin = np.zeros((nd, len(KIN_COLUMNS)))
    for i, kn in enumerate(kins):
        rows = raid_of == i
        v_app = np.minimum(kn.approach_speed_mps, speed[rows])
        kin[rows, 0] = kn.climb_rate_mps
        kin[rows, 1] = kn.descent_rate_mps
        kin[rows, 2] = kn.approach_speed_mps
        kin[rows, 3] = kn.approach_radius_m
        # braking distance (v² − v_app²) / 2a, flown at the mean speed; the time to reach
        # cruise speed from the hover v / a, flown at half of it
        kin[rows, 4] = (speed[rows] ** 2 - v_app**2) / (2 * kn.acceleration_mps2)
        kin[rows, 5] = kn.hover_s
        kin[rows, 6] = speed[rows] / kn.acceleration_mps2
    phase = np.where(multirotor, Phase.CLIMB, Phase.FIXED).astype(np.int8)
    launch[multirotor, 2] = 0.0  # vertical take-off from the ground

    # birds
    b_pos, b_vel, b_rcs, b_centre, b_rad, b_weave = [], [], [], [], [], []
    for bi, b in enumerate(scenario.birds):
        if b.count == 0:
            continue
        site = scenario.site(b.site)
        c = np.mean([frame.point(a.position) for a in site.assets], axis=0)
        k = np.arange(b.count)
        key = f"birds/{bi}"
        rr = b.radius_m * np.sqrt(streams.uniform(key, k, 0, 0))
        th = 2 * np.pi * streams.uniform(key, k, 0, 1)
        hd = 2 * np.pi * streams.uniform(key, k, 0, 2)
        h = b.altitude_m * (0.5 + streams.uniform(key, k, 0, 3))
        sp = b.speed_mps * (0.8 + 0.4 * streams.uniform(key, k, 0, 4))
        b_pos.append(np.stack([c[0] + rr * np.cos(th), c[1] + rr * np.sin(th), h], 1))
        b_vel.append(np.stack([sp * np.sin(hd), sp * np.cos(hd), np.zeros(b.count)], 1))
        b_rcs.append(np.full(b.count, b.rcs_m2))
        b_centre.append(np.repeat(c[None], b.count, 0))
        b_rad.append(np.full(b.count, b.radius_m))
        # the weave: amplitude (rad/s), angular frequency (rad/s) and phase per bird
        period = b.turn_period_s * (0.75 + 0.5 * streams.uniform(key, k, 0, 5))
        b_weave.append(np.stack([np.full(b.count, math.radians(b.turn_rate_dps)),
                                 2 * np.pi / period,
                                 2 * np.pi * streams.uniform(key, k, 0, 6)], 1))
    nb = int(sum(len(x) for x in b_rcs))

    # own aircraft: alternate take-offs and landings on the runway's heading
    o_pos, o_vel, o_rcs, o_t0, o_t1, o_xpdr = [], [], [], [], [], []
    for oi, o in enumerate(scenario.own_aircraft):
        rw = frame.point(o.runway)
        hd = math.radians(o.heading_deg)
        u_hd = np.array([math.sin(hd), math.cos(hd)])
        for j in range(o.count):
            t0 = o.first_s + j * o.interval_s
            on = streams.uniform(f"own/{oi}", j, 0, 0) < o.p_transponder_on
            if j % 2 == 0:  # take-off: climb out to 30 km
                pos = np.array([rw[0], rw[1], 0.0])
                v = np.array([*(u_hd * o.speed_mps), o.climb_mps])
            else:  # landing: a 3° approach from 20 km
                approach = 20_000.0
                pos = np.array([*(rw[:2] - u_hd * approach), approach * math.tan(math.radians(3))])
                v = np.array([*(u_hd * o.speed_mps), -o.speed_mps * math.tan(math.radians(3))])
            dur = (30_000.0 if j % 2 == 0 else 20_000.0) / o.speed_mps
            o_pos.append(pos)
            o_vel.append(v)
            o_rcs.append(o.rcs_m2)
            o_t0.append(t0)
            o_t1.append(t0 + dur)
            o_xpdr.append(bool(on))
    no = len(o_pos)

    n_all = nd + nb + no
    pos = np.concatenate(
        [launch] + b_pos + ([np.array(o_pos)] if no else []), axis=0
    ) if n_all else np.zeros((0, 3))
    vel = np.zeros((n_all, 3))
    if nb:
        vel[nd:nd + nb] = np.concatenate(b_vel)
    if no:
        vel[nd + nb:] = np.array(o_vel)
    kind = np.concatenate(
        [np.full(nd, Kind.DRONE), np.full(nb, Kind.BIRD), np.full(no, Kind.OWN)]
    ).astype(np.int8)
    rcs = np.concatenate([per("rcs_m2"), *b_rcs, np.array(o_rcs, float)])
    mode = np.full(n_all, Mode.WAITING, np.int8)
    mode[nd:nd + nb] = Mode.CRUISE  # birds are there from the start
    t_start_all = np.concatenate([t_start, np.zeros(nb), np.array(o_t0, float)])
    t_end = np.concatenate([np.full(nd + nb, np.inf), np.array(o_t1, float)])
    emits = np.zeros(n_all, bool)
    emits[:nd] = np.array([afs[i].emits_rf for i in raid_of], bool)
    xpdr = np.zeros(n_all, bool)
    xpdr[nd + nb:] = np.array(o_xpdr, bool)
    nav_kind = np.array([afs[i].navigation for i in raid_of])

    air = AirState(
        kind=kind, pos=pos.astype(float), vel=vel, rcs_m2=rcs, mode=mode,
        t_start_s=t_start_all, emits_rf=emits, transponder=xpdr, t_end_s=t_end,
        n_drones=nd, speed_mps=speed, alt_m=alt, wp=wp, n_wp=n_wp,
        wp_idx=np.zeros(nd, np.int64), launch=launch,
        nav=np.where(nav_kind == "ins", Nav.INS, Nav.GNSS).astype(np.int8),
        nav_err=np.zeros((nd, 3)), drift_mps=drift,
        gnss_susceptible=nav_kind == "gnss", rf_link=nav_kind == "rf_link",
        denied_since_s=np.full(nd, np.nan), failsafe=fs_mode,
        lock_timeout_s=per("lock_loss_timeout_s"), glide_ratio=per("glide_ratio"),
        crash_draw=crash_draw, p_crash=per("p_crash_on_forced_landing"),
        endurance_s=per("endurance_s"),
        bird_centre=np.concatenate(b_centre) if nb else np.zeros((0, 3)),
        bird_radius_m=np.concatenate(b_rad) if nb else np.zeros(0),
        bird_weave=np.concatenate(b_weave) if nb else np.zeros((0, 3)),
        phase=phase, phase_t_s=np.full(nd, np.nan), kin=kin,
    )
    info = DroneInfo(
        raid=raid_of, target_asset=target, js_threshold_db=js,
        gnss_signal_dbw=per("gnss_signal_dbw"),
        antenna_gain_dbi=per("antenna_gain_to_jammer_dbi"),
        gnss_mhz=per("gnss_frequency_mhz"), link_mhz=per("control_link_mhz"),
        control_eirp_dbw=per("control_eirp_dbw"),
        link_js_threshold_db=per("link_js_threshold_db"),
    )
    return air, info
