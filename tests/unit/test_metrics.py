"""The manager's indicators, each definition of bot/metrics/ checked against numbers worked
out by hand on a small real database, once on SQLite and once on PostgreSQL: the same SQL must
give the same numbers. Every clock is explicit (NOW, HOURS), so the results do not depend on
the hour the tests run at."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

import handoff
from bot import metrics
from bot.settings import ROOT
from bot.tables import alert_events, conversations, messages, refund_requests
from handoff import BusinessHours
from kb_index.tables import kb_gaps

SH = ZoneInfo("Asia/Shanghai")
HOURS = BusinessHours(tz="Asia/Shanghai")  # 09:00-21:00 every day
NOW = datetime(2024, 5, 15, 15, 0, tzinfo=SH).timestamp()  # a Wednesday, 15:00 Beijing
DAY = NOW - 24 * 3600


def at(hh: int, mm: int = 0, day: int = 15) -> float:
    return datetime(2024, 5, day, hh, mm, tzinfo=SH).timestamp()


@pytest.fixture
def conn(any_database):
    """One unit of work on a migrated hub database, once per engine."""
    with any_database.write() as conn:
        yield conn


_n = iter(range(10_000))


def conv(conn, started: float, *turns: tuple) -> str:
    """A conversation started at `started`; turns are (sender, at, intent) or
    ("gap", at, kind) for a KB gap the turn logged."""
    cid = f"c{next(_n)}"
    conn.execute(
        sa.insert(conversations).values(id=cid, learner_id="L1", lang="zh", created_at=started)
    )
    for sender, when, extra in turns:
        if sender == "gap":
            conn.execute(
                sa.insert(kb_gaps).values(
                    conversation_id=cid,
                    query="?",
                    lang="zh",
                    kind=extra,
                    hits="[]",
                    created_at=when,
                )
            )
        else:
            conn.execute(
                sa.insert(messages).values(
                    conversation_id=cid,
                    sender=sender,
                    text="…",
                    intent=extra,
                    payload="{}",
                    created_at=when,
                )
            )
    return cid


def ticket(conn, created: float, priority: str = "normal", **kw) -> int:
    cid = conv(conn, created, ("learner", created, None))
    return handoff.create_ticket(
        conn,
        cid,
        reason=kw.pop("reason", "learner_asked"),
        priority=priority,
        hours=HOURS,
        now=created,
        **kw,
    ).id


def answer(conn, tid: int, claimed: float, replied: float | None = None, agent: str = "ann"):
    handoff.claim(conn, tid, agent, now=claimed)
    if replied is not None:
        handoff.record_agent_reply(conn, tid, agent, now=replied)


def values(conn, since: float = DAY) -> dict:
    return metrics.indicators(conn, since=since, now=NOW, hours=HOURS)


def test_percentiles_median_and_nearest_rank():
    assert metrics.p50([4, 1]) == 2.5  # the mean of the two middle values, not the smaller
    assert metrics.p50([3, 1, 2]) == 2
    assert metrics.p90(list(range(1, 11))) == 9  # ceil(0.9 * 10) = 9th smallest
    assert metrics.p90([5, 90]) == 90
    assert metrics.p50([]) is None and metrics.p90([]) is None


def test_containment_counts_cases_and_conversations_that_ended_unanswered(conn):
    t = at(14)
    conv(conn, t, ("learner", t, "ask_question"), ("bot", t + 1, None))  # answered: contained
    # the bot's last reply was "no answer found" and the learner left: not contained
    conv(conn, t, ("learner", t, "ask_question"), ("gap", t + 1, "fallback"), ("bot", t + 2, None))
    # an early miss, then an answer: the last turn counts, contained
    conv(
        conn,
        t,
        ("learner", t, None),
        ("gap", t + 1, "fallback"),
        ("bot", t + 2, None),
        ("learner", t + 60, None),
        ("bot", t + 61, None),
    )
    case = conv(conn, t, ("learner", t, "complaint"), ("bot", t + 1, None))
    handoff.create_ticket(
        conn, case, reason="complaint", intent="complaint", channel="case", hours=HOURS, now=t + 1
    )  # a complaint case needs a person too
    chat = conv(conn, t, ("learner", t, "request_human"))
    handoff.create_ticket(conn, chat, reason="learner_asked", hours=HOURS, now=t + 1)
    conv(conn, t)  # opened, never written in: not a conversation yet
    old = conv(conn, DAY - 60, ("learner", DAY - 60, None))  # started before the window
    handoff.create_ticket(conn, old, reason="learner_asked", hours=HOURS, now=t)

    v = values(conn)
    assert (v["conversations"], v["handed_off"], v["ended_unanswered"]) == (5, 2, 1)
    assert v["containment"] == 0.4  # (5 - 2 - 1) / 5


def test_complaint_rate_counts_intents_and_complaint_tickets_of_its_own_cohort(conn):
    t = at(14)
    conv(conn, t, ("learner", t, "complaint"), ("learner", t + 5, "complaint"))  # once, not twice
    # "我要投诉，我要找人工" classed request_human; the complaint case still tells
    filed = conv(conn, t, ("learner", t, "request_human"))
    handoff.create_ticket(
        conn, filed, reason="complaint", intent="complaint", channel="case", hours=HOURS, now=t
    )
    conv(conn, t, ("learner", t, "greet"))
    # an invoice title typed at the form's question and classed complaint is no complaint
    invoice = conv(conn, t, ("learner", t, "invoice_request"), ("learner", t + 9, "complaint"))
    conn.execute(
        sa.update(messages)
        .where(messages.c.conversation_id == invoice, messages.c.intent == "complaint")
        .values(answers="invoice_title")
    )
    # started before the window: its complaint today belongs to no conversation of the cohort
    old = conv(conn, DAY - 60, ("learner", DAY - 60, None), ("learner", t, "complaint"))
    handoff.create_ticket(conn, old, reason="complaint", intent="complaint", hours=HOURS, now=t)

    v = values(conn)
    assert (v["conversations"], v["complaints"]) == (4, 2)
    assert v["complaint_rate"] == 0.5
    reasons = metrics.contact_reasons(conn, since=DAY, now=NOW)["intents"]
    assert {r["intent"]: r["raised"] for r in reasons}["complaint"] == 1  # the first one only
    # a tiny window (the report's 0.0086 h) once gave containment -1.0: rates stay in 0..1
    tiny = values(conn, since=NOW - 0.0086 * 3600)
    assert tiny["conversations"] == 0 and tiny["containment"] is None
    assert tiny["complaint_rate"] is None


def test_resolution_rate_is_over_closed_tickets(conn):
    for i in range(2):
        tid = ticket(conn, at(13, i))
        answer(conn, tid, at(13, 10), at(13, 20))
        handoff.resolve(conn, tid, "ann", now=at(13, 30))
    cancelled = ticket(conn, at(13, 5))
    handoff.cancel(conn, handoff.get_ticket(conn, cancelled).conversation_id, now=at(13, 6))
    ticket(conn, at(14, 50))  # just created: open, neither success nor failure
    answer(conn, ticket(conn, at(14, 40)), at(14, 45))

    v = values(conn)
    assert (v["tickets"], v["resolved"], v["closed"], v["open"]) == (5, 2, 3, 2)
    assert v["resolution_rate"] == 0.667  # 2 / 3, not 2 / 5


def test_sla_breach_rate_counts_only_due_tickets_and_times_are_business_minutes(conn):
    on_time = ticket(conn, at(13))  # normal priority: due 60 business minutes later, 14:00
    answer(conn, on_time, at(13, 10), at(13, 30))
    late = ticket(conn, at(13))
    answer(conn, late, at(14, 20), at(14, 30))  # answered after 14:00: breached
    ticket(conn, at(13, 50))  # due 14:50, nobody answered: breached
    claimed = ticket(conn, at(13, 55))  # claimed but not answered, due 14:55: breached too
    answer(conn, claimed, at(14, 0))
    ticket(conn, at(14, 30))  # due 15:30: not due yet, neither dilutes nor counts
    night = ticket(conn, at(22, 0, day=14))  # after hours: due 10:00 today
    answer(conn, night, at(9, 2), at(9, 5))  # 5 business minutes, not 11 hours
    quick = ticket(conn, at(14, 50))
    answer(conn, quick, at(14, 52), at(14, 55))

    v = values(conn)
    assert (v["tickets"], v["sla_due"], v["sla_breached"]) == (7, 6, 3)
    assert v["sla_breach_rate"] == 0.5
    # answered: 30, 90, 5, 5 business minutes
    assert v["responded"] == 4
    assert v["first_response_min_p50"] == 17.5  # (5 + 30) / 2
    assert v["first_response_min_p90"] == 90  # nearest rank: the 4th of 4


def test_resolution_times_are_business_minutes(conn):
    night = ticket(conn, at(20, 50, day=14))
    answer(conn, night, at(20, 55, day=14), at(20, 55, day=14))
    handoff.resolve(conn, night, "ann", now=at(9, 25))  # 10 min last night + 25 this morning
    day = ticket(conn, at(13))
    answer(conn, day, at(13, 5), at(13, 5))
    handoff.resolve(conn, day, "ann", now=at(14))

    v = values(conn)
    assert v["resolution_min_p50"] == 47.5 and v["resolution_min_p90"] == 60


def test_waiting_counts_unanswered_claimed_tickets_and_transfers_wait_since_the_transfer(conn):
    ticket(conn, at(14))  # queued: 60 min
    answer(conn, ticket(conn, at(13, 30)), at(14, 10))  # claimed, no reply yet: 90 min
    answer(conn, ticket(conn, at(13)), at(13, 5), at(13, 10))  # answered: not waiting
    moved = ticket(conn, at(12))
    answer(conn, moved, at(12, 5), at(12, 10))
    handoff.transfer(conn, moved, "ann", "tech", now=at(14, 40))  # back in a queue: 20 min
    ticket(conn, at(8), channel="case")  # a case: the learner is not waiting in the chat
    ticket(conn, at(8))  # filed before opening: 360 business minutes, not 420
    put_back = ticket(conn, at(11))
    answer(conn, put_back, at(11, 5), at(11, 10))
    handoff.release(conn, put_back, "ann", now=at(14, 50))  # released to its queue: 10 min

    v = values(conn)
    assert v["queue_waiting"] == 5
    assert v["queue_oldest_min"] == 360
    assert sorted(
        metrics.business_minutes(HOURS, s, NOW) for s in metrics.waiting_since(conn, NOW).values()
    ) == [10, 20, 60, 90, 360]


def test_per_agent_keeps_credit_across_a_transfer(conn):
    moved = ticket(conn, at(14))
    answer(conn, moved, at(14, 5), at(14, 10), agent="ann")  # ann answers after 10 min
    handoff.transfer(conn, moved, "ann", "tech", now=at(14, 20))
    answer(conn, moved, at(14, 30), at(14, 35), agent="bob")  # bob's reply is not the first
    handoff.resolve(conn, moved, "bob", now=at(14, 40))
    handoff.rate(conn, moved, 5, now=at(14, 45))
    own = ticket(conn, at(13))
    answer(conn, own, at(13, 10), at(13, 20), agent="ann")
    handoff.resolve(conn, own, "ann", now=at(13, 30))
    handoff.rate(conn, own, 3, now=at(13, 40))

    rows = {r["agent"]: r for r in metrics.per_agent(conn, since=DAY, now=NOW, hours=HOURS)}
    ann, bob = rows["ann"], rows["bob"]
    assert (ann["taken"], ann["resolved"], ann["first_response_min_p50"]) == (2, 1, 15)
    assert (ann["csat_avg"], ann["csat_responses"]) == (3, 1)
    assert (bob["taken"], bob["resolved"], bob["first_response_min_p50"]) == (1, 1, None)
    assert bob["csat_avg"] == 5
    assert [r["agent"] for r in metrics.per_agent(conn, DAY, NOW, HOURS)] == ["ann", "bob"]


def test_a_ticket_a_manager_reassigns_counts_as_taken_by_its_new_owner(conn):
    held = ticket(conn, at(14))
    handoff.claim(conn, held, "ann", now=at(14, 5))
    handoff.reassign(conn, held, "mia", "bob", now=at(14, 10))
    handoff.resolve(conn, held, "bob", now=at(14, 20))
    rows = {r["agent"]: r for r in metrics.per_agent(conn, since=DAY, now=NOW, hours=HOURS)}
    assert (rows["ann"]["taken"], rows["bob"]["taken"], rows["bob"]["resolved"]) == (1, 1, 1)


def test_csat_counts_ratings_given_in_the_window(conn):
    old = ticket(conn, DAY - 3600)  # created before the window, rated in it
    answer(conn, old, DAY - 3000, DAY - 3000)
    handoff.resolve(conn, old, "ann", now=DAY - 2000)
    handoff.rate(conn, old, 4, now=at(10))
    v = values(conn)
    assert (v["csat_responses"], v["csat_avg"], v["csat_satisfied_share"]) == (1, 4, 1.0)


def test_a_rules_min_sample_counts_its_own_basis(conn):
    for minute in range(5):  # five fresh tickets in the queue, not due yet
        ticket(conn, at(14, 50 + minute))
    slow = ticket(conn, at(13))
    answer(conn, slow, at(13, 40), at(13, 40))  # one slow answer: 40 min
    rules = metrics.load_rules(ROOT / "data" / "alerts.yml")
    v = values(conn)
    assert v["first_response_min_p90"] == 40 and v["responded"] == 1
    raised = {a["indicator"] for a in metrics.alerts(v, rules)}
    assert "first_response_min_p90" not in raised  # min_sample 3 answered tickets, not 6 tickets
    assert metrics.Rule("first_response_min_p90", ">", 15, min_sample=1).breached(v)
    assert metrics.Rule("sla_breach_rate", ">", 0, min_sample=1).basis == "sla_due"
    with pytest.raises(ValueError):
        metrics.Rule("no_such_indicator", ">", 1)


def test_alert_config_has_a_fixed_window_and_known_indicators():
    config = metrics.load_alerts(ROOT / "data" / "alerts.yml")
    assert config.window_h == 24 and config.rules
    assert all(r.indicator in metrics.BASIS for r in config.rules)


def test_a_cleared_alert_keeps_its_label_threshold_and_value(conn):
    config = metrics.AlertConfig(
        rules=[metrics.Rule("queue_waiting", ">", 0, label="Queue building up · 排队积压")]
    )
    tid = ticket(conn, at(14))
    v = values(conn)
    assert [c["state"] for c in metrics.record_changes(conn, v, config, NOW)] == ["raised"]
    assert metrics.record_changes(conn, v, config, NOW) == []  # no repeats
    handoff.cancel(conn, handoff.get_ticket(conn, tid).conversation_id, now=NOW)
    (cleared,) = metrics.record_changes(conn, values(conn), config, NOW + 60)
    assert cleared["state"] == "cleared" and cleared["label"] == "Queue building up · 排队积压"
    assert (cleared["value"], cleared["threshold"]) == (0, 0)
    # a row stored before cleared rows kept their label reads with the rule's label
    conn.execute(
        sa.insert(alert_events).values(
            indicator="queue_waiting", state="cleared", label="", at=NOW + 120
        )
    )
    newest, stored = metrics.history(conn, config, limit=2)
    assert newest["label"] == stored["label"] == "Queue building up · 排队积压"


# ---- trends, contact reasons, refunds ---------------------------------------------------
def test_trend_days_are_shorter_windows_that_add_up_to_the_window(conn):
    # 14 May 20:00, and one conversation exactly at midnight: it belongs to the 15th alone
    late = conv(conn, at(20, day=14), ("learner", at(20, day=14), "refund_request"))
    handoff.create_ticket(conn, late, reason="learner_asked", hours=HOURS, now=at(20, 30, day=14))
    conv(conn, at(0), ("learner", at(0), "ask_question"), ("bot", at(0, 1), None))
    t1 = ticket(conn, at(13))
    answer(conn, t1, at(13, 10), at(13, 20))
    handoff.resolve(conn, t1, "ann", now=at(13, 30))
    handoff.rate(conn, t1, 5, now=at(13, 40))

    rows = metrics.trend(conn, since=DAY, now=NOW, hours=HOURS)
    assert [(r["day"], r["partial"]) for r in rows] == [("2024-05-14", True), ("2024-05-15", True)]
    assert rows[0]["since"] == DAY and rows[0]["until"] == at(0) and rows[1]["until"] == NOW
    first, today = rows
    assert (first["conversations"], first["handed_off"], first["tickets"]) == (1, 1, 1)
    assert (today["conversations"], today["tickets"], today["resolved"]) == (2, 1, 1)
    assert today["containment"] == 0.5 and first["containment"] == 0.0
    assert (today["first_response_min_p50"], today["csat_avg"]) == (20, 5)
    assert first["csat_responses"] == 0 and first["csat_avg"] is None
    # the days' counts add up to the headline window's, computed by the same functions
    whole = values(conn)
    for key in ("conversations", "handed_off", "tickets", "resolved", "csat_responses"):
        assert sum(r[key] for r in rows) == whole[key], key
    assert "queue_waiting" not in today  # a now-only figure has no daily value


def test_trend_of_an_empty_window_has_a_row_per_day_and_no_rates(conn):
    rows = metrics.trend(conn, since=NOW - 7 * 24 * 3600, now=NOW, hours=HOURS)
    assert len(rows) == 8 and rows[0]["day"] == "2024-05-08" and rows[-1]["day"] == "2024-05-15"
    assert [r["partial"] for r in rows] == [True] + [False] * 6 + [True]
    assert all(r["conversations"] == 0 and r["containment"] is None for r in rows)
    assert all(r["resolution_rate"] is None and r["first_response_min_p50"] is None for r in rows)
    # a window that starts at a local midnight has no partial first day
    (only,) = metrics.trend(conn, since=at(0), now=NOW, hours=HOURS)
    assert only["partial"] is True and only["day"] == "2024-05-15"  # partial: it runs to now
    assert metrics.day_bounds(at(0, day=14), at(0), HOURS.tz) == [
        ("2024-05-14", at(0, day=14), at(0)),
        ("2024-05-15", at(0), None),
    ]


def message(conn, cid: str, when: float, intent: str | None, payload: str | None = None) -> None:
    """A learner message; `payload`: a button's (an intent's "/request_human", or a form
    option's plain value, which the hub marks `tapped`)."""
    conn.execute(
        sa.insert(messages).values(
            conversation_id=cid,
            sender="learner",
            text="…",
            intent=intent,
            payload=json.dumps({"payload": payload} if payload else {}, ensure_ascii=False),
            tapped=int(bool(payload) and not payload.startswith("/")),
            created_at=when,
        )
    )


def refund(
    conn,
    *,
    conversation_id: str,
    learner_id: str,
    outcome: str,
    now: float,
    amount: float = 0.0,
    reason: str = "",
    order_id: str | None = None,
    order_amount: float | None = None,
    refund_id: int | None = None,
) -> None:
    """One refund decision in the hub's log, as the refund flow records it (bot/refund_log)."""
    conn.execute(
        sa.insert(refund_requests).values(
            at=now,
            conversation_id=conversation_id,
            learner_id=learner_id,
            outcome=outcome,
            amount=amount,
            reason=reason,
            order_id=order_id,
            order_amount=order_amount,
            refund_id=None if refund_id is None else str(refund_id),
        )
    )


def test_contact_reasons_count_each_conversations_main_reason_once(conn):
    t = at(14)
    refund = conv(conn, t, ("learner", t, "greet"), ("learner", t + 5, "refund_request"))
    message(conn, refund, t + 9, "login_problem", payload="买错了")  # a tapped reason: no new need
    message(conn, refund, t + 20, "complaint")  # raised later: counted as raised, not main
    conv(conn, t, ("learner", t, "ask_question"))
    conv(conn, t, ("learner", t, "out_of_scope"), ("learner", t + 5, "request_human"))
    conv(conn, t, ("learner", t, "request_human"))
    conv(conn, t, ("learner", t, "greet"), ("learner", t + 1, "thank"))
    conv(conn, t, ("learner", t, None))  # Rasa was down: nothing classified
    asked = conv(conn, t, ("learner", t, "ask_question"))
    message(conn, asked, t + 5, "request_human", payload="/request_human")  # an intent button
    conv(conn, DAY - 60, ("learner", DAY - 60, "invoice_request"))  # before the window
    handoff.create_ticket(
        conn,
        refund,
        reason="complaint",
        intent="complaint",
        category="teacher",
        channel="case",
        hours=HOURS,
        now=t + 30,
    )
    old_case = conv(conn, t, ("learner", t, "complaint"))
    handoff.create_ticket(  # filed before complaints recorded their category
        conn, old_case, reason="complaint", intent="complaint", channel="case", hours=HOURS, now=t
    )
    billing = conv(conn, t, ("learner", t, "refund_request"))
    handoff.create_ticket(
        conn,
        billing,
        reason="refund_ineligible",
        intent="refund_request",
        category="too_late",
        hours=HOURS,
        now=t,
    )

    r = metrics.contact_reasons(conn, since=DAY, now=NOW)
    assert r["conversations"] == 9
    main = {row["intent"]: (row["count"], row["raised"]) for row in r["intents"]}
    assert main == {
        "refund_request": (2, 2),
        "ask_question": (2, 2),
        "other": (2, 2),
        "complaint": (1, 2),
        "out_of_scope": (1, 1),
        "request_human": (1, 3),
    }
    assert "login_problem" not in main  # the tapped option
    assert sum(row["count"] for row in r["intents"]) == r["conversations"]
    assert r["intents"][0]["share"] == 0.222  # 2 / 9
    assert (r["tickets"], r["complaints"]) == (3, 2)
    assert {row["team"]: row["count"] for row in r["teams"]} == {"care": 2, "billing": 1}
    assert {row["category"]: row["count"] for row in r["complaint_categories"]} == {
        "teacher": 1,
        "not_recorded": 1,
    }
    assert r["ticket_reasons"][0] == {"reason": "complaint", "count": 2, "share": 0.667}


def test_refunds_count_the_flows_decisions_approved_or_handed_to_billing(conn):
    t = at(14)
    for reason, amount in (("买错了", 199), ("Bought it by mistake", 99.5), ("课程质量问题", 50)):
        refund(
            conn,
            conversation_id="c",
            learner_id="L1",
            outcome="approved",
            order_id="O1",
            order_amount=amount,
            amount=amount,
            reason=reason,
            refund_id=1,
            now=t,
        )
    refund(
        conn, conversation_id="c", learner_id="L1", outcome="approved", amount=10, now=DAY - 60
    )  # before the window
    refund(
        conn,
        conversation_id="c2",
        learner_id="L1",
        outcome="too_late",
        order_id="O2",
        order_amount=299,
        reason="买错了",
        now=t,
    )
    refund(conn, conversation_id="c3", learner_id="L2", outcome="no_order", now=t)
    refund(  # told the amount, the learner said no: not billing's work
        conn,
        conversation_id="c4",
        learner_id="L3",
        outcome="withdrawn",
        order_id="O4",
        order_amount=399,
        amount=152.08,
        reason="太贵了",
        now=t,
    )

    r = metrics.refund_indicators(conn, since=DAY, now=NOW)
    assert (r["requests"], r["approved"], r["handed_to_billing"], r["withdrawn"]) == (6, 3, 2, 1)
    assert r["approved_share"] == 0.5 and r["amount_approved"] == 348.5
    assert r["amount_withdrawn"] == 152.08
    # the button's label in either language is one reason, refused requests' reasons count
    assert r["reasons"][0] == {
        "reason": "Bought it by mistake · 买错了",
        "count": 3,
        "share": 0.5,
        "approved": 2,
    }
    assert r["reasons"][1]["reason"] == "Quality problems · 课程质量问题"
    assert {x["reason"]: x["approved"] for x in r["reasons"]}["not_recorded"] == 0
    assert {x["code"]: x["count"] for x in r["refusals"]} == {"too_late": 1, "no_order": 1}


def test_reasons_and_refunds_of_an_empty_window(conn):
    r = metrics.contact_reasons(conn, since=DAY, now=NOW)
    assert (r["conversations"], r["tickets"], r["complaints"]) == (0, 0, 0)
    assert r["intents"] == r["teams"] == r["complaint_categories"] == []
    f = metrics.refund_indicators(conn, since=DAY, now=NOW)
    assert (f["requests"], f["approved"], f["handed_to_billing"], f["amount_approved"]) == (
        0,
        0,
        0,
        0,
    )
    assert f["approved_share"] is None and f["reasons"] == [] and f["refusals"] == []


def test_privacy_requests_past_their_legal_deadline_are_counted_and_raise_an_alert(conn):
    from bot import privacy_requests

    day = 86400.0
    late = privacy_requests.open_request(  # filed a month ago: 15 working days have passed
        conn, learner_id="L1", kind="delete", conversation_id=None, ticket_id=None,
        verified_by="code", now=NOW - 30 * day,
    )
    privacy_requests.open_request(
        conn, learner_id="L2", kind="export", conversation_id=None, ticket_id=None,
        verified_by="code", now=NOW - day,
    )
    done = privacy_requests.open_request(
        conn, learner_id="L3", kind="export", conversation_id=None, ticket_id=None,
        verified_by="code", now=NOW - 40 * day,
    )
    privacy_requests.close(conn, done["id"], status=privacy_requests.DONE, by="ann", now=NOW)
    v = values(conn)
    assert (v["privacy_open"], v["privacy_overdue"]) == (2, 1)
    assert late["due_at"] < NOW

    rules = metrics.load_rules(ROOT / "data" / "alerts.yml")
    raised = [a for a in metrics.alerts(v, rules) if a["indicator"] == "privacy_overdue"]
    assert raised, "an overdue privacy request raises the default alert"
