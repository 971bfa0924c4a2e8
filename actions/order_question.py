"""The order question the refund and invoice forms share ("Which order?"), and an order
number or a course's name typed on its own outside any form."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.asking import AskAction
from actions.context import lang_of, latest_text, started_this_turn
from actions.invoiceable import earlier_invoices, invoice_refusal, invoice_requests, refunds_pending
from actions.orders import learner_orders, match_order, order_buttons, show_order
from actions.slots import at_form_start
from bot import runtime
from course_platform.course_match import named_courses, named_orders
from course_platform.validation import find_order_id
from replies import button, t


class ActionAskOrderId(AskAction):
    """Asks which order, offering the learner's recent orders as buttons: for a refund the
    paid ones, for an invoice those it can still invoice (not refunded, not older than the
    invoice window, not invoiced already, no refund in progress). If the message that
    started the form named a course, that course's orders come first, or the learner is
    told it is not among their orders. An invoice request first recalls the learner's
    earlier ones ("my invoice never arrived" starts this form too)."""

    slot = "order_id"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        form = (tracker.active_loop or {}).get("name")
        every = learner_orders(tracker)
        orders = every
        invoices = invoice_requests(tracker) if form == "invoice_form" else []
        if form == "refund_form":
            orders = [o for o in every if o.status == "paid"] or every
        elif form == "invoice_form":
            invoiced = {r.payload.get("order_id") for r in invoices}
            pending = refunds_pending(tracker)
            orders = [
                o
                for o in every
                if invoice_refusal(o, None, lang, o.id in pending) is None and o.id not in invoiced
            ]
            if every and not orders:  # nothing left to invoice: say so, a person can look
                return t("invoice_none_eligible", lang), [
                    button("btn_human", lang, "/request_human"),
                    button("btn_not_now", lang, "/deny"),
                ]
        if not orders:
            return t("no_orders", lang), [button("btn_human", lang, "/request_human")]
        question = t("ask_order_invoice" if form == "invoice_form" else "ask_order_refund", lang)
        if form and started_this_turn(tracker, form):
            said = [tracker.get_slot("course"), latest_text(tracker)]
            named = next((found for w in said if (found := named_orders(every, w))), [])
            if len(named) > 1:
                orders = named + [o for o in orders if o not in named]
            elif not named:
                courses = runtime.get().platform.courses()
                course = next((found for w in said if (found := named_courses(courses, w))), [])
                if len(course) == 1:
                    question = t("course_not_bought", lang, course=course[0].name(lang)) + question
            if form == "invoice_form":
                question = earlier_invoices(invoices, lang) + question
        # a way out that needs no typing: "/deny" stops the form (data/rules)
        return question, [*order_buttons(orders, lang), button("btn_not_now", lang, "/deny")]


class ActionAnythingElse(Action):
    """A yes or no outside a question ("好的", "no thanks"): anything else? An order number
    typed on its own ("AC10030004") reads as one of those to the NLU; it gets the order and
    what can be done with it (a refund, an invoice), or is said not to be among the
    learner's orders."""

    def name(self) -> str:
        return "action_anything_else"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = latest_text(tracker)
        order_id = None if text.startswith("/") else find_order_id(text)
        if order_id is None:
            dispatcher.utter_message(response="utter_anything_else")
            return []
        return show_order(dispatcher, tracker, order_id)


def named_order(tracker: Tracker) -> dict[str, Any]:
    """At a form's start, the one order the learner's first message names ("我要退数据分析那门课",
    "refund my python course"), so they need not pick it from a list."""
    if not at_form_start(tracker, "order_id"):
        return {}
    order = match_order(learner_orders(tracker), latest_text(tracker), tracker.get_slot("course"))
    return {"order_id": order.id} if order else {}


def validate_order(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
) -> dict:
    """The learner's own order the answer names; questions and other errands typed here
    never reach this (actions/form_guard.py)."""
    order = match_order(learner_orders(tracker), str(value or ""), tracker.get_slot("course"))
    if order is None:
        dispatcher.utter_message(
            text=t("order_not_found", lang_of(tracker), value=str(value or "").strip()[:40])
        )
        return {"order_id": None}
    return {"order_id": order.id}
