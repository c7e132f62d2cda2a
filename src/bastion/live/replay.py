"""Replay: a recorded session played back as the live picture, read-only, at ×1–×60.

A :class:`Replay` has the live driver's read interface — :meth:`snapshot`, :meth:`site`,
:meth:`subscribe`, ``counters``, ``epoch_utc`` — so the service serves it as it serves a
live site; :meth:`decide` and :meth:`set_weapons_control` are refused (``PermissionError``).

It plays three tables: the scenario, the event log and the tracks table (confirmed tracks
per step, ``driver.TRACK_SCHEMA``). A live session folder holds all three
(:func:`Replay.from_session`); a simulated replication is turned into them by the
simulator (``sim/session.py``, the CLI's ``bastion replay``), since ``live`` does not
import ``sim``.

Session time runs at ``speed`` × the injected clock from the moment of construction (or
the last :meth:`seek`); the picture at time t shows the last recorded step at or before t,
trails of the last ``HISTORY_S``, engagements in the state their events had reached by t,
and one alert per track the first time it was identified hostile.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from bastion.core.detections import K
from bastion.live.driver import HISTORY_S
from bastion.live.picture import (
    engagement_json,
    site_json,
    threat_queue,
    tracks_json,
    trails,
    utc_iso,
)
from bastion.live.session import read_session
from bastion.scenario.geo import Frame
from bastion.scenario.schema import Scenario

__all__ = ["MAX_SPEED", "Replay"]

MAX_SPEED = 60.0
_STATE_OF = {"proposed": "proposed", "approved": "approved", "rejected": "rejected",
             "expired": "expired", "fired": "firing", "assessed": "assessed"}
_XYZ = ("x_m", "y_m", "z_m", "vx_mps", "vy_mps", "vz_mps")
_PD = ("pxx", "pyy", "pzz", "pvxvx", "pvyvy", "pvzvz")
_PC = ("p_hostile_drone", "p_bird", "p_own_aircraft")


class Replay:
    """A recorded session as a read-only picture source."""

    read_only = True  # the service refuses decisions and weapons control before asking

    def __init__(self, scenario: Scenario, events: pa.Table, tracks: pa.Table, *,
                 speed: float = 1.0, clock: Callable[[], float] = time.time,
                 epoch_utc: float = 0.0, counters: dict[str, int] | None = None,
                 engagements: dict[int, dict[str, Any]] | None = None,
                 source: str = "") -> None:
        if not (1.0 <= speed <= MAX_SPEED):
            raise ValueError(f"speed {speed:g}: between 1 and {MAX_SPEED:g}")
        self.sc, self.speed, self.clock, self.source = scenario, float(speed), clock, source
        self.epoch_utc = float(epoch_utc)
        self.frame = Frame(scenario.origin)
        self.asset_names = [a.name for s in scenario.sites for a in s.assets]
        self.weapons_control = scenario.doctrine.weapons_control
        dc = scenario.doctrine
        self.p_hostile_min = dc.p_hostile_tight if dc.weapons_control == "tight" else \
            dc.p_hostile_free
        self.counters = {"reports": 0, "late": 0, "bad_messages": 0, **(counters or {})}
        # what the session knew of its engagements at the end (live: summary.json): who
        # decided, the planner's reason, the Pk expected when it fired
        self._meta = engagements or {}
        self._events = sorted(events.to_pylist(), key=lambda e: e["t_s"])
        self._ev_t = [e["t_s"] for e in self._events]
        self._load_tracks(tracks)
        ends = [self._ev_t[-1] if self._ev_t else 0.0,
                float(self._steps[-1]) if self._steps.size else 0.0]
        self.t_end_s = max(ends)
        self._subs: list[Callable[[dict[str, Any]], None]] = []
        self._published = 0
        self._t0_wall, self._t0_s = clock(), 0.0

    # ------------------------------------------------------------------ sources
    @classmethod
    def from_session(cls, folder: str | Path, **kw: Any) -> Replay:
        s = read_session(folder)
        prov = s.provenance
        meta = {int(e["id"]): e for e in s.summary.get("engagements", [])
                if isinstance(e, dict) and isinstance(e.get("id"), int)}
        return cls(s.scenario, s.events, s.tracks, epoch_utc=float(prov.get("epoch_utc", 0.0)),
                   counters={k: int(v) for k, v in s.summary.get("counters", {}).items()
                             if isinstance(v, int)},
                   engagements=meta, source=str(folder), **kw)

    def _load_tracks(self, tracks: pa.Table) -> None:
        c = {n: tracks.column(n).to_numpy(zero_copy_only=False) for n in tracks.column_names}
        n = tracks.num_rows
        order = np.argsort(c["t_s"], kind="stable") if n else np.zeros(0, np.int64)
        self._t = c["t_s"][order].astype(float) if n else np.zeros(0)
        self._id = c["id"][order].astype(np.int64) if n else np.zeros(0, np.int64)
        self._status = c["status"][order].astype(np.int64) if n else np.zeros(0, np.int64)
        self._x = np.c_[tuple(c[k][order] for k in _XYZ)] if n else np.zeros((0, 6))
        self._pd = np.c_[tuple(c[k][order] for k in _PD)] if n else np.zeros((0, 6))
        self._pc = np.c_[tuple(c[k][order] for k in _PC)] if n else np.zeros((0, K))
        self._thr = (np.c_[c["threat_asset"][order], c["p_reach"][order], c["ttg_s"][order],
                           c["threat_value"][order]] if n else np.zeros((0, 4)))
        self._steps = np.unique(self._t)
        # alerts: the first row of each track identified hostile (one per object)
        hostile = np.flatnonzero(self._pc[:, 0] >= self.p_hostile_min) if n else \
            np.zeros(0, np.int64)
        ids, first = np.unique(self._id[hostile], return_index=True)
        rows_ = hostile[first]
        o = np.lexsort((ids, self._t[rows_]))
        self._alerts = [{"id": k, "track": int(ids[j]), "t_s": float(self._t[rows_[j]]),
                         "text": "hostile drone"}  # its track: "track"
                        for k, j in enumerate(o)]

    # ------------------------------------------------------------------ clock
    @property
    def t_s(self) -> float:
        t = self._t0_s + (self.clock() - self._t0_wall) * self.speed
        return min(max(t, 0.0), self.t_end_s)

    @property
    def done(self) -> bool:
        return self.t_s >= self.t_end_s

    def seek(self, t_s: float) -> None:
        """Continue from session time ``t_s``."""
        self._t0_wall, self._t0_s = self.clock(), min(max(float(t_s), 0.0), self.t_end_s)
        self._published = bisect.bisect_right(self._ev_t, self._t0_s)

    def tick(self) -> None:
        """Publish the events the replay clock has passed (as the live driver does)."""
        k = bisect.bisect_right(self._ev_t, self.t_s)
        for e in self._events[self._published:k]:
            msg = {"type": "event", **{n: v for n, v in e.items()
                                       if n not in ("replication", "drone")}}
            for n in ("x_m", "y_m", "z_m", "value"):
                if isinstance(msg[n], float) and not math.isfinite(msg[n]):
                    msg[n] = None
            for fn in self._subs:
                try:
                    fn(msg)
                except Exception:  # a broken viewer must not stop the replay
                    self.counters["subscriber_errors"] = self.counters.get(
                        "subscriber_errors", 0) + 1
        self._published = max(self._published, k)

    # ------------------------------------------------------------------ read interface
    def subscribe(self, fn: Callable[[dict[str, Any]], None]) -> None:
        self._subs.append(fn)

    def site(self) -> dict[str, Any]:
        return site_json(self.sc, self.frame)

    def close(self) -> Path | None:
        """Nothing to write: a replay records no session of its own."""
        return None

    def decide(self, engagement: int, approve: bool, who: str) -> dict[str, Any]:
        raise PermissionError("a replay is read-only: no engagement can be decided")

    def set_weapons_control(self, mode: str, who: str) -> None:
        raise PermissionError("a replay is read-only: weapons control cannot change")

    def snapshot(self, t_s: float | None = None) -> dict[str, Any]:
        t = self.t_s if t_s is None else float(t_s)
        k = int(np.searchsorted(self._steps, t + 1e-9, side="right"))
        step = float(self._steps[k - 1]) if k else -math.inf
        at = np.flatnonzero(self._t == step)
        lo, hi = np.searchsorted(self._t, [step - HISTORY_S, step + 1e-9])
        recs = [{"id": self._id[lo:hi], "x": self._x[lo:hi]}]
        tracks = tracks_json(self.frame, self._id[at], self._x[at], self._pd[at],
                             self._pc[at], self._status[at], self._thr[at], self.asset_names,
                             self.p_hostile_min, trails(self.frame, recs, self._id[at]))
        return {"t_s": t, "time_utc": utc_iso(self.epoch_utc + t),
                "weapons_control": self.weapons_control, "tracks": tracks,
                "threats": threat_queue(tracks), "engagements": self._engagements(t),
                "alerts": [a for a in self._alerts if a["t_s"] <= t],
                "sensors": [{"name": s.name, "health": "unknown", "last_report_s": None}
                            for s in self.sc.sensors],
                "counters": dict(self.counters),
                "replay": {"source": self.source, "speed": self.speed,
                           "t_end_s": self.t_end_s}}

    def _engagements(self, t: float) -> list[dict[str, Any]]:
        k = bisect.bisect_right(self._ev_t, t + 1e-9)
        eng: dict[int, dict[str, Any]] = {}
        timeout = self.sc.doctrine.operator.timeout_s
        effs = self.sc.effectors
        for e in self._events[:k]:
            i, kind = e["engagement"], e["kind"]
            if i < 0 or kind not in _STATE_OF:
                continue
            if kind == "proposed":
                w = e["effector"]
                eng[i] = {"t_p": e["t_s"], "track": e["track"], "w": w, "state": "proposed",
                          "result": None, "pk": e["value"], "reason": e["detail"],
                          "cost": float(getattr(effs[w], "cost_per_shot_usd", 0.0))}
            elif i in eng:
                eng[i]["state"] = _STATE_OF[kind]
                eng[i]["why"] = e["detail"]
                if kind == "assessed":
                    eng[i]["result"] = e["detail"] or "unknown"
        out = []
        for i, r in sorted(eng.items()):
            w = r["w"]
            exp = max(0.0, r["t_p"] + timeout - t) if r["state"] == "proposed" else None
            m = self._meta.get(i, {})
            pk = r["pk"] if isinstance(r["pk"], float) and math.isfinite(r["pk"]) else 0.0
            if r["state"] in ("firing", "assessed") and isinstance(m.get("pk"), float):
                pk = m["pk"]  # the Pk expected at the shot
            who = "" if r["state"] == "proposed" else str(m.get("decided_by") or "")
            out.append(engagement_json(
                i, int(r["track"]), effs[w].name,
                "jammer" if effs[w].kind == "jammer" else "kinetic", r["state"], r["result"],
                pk, r["cost"], str(m.get("reason") or r["reason"]), exp, who,
                why=str(r.get("why") or "")))
        return out

    def summary_line(self, t_s: float | None = None) -> str:
        """One line of the picture at ``t_s`` (``bastion replay --print``)."""
        s = self.snapshot(t_s)
        tr = s["tracks"]
        hostile = sum(1 for x in tr if x["identity"] == "hostile")
        states: dict[str, int] = {}
        for e in s["engagements"]:
            states[e["state"]] = states.get(e["state"], 0) + 1
        eng = " ".join(f"{k} {v}" for k, v in sorted(states.items())) or "none"
        return (f"t={s['t_s']:7.1f} s  {s['time_utc']}  tracks {len(tr)} (hostile {hostile})"
                f"  threats {len(s['threats'])}  engagements: {eng}  alerts {len(s['alerts'])}")
