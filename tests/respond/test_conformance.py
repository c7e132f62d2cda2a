"""Conformance: the decision stage and the engagement book give each group the same decisions
whether it runs alone (a live site) or among others (a lock-step block of replications)."""

from __future__ import annotations

import numpy as np
import pytest

from bastion.core.events import EventLog
from bastion.respond.book import EngagementBook
from bastion.respond.decision import Assets, DecisionStage, Turret
from bastion.respond.effectors import EffectorStatus, build_effectors
from bastion.respond.ports import AutoOperator, StatusWeapons
from bastion.respond.roe import NoFireZones
from bastion.scenario import Frame, load_scenario

G = 4


class Tracks:
    """Synthetic confirmed tracks: drones flying straight at an asset, one set per group;
    ids unique across groups. Also the book's track port."""

    def __init__(self, target: np.ndarray, groups: list[int]) -> None:
        self.x0, self.ids, self.group = [], [], []
        for g in groups:
            rng = np.random.default_rng(g)
            for k in range(3):
                brg = rng.uniform(0, 2 * np.pi)
                r = rng.uniform(9e3, 16e3)
                p = target + np.array([r * np.sin(brg), r * np.cos(brg), 250.0])
                v = (target - p) / np.linalg.norm(target - p) * rng.uniform(28, 40)
                v[2] = 0.0
                self.x0.append(np.r_[p, v])
                self.ids.append(1000 * g + k)
                self.group.append(g)
        self.x0, self.ids = np.array(self.x0), np.array(self.ids, np.int64)
        self.group = np.array(self.group, np.int64)
        self.alive = np.ones(self.ids.size, bool)
        self.P = np.diag([30.0**2] * 3 + [3.0**2] * 3)

    def at(self, t: float):
        x = self.x0.copy()
        x[:, :3] += x[:, 3:] * t
        a = self.alive
        return (self.ids[a], self.group[a], x[a], np.repeat(self.P[None], a.sum(), 0),
                np.tile([0.0, -4.0, -4.0], (a.sum(), 1)))

    def state_at(self, key: int, t: float):
        i = np.flatnonzero((self.ids == key) & self.alive)
        if i.size == 0:
            return None
        return self.at(t)[2][self.ids[self.alive] == key], self.P[None].copy()

    def drop(self, key: int) -> None:
        self.alive[self.ids == key] = False


def _run(groups: list[int], n_groups: int) -> dict[int, list]:
    """Run the stage and book for the given scenario groups packed as 0..n_groups-1."""
    sc = load_scenario("khmeimim-2018")
    frame, site = Frame(sc.origin), sc.sites[0]
    enu = np.array([frame.point(a.position) for a in site.assets])
    assets = Assets(enu, np.array([a.radius_m for a in site.assets]),
                    np.array([a.value for a in site.assets]))
    eff = build_effectors(sc, frame)
    status = EffectorStatus.initial(eff, n_groups)
    logs = [EventLog(g) for g in range(n_groups)]
    nfz = NoFireZones([frame.polygon(z.polygon) for z in site.no_fire_zones])
    stage = DecisionStage(sc.doctrine, eff, assets, nfz, [Turret(enu[0], 8000.0)], n_groups)
    trk = Tracks(enu[0], groups)
    packed = {g: i for i, g in enumerate(groups)}
    book = EngagementBook(sc.doctrine, eff, status, logs, AutoOperator(4.0),
                          StatusWeapons(eff, status, logs), trk, stage.is_threat)
    seen: dict[int, list] = {g: [] for g in groups}
    for t in np.arange(1.0, 500.0, 1.0):
        ids, grp, x, P, ev = trk.at(t)
        grp = np.array([packed[g] for g in grp], np.int64)
        d = stage.epoch(t, np.ones(n_groups, bool), ids, grp, x, P, ev, status,
                        [np.ones(n_groups, bool)], book.engaged, np.zeros((n_groups, 3)))
        for g, key, p in d.proposals:
            book.propose(g, t, p, key, key)
            seen[groups[g]].append(("proposal", t, key, p.effector, p.pk, p.p_nfz))
        for c in d.cues:
            for g, key in zip(c.group, c.track, strict=True):
                seen[groups[g]].append(("cue", t, int(key)))
        for g, j, on in d.switches:
            seen[groups[g]].append(("jammer", t, j, on))
        for g in range(n_groups):
            if t >= book.wake(g):
                book.progress(g, t)
    for g in groups:
        seen[g].append([(e.id, e.track_key, e.history) for e in book.engagements(packed[g])])
        # (repr: NaN positions compare equal as text)
        seen[g].append(repr(logs[packed[g]].table().drop_columns(["replication"]).to_pylist()))
    return seen


@pytest.fixture(scope="module")
def block() -> dict[int, list]:
    return _run(list(range(G)), G)


@pytest.mark.parametrize("g", range(G))
def test_a_group_alone_decides_as_in_the_block(block, g):
    alone = _run([g], 1)[g]
    assert alone == block[g]
    kinds = {row[0] for row in alone[:-2]}
    assert "proposal" in kinds  # the test exercises proposals, not just silence
    assert any(e[2][-1][0].name == "ASSESSED" for e in alone[-2])


def test_groups_are_not_all_the_same(block):
    assert block[0] != block[1]
