"""Tickets: the state machine, atomic claims across connections, routing, SLA clocks."""

import threading
from datetime import UTC, datetime, time

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


def test_claim_checks_the_team_and_managers_claim_any(db):
    t = handoff.create_ticket(db, "c1", reason="x", intent="complaint")  # care
    with pytest.raises(handoff.Forbidden, match="not in .*不在该组"):
        handoff.claim(db, t.id, "bill", teams=["billing"])
    assert handoff.get_ticket(db, t.id).status == "queued"
    assert handoff.claim(db, t.id, "ann", teams=["care", "billing"]).claimed_by == "ann"
    u = handoff.create_ticket(db, "c2", reason="x", intent="complaint")
    assert handoff.claim(db, u.id, "mia", teams=None).claimed_by == "mia"  # a manager


def test_release_puts_the_ticket_back_in_its_own_queue(db):
    t = handoff.create_ticket(db, "c1", reason="x", intent="refund_request", now=1000)
    handoff.claim(db, t.id, "bill", now=1100)
    with pytest.raises(handoff.Forbidden):
        handoff.release(db, t.id, "ann")  # not hers
    t = handoff.release(db, t.id, "bill", note="off shift", now=1200)
    assert (t.status, t.team, t.claimed_by) == ("queued", "billing", None)
    assert handoff.claim(db, t.id, "bob", teams=["billing"]).claimed_by == "bob"
    # a manager releases a ticket someone else holds
    t = handoff.release(db, t.id, "mia", note="Bob is away", override=True)
    assert t.status == "queued"
    notes = handoff.handover_notes(db, t.id)
    assert [(n["kind"], n["actor"], n["note"]) for n in notes] == [
        ("released", "bill", "off shift"),
        ("released", "mia", "Bob is away"),
    ]
    with pytest.raises(handoff.Conflict):
        handoff.release(db, t.id, "mia", override=True)  # queued: nothing to release


def test_manager_reassigns_a_claimed_ticket(db):
    t = handoff.create_ticket(db, "c1", reason="x")
    handoff.claim(db, t.id, "ann")
    handoff.record_agent_reply(db, t.id, "ann")
    t = handoff.reassign(db, t.id, "mia", "bob", note="Ann is ill")
    assert (t.status, t.claimed_by, t.first_response_by) == ("claimed", "bob", "ann")
    handoff.record_agent_reply(db, t.id, "bob")
    with pytest.raises(handoff.Forbidden):
        handoff.record_agent_reply(db, t.id, "ann")
    (note,) = handoff.handover_notes(db, t.id)
    assert (note["kind"], note["actor"], note["from"], note["to"]) == (
        "reassigned",
        "mia",
        "ann",
        "bob",
    )


def test_claiming_or_answering_a_case_makes_it_a_chat(db):
    t = handoff.create_ticket(db, "c1", reason="complaint", channel="case")
    assert handoff.human_mode(db, "c1") is None
    handoff.claim(db, t.id, "ann")
    assert handoff.human_mode(db, "c1").id == t.id  # the learner's answers reach Ann
    # a case claimed before this fix, then answered
    u = handoff.create_ticket(db, "c2", reason="complaint", channel="case")
    db["tickets"].update(u.id, {"status": "claimed", "claimed_by": "ann"})
    handoff.record_agent_reply(db, u.id, "ann")
    assert handoff.human_mode(db, "c2").id == u.id


def test_transfer_gives_a_fresh_queue_deadline_and_keeps_the_first_response_sla(db):
    hours = handoff.BusinessHours(days=frozenset(range(7)), opens=time(0), closes=time(23, 59))
    created = datetime(2026, 11, 25, 2, 0, tzinfo=UTC).timestamp()  # 10:00 Beijing
    t = handoff.create_ticket(db, "c1", reason="x", intent="complaint", hours=hours, now=created)
    assert t.queue_due_at == t.sla_due_at == created + 15 * 60  # high: 15 minutes
    handoff.claim(db, t.id, "ann", now=created + 60)
    later = created + 40 * 60  # past the first-response SLA, nobody answered
    t = handoff.transfer(db, t.id, "ann", "billing", note="refund", hours=hours, now=later)
    assert t.sla_due_at == created + 15 * 60  # still breached: a transfer does not erase it
    assert t.queue_due_at == later + 15 * 60  # the billing queue has its own 15 minutes
    assert handoff.handover_notes(db, t.id)[0]["note"] == "refund"


def test_queue_puts_waiting_tickets_before_claimed_ones(db):
    high = handoff.create_ticket(db, "c1", reason="x", intent="complaint", now=1000)
    normal = handoff.create_ticket(db, "c2", reason="x", intent="login_problem", now=2000)
    handoff.claim(db, high.id, "ann")
    assert [t.id for t in handoff.queue(db)] == [normal.id, high.id]


def test_learner_may_leave_a_claimed_chat_and_rates_once(db):
    t = handoff.create_ticket(db, "c1", reason="x")
    handoff.claim(db, t.id, "ann")
    assert handoff.cancel(db, "c1").status == "cancelled"
    assert handoff.human_mode(db, "c1") is None
    (event,) = db["ticket_events"].rows_where("ticket_id = ? AND kind = 'cancelled'", [t.id])
    assert event["detail"] == "ann"
    u = handoff.create_ticket(db, "c2", reason="x")
    handoff.claim(db, u.id, "ann")
    handoff.resolve(db, u.id, "ann")
    assert handoff.rate(db, u.id, 4, "quick").csat == 4
    with pytest.raises(handoff.AlreadyRated):
        handoff.rate(db, u.id, 1)
    assert (handoff.get_ticket(db, u.id).csat, handoff.get_ticket(db, u.id).csat_comment) == (
        4,
        "quick",
    )


def test_leaving_the_chat_keeps_the_teams_work_and_cancels_the_rest(db):
    # a refused refund's billing review is owed whether or not the learner waits in the chat
    review = handoff.create_ticket(
        db, "c1", reason="refund_ineligible", intent="refund_request", order_id="O1"
    )
    handoff.claim(db, review.id, "bill")
    kept = handoff.leave_chat(db, "c1")
    assert (kept.id, kept.status, kept.channel, kept.claimed_by) == (
        review.id,
        "claimed",
        "case",
        "bill",
    )
    assert handoff.human_mode(db, "c1") is None  # the bot talks again
    assert [t.id for t in handoff.tickets_for(db, ["c1"], "refund_ineligible")] == [review.id]
    # a complaint the learner asked to discuss goes back to being a queued case
    handoff.create_ticket(db, "c2", reason="complaint", intent="complaint", channel="case")
    handoff.create_ticket(db, "c2", reason="learner_asked")  # the case becomes a chat
    assert handoff.leave_chat(db, "c2").status == "queued"
    assert handoff.open_ticket(db, "c2").channel == "case"
    # only wanting a person is withdrawn
    handoff.create_ticket(db, "c3", reason="learner_asked", intent="refund_request")
    assert handoff.leave_chat(db, "c3").status == "cancelled"
    assert handoff.open_ticket(db, "c3") is None
    assert handoff.leave_chat(db, "c3") is None


@pytest.mark.parametrize(
    ("form", "opening", "team"),
    [("invoice_form", "invoice_request", "billing"), ("refund_form", "refund_request", "billing")],
)
def test_a_person_asked_for_in_a_form_is_from_the_forms_team(rt, form, opening, team):
    # the tester: 我要开发票 → tap "Python 入门实战 · ¥199 · …" → 人工 went to tech, because the
    # tapped order button read as playback_problem 0.24 and named the topic
    from actions.handoff import ActionHandoff
    from tests.unit.actionkit import make_tracker, run

    tapped = "Python 入门实战 · ¥199 · AC10010001"
    earlier = [
        {"event": "user", "text": "我要办这个", "parse_data": {"intent": {"name": opening}}},
        {"event": "active_loop", "name": form},
        {
            "event": "user",
            "text": tapped,
            "parse_data": {"intent": {"name": "playback_problem", "confidence": 0.24}},
            "metadata": {"option": True},
        },
    ]
    tracker = make_tracker("人工", "request_human", sender="c_f", lang="zh", events=earlier)
    tracker.active_loop = {"name": form}
    run(ActionHandoff(), tracker)
    ticket = handoff.open_ticket(rt.db, "c_f")
    assert (ticket.team, ticket.intent) == (team, opening)


def test_a_tapped_option_outside_a_form_names_no_topic(rt):
    from actions.context import topic_intent
    from tests.unit.actionkit import make_tracker

    earlier = [
        {"event": "user", "text": "发票", "parse_data": {"intent": {"name": "invoice_request"}}},
        {"event": "active_loop", "name": None},
        {
            "event": "user",
            "text": "数据分析从零到一",
            "parse_data": {"intent": {"name": "course_access"}},
            "metadata": {"option": True},
        },
    ]
    tracker = make_tracker("human", "request_human", events=earlier)
    assert topic_intent(tracker) == "invoice_request"


def test_every_form_has_its_topic():
    import yaml

    from actions.context import FORM_INTENT
    from bot.settings import ROOT

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert set(FORM_INTENT) == set(domain["forms"])
    assert set(FORM_INTENT.values()) <= set(domain["intents"])


def test_reassigning_needs_an_agent_of_the_tickets_team(db):
    t = handoff.create_ticket(db, "c1", reason="learner_asked", intent="login_problem")
    handoff.claim(db, t.id, "ann")
    with pytest.raises(handoff.Conflict, match="not in the Technical support team"):
        handoff.reassign(db, t.id, "mia", "bill", to_teams=["billing"])
    assert handoff.get_ticket(db, t.id).claimed_by == "ann"
    assert handoff.reassign(db, t.id, "mia", "tess", to_teams=["tech"]).claimed_by == "tess"
    assert handoff.reassign(db, t.id, "mia", "mia", to_teams=None).claimed_by == "mia"
