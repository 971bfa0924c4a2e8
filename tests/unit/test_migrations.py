"""Versioned migrations: a new database on either engine, and a database written by release
0.1 (tests/fixtures/release_hub_db.sql.gz, made by tests/fixtures/make_release_db.py with
that release's own code) upgraded in place without loss."""

import gzip
import sqlite3
import subprocess
import sys

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bot import migrate
from bot.app import create_app
from bot.db import Database, sqlite_url
from bot.settings import ROOT
from tests.conftest import hub_settings, staff_token

RELEASE_DUMP = ROOT / "tests" / "fixtures" / "release_hub_db.sql.gz"


def release_db(path) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Restore the release's database at `path`; returns its row count per table."""
    with gzip.open(RELEASE_DUMP, "rt", encoding="utf-8") as dump, sqlite3.connect(path) as conn:
        conn.executescript(dump.read())
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def test_a_new_database_reaches_every_branchs_newest_revision(any_database):
    assert migrate.current(any_database) == migrate.heads()
    assert {"hub_0003", "handoff_0001", "kb_0001", "platform_0002"} <= migrate.heads()
    migrate.upgrade(any_database)  # again: nothing to do
    assert migrate.current(any_database) == migrate.heads()


def test_the_migrations_build_what_the_table_modules_declare(any_database):
    """A column or index added to a tables.py without its migration (or the other way
    round) shows here, on both engines."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import bot.tables
    import course_platform.tables
    import handoff.tables
    import kb_index.tables

    declared = sa.MetaData()
    for module in (bot.tables, handoff.tables, kb_index.tables, course_platform.tables):
        for table in module.metadata.tables.values():
            table.to_metadata(declared)
    with any_database.read() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        drift = [d for d in compare_metadata(context, declared) if d[0] != "remove_table"
                 or d[1].name != "alembic_version"]
    assert drift == []


def test_a_release_database_upgrades_in_place_without_loss(tmp_path):
    path = tmp_path / "hub.db"
    before = release_db(path)
    assert before["messages"] and before["tickets"] and before["kb_versions"]
    settings = hub_settings(tmp_path, database_url=sqlite_url(path))
    with TestClient(create_app(settings)) as client:  # the hub migrates at start-up
        db: Database = client.app.state.db
        assert migrate.current(db) == migrate.heads()
        with db.read() as conn:
            for table, n in before.items():
                # the seeds see tables that are not empty and add nothing
                assert conn.scalar(sa.text(f'SELECT count(*) FROM "{table}"')) == n, table
            learner_rows = conn.execute(
                sa.text("SELECT handled_at, created_at, tapped, payload FROM messages "
                        "WHERE sender = 'learner'")
            ).all()
        # what was said before the upgrade counts as answered, and taps are read from payloads
        assert all(handled == created for handled, created, _, _ in learner_rows)
        assert sum(tapped for *_, tapped, _ in learner_rows) == 1  # the "买错了" button
        # the old conversations, tickets and KB work through today's API
        manager = staff_token(client, "manager")
        tickets = client.get("/api/agent/queue", headers=manager).json()
        assert tickets and all(t["learner_id"] for t in tickets)
        cid = tickets[0]["conversation_id"]
        r = client.get(f"/api/agent/conversations/{cid}/messages", headers=manager)
        assert r.status_code == 200 and any(m["sender"] == "agent" for m in r.json()["messages"])
        editor = staff_token(client, "editor")
        entry = client.get("/api/kb/entries/en-release-fixture", headers=editor).json()
        assert entry["version"] == 3 and entry["staged"]["entry"]["answer"] == "Staged text"
        assert len(entry["history"]) == 3
        metrics = client.get("/api/manager/metrics?hours=24", headers=manager).json()
        assert metrics["values"]["conversations"] == before["conversations"]


def test_the_cli_says_where_a_database_stands(tmp_path):
    path = tmp_path / "hub.db"
    release_db(path)
    env = {"AFTERCLASS_DATABASE_URL": sqlite_url(path), "PATH": "/usr/bin:/bin"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )

    stale = cli("db", "current")
    assert stale.returncode == 1 and "(never migrated)" in stale.stdout
    done = cli("db", "upgrade")
    assert done.returncode == 0 and "up to date" in done.stdout, done.stderr
