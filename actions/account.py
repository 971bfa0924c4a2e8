"""Account changes: which field, the new value (never a password), recorded for the
account team with a confirmation step."""

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.asking import AskAction
from actions.context import lang_of, latest_text
from actions.form_guard import GuardedFormValidation
from actions.orders import learner_of
from actions.slots import at_form_start, option_at_start, reset_flow
from actions.wording import pick
from bot import runtime
from course_platform.validation import find_email, find_phone
from reading.values import nickname
from replies import choices, t

# "改成小王同学", "change it to Emma", "set my nickname to Emma": the new nickname, up to the
# end of the message ("to" after the name or "it": "I want to change my nickname" gives none)
_NEW_NAME = re.compile(
    r"(?:改成|改为|换成|(?:name|\bit)\s+to\b)\s*[\"“「]?([^\"”」。！!]{2,20}?)[\"”」。！!]*\s*$",
    re.IGNORECASE,
)

FIELDS = ["phone", "email", "nickname", "password"]
# password first: "change the password for my email" is about the password
_FIELD_WORDS = {
    "password": ("password", "pwd", "密码"),
    "email": ("email", "e-mail", "mail", "邮箱"),
    "phone": ("phone", "mobile", "number", "手机", "电话"),
    "nickname": ("nickname", "username", "name", "昵称", "名字", "用户名"),
}


class ValidateAccountForm(GuardedFormValidation):
    own_intent = "account_update"

    def name(self) -> str:
        return "validate_account_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict,
    ) -> list[str]:
        """Passwords are never typed into chat, so no value is asked for them."""
        if tracker.get_slot("account_field") == "password":
            return ["account_field"]
        return domain_slots

    def extract_account_field(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        return option_at_start(tracker, "account_field", _FIELD_WORDS, first="password")

    def extract_account_value(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        """The new value when the first message already has it ("把手机号换成 139…",
        "change my nickname to Emma")."""
        field = tracker.get_slot("account_field")
        if field not in ("phone", "email", "nickname") or not at_form_start(
            tracker, "account_value"
        ):
            return {}
        text = latest_text(tracker)
        if field == "nickname":
            # "can I change my nickname to something else?" asks; it does not give a name
            said = None if text.rstrip().endswith(("?", "？")) else _NEW_NAME.search(text)
            value = said.group(1).strip() if said else None
            if value and not nickname(value):  # "…to change it", a request, is no name
                value = None
        else:
            value = (find_phone if field == "phone" else find_email)(text)
        return {"account_value": value} if value else {}

    def validate_account_field(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        field = pick(value, _FIELD_WORDS)
        if field is None:
            dispatcher.utter_message(text=t("account_field_unclear", lang_of(tracker)))
        return {"account_field": field}

    def validate_account_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        field = tracker.get_slot("account_field")
        text = str(value).strip()
        found = {"phone": find_phone, "email": find_email}.get(field, lambda s: s)(text)
        if field == "nickname" and not 2 <= len(text) <= 20:
            found = None
        if not found:
            dispatcher.utter_message(
                text=t(f"account_value_invalid_{field}", lang_of(tracker), value=text[:40])
            )
            return {"account_value": None}
        return {"account_value": found}


class ActionAskAccountField(AskAction):
    slot = "account_field"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return t("ask_account_field", lang), choices("account_fields", lang, FIELDS)


class ActionAskAccountValue(AskAction):
    slot = "account_value"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return t(f"ask_account_value_{tracker.get_slot('account_field')}", lang), []


class ActionSubmitAccount(Action):
    """Records the change and says how it is confirmed; for passwords, explains the
    self-service reset instead."""

    def name(self) -> str:
        return "action_submit_account"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = lang_of(tracker)
        field = tracker.get_slot("account_field")
        learner = learner_of(tracker)
        if field == "password" or learner is None:
            dispatcher.utter_message(text=t("account_password", lang))
            return reset_flow()
        value = tracker.get_slot("account_value")
        req = runtime.get().platform.submit_request(
            learner.id, "account_update", {"field": field, "value": value}
        )
        dispatcher.utter_message(
            text=t(
                "account_recorded",
                lang,
                request_id=req.id,
                field=t(f"field_{field}", lang),
                value=value,
                confirm=t(f"account_confirm_{field}", lang),
            )
        )
        return reset_flow()
