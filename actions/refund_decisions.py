"""What the refund policy says of the chosen order now, and the hub's log of every refund
decision (approved, refused, withdrawn at the amount), for the managers' refunds panel.

Shared by the refund flow and by leaving a form ("算了" at the amount is a withdrawal)."""

import time

from rasa_sdk import Tracker

from actions.orders import chosen_order, learner_of
from bot import refund_log, runtime
from course_platform.base import Order
from course_platform.refund_policy import Verdict, evaluate


def log_decision(
    tracker: Tracker,
    learner_id: str | None,
    outcome: str,
    reason: str,
    order: Order | None = None,
    amount: float = 0.0,
    refund_id: int | str | None = None,
) -> None:
    """One row in the hub's refund log per decision, approved or not (bot/refund_log.py)."""
    runtime.get().db.writing(
        refund_log.record,
        conversation_id=tracker.sender_id,
        learner_id=learner_id,
        outcome=outcome,
        order_id=order.id if order else None,
        order_amount=order.amount if order else None,
        amount=amount,
        reason=reason,
        refund_id=refund_id,
    )


def log_withdrawn(tracker: Tracker) -> None:
    """Record a "no" to the amount (the refund form's confirmation), nothing earlier: a
    learner leaving at the order or the reason question has not seen an offer."""
    asking = (tracker.active_loop or {}).get("name"), tracker.get_slot("requested_slot")
    if asking != ("refund_form", "flow_confirmed"):
        return
    learner, order = chosen_order(tracker)
    if learner is None or order is None or order.course is None:
        return
    verdict = policy_verdict(learner.id, order)
    if verdict.eligible:
        reason = tracker.get_slot("refund_reason") or ""
        log_decision(tracker, learner.id, refund_log.WITHDRAWN, reason, order, verdict.amount)


def policy_verdict(learner_id: str, order: Order) -> Verdict:
    """What the refund policy says of this order now."""
    rt = runtime.get()
    return evaluate(
        order,
        order.course,
        rt.platform.progress(learner_id, order.course_id),
        rt.platform.refunds(learner_id),
        rt.policy,
        time.time(),
    )


def refund_verdict(tracker: Tracker) -> tuple[Order | None, Verdict | None]:
    """The chosen order and, when the policy would pay it now, the policy's verdict."""
    learner, order = chosen_order(tracker)
    if learner is None or order is None or order.course is None:
        return order, None
    verdict = policy_verdict(learner.id, order)
    return order, verdict if verdict.eligible else None


# the reason recorded for an order whose refund is already in progress (never asked)
ALREADY_PENDING = "(refund already in progress)"


def pending_refund(tracker: Tracker, order_id: str) -> bool:
    """Whether the learner already has a refund of this order in progress."""
    learner = learner_of(tracker)
    refunds = runtime.get().platform.refunds(learner.id) if learner else []
    return any(r.order_id == order_id and r.status == "pending" for r in refunds)
