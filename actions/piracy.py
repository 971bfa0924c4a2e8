"""Piracy reports: where it is and any evidence, filed as a case for the copyright team."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.asking import AskAction
from actions.context import lang_of, latest_text
from actions.form_guard import GuardedFormValidation
from actions.handoff import file_ticket
from actions.slots import at_form_start, reset_flow
from course_platform.validation import find_url
from replies import t

_NONE = ("none", "no", "nothing", "没有", "无", "没", "skip")


class ValidatePiracyForm(GuardedFormValidation):
    own_intent = "piracy_report"

    def name(self) -> str:
        return "validate_piracy_form"

    def extract_piracy_link(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        """A first message with a link in it already says where; the whole message is kept,
        since its words ("the python course, on 闲鱼") help the team. A place without a link
        ("在群里", "on Taobao") is not enough to find it, so that is still asked."""
        text = latest_text(tracker).strip()
        if not at_form_start(tracker, "piracy_link") or text.startswith("/"):
            return {}
        if find_url(text):
            return {"piracy_link": text[:500]}
        return {}

    def validate_piracy_link(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        text = str(value).strip()
        if find_url(text) or len(text) >= 4:
            return {"piracy_link": text[:500]}
        dispatcher.utter_message(text=t("piracy_link_invalid", lang_of(tracker)))
        return {"piracy_link": None}

    def validate_piracy_evidence(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        text = str(value).strip()
        return {"piracy_evidence": "none" if text.lower() in _NONE else text[:2000]}


class ActionAskPiracyLink(AskAction):
    slot = "piracy_link"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return t("ask_piracy_link", lang), []


class ActionAskPiracyEvidence(AskAction):
    slot = "piracy_evidence"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return t("ask_piracy_evidence", lang), [
            {"title": t("piracy_evidence_none", lang), "payload": "none"}
        ]


class ActionSubmitPiracy(Action):
    """Files the report for the copyright team and thanks the learner."""

    def name(self) -> str:
        return "action_submit_piracy"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        link = tracker.get_slot("piracy_link")
        evidence = tracker.get_slot("piracy_evidence")
        ticket = file_ticket(
            tracker,
            reason="piracy_report",
            intent="piracy_report",
            team="compliance",
            channel="case",
            summary=f"Piracy at: {link} | evidence: {evidence}",
        )
        dispatcher.utter_message(text=t("piracy_recorded", lang_of(tracker), ticket_id=ticket.id))
        return reset_flow()
