"""Shared fixtures: the hub's database on either engine (a temporary SQLite file, or a
database on a throwaway PostgreSQL cluster), hub settings, a TestClient, free ports."""

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.db import Database, sqlite_url
from bot.rate_limits import unlimited_env
from bot.settings import ROOT, Settings
from kb_index.config import KBConfig
from tests.pgcluster import PostgresCluster

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hub_settings(tmp: Path, **overrides: object) -> Settings:
    """Settings for a throwaway hub: its own var dir, the fast hashing encoder, and a Rasa
    URL that points at a closed port unless a test gives a real one."""
    base: dict = {
        "var_dir": tmp,
        "kb": KBConfig(model="hashing"),
        "rasa_url": f"http://127.0.0.1:{free_port()}",
        "rasa_timeout_s": 2.0,
        "staff_seed": ROOT / "data" / "staff.yml",
        # the suites sign in far more often than people do; tests/api/test_security.py
        # checks the limits themselves
        "limit_sign_in": "10000/minute",
        "limit_sign_in_failures": "10000/minute",
        "limit_conversations": "10000/minute",
        "limit_messages": "10000/minute",
        "limit_messages_address": "10000/minute",
    }
    base.update(overrides)
    return Settings(**base)


# ---- the database, on both engines ------------------------------------------------------
TEMPLATE = "afterclass_template"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster for the session, started on first use, with a migrated template
    database that each test's database is copied from (a copy takes a fraction of a second,
    migrating takes one)."""
    from bot import migrate

    with PostgresCluster() as pg:
        db = Database(pg.create_database(TEMPLATE))
        migrate.upgrade(db)
        db.dispose()
        yield pg


def database_url(request: pytest.FixtureRequest, engine: str, tmp: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield sqlite_url(tmp / "hub.db")
        return
    pg: PostgresCluster = request.getfixturevalue("postgres")
    url = pg.create_database(template=TEMPLATE)
    yield url
    pg.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The hub database's URL, once per engine: the test runs on both."""
    yield from database_url(request, request.param, tmp_path)


@pytest.fixture
def any_database(db_url: str) -> Iterator[Database]:
    """A migrated hub database, once per engine."""
    from bot import migrate

    db = Database(db_url)
    migrate.upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    """A migrated hub database on a temporary SQLite file (the embedded default)."""
    from bot import migrate

    db = Database(sqlite_url(tmp_path / "hub.db"))
    migrate.upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Hub settings for the API suite: every API test runs on SQLite and on PostgreSQL."""
    return hub_settings(tmp_path, database_url=db_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    from bot.app import create_app

    with TestClient(create_app(settings)) as c:
        yield c


def learner_token(client: TestClient, learner_id: str = "L1001") -> dict[str, str]:
    r = client.post("/api/auth/learner", json={"learner_id": learner_id})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def staff_token(client: TestClient, username: str = "agent") -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": username, "password": username})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    """The production Rasa model, trained once if config, domain or data changed
    (kept under models/ inside the clone)."""
    from bot import rasa_env

    model, _ = rasa_env.train(quiet=True)
    return model


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def stack(request, rasa_model, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The real product: a Rasa server and a hub process on free ports, with the real
    packaged embedding model, once on a fresh SQLite file and once on a fresh PostgreSQL
    database. `stack.db` opens the hub's database for a test to look into."""
    from bot.launcher import start_stack

    var = tmp_path_factory.mktemp(f"stack-{request.param}")
    settings = Settings(var_dir=var, port=free_port(), rasa_port=free_port())
    # many test learners, one loopback address: limits out of the way (test_security.py)
    env = {"AFTERCLASS_VAR_DIR": str(var), "AFTERCLASS_KB_MODEL": "", **unlimited_env()}
    url = sqlite_url(var / "hub.db")
    if request.param == "postgresql":
        pg: PostgresCluster = request.getfixturevalue("postgres")
        url = env["AFTERCLASS_DATABASE_URL"] = pg.create_database(template=TEMPLATE)
    stack = start_stack(settings, rasa_model, log_dir=var, hub_env=env, timeout=240)
    stack.var_dir = var  # type: ignore[attr-defined]
    stack.engine = request.param  # type: ignore[attr-defined]
    stack.db = Database(url)  # type: ignore[attr-defined]
    yield stack
    stack.stop()
    stack.db.dispose()  # type: ignore[attr-defined]
