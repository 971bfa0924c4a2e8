"""One-time codes that prove a signed-in learner holds the account, before something as
grave as handing out or erasing their data (the privacy flow, actions/privacy.py).

The session says who the learner is; the code, sent by the course platform to the account's
phone or email (`CoursePlatform.send_code`), says the person typing holds that account. The
bot never shows the code, nor anything it could be derived from: the last 4 digits of the
phone, which the login guide shows in "138****1001", verified identity before this.

- `issue` makes a 6-digit code (`secrets`) and keeps only its HMAC-SHA256 under the hub's
  `identity_key` (bot/keys.py) with the learner's id, so a copy of the database reveals no
  code; a new code replaces the one before, and a learner gets at most one per minute.
- `check` compares what the learner typed (`hmac.compare_digest`). Success burns the code
  (one use) and forgets earlier failures. Failures are counted per learner in the
  database, whatever the flow or the purpose, so starting the flow again restarts nothing:
  the third locks the check for a while (24 h by default) and discards the code.

Each function takes the connection of the caller's unit of work (`db.write()`), and sends
nothing: the caller sends the code through the platform after the commit, outside the unit
of work (bot/db.py: the demo platform opens its own connection).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.tables import identity_checks as T

CODE_DIGITS = 6
CODE_TTL_S = 10 * 60.0
RESEND_AFTER_S = 60.0
MAX_FAILURES = 3
LOCK_S = 24 * 3600.0


# ---- what issue and check answer ---------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    code: str  # to send, never to store or show
    expires_at: float


@dataclass(frozen=True)
class Locked:
    until: float


@dataclass(frozen=True)
class TooSoon:
    """A code went out less than a minute ago; it still holds."""

    retry_at: float


@dataclass(frozen=True)
class Verified:
    purpose: str | None = None


@dataclass(frozen=True)
class Wrong:
    tries_left: int


@dataclass(frozen=True)
class Expired:
    pass


@dataclass(frozen=True)
class NoCode:
    pass


Issue = Issued | Locked | TooSoon
Check = Verified | Wrong | Expired | Locked | NoCode


@dataclass(frozen=True)
class Policy:
    """The key and limits the hub runs with (bot/runtime.py, filled in bot/app.py)."""

    key: str
    ttl_s: float = CODE_TTL_S
    max_failures: int = MAX_FAILURES
    lock_s: float = LOCK_S
    resend_after_s: float = RESEND_AFTER_S

    @classmethod
    def with_own_key(cls) -> Policy:
        """A policy with a key of its own, for a runtime built without one (tests): its
        codes hold as long as the process."""
        return cls(key=secrets.token_urlsafe(32))

    def issue(
        self, conn: Connection, learner_id: str, purpose: str, now: float | None = None
    ) -> Issue:
        return issue(
            conn,
            learner_id,
            purpose,
            self.key,
            now,
            ttl_s=self.ttl_s,
            resend_after_s=self.resend_after_s,
        )

    def check(
        self, conn: Connection, learner_id: str, text: str, now: float | None = None
    ) -> Check:
        return check(
            conn,
            learner_id,
            text,
            self.key,
            now,
            max_failures=self.max_failures,
            lock_s=self.lock_s,
        )


# ---- the functions -----------------------------------------------------------------------


def code_hash(key: str, learner_id: str, code: str) -> str:
    """HMAC-SHA256 of the code, bound to the learner (one code, two learners: two hashes)."""
    if not key:
        raise ValueError("identity codes need a key (bot/keys.py: identity_key)")
    message = f"{learner_id}\x00{code}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def digits_of(text: str) -> str:
    """The digits a learner typed, in any width ("１２３ ４５６" is "123456")."""
    return "".join(str(unicodedata.decimal(c)) for c in text if c.isdecimal())


def _row(conn: Connection, learner_id: str) -> Any:
    """The learner's row, made if missing, and held for this unit of work: two tries at
    once are counted one after the other (ON CONFLICT DO NOTHING, then FOR UPDATE on
    PostgreSQL; SQLite's write units hold the whole database)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(T).values(learner_id=learner_id, failures=0).on_conflict_do_nothing())
    return conn.execute(sa.select(T).where(T.c.learner_id == learner_id).with_for_update()).one()


def _update(conn: Connection, learner_id: str, **values: Any) -> None:
    conn.execute(sa.update(T).where(T.c.learner_id == learner_id).values(**values))


_NO_CODE = {"code_hash": None, "expires_at": None}


def issue(
    conn: Connection,
    learner_id: str,
    purpose: str,
    key: str,
    now: float | None = None,
    *,
    ttl_s: float = CODE_TTL_S,
    resend_after_s: float = RESEND_AFTER_S,
) -> Issue:
    """A new code for the learner (replacing any earlier one), unless they are locked out
    or one went out less than `resend_after_s` ago. Failures are kept: a new code is no
    new set of tries."""
    now = time.time() if now is None else now
    row = _row(conn, learner_id)
    if row.locked_until is not None and row.locked_until > now:
        return Locked(row.locked_until)
    live = row.code_hash is not None and (row.expires_at or 0) > now
    if live and row.sent_at is not None and now < row.sent_at + resend_after_s:
        return TooSoon(row.sent_at + resend_after_s)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    values: dict[str, Any] = {
        "code_hash": code_hash(key, learner_id, code),
        "purpose": purpose,
        "sent_at": now,
        "expires_at": now + ttl_s,
    }
    if row.locked_until is not None:  # a lock that has run out: the tries start again
        values.update(failures=0, locked_until=None)
    _update(conn, learner_id, **values)
    return Issued(code, now + ttl_s)


def check(
    conn: Connection,
    learner_id: str,
    text: str,
    key: str,
    now: float | None = None,
    *,
    max_failures: int = MAX_FAILURES,
    lock_s: float = LOCK_S,
) -> Check:
    """Whether `text` is the learner's live code. Any other answer to a live code is a
    failure, counted per learner; the `max_failures`-th locks them out for `lock_s` and
    discards the code. Right: the code is burnt and the failures forgotten."""
    now = time.time() if now is None else now
    row = _row(conn, learner_id)
    if row.locked_until is not None and row.locked_until > now:
        return Locked(row.locked_until)
    failures = row.failures or 0
    if row.locked_until is not None:  # the lock has run out
        failures = 0
        _update(conn, learner_id, failures=0, locked_until=None)
    if row.code_hash is None:
        return NoCode()
    if (row.expires_at or 0) <= now:
        _update(conn, learner_id, **_NO_CODE)
        return Expired()
    typed = digits_of(text)
    if len(typed) == CODE_DIGITS and hmac.compare_digest(
        code_hash(key, learner_id, typed), row.code_hash
    ):
        _update(conn, learner_id, failures=0, locked_until=None, **_NO_CODE)
        return Verified(row.purpose)
    failures += 1
    if failures >= max_failures:
        _update(conn, learner_id, failures=failures, locked_until=now + lock_s, **_NO_CODE)
        return Locked(now + lock_s)
    _update(conn, learner_id, failures=failures)
    return Wrong(max_failures - failures)


def locked_until(conn: Connection, learner_id: str, now: float | None = None) -> float | None:
    """When the learner's lock-out ends, if they are locked out now."""
    now = time.time() if now is None else now
    until = conn.scalar(sa.select(T.c.locked_until).where(T.c.learner_id == learner_id))
    return until if until is not None and until > now else None
