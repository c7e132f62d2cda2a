"""The live driver: reports in, the C2 stages on an event-time clock, a person approving.

    submit() ─► reorder buffer ─► Tracker ─► DecisionStage.epoch ─► EngagementBook
                                                   │                      │
                                          jammer switches, cues    HumanOperator, LiveWeapons
                                                   └──── tasker(...) ◄────┘
    EventLog (replication 0) + tracks per step ─► close(): events.parquet, tracks.parquet,
    scenario.json, summary.json in the session folder

The site, sensors, effectors, zones and doctrine come from the scenario (raids, birds and
truth are ignored); every site of the scenario is one group (group 0), as one replication
is in the simulator.

Clock. Session time ``t_s`` is seconds since ``epoch_utc``. The driver steps the stages on
the simulator's grid (``step_s``: the fastest radar's scan period or the decision period,
at least 0.25 s) up to the *event-time* clock ``max(report time seen, clock() - epoch) -
reorder_wait_s``: a feed played at ×20 moves the clock by its report times, an idle feed
by the injected wall clock. The wall clock lags by the wait too, so a report on time by the
wall clock is never late. "Report time seen" is the latest report time seen at least
``reorder_wait_wall_s`` of wall time ago: the wait holds in wall time as well as in session
time, so a report read a moment after a later one — each node is its own connection, and
under load one node's burst is read ahead of another's — is never late however fast the
feed plays. With the wait in session time only, a feed at ×20 (1 s of session time = 50 ms
of wall) had 7 and 21 reports dropped as late in two tests run side by side (clean-clone
CI, 2026-12-05). At ×1 the wall clock's term is the later one and this costs nothing.
What the stages see therefore depends on the reports and their times, not on how often
:meth:`tick` is called or how fast the feed plays (a test drives it with a fixed clock and
gets the simulator's decisions).

A step at grid time t1 does what a simulator step does after its sensors (``sim/engine.py``):
release every report up to t1 — a radar's only once its scan has completed (on its period's
grid, as the simulator delivers whole scans) — and step the tracker with them in one call,
per-sensor batches, ``until_s`` the earliest completed radar scan and ``scanned`` the
survey sensors whose period elapsed; then progress the book, run the decision epoch (the
doctrine's decision period gates proposals inside the stage), progress the book again.

Weapons control: ``hold`` no proposals (pending ones are rejected), ``tight`` a person
answers every proposal through :meth:`decide` before the doctrine's operator timeout (in
session time) or it expires, ``free`` proposals are approved at once (the doctrine's
automatic mode, ``human_in_loop`` off, P(hostile) threshold ``p_hostile_free``).

Effectors: firing calls ``tasker(effector_name, engagement_id, summary)`` (the SAPIENT
server tasks the node; default: nothing), jammer switches and EO/IR cues too (engagement -1).
Kill assessment: ``assessment(engagement_id, track_id, t_s)`` is asked at the doctrine's
assessment time (round arrival + ``kill_assessment_delay_s``) and may answer "killed",
"forced_down", "missed", "unknown" or None (not yet: asked again every step). The default
answers what :meth:`report_assessment` was told (a sensor or a person), else "unknown": a
track that merely stops being seen is no evidence of a kill (it may have left coverage), so
the driver never guesses one. "killed" drops the track.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from bastion._version import __version__
from bastion.assess.identify import IdentModel, IFFCover
from bastion.core.detections import Detections, K
from bastion.core.events import SCHEMA_VERSION, EventLog
from bastion.live.operator import HumanOperator
from bastion.live.picture import (
    engagement_json,
    site_json,
    threat_queue,
    tracks_json,
    trails,
    utc_iso,
)
from bastion.live.reorder import ReorderBuffer
from bastion.outcome.output import staged_output
from bastion.respond.book import EngagementBook
from bastion.respond.decision import Assets, DecisionStage, Turret
from bastion.respond.effectors import EffectorStatus, build_effectors
from bastion.respond.engagement import Engagement, EngagementState
from bastion.respond.memory import TrackMemory
from bastion.respond.ports import StatusWeapons
from bastion.respond.roe import NoFireZones
from bastion.scenario.geo import Frame
from bastion.scenario.load import scenario_hash
from bastion.scenario.schema import EOIR, IFF, Doctrine, PassiveRF, Radar, Scenario
from bastion.tracking import Tracker

__all__ = ["TRACK_SCHEMA", "LiveDriver", "Tasker", "WeaponsControl", "epoch_grid_s"]

WeaponsControl = Literal["hold", "tight", "free"]
# returns the task's id when it went to the effector, None when the effector is not
# connected (what the SAPIENT server's ``send_task`` returns); anything else is taken as sent
Tasker = Callable[[str, int, dict[str, Any]], object]
_TASK_STATES = ("accepted", "rejected", "completed", "failed", "unknown")
Assessment = Callable[[int, int, float], str | None]

PROVENANCE_KEY = b"bastion.provenance"  # as outcome.report writes it
# ASSUMED: the UI draws the last two minutes of a track (a fixed-wing drone flies ~4 km)
HISTORY_S = 120.0
# ASSUMED: no feed runs more than a day ahead of the wall clock (a ×60 replay of a 24-hour
# raid does not): a report stamped later is a bad clock, and would move the event-time
# clock past every honest report
MAX_AHEAD_S = 86_400.0
# at most this many grid steps per tick(): a service catching up after a pause answers
# requests in between (the next tick continues)
MAX_STEPS_PER_TICK = 5_000
_RESULTS = ("killed", "forced_down", "missed", "unknown")
# ASSUMED: a common grid of the stages' periods longer than an hour is not worth waiting
# for; such a scenario's epochs are only whole seconds
MAX_EPOCH_GRID_S = 3600.0

TRACK_SCHEMA = pa.schema([
    ("t_s", pa.float64()), ("id", pa.int64()), ("status", pa.int8()),
    *[(c, pa.float64()) for c in ("x_m", "y_m", "z_m", "vx_mps", "vy_mps", "vz_mps")],
    *[(f"p{c}", pa.float64()) for c in ("xx", "yy", "zz", "vxvx", "vyvy", "vzvz")],
    ("p_hostile_drone", pa.float64()), ("p_bird", pa.float64()),
    ("p_own_aircraft", pa.float64()),
    ("threat_asset", pa.int32()), ("p_reach", pa.float64()), ("ttg_s", pa.float64()),
    ("threat_value", pa.float64()),
], metadata={b"bastion.tracks.schema_version": b"1"})


class _Weapons(StatusWeapons):
    """The effector port live: the status kept as the simulator keeps it, the shot sent to
    the tasker, the assessment asked of the pluggable assessment."""

    def __init__(self, drv: LiveDriver) -> None:
        super().__init__(drv.eff, drv.status, [drv.log])
        self.drv = drv

    def fired(self, group: int, e: Engagement, t_s: float, track_pos: NDArray[np.float64],
              sigma_m: float, aim_point: NDArray[np.float64]) -> None:
        super().fired(group, e, t_s, track_pos, sigma_m, aim_point)
        lat, lon, alt = self.drv.frame.to_geodetic(aim_point)
        self.drv._task(self.eff.names[e.effector], e.id, {
            "action": "fire", "track": e.track, "t_s": t_s, "aim_lat": float(lat),
            "aim_lon": float(lon), "aim_alt_m": float(alt), "sigma_m": sigma_m})

    def assess(self, group: int, e: Engagement, t_s: float) -> str | None:
        r = self.drv.assessment(e.id, e.track, t_s)
        if r is not None and r not in _RESULTS:
            raise ValueError(f"assessment of engagement {e.id}: {r!r} is not one of "
                             f"{', '.join(_RESULTS)}")
        return r


def _periods(sc: Scenario) -> list[float]:
    """The periods the driver steps on: radar scans, survey sensors, decisions, the step."""
    radar = [s.scan_period_s for s in sc.sensors if isinstance(s, Radar)]
    survey = [s.interrogation_period_s if isinstance(s, IFF) else s.period_s
              for s in sc.sensors if isinstance(s, PassiveRF | IFF)]
    step = max(min([*radar, sc.doctrine.decision_period_s]), 0.25)
    return [*radar, *survey, sc.doctrine.decision_period_s, step]


def epoch_grid_s(sc: Scenario) -> float:
    """The grid session epochs are chosen on: whole seconds, a multiple of every period the
    driver steps on (its step, each radar's scan, each survey sensor's period, the decision
    period). The driver's default epoch is the clock floored to it and ``bastion feed``'s
    the clock raised to it, so the two, chosen independently, differ by whole grids: the
    feed's simulated times fall on the driver's step and scan grids where they fell on the
    simulator's, and the driver decides as the simulator did (a feed off the grid splits
    radar scans differently). 1 s when the periods have no common multiple in whole
    milliseconds up to ``MAX_EPOCH_GRID_S``."""
    ms = [round(p * 1000) for p in _periods(sc)]
    if any(m <= 0 or abs(m - p * 1000) > 1e-6 for m, p in zip(ms, _periods(sc),
                                                                strict=True)):
        return 1.0
    g = math.lcm(1000, *ms) / 1000
    return g if g <= MAX_EPOCH_GRID_S else 1.0


class LiveDriver:
    """The C2 stages of one site on live reports (docs/live.md)."""

    threadsafe = True  # the service may step it in a worker thread (see __init__)

    def __init__(self, scenario: Scenario, *, session_dir: Path | None,
                 clock: Callable[[], float] = time.time, epoch_utc: float | None = None,
                 reorder_wait_s: float = 1.0, weapons_control: WeaponsControl = "tight",
                 tasker: Tasker | None = None, assessment: Assessment | None = None,
                 max_held: int = 100_000, track_id_base: int | None = None,
                 ident: IdentModel | None = None, reorder_wait_wall_s: float = 0.5) -> None:
        """``ident``: the identification model (default: the scenario's, as the simulator
        builds it; ``bastion serve`` passes the one of the scenario *with* its raids, whose
        object mix sets the priors, since the live scenario has its raids dropped).
        ``reorder_wait_wall_s``: the reorder wait in wall seconds (module docstring)."""
        if weapons_control not in ("hold", "tight", "free"):
            raise ValueError(f"weapons_control {weapons_control!r}: hold, tight or free")
        if not (math.isfinite(reorder_wait_s) and reorder_wait_s >= 0):
            raise ValueError("reorder_wait_s must be finite and >= 0")
        if not (math.isfinite(reorder_wait_wall_s) and reorder_wait_wall_s >= 0):
            raise ValueError("reorder_wait_wall_s must be finite and >= 0")
        self.sc, self.session_dir, self.clock = scenario, session_dir, clock
        if epoch_utc is None:  # on the epoch grid (epoch_grid_s), at or before now
            g = epoch_grid_s(scenario)
            epoch_utc = math.floor(clock() / g) * g
        self.epoch_utc = float(epoch_utc)
        self.reorder_wait_s = float(reorder_wait_s)
        self.reorder_wait_wall_s = float(reorder_wait_wall_s)
        # Threads: the service steps the stages in a worker thread so that its event loop
        # keeps reading sockets and pushing to the screens while a step runs (a step with
        # 100 radars took ~70 ms). The lock guards the stages; submit() never waits for it:
        # a batch that arrives mid-step waits in the inbox and is taken, in arrival order,
        # before the next step.
        self._lock = threading.RLock()
        self._inbox: deque[Detections] = deque()
        self._max_seen_s = -math.inf  # the latest report time submitted
        # called (on the caller's thread) when a report or a node's status changed the
        # picture's sensor rows: the service pushes them at once (LiveDriver.sensors())
        self.on_sensors: Callable[[], None] | None = None
        self._latest: dict[str, Any] | None = None  # the last snapshot() made
        # (wall clock, latest report time seen by then), oldest first; pruned as it ages
        self._seen: deque[tuple[float, float]] = deque()
        self.tasker = tasker
        self.assessment: Assessment = assessment or self._reported_assessment
        self._assessed: dict[int, str] = {}
        # what became of each engagement's effector task: sent / no_link / error, then the
        # node's TaskAck (accepted, rejected, completed, failed); shown in the picture
        self.tasks: dict[int, str] = {}
        sc = scenario
        self.frame = frame = Frame(sc.origin)
        assets = [a for s in sc.sites for a in s.assets]
        self.asset_names = [a.name for a in assets]
        self.assets = Assets(np.array([frame.point(a.position) for a in assets]).reshape(-1, 3),
                             np.array([a.radius_m for a in assets], float),
                             np.array([a.value for a in assets], float))
        self.eff = build_effectors(sc, frame)
        self.status = EffectorStatus.initial(self.eff, 1)
        self.nfz = NoFireZones([frame.polygon(z.polygon) for s in sc.sites
                                for z in s.no_fire_zones])
        self.eo = [(i, s) for i, s in enumerate(sc.sensors) if isinstance(s, EOIR)]
        turrets = [Turret(frame.point(s.position), float(s.range_night_m if sc.night
                                                         else s.range_day_m))
                   for _, s in self.eo]
        self.turret_busy_until = np.zeros(len(self.eo))
        self.log = EventLog(0)
        self.doctrine = self._doctrine(weapons_control)
        self.weapons_control: WeaponsControl = weapons_control
        # the simulator's identification: the scenario's class profiles, priors and IFF cover
        self.ident = ident or IdentModel.from_scenario(sc)
        self.stage = DecisionStage(self.doctrine, self.eff, self.assets, self.nfz, turrets, 1,
                                   self.ident, IFFCover.from_scenario(sc, frame))
        base = (int(self.epoch_utc) << 20) if track_id_base is None else track_id_base
        self.tracker = Tracker(id_base=base)  # ids unique across restarts, < 2**53 for JSON
        self.operator = HumanOperator(automatic=weapons_control == "free")
        self.weapons = _Weapons(self)
        self.book = EngagementBook(self.doctrine, self.eff, self.status, [self.log],
                                   self.operator, self.weapons, self, self.stage.is_threat)
        w = sc.wind
        to = math.radians(w.from_deg + 180.0)  # the mean wind (a live site would measure it)
        self.wind = np.array([[w.speed_mps * math.sin(to), w.speed_mps * math.cos(to), 0.0]])
        self._sensor_setup()
        self.buffer = ReorderBuffer(max_held)
        self.buffer.released_until_s = 0.0  # a report from before the session is late
        self.counters: dict[str, int] = {"reports": 0, "late": 0, "bad_messages": 0,
                                         "overflow": 0, "steps": 0, "tasker_errors": 0,
                                         "subscriber_errors": 0, "node_alerts": 0}
        self.n_steps = 0  # grid index of the last step: session time n_steps * step_s
        self._subs: list[Callable[[dict[str, Any]], None]] = []
        self._published = 0
        self._confirmed = TrackMemory(0, np.bool_)
        self._alerted = TrackMemory(0, np.bool_)
        self.alerts: list[dict[str, Any]] = []
        self.nodes: dict[str, dict[str, Any]] = {
            s.name: {"health": "unknown", "last_report_s": None} for s in sc.sensors}
        self._rec: list[dict[str, NDArray[Any]]] = []  # per step: the confirmed tracks
        self._last: dict[str, NDArray[Any]] = _empty_rec()
        self.closed = False

    # ------------------------------------------------------------------ setup
    def _doctrine(self, mode: WeaponsControl) -> Doctrine:
        return self.sc.doctrine.model_copy(update={"weapons_control": mode,
                                                   "human_in_loop": mode != "free"})

    def _sensor_setup(self) -> None:
        sc = self.sc
        radars = [s for s in sc.sensors if isinstance(s, Radar)]
        periods = [r.scan_period_s for r in radars] + [sc.doctrine.decision_period_s]
        self.step_s = max(min(periods), 0.25)  # the simulator's tick
        # the tracker's sensor keys: compact over reporting sensors, in scenario order
        self.batch_key = np.full(len(sc.sensors), -1, np.int64)
        periodic = [(i, s) for i, s in enumerate(sc.sensors)
                    if isinstance(s, Radar | PassiveRF | IFF | EOIR)]
        for k, (i, _) in enumerate(periodic):
            self.batch_key[i] = k
        self.radar_idx = np.array([i for i, s in enumerate(sc.sensors) if isinstance(s, Radar)],
                                  np.int64)
        self.radar_period = np.array([r.scan_period_s for r in radars], float)
        # survey sensors look at everything in reach each period (an EO/IR turret does not)
        survey = [(i, s) for i, s in periodic if not isinstance(s, EOIR)]
        self.survey_key = np.array([self.batch_key[i] for i, _ in survey], np.int64)
        self.survey_period = np.array([s.scan_period_s if isinstance(s, Radar) else
                                       s.interrogation_period_s if isinstance(s, IFF)
                                       else s.period_s for _, s in survey], float)

    # ------------------------------------------------------------------ time
    @property
    def t_s(self) -> float:
        """Session time the stages have reached."""
        return self.n_steps * self.step_s

    def event_now_s(self) -> float:
        """The event-time clock (module docstring)."""
        now = self.clock()
        old = now - self.reorder_wait_wall_s
        q = self._seen
        while len(q) > 1 and q[1][0] <= old:
            q.popleft()
        seen = q[0][1] if q and q[0][0] <= old else -math.inf
        return max(seen, now - self.epoch_utc) - self.reorder_wait_s

    # ------------------------------------------------------------------ input
    def submit(self, dets: Detections, *, node: str) -> None:
        """Reports of one node; ``dets.sensor`` are scenario sensor indices, ``dets.t_s``
        session times. A batch that cannot be a scenario sensor's reports raises
        ``ValueError`` (counted in ``bad_messages``) and changes nothing."""
        try:
            m = dets.m
            ok = (dets.sensor.shape == (m,) and dets.z.shape == (m, 3)
                  and dets.R.shape == (m, 3, 3) and dets.evidence.shape == (m, K))
            if not ok:
                raise ValueError("report arrays of mismatched shapes")
            if m and (dets.sensor.min() < 0 or dets.sensor.max() >= len(self.sc.sensors)
                      or (self.batch_key[dets.sensor] < 0).any()):
                raise ValueError("a report from a sensor that is not a reporting sensor of "
                                 "the scenario")
            if not (np.isfinite(dets.t_s).all() and np.isfinite(dets.z).all()
                    and np.isfinite(dets.R).all()):
                raise ValueError("a report with a non-finite time, position or covariance")
            ahead = self.clock() - self.epoch_utc + MAX_AHEAD_S
            if m and dets.t_s.max() > max(ahead, self._max_seen_s + MAX_AHEAD_S):
                raise ValueError(f"a report stamped more than {MAX_AHEAD_S:g} s ahead of the "
                                 "clock")
        except ValueError:
            self.counters["bad_messages"] += 1
            raise
        if not m:
            return
        d = Detections(dets.t_s.astype(float), dets.sensor.astype(np.int64), dets.z, dets.R,
                       dets.evidence, np.full(m, -1, np.int64) if dets.truth.shape != (m,)
                       else dets.truth, np.zeros(m, np.int64))
        self._inbox.append(d)
        if self._lock.acquire(blocking=False):  # else the step under way takes it after
            try:
                self._drain()
            finally:
                self._lock.release()
        last = float(d.t_s.max())
        now = self.clock()
        self._max_seen_s = seen = max(self._max_seen_s, last)
        if self._seen and self._seen[-1][0] >= now:
            self._seen[-1] = (self._seen[-1][0], seen)
        else:
            self._seen.append((now, seen))
        n = self.nodes.setdefault(node, {"health": "unknown", "last_report_s": None})
        n["last_report_s"] = last if n["last_report_s"] is None else max(n["last_report_s"],
                                                                         last)
        self._sensors_changed()

    def _drain(self) -> None:
        """Reports waiting in the inbox into the reorder buffer (lock held)."""
        while self._inbox:
            self.buffer.push(self._inbox.popleft())
        self.counters["reports"] = self.buffer.counters["reports"]
        self.counters["late"] = self.buffer.counters["late"]

    def _sensors_changed(self) -> None:
        if self.on_sensors is not None:
            try:
                self.on_sensors()
            except Exception:  # a broken viewer must not stop the C2 loop
                self.counters["subscriber_errors"] += 1

    def node_status(self, node: str, status: dict[str, Any]) -> None:
        """A node's status report: ``{"health": "ok" | "degraded" | "fault", ...}``."""
        h = str(status.get("health", "unknown"))
        n = self.nodes.setdefault(node, {"health": "unknown", "last_report_s": None})
        n["health"] = h if h in ("ok", "degraded", "fault") else "unknown"
        self._publish({"type": "node_status", "node": node, "health": n["health"]})
        self._sensors_changed()

    def alert(self, node: str, text: str, t_s: float) -> None:
        """A node's own alert: counted and passed to subscribers; the picture's alerts stay
        one per object (the tracker's), not one per sensor."""
        self.counters["node_alerts"] += 1
        self._publish({"type": "node_alert", "node": node, "text": text, "t_s": t_s})

    def report_assessment(self, engagement: int, result: str) -> None:
        """A kill assessment from outside (a sensor or a person), used by the default
        assessment when the engagement's assessment time comes."""
        if result not in _RESULTS:
            raise ValueError(f"result {result!r}: one of {', '.join(_RESULTS)}")
        self._assessed[engagement] = result

    def _reported_assessment(self, engagement: int, track: int, t_s: float) -> str | None:
        return self._assessed.get(engagement, "unknown")

    # ------------------------------------------------------------------ the loop
    def tick(self) -> None:
        """Step the stages on their grid up to the event-time clock. Safe to call from a
        worker thread (the service does)."""
        with self._lock:
            if self.closed:
                return
            self._drain()
            now = self.event_now_s()
            budget = MAX_STEPS_PER_TICK
            while (self.n_steps + 1) * self.step_s <= now + 1e-9 and budget > 0:
                self._step((self.n_steps + 1) * self.step_s, self.n_steps * self.step_s)
                self.n_steps += 1
                budget -= 1
            self._flush_events()

    def run_until(self, t_s: float) -> None:
        """Step up to session time ``t_s`` whatever the clock says (tests, replays, and
        draining the buffer at the end of a feed)."""
        with self._lock:
            self._drain()
            while (self.n_steps + 1) * self.step_s <= t_s + 1e-9:
                self._step((self.n_steps + 1) * self.step_s, self.n_steps * self.step_s)
                self.n_steps += 1
            self._flush_events()

    def _step(self, t1: float, t0: float) -> None:
        self.counters["steps"] += 1
        # a radar's scan is delivered whole when it completes (its period's grid)
        scan_end = np.floor((t1 + 1e-9) / self.radar_period) * self.radar_period
        sensor_until = np.full(len(self.sc.sensors), t1)
        sensor_until[self.radar_idx] = scan_end
        det = self.buffer.release(t1, sensor_until)
        self.counters["overflow"] = self.buffer.counters["overflow"]
        until = float(min(t1, scan_end.min(initial=t1)))
        done1 = np.floor((t1 + 1e-9) / self.survey_period)
        done0 = np.floor((t0 + 1e-9) / self.survey_period)
        scanned: NDArray[np.int64] | None = self.survey_key[done1 > done0]
        if self.batch_key.max(initial=0) >= 52:
            scanned = None  # the tracker keeps 52 sensor bits per track
        self._reload(t1)
        trk = self.tracker
        if det.m:
            trk.step(det.t_s, det.z, det.R, sensor=self.batch_key[det.sensor],
                     evidence=det.evidence, until_s=until, scanned=scanned)
        else:
            trk.step(until, np.zeros((0, 3)), np.zeros((0, 3, 3)), evidence=np.zeros((0, K)),
                     scanned=scanned)
        book = self.book
        if t1 >= book.wake(0):
            book.progress(0, t1)
        self._decide(t1)
        if t1 >= book.wake(0):
            book.progress(0, t1)

    def _reload(self, t1: float) -> None:
        st = self.status
        reload = self.eff.kinetic[None, :] & (st.rounds == 0) & (st.reload_done_s <= t1)
        if reload.any():
            st.rounds[reload] = np.broadcast_to(self.eff.magazine, st.rounds.shape)[reload]
            st.reload_done_s[reload] = np.inf

    def confirmed(self, t: float) -> tuple[NDArray[np.int64], NDArray[np.float64],
                                           NDArray[np.float64], NDArray[np.float64],
                                           NDArray[np.int8]]:
        """(ids, x, P, evidence, status) of the confirmed tracks at ``t`` (as the
        simulator's picture gives them: only tracks not at ``t`` are predicted)."""
        trk = self.tracker
        tracks = trk.tracks
        rows = np.flatnonzero(tracks.confirmed)
        x, P = tracks.state[rows], tracks.covariance[rows]
        off = tracks.t_s[rows] != t
        if off.any():
            xa, Pa = trk.predict(t)
            x[off], P[off] = xa[rows[off]], Pa[rows[off]]
        ev = tracks.evidence[rows] if tracks.evidence.shape[1] == K else np.zeros((rows.size, K))
        return tracks.id[rows], x, P, ev, tracks.status[rows]

    def _decide(self, t: float) -> None:
        ids, x, P, ev, status = self.confirmed(t)
        n = ids.size
        free = [np.array([t >= b]) for b in self.turret_busy_until]
        d = self.stage.epoch(t, np.ones(1, bool), ids, np.zeros(n, np.int64), x, P, ev,
                             self.status, free, self.book.engaged, self.wind)
        log = self.log
        thr = np.zeros((n, 4))
        thr[:, 0] = -1
        if n and d.threats is not None:
            th = d.threats
            thr = np.c_[np.where(th.p_reach > 0, th.asset, -1), th.p_reach, th.time_to_go_s,
                        th.value]
        if n:
            new = ~self._confirmed.get(ids)
            for r in np.flatnonzero(new):
                log.add(t, "confirmed", track=int(ids[r]), xyz=x[r, :3])
            self._confirmed.set(ids[new], True)
            hostile = (d.p_class[:, 0] >= self._p_hostile_min()) & ~self._alerted.get(ids)
            for r in np.flatnonzero(hostile):  # one alert per object, when first hostile
                log.add(t, "identified", track=int(ids[r]), xyz=x[r, :3],
                        value=float(d.p_class[r, 0]))
                self.alerts.append({"id": len(self.alerts), "track": int(ids[r]), "t_s": t,
                                    "text": "hostile drone"})  # its track: "track"
            self._alerted.set(ids[hostile], True)
        for _g, j, on in d.switches:
            log.add(t, "jammer_on" if on else "jammer_off", effector=j)
            self._task(self.eff.names[j], -1, {"action": "jammer_on" if on else "jammer_off",
                                               "t_s": t})
        for c in d.cues:
            _i, s = self.eo[c.turret]
            self.turret_busy_until[c.turret] = t + s.slew_time_s + s.dwell_s
            lat, lon, alt = self.frame.to_geodetic(c.pos[0])
            self._task(s.name, -1, {"action": "cue", "track": int(c.track[0]), "t_s": t,
                                    "lat": float(lat), "lon": float(lon),
                                    "alt_m": float(alt)})
        for _g, gid, p in d.proposals:
            self.book.propose(0, t, p, gid, gid)
        pc = d.p_class if n else np.zeros((0, K))
        self._last = {"t_s": np.full(n, t), "id": ids, "status": status.astype(np.int8),
                      "x": x, "p_diag": np.diagonal(P, axis1=1, axis2=2).copy(), "p_class": pc,
                      "threat": thr}
        if n:
            self._rec.append(self._last)

    def _p_hostile_min(self) -> float:
        dc = self.doctrine
        return dc.p_hostile_tight if dc.weapons_control == "tight" else dc.p_hostile_free

    # ------------------------------------------------------------------ track port
    def state_at(self, track_key: int, t_s: float
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        return self.tracker.state_at(track_key, t_s)

    def drop(self, track_key: int) -> None:
        self.tracker.drop([track_key])

    # ------------------------------------------------------------------ the operator
    def _engagement(self, engagement: int) -> Engagement:
        es = self.book.engagements(0)
        if not (0 <= engagement < len(es)):
            raise KeyError(f"no engagement {engagement}")
        return es[engagement]

    def decide(self, engagement: int, approve: bool, who: str) -> dict[str, Any]:
        """A person's answer, at the current session time. ``KeyError``: no such
        engagement; ``ValueError``: it is not waiting for an answer (already decided,
        expired — the countdown runs in session time — or weapons are free)."""
        with self._lock:
            return self._decide_locked(engagement, approve, who)

    def _decide_locked(self, engagement: int, approve: bool, who: str) -> dict[str, Any]:
        e = self._engagement(engagement)
        t = self.t_s
        if e.state == EngagementState.PROPOSED and t >= self.book.wake(0):
            self.book.progress(0, t)  # it may have expired (or been answered) by now
        if e.state != EngagementState.PROPOSED:
            raise ValueError(f"engagement {engagement} is {e.state.name.lower()}, not "
                             "waiting for a decision")
        self.operator.record(e, bool(approve), who, t)
        self.book.due(0)
        self.book.progress(0, t)
        self._flush_events()
        return self._engagement_json(e)

    def set_weapons_control(self, mode: str, who: str) -> None:
        if mode not in ("hold", "tight", "free"):
            raise ValueError(f"weapons control {mode!r}: hold, tight or free")
        with self._lock:
            self._set_weapons_control(mode, who)

    def _set_weapons_control(self, mode: str, who: str) -> None:
        t = self.t_s
        d = self._doctrine(mode)  # type: ignore[arg-type]
        self.doctrine = self.stage.doctrine = self.book.doctrine = d
        op = d.operator
        self.stage.expected_delay_s = (op.decision_time_s
                                       * math.exp(op.decision_time_sigma**2 / 2)
                                       if d.human_in_loop else 0.0)
        self.weapons_control = mode  # type: ignore[assignment]
        self.operator.set_automatic(mode == "free", t)
        if mode == "hold":
            for e in self.book.open(0):
                if e.state == EngagementState.PROPOSED:
                    self.operator.record(e, False, f"weapons hold ({who})", t)
        self.book.due(0)
        if t >= self.book.wake(0):
            self.book.progress(0, t)
        self._publish({"type": "weapons_control", "mode": mode, "who": who, "t_s": t})
        self._flush_events()

    # ------------------------------------------------------------------ out
    def _task(self, name: str, engagement: int, summary: dict[str, Any]) -> None:
        if self.tasker is None:
            return
        try:
            sent = self.tasker(name, engagement, summary)
        except Exception:  # a failing node must not stop the C2 loop; it is counted
            self.counters["tasker_errors"] += 1
            if engagement >= 0:
                self.tasks[engagement] = "error"
            return
        if engagement >= 0:
            self.tasks[engagement] = "no_link" if sent is None else "sent"

    def task_ack(self, node: str, engagement: int, status: str) -> None:
        """An effector node's answer to its task (SAPIENT TaskAck): shown in the picture as
        the engagement's ``task``."""
        if engagement >= 0 and engagement in self.tasks:
            self.tasks[engagement] = status if status in _TASK_STATES else "unknown"

    def subscribe(self, fn: Callable[[dict[str, Any]], None]) -> None:
        """``fn(event)`` for every event: ``{"type": "event", "kind": <event kind>, ...}``
        for the event log's rows (confirmed, identified, proposed, approved, rejected,
        expired, fired, assessed, jammer_on/off), and ``node_status``, ``node_alert``,
        ``weapons_control``."""
        self._subs.append(fn)

    def _publish(self, msg: dict[str, Any]) -> None:
        for fn in self._subs:
            try:
                fn(msg)
            except Exception:  # a broken viewer must not stop the C2 loop
                self.counters["subscriber_errors"] += 1

    def _flush_events(self) -> None:
        rows = self.log.rows
        names = ("replication", "t_s", "kind", "drone", "track", "effector", "engagement",
                 "x_m", "y_m", "z_m", "value", "detail")
        for r in rows[self._published:]:
            msg = {"type": "event", **{k: v for k, v in zip(names, r, strict=True)
                                       if k not in ("replication", "drone")}}
            for k in ("x_m", "y_m", "z_m", "value"):
                if isinstance(msg[k], float) and not math.isfinite(msg[k]):
                    msg[k] = None
            self._publish(msg)
        self._published = len(rows)

    def _engagement_json(self, e: Engagement) -> dict[str, Any]:
        expires = None
        if e.state == EngagementState.PROPOSED:
            expires = max(0.0, e.t_proposed_s + self.doctrine.operator.timeout_s - self.t_s)
        w = e.effector
        return engagement_json(e.id, e.track, self.eff.names[w],
                               "kinetic" if self.eff.kinetic[w] else "jammer",
                               e.state.name.lower(), e.result or None, e.pk_expected,
                               e.cost_usd, e.reason, expires, e.decided_by,
                               task=self.tasks.get(e.id), why="" if expires is not None
                               else e.history[-1][2])

    def history(self, ids: NDArray[np.int64]) -> dict[int, list[list[float]]]:
        """Each track's recent positions [[lat, lon], ...], oldest first."""
        t0 = self.t_s - HISTORY_S
        recs = [r for r in self._rec[-int(HISTORY_S / self.step_s) - 1:]
                if r["t_s"].size and r["t_s"][0] >= t0]
        return trails(self.frame, recs, ids)

    def site(self) -> dict[str, Any]:
        return site_json(self.sc, self.frame)

    def sensors(self) -> dict[str, Any]:
        """The sensor rows and counters of the picture: cheap, and never waits for a step
        (the service pushes them the moment a report or a node's status arrives)."""
        return {"t_s": self.t_s,
                "sensors": [{"name": k, "health": v["health"],
                             "last_report_s": v["last_report_s"]}
                            for k, v in list(self.nodes.items())],
                "counters": dict(self.counters)}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            self._latest = pic = self._snapshot()
        return pic

    def latest(self) -> dict[str, Any]:
        """The last snapshot made (the service makes one 5 times a second), without waiting
        for a step under way; a new one if none was made yet."""
        pic = self._latest
        return pic if pic is not None else self.snapshot()

    def _snapshot(self) -> dict[str, Any]:
        last = self._last
        tracks = tracks_json(self.frame, last["id"], last["x"], last["p_diag"],
                             last["p_class"], last["status"], last["threat"],
                             self.asset_names, self._p_hostile_min(), self.history(last["id"]))
        sensors = [{"name": k, "health": v["health"], "last_report_s": v["last_report_s"]}
                   for k, v in list(self.nodes.items())]
        return {"t_s": self.t_s, "time_utc": utc_iso(self.epoch_utc + self.t_s),
                "weapons_control": self.weapons_control, "tracks": tracks,
                "threats": threat_queue(tracks),
                "engagements": [self._engagement_json(e) for e in self.book.engagements(0)],
                "alerts": list(self.alerts), "sensors": sensors,
                "counters": dict(self.counters)}

    # ------------------------------------------------------------------ session folder
    def provenance(self) -> dict[str, Any]:
        return {"bastion_version": __version__, "scenario": self.sc.name,
                "scenario_sha256": scenario_hash(self.sc), "mode": "live",
                "epoch_utc": self.epoch_utc, "t_end_s": self.t_s, "runs": 1,
                "seed": self.sc.seed, "events_schema_version": SCHEMA_VERSION}

    def events(self) -> pa.Table:
        return self.log.table()

    def tracks_table(self) -> pa.Table:
        recs = self._rec
        if not recs:
            return TRACK_SCHEMA.empty_table()
        cat = {k: np.concatenate([r[k] for r in recs]) for k in recs[0]}
        cols: dict[str, Any] = {"t_s": cat["t_s"], "id": cat["id"], "status": cat["status"]}
        for j, c in enumerate(("x_m", "y_m", "z_m", "vx_mps", "vy_mps", "vz_mps")):
            cols[c] = cat["x"][:, j]
        for j, c in enumerate(("pxx", "pyy", "pzz", "pvxvx", "pvyvy", "pvzvz")):
            cols[c] = cat["p_diag"][:, j]
        for j, c in enumerate(("p_hostile_drone", "p_bird", "p_own_aircraft")):
            cols[c] = cat["p_class"][:, j]
        cols["threat_asset"] = cat["threat"][:, 0].astype(np.int32)
        for j, c in enumerate(("p_reach", "ttg_s", "threat_value"), start=1):
            cols[c] = cat["threat"][:, j]
        return pa.table({f.name: pa.array(cols[f.name], type=f.type) for f in TRACK_SCHEMA},
                        schema=TRACK_SCHEMA)

    def close(self) -> Path | None:
        """Stop, and write the session folder atomically (``outcome/output.py``):
        events.parquet, tracks.parquet, scenario.json and summary.json, each with the
        session's provenance. Returns the folder (None without one)."""
        with self._lock:
            self._drain()
            return self._close()

    def _close(self) -> Path | None:
        from bastion.outcome.metrics import outcome_row

        self.closed = True
        self._flush_events()
        if self.session_dir is None:
            return None
        prov = self.provenance()
        events = self.events()
        with staged_output(self.session_dir) as st:
            pq.write_table(_with_provenance(events, prov), st.stage / "events.parquet")
            pq.write_table(_with_provenance(self.tracks_table(), prov),
                           st.stage / "tracks.parquet")
            (st.stage / "scenario.json").write_text(
                json.dumps(self.sc.model_dump(mode="json"), indent=1), encoding="utf-8")
            summary = {"provenance": prov, "counters": self.counters,
                       "engagements": [self._engagement_json(e)
                                       for e in self.book.engagements(0)],
                       "outcome": _json_clean(outcome_row(events, self.sc))}
            (st.stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n",
                                                   encoding="utf-8")
        return Path(self.session_dir)


def _empty_rec() -> dict[str, NDArray[Any]]:
    return {"t_s": np.zeros(0), "id": np.zeros(0, np.int64), "status": np.zeros(0, np.int8),
            "x": np.zeros((0, 6)), "p_diag": np.zeros((0, 6)), "p_class": np.zeros((0, K)),
            "threat": np.zeros((0, 4))}


def _with_provenance(table: pa.Table, prov: dict[str, Any]) -> pa.Table:
    meta = dict(table.schema.metadata or {})
    meta[PROVENANCE_KEY] = json.dumps(prov, sort_keys=True).encode()
    return table.replace_schema_metadata(meta)


def _json_clean(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (v if isinstance(v, int | float) and math.isfinite(v) else None)
            for k, v in d.items()}
