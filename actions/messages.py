"""Everything the custom actions say, in both languages.

Static replies that rules and stories use live in domain.yml; text that actions build
at run time lives here, so each sentence has exactly one home.
"""

from typing import Any

_TEXT: dict[str, dict[str, str]] = {
    # --- knowledge base -------------------------------------------------------------
    "kb_answer": {"en": "{answer}\n\n📖 Source: {title} [{id}]",
                  "zh": "{answer}\n\n📖 来源：{title} [{id}]"},
    "kb_clarify": {"en": "I found a few articles that might help. Which one is closest?",
                   "zh": "我找到几篇可能相关的文章，哪一篇最接近您的问题？"},
    "kb_none_of_these": {"en": "None of these", "zh": "都不是"},
    "kb_no_match": {
        "en": "Sorry, I couldn't find an answer to that. Could you say it another way, "
              "or mention the course or order it's about?",
        "zh": "抱歉，我没有找到相关答案。能换个说法，或者告诉我是哪门课程、哪个订单吗？"},
    "kb_offer_human": {
        "en": "I still can't find a good answer, sorry. Would you like me to connect you "
              "to a person?",
        "zh": "抱歉，还是没能找到合适的答案。需要为您转接人工客服吗？"},
    "yes_human": {"en": "Yes, talk to a person", "zh": "好的，转人工"},
    "no_thanks": {"en": "No, thanks", "zh": "不用了"},
    "helpful": {"en": "👍 Helpful", "zh": "👍 有帮助"},
    "not_helpful": {"en": "👎 Not helpful", "zh": "👎 没帮助"},
    # --- handoff --------------------------------------------------------------------
    "handoff_open": {
        "en": "I'm connecting you to a person from our {team} team. They'll reply right here; "
              "you don't need to repeat anything, they can see this chat.",
        "zh": "正在为您转接{team}的人工客服，客服会在这里直接回复您，"
              "之前的对话他们都能看到，无需重复描述。"},
    "handoff_after_hours": {
        "en": "Our people work {opens}–{closes} (Beijing time). Your request is queued "
              "and someone will reply here as soon as we open.",
        "zh": "人工客服服务时间为每天 {opens}–{closes}（北京时间）。您的请求已排队，"
              "上班后会第一时间在这里回复您。"},
}

def t(key: str, lang: str, **values: Any) -> str:
    lang = "zh" if lang == "zh" else "en"
    return _TEXT[key][lang].format(**values)


def button(title_key: str, lang: str, payload: str) -> dict[str, str]:
    return {"title": t(title_key, lang), "payload": payload}
