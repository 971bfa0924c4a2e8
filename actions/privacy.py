"""Privacy requests (export or delete my data): confirm it is the account holder, record
the request for the privacy team, and state the legal response time."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.asking import AskAction
from actions.common import learner_of, option_at_start, pick, reset_flow
from actions.context import lang_of
from actions.form_guard import GuardedFormValidation
from actions.handoff import file_ticket, open_handoff
from actions.messages import choices, t

TYPES = ["export", "delete"]
MAX_ATTEMPTS = 3
_TYPE_WORDS = {
    "delete": ("delete", "erase", "remove", "close", "删除", "注销", "销户"),
    "export": ("export", "copy", "download", "导出", "副本", "下载"),
}


class ValidatePrivacyForm(GuardedFormValidation):
    own_intent = "privacy_request"

    def name(self) -> str:
        return "validate_privacy_form"

    def extract_privacy_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        return option_at_start(tracker, "privacy_type", _TYPE_WORDS)

    def validate_privacy_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        kind = pick(value, _TYPE_WORDS)
        if kind is None:
            dispatcher.utter_message(text=t("privacy_type_unclear", lang_of(tracker)))
        return {"privacy_type": kind}

    def validate_privacy_identity(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        """The last 4 digits of the account's phone; three wrong tries end the form."""
        learner = learner_of(tracker)
        digits = "".join(c for c in str(value) if c.isdigit())
        if learner and learner.phone and len(digits) >= 4 and digits[-4:] == learner.phone[-4:]:
            return {"privacy_identity": "verified"}
        attempts = int(tracker.get_slot("privacy_attempts") or 0) + 1
        if attempts >= MAX_ATTEMPTS:
            return {"privacy_identity": "failed", "privacy_attempts": float(attempts)}
        dispatcher.utter_message(text=t("privacy_identity_wrong", lang_of(tracker)))
        return {"privacy_identity": None, "privacy_attempts": float(attempts)}


class ActionAskPrivacyType(AskAction):
    slot = "privacy_type"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return t("ask_privacy_type", lang), choices("privacy_types", lang, TYPES)


class ActionAskPrivacyIdentity(AskAction):
    slot = "privacy_identity"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return t("ask_privacy_identity", lang), []


class ActionSubmitPrivacy(Action):
    """Records the request for the privacy team and states the legal response time; an
    unconfirmed identity goes to a person instead."""

    def name(self) -> str:
        return "action_submit_privacy"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = lang_of(tracker)
        learner = learner_of(tracker)
        kind = tracker.get_slot("privacy_type") or "export"
        if learner is None or tracker.get_slot("privacy_identity") != "verified":
            return open_handoff(
                dispatcher,
                tracker,
                opening="privacy_identity_failed",
                reason="identity_not_confirmed",
                intent="privacy_request",
                team="compliance",
            )
        req = runtime.get().platform.submit_request(
            learner.id, f"privacy_{kind}", {"verified_by": "phone_last4"}
        )
        file_ticket(
            tracker,
            reason=f"privacy_{kind}",
            intent="privacy_request",
            team="compliance",
            channel="case",
            summary=f"Privacy request #{req.id}: {kind} data of learner {learner.id}",
        )
        dispatcher.utter_message(
            text=t(f"privacy_recorded_{kind}", lang, request_id=req.id, email=learner.email)
        )
        return reset_flow()
