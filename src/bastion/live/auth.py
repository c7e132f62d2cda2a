"""Users, roles and sessions (docs/live.md, "Users and roles").

Passwords are stored only as argon2id hashes; sessions are random tokens kept server-side
(only their SHA-256 is stored, so a copy of the database opens no session) with a fixed
expiry. Roles are ordered ``viewer < operator < commander``: a role may do everything the
roles below it may. ``require(role)`` is the FastAPI dependency every endpoint takes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request

from bastion.live.audit import AuditLog, utc_now
from bastion.live.db import Database

Role = Literal["viewer", "operator", "commander"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "commander")
RANK = {r: k for k, r in enumerate(ROLES)}
COOKIE = "bastion_session"
SESSION_TTL_S = 12 * 3600.0  # ASSUMED: one 12-hour watch; log in again at handover
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_PASSWORD_CHARS = 12  # ASSUMED: above NIST SP 800-63B's 8 for a weapons-release system
MAX_PASSWORD_CHARS = 1024  # argon2 takes any length; a bound keeps a request cheap
_COMMON = frozenset({"password", "passw0rd", "123456", "qwerty", "letmein", "admin",
                     "welcome", "changeme", "iloveyou", "monkey", "dragon", "bastion"})


@dataclass(frozen=True)
class User:
    name: str
    role: Role


class UserError(ValueError):
    """A refused user or password: the message is one line for the user."""


def password_problem(name: str, password: str) -> str | None:
    """Why a password is refused, or None. Checks length, variety, the user's own name and
    a few of the most common passwords; it is no substitute for a passphrase policy."""
    if not password:
        return "the password is empty"
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password has {len(password)} characters; at least {MIN_PASSWORD_CHARS}"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"the password has more than {MAX_PASSWORD_CHARS} characters"
    if len(set(password)) < 5:
        return "the password repeats too few different characters"
    low = password.lower()
    if len(name) >= 3 and name.lower() in low:
        return "the password contains the user name"
    stripped = re.sub(r"[\d\W_]+", "", low)
    if stripped in _COMMON or low in _COMMON:
        return "the password is a well-known one"
    return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Users:
    def __init__(self, db: Database, *, hasher: PasswordHasher | None = None,
                 clock: Callable[[], float] = time.time,
                 session_ttl_s: float = SESSION_TTL_S) -> None:
        self.db, self.clock, self.ttl_s = db, clock, session_ttl_s
        self.hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        # verified against when the user does not exist, so a failed login takes as long
        # whether or not the name is known
        self._dummy = self.hasher.hash(secrets.token_hex(16))

    def count(self) -> int:
        return int(self.db.read("SELECT count(*) FROM users")[0][0])  # type: ignore[arg-type]

    def add(self, name: str, role: str, password: str, *, replace: bool = False) -> None:
        if not NAME_RE.match(name):
            raise UserError(f"user name {name!r}: 1-64 letters, digits, '.', '_' or '-', "
                            "starting with a letter or digit")
        if role not in RANK:
            raise UserError(f"role {role!r}: one of {', '.join(ROLES)}")
        why = password_problem(name, password)
        if why:
            raise UserError(f"password refused: {why}")
        h = self.hasher.hash(password)
        with self.db.write() as conn:
            exists = conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone()
            if exists and not replace:
                raise UserError(f"user {name!r} exists (use --replace to change the "
                                "password or role)")
            conn.execute("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?)",
                         (name, role, h, utc_now()))
            # a changed password or role ends the user's open sessions
            conn.execute("DELETE FROM sessions WHERE user = ?", (name,))

    def authenticate(self, name: str, password: str) -> User | None:
        """The user, or None. Slow on purpose (argon2): call it from a worker thread."""
        rows = self.db.read("SELECT role, pw_hash FROM users WHERE name = ?", (name,))
        pw_hash = str(rows[0][1]) if rows else self._dummy
        try:
            self.hasher.verify(pw_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(name, rows[0][0]) if rows else None  # type: ignore[arg-type]

    def new_session(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.db.write() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_s <= ?", (now,))
            conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                         (_digest(token), user.name, now, now + self.ttl_s))
        return token

    def session_user(self, token: str | None) -> User | None:
        if not token or len(token) > 256:
            return None
        try:
            rows = self.db.read(
                "SELECT u.name, u.role FROM sessions s JOIN users u ON u.name = s.user "
                "WHERE s.token_sha256 = ? AND s.expires_s > ?", (_digest(token), self.clock()))
        except sqlite3.Error:
            return None
        return User(str(rows[0][0]), rows[0][1]) if rows else None  # type: ignore[arg-type]

    def end_session(self, token: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_digest(token),))


def require(role: Role) -> Callable[[Request], Awaitable[User]]:
    """FastAPI dependency: the session's user if their role is at least ``role``.

    No valid session → 401; a lower role → 403, and the refusal is audited (a refused
    approval is as much a record as a granted one)."""
    need = RANK[role]

    async def dependency(request: Request) -> User:
        user = request.state.user if hasattr(request.state, "user") else None
        if user is None:
            user = request.app.state.users.session_user(request.cookies.get(COOKIE))
        if user is None:
            raise HTTPException(401, "log in first")
        if RANK[user.role] < need:
            audit: AuditLog = request.app.state.audit
            audit.append(user.name, "denied", f"{request.method} {request.url.path}",
                         {"role": user.role, "needs": role})
            raise HTTPException(403, f"needs the {role} role (you are {user.role})")
        return user

    return dependency
