"""The refund policy on its own, and the refund flow's actions on the demo platform data."""

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import handoff
from actions.handoff import ActionStopForm
from actions.order_question import ActionAskOrderId
from actions.refund import (
    ActionAskRefundConfirm,
    ActionAskRefundReason,
    ActionRefundStatus,
    ActionSubmitRefund,
    ValidateRefundForm,
)
from actions.refund_decisions import ALREADY_PENDING
from bot import metrics, migrate
from bot.db import Database, sqlite_url
from bot.settings import ROOT
from course_platform.base import Course, Order, Progress, Refund
from course_platform.demo_store import DemoPlatform, seed_if_empty
from course_platform.http_adapter import HttpPlatform
from course_platform.reference_api import build_router
from course_platform.refund_policy import DAY, RefundPolicy, evaluate
from tests import dbkit
from tests.unit.actionkit import (
    activated,
    make_tracker,
    required_slots,
    run,
    slot_events,
    texts,
)

NOW = 1_800_000_000.0
POLICY = RefundPolicy.load(ROOT / "data" / "refund_policy.yml")
RECORDED = Course(id="c", name_zh="课", name_en="Course", kind="recorded", price=199)


def order(days: float, course: Course = RECORDED, **kw) -> Order:
    return Order(
        id="AC00000001",
        learner_id="L",
        course_id=course.id,
        amount=kw.pop("amount", course.price),
        status=kw.pop("status", "paid"),
        paid_at=NOW - days * DAY,
        **kw,
    )


def progress(share: float) -> Progress:
    return Progress(learner_id="L", course_id="c", progress=share)


@pytest.mark.parametrize(
    "days,share,code",
    [
        (3, 0.10, "ok_recorded"),
        (6.9, 0.19, "ok_recorded"),
        (8, 0.0, "too_late"),
        (2, 0.20, "too_much_progress"),
        (1, 0.35, "too_much_progress"),
    ],
)
def test_recorded_courses(days, share, code):
    v = evaluate(order(days), RECORDED, progress(share), [], POLICY, NOW)
    assert v.code == code and v.eligible == code.startswith("ok")
    assert v.amount == (199 if v.eligible else 0)


def test_live_classes_only_before_they_start():
    later = RECORDED.model_copy(update={"kind": "live", "starts_at": NOW + 5 * DAY})
    started = RECORDED.model_copy(update={"kind": "live", "starts_at": NOW - DAY})
    assert evaluate(order(30, later), later, None, [], POLICY, NOW).code == "ok_live"
    assert evaluate(order(1, started), started, None, [], POLICY, NOW).code == "live_started"


def test_memberships_are_pro_rata():
    annual = RECORDED.model_copy(update={"kind": "membership", "months": 12, "price": 365})
    v = evaluate(order(100, annual), annual, None, [], POLICY, NOW)
    assert (v.code, v.facts["unused"], v.amount) == ("ok_membership", 8, round(365 * 8 / 12, 2))
    monthly = RECORDED.model_copy(update={"kind": "membership", "months": 1, "price": 39})
    assert evaluate(order(10, monthly), monthly, None, [], POLICY, NOW).code == "membership_used"


def test_refused_twice_and_apple_and_pending():
    done = order(15, status="refunded", refunded_at=NOW - 10 * DAY)
    v = evaluate(done, RECORDED, progress(0), [], POLICY, NOW)
    assert v.code == "already_refunded" and v.facts["refunded_at"] == NOW - 10 * DAY
    pending = [
        Refund(
            id=1,
            order_id="AC00000001",
            learner_id="L",
            amount=199,
            reason="",
            status="pending",
            requested_at=NOW,
        )
    ]
    assert evaluate(order(1), RECORDED, progress(0), pending, POLICY, NOW).code == "already_pending"
    apple = order(1, payment_method="apple")
    assert evaluate(apple, RECORDED, progress(0), [], POLICY, NOW).code == "external"


# --- the flow, on the demo platform ---------------------------------------------------


def submit(
    rt, learner: str, order_id: str, lang: str = "en", sender: str = "c_r", confirmed: bool = True
):
    """The form is complete: order, reason and (when the policy pays) the learner's yes."""
    tracker = make_tracker(
        "/affirm",
        "affirm",
        learner_id=learner,
        lang=lang,
        sender=sender,
        slots={
            "order_id": order_id,
            "refund_reason": "No time to study",
            "flow_confirmed": "yes" if confirmed else None,
        },
    )
    return run(ActionSubmitRefund(), tracker)


def required_refund_slots(learner: str, order_id: str, reason: str | None) -> list[str]:
    """What the refund form asks for once the order (and perhaps the reason) is known."""
    tracker = make_tracker(
        "",
        "refund_request",
        learner_id=learner,
        slots={"order_id": order_id, "refund_reason": reason},
    )
    return required_slots(ValidateRefundForm(), "refund_form", tracker)


def test_money_moves_only_after_the_learner_confirms_the_amount(rt):
    # QA: the reason button filed the refund at once; the amount (pro-rata for a membership)
    # was first said after it was recorded
    assert required_refund_slots("L1001", "AC10010001", "No time to study")[-1] == "flow_confirmed"
    # refused by policy (billing reviews it) or already in progress: nothing to confirm
    assert "flow_confirmed" not in required_refund_slots("L1001", "AC10010002", "买错了")
    assert "flow_confirmed" not in required_refund_slots("L1001", "AC10010001", ALREADY_PENDING)
    asked = make_tracker(
        "没时间学",
        "refund_request",
        learner_id="L1001",
        lang="zh",
        active_loop="refund_form",
        requested_slot="flow_confirmed",
        slots={"order_id": "AC10010004", "refund_reason": "没时间学"},
    )
    _, msgs = run(ActionAskRefundConfirm(), asked)
    assert "¥243.33" in texts(msgs) and "AC10010004" in texts(msgs) and "确定" in texts(msgs)
    assert [b["payload"] for b in msgs[-1]["buttons"]] == ["/affirm", "/deny"]

    def answer(value: str, intent: str, confidence: float = 1.0):
        return make_tracker(
            value,
            intent,
            learner_id="L1001",
            active_loop="refund_form",
            requested_slot="flow_confirmed",
            slots={"order_id": "AC10010001", "refund_reason": "No time to study"},
            extracted={"flow_confirmed": value},
            confidence=confidence,
        )

    for value, intent in (("/affirm", "affirm"), ("ok", "affirm"), ("退吧", "refund_request")):
        events, _ = run(ValidateRefundForm(), answer(value, intent))
        assert slot_events(events)["flow_confirmed"] == "yes", value
    # QA: "hmm what?" (affirm 0.79) recorded the refund; an unsure affirm asks again
    for value, intent, confidence in (("hmm what?", "affirm", 0.79), ("hmm", "chitchat", 0.9)):
        events, _ = run(ValidateRefundForm(), answer(value, intent, confidence))
        assert slot_events(events).get("flow_confirmed") is None, value
    # a "no" to the amount leaves the form and is counted for the managers as withdrawn;
    # leaving at the reason question (no amount seen yet) is not
    no = make_tracker(
        "不退了",
        "deny",
        learner_id="L1001",
        lang="zh",
        sender="c_no",
        active_loop="refund_form",
        requested_slot="flow_confirmed",
        slots={"order_id": "AC10010004", "refund_reason": "太贵了"},
    )
    _, msgs = run(ActionStopForm(), no)
    assert "已为您取消" in texts(msgs)
    (row,) = dbkit.rows(rt.db, "refund_requests", conversation_id="c_no")
    assert (row["outcome"], row["amount"], row["reason"]) == ("withdrawn", 243.33, "太贵了")
    early = make_tracker(
        "算了",
        "deny",
        learner_id="L1001",
        sender="c_early",
        active_loop="refund_form",
        requested_slot="refund_reason",
        slots={"order_id": "AC10010004"},
    )
    run(ActionStopForm(), early)
    assert not dbkit.rows(rt.db, "refund_requests", conversation_id="c_early")
    # never recorded without the yes, whatever leads to the submit step
    _, msgs = submit(rt, "L1001", "AC10010001", sender="c_unconfirmed", confirmed=False)
    assert "haven't submitted" in texts(msgs)
    assert not [r for r in rt.platform.refunds("L1001") if r.status == "pending"]


def test_eligible_refund_is_recorded_with_its_arrival_time(rt):
    events, msgs = submit(rt, "L1001", "AC10010001")
    said = texts(msgs)
    assert "refund request #" in said and "¥199" in said and "1-3 business days" in said
    (refund,) = [r for r in rt.platform.refunds("L1001") if r.status == "pending"]
    assert refund.order_id == "AC10010001" and refund.reason == "No time to study"
    assert rt.platform.order("L1001", "AC10010001").status == "refund_pending"
    assert slot_events(events)["order_id"] is None  # the flow ends clean
    assert rt.db.writing(handoff.open_ticket, "c_r") is None
    (logged,) = dbkit.rows(rt.db, "refund_requests", conversation_id="c_r")
    assert (logged["outcome"], logged["order_id"], logged["amount"]) == (
        "approved",
        "AC10010001",
        199,
    )
    assert logged["reason"] == "No time to study" and logged["refund_id"] == str(refund.id)


@pytest.mark.parametrize(
    "learner,order_id,expect,code",
    [
        ("L1001", "AC10010002", "paid 20 days ago", "too_late"),
        ("L1002", "AC10020001", "completed 35%", "too_much_progress"),
        ("L1002", "AC10020002", "already started", "live_started"),
        ("L1001", "AC10010005", "already refunded on", "already_refunded"),
        ("L1004", "AC10040001", "Apple", "external"),
    ],
)
def test_ineligible_refund_explains_and_hands_to_billing(rt, learner, order_id, expect, code):
    _, msgs = submit(rt, learner, order_id, sender=f"c_{order_id}")
    assert expect in texts(msgs)
    ticket = rt.db.writing(handoff.open_ticket, f"c_{order_id}")
    assert ticket.team == "billing" and ticket.reason == "refund_ineligible"
    # the hub's own log keeps the refusal and the learner's reason, whatever the platform
    (logged,) = dbkit.rows(rt.db, "refund_requests", conversation_id=f"c_{order_id}")
    assert (logged["outcome"], logged["amount"], logged["reason"]) == (code, 0, "No time to study")
    assert ticket.category == code  # why the policy said no, for the manager's refunds view
    assert order_id in ticket.summary and "No time to study" in ticket.summary
    assert ticket.channel == "chat"
    # the explanation, then ONE handover message that names the team (not two that both
    # announce a person)
    said = [m.get("text") or "" for m in msgs]
    handover = [m for m in said if "person" in m]
    assert (
        len(handover) == 1 and "Billing" in handover[0] and "they can see this chat" in handover[0]
    )


def test_the_managers_refund_figures_do_not_depend_on_the_platform(rt, tmp_path):
    """With a deployment's HTTP platform the refunds live in its database, not the hub's;
    the hub's own log still gives the manager both decisions."""
    platform_db = Database(sqlite_url(tmp_path / "platform.db"))
    migrate.upgrade(platform_db)
    platform_db.writing(seed_if_empty, ROOT / "data" / "platform" / "demo.yml")
    app = FastAPI()
    app.include_router(build_router(DemoPlatform(platform_db)))
    rt.platform = HttpPlatform("http://platform.test", client=TestClient(app))
    dbkit.delete(rt.db, "pf_refunds")  # the hub's copy of the demo store is not read

    submit(rt, "L1001", "AC10010001", sender="c_ok")
    submit(rt, "L1001", "AC10010002", sender="c_late")
    assert dbkit.count(platform_db, "pf_refunds", order_id="AC10010001") == 1
    assert dbkit.count(rt.db, "pf_refunds") == 0
    figures = rt.db.writing(metrics.refund_indicators, since=time.time() - 60)
    assert (figures["requests"], figures["approved"], figures["handed_to_billing"]) == (2, 1, 1)
    assert figures["amount_approved"] == 199
    assert figures["refusals"] == [{"code": "too_late", "count": 1, "share": 1.0}]


def test_membership_refund_in_chinese_is_pro_rata(rt):
    _, msgs = submit(rt, "L1001", "AC10010004", lang="zh")
    said = texts(msgs)
    assert "¥243.33" in said and "未使用 8 个月" in said


def order_answer(text: str, intent: str = "refund_request", learner: str = "L1001", **kw):
    """The tracker when the refund form asked for the order and the learner typed `text`."""
    return make_tracker(
        text,
        intent,
        learner_id=learner,
        active_loop="refund_form",
        requested_slot="order_id",
        extracted={"order_id": text},
        **kw,
    )


def test_order_must_be_the_learners_own(rt):
    v = ValidateRefundForm()
    events, msgs = run(v, order_answer("AC10020003"))
    assert slot_events(events)["order_id"] is None
    assert "couldn't find" in texts(msgs)
    events, _ = run(v, order_answer("Python 入门实战"))
    assert slot_events(events)["order_id"] == "AC10010001"


def test_a_question_asked_instead_of_an_order_is_answered_not_refused(rt):
    # a KB question, then the state of the learner's refunds
    asked = order_answer("直播课有回放吗？能保留多久？", "ask_question", lang="zh")
    events, msgs = run(ValidateRefundForm(), asked)
    assert slot_events(events)["order_id"] is None  # the form asks for the order again
    assert msgs[0]["custom"]["citation"]["id"] == "zh-live-replay"
    assert "没有找到" not in texts(msgs)
    events, msgs = run(ValidateRefundForm(), order_answer("where is my refund", "refund_status"))
    assert slot_events(events)["order_id"] is None
    assert "Copywriting that Sells" in texts(msgs) and "couldn't find" not in texts(msgs)


def test_another_errand_at_the_order_question_is_not_a_bad_order_number(rt):
    events, msgs = run(
        ValidateRefundForm(), order_answer("我要开发票", "invoice_request", lang="zh")
    )
    assert slot_events(events)["order_id"] is None
    assert "回复“不用了”" in texts(msgs) and "没有找到" not in texts(msgs)
    # the refund's own intent ("退那门课") is still read as an order
    events, msgs = run(
        ValidateRefundForm(), order_answer("refund the zero course", "refund_request")
    )
    assert "couldn't find" in texts(msgs)
    # and the order question always carries the way out
    asked = make_tracker("refund", "refund_request", active_loop="refund_form")
    _, msgs = run(ActionAskOrderId(), asked)
    assert msgs[-1]["buttons"][-1] == {"title": "Not now", "payload": "/deny"}


def test_order_question_lists_the_learners_paid_orders(rt):
    _, msgs = run(
        ActionAskOrderId(),
        make_tracker(
            "退款", "refund_request", learner_id="L1001", lang="zh", active_loop="refund_form"
        ),
    )
    payloads = [b["payload"] for b in msgs[0]["buttons"]]
    assert "AC10010005" not in payloads and payloads[0] == "AC10010003"
    _, msgs = run(
        ActionAskOrderId(),
        make_tracker("refund", "refund_request", learner_id="L1005", active_loop="refund_form"),
    )
    assert "can't find any orders" in msgs[0]["text"]


def start_refund(text: str, learner: str, lang: str = "en", course: str | None = None):
    """The tracker as the refund form sees it on the message that starts it."""
    entities = [{"entity": "course", "value": course}] if course else []
    return make_tracker(
        text,
        "refund_request",
        learner_id=learner,
        lang=lang,
        entities=entities,
        slots={"course": course} if course else {},
    )


@pytest.mark.parametrize(
    "learner,text,lang,order_id",
    [
        ("L1001", "我要退数据分析的课", "zh", "AC10010002"),
        ("L1001", "年度会员能退吗", "zh", "AC10010004"),
        ("L1004", "I want my money back for the python course", "en", "AC10040001"),
        ("L1002", "refund public speaking pls", "en", "AC10020002"),
        ("L1001", "我要退款", "zh", None),
        ("L1001", "我要开个人发票然后退款", "zh", None),  # "个人" is not 个人理财
        ("L1001", "学到一半不想学了能退一部分钱吗", "zh", None),  # "到一" is not 从零到一
        ("L1002", "我想申請退費，手機攝影那門課", "zh", "AC10020003"),  # traditional
        ("L1003", "我想退英语课", "zh", None),  # not bought; 英语 names 职场英语口语 below
    ],
)
def test_a_course_named_when_asking_picks_its_order(rt, learner, text, lang, order_id):
    events, _ = run(ValidateRefundForm(), start_refund(text, learner, lang))
    assert slot_events(events).get("order_id") == order_id


def test_the_order_is_only_guessed_when_the_form_starts(rt):
    tracker = make_tracker(
        "数据分析",
        "refund_request",
        learner_id="L1001",
        lang="zh",
        active_loop="refund_form",
        requested_slot="refund_reason",
        slots={"order_id": "AC10010001"},
    )
    events, _ = run(ValidateRefundForm(), tracker)
    assert "order_id" not in slot_events(events)


def test_order_question_says_when_the_named_course_was_not_bought(rt):
    tracker = start_refund(
        "I want my money back for the python course", "L1002", course="python course"
    )
    _, msgs = run(ActionAskOrderId(), started(tracker))
    assert msgs[0]["text"].startswith("I can't find Python for Beginners among your orders.")
    assert len(msgs[0]["buttons"]) == 4 + 1  # every paid order, and "not now"


def test_two_characters_name_a_course_only_as_the_start_of_one_of_its_words(rt):
    # QA: "学到一半不想学了能退一部分钱吗" was told 数据分析从零到一 is not among its orders
    _, msgs = run(
        ActionAskOrderId(), started(start_refund("学到一半不想学了能退一部分钱吗", "L1002", "zh"))
    )
    assert "没有找到" not in msgs[0]["text"]
    _, msgs = run(ActionAskOrderId(), started(start_refund("我想退英语课", "L1003", "zh")))
    assert msgs[0]["text"].startswith("您的订单里没有找到「职场英语口语」")


def started(tracker):
    """The same tracker once the refund form has been activated by that message."""
    return activated(tracker, "refund_form")


def test_order_question_puts_the_orders_of_an_ambiguous_name_first(rt):
    _, msgs = run(ActionAskOrderId(), started(start_refund("speaking course refund", "L1002")))
    payloads = [b["payload"] for b in msgs[0]["buttons"]]
    # Business English Speaking and Public Speaking Live, then the other paid orders
    assert payloads[:2] == ["AC10020001", "AC10020002"] and len(payloads) == 4 + 1
    assert msgs[0]["text"] == "Which order would you like refunded?"


def test_reason_question_names_the_order(rt):
    tracker = make_tracker(
        "数据分析",
        "refund_request",
        learner_id="L1001",
        lang="zh",
        active_loop="refund_form",
        slots={"order_id": "AC10010002"},
    )
    _, msgs = run(ActionAskRefundReason(), tracker)
    assert msgs[0]["text"].startswith("关于「数据分析从零到一」（AC10010002）：方便说一下")


def test_refund_status(rt):
    _, msgs = run(
        ActionRefundStatus(),
        make_tracker("where is my refund", "refund_status", learner_id="L1001"),
    )
    assert "Copywriting that Sells" in texts(msgs) and "refunded" in texts(msgs)
    _, msgs = run(
        ActionRefundStatus(),
        make_tracker("退款到哪了", "refund_status", learner_id="L1005", lang="zh"),
    )
    assert "没有退款申请" in texts(msgs)


def test_a_refund_refused_by_policy_shows_as_under_review_in_a_later_chat(rt):
    from bot import transcript

    first = rt.db.writing(transcript.create_conversation, "L1002", "en")
    submit(rt, "L1002", "AC10020001", sender=first.id)  # 35 % watched: billing reviews it
    later = rt.db.writing(transcript.create_conversation, "L1002", "zh")
    ask = make_tracker(
        "我的退款怎么样了", "refund_status", learner_id="L1002", lang="zh", sender=later.id
    )
    _, msgs = run(ActionRefundStatus(), ask)
    said = texts(msgs)
    assert "AC10020001" in said and "正在复核" in said and "财务与退款组" in said
    # once billing resolves it, the learner is told it was reviewed and where the answer is
    ticket = rt.db.writing(handoff.open_ticket, first.id)
    rt.db.writing(handoff.claim, ticket.id, "agent")
    rt.db.writing(handoff.resolve, ticket.id, "agent")
    _, msgs = run(
        ActionRefundStatus(), make_tracker("refund?", "refund_status", learner_id="L1002")
    )
    assert "reviewed by our Billing & refunds team" in texts(msgs)


def test_out_of_hours_the_handover_says_when_in_the_same_message(rt, monkeypatch):
    from handoff import BusinessHours

    monkeypatch.setattr(BusinessHours, "is_open_ts", lambda self, ts: False)  # the desk is shut
    _, msgs = submit(rt, "L1002", "AC10020002", sender="c_night")
    handover = [m["text"] for m in msgs if "person" in (m.get("text") or "")]
    assert len(handover) == 1 and "Our people work 09:00–21:00" in handover[0]
