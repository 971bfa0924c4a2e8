"""Refunds: pick the order, give a reason, apply the policy, confirm the amount, record it
or hand it over."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.asking import AskAction
from actions.context import lang_of
from actions.form_guard import GuardedFormValidation
from actions.handoff import open_handoff
from actions.order_question import named_order, validate_order
from actions.orders import about_order, chosen_order, course_name
from actions.refund_decisions import (
    ALREADY_PENDING,
    log_decision,
    pending_refund,
    policy_verdict,
    refund_verdict,
)
from actions.refund_status import ActionRefundStatus
from actions.slots import reset_flow
from actions.wording import confirmed, date
from bot import refund_log, runtime
from replies import button, choices, t


class ValidateRefundForm(GuardedFormValidation):
    """Checks the order belongs to the learner; keeps the reason short."""

    own_intent = "refund_request"

    def name(self) -> str:
        return "validate_refund_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict,
    ) -> list[str]:
        """Money is about to move: once order and reason are known and the policy would pay,
        the learner confirms the amount first. A refusal goes to billing and a refund in
        progress is only reported, so neither asks."""
        reason = tracker.get_slot("refund_reason")
        if reason not in (None, ALREADY_PENDING) and refund_verdict(tracker)[1] is not None:
            return domain_slots
        return [s for s in domain_slots if s != "flow_confirmed"]

    def holds_value(self, tracker: Tracker, slot: str, text: str) -> bool:
        # "yes" reads as small talk elsewhere; here it is the answer
        return slot == "flow_confirmed" and confirmed(tracker, text, also=REFUND_YES)

    def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        return named_order(tracker)

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        result = validate_order(value, dispatcher, tracker, domain)
        if result["order_id"] and pending_refund(tracker, result["order_id"]):
            # a refund of it is already in progress: no reason to ask for, the submit step
            # says so and shows its status (asked again, it is not a new request)
            return {**result, "refund_reason": ALREADY_PENDING}
        return result

    def validate_refund_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        return {"refund_reason": str(value).strip()[:300] or None}

    def validate_flow_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        if confirmed(tracker, str(value), also=REFUND_YES):
            return {"flow_confirmed": "yes"}
        dispatcher.utter_message(text=t("refund_confirm_unclear", lang_of(tracker)))
        return {"flow_confirmed": None}


# typed yeses to the amount, beside common.CONFIRM_WORDS ("no" is the form's way out)
REFUND_YES = ("退吧", "退款吧", "提交", "submit")


class ActionAskRefundReason(AskAction):
    """Asks why, with common reasons as buttons."""

    slot = "refund_reason"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return about_order(tracker, lang) + t("ask_refund_reason", lang), choices(
            "refund_reasons", lang
        )


class ActionAskRefundConfirm(AskAction):
    """The amount, the order and where the money goes, with yes and no (no leaves the form)."""

    slot = "flow_confirmed"

    def name(self) -> str:
        return "action_ask_refund_form_flow_confirmed"  # the refund form's own ask, not privacy's

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        order, verdict = refund_verdict(tracker)
        if order is None or verdict is None:  # the policy changed its mind: submit says why
            return t("ask_refund_confirm_plain", lang), self.buttons(lang)
        text = t(
            "ask_refund_confirm",
            lang,
            course=course_name(order, lang),
            order_id=order.id,
            amount=verdict.amount,
            arrival=runtime.get().policy.arrival(order.payment_method),
        )
        return text, self.buttons(lang)

    @staticmethod
    def buttons(lang: str) -> list[dict[str, str]]:
        return [
            button("btn_confirm_refund", lang, "/affirm"),
            button("btn_keep_course", lang, "/deny"),
        ]


class ActionSubmitRefund(Action):
    """Records an eligible refund and says when the money arrives; otherwise explains why
    not and hands the case, with order and reason, to the billing team."""

    def name(self) -> str:
        return "action_submit_refund"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        rt = runtime.get()
        lang = lang_of(tracker)
        learner, order = chosen_order(tracker)
        reason = tracker.get_slot("refund_reason") or ""
        if learner is None or order is None or order.course is None:
            log_decision(tracker, learner.id if learner else None, refund_log.NO_ORDER, reason)
            return open_handoff(
                dispatcher, tracker, reason="refund_no_order", intent="refund_request"
            )
        verdict = policy_verdict(learner.id, order)
        name = course_name(order, lang)
        if verdict.eligible and tracker.get_slot("flow_confirmed") != "yes":
            # never without the learner's yes to the amount (the form asks for it)
            dispatcher.utter_message(text=t("refund_not_confirmed", lang))
            return reset_flow()
        if verdict.eligible:
            refund = rt.platform.create_refund(learner.id, order.id, verdict.amount, reason)
            log_decision(
                tracker, learner.id, refund_log.APPROVED, reason, order, verdict.amount, refund.id
            )
            dispatcher.utter_message(
                text=t(
                    "refund_recorded",
                    lang,
                    refund_id=refund.id,
                    course=name,
                    order_id=order.id,
                    amount=verdict.amount,
                    arrival=rt.policy.arrival(order.payment_method),
                )
            )
            if verdict.code == "ok_membership":
                dispatcher.utter_message(text=t("refund_ok_membership_note", lang, **verdict.facts))
            return reset_flow()

        facts = {**verdict.facts, "course": name, "order_id": order.id}
        when = verdict.facts.get("refunded_at")
        dispatcher.utter_message(
            text=t(f"refund_{verdict.code}", lang, **{**facts, "date": date(when, lang)})
        )
        if verdict.code == "already_pending":  # asked again: not a new request
            return reset_flow() + ActionRefundStatus().run(dispatcher, tracker, domain)
        log_decision(tracker, learner.id, verdict.code, reason, order)
        summary = (
            f"Refund refused by policy ({verdict.code}): order {order.id} {name}, "
            f"¥{order.amount:g}, paid {verdict.facts.get('days')} days ago; "
            f"reason: {reason}"
        )
        return open_handoff(
            dispatcher,
            tracker,
            opening="refund_handoff",
            reason="refund_ineligible",
            intent="refund_request",
            category=verdict.code,  # why the policy said no, counted in the manager's refunds
            order_id=order.id,  # refund_status tells the learner billing is reviewing it
            team="billing",
            summary=summary,
        )
