"""A learner's erasure with the real product: Rasa writes its dialogue events to the SQLite
tracker store `afterclass run` gives it (settings.tracker_path), the learner chats through
the hub, and `afterclass learner export` / `erase --yes`, run with the hub's own settings,
find those events and leave nothing of the learner in Rasa's file or the hub's database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.settings import ROOT
from course_platform.tables import pf_learners
from tests.e2e.test_end_to_end import Learner
from tests.unit.test_learner_records import hub_hits

pytestmark = pytest.mark.e2e


def afterclass(stack, *args: str) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    """The CLI as an operator runs it beside the running hub: the hub's own environment."""
    exe = Path(sys.executable).parent / "afterclass"
    return subprocess.run(
        [str(exe), *args],
        cwd=ROOT,
        env={**os.environ, **stack.hub_env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def tracker_rows(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as c:
        return list(c.execute("SELECT sender_id, data FROM events"))


def test_erase_leaves_nothing_in_rasa_or_the_hub(stack) -> None:  # type: ignore[no-untyped-def]
    # a learner no other test uses (each engine's stack has its own database)
    me = {
        "id": "L9024",
        "name": "删除测试",
        "phone": "13312340024",
        "email": "erase.me@example.com",
    }
    with stack.db.write() as conn:
        conn.execute(sa.insert(pf_learners).values(**me, lang="zh"))
    needles = [me["id"], me["phone"], me["email"]]

    learner = Learner(stack.hub_url, me["id"])
    learner.say("你好")
    learner.say(f"我的手机号是 {me['phone']}，邮箱是 {me['email']}")
    learner.say("我想开发票")
    learner.say(me["email"])

    # Rasa keeps its events where the hub looks for them
    tracker = stack.settings.tracker_path
    assert tracker == stack.var_dir / "rasa_tracker.db" and tracker.exists()
    mine = [data for sender, data in tracker_rows(tracker) if sender == learner.cid]
    assert mine, "Rasa wrote no events for the conversation to the tracker store"
    assert any(me["phone"] in d for d in mine) and any(me["email"] in d for d in mine)
    assert any(me["id"] in d for d in mine)  # the hub's metadata on each message

    r = afterclass(stack, "learner", "export", me["id"], "--out", "-")
    assert r.returncode == 0, r.stderr
    exported = json.loads(r.stdout)
    [conv] = exported["conversations"]
    assert conv["id"] == learner.cid and len(conv["rasa_events"]) == len(mine)
    assert exported["platform"]["profile"]["phone"] == me["phone"]

    r = afterclass(stack, "learner", "erase", me["id"])
    assert r.returncode == 2 and "--yes" in r.stderr  # nothing without the yes
    assert hub_hits(stack.db, needles)

    r = afterclass(stack, "learner", "erase", me["id"], "--yes")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["conversations"] == 1 and report["rasa_events_deleted"] == len(mine)

    rows = tracker_rows(tracker)
    assert [s for s, _ in rows if s == learner.cid] == []
    assert not any(n in d for _, d in rows for n in needles)
    assert hub_hits(stack.db, needles) == []
    # their session ended with their data
    r = learner.http.get(f"/api/conversations/{learner.cid}")
    assert r.status_code == 401
