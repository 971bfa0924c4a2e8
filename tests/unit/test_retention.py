"""The retention purge (bot/retention.py) with a moved clock, on both engines, and the
once-a-day lease it runs under (bot/leases.py).

Data is made through the code paths that make it in production; only its timestamps are
moved into the past afterwards (a conversation quiet for 200 days, a gap logged 100 days
ago), and the purge runs at the real time."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import handoff
from bot import audit, auth, identity, leases, privacy_requests, retention, transcript
from bot.learner_records import pseudonym
from bot.retention import DAY, Policy
from bot.tables import conversations, tokens
from bot.tables import leases as lease_table
from bot.tracker_store import TrackerStore
from kb_index import gaps
from kb_index.tables import kb_gaps
from tests.conftest import hub_settings
from tests.unit.test_learner_records import make_tracker, rasa_turn, tracker_text

KEY = "retention-key"
NOW = time.time()
POLICY = Policy(transcript_days=180, gaps_days=90, audit_days=365)


def conversation(db: Any, tracker: Path, learner: str, words: str, quiet_days: float) -> str:
    """A conversation of `learner` with a turn in Rasa, its last message `quiet_days` ago."""
    with db.write() as conn:
        cid = transcript.create_conversation(conn, learner).id
        m = transcript.add_message(conn, cid, "learner", words, lang="zh")
        transcript.add_replies(
            conn, cid, [{"text": "好的", "payload": {}}], lang="zh", reply_to=m.id
        )
        conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == cid)
            .values(created_at=NOW - quiet_days * DAY - 60, last_message_at=NOW - quiet_days * DAY)
        )
    rasa_turn(tracker, cid, learner, words, {})
    return cid


def snapshot(db: Any) -> dict[str, list[tuple]]:
    """Every row of every table, to see that a dry run changed nothing."""
    out = {}
    with db.read() as conn:
        for name in sa.inspect(conn).get_table_names():
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            out[name] = sorted(map(repr, conn.execute(sa.select(table)).all()))
    return out


@pytest.fixture
def old_and_new(any_database, tmp_path):  # type: ignore[no-untyped-def]
    db = any_database
    tracker_file = make_tracker(tmp_path / "rasa_tracker.db")
    made: dict[str, Any] = {"tracker_file": tracker_file}
    made["old"] = conversation(db, tracker_file, "L1001", "旧的 13800001001", quiet_days=200)
    made["recent"] = conversation(db, tracker_file, "L1001", "新的 13800001001", quiet_days=10)
    made["busy"] = conversation(db, tracker_file, "L1002", "等人 13900001002", quiet_days=200)
    with db.write() as conn:
        # a closed ticket does not keep the old one; an open one keeps its conversation
        done = handoff.create_ticket(conn, made["old"], reason="request_human", summary="旧工单")
        handoff.settle(conn, done.id, "agent", "done")
        made["old_ticket"] = done.id
        handoff.create_ticket(conn, made["busy"], reason="complaint", summary="还在处理")
        old_gap = gaps.log_gap(
            conn,
            conversation_id=made["recent"],
            query="旧问题",
            lang="zh",
            kind="fallback",
            hits=[],
        )
        conn.execute(
            sa.update(kb_gaps).where(kb_gaps.c.id == old_gap).values(created_at=NOW - 100 * DAY)
        )
        gaps.log_gap(
            conn,
            conversation_id=made["recent"],
            query="新问题",
            lang="zh",
            kind="fallback",
            hits=[],
        )
        audit.record(conn, "staff.add", actor="admin", subject="staff:x", now=NOW - 400 * DAY)
        audit.record(conn, "staff.add", actor="admin", subject="staff:y", now=NOW - 10 * DAY)
        # an export whose link has expired, and one still live, each with its file
        for name, expires in (("expired", NOW - 60), ("live", NOW + 6 * DAY)):
            path = tmp_path / "exports" / f"{name}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text("{}")
            req = privacy_requests.open_request(
                conn,
                learner_id=f"L-{name}",
                kind="export",
                conversation_id=None,
                ticket_id=None,
                verified_by="session+code",
            )
            privacy_requests.export_ready(
                conn,
                req["id"],
                by="agent",
                export_file=str(path),
                token_hash=f"h-{name}",
                expires_at=expires,
            )
            made[f"{name}_export"] = (req["id"], path)
        # sessions: one expired, one live
        # (NOW is when the module was imported: the suite may reach this minutes later)
        auth.issue_token(conn, "learner", "L1003", int(NOW - time.time()) - 60)
        auth.issue_token(conn, "learner", "L1003", int(NOW - time.time()) + 3600)
        # identity checks: one long idle, one with a live code, one locked
        identity.issue(conn, "L1003", "privacy_export", "k", now=NOW - 3 * DAY)
        identity.issue(conn, "L1004", "privacy_export", "k", now=NOW)
        identity.issue(conn, "L1005", "privacy_export", "k", now=NOW - 3700)
        for _ in range(identity.MAX_FAILURES):
            identity.check(conn, "L1005", "000000", "k", now=NOW - 3600)
    return made


EXPECTED = {
    "conversations_anonymised": 1,
    "messages_stripped": 2,
    "rasa_events_deleted": 2,  # the user's message and the bot's answer
    "gaps_deleted": 1,
    "audit_records_deleted": 1,
    "export_files_deleted": 1,
    "sessions_deleted": 1,
    "identity_checks_deleted": 1,
}


def test_policy_from_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = hub_settings(
        tmp_path, retention_transcript_days=30, retention_gaps_days=7, retention_audit_days=90
    )
    assert Policy.from_settings(settings) == Policy(30, 7, 90)
    assert Policy.from_settings(hub_settings(tmp_path)) == Policy()


def test_dry_run_changes_nothing_and_counts_what_a_run_does(any_database, old_and_new) -> None:  # type: ignore[no-untyped-def]
    db, made = any_database, old_and_new
    tracker = TrackerStore(made["tracker_file"])
    before, tracker_before = snapshot(db), tracker_text(made["tracker_file"])

    dry = retention.run(db, tracker, KEY, POLICY, now=NOW, dry_run=True)
    assert dry.dry_run and dry.counts() == EXPECTED
    assert snapshot(db) == before
    assert tracker_text(made["tracker_file"]) == tracker_before
    assert made["expired_export"][1].exists()

    real = retention.run(db, tracker, KEY, POLICY, now=NOW)
    assert not real.dry_run and real.counts() == dry.counts()
    assert (
        real.cutoffs
        == dry.cutoffs
        == {"transcripts": NOW - 180 * DAY, "gaps": NOW - 90 * DAY, "audit": NOW - 365 * DAY}
    )
    tracker.close()


def test_a_run_purges_what_is_due_and_nothing_else(any_database, old_and_new) -> None:  # type: ignore[no-untyped-def]
    db, made = any_database, old_and_new
    tracker = TrackerStore(made["tracker_file"])
    report = retention.run(db, tracker, KEY, POLICY, now=NOW)
    assert report.counts() == EXPECTED

    events = tracker.events([made["old"], made["recent"], made["busy"]])
    assert made["old"] not in events and len(events[made["recent"]]) == 2
    assert len(events[made["busy"]]) == 2
    with db.read() as conn:
        old = transcript.get_conversation(conn, made["old"])
        assert old is not None and old.learner_id == pseudonym(KEY, "L1001")
        assert [(m.sender, m.text) for m in transcript.messages(conn, made["old"])] == [
            ("learner", ""),
            ("bot", ""),
        ]
        assert handoff.get_ticket(conn, made["old_ticket"]).summary == ""
        recent = transcript.get_conversation(conn, made["recent"])
        assert recent is not None and recent.learner_id == "L1001"
        assert "新的" in transcript.messages(conn, made["recent"])[0].text
        busy = transcript.get_conversation(conn, made["busy"])
        assert busy is not None and busy.learner_id == "L1002"
        assert "等人" in transcript.messages(conn, made["busy"])[0].text
        assert [g["query"] for g in conn.execute(sa.select(kb_gaps)).mappings()] == ["新问题"]
        # the old audit record went; the run itself is recorded, with its counts
        subjects = [e["subject"] for e in audit.events(conn, action="staff.add")]
        assert subjects == ["staff:y"]
        [purge] = audit.events(conn, action="retention.purge")
        assert purge["actor"] == "retention" and purge["detail"] == EXPECTED
        expired = privacy_requests.get(conn, made["expired_export"][0])
        live = privacy_requests.get(conn, made["live_export"][0])
        assert expired["export_file"] is None and live["export_file"]
        assert len(conn.execute(sa.select(tokens)).all()) == 1
        left = set(conn.scalars(sa.text("SELECT learner_id FROM identity_checks")))
        assert left == {"L1004", "L1005"}
    assert not made["expired_export"][1].exists() and made["live_export"][1].exists()

    # the next day's run finds nothing more; once the ticket closes, the busy one goes
    again = retention.run(db, tracker, KEY, POLICY, now=NOW)
    assert {k: v for k, v in again.counts().items() if v} == {}
    with db.write() as conn:
        ticket = handoff.open_ticket(conn, made["busy"])
        handoff.settle(conn, ticket.id, "agent", "done")
    later = retention.run(db, tracker, KEY, POLICY, now=NOW)
    assert later.conversations_anonymised == 1 and later.rasa_events_deleted == 2
    tracker.close()


def test_the_daily_run_is_claimed_once_across_callers(any_database) -> None:  # type: ignore[no-untyped-def]
    db = any_database
    start = threading.Barrier(4)
    won: list[str] = []

    def caller(holder: str) -> None:
        start.wait()
        if db.writing(leases.claim_due, "retention", DAY, holder=holder):
            won.append(holder)

    threads = [threading.Thread(target=caller, args=(f"hub-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    # not again the same day, by anyone
    assert not db.writing(leases.claim_due, "retention", DAY, holder="hub-0")
    assert not db.writing(leases.claim_due, "retention", DAY, holder=won[0])
    # a day later: once more, for one caller
    with db.write() as conn:
        conn.execute(sa.update(lease_table).values(expires_at=time.time() - 1))
    assert db.writing(leases.claim_due, "retention", DAY, holder="hub-1")
    assert not db.writing(leases.claim_due, "retention", DAY, holder="hub-2")
    # a run that fails is due again at once, for its holder's next check to retry
    db.writing(leases.due_again, "retention", holder="hub-2")  # not its claim: nothing changes
    assert not db.writing(leases.claim_due, "retention", DAY, holder="hub-2")
    db.writing(leases.due_again, "retention", holder="hub-1")
    assert db.writing(leases.claim_due, "retention", DAY, holder="hub-2")


def test_a_learner_who_comes_back_during_the_purge_keeps_their_words(any_database) -> None:  # type: ignore[no-untyped-def]
    from bot import transcript

    db = any_database
    with db.write() as conn:
        conv = transcript.create_conversation(conn, "L1", lang="zh")
        transcript.add_message(conn, conv.id, "learner", "我的电话 13812345678")
    cutoff = time.time() + 1  # the conversation was quiet when the purge read it...
    with db.read() as conn:
        assert transcript.still_quiet(conn, [conv.id], cutoff) == {conv.id}
    with db.write() as conn:  # ...and then the learner wrote again
        conn.execute(
            sa.update(transcript.C).where(transcript.C.c.id == conv.id)
            .values(last_message_at=cutoff + 5)
        )
    with db.read() as conn:
        assert transcript.still_quiet(conn, [conv.id], cutoff) == set()
