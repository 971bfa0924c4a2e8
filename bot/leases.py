"""Once-only work across hub processes sharing one database: the alert watcher and the
recovery sweep run in whichever process holds the named lease. A lease expires unless its
holder renews it, so a process that dies hands the work to another within `ttl_s`."""

import os
import socket
import time
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.tables import leases as L

# this process, as lease holders tell each other apart
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def acquire(conn: Connection, name: str, ttl_s: float, holder: str = HOLDER) -> bool:
    """Take or renew the lease `name` for `ttl_s` seconds; False while another holds it."""
    now = time.time()
    taken = conn.execute(
        sa.update(L)
        .where(L.c.name == name, sa.or_(L.c.holder == holder, L.c.expires_at < now))
        .values(holder=holder, expires_at=now + ttl_s)
    ).rowcount
    if taken:
        return True
    if conn.scalar(sa.select(L.c.name).where(L.c.name == name)) is not None:
        return False
    try:
        with conn.begin_nested():  # a savepoint: losing the race must not undo the caller
            conn.execute(sa.insert(L).values(name=name, holder=holder, expires_at=now + ttl_s))
    except IntegrityError:
        return False
    return True


def due_again(conn: Connection, name: str, holder: str = HOLDER) -> None:
    """A claimed run that failed: due again at once, for the next check to retry."""
    conn.execute(sa.update(L).where(L.c.name == name, L.c.holder == holder).values(expires_at=0))


def claim_due(conn: Connection, name: str, every_s: float, holder: str = HOLDER) -> bool:
    """A periodic job's turn (the daily retention purge): True for exactly one caller once
    `every_s` has passed since the last run began, whichever process ran it; the row's
    `expires_at` is when the next run is due."""
    now = time.time()
    if conn.execute(
        sa.update(L)
        .where(L.c.name == name, L.c.expires_at <= now)
        .values(holder=holder, expires_at=now + every_s)
    ).rowcount:
        return True
    if conn.scalar(sa.select(L.c.name).where(L.c.name == name)) is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(L).values(name=name, holder=holder, expires_at=now + every_s))
    except IntegrityError:
        return False
    return True
