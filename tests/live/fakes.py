"""A stand-in for the LiveDriver (docs/live.md) with canned picture JSON: what the service
needs to be tested on its own, without tracker or feeds."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SITE: dict[str, Any] = {
    "name": "test-site", "origin": {"lat": 35.40, "lon": 35.95, "alt_m": 40.0},
    "assets": [{"name": "runway", "lat": 35.40, "lon": 35.95, "radius_m": 800.0,
                "value": 10.0}],
    "no_fire_zones": [{"name": "town", "polygon": [[35.42, 35.90], [35.43, 35.91],
                                                   [35.42, 35.92]]}],
    "sensors": [{"name": "radar-1", "kind": "radar", "lat": 35.40, "lon": 35.95,
                 "range_m": 20000.0}],
    "effectors": [{"name": "gun-1", "kind": "kinetic", "lat": 35.401, "lon": 35.951,
                   "range_m": 4000.0}],
}


def _track(k: int) -> dict[str, Any]:
    return {"id": k, "lat": 35.45 + 0.001 * k, "lon": 35.90, "alt_m": 300.0,
            "speed_mps": 40.0, "course_deg": 135.0, "identity": "hostile",
            "cls": "hostile_drone", "p_class": [0.9, 0.05, 0.05], "airframe": "fixed_wing",
            "status": "confirmed", "history": [[35.45, 35.89], [35.45, 35.90]],
            "sigma_m": 25.0, "threat": {"asset": "runway", "p_reach": 0.8,
                                        "ttg_s": 120.0 - k, "value": 10.0}}


class FakeDriver:
    """Canned picture; ``decide`` moves a proposed engagement on. With ``keep_proposed``
    a new proposal appears whenever fewer than that many are open (a raid that never
    ends, for the kill -9 test)."""

    def __init__(self, *, keep_proposed: int = 0, expire_id: int | None = None) -> None:
        self.t0 = time.time()
        self.weapons_control = "tight"
        self.ticks = 0
        self.calls: list[tuple[Any, ...]] = []
        self.subscribers: list[Callable[[dict[str, Any]], None]] = []
        self.closed = False
        self.keep_proposed = keep_proposed
        self.expire_id = expire_id
        self.next_id = 1
        self.engagements: dict[int, dict[str, Any]] = {}
        for _ in range(3):
            self._propose()

    def _propose(self) -> None:
        k = self.next_id
        self.next_id += 1
        self.engagements[k] = {"id": k, "track": k, "effector": "gun-1", "kind": "kinetic",
                               "state": "proposed", "result": None, "pk": 0.6,
                               "cost_usd": 1000.0, "reason": "ttg 100 s",
                               "expires_in_s": 30.0, "decided_by": None}

    def tick(self) -> None:
        self.ticks += 1
        if self.expire_id is not None and self.ticks == 3:
            e = self.engagements.get(self.expire_id)
            if e and e["state"] == "proposed":
                e["state"] = "expired"
                self._emit({"type": "engagement", "id": self.expire_id, "state": "expired"})
        open_ = sum(e["state"] == "proposed" for e in self.engagements.values())
        for _ in range(self.keep_proposed - open_):
            self._propose()
        if self.ticks % 5 == 0:
            self._emit({"type": "tick", "n": self.ticks})

    def _emit(self, ev: dict[str, Any]) -> None:
        for fn in self.subscribers:
            fn(ev)

    def snapshot(self) -> dict[str, Any]:
        return {"t_s": time.time() - self.t0, "time_utc": "2026-12-05T12:00:00Z",
                "weapons_control": self.weapons_control,
                "tracks": [_track(k) for k in (1, 2)], "threats": [2, 1],
                "engagements": copy.deepcopy(list(self.engagements.values())[-50:]),
                "alerts": [{"id": 1, "track": 1, "t_s": 1.0, "text": "hostile drone"}],
                "sensors": [{"name": "radar-1", "health": "ok", "last_report_s": 0.5}],
                "counters": {"reports": self.ticks, "late": 0, "bad_messages": 0}}

    def site(self) -> dict[str, Any]:
        return copy.deepcopy(SITE)

    def decide(self, engagement: int, approve: bool, who: str) -> dict[str, Any]:
        self.calls.append(("decide", engagement, approve, who))
        e = self.engagements[engagement]  # KeyError: no such engagement
        if e["state"] != "proposed":
            raise ValueError(f"is {e['state']}, not proposed")
        e["state"] = "approved" if approve else "rejected"
        e["decided_by"] = who
        self._emit({"type": "decision", "engagement": engagement, "state": e["state"]})
        return copy.deepcopy(e)

    def set_weapons_control(self, mode: str, who: str) -> None:
        self.calls.append(("weapons_control", mode, who))
        self.weapons_control = mode

    def subscribe(self, fn: Callable[[dict[str, Any]], None]) -> None:
        self.subscribers.append(fn)

    def close(self) -> Path | None:
        self.closed = True
        return None
