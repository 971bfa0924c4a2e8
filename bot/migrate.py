"""Versioned migrations of the hub database (Alembic), one branch per library: each library
keeps its own in its `migrations/` folder (bot/migrations/versions, handoff/migrations,
kb_index/migrations, course_platform/migrations).

`upgrade(db)` brings any database to the newest schema: a new one, one of an older version,
or one made by release 0.1 (before migrations existed: its tables already exist, and each
library's first revision, its baseline, creates only the tables that are missing, then the
later revisions add what is new). The hub runs it at start-up; `afterclass db upgrade` runs it
by hand, and `afterclass db current` tells where a database stands.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.db import Database

ROOT = Path(__file__).resolve().parent.parent
LOCATIONS = [
    ROOT / "bot" / "migrations" / "versions",
    ROOT / "handoff" / "migrations",
    ROOT / "kb_index" / "migrations",
    ROOT / "course_platform" / "migrations",
]


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "bot" / "migrations"))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", ":".join(str(p) for p in LOCATIONS))
    return cfg


def upgrade(db: Database) -> None:
    """Migrate to the newest revision of every branch, in one transaction (on SQLite, under
    the write lock; on PostgreSQL, under an advisory lock: see migrations/env.py)."""
    cfg = config()
    with db.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def heads() -> set[str]:
    """The newest revision of every branch, as this code knows them."""
    return set(ScriptDirectory.from_config(config()).get_heads())


def current(db: Database) -> set[str]:
    """The revisions the database is at (empty: never migrated)."""
    with db.read() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())
