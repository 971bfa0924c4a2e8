"""Where the learner's refund requests stand (refund_status, and asked in passing in a form)."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Connection

import handoff
from actions.context import lang_of
from actions.orders import course_name, learner_of
from actions.wording import date
from bot import runtime, transcript
from replies import t


class ActionRefundStatus(Action):
    """Lists the learner's refund requests and where each one stands."""

    def name(self) -> str:
        return "action_refund_status"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        rt = runtime.get()
        lang = lang_of(tracker)
        learner = learner_of(tracker)
        refunds = rt.platform.refunds(learner.id) if learner else []
        # a refund the policy refused went to billing as a ticket, not to the platform: the
        # learner asking "where is my refund?" must hear that a person is on it
        reviews = rt.db.reading(_reviews, learner.id) if learner else []
        if not refunds and not reviews:
            dispatcher.utter_message(text=t("refund_status_none", lang))
            return []
        orders = {o.id: o for o in rt.platform.orders(learner.id)} if learner else {}

        def course(order_id: str | None) -> str:
            order = orders.get(order_id or "")
            return course_name(order, lang) if order else (order_id or "?")

        lines = [t("refund_status_header", lang)]
        for r in refunds:
            lines.append(
                t(
                    "refund_status_line",
                    lang,
                    refund_id=r.id,
                    order_id=r.order_id,
                    course=course(r.order_id),
                    amount=r.amount,
                    status=t(f"refund_status_{r.status}", lang),
                    date=date(r.requested_at, lang),
                )
            )
        for ticket in reviews:
            lines.append(
                t(
                    "refund_status_review_open" if ticket.is_open else "refund_status_reviewed",
                    lang,
                    order_id=ticket.order_id or "?",
                    course=course(ticket.order_id),
                    team=handoff.team_name(ticket.team, lang),
                    date=date(ticket.created_at, lang),
                    done=date(ticket.resolved_at or ticket.created_at, lang),
                )
            )
        dispatcher.utter_message(json_message={"text": "\n".join(lines)})
        return []


def _reviews(conn: Connection, learner_id: str) -> list[handoff.Ticket]:
    """The learner's refunds the policy refused, which billing reviews (their tickets)."""
    return handoff.tickets_for(
        conn, transcript.conversation_ids(conn, learner_id), "refund_ineligible"
    )
