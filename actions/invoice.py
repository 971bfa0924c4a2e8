"""Invoices: order, personal or company, title, tax id for companies, email; validated,
then recorded for the billing back office."""

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.asking import AskAction
from actions.context import lang_of, latest_text
from actions.form_guard import GuardedFormValidation
from actions.invoiceable import invoice_refusal, invoice_requests, refunds_pending
from actions.order_question import named_order, validate_order
from actions.orders import (
    about_order,
    chosen_order,
    course_name,
    learner_of,
    learner_orders,
    names_an_order,
)
from actions.slots import option_at_start, reset_flow
from actions.wording import pick
from bot import runtime
from course_platform.validation import find_email, find_tax_id
from replies import choices, t

TYPES = ["personal", "company"]
_TYPE_WORDS = {
    "personal": ("personal", "person", "individual", "个人", "自己"),
    "company": ("company", "business", "corporate", "企业", "公司", "单位"),
}

# what says the type in a request that is about more than the type ("给个人理财那门课开发票"
# names a course with 个人 in it; only "个人发票" / "个人抬头" say personal)
_TYPE_IN_REQUEST = {
    "personal": ("个人发票", "个人抬头", "个人名义", "personal invoice", "individual"),
    "company": ("company", "business", "corporate", "企业", "公司", "单位"),
}


def without_course_words(tracker: Tracker) -> str:
    """The latest message without the names of the learner's courses, English ones word by
    word: "an invoice for Business English" names a course, not a company invoice."""
    text = latest_text(tracker)
    for order in learner_orders(tracker):
        if order.course is None:
            continue
        text = text.replace(order.course.name_zh, " ")
        for word in re.findall(r"[A-Za-z]{3,}", order.course.name_en):
            text = re.sub(rf"\b{re.escape(word)}\b", " ", text, flags=re.IGNORECASE)
    return text


class ValidateInvoiceForm(GuardedFormValidation):
    own_intent = "invoice_request"

    def name(self) -> str:
        return "validate_invoice_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict,
    ) -> list[str]:
        """A tax id only for company invoices."""
        if tracker.get_slot("invoice_type") != "company":
            return [s for s in domain_slots if s != "tax_id"]
        return domain_slots

    def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        return named_order(tracker)

    def extract_invoice_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        return option_at_start(
            tracker, "invoice_type", _TYPE_IN_REQUEST, text=without_course_words(tracker)
        )

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        # asked for the order, the learner said the type first ("我要开公司发票"): keep it
        # and ask for the order again, rather than report an order called that
        text = str(value)
        kind = pick(text, _TYPE_IN_REQUEST)
        if kind and not tracker.get_slot("invoice_type") and not names_an_order(tracker, text):
            lang = lang_of(tracker)
            label = dict(zip(TYPES, t("invoice_types", lang).split("|"), strict=True))[kind]
            noted = t("invoice_type_noted", lang, type=label if lang == "zh" else label.lower())
            dispatcher.utter_message(text=noted)
            return {"order_id": None, "invoice_type": kind}
        result = validate_order(value, dispatcher, tracker, domain)
        if not result["order_id"]:
            return result
        lang = lang_of(tracker)
        learner = learner_of(tracker)
        order = runtime.get().platform.order(learner.id, result["order_id"]) if learner else None
        earlier = next(
            (
                r
                for r in invoice_requests(tracker)
                if order and r.payload.get("order_id") == order.id
            ),
            None,
        )
        pending = bool(order) and order.id in refunds_pending(tracker)
        why = invoice_refusal(order, earlier, lang, pending) if order else None
        if order and why:
            dispatcher.utter_message(
                text=t(
                    "invoice_order_not_eligible",
                    lang,
                    order_id=order.id,
                    course=course_name(order, lang),
                    why=why,
                )
            )
            return {"order_id": None}
        return result

    def validate_invoice_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        kind = pick(value, _TYPE_WORDS)
        if kind is None:
            dispatcher.utter_message(text=t("invoice_type_unclear", lang_of(tracker)))
        return {"invoice_type": kind}

    def validate_invoice_title(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        title = str(value).strip()
        if not 2 <= len(title) <= 100:
            dispatcher.utter_message(text=t("invoice_title_invalid", lang_of(tracker)))
            return {"invoice_title": None}
        return {"invoice_title": title}

    def validate_tax_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        found = find_tax_id(str(value))
        if found:
            return {"tax_id": found}
        dispatcher.utter_message(
            text=t("tax_id_invalid", lang_of(tracker), value=str(value).strip()[:40])
        )
        return {"tax_id": None}

    def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        email = find_email(str(value))
        if email:
            return {"email": email}
        dispatcher.utter_message(
            text=t("email_invalid", lang_of(tracker), value=str(value).strip()[:60])
        )
        return {"email": None}


class ActionAskInvoiceType(AskAction):
    slot = "invoice_type"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return about_order(tracker, lang) + t("ask_invoice_type", lang), choices(
            "invoice_types", lang, TYPES
        )


class ActionAskInvoiceTitle(AskAction):
    """Companies type their registered name; a person may tap their own name."""

    slot = "invoice_title"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        if tracker.get_slot("invoice_type") == "company":
            return t("ask_invoice_title_company", lang), []
        learner = learner_of(tracker)
        return t("ask_invoice_title", lang), (
            [{"title": learner.name, "payload": learner.name}] if learner else []
        )


class ActionAskTaxId(AskAction):
    slot = "tax_id"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return t("ask_tax_id", lang), []


class ActionAskEmail(AskAction):
    """Offers the email on the learner's account as a one-tap answer."""

    slot = "email"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        learner = learner_of(tracker)
        return t("ask_email_invoice", lang), (
            [{"title": learner.email, "payload": learner.email}]
            if learner and learner.email
            else []
        )


class ActionSubmitInvoice(Action):
    """Records the invoice request and says where and when it will arrive."""

    def name(self) -> str:
        return "action_submit_invoice"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        rt = runtime.get()
        lang = lang_of(tracker)
        learner, order = chosen_order(tracker)
        if learner is None or order is None:
            dispatcher.utter_message(text=t("no_orders", lang))
            return reset_flow()
        kind = tracker.get_slot("invoice_type") or "personal"
        payload = {
            "order_id": order.id,
            "amount": order.amount,
            "type": kind,
            "title": tracker.get_slot("invoice_title"),
            "email": tracker.get_slot("email"),
            "tax_id": tracker.get_slot("tax_id") if kind == "company" else None,
        }
        req = rt.platform.submit_request(learner.id, "invoice", payload)
        dispatcher.utter_message(
            text=t(
                "invoice_recorded",
                lang,
                request_id=req.id,
                type=t(f"invoice_type_{kind}", lang),
                title=payload["title"],
                order_id=order.id,
                amount=order.amount,
                email=payload["email"],
            )
        )
        return reset_flow()
