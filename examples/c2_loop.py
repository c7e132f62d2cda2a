"""The C2 stages on a synthetic radar feed, with no simulator: tracker → assess → decision
stage → engagement book, as the live driver runs them. Three drones fly at Khmeimim's
first asset from 14 km; a radar beside it reports range, azimuth and elevation every second.

    python examples/c2_loop.py
"""

import numpy as np

from bastion import load_scenario
from bastion.core.events import EventLog
from bastion.respond.book import EngagementBook
from bastion.respond.decision import Assets, DecisionStage
from bastion.respond.effectors import EffectorStatus, build_effectors
from bastion.respond.ports import AutoOperator, StatusWeapons
from bastion.respond.roe import NoFireZones
from bastion.scenario import Frame
from bastion.tracking import Tracker, polar_to_enu


def main(seconds: int = 400) -> EventLog:
    sc = load_scenario("khmeimim-2018")
    frame, site = Frame(sc.origin), sc.sites[0]
    a_enu = np.array([frame.point(a.position) for a in site.assets])
    assets = Assets(a_enu, np.array([a.radius_m for a in site.assets]),
                    np.array([a.value for a in site.assets]))
    eff = build_effectors(sc, frame)
    status, log = EffectorStatus.initial(eff, 1), EventLog(0)  # one group: this site
    nfz = NoFireZones([frame.polygon(z.polygon) for z in site.no_fire_zones])
    stage = DecisionStage(sc.doctrine, eff, assets, nfz, [], 1)
    tracker = Tracker(id_base=0)
    book = EngagementBook(sc.doctrine, eff, status, [log], AutoOperator(delay_s=5.0),
                          StatusWeapons(eff, status, [log]), tracker, stage.is_threat)
    rng, bearing = np.random.default_rng(1), np.radians([150.0, 165.0, 180.0])  # from north
    start = a_enu[0] + np.c_[14e3 * np.sin(bearing), 14e3 * np.cos(bearing), np.full(3, 300.0)]
    vel = (a_enu[0] - start) / np.linalg.norm(a_enu[0] - start, axis=1)[:, None] * 35.0
    radar = a_enu[0] + np.array([200.0, 0.0, 10.0])
    for t in range(1, seconds):
        truth = start + vel * t
        d = truth - radar
        rng_m = np.linalg.norm(d, axis=1)
        az, el = np.arctan2(d[:, 0], d[:, 1]), np.arcsin(d[:, 2] / rng_m)
        z, R = polar_to_enu(radar, rng_m + rng.normal(0, 10, 3), az + rng.normal(0, 2e-3, 3),
                            el + rng.normal(0, 2e-3, 3), 10.0, 2e-3, 2e-3)
        tracks = tracker.step(float(t), z, R)
        c = tracks.confirmed
        dec = stage.epoch(float(t), np.ones(1, bool), tracks.id[c], np.zeros(c.sum(), np.int64),
                          np.c_[tracks.position[c], tracks.velocity[c]], tracks.covariance[c],
                          np.zeros((c.sum(), 3)), status, [], book.engaged, np.zeros((1, 3)))
        for _g, track_id, p in dec.proposals:
            book.propose(0, float(t), p, track_id, track_id)
        if t >= book.wake(0):
            book.progress(0, float(t))
    return log


if __name__ == "__main__":
    for row in main().table().to_pylist():
        print(f"{row['t_s']:7.1f} s  {row['kind']:9s} track {row['track']:3d}  "
              f"effector {row['effector']:2d}  {row['detail']}")
