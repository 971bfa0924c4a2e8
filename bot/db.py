"""The hub's database: one engine from one URL, and units of work taken from its pool.

`AFTERCLASS_DATABASE_URL` picks the engine: SQLite (the default, embedded: `var/hub.db`) or
PostgreSQL (`postgresql+psycopg://user@host:port/db`). The same query code (SQLAlchemy Core)
runs on both. A connection is never shared between threads or concurrent tasks: every
request, action call and background job takes one for one transaction (`write()` or
`read()`) and gives it back.

SQLite allows one writer at a time. pysqlite's own transaction handling begins a write
lazily, at the first write statement, so two transactions that both read first and then
write deadlock or fail with "database is locked"; here the driver's handling is turned off
and every write unit of work begins with BEGIN IMMEDIATE, which takes the write lock up
front and waits (busy_timeout) for the current writer instead. Read units of work begin a
plain (deferred) transaction: in WAL mode they read a consistent snapshot and never block a
writer.

Units of work do not nest: the libraries take the connection they are given and never open
one of their own (on SQLite a second writer inside a first would wait for it forever). The
demo course platform, a stand-in for a remote service, opens its own, so it is called
outside a write unit of work.

Work that must follow the commit (telling WebSockets about a new message) is queued with
`after_commit(conn, fn)`: it runs only once the transaction is durable, so no screen shows
a message that a rollback took back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)
T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000  # how long a SQLite writer waits for the one before it


def sqlite_url(path: Path | str) -> str:
    return f"sqlite+pysqlite:///{Path(path)}"


def _sqlite_engine(url: sa.URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        # the pool hands a connection to one thread at a time, never to two at once
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        pool_size=8,
        max_overflow=32,
        pool_timeout=60,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we begin transactions ourselves (module doc)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        # an erased learner's words are overwritten, not left in the file's free pages
        cur.execute("PRAGMA secure_delete = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("afterclass_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _postgres_engine(url: sa.URL) -> Engine:
    return sa.create_engine(url, pool_size=8, max_overflow=32, pool_timeout=60, pool_pre_ping=True)


class Database:
    """The engine and its units of work. Built once at start-up and handed to the libraries
    as connections, never as itself (they take a `Connection`: one transaction)."""

    def __init__(self, url: str) -> None:
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            self.engine = _sqlite_engine(parsed)
        elif parsed.get_backend_name() == "postgresql":
            if parsed.drivername == "postgresql":  # psycopg 3 is the driver we ship
                parsed = parsed.set(drivername="postgresql+psycopg")
            self.engine = _postgres_engine(parsed)
        else:
            raise ValueError(
                f"AFTERCLASS_DATABASE_URL must be sqlite:///… or postgresql://…, not {url!r}"
            )
        self.url = parsed

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises;
        `after_commit` work runs after the commit."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(afterclass_write=True)
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                conn.info.pop(_AFTER, None)
                raise
            _run_after_commit(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only unit of work that blocks no writer. On SQLite a deferred transaction
        (one WAL snapshot for all its statements); on PostgreSQL autocommit statements,
        which see no less than READ COMMITTED would and save the BEGIN and COMMIT round
        trips."""
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                yield conn.execution_options(isolation_level="AUTOCOMMIT")
            else:
                with conn.begin():
                    yield conn
            conn.info.pop(_AFTER, None)

    def writing(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(conn, *args, **kwargs)` in its own write transaction."""
        with self.write() as conn:
            return fn(conn, *args, **kwargs)

    def reading(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.read() as conn:
            return fn(conn, *args, **kwargs)

    async def awrite(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A write unit of work from async code: run in a worker thread, so a SQLite writer
        waiting for the lock (or a PostgreSQL round trip) never holds up the event loop."""
        return await anyio.to_thread.run_sync(lambda: self.writing(fn, *args, **kwargs))

    async def aread(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(lambda: self.reading(fn, *args, **kwargs))

    def dispose(self) -> None:
        self.engine.dispose()


_AFTER = "afterclass_after_commit"


def after_commit(conn: Connection, fn: Callable[[], Any]) -> None:
    """Run `fn` once `conn`'s transaction has committed (never if it rolls back)."""
    conn.info.setdefault(_AFTER, []).append(fn)


def _run_after_commit(conn: Connection) -> None:
    for fn in conn.info.pop(_AFTER, []):
        try:
            fn()
        except Exception:  # the transaction is durable; a failing notice must not undo it
            log.exception("after-commit work failed")
