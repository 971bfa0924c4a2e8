"""A learner's request for a copy of their data or its erasure, as a workflow with a legal
deadline.

The bot's privacy flow opens a request once the learner has proved who they are (a
signed-in session and a one-time code, bot/identity.py), beside a ticket for the privacy
team. An agent of that team (or a manager) reviews it in the console and carries it out:
an export makes the learner's file and gives them a download link in the chat, its
delivery recorded when they fetch it; an erasure runs after a second confirmation
(bot/learner_records.py). The learner is told the outcome in their conversation.

The law (PIPL art. 50 asks for a timely answer; the platform's policy and GDPR art. 12 set
the bound) gives 15 working days: `due_at` is that deadline, shown in the console like an
SLA and counted by the manager's indicators when it is missed. Working days are Monday to
Friday in the desk's time zone; public holidays are not modelled, so the deadline errs
early, never late.

A request outlives an erasure, as the record that it was carried out: its learner id is
then the learner's pseudonym (learner_records.pseudonym).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.tables import privacy_requests as R

KINDS = ("export", "delete")
OPEN, DONE, REFUSED = "open", "done", "refused"
DEADLINE_WORKING_DAYS = 15


def due_after(start: float, days: int = DEADLINE_WORKING_DAYS, tz: str = "Asia/Shanghai") -> float:
    """The end of the `days`-th working day (Mon-Fri) after `start`, in zone `tz`."""
    zone = ZoneInfo(tz)
    day = datetime.fromtimestamp(start, zone).date()
    left = days
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    return end.timestamp() - 1


def _view(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out.pop("download_token_hash", None)  # a secret's hash is nobody's business
    return out


def open_request(
    conn: Connection,
    *,
    learner_id: str,
    kind: str,
    conversation_id: str | None,
    ticket_id: int | None,
    verified_by: str,
    tz: str = "Asia/Shanghai",
    now: float | None = None,
) -> dict[str, Any]:
    """Record a request; an open one of the same kind for the learner is reused (asking
    twice does not start the clock again, nor make two files)."""
    if kind not in KINDS:
        raise ValueError(f"unknown privacy request kind {kind!r}")
    now = time.time() if now is None else now
    existing = conn.execute(
        sa.select(R).where(R.c.learner_id == learner_id, R.c.kind == kind, R.c.status == OPEN)
    ).first()
    if existing is not None:
        if ticket_id and not existing.ticket_id:
            conn.execute(sa.update(R).where(R.c.id == existing.id).values(ticket_id=ticket_id))
        return get(conn, existing.id) or _view(existing)
    new_id = conn.execute(
        sa.insert(R).values(
            learner_id=learner_id,
            kind=kind,
            status=OPEN,
            conversation_id=conversation_id,
            ticket_id=ticket_id,
            verified_by=verified_by,
            created_at=now,
            due_at=due_after(now, tz=tz),
        )
    ).inserted_primary_key[0]
    return get(conn, int(new_id)) or {}


def get(conn: Connection, request_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(R).where(R.c.id == request_id)).first()
    return _view(row) if row else None


def for_ticket(conn: Connection, ticket_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(R).where(R.c.ticket_id == ticket_id).order_by(R.c.id.desc()).limit(1)
    ).first()
    return _view(row) if row else None


def listing(conn: Connection, status: str | None = OPEN, limit: int = 200) -> list[dict[str, Any]]:
    """Requests, the nearest deadline first."""
    stmt = sa.select(R).order_by(R.c.due_at, R.c.id).limit(limit)
    if status:
        stmt = stmt.where(R.c.status == status)
    return [_view(r) for r in conn.execute(stmt)]


def overdue(conn: Connection, now: float | None = None) -> int:
    """Open requests past their legal deadline."""
    now = time.time() if now is None else now
    return int(
        conn.scalar(
            sa.select(sa.func.count()).select_from(R).where(R.c.status == OPEN, R.c.due_at < now)
        )
        or 0
    )


def for_learner(conn: Connection, learner_id: str) -> list[dict[str, Any]]:
    return [_view(r) for r in conn.execute(sa.select(R).where(R.c.learner_id == learner_id))]


def close(
    conn: Connection,
    request_id: int,
    *,
    status: str,
    by: str,
    note: str = "",
    now: float | None = None,
    **values: Any,
) -> bool:
    """Mark an open request done or refused (with whatever else the step sets); False if it
    was no longer open (two agents at once: one wins)."""
    now = time.time() if now is None else now
    result = conn.execute(
        sa.update(R)
        .where(R.c.id == request_id, R.c.status == OPEN)
        .values(status=status, done_at=now, done_by=by, note=note or None, **values)
    )
    return result.rowcount == 1


def export_ready(
    conn: Connection,
    request_id: int,
    *,
    by: str,
    export_file: str,
    token_hash: str,
    expires_at: float,
    now: float | None = None,
) -> bool:
    """The file is made and the learner has a link: the request is done; delivery is
    recorded separately, when the learner fetches it."""
    return close(
        conn,
        request_id,
        status=DONE,
        by=by,
        now=now,
        export_file=export_file,
        download_token_hash=token_hash,
        download_expires_at=expires_at,
    )


def by_download_token(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(R).where(R.c.download_token_hash == token_hash)).first()
    return dict(row._mapping) if row else None


def delivered(conn: Connection, request_id: int, now: float | None = None) -> None:
    """The learner fetched their copy (the first time counts)."""
    conn.execute(
        sa.update(R)
        .where(R.c.id == request_id, R.c.delivered_at.is_(None))
        .values(delivered_at=time.time() if now is None else now)
    )


def expired_exports(conn: Connection, now: float) -> list[dict[str, Any]]:
    """Exports whose download link has expired and whose file is still on disk."""
    rows = conn.execute(
        sa.select(R).where(R.c.export_file.is_not(None), R.c.download_expires_at < now)
    )
    return [dict(r._mapping) for r in rows]


def forget_export(conn: Connection, request_id: int) -> None:
    """The file is gone (expired, or erased with the learner). The link's token hash stays
    (the hash of a random token says nothing about anyone): the learner's old link then
    answers "expired" rather than "unknown"."""
    conn.execute(sa.update(R).where(R.c.id == request_id).values(export_file=None))


def pseudonymise(conn: Connection, learner_id: str, pseudonym: str) -> int:
    return conn.execute(
        sa.update(R).where(R.c.learner_id == learner_id).values(learner_id=pseudonym)
    ).rowcount
