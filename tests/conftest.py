"""Shared fixtures: hub settings on a temporary SQLite file, a TestClient, free ports."""

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.settings import ROOT, Settings
from kb_index.config import KBConfig

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
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return hub_settings(tmp_path)


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


@pytest.fixture(scope="session")
def stack(rasa_model, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The real product: a Rasa server and a hub process on free ports, with a fresh
    SQLite file and the real packaged embedding model."""
    from bot.launcher import start_stack

    var = tmp_path_factory.mktemp("stack")
    settings = Settings(var_dir=var, port=free_port(), rasa_port=free_port())
    env = {"AFTERCLASS_VAR_DIR": str(var), "AFTERCLASS_KB_MODEL": ""}
    stack = start_stack(settings, rasa_model, log_dir=var, hub_env=env, timeout=240)
    stack.var_dir = var  # type: ignore[attr-defined]
    yield stack
    stack.stop()
