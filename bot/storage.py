"""The hub's one SQLite file: opened in WAL mode, each library creating its own tables."""

import sqlite3
from pathlib import Path

import sqlite_utils


def open_db(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if needed) the hub database.

    The connection is shared by the hub's event loop and its worker threads, so it is
    opened with check_same_thread=False; WAL lets readers in other processes (the CLI,
    tests) work while the hub writes.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
    db = sqlite_utils.Database(conn)
    if str(path) != ":memory:":
        db.enable_wal()
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")
    return db


def migrate(db: sqlite_utils.Database) -> None:
    """Create every library's tables; each ensure_schema is idempotent."""
    import handoff
    from bot import auth, metrics, refund_log, transcript
    from course_platform import demo_store
    from kb_index import feedback, gaps
    from kb_index import store as kb_store

    transcript.ensure_schema(db)
    auth.ensure_schema(db)
    metrics.ensure_schema(db)
    refund_log.ensure_schema(db)
    handoff.ensure_schema(db)
    kb_store.ensure_schema(db)
    gaps.ensure_schema(db)
    feedback.ensure_schema(db)
    demo_store.ensure_schema(db)
