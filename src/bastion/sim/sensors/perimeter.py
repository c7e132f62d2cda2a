"""Perimeter sensors, cameras, ground intruders and the reaction force.

People on foot are ground entities, one row per person (arrays over every intruder of a
replication): each walks from the breach point straight at its group's target asset at its
own speed. The ground does not interact with the air battle, so it is stepped on its own
1 s grid (``_DT_S``) from the first breach until every person is stopped or at the asset.

* A fence zone (``Perimeter`` at the site) detects the group's crossing at the breach with
  ``pd``; the alarm follows ``latency_s`` later.
* Cameras (``Camera`` at the site) look every ``period_s``: a person within the camera's
  current range is detected with ``pd`` per look. The visible channel sees only by day; the
  thermal channel by day at ``ir_range_m`` and at night at ``ir_range_m ×
  ir_night_range_factor`` (``camera_range_m``).
* A group's alarm is its first detection plus that sensor's latency; a group nobody saw is
  found when its first member reaches the asset.
* The site's reaction force leaves its base ``response_time_s`` after the alarm and moves
  at ``speed_mps`` toward the nearest alarmed person still walking; everyone within
  ``capture_radius_m`` of it is stopped. A person within the asset's radius has reached it.

Nuisance alarms (wind, animals) arrive as a Poisson process at ``nuisance_per_hour``.
Every draw is keyed by (replication, subsystem, person, look), so variants are paired.
"""

from __future__ import annotations

import math

import numpy as np

from bastion.core.events import EventLog
from bastion.core.rng import Streams
from bastion.scenario.geo import Frame
from bastion.scenario.schema import Camera, Perimeter, Scenario

__all__ = ["camera_range_m", "intrusions"]

_DT_S = 1.0  # ground step: a person walks ~1.5 m, a vehicle ~6 m in it
# ASSUMED: people in a group do not walk at one speed; ±10 % uniform spread
_SPEED_SPREAD = 0.1


def camera_range_m(cam: Camera, night: bool) -> float:
    """A camera's range on a person: the best channel that works at this time of day."""
    if night:
        return cam.ir_range_m * cam.ir_night_range_factor
    return max(cam.eo_range_m, cam.ir_range_m)


def intrusions(sc: Scenario, frame: Frame, streams: Streams, log: EventLog) -> None:
    """Simulate the intruders and log their timelines, and the fences' nuisance alarms (the
    figures are derived from these events: ``outcome.metrics``). Ground events carry the
    intruder group's index in the ``engagement`` column."""
    if sc.intruders:
        _ground(sc, frame, streams, log)
    _nuisance(sc, streams, log)


def _ground(sc: Scenario, frame: Frame, streams: Streams, log: EventLog) -> None:
    groups = sc.intruders
    counts = np.array([g.count for g in groups])
    grp = np.repeat(np.arange(len(groups)), counts)
    n = grp.size
    ids = np.arange(n)
    assets = {a.name: a for s in sc.sites for a in s.assets}
    site_idx = {s.name: i for i, s in enumerate(sc.sites)}
    breach = np.array([frame.point(g.breach_at)[:2] for g in groups])[grp]
    aim = np.array([frame.point(assets[g.target].position)[:2] for g in groups])[grp]
    radius = np.array([assets[g.target].radius_m for g in groups])[grp]
    t_breach = np.array([g.breach_s for g in groups])[grp]
    speed = (np.array([g.speed_mps for g in groups])[grp]
             * (1.0 + _SPEED_SPREAD * (2.0 * streams.uniform("intruder-setup", ids, 0) - 1.0)))
    site = np.array([site_idx[g.site] for g in groups])[grp]
    d = aim - breach
    dist = np.linalg.norm(d, axis=1)
    u = d / np.maximum(dist, 1e-9)[:, None]
    pos = breach.copy()

    # detection time per person (inf: not yet). The fence fires at the breach: one crossing
    # of the fence at one place by the group, so one draw per group (the same draw as the
    # closed-form model this replaced)
    t_det = np.full(n, np.inf)
    u_fence = streams.uniform("perimeter", np.arange(len(groups)), 0)[grp]
    for s in sc.sensors:
        if isinstance(s, Perimeter):
            on = (site == site_idx[s.site]) & (u_fence < s.pd)
            t_det = np.where(on, np.minimum(t_det, t_breach + s.latency_s), t_det)
    cams = [c for c in sc.sensors if isinstance(c, Camera)]
    cam_xy = np.array([frame.point(c.position)[:2] for c in cams]).reshape(-1, 2)
    cam_r = np.array([camera_range_m(c, sc.night) for c in cams])
    cam_site = np.array([site_idx[c.site] for c in cams], np.int64)
    cam_pd = np.array([c.pd for c in cams])
    cam_lat = np.array([c.latency_s for c in cams])
    cam_every = np.array([max(1, round(c.period_s / _DT_S)) for c in cams], np.int64)

    # the reaction forces, one per site
    force_xy = np.array([
        frame.point(s.reaction_force.position)[:2] if s.reaction_force.position is not None
        else np.mean([frame.point(a.position)[:2] for a in s.assets], axis=0)
        for s in sc.sites]).reshape(-1, 2)
    f_speed = np.array([s.reaction_force.speed_mps for s in sc.sites])
    f_capture = np.array([s.reaction_force.capture_radius_m for s in sc.sites])
    respond = np.array([g.response_time_s if g.response_time_s is not None
                        else sc.sites[site_idx[g.site]].reaction_force.response_time_s
                        for g in groups])
    g_alarm = np.full(len(groups), np.inf)  # logged alarm time per group
    f_go = np.full(len(sc.sites), np.inf)  # when each force sets off

    for i, g in enumerate(groups):
        log.add(g.breach_s, "intrusion", xyz=(*frame.point(g.breach_at)[:2], 0.0),
                value=g.count, detail=g.site, engagement=i)
    walking = np.zeros(n, bool)
    done = np.zeros(n, bool)
    t0 = float(t_breach.min())
    steps = math.ceil((sc.duration_s - t0) / _DT_S)
    for step in range(steps + 1):
        t = t0 + step * _DT_S
        walking = ~done & (t >= t_breach)
        if not walking.any():
            if done.all():
                break
            continue
        # walk: straight at the asset, stopping at it
        gone = np.minimum((t - t_breach) * speed, dist)
        pos = np.where(walking[:, None], breach + u * gone[:, None], pos)
        # cameras look
        for c in range(len(cams)):
            if step % cam_every[c] or cam_r[c] <= 0.0:
                continue
            rng = np.hypot(pos[:, 0] - cam_xy[c, 0], pos[:, 1] - cam_xy[c, 1])
            see = (walking & (site == cam_site[c]) & (rng <= cam_r[c])
                   & (streams.uniform("camera", ids, step, c) < cam_pd[c]))
            t_det = np.where(see, np.minimum(t_det, t + cam_lat[c]), t_det)
        # at the asset: found there if nobody saw them before
        at = walking & (np.hypot(*(pos - aim).T) <= radius)
        t_det = np.where(at, np.minimum(t_det, t), t_det)
        # alarms due now, per group (the earliest detection of any member)
        g_det = np.full(len(groups), np.inf)
        np.minimum.at(g_det, grp, t_det)
        new = (g_det <= t) & np.isinf(g_alarm)
        for i in np.flatnonzero(new):
            g_alarm[i] = g_det[i]
            first = np.flatnonzero(grp == i)[0]
            log.add(g_det[i], "intrusion_alarm", xyz=(*pos[first], 0.0),
                    value=g_det[i] - groups[i].breach_s, detail=groups[i].site,
                    engagement=int(i))
            s_i = site_idx[groups[i].site]
            f_go[s_i] = min(f_go[s_i], g_det[i] + respond[i])
        # the reaction forces move toward the nearest alarmed person still walking
        hunted = walking & ~at & np.isfinite(g_alarm[grp])
        for s_i in np.flatnonzero(f_go <= t):
            mine = np.flatnonzero(hunted & (site == s_i))
            if mine.size == 0:
                continue
            gap = pos[mine] - force_xy[s_i]
            r = np.hypot(gap[:, 0], gap[:, 1])
            j = int(np.argmin(r))
            step_m = min(f_speed[s_i] * _DT_S, float(r[j]))
            force_xy[s_i] += gap[j] / max(float(r[j]), 1e-9) * step_m
            r = np.hypot(*(pos[mine] - force_xy[s_i]).T)
            caught = mine[r <= f_capture[s_i]]
            if caught.size:
                done[caught] = True
                for i in np.unique(grp[caught]):
                    k = int(np.sum(grp[caught] == i))
                    log.add(t, "intruders_stopped", xyz=(*force_xy[s_i], 0.0), value=k,
                            detail=groups[i].target, engagement=int(i))
        # those at the asset (and not stopped this step) have reached it
        reached = at & ~done
        if reached.any():
            done |= reached
            for i in np.unique(grp[reached]):
                k = int(np.sum(grp[reached] == i))
                log.add(t, "intruders_reached_asset", xyz=(*aim[grp == i][0], 0.0), value=k,
                        detail=groups[i].target, engagement=int(i))


def _nuisance(sc: Scenario, streams: Streams, log: EventLog) -> None:
    fences = {s.site: s for s in sc.sensors if isinstance(s, Perimeter)}
    for j, s in enumerate(fences.values()):
        lam = s.nuisance_per_hour * sc.duration_s / 3600.0
        u = float(streams.uniform("nuisance", j, 0))
        # inverse-CDF Poisson draw (lam is small)
        k, p, c = 0, math.exp(-lam), math.exp(-lam)
        while u > c and k < 1000:
            k += 1
            p *= lam / k
            c += p
        if k:
            # their times: a stream of their own, so no other draw moves
            t_n = np.sort(streams.uniform("nuisance-time", j, np.arange(k))) * sc.duration_s
            for t in t_n:
                log.add(float(t), "nuisance_alarm", detail=s.site)
