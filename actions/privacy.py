"""Privacy requests (export or delete my data): confirm it is the account holder, warn that
a deletion is final and ask for a yes before recording it, record the request for the
privacy team, and state the legal response time.

Who is asking: the signed-in session says which account, and a one-time code the course
platform sends to the account's phone (else its email) says the person typing holds it
(bot/identity.py). The phone's last 4 digits did that before, while the login guide showed
them in "138****1001": the bot gave its own secret away. The code goes out when the form
first asks who they are; a learner may ask for another ("resend", its button), an expired
code is replaced at once, and wrong codes are counted per learner in the database, so
starting the flow again gives no new tries. Locked out, not signed in, or an account with
nowhere to send a code: the request goes to a person of the privacy team. The bot shows
nothing about the phone but where the platform says it sent the code, masked its own way.

The `privacy_identity` slot holds what came of it: verified, locked, or failed.
"""

import math
import re
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import handoff
from actions import wording
from actions.asking import AskAction
from actions.context import lang_of, latest_text, learner_id
from actions.form_guard import GuardedFormValidation
from actions.handoff import open_handoff
from actions.slots import option_at_start, reset_flow
from actions.wording import date, pick
from bot import audit, identity, privacy_requests, runtime
from reading import asks_about
from replies import button, choices, t

TYPES = ["export", "delete"]
_TYPE_WORDS = {
    "delete": ("delete", "erase", "remove", "close", "删除", "注销", "销户"),
    "export": ("export", "copy", "download", "导出", "副本", "下载"),
}
# what the platform's text message says the code is for (course_platform.base.send_code)
PURPOSES = {"export": "privacy_export", "delete": "privacy_delete"}
# how the request's learner proved who they are (bot/tables.py privacy_requests)
VERIFIED_BY = "session+code"
# the payload of the "resend" button; typed, these words ask for another code too
RESEND = "resend"
_RESEND_WORDS = re.compile(
    r"resend|send (it |a code |a new one |another one )?again|(new|another) code|"
    r"didn'?t (get|receive)|not (got|received)|no code|"
    r"重新发|重发|再发|没收到|没有收到|收不到|没有验证码|没验证码",
    re.IGNORECASE,
)


def asks_for_new_code(text: str) -> bool:
    return text.strip().lower() == RESEND or bool(_RESEND_WORDS.search(text))


def send_new_code(
    tracker: Tracker, learner: str
) -> str | None | identity.Locked | identity.TooSoon:
    """A new code for the learner's request, sent by the platform: where it went (masked by
    the platform), None when the account has no phone and no email, else why none went."""
    rt = runtime.get()
    purpose = PURPOSES.get(tracker.get_slot("privacy_type") or "", "")
    with rt.db.write() as conn:
        issued = rt.identity.issue(conn, learner, purpose)
    if not isinstance(issued, identity.Issued):
        return issued
    # after the commit, outside the unit of work: the platform is another system (the demo
    # one opens its own connection), and a code that was never stored must not go out
    return rt.platform.send_code(learner, issued.code, purpose, lang_of(tracker))


def moment(ts: float) -> str:
    """A time of day on a date, in the desk's time zone (the same in both languages)."""
    return datetime.fromtimestamp(ts, ZoneInfo(runtime.get().hours.tz)).strftime("%Y-%m-%d %H:%M")


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

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Once the kind of request is known, before the identity is first asked for, the
        code goes out; when none can, the form ends here and a person takes over."""
        asked = tracker.get_slot("requested_slot")
        events = await super().run(dispatcher, tracker, domain)
        if (
            asked == "privacy_identity"  # the code went out then
            or tracker.get_slot("privacy_type") not in TYPES
            or tracker.get_slot("privacy_identity") is not None
        ):
            return events
        learner = learner_id(tracker)
        sent = send_new_code(tracker, learner) if learner else None
        if isinstance(sent, str):
            return [*events, SlotSet("privacy_code_to", sent)]
        if isinstance(sent, identity.TooSoon):  # the flow again, within the minute
            return [*events, SlotSet("privacy_code_to", None)]
        status = "locked" if isinstance(sent, identity.Locked) else "failed"
        return [*events, SlotSet("privacy_identity", status), SlotSet("requested_slot", None)]

    def holds_value(self, tracker: Tracker, slot: str, text: str) -> bool:
        # "yes" reads as small talk elsewhere; here it is the answer. "没收到" is no errand
        # (a login problem) at the code question: it asks for another code.
        if slot == "privacy_identity":
            return asks_for_new_code(text)
        return slot == "flow_confirmed" and confirmed(tracker, text)

    def extract_privacy_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        # a question about deleting ("how do I delete my account?") is answered first
        # (AskAction): no code goes to the phone before the learner picks a request
        if asks_about(latest_text(tracker)):
            return {}
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
        """The code sent when the form first asked (`run`); a message without digits is
        no try, and asking for another code sends one unless the last went out less than a
        minute ago."""
        text = str(value)
        lang = lang_of(tracker)
        if switched := other_type(tracker, text):
            dispatcher.utter_message(text=t(f"privacy_switched_{switched}", lang))
            return {"privacy_type": switched, "privacy_identity": None}
        learner = learner_id(tracker)
        if learner is None:
            return {"privacy_identity": "failed"}
        if asks_for_new_code(text):
            return self.new_code(dispatcher, tracker, learner, "privacy_code_resent")
        if not identity.digits_of(text):  # "ok", "where is it": asked again
            return {"privacy_identity": None}
        rt = runtime.get()
        with rt.db.write() as conn:
            checked = rt.identity.check(conn, learner, text)
        if isinstance(checked, identity.Verified):
            return {"privacy_identity": "verified"}
        if isinstance(checked, identity.Wrong):
            dispatcher.utter_message(
                text=t("privacy_identity_wrong", lang, tries=checked.tries_left)
            )
            return {"privacy_identity": None}
        if isinstance(checked, identity.Locked):
            return {"privacy_identity": "locked"}
        # expired, or none live (burnt elsewhere): a new one at once, no wait
        expired = isinstance(checked, identity.Expired)
        copy = "privacy_code_expired" if expired else "privacy_code_resent"
        return self.new_code(dispatcher, tracker, learner, copy)

    @staticmethod
    def new_code(
        dispatcher: CollectingDispatcher, tracker: Tracker, learner: str, copy: str
    ) -> dict[str, Any]:
        lang = lang_of(tracker)
        sent = send_new_code(tracker, learner)
        if isinstance(sent, identity.Locked):
            return {"privacy_identity": "locked"}
        if sent is None:
            return {"privacy_identity": "failed"}
        if isinstance(sent, identity.TooSoon):
            seconds = max(1, math.ceil(sent.retry_at - time.time()))
            dispatcher.utter_message(text=t("privacy_code_wait", lang, seconds=seconds))
        else:
            dispatcher.utter_message(text=t(copy, lang, to=sent))
        return {"privacy_identity": None}

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
    export my data" where the code goes, after "delete my account"): it is no wrong code.
    A message with digits is an answer to that question."""
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
    """Where the code went, the first time; after that (a wrong code, another code sent, a
    question answered) only the question again."""

    slot = "privacy_identity"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        buttons = [button("btn_resend_code", lang, RESEND)]
        if asking_when_they_wrote(tracker) == self.slot:
            return t("ask_privacy_code_again", lang), buttons
        if to := tracker.get_slot("privacy_code_to"):
            return t("ask_privacy_identity", lang, to=to), buttons
        return t("privacy_code_recent", lang), buttons


def asking_when_they_wrote(tracker: Tracker) -> str | None:
    """The slot the form was asking for when the learner's latest message came. The form
    runs its ask actions itself, so no event names them (`previous_action` is the form)."""
    asking = asked = None
    for event in tracker.events:
        kind = event.get("event")
        if kind == "slot" and event.get("name") == "requested_slot":
            asking = event.get("value")
        elif kind == "user":
            asked = asking
    return asked


class ActionSubmitPrivacy(Action):
    """Records the request for the privacy team and states the legal response time; an
    unconfirmed identity goes to a person instead."""

    def name(self) -> str:
        return "action_submit_privacy"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = lang_of(tracker)
        learner = learner_id(tracker)
        kind = tracker.get_slot("privacy_type") or "export"
        if learner is None or tracker.get_slot("privacy_identity") != "verified":
            return not_confirmed(dispatcher, tracker, learner, kind)
        if kind == "delete" and tracker.get_slot("flow_confirmed") != "yes":
            # never recorded without the yes the form asks for (the warning comes first)
            dispatcher.utter_message(text=t("form_stopped", lang))
            return reset_flow()
        rt = runtime.get()
        # the case, the request with its deadline and the audit record stand or fall together
        with rt.db.write() as conn:
            ticket = handoff.create_ticket(
                conn,
                tracker.sender_id,
                reason=f"privacy_{kind}",
                intent="privacy_request",
                team="compliance",
                channel="case",
                hours=rt.hours,
                summary=f"Privacy request: {kind} the data of learner {learner}",
            )
            request = privacy_requests.open_request(
                conn,
                learner_id=learner,
                kind=kind,
                conversation_id=tracker.sender_id,
                ticket_id=ticket.id,
                verified_by=VERIFIED_BY,
                tz=rt.hours.tz,
            )
            audit.record(
                conn,
                "privacy.request",
                actor=f"learner:{learner}",
                subject=f"privacy_request:{request['id']}",
                learner_id=learner,
                detail={"kind": kind, "ticket_id": ticket.id, "verified_by": VERIFIED_BY},
            )
        dispatcher.utter_message(
            text=t(
                f"privacy_recorded_{kind}",
                lang,
                request_id=request["id"],
                due=date(request["due_at"], lang),
            )
        )
        return reset_flow()


def not_confirmed(
    dispatcher: CollectingDispatcher, tracker: Tracker, learner: str | None, kind: str
) -> list[dict[str, Any]]:
    """To a person of the privacy team, who confirms the identity another way; a learner
    locked out hears until when."""
    rt = runtime.get()
    until = None
    if learner and tracker.get_slot("privacy_identity") == "locked":
        until = rt.db.reading(identity.locked_until, learner)
    why = "code checks locked" if until else "no code could be checked"
    return open_handoff(
        dispatcher,
        tracker,
        opening="privacy_identity_locked" if until else "privacy_identity_failed",
        opening_values={"until": moment(until)} if until else None,
        reason="identity_not_confirmed",
        intent="privacy_request",
        team="compliance",
        summary=f"Privacy request: {kind} the data of learner {learner or '?'}; "
        f"identity not confirmed ({why})",
    )
