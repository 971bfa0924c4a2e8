"""Certificates: check completion for the learner's courses; issue it or say what is missing."""

import json
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import lang_of, latest_text
from actions.kb import answer_before_flow
from actions.orders import course_name, learner_of, match_order
from actions.slots import reset_flow
from actions.wording import date
from bot import runtime
from course_platform.base import Order, Progress
from replies import t

COMPLETION = 0.90
# "错过" is missing something, not a fault
_FAULT = re.compile(r"错(?!过)|不对|有误|wrong|mistake|typo|incorrect|misspel", re.I)


def reports_a_fault(text: str) -> bool:
    """Does the message say something about a certificate is wrong?"""
    return bool(_FAULT.search(text))


class ActionCertificate(Action):
    """Issues the certificate for a completed course; otherwise shows progress and what is
    still needed, or asks which course when several could be meant."""

    def name(self) -> str:
        return "action_certificate"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        rt = runtime.get()
        lang = lang_of(tracker)
        learner = learner_of(tracker)
        # something wrong with a certificate ("证书上的名字写错了") is a problem with one the
        # learner has: its article, and no new certificate issued with a "congratulations"
        if reports_a_fault(latest_text(tracker)) and answer_before_flow(
            dispatcher, tracker, self.name(), statements=True
        ):
            return reset_flow()
        # "does the certificate show my score?" gets the article, then where they stand
        answer_before_flow(dispatcher, tracker, self.name())
        orders = [
            o
            for o in (rt.platform.orders(learner.id) if learner else [])
            if o.status != "refunded" and o.course and o.course.kind == "recorded"
        ]
        if not orders:
            dispatcher.utter_message(text=t("cert_no_courses", lang))
            return reset_flow()
        picked = match_order(orders, latest_text(tracker), tracker.get_slot("course"))
        candidates = [picked] if picked else orders
        states = []
        for o in candidates:
            p = rt.platform.progress(learner.id, o.course_id)
            done = bool(p and p.progress >= COMPLETION and p.quiz_passed)
            states.append((o, p, done))
        ready = [s for s in states if s[2]]
        if picked or len(ready) == 1 or len(candidates) == 1:
            order, progress, done = (ready or states)[0]
            earlier = next(
                (
                    r
                    for r in rt.platform.requests(learner.id, "certificate")
                    if r.payload.get("course_id") == order.course_id
                ),
                None,
            )
            if done and earlier:
                # asking again (or asking about the certificate) must not issue a second one
                dispatcher.utter_message(
                    text=t(
                        "cert_already",
                        lang,
                        request_id=earlier.id,
                        course=course_name(order, lang),
                        date=date(earlier.created_at, lang),
                    )
                )
            elif done:
                req = rt.platform.submit_request(
                    learner.id, "certificate", {"course_id": order.course_id}
                )
                dispatcher.utter_message(
                    text=t("cert_issued", lang, request_id=req.id, course=course_name(order, lang))
                )
            else:
                dispatcher.utter_message(text=not_yet(order, progress, lang))
            if done and not picked:
                # "我的证书怎么还没发" may be about another course: say where those stand
                for o, p, _ in [s for s in states if not s[2]][:3]:
                    dispatcher.utter_message(text=not_yet(o, p, lang))
            return reset_flow()
        buttons = [
            {
                "title": course_name(o, lang),
                "payload": "/certificate_request" + json.dumps({"course": o.course_id}),
            }
            for o, _, _ in states[:6]
        ]
        dispatcher.utter_message(text=t("cert_pick_course", lang), buttons=buttons)
        return []


def not_yet(order: Order, progress: Progress | None, lang: str) -> str:
    """Where a course stands on the way to its certificate."""
    quiz = "" if progress and progress.quiz_passed else t("cert_quiz_missing", lang)
    return t(
        "cert_not_yet",
        lang,
        course=course_name(order, lang),
        progress=round((progress.progress if progress else 0) * 100),
        quiz=quiz,
    )
