"""Which of a learner's orders the bot may invoice, and the invoice requests they made before.

Shared by the order question (it offers only orders that can be invoiced) and the invoice
flow (it says why one cannot be)."""

import time
from typing import Any

from rasa_sdk import Tracker

from actions.orders import learner_of
from actions.wording import date
from bot import runtime
from course_platform import ServiceRequest
from replies import t

INVOICE_WINDOW_DAYS = 180


def invoice_requests(tracker: Tracker) -> list[ServiceRequest]:
    """The learner's invoice requests, newest first."""
    learner = learner_of(tracker)
    return runtime.get().platform.requests(learner.id, "invoice") if learner else []


def refunds_pending(tracker: Tracker) -> set[str]:
    """The learner's orders with a refund in progress."""
    learner = learner_of(tracker)
    refunds = runtime.get().platform.refunds(learner.id) if learner else []
    return {r.order_id for r in refunds if r.status == "pending"}


def invoice_refusal(
    order: Any, earlier: ServiceRequest | None, lang: str, refund_pending: bool = False
) -> str | None:
    """Why this order cannot be invoiced by the bot, or None when it can. The order question
    offers only orders that pass, so the learner is never offered one just refused."""
    if order.status == "refunded":
        return t("invoice_why_refunded", lang)
    if refund_pending:  # it may be refunded in a few days: not invoiced meanwhile
        return t("invoice_why_refund_pending", lang)
    if time.time() - order.paid_at > INVOICE_WINDOW_DAYS * 86400:
        return t("invoice_why_too_old", lang)
    if earlier:  # a second invoice for one payment is for billing to decide
        return t(
            "invoice_why_already",
            lang,
            request_id=earlier.id,
            date=date(earlier.created_at, lang),
            email=earlier.payload.get("email") or "—",
        )
    return None


def earlier_invoices(requests: list[ServiceRequest], lang: str, limit: int = 3) -> str:
    """The latest of the learner's invoice `requests`, as lines to put before the order
    question, so "my invoice never arrived" is met with what was asked for, when, and where
    it went."""
    requests = requests[:limit]
    if not requests:
        return ""
    lines = [
        t(
            "invoice_earlier_line",
            lang,
            request_id=r.id,
            order_id=r.payload.get("order_id", "—"),
            date=date(r.created_at, lang),
            email=r.payload.get("email") or "—",
        )
        for r in requests
    ]
    return "\n".join([t("invoice_earlier_header", lang), *lines, t("invoice_earlier_tail", lang)])
