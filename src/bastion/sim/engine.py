"""The analysis driver: replications of a scenario stepped through the pipeline in lock-step.

    world (truth) → sensors → tracker → assess → respond → effects → (next tick)

A *block* of replications runs together: one world holding every replication's objects,
one radar scan, one tracker step, one assessment per tick for all of them, so the cost of a
tick (dozens of small NumPy calls) is shared instead of paid per replication. The
replications never interact: the tracker sees each one displaced along east by its own
slot (``_SLOT_M``), every random draw is keyed by its own replication, and each one keeps
its own clock. A replication's result is therefore the same bit for bit whatever block it
runs in, whichever worker runs it (``tests/sim/test_determinism.py`` checks it).

The clock skips time in which nothing can happen: while no drone or own aircraft of a
replication is within reach of any sensor or effector and it has no engagement open, that
replication jumps to the earliest moment something could come into reach (a launch, a
departure, or a drone's distance to the nearest reach circle divided by its best ground
speed), propagating its truth analytically; the block jumps when all its replications can.
Inside coverage it ticks at the fastest radar's scan period on a fixed grid of tick
indices; every sensor keeps its own period and stamps its own report times, so nothing is
coarsened.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from bastion.assess.identify import IdentModel, IFFCover
from bastion.core.detections import Detections
from bastion.core.events import EventLog
from bastion.core.rng import RepStreams, Streams
from bastion.outcome.metrics import outcome_row
from bastion.respond.book import EngagementBook
from bastion.respond.decision import Assets, DecisionStage, Turret
from bastion.respond.effectors import EffectorStatus, build_effectors
from bastion.respond.engagement import Engagement
from bastion.respond.roe import NoFireZones
from bastion.scenario.geo import Frame
from bastion.scenario.load import load_scenario
from bastion.scenario.schema import EOIR, IFF, PassiveRF, Radar, Scenario
from bastion.scenario.terrain import TerrainModel
from bastion.sim.effects import (
    SimWeapons,
    close_own_jamming,
    electronic_warfare,
    world_events,
)
from bastion.sim.kernels import pending_drones, quiet_bound
from bastion.sim.operator import SimulatedOperator
from bastion.sim.picture import Picture
from bastion.sim.sensors.eoir import EOIRSensor
from bastion.sim.sensors.iff import IFFSensor
from bastion.sim.sensors.perimeter import intrusions
from bastion.sim.sensors.radar import RadarSensor
from bastion.sim.sensors.rf import RFSensor
from bastion.sim.world import Kind, build_air, wind_vector
from bastion.sim.world.air import concat_air
from bastion.sim.world.build import DroneInfo

__all__ = ["BLOCK", "SimResult", "simulate", "simulate_block"]

# Lock-step: replication r sits at east offset (r mod _SLOTS) · slot spacing inside the
# tracker. The offset depends on r alone, so a replication's arithmetic is the same in any
# block (and alone).
_SLOTS = 64
BLOCK = 64  # replications per lock-step block (at most _SLOTS)


@dataclass
class SimResult:
    scenario: str
    replication: int
    seed: int
    outcome: dict[str, float]  # derived from the events (outcome.metrics)
    events: pa.Table
    steps: int  # ticks stepped; skipped (empty) time is jumped over, not stepped
    t_end_s: float
    trace: dict[str, NDArray[Any]] | None = None
    engagements: list[Engagement] = field(default_factory=list)
    shot_targets: dict[int, int] = field(default_factory=dict)  # engagement -> truth row
    # with detections=True: every report the simulated sensors gave the tracker, in
    # delivery order, and the simulated time each was delivered (bastion feed plays them)
    detections: Detections | None = None
    delivered_s: NDArray[np.float64] | None = None

    @property
    def shots_by_effector(self) -> dict[str, int]:
        return {k[6:]: int(v) for k, v in self.outcome.items() if k.startswith("shots:")}

    @property
    def cost_by_effector(self) -> dict[str, float]:
        return {k[9:]: v for k, v in self.outcome.items() if k.startswith("cost_usd:")}


class _Rep:
    """Python-side state of one replication: its log, random streams and clock."""

    def __init__(self, seed: int, b: int, rep: int, d0: int, nd: int) -> None:
        self.b, self.rep = b, rep
        self.streams = Streams(seed, rep)
        self.log = EventLog(rep)
        self.d0, self.nd = d0, nd  # global drone rows d0 .. d0+nd-1
        self.t = 0.0  # this replication's clock
        self.frozen_until = -1  # tick index it skips to (world not yet advanced), or -1
        self.finished = False
        self.steps = 0
        self.result: SimResult | None = None


class _Block:
    """A lock-step block of replications of one scenario: the world, its sensors and effects,
    and the C2 stages (tracker, decision stage, engagement book) with one group per
    replication."""

    def __init__(self, sc: Scenario, reps: list[int], seed: int, record: bool,
                 detections: bool = False) -> None:
        if not reps or len(set(r % _SLOTS for r in reps)) != len(reps):
            raise ValueError(f"a block needs 1..{_SLOTS} replications with distinct "
                             f"indices modulo {_SLOTS}")
        self.sc, self.seed, self.record = sc, seed, record
        self.keep_detections = detections
        self.frame = Frame(sc.origin)
        self.doctrine = sc.doctrine
        B = self.B = len(reps)
        self.rep_ids = np.array(reps, np.int64)
        assets = [a for s in sc.sites for a in s.assets]
        self.asset_names = [a.name for a in assets]
        self.assets = Assets(np.array([self.frame.point(a.position) for a in assets]),
                             np.array([a.radius_m for a in assets]),
                             np.array([a.value for a in assets]))
        self.site_centre = np.array([
            np.mean([self.frame.point(a.position) for a in s.assets], axis=0) for s in sc.sites])
        self.site_xy = np.ascontiguousarray(self.site_centre[:, :2]).reshape(-1, 2)
        self.ident = IdentModel.from_scenario(sc)
        self._build_world(reps)
        self._build_sensors()
        # effectors: static facts shared, dynamic state one row per replication
        self.eff0 = build_effectors(sc, self.frame)
        self.status = EffectorStatus.initial(self.eff0, B)
        self.nfz = NoFireZones([self.frame.polygon(z.polygon) for s in sc.sites
                                for z in s.no_fire_zones])
        # C2 stages: one group per replication
        self.picture = Picture(self, self._slot_offsets())
        self.stage = DecisionStage(self.doctrine, self.eff0, self.assets, self.nfz,
                                   [Turret(e.pos, float(e.range_m)) for e in self.eo], B,
                                   self.ident, IFFCover.from_scenario(sc, self.frame))
        self.weapons = SimWeapons(self)
        site_index = {s.name: i for i, s in enumerate(sc.sites)}
        self.book = EngagementBook(
            self.doctrine, self.eff0, self.status, [rs.log for rs in self.reps],
            SimulatedOperator(self.doctrine, [rs.streams for rs in self.reps],
                              [site_index[e.site] for e in sc.effectors],
                              [s.crews for s in sc.sites], self._true_kind),
            self.weapons, self.picture, self.stage.is_threat)
        # tick: the fastest radar (or the decision period when there is no radar)
        periods = [r.period for r in self.radars] + [self.doctrine.decision_period_s]
        self.tick = max(min(periods), 0.25)
        self._reach()
        # per-drone kill-chain marks (global drone rows; nan until it happens)
        self.t_detect = np.full(self.nd, np.nan)
        self.t_confirm = np.full(self.nd, np.nan)
        self.t_identify = np.full(self.nd, np.nan)
        self.own_jammed = np.zeros(self.air.n, bool)  # jammed at least once
        self.own_jammed_since = np.full(self.air.n, np.nan)  # start of the current denial

    def _build_world(self, reps: list[int]) -> None:
        """Every replication's objects in one struct of arrays."""
        sc, B = self.sc, self.B
        parts, infos, winds = [], [], []
        for r in reps:
            st = Streams(self.seed, r)
            air, info = build_air(sc, self.frame, st, self.assets.enu, self.asset_names)
            air.wind = wind_vector(sc, st)
            parts.append(air)
            infos.append(info)
            winds.append(air.wind)
        self.air, self.row_block, self.row_local = concat_air(parts)
        self.nd = self.air.n_drones
        self.own_rows = np.flatnonzero(self.air.kind == Kind.OWN)  # kinds never change
        self.rep_rows = [np.flatnonzero(self.row_block == b) for b in range(B)]
        self.info = DroneInfo(*(np.concatenate([getattr(i, f.name) for i in infos])
                                for f in dataclasses.fields(DroneInfo)))
        self.streams = RepStreams(self.seed, self.rep_ids)
        d_first = np.searchsorted(self.row_block[: self.nd], np.arange(B))
        self.winds = np.array(winds).reshape(B, 3)  # (B, 3) each replication's wind
        self.reps = [_Rep(self.seed, b, r, int(d_first[b]),
                          int(np.sum(self.row_block[: self.nd] == b)))
                     for b, r in enumerate(reps)]

    def _build_sensors(self) -> None:
        """One object per scenario sensor serves every replication of the block."""
        self.radars: list[RadarSensor] = []
        self.points: list[Any] = []
        self.eo: list[EOIRSensor] = []
        # terrain (and sea) profiles: line of sight and clutter, once per sensor
        terrain = TerrainModel(self.sc, self.frame) \
            if any(s.terrain is not None for s in self.sc.sites) else None
        for i, s in enumerate(self.sc.sensors):
            pos = self.frame.point(s.position)
            if isinstance(s, Radar):
                prof = terrain.profile(pos, s.max_range_m) if terrain is not None else None
                self.radars.append(RadarSensor(s, i, pos, self.ident, prof))
            elif isinstance(s, PassiveRF):
                self.points.append(RFSensor(s, i, pos))
            elif isinstance(s, IFF):
                self.points.append(IFFSensor(s, i, pos))
            elif isinstance(s, EOIR):
                e = EOIRSensor(s, i, pos, self.sc.night)
                if terrain is not None and terrain.present:
                    e.profile = terrain.profile(pos, e.range_m)
                self.eo.append(e)
                self.points.append(e)
        for s in self.radars + self.points:
            s.reset(self.B)
        # Association batches, one per reporting sensor, in scenario order: the tracker
        # associates each batch separately so two sensors can both update one track in a step.
        # Keys are compact (perimeter sensors do not report tracks).
        self.batch_key = np.full(len(self.sc.sensors), -1, dtype=np.int64)
        for k, s in enumerate(sorted(self.radars + self.points, key=lambda s: s.index)):
            self.batch_key[s.index] = k
        # Survey sensors look at everything in reach every scan: a track one of them has seen
        # misses a step only when it scanned. (An EO/IR turret looks where it is cued.)
        self.survey = self.radars + [p for p in self.points if not isinstance(p, EOIRSensor)]

    def _slot_offsets(self) -> NDArray[np.float64]:
        # slot spacing: well beyond anything a sensor can report, so no gate spans two slots
        ranges = [max(getattr(s, "max_range_m", 0.0), getattr(s, "range_m", 0.0),
                      getattr(s, "range_day_m", 0.0), getattr(s, "range_night_m", 0.0))
                  + float(np.linalg.norm(self.frame.point(s.position)[:2]))
                  for s in self.sc.sensors]
        spacing = max(1.0e6, 4.0 * max(ranges, default=0.0))
        return (self.rep_ids % _SLOTS).astype(float) * spacing

    def _reach(self) -> None:
        """Per replication: beyond ``reach_m`` from every site centre nothing can sense or hit
        a drone (it depends on the largest RCS drawn there), and the best ground speed."""
        e0 = self.eff0
        reach_fixed = [getattr(p.cfg, "range_m", 0.0) for p in self.points
                       if not isinstance(p, EOIRSensor)]
        reach_fixed += [e.range_m for e in self.eo]
        reach_fixed += list(e0.max_range_m[e0.kinetic])
        reach_fixed += [j.activation_range_m for _, j in e0.jammers]
        sens_pos = [r.pos for r in self.radars] + [p.pos for p in self.points] + list(e0.pos)
        # measure reach from site centres, padded by how far any sensor stands off-centre
        off = max((float(np.min(np.linalg.norm(self.site_centre[:, :2] - p[:2], axis=1)))
                   for p in sens_pos), default=0.0)
        self.reach_m = np.zeros(self.B)
        self.max_ground_speed = np.zeros(self.B)
        for rs in self.reps:
            rows = slice(rs.d0, rs.d0 + rs.nd)
            max_rcs = float(self.air.rcs_m2[rows].max()) if rs.nd else 1.0
            reach = [r.reach_m(max_rcs) for r in self.radars] + reach_fixed
            self.reach_m[rs.b] = (max(reach) if reach else 0.0) + off + 2_000.0
            self.max_ground_speed[rs.b] = (float(self.air.speed_mps[rows].max())
                                           if rs.nd else 0.0) + float(
                np.linalg.norm(self.winds[rs.b])) + 5.0

    # ------------------------------------------------------------------ helpers
    def _true_kind(self, group: int, track_key: int) -> int:
        """What a track really follows (the simulated operator's eyes): 0 hostile drone,
        1 bird, 2 own aircraft, -1 nothing real."""
        row = int(self.picture.truth.get(np.array([track_key], np.int64))[0])
        return int(self.air.kind[row]) if row >= 0 else -1

    def local_drone(self, k: int) -> int:
        return int(self.row_local[k]) if 0 <= k < self.nd else -1

    def advance(self, t0: float, t1: float, mask_b: NDArray[np.bool_]) -> None:
        world_events(self, self.air.advance(t0, t1, mask_b[self.row_block]))

    # ------------------------------------------------------------------ clock
    def quiet_until(self, t: float, bs: NDArray[np.int64]) -> NDArray[np.float64]:
        """Per replication in ``bs``: the earliest time anything can come into reach (``t``
        when something already is)."""
        air = self.air
        inb = np.zeros(self.B, bool)
        inb[bs] = True
        busy = np.array([bool(self.book.open(b)) for b in range(self.B)])
        # one compiled pass over the rows (see sim.kernels): a drone in reach, an own
        # aircraft flying or an open engagement keeps its replication busy; otherwise the
        # bound is the earliest launch or a live drone's gap over its best ground speed
        bound = quiet_bound(float(t), inb, busy, air.mode, air.kind, air.pos, air.t_start_s,
                            self.row_block, self.nd, self.site_xy, self.reach_m,
                            self.max_ground_speed, float(self.sc.duration_s))
        return bound[bs]

    def finished_mask(self, bs: NDArray[np.int64]) -> NDArray[np.bool_]:
        pending = pending_drones(self.air.mode, self.row_block, self.nd, self.B)
        return np.array([not pending[b] and not self.book.open(b) for b in bs], bool)

    # ------------------------------------------------------------------ the loop
    def run(self) -> list[SimResult]:
        sc, air, tick = self.sc, self.air, self.tick
        for rs in self.reps:
            for k in range(rs.nd):
                # value: its true cruise speed (the outcome's kill margin in seconds)
                rs.log.add(float(air.t_start_s[rs.d0 + k]), "launched", drone=k,
                           xyz=air.launch[rs.d0 + k], value=float(air.speed_mps[rs.d0 + k]))
        duration = float(sc.duration_s)
        n = 0  # tick index: the block's clock is n · tick (a fixed grid, no accumulation)
        while True:
            t = min(n * tick, duration)
            # replications whose skip ends now: move their world over the skipped time
            for rs in self.reps:
                if rs.frozen_until == n:
                    rs.frozen_until = -1
                    m = np.zeros(self.B, bool)
                    m[rs.b] = True
                    self.advance(rs.t, t, m)
                    for s in self.radars + self.points:
                        s.skip_to(m, t)
                    rs.t = t
            awake = np.array([not rs.finished and rs.frozen_until < 0 for rs in self.reps])
            bs = np.flatnonzero(awake)
            if bs.size:
                # end of run, or a replication whose clock has reached the end
                end = self.finished_mask(bs) | (t >= duration - 1e-9)
                for b in bs[end]:
                    self._finish(self.reps[b])
                bs = bs[~end]
            if bs.size:
                t_q = self.quiet_until(t, bs)
                n_q = np.floor(t_q / tick + 1e-9).astype(np.int64)
                skip = n_q > n + 1
                if skip.any():
                    m = np.zeros(self.B, bool)
                    m[bs[skip]] = True
                    # nothing can be sensed until then: tracks coast out
                    self.picture.drop_groups(m)
                    for b, nq in zip(bs[skip], n_q[skip], strict=True):
                        self.reps[b].frozen_until = int(nq)
                    bs = bs[~skip]
            if bs.size == 0:
                waiting = [rs.frozen_until for rs in self.reps if rs.frozen_until >= 0]
                if not waiting:
                    break
                n = min(waiting)
                continue
            step_b = np.zeros(self.B, bool)
            step_b[bs] = True
            t1 = min((n + 1) * tick, duration)
            self.step(t, t1, step_b)
            for b in bs:
                self.reps[b].t = t1
                self.reps[b].steps += 1
            n += 1
        return [rs.result for rs in self.reps if rs.result is not None]

    def step(self, t: float, t1: float, step_b: NDArray[np.bool_]) -> None:
        book = self.book
        # rounds landing inside this tick: move that replication to each arrival first
        moved = np.zeros(self.B, bool)
        for b in np.flatnonzero(step_b):
            hits = self.weapons.arrivals(b, t1)
            if not hits:
                continue
            m = np.zeros(self.B, bool)
            m[b] = True
            t_cur = t
            for shot in hits:
                t_hit = shot.engagement.t_hit_s
                if t_hit > t_cur:
                    self.advance(t_cur, t_hit, m)
                    t_cur = t_hit
                self.weapons.resolve(b, shot)
            self.advance(t_cur, t1, m)
            moved[b] = True
            book.due(b)
        self.advance(t, t1, step_b & ~moved)
        # magazines reloaded
        st = self.status
        reload = (step_b[:, None] & self.eff0.kinetic[None, :] & (st.rounds == 0)
                  & (st.reload_done_s <= t1))
        if reload.any():
            # a reload takes a magazine (or what is left) out of the reserve stock
            mag = np.broadcast_to(self.eff0.magazine, st.rounds.shape)[reload]
            n = np.minimum(mag, st.reserve[reload])
            st.rounds[reload] = n
            st.reserve[reload] -= n
            st.reload_done_s[reload] = np.inf
        electronic_warfare(self, t1, step_b)
        self.picture.sense_and_track(t1, step_b)
        # engagements move only when something is due (see EngagementBook.due)
        active = np.flatnonzero(step_b)
        for b in active:
            if t1 >= book.wake(b):
                book.progress(b, t1)
        self.decide(t1, step_b)
        for b in active:
            if t1 >= book.wake(b):
                book.progress(b, t1)
        if self.record:
            self.picture.record(t1, step_b)

    def decide(self, t: float, step_b: NDArray[np.bool_]) -> None:
        """One epoch of the decision stage; the simulator logs what it decided."""
        pic = self.picture
        ids, group, x, P, ev = pic.confirmed(t)
        d = self.stage.epoch(t, step_b, ids, group, x, P, ev, self.status,
                             [e.free(t) for e in self.eo], self.book.engaged, self.winds)
        if ids.size:
            # kill-chain marks for drones (the simulator's answer key): confirmed, identified
            truth = pic.truth.get(ids)
            is_drone = (truth >= 0) & (truth < self.nd)
            dc = self.doctrine
            thr_h = dc.p_hostile_free if dc.weapons_control != "tight" else dc.p_hostile_tight
            for mark, kind, sel in ((self.t_confirm, "confirmed", is_drone),
                                    (self.t_identify, "identified",
                                     is_drone & (d.p_class[:, 0] >= thr_h))):
                ks = truth[sel]
                # the unmarked ones, each once, in drone order (rarely any: sort only those)
                for k in np.unique(ks[np.isnan(mark[ks])]):
                    mark[k] = t
                    self.reps[int(self.row_block[k])].log.add(
                        t, kind, drone=self.local_drone(int(k)), xyz=self.air.pos[k])
        for g, j, on in d.switches:
            self.reps[g].log.add(t, "jammer_on" if on else "jammer_off", effector=j)
        for c in d.cues:
            self.eo[c.turret].cue(c.group, pic.label.get(c.track), c.pos, c.vel, t)
        for g, gid, p in d.proposals:
            row = int(np.flatnonzero(ids == gid)[0])
            self.book.propose(g, t, p, gid, int(pic.label.get(np.array([gid]))[0]),
                              float(d.p_class[row, 0]))

    def _finish(self, rs: _Rep) -> None:
        rs.finished = True
        m = np.zeros(self.B, bool)
        m[rs.b] = True
        self.picture.drop_groups(m)
        for e in self.book.engagements(rs.b):
            e.track_key = e.track  # the replication's own numbering, as when it runs alone
        close_own_jamming(self, rs.b, rs.t)
        intrusions(self.sc, self.frame, rs.streams, rs.log)  # ground intruders: closed form
        events = rs.log.table()
        shots = {i: s.target_row for i, s in self.weapons.shots[rs.b].items()}
        rs.result = SimResult(
            self.sc.name, rs.rep, self.seed, outcome_row(events, self.sc), events, rs.steps,
            rs.t, self.picture.trace(rs.b) if self.record else None, self.book.engagements(rs.b),
            {i: self.local_drone(k) if k < self.nd else int(self.row_local[k])
             for i, k in shots.items()})
        if self.picture.det_log is not None:
            rs.result.detections, rs.result.delivered_s = self.picture.detections(rs.b)


def simulate_block(scenario: Scenario | str, replications: list[int], *,
                   seed: int | None = None, record: bool = False,
                   detections: bool = False) -> list[SimResult]:
    """Run replications in lock-step (at most 64, distinct modulo 64); results in order.

    Each result is identical to what :func:`simulate` gives for that replication alone.
    """
    sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
    return _Block(sc, list(replications), sc.seed if seed is None else seed, record,
                  detections).run()


def simulate(scenario: Scenario | str, replication: int = 0, *, seed: int | None = None,
             record: bool = False, detections: bool = False) -> SimResult:
    """Run one replication. ``seed`` defaults to the scenario's; ``record`` keeps a trace;
    ``detections`` keeps every sensor report (``SimResult.detections``)."""
    return simulate_block(scenario, [replication], seed=seed, record=record,
                          detections=detections)[0]
