"""The order question the refund and invoice forms share ("Which order?")."""

from rasa_sdk import Tracker

from actions import runtime
from actions.asking import AskAction
from actions.common import learner_orders, order_buttons
from actions.context import latest_text, started_this_turn
from actions.course_match import named_courses, named_orders
from actions.invoice import earlier_invoices, invoice_refusal, invoice_requests
from actions.messages import button, t


class ActionAskOrderId(AskAction):
    """Asks which order, offering the learner's recent orders as buttons: for a refund the
    paid ones, for an invoice those it can still invoice (not refunded, not older than the
    invoice window, not invoiced already). If the message that started the form
    named a course, that course's orders come first, or the learner is told it is not among
    their orders. An invoice request first recalls the learner's earlier ones ("my invoice
    never arrived" starts this form too)."""

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
            orders = [
                o for o in every if invoice_refusal(o, None, lang) is None and o.id not in invoiced
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
