"""A hub killed in the middle of a burst of turns (SIGKILL: nothing cleaned up) and started
again: no acknowledged message lost, none stored twice, every one answered or given a notice.

Learners send with their own message ids and, like the chat page, send again with the same
id while the hub cannot be reached. The check reads the hub's database itself.
"""

import threading
import time
import uuid

import httpx
import pytest

from tests import dbkit

pytestmark = pytest.mark.e2e

TURNS = [
    "你好",
    "课程视频能不能下载下来离线看？",
    "how many devices can I log in on",
    "谢谢",
    "直播课有回放吗",
]


class Learner(threading.Thread):
    """Sends its turns one after another, each until the hub acknowledges it (bounded)."""

    def __init__(self, base: str, learner_id: str, deadline: float) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=base, timeout=30)
        self.learner_id = learner_id
        self.deadline = deadline
        self.acked: list[tuple[str, int]] = []  # client id, stored message id
        self.sent_once: list[str] = []
        self.error: str | None = None

    def _until_acked(self, method: str, url: str, **kw: object) -> httpx.Response:
        while time.time() < self.deadline:
            try:
                r = self.http.request(method, url, **kw)  # type: ignore[arg-type]
            except httpx.HTTPError:  # the hub is down or restarting
                time.sleep(0.3)
                continue
            if r.status_code < 500:
                return r
            time.sleep(0.3)
        raise TimeoutError(f"{method} {url} never acknowledged")

    def run(self) -> None:
        try:
            r = self._until_acked("POST", "/api/auth/learner", json={"learner_id": self.learner_id})
            self.http.headers["Authorization"] = f"Bearer {r.json()['token']}"
            self.cid = self._until_acked("POST", "/api/conversations").json()["conversation"]["id"]
            for text in TURNS * 2:
                client_id = uuid.uuid4().hex
                body = {"text": text, "client_id": client_id}
                r = self._until_acked("POST", f"/api/conversations/{self.cid}/messages", json=body)
                assert r.status_code == 200, r.text
                self.acked.append((client_id, r.json()["message"]["id"]))
        except Exception as e:  # reported by the test, not lost in a thread
            self.error = f"{type(e).__name__}: {e}"


def test_a_killed_hub_loses_no_acknowledged_message_and_answers_every_one(stack):
    deadline = time.time() + 240
    learners = [Learner(stack.hub_url, f"L100{i % 5 + 1}", deadline) for i in range(6)]
    for learner in learners:
        learner.start()
    time.sleep(2.5)  # turns in flight: some stored and not yet answered
    stack.restart_hub(kill=True)
    for learner in learners:
        learner.join(timeout=250)
    assert not [lr.error for lr in learners if lr.error]
    acked = [(lr.cid, client, mid) for lr in learners for client, mid in lr.acked]
    assert len(acked) == len(learners) * len(TURNS) * 2

    stored = {
        lr.cid: dbkit.rows(stack.db, "messages", conversation_id=lr.cid, order_by="id")
        for lr in learners
    }
    for cid, client, mid in acked:
        mine = [m for m in stored[cid] if m["client_id"] == client]
        assert [m["id"] for m in mine] == [mid], "lost or stored twice"
    for rows in stored.values():
        learner_rows = [m for m in rows if m["sender"] == "learner"]
        assert len(learner_rows) == len(TURNS) * 2, "a message no learner acknowledged"
        for m in learner_rows:
            answers = [r for r in rows if r["reply_to"] == m["id"]]
            assert m["handled_at"] is not None and answers, (
                f"left unanswered: {m['text']}\n{trouble(stack)}"
            )


def trouble(stack) -> str:  # type: ignore[no-untyped-def]
    """The warnings and errors the hub and Rasa logged, for a failure's message."""
    lines = []
    for name in ("hub.log", "rasa.log"):
        path = stack.log_dir / name
        if path.exists():
            text = path.read_text("utf-8", errors="replace").splitlines()
            lines += [f"{name}: {x}" for x in text if "WARNING" in x or "ERROR" in x][-40:]
    return "\n".join(lines)
