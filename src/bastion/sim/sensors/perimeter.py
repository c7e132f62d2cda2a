"""Perimeter sensors and ground intruders.

People on foot breaching a fence do not interact with the air picture, so their timeline
is computed in closed form: the fence zone alarms at the breach with probability ``pd``
after its latency; a missed breach is only found when the intruders reach the asset. A
response team stops them ``response_time_s`` after the alarm — in time or not. Nuisance
alarms (wind, animals) arrive as a Poisson process at ``nuisance_per_hour``.
"""

from __future__ import annotations

import math

import numpy as np

from bastion.core.events import EventLog
from bastion.core.rng import Streams
from bastion.scenario.geo import Frame
from bastion.scenario.schema import Perimeter, Scenario

__all__ = ["intrusions"]


def intrusions(sc: Scenario, frame: Frame, streams: Streams, log: EventLog) -> None:
    """Log the intruders' timelines and the fences' nuisance alarms (the figures are derived
    from these events: ``outcome.metrics``)."""
    fences = {s.site: s for s in sc.sensors if isinstance(s, Perimeter)}
    for i, g in enumerate(sc.intruders):
        breach = frame.point(g.breach_at)
        asset = next(a for s in sc.sites for a in s.assets if a.name == g.target)
        walk_s = float(np.linalg.norm(frame.point(asset.position)[:2] - breach[:2])) / g.speed_mps
        t_reach = g.breach_s + walk_s
        log.add(g.breach_s, "intrusion", xyz=breach, value=g.count, detail=sc.intruders[i].site)
        sensor = fences.get(g.site)
        u = float(streams.uniform("perimeter", i, 0))
        if sensor is not None and u < sensor.pd:
            t_alarm = g.breach_s + sensor.latency_s
        else:
            t_alarm = t_reach  # found only when they get there
        log.add(t_alarm, "intrusion_alarm", xyz=breach, value=t_alarm - g.breach_s)
        if t_alarm + g.response_time_s <= t_reach:
            log.add(t_alarm + g.response_time_s, "intruders_stopped", value=g.count)
        else:
            log.add(t_reach, "intruders_reached_asset", value=g.count, detail=g.target)
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
