"""The order question the refund and invoice forms share ("Which order?"), and an order
number or a course's name typed on its own outside any form."""

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.asking import AskAction
from actions.common import course_name, date, learner_of, learner_orders, order_buttons
from actions.context import lang_of, latest_text, started_this_turn
from actions.course_match import named_courses, named_orders
from actions.invoice import earlier_invoices, invoice_refusal, invoice_requests, refunds_pending
from actions.messages import button, t
from bot.platform.validation import find_order_id


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
