"""Tickets: the state machine, atomic claims across connections, routing, SLA clocks."""

import threading
from datetime import UTC, datetime

import pytest
import sqlite_utils

import handoff
from bot.storage import open_db


@pytest.fixture
def db(tmp_path) -> sqlite_utils.Database:
    db = open_db(tmp_path / "hub.db")
    handoff.ensure_schema(db)
    return db


def test_ticket_life_cycle(db):
    t = handoff.create_ticket(db, "c1", reason="learner_asked", intent="refund_request")
    assert (t.status, t.team, t.priority) == ("queued", "billing", "normal")
    assert handoff.open_ticket(db, "c1").id == t.id
    t = handoff.claim(db, t.id, "ann")
    assert t.status == "claimed" and t.claimed_by == "ann"
    t = handoff.record_agent_reply(db, t.id, "ann", now=t.created_at + 30)
    assert (t.first_response_at, t.first_response_by) == (t.created_at + 30, "ann")
    t = handoff.resolve(db, t.id, "ann", note="refunded")
    assert t.status == "resolved" and handoff.open_ticket(db, "c1") is None
    assert handoff.rate(db, t.id, 5, "great").csat == 5


def test_create_is_idempotent_and_escalates(db):
    a = handoff.create_ticket(db, "c1", reason="bot_could_not_answer")
    b = handoff.create_ticket(db, "c1", reason="learner_asked", intent="complaint")
    assert a.id == b.id and b.priority == "high"
    assert len(handoff.queue(db)) == 1


def test_second_claim_conflicts_and_only_owner_acts(db):
    t = handoff.create_ticket(db, "c1", reason="learner_asked")
    handoff.claim(db, t.id, "ann")
    with pytest.raises(handoff.Conflict):
        handoff.claim(db, t.id, "bob")
    with pytest.raises(handoff.Forbidden):
        handoff.record_agent_reply(db, t.id, "bob")
    with pytest.raises(handoff.Forbidden):
        handoff.resolve(db, t.id, "bob")
    with pytest.raises(handoff.NotFound):
        handoff.claim(db, 999, "ann")


def test_concurrent_claims_have_exactly_one_winner(tmp_path, db):
    t = handoff.create_ticket(db, "c1", reason="learner_asked")
    results: list[str] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        conn = open_db(tmp_path / "hub.db")  # separate connections, like separate processes
        barrier.wait()
        try:
            handoff.claim(conn, t.id, f"agent{i}")
            results.append("won")
        except handoff.Conflict:
            results.append("lost")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == ["lost"] * 7 + ["won"]


def test_queue_orders_by_priority_then_sla(db):
    low = handoff.create_ticket(db, "c1", reason="x", intent="certificate_request", now=1000)
    high = handoff.create_ticket(db, "c2", reason="x", intent="complaint", now=2000)
    normal_old = handoff.create_ticket(db, "c3", reason="x", intent="login_problem", now=500)
    assert [t.id for t in handoff.queue(db)] == [high.id, normal_old.id, low.id]
    assert [t.id for t in handoff.queue(db, teams=["tech"])] == [normal_old.id]


def test_transfer_requeues_for_another_team(db):
    t = handoff.create_ticket(db, "c1", reason="x", intent="login_problem")
    handoff.claim(db, t.id, "ann")
    t = handoff.transfer(db, t.id, "ann", "billing")
    assert (t.status, t.team, t.claimed_by) == ("queued", "billing", None)
    with pytest.raises(handoff.NotFound):
        handoff.transfer(db, t.id, "ann", "nowhere")


def test_cancel_returns_to_bot_and_rating_needs_resolution(db):
    t = handoff.create_ticket(db, "c1", reason="x")
    with pytest.raises(handoff.Conflict):
        handoff.rate(db, t.id, 4)
    assert handoff.cancel(db, "c1").status == "cancelled"
    assert handoff.open_ticket(db, "c1") is None


def test_sla_runs_only_in_business_hours():
    hours = handoff.BusinessHours(tz="Asia/Shanghai")
    # 20:50 Beijing on a Wednesday, 60 business minutes: 10 tonight, 50 tomorrow from 09:00
    start = datetime(2026, 11, 25, 12, 50, tzinfo=UTC)
    due = hours.add(start, 60)
    assert due == datetime(2026, 11, 26, 1, 50, tzinfo=UTC)  # 09:50 Beijing
    assert hours.elapsed(start, due) == pytest.approx(60)
    assert not hours.is_open(datetime(2026, 11, 25, 14, 0, tzinfo=UTC))  # 22:00 Beijing
    weekdays = handoff.BusinessHours(days=frozenset(range(5)))
    friday_evening = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)  # Fri 20:30 Beijing
    assert weekdays.add(friday_evening, 60) == datetime(2026, 11, 30, 1, 30, tzinfo=UTC)


def test_routing_table():
    assert handoff.route("complaint") == ("care", "high")
    assert handoff.route("privacy_request") == ("compliance", "normal")
    assert handoff.route(None, "assistant_unavailable") == ("general", "high")
    assert handoff.team_name("billing", "zh") == "财务与退款组"
