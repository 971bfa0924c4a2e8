"""The privacy team's workflow over HTTP (bot/api/privacy.py), on both engines: requests
listed by deadline, an export the learner downloads from their chat, an erasure after the
second confirmation, a refusal, and who may do what.

Requests are opened as the bot's privacy flow opens them: a compliance case on the
learner's conversation and bot.privacy_requests.open_request beside it."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

import handoff
from bot import audit, privacy_requests
from bot.learner_records import pseudonym
from bot.tables import privacy_requests as requests_table
from tests.api.test_chat_api import send, start, transcript
from tests.conftest import staff_token
from tests.unit.test_learner_records import LI, hub_hits, make_tracker, rasa_turn, tracker_text

BASE = "/api/agent/privacy-requests"


def open_request(client: Any, cid: str, learner_id: str, kind: str) -> dict:
    with client.app.state.db.write() as conn:
        case = handoff.create_ticket(
            conn,
            cid,
            reason=f"privacy_{kind}",
            intent="privacy_request",
            team="compliance",
            channel="case",
            summary=f"Privacy request: {kind} data of learner {learner_id}",
        )
        return privacy_requests.open_request(
            conn,
            learner_id=learner_id,
            kind=kind,
            conversation_id=cid,
            ticket_id=case.id,
            verified_by="session+code",
        )


def test_export_erase_refuse_workflow(client) -> None:  # type: ignore[no-untyped-def]
    db, settings = client.app.state.db, client.app.state.settings
    tracker_file = make_tracker(settings.tracker_path)
    officer = staff_token(client, "agent")  # an agent of the compliance team
    emma, emma_cid = start(client, "L1002")
    send(client, emma, emma_cid, "please send me a copy of my data, emma.li@example.com")
    li, li_cid = start(client, "L1001")
    send(client, li, li_cid, f"delete everything: {LI.phone}, {LI.email}")
    rasa_turn(tracker_file, li_cid, LI.id, f"phone {LI.phone}", {"email": LI.email})
    wang, wang_cid = start(client, "L1003")
    export = open_request(client, emma_cid, "L1002", "export")
    delete = open_request(client, li_cid, "L1001", "delete")
    refused = open_request(client, wang_cid, "L1003", "export")

    # the team sees them, nearest deadline first, with the deadline
    listed = client.get(BASE, headers=officer)
    assert listed.status_code == 200
    rows = listed.json()["requests"]
    assert [r["id"] for r in rows] == [export["id"], delete["id"], refused["id"]]
    now = time.time()
    for r in rows:
        assert r["status"] == "open" and r["due_at"] > now + 14 * 86400
        assert 0 < r["due_in_s"] <= 25 * 86400 and r["overdue"] is False
        assert r["export_file"] is None and "download_token_hash" not in r
    one = client.get(f"{BASE}/{delete['id']}", headers=officer).json()
    assert one["kind"] == "delete" and one["learner_id"] == "L1001"
    assert client.get(f"{BASE}/999999", headers=officer).status_code == 404
    assert client.get(BASE, headers=officer, params={"status": "nope"}).status_code == 422

    # others: a billing agent, a content editor, a learner
    billing = staff_token(client, "billing")
    for who in (billing, staff_token(client, "editor"), li):
        assert client.get(BASE, headers=who).status_code in (401, 403)
        r = client.post(f"{BASE}/{delete['id']}/erase", headers=who, json={"confirm": "L1001"})
        assert r.status_code in (401, 403)
    assert client.get(BASE, headers=billing).status_code == 403
    assert client.get(BASE, headers=staff_token(client, "manager")).status_code == 200

    # ---- the export ---------------------------------------------------------------------
    r = client.post(f"{BASE}/{delete['id']}/export", headers=officer)
    assert r.status_code == 409  # a delete request is not exported
    r = client.post(f"{BASE}/{export['id']}/export", headers=officer)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done" and done["exported"] and done["export_file"] is None
    assert done["done_by"] == "agent" and done["delivered_at"] is None
    notice = transcript(client, emma, emma_cid)[-1]
    assert notice["sender"] == "system" and notice["payload"]["event"] == "privacy_export"
    url = notice["payload"]["download"]["url"]
    assert url.startswith("/api/learner/privacy-exports/")
    with db.read() as conn:
        assert handoff.get_ticket(conn, export["ticket_id"]).status == "resolved"

    # only the learner, signed in as themselves
    assert client.get(url).status_code == 401
    assert client.get(url, headers=li).status_code == 404
    assert client.get(url + "x", headers=emma).status_code == 404
    with db.read() as conn:
        assert privacy_requests.get(conn, export["id"])["delivered_at"] is None
    got = client.get(url, headers=emma)
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    data = got.json()
    assert data["learner_id"] == "L1002" and data["platform"]["profile"]["name"] == "Emma Li"
    [conv] = data["conversations"]
    assert any("emma.li@example.com" in m["text"] for m in conv["messages"])
    assert LI.phone not in got.text
    with db.read() as conn:
        first = privacy_requests.get(conn, export["id"])["delivered_at"]
        assert first is not None
        [download] = audit.events(conn, action="privacy.download")
        assert download["actor"] == "learner:L1002" and download["learner_id"] == "L1002"
        assert audit.events(conn, action="privacy.export")[0]["actor"] == "agent"
    assert client.get(url, headers=emma).status_code == 200  # again, while it lives
    with db.read() as conn:
        assert privacy_requests.get(conn, export["id"])["delivered_at"] == first
    # once the link has expired: 410 Gone for its owner (someone else still learns nothing)
    with db.write() as conn:
        conn.execute(
            sa.update(requests_table)
            .where(requests_table.c.id == export["id"])
            .values(download_expires_at=time.time() - 1)
        )
    assert client.get(url, headers=emma).status_code == 410
    assert client.get(url, headers=li).status_code == 404
    assert client.post(f"{BASE}/{export['id']}/export", headers=officer).status_code == 409

    # ---- the erasure ----------------------------------------------------------------------
    erase_url = f"{BASE}/{delete['id']}/erase"
    for wrong in ("L100", "l1001", "L1002"):
        r = client.post(erase_url, headers=officer, json={"confirm": wrong})
        assert r.status_code == 422
    assert client.post(erase_url, headers=officer, json={}).status_code == 422
    with db.read() as conn:
        assert privacy_requests.get(conn, delete["id"])["status"] == "open"
    assert hub_hits(db, LI.needles)  # nothing erased yet
    assert client.get(f"/api/conversations/{li_cid}", headers=li).status_code == 200
    assert (
        client.post(
            f"{BASE}/{export['id']}/erase", headers=officer, json={"confirm": "L1002"}
        ).status_code
        == 409
    )  # not a delete request

    r = client.post(erase_url, headers=officer, json={"confirm": " L1001 "})
    assert r.status_code == 200, r.text
    body = r.json()
    alias = pseudonym(client.app.state.records.key, "L1001")
    assert body["status"] == "done" and body["learner_id"] == alias
    assert body["report"]["rasa_events_deleted"] == 3 and body["report"]["sessions_ended"] >= 1
    assert hub_hits(db, LI.needles) == []
    assert not any(n in tracker_text(tracker_file) for n in LI.needles)
    with db.read() as conn:
        ticket = handoff.get_ticket(conn, delete["ticket_id"])
        assert ticket.status == "resolved" and ticket.summary == ""
        [erased] = audit.events(conn, action="privacy.erase")
        assert (
            erased["learner_id"] == alias and erased["subject"] == f"privacy_request:{delete['id']}"
        )
    # their session ended with their data
    assert client.get(f"/api/conversations/{li_cid}", headers=li).status_code == 401
    # the platform no longer knows them: the demo sign-in refuses the id
    assert client.post("/api/auth/learner", json={"learner_id": "L1001"}).status_code == 404
    assert client.post(erase_url, headers=officer, json={"confirm": "L1001"}).status_code == 409
    # the other learner's copy and data are untouched
    with db.read() as conn:
        assert privacy_requests.get(conn, export["id"])["learner_id"] == "L1002"
    assert transcript(client, emma, emma_cid)[0]["text"].startswith("please send me")

    # ---- a refusal ------------------------------------------------------------------------
    refuse_url = f"{BASE}/{refused['id']}/refuse"
    assert client.post(refuse_url, headers=officer, json={"note": ""}).status_code == 422
    assert client.post(refuse_url, headers=billing, json={"note": "x"}).status_code == 403
    r = client.post(refuse_url, headers=officer, json={"note": "账号与申请人不符"})
    assert r.status_code == 200 and r.json()["status"] == "refused"
    assert r.json()["note"] == "账号与申请人不符"
    told = transcript(client, wang, wang_cid)[-1]
    assert told["payload"]["event"] == "privacy_refused" and "账号与申请人不符" in told["text"]
    with db.read() as conn:
        assert handoff.get_ticket(conn, refused["ticket_id"]).status == "resolved"
        assert audit.events(conn, action="privacy.refuse")[0]["detail"] == {
            "note": "账号与申请人不符"
        }
    # every action on a closed request: 409
    assert client.post(refuse_url, headers=officer, json={"note": "again"}).status_code == 409
    assert client.post(f"{BASE}/{refused['id']}/export", headers=officer).status_code == 409
    assert (
        client.post(
            f"{BASE}/{export['id']}/refuse", headers=officer, json={"note": "late"}
        ).status_code
        == 409
    )
    assert (
        client.post(
            f"{BASE}/{delete['id']}/refuse", headers=officer, json={"note": "late"}
        ).status_code
        == 409
    )
    listed = client.get(BASE, headers=officer, params={"status": "all"}).json()["requests"]
    assert {r["status"] for r in listed} == {"done", "refused"}
    assert client.get(BASE, headers=officer).json()["requests"] == []
