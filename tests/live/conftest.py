"""A real server on a loopback socket (uvicorn in a thread) for the service's tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from bastion.live.app import create_app
from bastion.live.auth import Users
from bastion.live.db import Database
from bastion.live.serve import bind
from tests.live.fakes import FakeDriver

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
