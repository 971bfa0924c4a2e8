"""Manager indicators and early-warning alerts over real tickets and transcripts."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from fastapi.testclient import TestClient

import handoff
from bot import metrics, transcript
from bot.app import create_app
from bot.settings import ROOT
from bot.storage import migrate, open_db
from tests.conftest import hub_settings, learner_token, staff_token


def seed(db, now: float) -> None:
    """Four conversations: two bot-only, one handed off and rated 2, one complaint."""
    for i, (intent, handed, csat) in enumerate(
        [
            ("ask_question", False, None),
            ("greet", False, None),
            ("refund_request", True, 2),
            ("complaint", True, None),
        ]
    ):
        conv = transcript.create_conversation(db, f"L100{i + 1}")
        msg = transcript.add_message(db, conv.id, "learner", "hi", lang="en")
        transcript.annotate(db, msg.id, intent, 0.9)
        if handed:
            t = handoff.create_ticket(
                db, conv.id, reason="learner_asked", intent=intent, now=now - 3600
            )
            handoff.claim(db, t.id, "ann", now=now - 3000)
            handoff.record_agent_reply(db, t.id, "ann", now=now - 3000)  # 10 min later
            if csat:
                handoff.resolve(db, t.id, "ann", now=now - 1800)
                handoff.rate(db, t.id, csat)


def test_indicators(tmp_path):
    db = open_db(tmp_path / "hub.db")
    migrate(db)
    now = time.time()
    seed(db, now)
    v = metrics.indicators(db, since=now - 86400, now=now)
    assert v["conversations"] == 4 and v["handed_off"] == 2
    assert v["containment"] == 0.5 and v["complaint_rate"] == 0.25
    assert v["tickets"] == 2 and v["resolution_rate"] == 0.5 and v["resolved"] == 1
    assert v["first_response_min_p50"] == 10.0 and v["resolution_min_p50"] == 30.0
    assert v["responded"] == 2  # the basis the dashboard shows under the times
    assert v["csat_avg"] == 2 and v["csat_satisfied_share"] == 0.0
    (ann,) = metrics.per_agent(db, since=now - 86400)
    assert (ann["agent"], ann["taken"], ann["resolved"]) == ("ann", 2, 1)
    assert ann["first_response_min_p50"] == 10.0 and ann["csat_avg"] == 2
    rules = metrics.load_rules(ROOT / "data" / "alerts.yml")
    raised = {a["indicator"] for a in metrics.alerts(v, rules)}
    assert "csat_avg" not in raised  # one rating is below min_sample
    strict = [metrics.Rule("containment", "<", 0.9), metrics.Rule("csat_avg", "<", 4)]
    assert {a["indicator"] for a in metrics.alerts(v, strict)} == {"containment", "csat_avg"}
    changes = metrics.record_changes(db, metrics.alerts(v, strict), now)
    assert [c["state"] for c in changes] == ["raised", "raised"]
    assert metrics.record_changes(db, metrics.alerts(v, strict), now) == []  # no repeats
    assert [c["state"] for c in metrics.record_changes(db, [], now)] == ["cleared", "cleared"]


def test_dashboard_api_roles(client):
    assert client.get("/api/manager/metrics", headers=learner_token(client)).status_code == 403
    assert (
        client.get("/api/manager/metrics", headers=staff_token(client, "agent")).status_code == 403
    )
    r = client.get("/api/manager/metrics?hours=168", headers=staff_token(client, "manager"))
    assert r.status_code == 200 and r.json()["values"]["conversations"] == 0
    assert (
        client.get(
            "/api/manager/metrics?hours=0", headers=staff_token(client, "manager")
        ).status_code
        == 422
    )


def test_watcher_posts_alerts_to_the_webhook(tmp_path):
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rules = tmp_path / "alerts.yml"
    rules.write_text(
        'rules:\n  - {indicator: queue_waiting, op: ">", threshold: 0, label: "queue"}\n'
    )
    settings = hub_settings(
        tmp_path,
        alert_rules=rules,
        alert_check_s=0.2,
        alert_webhook=f"http://127.0.0.1:{server.server_port}/hook",
    )
    with TestClient(create_app(settings)) as client:
        headers = learner_token(client)
        cid = client.post("/api/conversations", headers=headers).json()["conversation"]["id"]
        client.post(
            f"/api/conversations/{cid}/messages",
            headers=headers,
            json={"text": "human", "payload": "/request_human"},
        )
        deadline = time.time() + 10
        while not received and time.time() < deadline:
            time.sleep(0.1)
    server.shutdown()
    assert received and received[0]["alerts"][0]["indicator"] == "queue_waiting"
    assert received[0]["alerts"][0]["state"] == "raised"
