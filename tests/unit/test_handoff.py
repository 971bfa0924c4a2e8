"""Tickets: the state machine, atomic state changes across connections (SQLite and
PostgreSQL), routing, SLA clocks."""

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

import pytest
import sqlalchemy as sa

import handoff
from bot.db import Database
from handoff.tables import ticket_events, tickets


@pytest.fixture
def conn(any_database: Database):
    """One unit of work on a migrated hub database, once per engine."""
    with any_database.write() as conn:
        yield conn


def test_ticket_life_cycle(conn):
    t = handoff.create_ticket(conn, "c1", reason="learner_asked", intent="refund_request")
    assert (t.status, t.team, t.priority) == ("queued", "billing", "normal")
    assert handoff.open_ticket(conn, "c1").id == t.id
    t = handoff.claim(conn, t.id, "ann")
    assert t.status == "claimed" and t.claimed_by == "ann"
    t = handoff.record_agent_reply(conn, t.id, "ann", now=t.created_at + 30)
    assert (t.first_response_at, t.first_response_by) == (t.created_at + 30, "ann")
    t = handoff.resolve(conn, t.id, "ann", note="refunded")
    assert t.status == "resolved" and handoff.open_ticket(conn, "c1") is None
    assert handoff.rate(conn, t.id, 5, "great").csat == 5


def test_create_is_idempotent_and_escalates(conn):
    a = handoff.create_ticket(conn, "c1", reason="bot_could_not_answer")
    b = handoff.create_ticket(conn, "c1", reason="learner_asked", intent="complaint")
    assert a.id == b.id and b.priority == "high"
    assert len(handoff.queue(conn)) == 1


def test_second_claim_conflicts_and_only_owner_acts(conn):
    t = handoff.create_ticket(conn, "c1", reason="learner_asked")
    handoff.claim(conn, t.id, "ann")
    with pytest.raises(handoff.Conflict):
        handoff.claim(conn, t.id, "bob")
    with pytest.raises(handoff.Forbidden):
        handoff.record_agent_reply(conn, t.id, "bob")
    with pytest.raises(handoff.Forbidden):
        handoff.resolve(conn, t.id, "bob")
    with pytest.raises(handoff.NotFound):
        handoff.claim(conn, 999, "ann")


def test_concurrent_claims_have_exactly_one_winner(any_database):
    with any_database.write() as conn:
        t = handoff.create_ticket(conn, "c1", reason="learner_asked")
    results = race(any_database, *(claimer(t.id, f"agent{i}") for i in range(8)))
    assert sorted(map(outcome, results)) == ["Conflict"] * 7 + ["ok"]


def test_queue_orders_by_priority_then_sla(conn):
    low = handoff.create_ticket(conn, "c1", reason="x", intent="certificate_request", now=1000)
    high = handoff.create_ticket(conn, "c2", reason="x", intent="complaint", now=2000)
    normal_old = handoff.create_ticket(conn, "c3", reason="x", intent="login_problem", now=500)
    assert [t.id for t in handoff.queue(conn)] == [high.id, normal_old.id, low.id]
    assert [t.id for t in handoff.queue(conn, teams=["tech"])] == [normal_old.id]


def test_transfer_requeues_for_another_team(conn):
    t = handoff.create_ticket(conn, "c1", reason="x", intent="login_problem")
    handoff.claim(conn, t.id, "ann")
    t = handoff.transfer(conn, t.id, "ann", "billing")
    assert (t.status, t.team, t.claimed_by) == ("queued", "billing", None)
    with pytest.raises(handoff.NotFound):
        handoff.transfer(conn, t.id, "ann", "nowhere")


def test_cancel_returns_to_bot_and_rating_needs_resolution(conn):
    t = handoff.create_ticket(conn, "c1", reason="x")
    with pytest.raises(handoff.Conflict):
        handoff.rate(conn, t.id, 4)
    assert handoff.cancel(conn, "c1").status == "cancelled"
    assert handoff.open_ticket(conn, "c1") is None


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


def test_claim_checks_the_team_and_managers_claim_any(conn):
    t = handoff.create_ticket(conn, "c1", reason="x", intent="complaint")  # care
    with pytest.raises(handoff.Forbidden, match="not in .*不在该组"):
        handoff.claim(conn, t.id, "bill", teams=["billing"])
    assert handoff.get_ticket(conn, t.id).status == "queued"
    assert handoff.claim(conn, t.id, "ann", teams=["care", "billing"]).claimed_by == "ann"
    u = handoff.create_ticket(conn, "c2", reason="x", intent="complaint")
    assert handoff.claim(conn, u.id, "mia", teams=None).claimed_by == "mia"  # a manager


def test_release_puts_the_ticket_back_in_its_own_queue(conn):
    t = handoff.create_ticket(conn, "c1", reason="x", intent="refund_request", now=1000)
    handoff.claim(conn, t.id, "bill", now=1100)
    with pytest.raises(handoff.Forbidden):
        handoff.release(conn, t.id, "ann")  # not hers
    t = handoff.release(conn, t.id, "bill", note="off shift", now=1200)
    assert (t.status, t.team, t.claimed_by) == ("queued", "billing", None)
    assert handoff.claim(conn, t.id, "bob", teams=["billing"]).claimed_by == "bob"
    # a manager releases a ticket someone else holds
    t = handoff.release(conn, t.id, "mia", note="Bob is away", override=True)
    assert t.status == "queued"
    notes = handoff.handover_notes(conn, t.id)
    assert [(n["kind"], n["actor"], n["note"]) for n in notes] == [
        ("released", "bill", "off shift"),
        ("released", "mia", "Bob is away"),
    ]
    with pytest.raises(handoff.Conflict):
        handoff.release(conn, t.id, "mia", override=True)  # queued: nothing to release


def test_manager_reassigns_a_claimed_ticket(conn):
    t = handoff.create_ticket(conn, "c1", reason="x")
    handoff.claim(conn, t.id, "ann")
    handoff.record_agent_reply(conn, t.id, "ann")
    t = handoff.reassign(conn, t.id, "mia", "bob", note="Ann is ill")
    assert (t.status, t.claimed_by, t.first_response_by) == ("claimed", "bob", "ann")
    handoff.record_agent_reply(conn, t.id, "bob")
    with pytest.raises(handoff.Forbidden):
        handoff.record_agent_reply(conn, t.id, "ann")
    (note,) = handoff.handover_notes(conn, t.id)
    assert (note["kind"], note["actor"], note["from"], note["to"]) == (
        "reassigned",
        "mia",
        "ann",
        "bob",
    )


def test_claiming_or_answering_a_case_makes_it_a_chat(conn):
    t = handoff.create_ticket(conn, "c1", reason="complaint", channel="case")
    assert handoff.human_mode(conn, "c1") is None
    handoff.claim(conn, t.id, "ann")
    assert handoff.human_mode(conn, "c1").id == t.id  # the learner's answers reach Ann
    # a case claimed before this fix, then answered
    u = handoff.create_ticket(conn, "c2", reason="complaint", channel="case")
    conn.execute(
        sa.update(tickets).where(tickets.c.id == u.id).values(status="claimed", claimed_by="ann")
    )
    handoff.record_agent_reply(conn, u.id, "ann")
    assert handoff.human_mode(conn, "c2").id == u.id


def test_transfer_gives_a_fresh_queue_deadline_and_keeps_the_first_response_sla(conn):
    hours = handoff.BusinessHours(days=frozenset(range(7)), opens=time(0), closes=time(23, 59))
    created = datetime(2026, 11, 25, 2, 0, tzinfo=UTC).timestamp()  # 10:00 Beijing
    t = handoff.create_ticket(conn, "c1", reason="x", intent="complaint", hours=hours, now=created)
    assert t.queue_due_at == t.sla_due_at == created + 15 * 60  # high: 15 minutes
    handoff.claim(conn, t.id, "ann", now=created + 60)
    later = created + 40 * 60  # past the first-response SLA, nobody answered
    t = handoff.transfer(conn, t.id, "ann", "billing", note="refund", hours=hours, now=later)
    assert t.sla_due_at == created + 15 * 60  # still breached: a transfer does not erase it
    assert t.queue_due_at == later + 15 * 60  # the billing queue has its own 15 minutes
    assert handoff.handover_notes(conn, t.id)[0]["note"] == "refund"


def test_queue_puts_waiting_tickets_before_claimed_ones(conn):
    high = handoff.create_ticket(conn, "c1", reason="x", intent="complaint", now=1000)
    normal = handoff.create_ticket(conn, "c2", reason="x", intent="login_problem", now=2000)
    handoff.claim(conn, high.id, "ann")
    assert [t.id for t in handoff.queue(conn)] == [normal.id, high.id]


def test_learner_may_leave_a_claimed_chat_and_rates_once(conn):
    t = handoff.create_ticket(conn, "c1", reason="x")
    handoff.claim(conn, t.id, "ann")
    assert handoff.cancel(conn, "c1").status == "cancelled"
    assert handoff.human_mode(conn, "c1") is None
    (detail,) = conn.execute(
        sa.select(ticket_events.c.detail).where(
            ticket_events.c.ticket_id == t.id, ticket_events.c.kind == "cancelled"
        )
    ).scalars()
    assert detail == "ann"
    u = handoff.create_ticket(conn, "c2", reason="x")
    handoff.claim(conn, u.id, "ann")
    handoff.resolve(conn, u.id, "ann")
    assert handoff.rate(conn, u.id, 4, "quick").csat == 4
    with pytest.raises(handoff.AlreadyRated):
        handoff.rate(conn, u.id, 1)
    assert (handoff.get_ticket(conn, u.id).csat, handoff.get_ticket(conn, u.id).csat_comment) == (
        4,
        "quick",
    )


def test_leaving_the_chat_keeps_the_teams_work_and_cancels_the_rest(conn):
    # a refused refund's billing review is owed whether or not the learner waits in the chat
    review = handoff.create_ticket(
        conn, "c1", reason="refund_ineligible", intent="refund_request", order_id="O1"
    )
    handoff.claim(conn, review.id, "bill")
    kept = handoff.leave_chat(conn, "c1")
    assert (kept.id, kept.status, kept.channel, kept.claimed_by) == (
        review.id,
        "claimed",
        "case",
        "bill",
    )
    assert handoff.human_mode(conn, "c1") is None  # the bot talks again
    assert [t.id for t in handoff.tickets_for(conn, ["c1"], "refund_ineligible")] == [review.id]
    # a complaint the learner asked to discuss goes back to being a queued case
    handoff.create_ticket(conn, "c2", reason="complaint", intent="complaint", channel="case")
    handoff.create_ticket(conn, "c2", reason="learner_asked")  # the case becomes a chat
    assert handoff.leave_chat(conn, "c2").status == "queued"
    assert handoff.open_ticket(conn, "c2").channel == "case"
    # only wanting a person is withdrawn
    handoff.create_ticket(conn, "c3", reason="learner_asked", intent="refund_request")
    assert handoff.leave_chat(conn, "c3").status == "cancelled"
    assert handoff.open_ticket(conn, "c3") is None
    assert handoff.leave_chat(conn, "c3") is None


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
    with rt.db.read() as conn:
        ticket = handoff.open_ticket(conn, "c_f")
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


def test_reassigning_needs_an_agent_of_the_tickets_team(conn):
    t = handoff.create_ticket(conn, "c1", reason="learner_asked", intent="login_problem")
    handoff.claim(conn, t.id, "ann")
    with pytest.raises(handoff.Conflict, match="not in the Technical support team"):
        handoff.reassign(conn, t.id, "mia", "bill", to_teams=["billing"])
    assert handoff.get_ticket(conn, t.id).claimed_by == "ann"
    assert handoff.reassign(conn, t.id, "mia", "tess", to_teams=["tech"]).claimed_by == "tess"
    assert handoff.reassign(conn, t.id, "mia", "mia", to_teams=None).claimed_by == "mia"


# ---- acting at once: every state change is one conditional update ----------------------
# Each race runs its actions in threads, each in its own write unit of work (its own pooled
# connection), let go together by a barrier just before their transactions begin. On SQLite
# the writers then queue for the write lock; on PostgreSQL they really overlap, so a
# read-then-write state change lets both win there.
ROUNDS = 3


def race(database: Database, *actions: Callable[[Any], Any]) -> list[Any]:
    """What each action(conn) returned, or the exception it raised, in order."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(i: int, action: Callable[[Any], Any]) -> None:
        barrier.wait(timeout=60)
        try:
            with database.write() as conn:
                results[i] = action(conn)
        except Exception as e:  # the outcome under test
            results[i] = e

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads)
    return results


def outcome(result: Any) -> str:
    return type(result).__name__ if isinstance(result, Exception) else "ok"


def claimer(ticket_id: int, agent: str) -> Callable[[Any], Any]:
    return lambda conn: handoff.claim(conn, ticket_id, agent)


def claimed(database: Database, conversation: str, agent: str = "ann", **kw: Any) -> int:
    with database.write() as conn:
        t = handoff.create_ticket(conn, conversation, **{"reason": "learner_asked", **kw})
        return handoff.claim(conn, t.id, agent).id


def current(database: Database, ticket_id: int) -> handoff.Ticket:
    with database.read() as conn:
        return handoff.get_ticket(conn, ticket_id)


def kinds(database: Database, ticket_id: int) -> list[str]:
    with database.read() as conn:
        return list(
            conn.execute(
                sa.select(ticket_events.c.kind)
                .where(ticket_events.c.ticket_id == ticket_id)
                .order_by(ticket_events.c.id)
            ).scalars()
        )


def test_resolving_twice_or_while_a_manager_releases_has_one_winner(any_database):
    for n in range(ROUNDS):
        tid = claimed(any_database, f"twice{n}")
        results = race(
            any_database,
            lambda conn, tid=tid: handoff.resolve(conn, tid, "ann", note="done"),
            lambda conn, tid=tid: handoff.resolve(conn, tid, "ann", note="done"),
        )
        assert sorted(map(outcome, results)) == ["Conflict", "ok"]
        assert kinds(any_database, tid).count("resolved") == 1

        tid = claimed(any_database, f"c{n}")
        resolved, released = race(
            any_database,
            lambda conn, tid=tid: handoff.resolve(conn, tid, "ann", note="done"),
            lambda conn, tid=tid: handoff.release(conn, tid, "mia", "Ann is away", override=True),
        )
        assert sorted([outcome(resolved), outcome(released)]) == ["Conflict", "ok"]
        ticket = current(any_database, tid)
        assert ticket.status == ("resolved" if outcome(resolved) == "ok" else "queued")
        events = kinds(any_database, tid)
        assert events.count("resolved") + events.count("released") == 1
        loser = released if outcome(resolved) == "ok" else resolved
        assert "not claimed" in str(loser) and "不在接入状态" in str(loser)


def test_two_transfers_at_once_have_one_winner(any_database):
    for n in range(ROUNDS):
        tid = claimed(any_database, f"c{n}", intent="login_problem")
        to_billing, to_care = race(
            any_database,
            lambda conn, tid=tid: handoff.transfer(conn, tid, "ann", "billing", note="refund"),
            lambda conn, tid=tid: handoff.transfer(conn, tid, "mia", "care", override=True),
        )
        assert sorted([outcome(to_billing), outcome(to_care)]) == ["Conflict", "ok"]
        ticket = current(any_database, tid)
        assert (ticket.status, ticket.claimed_by) == ("queued", None)
        assert ticket.team == ("billing" if outcome(to_billing) == "ok" else "care")
        assert kinds(any_database, tid).count("transferred") == 1


def test_two_releases_at_once_have_one_winner(any_database):
    for n in range(ROUNDS):
        tid = claimed(any_database, f"c{n}")
        results = race(
            any_database,
            lambda conn, tid=tid: handoff.release(conn, tid, "ann", note="off shift"),
            lambda conn, tid=tid: handoff.release(conn, tid, "mia", "Ann is away", override=True),
        )
        assert sorted(map(outcome, results)) == ["Conflict", "ok"]
        assert current(any_database, tid).status == "queued"
        with any_database.read() as conn:
            (note,) = handoff.handover_notes(conn, tid)
        assert note["from"] == "ann"


def test_two_managers_reassigning_at_once_have_one_winner(any_database):
    for n in range(ROUNDS):
        # both give Ann's ticket to Bob: one reassignment, one Conflict
        tid = claimed(any_database, f"same{n}")
        results = race(
            any_database,
            lambda conn, tid=tid: handoff.reassign(conn, tid, "mia", "bob"),
            lambda conn, tid=tid: handoff.reassign(conn, tid, "max", "bob"),
        )
        assert sorted(map(outcome, results)) == ["Conflict", "ok"]
        assert current(any_database, tid).claimed_by == "bob"
        assert kinds(any_database, tid).count("reassigned") == 1

        # to two agents: overlapping, one wins; one after the other, both apply in turn,
        # and each reassignment moves the ticket from the owner it really had
        tid = claimed(any_database, f"c{n}")
        to_bob, to_cleo = race(
            any_database,
            lambda conn, tid=tid: handoff.reassign(conn, tid, "mia", "bob"),
            lambda conn, tid=tid: handoff.reassign(conn, tid, "max", "cleo"),
        )
        with any_database.read() as conn:
            moves = [(m["from"], m["to"]) for m in handoff.handover_notes(conn, tid)]
        if sorted([outcome(to_bob), outcome(to_cleo)]) == ["Conflict", "ok"]:
            winner = "bob" if outcome(to_bob) == "ok" else "cleo"
            assert moves == [("ann", winner)]
            assert "changed while you acted" in str(to_cleo if winner == "bob" else to_bob)
        else:
            assert [outcome(to_bob), outcome(to_cleo)] == ["ok", "ok"]
            assert moves in ([("ann", "bob"), ("bob", "cleo")], [("ann", "cleo"), ("cleo", "bob")])
        assert current(any_database, tid).claimed_by == moves[-1][1]


def test_cancelling_twice_or_while_the_agent_resolves_has_one_winner(any_database):
    for n in range(ROUNDS):
        # the learner's two tabs: one withdraws the request, the other finds nothing open
        tid = claimed(any_database, f"tabs{n}")
        results = race(
            any_database,
            lambda conn, n=n: handoff.cancel(conn, f"tabs{n}"),
            lambda conn, n=n: handoff.cancel(conn, f"tabs{n}"),
        )
        assert sorted(r is None for r in results) == [False, True]
        (cancelled,) = [r for r in results if r is not None]
        assert (cancelled.id, cancelled.status, cancelled.claimed_by) == (tid, "cancelled", "ann")
        assert kinds(any_database, tid).count("cancelled") == 1

        # the learner goes back to the bot while Ann resolves: one of the two happens
        tid = claimed(any_database, f"c{n}")
        withdrawn, resolved = race(
            any_database,
            lambda conn, n=n: handoff.cancel(conn, f"c{n}"),
            lambda conn, tid=tid: handoff.resolve(conn, tid, "ann"),
        )
        if outcome(resolved) == "ok":
            assert withdrawn is None and current(any_database, tid).status == "resolved"
        else:
            assert isinstance(resolved, handoff.Conflict) and withdrawn.status == "cancelled"
        events = kinds(any_database, tid)
        assert events.count("cancelled") + events.count("resolved") == 1


def test_leaving_the_chat_twice_at_once_leaves_it_once(any_database):
    for n in range(ROUNDS):
        # a team's work stays a case: both tabs get the case, one left_chat event
        tid = claimed(any_database, f"review{n}", "bill", reason="refund_ineligible")
        results = race(
            any_database,
            lambda conn, n=n: handoff.leave_chat(conn, f"review{n}"),
            lambda conn, n=n: handoff.leave_chat(conn, f"review{n}"),
        )
        assert [(r.id, r.status, r.channel, r.claimed_by) for r in results] == [
            (tid, "claimed", "case", "bill")
        ] * 2
        assert kinds(any_database, tid).count("left_chat") == 1
        # anything else is cancelled once; the other tab finds nothing open
        tid = claimed(any_database, f"asked{n}")
        results = race(
            any_database,
            lambda conn, n=n: handoff.leave_chat(conn, f"asked{n}"),
            lambda conn, n=n: handoff.leave_chat(conn, f"asked{n}"),
        )
        assert sorted(r is None for r in results) == [False, True]
        assert kinds(any_database, tid).count("cancelled") == 1


def test_two_replies_at_once_stamp_the_first_response_once(any_database):
    for n in range(ROUNDS):
        with any_database.write() as conn:
            t = handoff.create_ticket(conn, f"c{n}", reason="complaint", channel="case")
            conn.execute(  # a case claimed before claiming made it a chat
                sa.update(tickets)
                .where(tickets.c.id == t.id)
                .values(status="claimed", claimed_by="ann")
            )
        results = race(
            any_database,
            lambda conn, tid=t.id: handoff.record_agent_reply(conn, tid, "ann", now=1000.0),
            lambda conn, tid=t.id: handoff.record_agent_reply(conn, tid, "ann", now=1001.0),
        )
        assert list(map(outcome, results)) == ["ok", "ok"]
        ticket = current(any_database, t.id)
        assert ticket.first_response_by == "ann" and ticket.first_response_at in (1000, 1001)
        assert ticket.channel == "chat"
        events = kinds(any_database, t.id)
        assert (events.count("first_response"), events.count("updated")) == (1, 1)


def test_a_reply_to_a_ticket_released_at_the_same_moment_is_refused_or_first(any_database):
    for n in range(ROUNDS):
        tid = claimed(any_database, f"c{n}")
        replied, released = race(
            any_database,
            lambda conn, tid=tid: handoff.record_agent_reply(conn, tid, "ann"),
            lambda conn, tid=tid: handoff.release(conn, tid, "mia", override=True),
        )
        assert outcome(released) == "ok"  # releasing never waits on a reply's outcome
        events = kinds(any_database, tid)
        if outcome(replied) == "ok":  # the reply came first: it is on the record before it
            assert events.index("first_response") < events.index("released")
        else:
            assert isinstance(replied, handoff.Conflict) and "first_response" not in events


def test_two_ratings_at_once_rate_once(any_database):
    for n in range(ROUNDS):
        tid = claimed(any_database, f"c{n}")
        with any_database.write() as conn:
            handoff.resolve(conn, tid, "ann")
        results = race(
            any_database,
            lambda conn, tid=tid: handoff.rate(conn, tid, 5, "great"),
            lambda conn, tid=tid: handoff.rate(conn, tid, 1, "bad"),
        )
        assert sorted(map(outcome, results)) == ["AlreadyRated", "ok"]
        (rated,) = [r for r in results if outcome(r) == "ok"]
        assert current(any_database, tid).csat == rated.csat


def test_requests_for_a_person_at_once_open_one_ticket(any_database):
    for n in range(ROUNDS):
        cid = f"c{n}"
        results = race(
            any_database,
            *(
                lambda conn, i=i, cid=cid: handoff.create_ticket(
                    conn, cid, reason="learner_asked", summary=f"ask {i}"
                )
                for i in range(4)
            ),
        )
        assert list(map(outcome, results)) == ["ok"] * 4
        assert len({t.id for t in results}) == 1
        with any_database.read() as conn:
            rows = conn.execute(
                sa.select(tickets.c.id, tickets.c.summary).where(tickets.c.conversation_id == cid)
            ).all()
        ((tid, summary),) = rows
        assert sorted(summary.split("\n")) == [f"ask {i}" for i in range(4)]  # none lost
        assert kinds(any_database, tid).count("created") == 1


def test_a_ticket_resolved_while_a_person_is_asked_for_is_not_reopened(any_database):
    for n in range(ROUNDS):
        cid = f"c{n}"
        tid = claimed(any_database, cid)
        resolved, asked = race(
            any_database,
            lambda conn, tid=tid: handoff.resolve(conn, tid, "ann"),
            lambda conn, cid=cid: handoff.create_ticket(conn, cid, reason="learner_asked"),
        )
        assert outcome(resolved) == "ok" and current(any_database, tid).status == "resolved"
        # either the request came first (reused, then resolved) or it queued a new ticket
        assert asked.id == tid or (asked.id != tid and asked.status == "queued")
        with any_database.read() as conn:
            still_open = handoff.open_ticket(conn, cid)
        assert still_open is None if asked.id == tid else still_open.id == asked.id


def test_sixteen_agents_claiming_fifty_tickets_never_claim_one_twice(any_database):
    with any_database.write() as conn:
        ids = [handoff.create_ticket(conn, f"c{i}", reason="learner_asked").id for i in range(50)]
    agents = [f"agent{i}" for i in range(16)]
    won: dict[str, list[int]] = {a: [] for a in agents}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(agents))

    def work(agent: str, seed: int) -> None:
        order = ids[:]
        random.Random(seed).shuffle(order)
        barrier.wait(timeout=60)
        for tid in order:
            try:
                with any_database.write() as conn:
                    handoff.claim(conn, tid, agent)
                won[agent].append(tid)
            except handoff.Conflict:
                pass
            except BaseException as e:  # anything else fails the test
                errors.append(e)

    threads = [threading.Thread(target=work, args=(a, i)) for i, a in enumerate(agents)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    assert errors == []
    assert sorted(tid for tids in won.values() for tid in tids) == sorted(ids)  # once each
    with any_database.read() as conn:
        holders = dict(conn.execute(sa.select(tickets.c.id, tickets.c.claimed_by)).all())
        claims = conn.execute(
            sa.select(ticket_events.c.ticket_id, sa.func.count())
            .where(ticket_events.c.kind == "claimed")
            .group_by(ticket_events.c.ticket_id)
        ).all()
    assert {tid: holders[tid] for tids in won.values() for tid in tids} == {
        tid: agent for agent, tids in won.items() for tid in tids
    }
    assert sorted(claims) == [(tid, 1) for tid in sorted(ids)]
