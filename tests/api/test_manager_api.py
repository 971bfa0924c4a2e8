"""Manager indicators and early-warning alerts over real tickets and transcripts."""

import csv
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import sqlalchemy as sa
from fastapi.testclient import TestClient

import handoff
from bot import refund_log, transcript
from bot.app import create_app
from bot.tables import alert_events
from tests.conftest import hub_settings, learner_token, staff_token


def test_cards_follow_the_window_and_alerts_keep_their_own(tmp_path, db_url):
    """The cards count the manager's window; the alerts always the window of alerts.yml."""
    rules = tmp_path / "alerts.yml"
    rules.write_text(
        "window_h: 24\nrules:\n"
        '  - {indicator: sla_breach_rate, op: ">", threshold: 0.1, min_sample: 1, label: "SLA"}\n'
    )
    # open around the clock, so this test means the same at any hour it runs
    settings = hub_settings(
        tmp_path,
        database_url=db_url,
        alert_rules=rules,
        alert_check_s=0,
        service_opens="00:00",
        service_closes="23:59:59.999999",
    )
    with TestClient(create_app(settings)) as client:
        db = client.app.state.db
        now = time.time()
        conv = db.writing(transcript.create_conversation, "L1001")
        db.writing(transcript.add_message, conv.id, "learner", "人工", lang="zh")
        # filed three hours ago, due after one, never answered: a breach the 1 h cards miss
        db.writing(
            handoff.create_ticket,
            conv.id,
            reason="learner_asked",
            priority="normal",
            hours=client.app.state.hours,
            now=now - 3 * 3600,
        )
        manager = staff_token(client, "manager")
        hour = client.get("/api/manager/metrics?hours=1", headers=manager).json()
        assert hour["values"]["tickets"] == 0 and hour["values"]["sla_breach_rate"] is None
        assert hour["alert_window_h"] == 24
        assert [a["indicator"] for a in hour["alerts"]] == ["sla_breach_rate"]
        assert hour["alerts"][0]["value"] == 1.0 and hour["service_tz"] == "Asia/Shanghai"
        assert hour["rules"][0]["basis"] == "sla_due"
        day = client.get("/api/manager/metrics?hours=24", headers=manager).json()["values"]
        assert (day["sla_due"], day["sla_breached"], day["queue_waiting"]) == (1, 1, 1)
        assert 175 < day["queue_oldest_min"] <= 181
        # an old cleared row without a label reads with the rule's label
        with db.write() as conn:
            conn.execute(
                sa.insert(alert_events).values(
                    indicator="sla_breach_rate", state="cleared", label="", at=now
                )
            )
        (row,) = client.get("/api/manager/alerts", headers=manager).json()
        assert row["label"] == "SLA"


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


def test_watcher_posts_alerts_to_the_webhook(tmp_path, db_url):
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
        database_url=db_url,
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
    assert received[0]["window_h"] == 24  # the same fixed window as the dashboard's alerts


def test_trends_reasons_refunds_and_csv_export(client):
    """The new views follow the window and the manager role; the export is CSV with a header
    row (and a BOM, so spreadsheet programs read the Chinese labels right)."""
    db = client.app.state.db
    now = time.time()
    conv = db.writing(transcript.create_conversation, "L1001")
    msg = db.writing(transcript.add_message, conv.id, "learner", "我要退款", lang="zh")
    db.writing(transcript.annotate, msg.id, "refund_request", 0.97)
    db.writing(
        handoff.create_ticket,
        conv.id,
        reason="refund_ineligible",
        intent="refund_request",
        category="too_late",
        hours=client.app.state.hours,
        now=now,
    )
    db.writing(
        refund_log.record,
        conversation_id=conv.id,
        learner_id="L1001",
        outcome="too_late",
        order_id="AC10010002",
        reason="买错了",
        now=now,
    )
    db.writing(
        refund_log.record,
        conversation_id="other",
        learner_id="L1001",
        outcome="approved",
        order_id="AC10010001",
        amount=199.0,
        reason="买错了",
        now=now,
    )
    for role in ("agent", "editor"):
        headers = staff_token(client, role)
        for path in ("trends", "reasons", "export", "export?table=trend"):
            assert client.get(f"/api/manager/{path}", headers=headers).status_code == 403, path
    assert client.get("/api/manager/reasons", headers=learner_token(client)).status_code == 403
    assert client.get("/api/manager/export").status_code == 401

    manager = staff_token(client, "manager")
    days = client.get("/api/manager/trends?hours=168", headers=manager).json()["days"]
    assert len(days) in (7, 8) and sum(d["conversations"] for d in days) == 1
    reasons = client.get("/api/manager/reasons?hours=24", headers=manager).json()
    assert reasons["intents"][0]["intent"] == "refund_request"
    assert reasons["teams"] == [{"team": "billing", "count": 1, "share": 1.0}]
    refunds = reasons["refunds"]
    assert (refunds["requests"], refunds["approved"], refunds["handed_to_billing"]) == (2, 1, 1)
    assert refunds["refusals"][0]["code"] == "too_late"

    r = client.get("/api/manager/export?hours=24", headers=manager)
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["content-disposition"]
    assert ".csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["indicator", "label", "value", "counted_over", "basis", "from", "to"]
    by_key = {row[0]: row for row in rows[1:]}
    assert by_key["conversations"][2] == "1" and by_key["tickets"][2] == "1"
    assert by_key["csat_avg"][2] == ""  # nothing to count over: empty, never 0
    assert by_key["csat_avg"][1] == "Satisfaction (CSAT, 1–5) · 满意度"
    assert r.content.startswith("\ufeff".encode())

    trend = client.get("/api/manager/export?hours=72&table=trend", headers=manager)
    assert trend.headers["content-type"] == "text/csv; charset=utf-8"
    header, *day_rows = list(csv.reader(io.StringIO(trend.content.decode("utf-8-sig"))))
    assert header[:4] == ["day", "from", "to", "partial"] and "containment" in header
    assert len(day_rows) in (3, 4)
    assert sum(int(row[header.index("conversations")]) for row in day_rows) == 1
    assert client.get("/api/manager/export?table=nope", headers=manager).status_code == 422
