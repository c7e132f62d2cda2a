"""The analysis driver: one replication of a scenario, stepped through the pipeline.

    world (truth) → sensors → tracker → assess → respond → effects → (next tick)

The clock skips time in which nothing can happen: while no drone or own aircraft is
within reach of any sensor or effector and no engagement is open, the engine jumps to the
earliest moment something could come into reach (a launch, a departure, or a drone's
distance to the nearest reach circle divided by its best ground speed), propagating truth
analytically. Inside coverage it ticks at the fastest radar's scan period; every sensor
keeps its own period and stamps its own report times, so nothing is coarsened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from scipy.special import ndtri

from bastion.assess import assess_threats, classify
from bastion.respond.effectors import EffectorState, build_effectors
from bastion.respond.engagement import Engagement, EngagementState, OperatorQueue
from bastion.respond.jamming import js_db
from bastion.respond.kinetic import intercepts
from bastion.respond.planner import candidates, plan, switch_jammers
from bastion.respond.roe import NoFireZones
from bastion.rng import Streams
from bastion.scenario.geo import Frame
from bastion.scenario.load import load_scenario
from bastion.scenario.schema import EOIR, IFF, PassiveRF, Radar, Scenario
from bastion.sensors.base import Detections, K
from bastion.sensors.eoir import EOIRSensor
from bastion.sensors.iff import IFFSensor
from bastion.sensors.perimeter import intrusions
from bastion.sensors.radar import RadarSensor
from bastion.sensors.rf import RFSensor
from bastion.sim.events import EventLog
from bastion.tracking import Tracker
from bastion.world import Fate, Kind, Mode, Nav, build_air, wind_vector

__all__ = ["SimResult", "simulate"]

_S = EngagementState
_GATE_TRUTH_M = 150.0  # a shot aimed at a track hits the real object within this of it
# ASSUMED own-aircraft GNSS receiver (military, better than a hobby drone's)
_OWN_RX = {"g_rx_dbi": -5.0, "signal_dbw": -160.0, "threshold_db": 45.0}


@dataclass
class SimResult:
    scenario: str
    replication: int
    seed: int
    outcome: dict[str, float]
    events: pa.Table
    shots_by_effector: dict[str, int]
    cost_by_effector: dict[str, float]
    steps: int  # ticks stepped; skipped (empty) time is jumped over, not stepped
    t_end_s: float
    trace: dict[str, NDArray[Any]] | None = None
    engagements: list[Engagement] = field(default_factory=list)


class ByTrack:
    """A per-track attribute as an array indexed by track id (ids are 0, 1, 2, … here)."""

    def __init__(self, fill: float, dtype: type) -> None:
        self.fill = fill
        self.a = np.full(256, fill, dtype)

    def get(self, ids: NDArray[np.int64]) -> NDArray[Any]:
        out = np.full(ids.shape, self.fill, self.a.dtype)
        ok = (ids >= 0) & (ids < self.a.size)
        out[ok] = self.a[ids[ok]]
        return out

    def set(self, ids: NDArray[np.int64], values: NDArray[Any]) -> None:
        if ids.size and ids.max() >= self.a.size:
            grown = np.full(max(int(ids.max()) + 1, 2 * self.a.size), self.fill, self.a.dtype)
            grown[: self.a.size] = self.a
            self.a = grown
        self.a[ids] = values


class _Run:
    """State of one replication; methods are the pipeline stages' glue."""

    def __init__(self, sc: Scenario, replication: int, seed: int, record: bool) -> None:
        self.sc = sc
        self.rep = replication
        self.streams = Streams(seed, replication)
        self.frame = Frame(sc.origin)
        self.log = EventLog(replication)
        self.record = record
        assets = [(s.name, a) for s in sc.sites for a in s.assets]
        self.asset_names = [a.name for _, a in assets]
        self.asset_site = [s for s, _ in assets]
        self.asset_enu = np.array([self.frame.point(a.position) for _, a in assets])
        self.asset_radius = np.array([a.radius_m for _, a in assets])
        self.asset_value = np.array([a.value for _, a in assets])
        self.site_centre = np.array([
            np.mean([self.frame.point(a.position) for a in s.assets], axis=0) for s in sc.sites])
        self.air, self.info = build_air(sc, self.frame, self.streams, self.asset_enu,
                                        self.asset_names)
        self.air.wind = wind_vector(sc, self.streams)
        self.wind = self.air.wind
        self.nd = self.air.n_drones
        # sensors
        self.radars: list[RadarSensor] = []
        self.points: list[Any] = []
        self.eo: list[EOIRSensor] = []
        for i, s in enumerate(sc.sensors):
            pos = self.frame.point(s.position)
            if isinstance(s, Radar):
                self.radars.append(RadarSensor(s, i, pos))
            elif isinstance(s, PassiveRF):
                self.points.append(RFSensor(s, i, pos))
            elif isinstance(s, IFF):
                self.points.append(IFFSensor(s, i, pos))
            elif isinstance(s, EOIR):
                e = EOIRSensor(s, i, pos, sc.night)
                self.eo.append(e)
                self.points.append(e)
        self.tracker = Tracker(id_base=0)
        # Association batches: the tracker associates each batch separately so two sensors can
        # both update one track in a step. Sensors at different sites never see the same
        # object here, so they share a batch: the key is the sensor's rank within its site.
        rank: dict[str, int] = {}
        self.batch_key = np.zeros(len(sc.sensors), np.int64)
        for i, s in enumerate(sc.sensors):
            self.batch_key[i] = rank.get(s.site, 0)
            rank[s.site] = rank.get(s.site, 0) + 1
        self.eff: EffectorState = build_effectors(sc, self.frame)
        self.nfz = NoFireZones([self.frame.polygon(z.polygon) for s in sc.sites
                                for z in s.no_fire_zones])
        self.doctrine = sc.doctrine
        self.engagements: list[Engagement] = []
        self.open: list[Engagement] = []  # the ones not yet ended: all a tick needs to look at
        self.operator = OperatorQueue()
        op = self.doctrine.operator
        self.expected_delay_s = (op.decision_time_s * math.exp(op.decision_time_sigma**2 / 2)
                                 if self.doctrine.human_in_loop else 0.0)
        # tick: the fastest radar (or the decision period when there is no radar)
        periods = [r.period for r in self.radars] + [self.doctrine.decision_period_s]
        self.tick = max(min(periods), 0.25)
        self.next_decision = 0.0
        # reach: beyond this from every site centre nothing can sense or hit a drone
        max_rcs = float(self.air.rcs_m2[: self.nd].max()) if self.nd else 1.0
        reach = [r.reach_m(max_rcs) for r in self.radars]
        reach += [getattr(p.cfg, "range_m", 0.0) for p in self.points if not isinstance(
            p, EOIRSensor)]
        reach += [e.range_m for e in self.eo]
        reach += list(self.eff.max_range_m[self.eff.kinetic])
        reach += [j.activation_range_m for _, j in self.eff.jammers]
        sens_pos = [r.pos for r in self.radars] + [p.pos for p in self.points] + list(
            self.eff.pos)
        # measure reach from site centres, padded by how far any sensor stands off-centre
        off = max((float(np.min(np.linalg.norm(self.site_centre[:, :2] - p[:2], axis=1)))
                   for p in sens_pos), default=0.0)
        self.reach_m = (max(reach) if reach else 0.0) + off + 2_000.0
        self.max_ground_speed = float(self.air.speed_mps.max() if self.nd else 0.0) + float(
            np.linalg.norm(self.wind)) + 5.0
        # per-drone kill-chain bookkeeping (nan until it happens)
        nd = self.nd
        self.t_detect = np.full(nd, np.nan)
        self.t_confirm = np.full(nd, np.nan)
        self.t_identify = np.full(nd, np.nan)
        self.track_truth = ByTrack(-1, np.int64)  # truth row a track last followed
        self.soft_since = ByTrack(np.nan, np.float64)  # when it entered a jammer footprint
        self.own_jammed = np.zeros(self.air.n, bool)
        self.threat_ids: set[int] = set()  # tracks that were engageable at the last epoch
        self.steps = 0
        self.trace_rows: list[tuple[NDArray[Any], ...]] = []
        self.counts = {k: 0 for k in ("shots_at_birds", "shots_at_own", "birds_killed",
                                      "own_killed", "nfz_impacts", "false_track_shots")}

    # ------------------------------------------------------------------ clock
    def quiet_until(self, t: float) -> float:
        """Earliest time anything can come into reach; ``t`` when something already is."""
        if self.open:
            return t
        air = self.air
        nd = self.nd
        bounds = [self.sc.duration_s]
        live = np.flatnonzero(air.airborne[:nd])
        if live.size:
            d = np.linalg.norm(air.pos[live, None, :2] - self.site_centre[None, :, :2], axis=2)
            gap = d.min(axis=1) - self.reach_m
            if (gap <= 0).any():
                return t
            bounds.append(t + float(gap.min()) / self.max_ground_speed)
        waiting = air.t_start_s[(air.mode == Mode.WAITING) & (air.kind != Kind.BIRD)]
        if waiting.size:
            bounds.append(float(waiting.min()))
        own = np.flatnonzero((air.kind == Kind.OWN) & air.airborne)
        if own.size:
            return t
        return max(t, min(bounds))

    def skip(self, t: float, t_new: float) -> float:
        t_new = math.floor(t_new / self.tick) * self.tick
        if t_new <= t + self.tick:
            return t
        self.apply_world_events(self.air.advance(t, t_new))
        for s in self.radars + self.points:
            s.skip_to(t_new)
        return t_new

    # ------------------------------------------------------------------ world events
    def apply_world_events(self, ended: list[tuple[int, int, float]]) -> None:
        for k, fate, t_s in ended:
            pos = self.air.impact[k]
            if fate == Fate.ATTACKED:
                self.log.add(t_s, "leaked", drone=k, xyz=pos)
            elif fate in (Fate.LANDED, Fate.CRASHED):
                self.log.add(t_s, "forced_down", drone=k, xyz=pos,
                             detail="crashed" if fate == Fate.CRASHED else "landed")
            elif fate == Fate.RETURNED:
                self.log.add(t_s, "returned", drone=k, xyz=pos)
            elif fate == Fate.OUT_OF_FUEL:
                self.log.add(t_s, "out_of_fuel", drone=k, xyz=pos)
            # a warhead that goes off (attack, or crash on the ground) may hit an asset
            if fate in (Fate.ATTACKED, Fate.CRASHED, Fate.OUT_OF_FUEL):
                self._warhead(k, t_s, pos)

    def _warhead(self, k: int, t_s: float, pos: NDArray[np.float64]) -> None:
        lethal = float(self.sc.airframes[self.sc.raids[int(self.info.raid[k])].airframe]
                       .lethal_radius_m)
        d = np.linalg.norm(self.asset_enu[:, :2] - pos[:2], axis=1)
        for a in np.flatnonzero(d <= self.asset_radius + lethal):
            self.log.add(t_s, "asset_hit", drone=k, xyz=pos, value=float(self.asset_value[a]),
                         detail=self.asset_names[a])

    # ------------------------------------------------------------------ effects: EW
    def electronic_warfare(self, t: float) -> None:
        air, nd = self.air, self.nd
        on = [(j, jam) for j, jam in self.eff.jammers if self.eff.radiating[j]]
        if not on or nd == 0:
            return
        live = air.airborne[:nd] & air.gnss_susceptible & (air.mode[:nd] == Mode.CRUISE)
        denied = np.zeros(nd, bool)
        idx = np.flatnonzero(live)
        for j, jam in on:
            if idx.size == 0:
                break
            d = np.linalg.norm(air.pos[idx] - self.eff.pos[j], axis=1)
            js = js_db(jam.eirp_dbw, jam.frequency_mhz, d, self.info.antenna_gain_dbi[idx],
                       self.info.gnss_signal_dbw[idx])
            if jam.mode == "jam":
                denied[idx[js > self.info.js_threshold_db[idx]]] = True
            else:
                inrange = idx[(js >= jam.spoof_capture_margin_db) & (air.nav[idx] == Nav.GNSS)]
                if inrange.size:
                    u = self.streams.uniform("spoof-capture", inrange, j)
                    for k in inrange[u < jam.p_capture]:
                        air.spoof(int(k), self.frame.point(jam.divert_to), j)
                        self.log.add(t, "spoofed", drone=int(k), effector=j, xyz=air.pos[k])
                    # receivers that notice the spoof distrust GNSS: as good as denied
                    denied[inrange[u >= jam.p_capture]] = True
        newly = denied & np.isnan(air.denied_since_s) & (air.nav == Nav.GNSS)
        for k in np.flatnonzero(newly):
            self.log.add(t, "gnss_denied", drone=int(k), xyz=air.pos[k])
        for k, fs in air.set_denied(denied, t):
            self.log.add(t, "failsafe", drone=k, xyz=air.pos[k],
                         detail={Mode.LAND: "land", Mode.LOITER: "loiter",
                                 Mode.RETURN: "return", Mode.CRUISE: "continue_ins"}[fs])
        # own aircraft suffer the denial too (counted once per aircraft)
        own = np.flatnonzero((air.kind == Kind.OWN) & air.airborne & ~self.own_jammed)
        for j, jam in on:
            if own.size == 0 or jam.mode != "jam":
                continue
            d = np.linalg.norm(air.pos[own] - self.eff.pos[j], axis=1)
            js = js_db(jam.eirp_dbw, jam.frequency_mhz, d, np.full(own.size, _OWN_RX["g_rx_dbi"]),
                       np.full(own.size, _OWN_RX["signal_dbw"]))
            for k in own[js > _OWN_RX["threshold_db"]]:
                self.own_jammed[k] = True
                self.log.add(t, "own_aircraft_jammed", effector=j, xyz=air.pos[k])

    # ------------------------------------------------------------------ sensing + tracking
    def sense_and_track(self, t1: float) -> None:
        batches = [r.observe(self.air, t1, self.streams) for r in self.radars]
        batches += [p.observe(self.air, t1, self.streams) for p in self.points]
        det = Detections.concat(batches)
        trk = self.tracker
        if det.m:
            trk.step(det.t_s, det.z, det.R, sensor=self.batch_key[det.sensor],
                     evidence=det.evidence)
        else:
            trk.step(t1, np.zeros((0, 3)), np.zeros((0, 3, 3)), evidence=np.zeros((0, K)))
        assoc = trk.last_association
        real = (det.truth >= 0) & (assoc >= 0) if det.m else np.zeros(0, bool)
        if real.any():
            self.track_truth.set(assoc[real], det.truth[real])
        # first detection of each drone
        drones = det.truth[(det.truth >= 0) & (det.truth < self.nd)] if det.m else det.truth
        if drones.size:
            times = det.t_s[(det.truth >= 0) & (det.truth < self.nd)]
            first = np.isnan(self.t_detect[drones])
            for k, tk in zip(drones[first], times[first], strict=True):
                if math.isnan(self.t_detect[k]):
                    self.t_detect[k] = tk
                    self.log.add(tk, "detected", drone=int(k), xyz=self.air.pos[k])

    # ------------------------------------------------------------------ assess + respond
    def decide(self, t: float) -> None:
        trk = self.tracker
        tracks = trk.tracks
        rows = np.flatnonzero(tracks.confirmed)  # only confirmed tracks are assessed
        if rows.size == 0:
            self.threat_ids = set()
            self._log_jammers(t, switch_jammers(t, self.eff, np.zeros((0, 3)),
                                                np.zeros(0, bool)))
            return
        ids = tracks.id[rows]
        x, P = trk.predict(t)
        x, P = x[rows], P[rows]
        ev = tracks.evidence[rows] if tracks.evidence.shape[1] == K else np.zeros((rows.size, K))
        pc = classify(x[:, 3:], P, ev)
        threats = assess_threats(x[:, :3], x[:, 3:], P, pc[:, 0], self.asset_enu[:, :2],
                                 self.asset_radius, self.asset_value)
        truth = self.track_truth.get(ids)
        # kill-chain marks for drones: confirmed and identified
        is_drone = (truth >= 0) & (truth < self.nd)
        if is_drone.any():
            thr_h = (self.doctrine.p_hostile_free if self.doctrine.weapons_control != "tight"
                     else self.doctrine.p_hostile_tight)
            for mark, kind, sel in ((self.t_confirm, "confirmed", is_drone),
                                    (self.t_identify, "identified",
                                     is_drone & (pc[:, 0] >= thr_h))):
                ks = np.unique(truth[sel])
                for k in ks[np.isnan(mark[ks])]:
                    mark[k] = t
                    self.log.add(t, kind, drone=int(k), xyz=self.air.pos[k])
        cand = candidates(self.doctrine, pc[:, 0], np.ones(rows.size, bool), threats)
        self.threat_ids = set(ids[cand].tolist())
        self._log_jammers(t, switch_jammers(t, self.eff, x[:, :3], cand))
        self._cue_eo(t, ids, x, pc, threats)
        if t + 1e-9 < self.next_decision:
            return
        self.next_decision = t + self.doctrine.decision_period_s
        busy = np.isin(ids, [e.track for e in self.open])
        soft = self.soft_since.get(ids)
        props = plan(t, self.doctrine, self.eff, x, P, cand, threats, busy, soft, self.nfz,
                     self.wind, self.expected_delay_s, self.asset_enu[:, :2])
        self.soft_since.set(ids, soft)
        for p in props:
            self._propose(t, p, int(ids[p.track_row]))

    def _log_jammers(self, t: float, changes: list[tuple[int, bool]]) -> None:
        for j, on in changes:
            self.log.add(t, "jammer_on" if on else "jammer_off", effector=j)

    def _cue_eo(self, t: float, ids: NDArray[np.int64], x: NDArray[np.float64],
                pc: NDArray[np.float64], threats: Any) -> None:
        for eo in self.eo:
            if not eo.free(t):
                continue
            d = np.linalg.norm(x[:, :3] - eo.pos, axis=1)
            want = (d <= eo.range_m) & (pc.max(axis=1) < 0.95)
            if want.any():
                score = np.where(want, threats.value + 1e-3, -1.0)
                r = int(np.argmax(score))
                eo.cue(int(ids[r]), x[r, :3], x[r, 3:], t)

    def _propose(self, t: float, p: Any, track_id: int) -> None:
        eid = len(self.engagements)
        e = Engagement(eid, p.effector, track_id, t, p.pk,
                       float(self.eff.cost_usd[p.effector]), p.reason)
        op = self.doctrine.operator
        if self.doctrine.human_in_loop:
            u = self.streams.uniform("operator", eid, 0, np.array([0, 1]))
            service = op.decision_time_s * math.exp(op.decision_time_sigma * float(ndtri(u[0])))
            e.t_decision_s = self.operator.schedule(t, service)
            e.approve = bool(u[1] < op.p_approve)
        else:
            e.t_decision_s = t
        self.eff.busy_until_s[p.effector] = np.inf  # reserved until fired or released
        self.engagements.append(e)
        self.open.append(e)
        self.log.add(t, "proposed", track=track_id, effector=p.effector, engagement=eid,
                     value=p.pk, detail=f"p_nfz={p.p_nfz:.4f}")

    def progress(self, t: float) -> None:
        """Move open engagements through their state machine up to time t."""
        op = self.doctrine.operator
        for e in self.open:
            if e.state == _S.PROPOSED:
                deadline = e.t_proposed_s + op.timeout_s
                if e.t_decision_s > deadline and t >= deadline:
                    self._release(e, _S.EXPIRED, deadline, "operator did not decide in time")
                elif e.t_decision_s <= t:
                    if e.approve:
                        e.to(_S.APPROVED, e.t_decision_s)
                        self.log.add(e.t_decision_s, "approved", track=e.track,
                                     effector=e.effector, engagement=e.id)
                        e.t_fire_s = e.t_decision_s + float(self.eff.reaction_s[e.effector])
                    else:
                        self._release(e, _S.REJECTED, e.t_decision_s, "operator rejected")
            if e.state == _S.APPROVED and e.t_fire_s <= t:
                self._fire(e)
            if (e.state == _S.FIRING and e.resolved
                    and e.t_hit_s + self.doctrine.kill_assessment_delay_s <= t):
                self._assess(e)
        self.open = [e for e in self.open if e.open]

    def _release(self, e: Engagement, state: EngagementState, t: float, why: str) -> None:
        e.to(state, t, why)
        self.eff.busy_until_s[e.effector] = t
        self.log.add(t, state.name.lower(), track=e.track, effector=e.effector,
                     engagement=e.id, detail=why)

    def _fire(self, e: Engagement) -> None:
        trk, eff, w = self.tracker, self.eff, e.effector
        t_f = e.t_fire_s
        rows = np.flatnonzero(trk.tracks.id == e.track)
        if rows.size == 0 or eff.rounds[w] <= 0:
            self._release(e, _S.EXPIRED, t_f, "track lost before firing")
            return
        if e.track not in self.threat_ids:
            # e.g. the drone was captured by the spoofer and turned away after approval
            self._release(e, _S.EXPIRED, t_f, "no longer a threat")
            return
        x, P = trk.predict(t_f)
        r = rows[0]
        ic = intercepts(eff.pos[w:w + 1], eff.speed_mps[w:w + 1], np.zeros(1),
                        eff.min_range_m[w:w + 1], eff.max_range_m[w:w + 1],
                        eff.max_alt_m[w:w + 1], eff.pk_max[w:w + 1],
                        eff.required_sigma_m[w:w + 1], eff.error_scale_m[w:w + 1],
                        eff.cross_scale_mps[w:w + 1], ~eff.gun[w:w + 1], x[r:r + 1],
                        P[r:r + 1])
        if not ic.feasible[0, 0]:
            self._release(e, _S.EXPIRED, t_f, "no longer in envelope")
            return
        e.to(_S.FIRING, t_f)
        e.pk_expected = float(ic.pk[0, 0])
        e.t_hit_s = t_f + float(ic.t_flight_s[0, 0])
        eff.rounds[w] -= 1
        if eff.rounds[w] == 0:
            eff.reload_done_s[w] = t_f + eff.reload_s[w]
        eff.busy_until_s[w] = t_f + eff.interval_s[w]
        # what is really there: the nearest object still flying at the moment of firing
        # (a drone killed by another shooter a moment later is still a real target now)
        flying = self.air.airborne.copy()
        flying[: self.nd] |= self.air.t_fate_s > t_f
        live = np.flatnonzero(flying)
        aim = x[r, :3]
        truth = -1
        if live.size:
            d = np.linalg.norm(self.air.pos[live] - aim, axis=1)
            j = int(np.argmin(d))
            if d[j] <= _GATE_TRUTH_M + 3 * float(ic.sigma_m[0, 0]):
                truth = int(live[j])
        e.target_row = truth
        kind = int(self.air.kind[truth]) if truth >= 0 else -1
        self.log.add(t_f, "fired", drone=truth if 0 <= truth < self.nd else -1, track=e.track,
                     effector=w, engagement=e.id, xyz=ic.point[0, 0], value=e.cost_usd,
                     detail=eff.names[w])
        if kind == Kind.BIRD:
            self.counts["shots_at_birds"] += 1
            self.log.add(t_f, "shot_at_bird", track=e.track, effector=w, engagement=e.id)
        elif kind == Kind.OWN:
            self.counts["shots_at_own"] += 1
            self.log.add(t_f, "shot_at_own", track=e.track, effector=w, engagement=e.id)
        elif truth < 0:
            self.counts["false_track_shots"] += 1
        e.aim_point = tuple(float(v) for v in ic.point[0, 0])

    def resolve_hit(self, e: Engagement) -> None:
        """The projectile arrives at e.t_hit_s: kill or miss, and where things fall."""
        air, k = self.air, e.target_row
        e.resolved = True
        u = self.streams.uniform("kill", e.id, 0, np.array([0, 1, 2, 3]))
        e.hit = bool(k >= 0 and air.airborne[k] and u[0] < e.pk_expected)
        w = e.effector
        if e.hit:
            pos, vel = air.pos[k].copy(), air.vel[k].copy()
            if k < self.nd:
                air.shoot_down(k, e.t_hit_s)
                self.log.add(e.t_hit_s, "killed", drone=k, track=e.track, effector=w,
                             engagement=e.id, xyz=pos, detail=self.eff.names[w])
            else:
                air.mode[k] = Mode.DOWN
                air.vel[k] = 0.0
                self.counts["birds_killed" if air.kind[k] == Kind.BIRD else "own_killed"] += 1
                self.log.add(e.t_hit_s, "killed", track=e.track, effector=w, engagement=e.id,
                             xyz=pos, detail=Kind.NAMES[int(air.kind[k])])
            fall = self.nfz.sample_debris(pos, vel, self.wind, u[1:3]) if self.nfz else None
            if fall is not None and self.nfz.contains(fall[None])[0]:
                self.counts["nfz_impacts"] += 1
                self.log.add(e.t_hit_s, "nfz_impact", effector=w, engagement=e.id,
                             xyz=(*fall, 0.0), detail="debris")
        else:
            self.log.add(e.t_hit_s, "missed", drone=k if 0 <= k < self.nd else -1,
                         track=e.track, effector=w, engagement=e.id)
            if self.nfz and self.eff.gun[w]:
                p = self.nfz.p_rounds(self.eff.pos[w], np.asarray(e.aim_point),
                                      np.array(self.eff.round_max_range_m[w]))
                if u[3] < p:
                    self.counts["nfz_impacts"] += 1
                    self.log.add(e.t_hit_s, "nfz_impact", effector=w, engagement=e.id,
                                 detail="rounds")

    def _assess(self, e: Engagement) -> None:
        t = e.t_hit_s + self.doctrine.kill_assessment_delay_s
        u = float(self.streams.uniform("kill-assessment", e.id, 0))
        right = u < self.doctrine.kill_assessment_p_correct
        said_killed = e.hit == right
        e.result = "killed" if said_killed else "missed"
        e.to(_S.ASSESSED, t, e.result)
        self.log.add(t, "assessed", track=e.track, effector=e.effector, engagement=e.id,
                     detail=e.result)
        if said_killed:
            self.tracker.drop([e.track])

    # ------------------------------------------------------------------ the loop
    def run(self) -> SimResult:
        sc, air = self.sc, self.air
        for k in range(self.nd):
            self.log.add(float(air.t_start_s[k]), "launched", drone=k, xyz=air.launch[k])
        t = 0.0
        while t < sc.duration_s - 1e-9:
            if self.done():
                break
            t_q = self.quiet_until(t)
            if t_q > t:
                t2 = self.skip(t, t_q)
                if t2 > t:
                    t = t2
                    continue
            t1 = min(t + self.tick, sc.duration_s)
            # projectiles landing inside this tick: move the world to each arrival first
            t_cur = t
            for e in sorted((e for e in self.open if e.state == _S.FIRING
                             and not e.resolved and e.t_hit_s <= t1),
                            key=lambda e: e.t_hit_s):
                if e.t_hit_s > t_cur:
                    self.apply_world_events(air.advance(t_cur, e.t_hit_s))
                    t_cur = e.t_hit_s
                self.resolve_hit(e)
            self.apply_world_events(air.advance(t_cur, t1))
            self.eff.tick_reload(t1)
            self.electronic_warfare(t1)
            self.sense_and_track(t1)
            self.progress(t1)
            self.decide(t1)
            self.progress(t1)
            self.steps += 1
            if self.record:
                self._trace(t1)
            t = t1
        return self.result(t)

    def done(self) -> bool:
        air = self.air
        drones_done = not ((air.mode[: self.nd] == Mode.WAITING) | air.airborne[: self.nd]).any()
        return drones_done and not self.open

    def _trace(self, t: float) -> None:
        air = self.air
        live = np.flatnonzero(air.airborne)
        tr = self.tracker.tracks
        conf = np.flatnonzero(tr.confirmed)
        self.trace_rows.append((
            np.full(live.size, t), live, air.pos[live].copy(),
            np.full(conf.size, t), tr.id[conf].copy(), tr.position[conf].copy(),
        ))

    def result(self, t_end: float) -> SimResult:
        air, nd = self.air, self.nd
        fate = air.fate
        hits = [r for r in self.log.rows if r[2] == "asset_hit"]
        fired = [e for e in self.engagements if not math.isnan(e.t_fire_s)
                 and e.state in (_S.FIRING, _S.ASSESSED)]
        shots = {n: 0 for n in self.eff.names}
        cost = {n: 0.0 for n in self.eff.names}
        for e in fired:
            shots[self.eff.names[e.effector]] += 1
            cost[self.eff.names[e.effector]] += e.cost_usd
        # intruders: analytic (perimeter sensors)
        intr = intrusions(self.sc, self.frame, self.streams, self.log)
        kill_margin = []
        for k in np.flatnonzero(fate == Fate.SHOT_DOWN):
            tgt = self.asset_enu[self.info.target_asset[k]]
            kill_margin.append(np.linalg.norm(air.impact[k, :2] - tgt[:2]) / air.speed_mps[k])
        chain = {}
        for name, arr in (("detect", self.t_detect), ("confirm", self.t_confirm),
                          ("identify", self.t_identify)):
            lead = arr - air.t_start_s[:nd]
            chain[f"t_{name}_after_launch_s"] = float(np.nanmean(lead)) if np.isfinite(
                lead).any() else math.nan
        out: dict[str, float] = {
            "drones": float(nd),
            "shot_down": float(np.sum(fate == Fate.SHOT_DOWN)),
            "forced_down": float(np.sum((fate == Fate.LANDED) | (fate == Fate.CRASHED))),
            "forced_down_crashed": float(np.sum(fate == Fate.CRASHED)),
            "forced_down_landed": float(np.sum(fate == Fate.LANDED)),
            "leaked": float(np.sum(fate == Fate.ATTACKED)),
            "returned": float(np.sum(fate == Fate.RETURNED)),
            "still_flying": float(np.sum(air.airborne[:nd] | (air.mode[:nd] == Mode.WAITING))),
            "spoofed": float(np.sum(air.spoofed_by >= 0)),
            "assets_hit": float(len({r[11] for r in hits})),
            "any_asset_hit": float(bool(hits)),
            "damage_value": float(sum(r[10] for r in hits)),
            "shots": float(len(fired)),
            "cost_usd": float(sum(cost.values())),
            "shots_at_birds": float(self.counts["shots_at_birds"]),
            "shots_at_own": float(self.counts["shots_at_own"]),
            "false_track_shots": float(self.counts["false_track_shots"]),
            "own_aircraft_jammed": float(self.own_jammed.sum()),
            "nfz_impacts": float(self.counts["nfz_impacts"]),
            "detected": float(np.isfinite(self.t_detect).sum()),
            "mean_kill_margin_s": float(np.mean(kill_margin)) if kill_margin else math.nan,
            **chain,
            **intr,
        }
        # leakers per asset aimed at (a leaker may still miss: assets_hit counts damage)
        aimed = self.info.target_asset[fate == Fate.ATTACKED]
        for a, name in enumerate(self.asset_names):
            out[f"leaked:{name}"] = float(np.sum(aimed == a))
        trace = None
        if self.record and self.trace_rows:
            cols = list(zip(*self.trace_rows, strict=True))
            trace = {
                "truth_t": np.concatenate(cols[0]), "truth_row": np.concatenate(cols[1]),
                "truth_pos": np.concatenate(cols[2]), "track_t": np.concatenate(cols[3]),
                "track_id": np.concatenate(cols[4]), "track_pos": np.concatenate(cols[5]),
                "truth_kind": air.kind.copy(),
            }
        return SimResult(self.sc.name, self.rep, self.streams.seed, out, self.log.table(),
                         shots, cost, self.steps, t_end, trace,
                         self.engagements)


def simulate(scenario: Scenario | str, replication: int = 0, *, seed: int | None = None,
             record: bool = False) -> SimResult:
    """Run one replication. ``seed`` defaults to the scenario's; ``record`` keeps a trace."""
    sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
    return _Run(sc, replication, sc.seed if seed is None else seed, record).run()
