"""Privacy requests (export or delete my data): confirm it is the account holder, warn that
a deletion is final and ask for a yes before recording it, record the request for the
privacy team, and state the legal response time."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import wording
from actions.asking import AskAction
from actions.context import lang_of
from actions.form_guard import GuardedFormValidation
from actions.handoff import file_ticket, open_handoff
from actions.orders import learner_of
from actions.slots import option_at_start, reset_flow
from actions.wording import pick
from bot import runtime
from replies import button, choices, t

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

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict,
    ) -> list[str]:
        """A deletion is final: once the identity is confirmed, a yes is asked for (an
        export, or an identity not confirmed, needs none)."""
        if (
            tracker.get_slot("privacy_type") == "delete"
            and tracker.get_slot("privacy_identity") == "verified"
        ):
            return domain_slots
        return [s for s in domain_slots if s != "flow_confirmed"]

    def holds_value(self, tracker: Tracker, slot: str, text: str) -> bool:
        # "yes" reads as small talk elsewhere; here it is the answer
        return slot == "flow_confirmed" and confirmed(tracker, text)

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
        if switched := other_type(tracker, str(value)):
            dispatcher.utter_message(text=t(f"privacy_switched_{switched}", lang_of(tracker)))
            return {"privacy_type": switched, "privacy_identity": None}
        learner = learner_of(tracker)
        digits = "".join(c for c in str(value) if c.isdigit())
        if learner and learner.phone and len(digits) >= 4 and digits[-4:] == learner.phone[-4:]:
            return {"privacy_identity": "verified"}
        attempts = int(tracker.get_slot("privacy_attempts") or 0) + 1
        if attempts >= MAX_ATTEMPTS:
            return {"privacy_identity": "failed", "privacy_attempts": float(attempts)}
        dispatcher.utter_message(text=t("privacy_identity_wrong", lang_of(tracker)))
        return {"privacy_identity": None, "privacy_attempts": float(attempts)}

    def validate_flow_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        if confirmed(tracker, str(value)):
            return {"flow_confirmed": "yes"}
        if switched := other_type(tracker, str(value)):  # the identity stays confirmed
            dispatcher.utter_message(text=t(f"privacy_switched_{switched}", lang_of(tracker)))
            return {"privacy_type": switched, "flow_confirmed": None}
        dispatcher.utter_message(text=t("privacy_confirm_unclear", lang_of(tracker)))
        return {"flow_confirmed": None}


def other_type(tracker: Tracker, text: str) -> str | None:
    """The other kind of request, when a later answer asks for it instead ("no wait, just
    export my data" where the phone's last digits go, after "delete my account"): it was
    counted as a wrong identity. A message with digits is an answer to that question."""
    if sum(c.isdigit() for c in text) >= 4:
        return None
    kind = pick(text, _TYPE_WORDS)
    return kind if kind and kind != tracker.get_slot("privacy_type") else None


def confirmed(tracker: Tracker, text: str) -> bool:
    """A yes to the deletion warning (`confirmed`, or "注销吧")."""
    return wording.confirmed(tracker, text, also=("注销吧",))


class ActionAskFlowConfirmed(AskAction):
    """The warning before a deletion is recorded, with yes and no (no leaves the form)."""

    slot = "flow_confirmed"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return t("ask_privacy_confirm_delete", lang), [
            button("btn_confirm_delete", lang, "/affirm"),
            button("btn_keep_account", lang, "/deny"),
        ]


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
        if kind == "delete" and tracker.get_slot("flow_confirmed") != "yes":
            # never recorded without the yes the form asks for (the warning comes first)
            dispatcher.utter_message(text=t("form_stopped", lang))
            return reset_flow()
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
