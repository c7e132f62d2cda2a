"""Shared set-ups of the live tests: a simulated replication's reports recorded once and fed to
live drivers; a real server on a loopback socket (uvicorn in a thread) for the service."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from bastion.core.detections import Detections
from bastion.live.app import create_app
from bastion.live.auth import Users
from bastion.live.db import Database
from bastion.live.driver import LiveDriver
from bastion.live.serve import bind
from bastion.scenario import Scenario
from bastion.scenario.load import with_overrides
from tests.conftest import small_scenario
from tests.live.fakes import FakeDriver

_F = ("t_s", "sensor", "z", "R", "evidence", "truth", "group")


def rows(d: Detections, m: Any) -> Detections:
    return Detections(*(getattr(d, f)[m] for f in _F))


def live_scenario(**changes: Any) -> Scenario:
    """The small scenario with the doctrine's automatic mode and a wind without spread (a
    live site plans with its measured wind; the simulator draws one per replication)."""
    return with_overrides(small_scenario(), {"doctrine.human_in_loop": False,
                                             "doctrine.weapons_control": "free",
                                             "wind.speed_sigma_mps": 0.0, **changes})


@dataclass
class Recorded:
    scenario: Scenario
    result: Any  # SimResult with .detections and .trace


@pytest.fixture(scope="session")
def recorded() -> Recorded:
    from bastion.sim.engine import simulate

    sc = live_scenario()
    return Recorded(sc, simulate(sc, 0, record=True, detections=True))


class Clock:
    """An injected wall clock the test moves by hand (UTC epoch seconds)."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def feed(drv: LiveDriver, clock: Clock, d: Detections, t_end_s: float, *,
         jitter_s: float = 0.0, seed: int = 0, chunk_s: float = 0.25,
         on_tick: Any = None) -> None:
    """Play ``d`` into ``drv``: each report arrives at its time plus a uniform delay in
    [0, jitter_s), in arrival order, ``chunk_s`` of arrivals per submit, ticking after each
    (the clock follows arrival time, epoch 0)."""
    rng = np.random.default_rng(seed)
    arrive = d.t_s + rng.uniform(0.0, jitter_s, d.m) if jitter_s else d.t_s.copy()
    order = np.argsort(arrive, kind="stable")
    d, arrive = rows(d, order), arrive[order]
    edges = np.arange(0.0, t_end_s + jitter_s + chunk_s, chunk_s)
    lo = 0
    for a in edges:
        hi = int(np.searchsorted(arrive, a, side="right"))
        clock.t = drv.epoch_utc + a
        if hi > lo:
            sel = np.arange(lo, hi)
            for s in np.unique(d.sensor[sel]):  # one node per sensor
                drv.submit(rows(d, sel[d.sensor[sel] == s]), node=f"node-{int(s)}")
            lo = hi
        drv.tick()
        if on_tick is not None:
            on_tick(drv, a)


# argon2 at its cheapest: the tests check the logic, not the cost of guessing
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORDS = {"vera": "viewer-pass-9876", "otto": "operator-pass-9876",
             "cora": "commander-pass-9876"}
ROLE_OF = {"vera": "viewer", "otto": "operator", "cora": "commander"}


class Served:
    """uvicorn serving ``app`` on 127.0.0.1:<ephemeral> in a thread until ``stop``."""

    def __init__(self, app: FastAPI) -> None:
        sock = bind("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)


@dataclass
class Site:
    served: Served
    driver: FakeDriver
    db_path: Path
    app: FastAPI

    @property
    def url(self) -> str:
        return self.served.url

    def client(self, user: str | None = None) -> httpx.Client:
        c = httpx.Client(base_url=self.url, timeout=10)
        if user is not None:
            r = httpx.post(self.url + "/api/login",
                           json={"username": user, "password": PASSWORDS[user]}, timeout=10)
            assert r.status_code == 200, r.text
            c.cookies.update(r.cookies)
        return c


def add_users(db_path: Path) -> Users:
    db = Database(db_path)
    users = Users(db, hasher=CHEAP)
    for name, pw in PASSWORDS.items():
        users.add(name, ROLE_OF[name], pw)
    return users


def start_site(tmp: Path, driver: FakeDriver | None = None, **kw: object) -> Site:
    db_path = tmp / "bastion.db"
    users = add_users(db_path)
    driver = driver or FakeDriver()
    app = create_app(driver, db_path, users=users, **kw)  # type: ignore[arg-type]
    return Site(Served(app), driver, db_path, app)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = start_site(tmp_path, static_dir=None)
    yield s
    s.served.stop()
