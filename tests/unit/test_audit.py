"""The audit log (bot/audit.py): the library on both engines, and the records the API writes
(a transcript read, a staff account added) and the admin's filtered view of them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot import audit
from bot.tables import audit_events
from tests.api.test_chat_api import send, start
from tests.conftest import staff_token

T0 = 1_700_000_000.0


def test_record_and_read_once_in_ten_minutes(any_database) -> None:  # type: ignore[no-untyped-def]
    db = any_database
    with db.write() as conn:
        with pytest.raises(ValueError, match="unknown audit action"):
            audit.record(conn, "transcript.peek", actor="agent")
        read = dict(actor="agent", subject="conversation:c1", learner_id="L1", address="10.0.0.1")
        assert audit.record_read(conn, "transcript.read", now=T0, **read)
        assert not audit.record_read(conn, "transcript.read", now=T0 + 599, **read)
        # someone else, another thing, or another kind of read: their own records
        assert audit.record_read(conn, "transcript.read", now=T0 + 1, **{**read, "actor": "mia"})
        assert audit.record_read(
            conn, "transcript.read", now=T0 + 2, **{**read, "subject": "conversation:c2"}
        )
        assert audit.record_read(conn, "learner.read", now=T0 + 3, **read)
        # ten minutes after the record, a read is recorded again
        assert audit.record_read(conn, "transcript.read", now=T0 + 601, **read)
    with db.read() as conn:
        mine = audit.events(conn, actor="agent", action="transcript.read")
        assert [e["at"] for e in mine] == [T0 + 601, T0 + 2, T0]  # newest first
        assert mine[-1]["address"] == "10.0.0.1" and mine[-1]["detail"] is None


def test_filters_and_paging(any_database) -> None:  # type: ignore[no-untyped-def]
    db = any_database
    with db.write() as conn:
        audit.record(
            conn,
            "staff.add",
            actor="admin",
            subject="staff:li",
            now=T0,
            detail={"roles": ["agent"], "note": "新同事"},
        )
        audit.record(
            conn,
            "privacy.export",
            actor="agent",
            learner_id="L1",
            now=T0 + 10,
            subject="privacy_request:1",
        )
        audit.record(conn, "privacy.erase", actor="agent", learner_id="L2", now=T0 + 20)
        audit.record(conn, "kb.publish", actor="editor", subject="kb:refund", now=T0 + 30)
    with db.read() as conn:
        every = audit.events(conn)
        assert [e["action"] for e in every] == [
            "kb.publish",
            "privacy.erase",
            "privacy.export",
            "staff.add",
        ]
        assert every[-1]["detail"] == {"roles": ["agent"], "note": "新同事"}
        # a family of actions, one action, an actor, a learner, a subject, a time range
        assert len(audit.events(conn, action="privacy")) == 2
        assert [e["learner_id"] for e in audit.events(conn, action="privacy.erase")] == ["L2"]
        assert audit.events(conn, action="priv") == []  # a family is a whole prefix
        assert [e["action"] for e in audit.events(conn, actor="editor")] == ["kb.publish"]
        assert [e["action"] for e in audit.events(conn, learner_id="L1")] == ["privacy.export"]
        assert len(audit.events(conn, subject="staff:li")) == 1
        window = audit.events(conn, since=T0 + 10, until=T0 + 30)
        assert [e["at"] for e in window] == [T0 + 20, T0 + 10]
        # paging back from a record, a page at a time
        page = audit.events(conn, limit=2)
        more = audit.events(conn, limit=2, before_id=page[-1]["id"])
        assert [e["action"] for e in page + more] == [e["action"] for e in every]
        assert [e["action"] for e in audit.for_learner(conn, "L1")] == ["privacy.export"]


def test_purge_and_pseudonymise(any_database) -> None:  # type: ignore[no-untyped-def]
    db = any_database
    with db.write() as conn:
        audit.record(
            conn, "learner.read", actor="agent", subject="learner:L1", learner_id="L1", now=T0
        )
        audit.record(
            conn,
            "privacy.download",
            actor="learner:L1",
            subject="privacy_request:3",
            learner_id="L1",
            now=T0 + 10,
        )
        audit.record(
            conn,
            "learner.read",
            actor="agent",
            subject="learner:L10",
            learner_id="L10",
            now=T0 + 20,
        )
        assert audit.count_before(conn, T0 + 10) == 1
        assert audit.purge(conn, T0 + 10) == 1
        assert audit.pseudonymise(conn, "L1", "erased-x") == 1
    with db.read() as conn:
        rows = conn.execute(sa.select(audit_events).order_by(audit_events.c.id)).mappings().all()
    assert [(r["actor"], r["subject"], r["learner_id"]) for r in rows] == [
        ("learner:erased-x", "privacy_request:3", "erased-x"),
        ("agent", "learner:L10", "L10"),  # another learner whose id starts the same
    ]
    with db.write() as conn:  # a staff read of the profile names them by the subject too
        audit.record(conn, "learner.read", actor="agent", subject="learner:L1", learner_id="L1")
        audit.pseudonymise(conn, "L1", "erased-x")
        assert audit.events(conn, learner_id="erased-x")[0]["subject"] == "learner:erased-x"


# ---- through the API -------------------------------------------------------------------


def test_reading_a_transcript_is_recorded_once_in_ten_minutes(client) -> None:  # type: ignore[no-untyped-def]
    learner, cid = start(client, "L1002")
    send(client, learner, cid, "human please", payload="/request_human")  # Rasa is down
    agent = staff_token(client, "agent")
    url = f"/api/agent/conversations/{cid}/messages"
    for _ in range(3):  # the console refreshes
        assert client.get(url, headers=agent).status_code == 200
    last = client.get(url, headers=agent).json()["messages"][-1]["id"]
    assert client.get(url, params={"after": last}, headers=agent).status_code == 200
    db = client.app.state.db
    with db.read() as conn:
        reads = audit.events(conn, action="transcript.read")
    assert len(reads) == 1
    assert reads[0]["actor"] == "agent" and reads[0]["subject"] == f"conversation:{cid}"
    assert reads[0]["learner_id"] == "L1002" and reads[0]["address"]
    # a learner reading their own conversation is not a staff read
    assert client.get(f"/api/conversations/{cid}/messages", headers=learner).status_code == 200
    # the profile beside it is its own record
    assert client.get(f"/api/agent/conversations/{cid}/learner", headers=agent).status_code == 200
    # ten minutes on, the next read is recorded again
    with db.write() as conn:
        conn.execute(sa.update(audit_events).values(at=audit_events.c.at - 601))
    assert client.get(url, headers=agent).status_code == 200
    with db.read() as conn:
        assert len(audit.events(conn, action="transcript.read")) == 2
        assert len(audit.events(conn, action="learner.read", learner_id="L1002")) == 1
    # another team's agent cannot read it, and that is no read
    billing = staff_token(client, "billing")
    assert client.get(url, headers=billing).status_code == 404
    with db.read() as conn:
        assert audit.events(conn, actor="billing") == []


def test_admin_sees_staff_changes_and_filters_the_log(client) -> None:  # type: ignore[no-untyped-def]
    admin = staff_token(client, "admin")
    new = {
        "username": "li.wei",
        "display_name": "李伟",
        "roles": ["agent"],
        "teams": ["care"],
        "password": "a-long-enough-password",
    }
    assert client.post("/api/admin/staff", headers=admin, json=new).status_code == 201
    r = client.patch("/api/admin/staff/li.wei", headers=admin, json={"teams": ["care", "tech"]})
    assert r.status_code == 200
    learner, cid = start(client, "L1002")
    send(client, learner, cid, "human please", payload="/request_human")
    agent = staff_token(client, "agent")
    client.get(f"/api/agent/conversations/{cid}/messages", headers=agent)

    r = client.get("/api/admin/audit", headers=admin, params={"action": "staff.add"})
    assert r.status_code == 200
    [added] = r.json()["events"]
    assert added["actor"] == "admin" and added["subject"] == "staff:li.wei"
    assert added["detail"] == {"roles": ["agent"], "teams": ["care"]}
    assert "password" not in str(added)
    assert r.json()["actions"]["staff.add"]["en"] == "Staff account added"
    family = client.get("/api/admin/audit", headers=admin, params={"action": "staff"}).json()
    assert [e["action"] for e in family["events"]] == ["staff.change", "staff.add"]
    by_admin = client.get("/api/admin/audit", headers=admin, params={"actor": "admin"}).json()
    assert {e["action"] for e in by_admin["events"]} == {"staff.add", "staff.change"}
    by_agent = client.get("/api/admin/audit", headers=admin, params={"actor": "agent"}).json()
    assert [e["action"] for e in by_agent["events"]] == ["transcript.read"]
    both = client.get(
        "/api/admin/audit", headers=admin, params={"actor": "agent", "action": "staff"}
    ).json()
    assert both["events"] == []
    # the log is the admins'
    for who in ("agent", "manager"):
        r = client.get("/api/admin/audit", headers=staff_token(client, who))
        assert r.status_code == 403
