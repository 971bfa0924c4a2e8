"""The learner's orders as the flows see them: who the learner is, their orders, which one a
message names (by order number or loosely by course), and an order shown with what can be
done with it."""

import json
import time
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import lang_of, learner_id
from actions.wording import date
from bot import runtime
from course_platform import Learner, Order
from course_platform.course_match import named_orders
from course_platform.validation import find_order_id
from replies import button, t


def learner_of(tracker: Tracker) -> Learner | None:
    lid = learner_id(tracker)
    return runtime.get().platform.learner(lid) if lid else None


def learner_orders(tracker: Tracker) -> list[Order]:
    """The learner's orders, most recent first; none without a learner."""
    lid = learner_id(tracker)
    return runtime.get().platform.orders(lid) if lid else []


def chosen_order(tracker: Tracker) -> tuple[Learner | None, Order | None]:
    """The learner and the order in the `order_id` slot (None if it is not theirs)."""
    learner = learner_of(tracker)
    if learner is None:
        return None, None
    return learner, runtime.get().platform.order(learner.id, tracker.get_slot("order_id") or "")


def about_order(tracker: Tracker, lang: str) -> str:
    """A prefix, "About <course> (<order id>): ", for a form's next question once the order
    is known, so a learner whose order was read from their words sees which one it is."""
    _, order = chosen_order(tracker)
    if order is None:
        return ""
    return t("about_order", lang, course=course_name(order, lang), order_id=order.id)


def course_name(order: Order, lang: str) -> str:
    return order.course.name(lang) if order.course else order.course_id


def order_buttons(orders: list[Order], lang: str, limit: int = 5) -> list[dict[str, str]]:
    """The learner's orders as buttons; each sends the order id."""
    return [
        {
            "title": t(
                "order_button",
                lang,
                course=course_name(o, lang),
                amount=o.amount,
                date=date(o.paid_at, lang),
            ),
            "payload": o.id,
        }
        for o in orders[:limit]
    ]


def match_order(orders: list[Order], text: str | None, course: str | None = None) -> Order | None:
    """The order a learner means: an order id in the text, else the one order whose course
    they name (the `course` entity first, then the text; `course_match`). None if the text
    names no order of theirs, or several equally well."""
    oid = find_order_id((text or "").strip())
    if oid:
        return next((o for o in orders if o.id == oid), None)
    for wanted in (course, text):
        named = named_orders(orders, wanted)
        if named:
            return named[0] if len(named) == 1 else None
    return None


def names_an_order(tracker: Tracker, text: str) -> bool:
    """Whether the text has an order number or names a course the learner bought."""
    return bool(find_order_id(text) or named_orders(learner_orders(tracker), text))


def access_text(order: Order, lang: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    if order.status == "refunded":
        return t("access_refunded", lang)
    if order.access_until is None:
        return t("access_lifetime", lang)
    key = "access_until" if order.access_until > now else "access_ended"
    return t(key, lang, date=date(order.access_until, lang))


def only_an_order(text: str) -> str | None:
    """The order id of a message that is nothing else ("AC10030004", "ac10030004。")."""
    order_id = None if text.startswith("/") else find_order_id(text)
    rest = text.upper().replace(order_id, "") if order_id else text
    return order_id if order_id and not rest.strip(" .。,，!！?？~～") else None


def show_order(
    dispatcher: CollectingDispatcher, tracker: Tracker, order_id: str
) -> list[dict[str, Any]]:
    """An order number typed on its own, whatever the NLU made of it (affirm, deny, or too
    unsure, so the KB): the order and what can be done with it, or that it is not the
    learner's."""
    lang = lang_of(tracker)
    learner = learner_of(tracker)
    order = runtime.get().platform.order(learner.id, order_id) if learner else None
    if order is None:
        dispatcher.utter_message(text=t("order_unknown", lang, order_id=order_id))
        return []
    entity = json.dumps({"order_id": order.id})
    dispatcher.utter_message(
        text=t(
            "order_what_now",
            lang,
            order_id=order.id,
            course=course_name(order, lang),
            amount=order.amount,
            date=date(order.paid_at, lang),
        ),
        buttons=[
            button("btn_order_refund", lang, "/refund_request" + entity),
            button("btn_order_invoice", lang, "/invoice_request" + entity),
            button("btn_not_now", lang, "/deny"),
        ],
    )
    return []
