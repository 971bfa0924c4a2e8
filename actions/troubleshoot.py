"""Guided troubleshooting for login, playback, payment and course-access problems: a few
steps from the learner's own data and from KB entries, then a person if none helped."""

import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import (
    lang_of,
    latest_intent,
    latest_text,
    metadata,
    previous_action,
    read_from,
)
from actions.handoff import open_handoff
from actions.orders import access_text, course_name, learner_of, match_order
from actions.slots import reset_flow
from actions.wording import date, mask_email, mask_phone
from bot import runtime, transcript
from course_platform import Learner
from course_platform.base import Order
from replies import button, t

TOPICS = ("login_problem", "playback_problem", "payment_problem", "course_access")
# in answer to a step, another problem starts its own guide only when read this surely
SURE_SWITCH = 0.9


def continues_guide(tracker: Tracker, intent: str | None, confidence: float | None) -> bool:
    """Is a problem named in answer to "did that help?" the step not helping?

    "视频还是加载不出来" after a playback step is the same problem, still there: the next
    step, not step 1 again. "换了网络也不行" (changed networks, still no good) reads as
    login_problem at 0.67 and "换了浏览器也不行" at 0.75: the step did not help, no login
    trouble. A real new problem ("我登录不上了", "my payment failed") reads at 1.0."""
    topic = tracker.get_slot("ts_topic")
    if not topic or previous_action(tracker) != "action_troubleshoot":
        return False
    guide = runtime.get().guides.get(topic) or {}
    return intent == guide.get("intent", topic) or (confidence or 0) < SURE_SWITCH


def personal_step(name: str, learner: Learner, tracker: Tracker, lang: str) -> str | None:
    """A step built from the learner's own account, orders and access."""
    platform = runtime.get().platform
    if name == "login_account":
        return t(
            "ts_login_account",
            lang,
            phone=mask_phone(learner.phone),
            email=mask_email(learner.email),
        )
    orders = platform.orders(learner.id)
    if name == "recent_orders":
        if not orders:
            return t("ts_recent_orders_none", lang)
        lines = [
            t(
                "ts_order_line",
                lang,
                order_id=o.id,
                course=course_name(o, lang),
                amount=o.amount,
                date=date(o.paid_at, lang),
                status=t(f"order_status_{o.status}", lang),
            )
            for o in orders[:3]
        ]
        return "\n".join(
            [t("ts_recent_orders_header", lang), *lines, t("ts_recent_orders_tail", lang)]
        )
    if name == "access_ended":
        ended = ended_order(orders, tracker)
        if ended is None:
            return None
        if ended.status == "refunded":
            return t("ts_access_refunded", lang, course=course_name(ended, lang))
        membership = ended.course is not None and ended.course.kind == "membership"
        return t(
            "ts_access_ended_membership" if membership else "ts_access_ended",
            lang,
            course=course_name(ended, lang),
            date=date(ended.paid_at, lang),
            ended=date(ended.access_until, lang),
        )
    if name == "purchased_courses":
        wanted = match_order(orders, latest_text(tracker), tracker.get_slot("course"))
        if wanted:
            return t(
                "ts_course_found",
                lang,
                course=course_name(wanted, lang),
                date=date(wanted.paid_at, lang),
                access=access_text(wanted, lang),
            )
        if not orders:
            return t("no_orders", lang)
        lines = [
            t(
                "ts_purchased_line",
                lang,
                course=course_name(o, lang),
                date=date(o.paid_at, lang),
                access=access_text(o, lang),
            )
            for o in orders[:6]
        ]
        return "\n".join([t("ts_purchased_header", lang), *lines, t("ts_purchased_tail", lang)])
    raise KeyError(f"unknown personal step {name!r}")


def opening_text(tracker: Tracker) -> str:
    """The message that started the guide: what its later steps are about, when the latest
    message is only "still not working"."""
    for event in reversed(tracker.events):
        parse = event.get("parse_data") or {}
        if event.get("event") == "user" and (parse.get("intent") or {}).get("name") in TOPICS:
            return event.get("text") or ""
    return latest_text(tracker)


def ended_order(orders: list[Order], tracker: Tracker, now: float | None = None) -> Order | None:
    """The order the guide's opening message names, if its access has ended or it was
    refunded: a course that will not open for that reason needs renewal or billing, not app
    steps."""
    wanted = match_order(orders, opening_text(tracker), tracker.get_slot("course"))
    now = time.time() if now is None else now
    if wanted and (
        wanted.status == "refunded"
        or (wanted.access_until is not None and wanted.access_until <= now)
    ):
        return wanted
    return None


def render_step(step: dict, learner: Learner | None, tracker: Tracker, lang: str) -> str | None:
    if "kinds" in step:  # a step only for some items: the membership article is not about
        ended = learner and ended_order(runtime.get().platform.orders(learner.id), tracker)
        if not ended or not ended.course or ended.course.kind not in step["kinds"]:
            return None  # a course bought on its own, which renewing a membership won't fix
    if "personal" in step:
        return personal_step(step["personal"], learner, tracker, lang) if learner else None
    if "kb" in step:
        entry = next(
            (e for e in runtime.get().kb.index.entries if e.id == f"{lang}-{step['kb']}"), None
        )
        return entry.answer.strip() if entry else None
    return step["text"]["zh" if lang == "zh" else "en"]


class ActionTroubleshoot(Action):
    """Shows the next troubleshooting step with "fixed" / "still not working" buttons; when
    the steps run out, hands over to the team with the steps already tried."""

    def name(self) -> str:
        return "action_troubleshoot"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        rt = runtime.get()
        lang = lang_of(tracker)
        intent, confidence = latest_intent(tracker)
        learner = learner_of(tracker)
        going_on = intent in TOPICS and continues_guide(tracker, intent, confidence)
        if going_on and (message_id := metadata(tracker).get("message_id")):
            # an answer to "did that help?": its intent names no need, the reports skip it
            rt.db.writing(transcript.mark_answer, int(message_id), "ts_step")
        if intent in TOPICS and not going_on:
            # a (new) problem: start from the first step
            topic, step = intent, 0
            ended = learner and ended_order(rt.platform.orders(learner.id), tracker)
            if topic == "course_access" and ended:
                topic = "course_access_ended"
        else:
            topic, step = tracker.get_slot("ts_topic"), int(tracker.get_slot("ts_step") or 0) + 1
        guide = rt.guides.get(topic or "")
        if not guide:
            return reset_flow()
        steps = [
            (i, text)
            for i, s in enumerate(guide["steps"])
            if (text := render_step(s, learner, tracker, lang))
        ]
        remaining = [(i, text) for i, text in steps if i >= step]
        if not remaining:
            tried = ", ".join(
                str(s.get("kb") or s.get("personal") or "text") for s in guide["steps"]
            )
            return open_handoff(
                dispatcher,
                tracker,
                opening="ts_exhausted",
                reason="troubleshooting_failed",
                intent=guide.get("intent", topic),
                team=guide.get("team"),
                summary=f"{topic}: tried {tried}; learner said: "
                + " / ".join(_learner_texts(tracker)),
            )
        index, text = remaining[0]
        position = [i for i, _ in steps].index(index) + 1
        # a fault told in complaint words: sorry, the fix first, and the complaint still open
        angry = step == 0 and read_from(tracker) == "complaint"
        heard = t("ts_heard_complaint", lang) + "\n\n" if angry else ""
        dispatcher.utter_message(
            json_message={
                "text": f"{heard}{t(f'ts_intro_{topic}', lang, n=position, total=len(steps))}"
                f"\n\n{text}\n\n{t('ts_did_it_help', lang)}",
                "buttons": [
                    button("btn_fixed", lang, "/affirm"),
                    button("btn_not_fixed", lang, "/deny"),
                ],
            }
        )
        return [SlotSet("ts_topic", topic), SlotSet("ts_step", float(index))]


def _learner_texts(tracker: Tracker) -> list[str]:
    return [
        e.get("text")
        for e in tracker.events
        if e.get("event") == "user" and e.get("text") and not e["text"].startswith("/")
    ][-3:]


class ActionTroubleshootDone(Action):
    """The learner's problem is fixed: says so and ends the guide."""

    def name(self) -> str:
        return "action_troubleshoot_done"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=t("ts_done", lang_of(tracker)))
        return reset_flow()
