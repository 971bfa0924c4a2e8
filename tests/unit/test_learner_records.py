"""A learner's export and erasure (bot/learner_records.py), round trip, on both engines.

A learner is given data in every table that can name them, made through the code paths
that make it in production (transcript, handoff, kb_index, refund log, identity codes, the
demo platform, the audit log, privacy requests), and Rasa's tracker store is a real SQLite
file with Rasa's `events` table. The export must hold every piece; after the erasure no
text column of any table of the hub's database, nor the tracker file, may hold the
learner's id, name, phone or email, and a second learner's data is as it was.

The tracker schema below is what Rasa 3.6's SQLTrackerStore creates (checked by creating
one with .venv-rasa; tests/e2e/test_personal_data.py runs against the real thing).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import handoff
from bot import audit, auth, identity, privacy_requests, refund_log, transcript
from bot.learner_records import FORMAT, LearnerRecords, pseudonym
from bot.settings import ROOT
from bot.tracker_store import TrackerStore
from course_platform import demo_store
from course_platform.demo_store import DemoPlatform
from kb_index import feedback, gaps

KEY = "test-pseudonym-key"

# Rasa 3.6 SQLTrackerStore's table, as it creates it on SQLite
RASA_EVENTS_DDL = """
CREATE TABLE events (
	id INTEGER NOT NULL,
	sender_id VARCHAR(255) NOT NULL,
	type_name VARCHAR(255) NOT NULL,
	timestamp FLOAT,
	intent_name VARCHAR(255),
	action_name VARCHAR(255),
	data TEXT,
	PRIMARY KEY (id)
);
CREATE INDEX ix_events_sender_id ON events (sender_id);
"""


@dataclass
class Person:
    id: str
    name: str
    phone: str
    email: str

    @property
    def needles(self) -> list[str]:
        return [self.id, self.name, self.phone, self.email]


# as in data/platform/demo.yml
LI = Person("L1001", "李明", "13800001001", "liming@example.com")
EMMA = Person("L1002", "Emma Li", "13900001002", "emma.li@example.com")


def make_tracker(path: Path) -> Path:
    with sqlite3.connect(path) as c:
        c.executescript(RASA_EVENTS_DDL)
    return path


def rasa_turn(
    path: Path, sender_id: str, learner_id: str, text: str, slots: dict[str, str]
) -> None:
    """The events one Rasa turn writes: the user's message (with the hub's metadata), the
    slots a form filled, the bot's answer."""
    now = time.time()
    events: list[tuple[str, str | None, str | None, dict[str, Any]]] = [
        (
            "user",
            "inform",
            None,
            {
                "event": "user",
                "timestamp": now,
                "text": text,
                "parse_data": {"intent": {"name": "inform"}, "text": text},
                "metadata": {"learner_id": learner_id, "lang": "zh"},
            },
        ),
        *[
            ("slot", None, None, {"event": "slot", "timestamp": now, "name": k, "value": v})
            for k, v in slots.items()
        ],
        ("bot", None, None, {"event": "bot", "timestamp": now, "text": f"好的 {text[:5]}"}),
    ]
    with sqlite3.connect(path) as c:
        c.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(sender_id, t, now, i, a, json.dumps(d, ensure_ascii=False)) for t, i, a, d in events],
        )


def tracker_text(path: Path) -> str:
    with sqlite3.connect(path) as c:
        return "\n".join(" ".join(map(str, r)) for r in c.execute("SELECT * FROM events"))


def seed_platform(db: Any) -> None:
    with db.write() as conn:
        demo_store.seed_if_empty(conn, ROOT / "data" / "platform" / "demo.yml")


def give_data(db: Any, platform: DemoPlatform, tracker: Path, p: Person) -> dict[str, Any]:
    """Everything the desk and the platform can hold about `p`, made the way production
    makes it. Returns the ids made."""
    made: dict[str, Any] = {}
    with db.write() as conn:
        conv = transcript.create_conversation(conn, p.id)
        cid = made["conversation"] = conv.id
        first = transcript.add_message(
            conn,
            cid,
            "learner",
            f"我是{p.name}，学号 {p.id}，手机 {p.phone}，邮箱 {p.email}",
            lang="zh",
            client_id=f"client-{p.id}",
            payload={"typed": p.email},
        )
        replies = transcript.add_replies(
            conn,
            cid,
            [{"text": f"已记录邮箱 {p.email}", "payload": {"buttons": [{"title": p.phone}]}}],
            lang="zh",
            reply_to=first.id,
        )
        made["answer_message"] = replies[0].id
        transcript.set_asking(conn, cid, ("invoice_form", "email"))
        # a chat ticket, worked by agents, resolved and rated
        ticket = handoff.create_ticket(
            conn,
            cid,
            reason="request_human",
            intent="refund",
            order_id="AC10010001",
            summary=f"{p.name} ({p.phone}) wants a refund",
        )
        handoff.create_ticket(conn, cid, reason="request_human", summary=f"email {p.email}")
        handoff.claim(conn, ticket.id, "agent")
        handoff.record_agent_reply(conn, ticket.id, "agent")
        transcript.add_message(conn, cid, "agent", f"{p.name} 您好", author="agent")
        handoff.transfer(conn, ticket.id, "agent", "billing", f"call {p.phone}")
        handoff.claim(conn, ticket.id, "billing")
        handoff.release(conn, ticket.id, "billing", f"learner {p.id} asked for email {p.email}")
        handoff.claim(conn, ticket.id, "agent")
        handoff.reassign(conn, ticket.id, "manager", "manager", f"{p.name} is a VIP")
        handoff.resolve(conn, ticket.id, "manager", f"refunded, told {p.email}")
        handoff.rate(conn, ticket.id, 4, f"thanks, reach me at {p.phone}")
        made["ticket"] = ticket.id
        # a privacy case, still open, and the request beside it
        case = handoff.create_ticket(
            conn, cid, reason="privacy", channel="case", summary=f"delete {p.id}'s data"
        )
        made["case"] = case.id
        made["request"] = privacy_requests.open_request(
            conn,
            learner_id=p.id,
            kind="delete",
            conversation_id=cid,
            ticket_id=case.id,
            verified_by="session+code",
        )["id"]
        # the KB: a vote on the bot's answer, an unanswered question in their words
        feedback.record(
            conn,
            entry_id="refund-policy",
            conversation_id=cid,
            message_id=made["answer_message"],
            helpful=False,
        )
        gaps.log_gap(
            conn,
            conversation_id=cid,
            query=f"{p.name}的发票寄到 {p.email} 可以吗",
            lang="zh",
            kind="fallback",
            hits=[],
        )
        refund_log.record(
            conn,
            conversation_id=cid,
            learner_id=p.id,
            outcome=refund_log.APPROVED,
            order_id="AC10010001",
            order_amount=199,
            amount=199,
            reason=f"不想学了，学号 {p.id}，电话 {p.phone}，邮箱 {p.email}",
        )
        auth.issue_token(conn, "learner", p.id, 3600)
        identity.issue(conn, p.id, "privacy_delete", "identity-key")
        audit.record_read(
            conn, "learner.read", actor="agent", subject=f"learner:{p.id}", learner_id=p.id
        )
        audit.record_read(
            conn,
            "transcript.read",
            actor="agent",
            subject=f"conversation:{cid}",
            learner_id=p.id,
        )
        audit.record(
            conn,
            "privacy.download",
            actor=f"learner:{p.id}",
            subject=f"privacy_request:{made['request']}",
            learner_id=p.id,
        )
    # the platform: a refund with their reason, an invoice and another request, a code sent
    platform.create_refund(p.id, "AC10010001", 199, f"call me on {p.phone}")
    platform.submit_request(p.id, "invoice", {"title": "个人", "email": p.email})
    platform.submit_request(p.id, "certificate", {"name": p.name, "phone": p.phone})
    platform.send_code(p.id, "123456", "privacy_delete", "zh")
    # Rasa's dialogue events
    rasa_turn(tracker, cid, p.id, f"邮箱 {p.email} 手机 {p.phone}", {"email": p.email})
    return made


@pytest.fixture
def world(any_database, tmp_path):  # type: ignore[no-untyped-def]
    seed_platform(any_database)
    platform = DemoPlatform(any_database)
    tracker_file = make_tracker(tmp_path / "rasa_tracker.db")
    tracker = TrackerStore(tracker_file)
    records = LearnerRecords(any_database, platform, tracker, KEY)
    li = give_data(any_database, platform, tracker_file, LI)
    emma = give_data(any_database, platform, tracker_file, EMMA)
    yield records, tracker_file, li, emma
    tracker.close()


def hub_hits(db: Any, needles: list[str]) -> list[tuple[str, str, str, str]]:
    """(table, column, needle, value) for every text value of every table of the hub's
    database that holds one of `needles`."""
    found = []
    with db.read() as conn:
        names = sa.inspect(conn).get_table_names()
        assert {"messages", "tickets", "pf_outbox", "audit_events", "kb_gaps"} <= set(names)
        for name in names:
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            for row in conn.execute(sa.select(table)).mappings():
                for col, value in row.items():
                    if value is None:
                        continue
                    text = str(value)
                    found += [(name, col, n, text) for n in needles if n in text]
    return found


def without_time(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "exported_at"}


def test_export_holds_every_piece(world) -> None:  # type: ignore[no-untyped-def]
    records, _, li, emma = world
    doc = records.export(LI.id)
    assert doc["format"] == FORMAT and doc["learner_id"] == LI.id
    json.dumps(doc, ensure_ascii=False)  # JSON-able as it is
    [conv] = doc["conversations"]
    assert conv["id"] == li["conversation"]
    texts = [m["text"] for m in conv["messages"]]
    assert any(LI.phone in t and LI.email in t for t in texts)
    assert {m["sender"] for m in conv["messages"]} == {"learner", "bot", "agent"}
    events = conv["rasa_events"]
    assert [e["event"] for e in events] == ["user", "slot", "bot"]
    assert events[0]["metadata"]["learner_id"] == LI.id and events[1]["value"] == LI.email
    tickets = {t["id"]: t for t in doc["tickets"]}
    assert set(tickets) == {li["ticket"], li["case"]}
    rated = tickets[li["ticket"]]
    assert rated["csat"] == 4 and LI.phone in rated["csat_comment"]
    kinds = [e["kind"] for e in rated["events"]]
    assert {"created", "claimed", "transferred", "released", "reassigned", "resolved"} <= set(kinds)
    assert any(LI.email in (e["detail"] or "") for e in rated["events"])
    assert doc["kb_feedback"][0]["message_id"] == li["answer_message"]
    # the KB masks contact details in what it logs; the name stays
    assert doc["unanswered_questions"][0]["query"].startswith(f"{LI.name}的发票")
    assert LI.phone in doc["refund_decisions"][0]["reason"]
    assert [r["id"] for r in doc["privacy_requests"]] == [li["request"]]
    assert {a["action"] for a in doc["audit"]} == {
        "learner.read",
        "transcript.read",
        "privacy.download",
    }
    pf = doc["platform"]
    assert pf["profile"]["phone"] == LI.phone and pf["profile"]["email"] == LI.email
    assert {o["id"] for o in pf["orders"]} >= {"AC10010001", "AC10010005"}
    assert pf["progress"] and len(pf["refunds"]) == 2  # the seeded one and the new one
    assert {r["kind"] for r in pf["requests"]} == {"invoice", "certificate"}
    assert pf["requests"][0]["payload"]  # decoded JSON
    assert pf["outbox"][0]["destination"] == LI.phone
    # nothing of the other learner's
    flat = json.dumps(doc, ensure_ascii=False)
    assert not any(n in flat for n in EMMA.needles)
    assert emma["conversation"] not in flat


def test_erase_leaves_nothing_that_names_them(world, any_database) -> None:  # type: ignore[no-untyped-def]
    records, tracker_file, li, emma = world
    emma_before = without_time(records.export(EMMA.id))
    alias = pseudonym(KEY, LI.id)
    assert hub_hits(any_database, LI.needles)  # the search finds what is there

    report = records.erase(LI.id, actor="privacy-officer", request_id=li["request"])
    assert report["learner"] == alias and report["conversations"] == 1
    assert report["rasa_events_deleted"] == 3
    assert report["platform"]["orders_kept"] == 5 and report["platform"]["profile_deleted"] == 1

    assert hub_hits(any_database, LI.needles) == []
    tracker_now = tracker_text(tracker_file)
    assert not any(n in tracker_now for n in LI.needles)
    assert li["conversation"] not in tracker_now

    # what is kept names the pseudonym
    with any_database.read() as conn:
        orders = conn.execute(
            sa.text("SELECT id, learner_id FROM pf_orders WHERE id LIKE 'AC1001%'")
        ).all()
        assert orders and {o.learner_id for o in orders} == {alias}
        conv = transcript.get_conversation(conn, li["conversation"])
        assert conv is not None and conv.learner_id == alias
        assert all(m.text == "" for m in transcript.messages(conn, conv.id))
        assert privacy_requests.get(conn, li["request"])["learner_id"] == alias
        erased = audit.events(conn, action="privacy.erase")
        assert erased[0]["learner_id"] == alias and erased[0]["actor"] == "privacy-officer"
        ticket = handoff.get_ticket(conn, li["ticket"])
        assert ticket.csat == 4 and ticket.summary == "" and not ticket.csat_comment
    assert records.export(LI.id)["conversations"] == []

    # the other learner is as they were
    assert without_time(records.export(EMMA.id)) == emma_before
    assert any(EMMA.phone in t for t in [tracker_now])

    # again: harmless, and still nothing
    again = records.erase(LI.id, actor="privacy-officer", request_id=li["request"])
    assert again["rasa_events_deleted"] == 0 and again["platform"]["profile_deleted"] == 0
    assert hub_hits(any_database, LI.needles) == []
    assert without_time(records.export(EMMA.id)) == emma_before
    with any_database.read() as conn:
        conv = transcript.get_conversation(conn, li["conversation"])
        assert conv is not None and conv.learner_id == alias
