"""Where the learner's refund requests stand (refund_status, and asked in passing in a form)."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.common import course_name, date, learner_of
from actions.context import lang_of
from actions.messages import t


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
        if not refunds:
            dispatcher.utter_message(text=t("refund_status_none", lang))
            return []
        orders = {o.id: o for o in rt.platform.orders(learner.id)} if learner else {}
        lines = [t("refund_status_header", lang)]
        for r in refunds:
            order = orders.get(r.order_id)
            lines.append(
                t(
                    "refund_status_line",
                    lang,
                    refund_id=r.id,
                    order_id=r.order_id,
                    course=course_name(order, lang) if order else r.order_id,
                    amount=r.amount,
                    status=t(f"refund_status_{r.status}", lang),
                    date=date(r.requested_at, lang),
                )
            )
        dispatcher.utter_message(json_message={"text": "\n".join(lines)})
        return []
