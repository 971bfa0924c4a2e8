"""Answering from the knowledge base: answer with a citation, offer choices, or admit a miss."""

import json
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import lang_of, latest_text, previous_action
from actions.orders import learner_orders, only_an_order, show_order
from bot import runtime
from course_platform.course_match import only_a_course
from kb_index import Entry, gaps
from reading import asks_about
from replies import button, t

NONE_OF_THESE = "none"


def kb_pick(entry_id: str) -> str:
    """The button payload that answers one specific entry."""
    return "/ask_question" + json.dumps({"kb_entry": entry_id})


def picked_entry(tracker: Tracker) -> str | None:
    for ent in (tracker.latest_message or {}).get("entities") or []:
        if ent.get("entity") == "kb_entry":
            return str(ent.get("value"))
    return None


def citation(entry: Entry, base_url: str) -> dict[str, Any]:
    return {"id": entry.id, "title": entry.question, "url": f"{base_url}/help/{entry.id}"}


def utter_entry(
    dispatcher: CollectingDispatcher,
    entry: Entry,
    lang: str,
    base_url: str,
    score: float | None = None,
) -> None:
    # one custom message, so Rasa does not split the Markdown answer on blank lines
    dispatcher.utter_message(
        json_message={
            "text": t(
                "kb_answer", lang, answer=entry.answer.strip(), title=entry.question, id=entry.id
            ),
            "citation": citation(entry, base_url),
            "score": score,
            "feedback": True,
        }
    )


def record_miss(
    rt: runtime.Runtime, tracker: Tracker, query: str, lang: str, kind: str, best: list[dict]
) -> None:
    """Log the question the KB could not answer, for the content team's gaps view."""
    rt.db.writing(
        gaps.log_gap,
        conversation_id=tracker.sender_id,
        query=query,
        lang=lang,
        kind=kind,
        hits=best,
    )


# The KB categories that answer questions about each flow (a form, or the certificate
# action): what may be said before the flow's first question.
FLOW_TOPICS = {
    "refund_form": ("refunds", "membership"),
    "invoice_form": ("invoices",),
    "account_form": ("account",),
    "privacy_form": ("privacy",),
    "piracy_form": ("copyright",),
    "action_certificate": ("certificates",),
}


# Statements about a flow rather than requests for it: "cancel my subscription" or "我不想续费了"
# (read as refund requests) mostly mean "stop renewing", which needs no refund
_ABOUT_THE_FLOW = {"refund_form": re.compile(r"subscri|renew|续费|订阅|自动扣", re.I)}


def answer_before_flow(
    dispatcher: CollectingDispatcher, tracker: Tracker, flow: str, statements: bool = False
) -> bool:
    """A learner who asks *about* a flow ("能开专票吗", "can I get a refund?") is owed the
    answer, not only the flow's first question: when the message is phrased as a question
    (or is about the flow, `_ABOUT_THE_FLOW`, or, with `statements`, is any message) and the
    KB answers it confidently from the flow's
    own topic, the article comes first. Returns whether it answered."""
    query = latest_text(tracker)
    topics = FLOW_TOPICS.get(flow)
    about = _ABOUT_THE_FLOW.get(flow)
    said_about = statements or asks_about(query) or bool(about and about.search(query))
    if not topics or query.startswith("/") or not said_about:
        return False
    rt = runtime.get()
    lang = lang_of(tracker)
    decision = rt.kb.answer(query, lang=lang)
    if decision.kind != "answer" or decision.hits[0].entry.category not in topics:
        return False
    utter_entry(dispatcher, decision.hits[0].entry, lang, rt.base_url, decision.hits[0].score)
    return True


class ActionAnswerQuestion(Action):
    """Answers with the best KB entry and its source; offers up to 3 choices when unsure;
    after a second miss in a row, offers a person."""

    def name(self) -> str:
        return "action_answer_question"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        rt = runtime.get()
        lang = lang_of(tracker)
        misses = int(tracker.get_slot("kb_misses") or 0)

        picked = picked_entry(tracker)
        if picked and picked != NONE_OF_THESE:
            entry = next((e for e in rt.kb.index.entries if e.id == picked), None)
            if entry:
                utter_entry(dispatcher, entry, lang, rt.base_url)
                return [SlotSet("kb_misses", 0.0)]

        query = latest_text(tracker)
        if not picked and (order_id := only_an_order(query)):  # no KB question, an order
            return show_order(dispatcher, tracker, order_id)
        if not picked and (order := only_a_course(learner_orders(tracker), query)):
            return show_order(dispatcher, tracker, order.id)
        if picked == NONE_OF_THESE or query.startswith("/"):
            decision_kind, hits = "fallback", []
        else:
            decision = rt.kb.answer(query, lang=lang)
            decision_kind, hits = decision.kind, decision.hits

        if decision_kind == "answer":
            utter_entry(dispatcher, hits[0].entry, lang, rt.base_url, hits[0].score)
            return [SlotSet("kb_misses", 0.0)]

        if decision_kind == "clarify":
            record_miss(rt, tracker, query, lang, "clarify", [h.brief() for h in hits])
            buttons = [{"title": h.entry.question, "payload": kb_pick(h.entry.id)} for h in hits]
            buttons.append(
                {"title": t("kb_none_of_these", lang), "payload": kb_pick(NONE_OF_THESE)}
            )
            dispatcher.utter_message(text=t("kb_clarify", lang), buttons=buttons)
            return []

        if previous_action(tracker) == "action_troubleshoot" and tracker.get_slot("ts_topic"):
            # "iPhone app" in answer to "did that help?": not a yes, and not a KB question;
            # the guide goes on (its last step hands over with what the learner said)
            return [FollowupAction("action_troubleshoot")]
        if picked != NONE_OF_THESE and not query.startswith("/"):
            record_miss(rt, tracker, query, lang, "fallback", [h.brief() for h in hits])
        misses += 1
        # what came closest, if anything did: suggested on every miss, the second one too
        near = [h for h in hits if h.score >= rt.kb.thresholds.suggest][:3]
        buttons = [{"title": h.entry.question, "payload": kb_pick(h.entry.id)} for h in near]
        if misses >= 2:
            # offered, not imposed: a learner who would rather rephrase stays with the bot,
            # and one tap ("/request_human") reaches the right team with the whole chat
            dispatcher.utter_message(
                text=t("kb_no_match_offer_human_suggest" if near else "kb_no_match_offer_human",
                       lang),
                buttons=[
                    *buttons,
                    button("btn_human", lang, "/request_human"),
                    button("btn_keep_asking", lang, "/deny"),
                ],
            )
            return [SlotSet("kb_misses", 0.0)]
        # the first miss: say so, and still suggest what came closest
        if near:
            buttons.append(
                {"title": t("kb_none_of_these", lang), "payload": kb_pick(NONE_OF_THESE)}
            )
        dispatcher.utter_message(
            text=t("kb_no_match_suggest" if near else "kb_no_match", lang), buttons=buttons
        )
        return [SlotSet("kb_misses", float(misses))]


class ActionOutOfScope(Action):
    """What the NLU calls out of scope may be what the content team published after the
    model was trained ("how do I get the night owl badge?"): the KB is asked first, and only
    a message it cannot answer gets the out-of-scope reply. That miss is logged as a gap, so
    editors see it. (On our own 844 out-of-scope training examples the KB answers none.)"""

    def name(self) -> str:
        return "action_out_of_scope"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        rt = runtime.get()
        lang = lang_of(tracker)
        query = latest_text(tracker)
        decision = rt.kb.answer(query, lang=lang)
        if decision.kind == "answer":
            utter_entry(
                dispatcher, decision.hits[0].entry, lang, rt.base_url, decision.hits[0].score
            )
            return [SlotSet("kb_misses", 0.0)]
        record_miss(rt, tracker, query, lang, "out_of_scope", [h.brief() for h in decision.hits])
        dispatcher.utter_message(response="utter_out_of_scope")
        return []
