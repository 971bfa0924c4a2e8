"""Complaints: acknowledge, collect category and description, judge severity, file a
high-priority case for the right team, and offer a person now. A complaint about a technical
fault ("I want to file a complaint: the app crashes every time I open a lesson") is the tech
team's, and its troubleshooting guide is offered with it: the learner asked for both."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import handoff
from actions.asking import AskAction
from actions.context import lang_of, latest_text
from actions.form_guard import GuardedFormValidation
from actions.handoff import file_ticket, recent_learner_texts
from actions.slots import reset_flow
from actions.wording import codes_named, pick, says
from bot import runtime, transcript
from kb_index.lang import detect_lang
from reading.needs import tech_problem
from replies import button, choices, t

CATEGORIES = ["content", "teacher", "tech", "service", "billing", "other"]
TEAM_BY_CATEGORY = {"tech": "tech", "billing": "billing"}  # the rest: customer care
_CATEGORY_WORDS = {
    "content": ("content", "course", "内容", "课程"),
    "teacher": ("teacher", "老师", "讲师"),
    "tech": (
        "app",
        "website",
        "网站",
        "技术",
        "bug",
        "load",
        "crash",
        "play",
        "login",
        "log in",
        "加载",
        "播放",
        "闪退",
        "卡顿",
        "打不开",
        "登录",
        "登不上",
    ),
    "service": ("service", "客服", "服务"),
    "billing": ("billing", "refund", "charge", "扣费", "退款", "收费"),
    "other": ("else", "other", "其他", "别的"),
}


# "course" says little in a course platform: "my course won't load" is about the app
_CONTENT_STRONG = ("content", "内容")
# the guides the tech team's complaints may offer (data/troubleshooting.yml), in the order a
# tie between the NLU's readings of them is broken
GUIDES = ("playback_problem", "login_problem", "course_access")
# how surely the NLU must have read a guide's intent in a tech complaint naming no fault, for
# that guide to be offered ("the website is awful" names none, and no guide is sure of it)
GUIDE_READING = 0.1


def named_category(text: str) -> str | None:
    """The one category the learner's message names clearly, if it names exactly one. A bare
    "course / 课程" names content only when nothing else is named. A technical fault named in
    any words ("课程视频没有声音", "the verification code is always rejected") is tech."""
    named = codes_named(text, _CATEGORY_WORDS) - {"other"}
    if tech_problem(text) in GUIDES:
        named.add("tech")
    if len(named) > 1 and not any(says(text.lower(), w) for w in _CONTENT_STRONG):
        named.discard("content")
    return named.pop() if len(named) == 1 else None


def _complaint_turns(tracker: Tracker) -> list[dict[str, Any]]:
    """The learner's messages of the complaint being filed: from the one it started with
    (the last before the acknowledgement) to the latest."""
    events = tracker.events
    start = 0
    for i, event in enumerate(events):
        if event.get("event") == "action" and event.get("name") == "action_acknowledge_complaint":
            start = next(
                (j for j in range(i, -1, -1) if events[j].get("event") == "user"), start
            )
    return [e for e in events[start:] if e.get("event") == "user"]


def guide_for(tracker: Tracker) -> str | None:
    """The troubleshooting guide for the fault a tech complaint is about: the fault its words
    name (reading.needs), else the guide the NLU ranked highest on its messages."""
    turns = _complaint_turns(tracker)
    texts = [*(e.get("text") or "" for e in turns), tracker.get_slot("complaint_description") or ""]
    for text in texts:
        if (topic := tech_problem(text)) in GUIDES:
            return topic
    scores: dict[str, float] = {}
    for e in turns:
        for r in (e.get("parse_data") or {}).get("intent_ranking") or []:
            if r.get("name") in GUIDES:
                scores[r["name"]] = max(scores.get(r["name"], 0.0), r.get("confidence") or 0.0)
    best = max(GUIDES, key=lambda g: scores.get(g, 0.0))
    return best if scores.get(best, 0.0) >= GUIDE_READING else None


def _user_intents(tracker: Tracker) -> list[str]:
    return [
        ((e.get("parse_data") or {}).get("intent") or {}).get("name")
        for e in tracker.events
        if e.get("event") == "user"
    ]


def complaints_raised(tracker: Tracker) -> int:
    """How often the learner raised a complaint in this conversation. Answers to the
    complaint form's own questions ("内容太浅了，和宣传的不一样" as what it is about) read as
    `complaint` too, but are no second complaint: counted, they marked nearly every
    complaint "repeated" and raised its priority."""
    count, form = 0, None
    for event in tracker.events:
        if event.get("event") == "active_loop":
            form = event.get("name")
        elif event.get("event") == "user" and form != "complaint_form":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            count += intent == "complaint"
    return count


def assess(tracker: Tracker) -> handoff.Severity:
    rt = runtime.get()
    intents = _user_intents(tracker)
    earlier = rt.db.reading(transcript.complaints_elsewhere, tracker.sender_id)
    texts = [*recent_learner_texts(tracker, n=20), tracker.get_slot("complaint_description") or ""]
    return handoff.assess_complaint(
        texts,
        complaints_raised(tracker),
        refund_in_conversation=bool({"refund_request", "refund_status"} & set(intents)),
        earlier_complaints=earlier,
    )


def open_complaint(tracker: Tracker) -> handoff.Ticket | None:
    """This conversation's complaint case still waiting for a person, if any: a complaint
    typed after it is filed adds to it ("客服直接挂我电话") rather than filing it again."""
    ticket = runtime.get().db.reading(handoff.open_ticket, tracker.sender_id)
    return ticket if ticket and ticket.reason == "complaint" else None


def _long_enough(text: str, zh: int = 15, en: int = 10) -> bool:
    """Is the first message already a description worth keeping? (It has "我要投诉" and
    the like around it; an answer to the category question has not, so it needs fewer.)"""
    if detect_lang(text) == "zh":
        return len(text.strip()) >= zh
    return len(text.split()) >= en


class ActionAcknowledgeComplaint(Action):
    """Apologises (more strongly when it sounds serious) before asking for details."""

    def name(self) -> str:
        return "action_acknowledge_complaint"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = lang_of(tracker)
        text = latest_text(tracker)
        filed = open_complaint(tracker)
        if filed and not text.startswith("/"):  # more details: no second apology or form
            return [
                SlotSet("complaint_description", text[:2000]),
                SlotSet("complaint_category", filed.category or "other"),
            ]
        severe = assess(tracker).priority == "urgent"
        dispatcher.utter_message(
            text=t("complaint_ack_severe" if severe else "complaint_ack", lang)
        )
        if text.startswith("/"):
            return []
        events = []
        if _long_enough(text):
            events.append(SlotSet("complaint_description", text[:2000]))
        # "客服态度太差了" already says what it is about; asked only when it names one clearly
        category = named_category(text)
        if category:
            events.append(SlotSet("complaint_category", category))
        return events


class ValidateComplaintForm(GuardedFormValidation):
    """A question or another errand typed at the category question is met for what it is
    (actions/form_guard.py), not filed as a complaint about "发票怎么开"."""

    own_intent = "complaint"

    def name(self) -> str:
        return "validate_complaint_form"

    def holds_value(self, tracker: Tracker, slot: str, text: str) -> bool:
        # "app老是闪退" at the category question is a tech complaint, not a playback errand
        return slot == "complaint_category" and named_category(text) is not None

    def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        # anything else is still a valid category, "other"; typed words that say what
        # happened ("内容太浅了，和宣传的不一样": content) are the description too, so it is
        # not asked for again; a bare category ("课程内容", "the teacher") is not
        category = pick(value, _CATEGORY_WORDS) or "other"
        description = tracker.get_slot("complaint_description")
        if not description and _long_enough(str(value), zh=10, en=5):
            description = str(value).strip()[:2000]
        return {"complaint_category": category, "complaint_description": description}

    def validate_complaint_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        return {"complaint_description": str(value).strip()[:2000] or None}


class ActionAskComplaintCategory(AskAction):
    slot = "complaint_category"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return t("ask_complaint_category", lang), choices("complaint_categories", lang, CATEGORIES)


class ActionAskComplaintDescription(AskAction):
    slot = "complaint_description"

    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        return t("ask_complaint_description", lang), []


class ActionSubmitComplaint(Action):
    """Files the complaint as a high or urgent case for the right team and offers a
    person right now."""

    def name(self) -> str:
        return "action_submit_complaint"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = lang_of(tracker)
        category = tracker.get_slot("complaint_category") or "other"
        description = tracker.get_slot("complaint_description") or ""
        filed = open_complaint(tracker)
        guide = None
        if filed:  # added to the case: its priority stands, more detail is no escalation
            copy, team, priority = "complaint_added", filed.team, filed.priority
            summary = f"Complaint, added: {description}"
        else:
            severity = assess(tracker)
            copy, priority = "complaint_filed", severity.priority
            team = TEAM_BY_CATEGORY.get(category, "care")
            summary = f"Complaint ({category}, {severity.priority}): {description}" + (
                f" | signals: {'; '.join(severity.signals)}" if severity.signals else ""
            )
            # a fault the tech team will look into may be one the learner can fix right now
            guide = guide_for(tracker) if category == "tech" else None
        ticket = file_ticket(
            tracker,
            reason="complaint",
            intent="complaint",
            category=category,  # counted in the manager's contact reasons
            team=team,
            priority=priority,
            summary=summary,
            channel="case",
        )
        text = t(
            copy,
            lang,
            ticket_id=ticket.id,
            team=handoff.team_name(ticket.team, lang),
            priority=t(f"priority_{ticket.priority}", lang),
        )
        buttons = [
            button("btn_human", lang, "/request_human"),
            button("btn_not_now", lang, "/deny"),
        ]
        if guide and runtime.get().guides.get(guide):
            text += "\n" + t("complaint_guide_offer", lang)  # one message: its buttons follow
            buttons.insert(0, button("btn_try_steps", lang, f"/{guide}"))
        dispatcher.utter_message(text=text, buttons=buttons)
        return reset_flow()
