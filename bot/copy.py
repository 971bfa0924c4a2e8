"""What the hub itself says (not the bot): system notices, in the learner's language."""

_TEXT = {
    # Rasa refused or failed the message: it was not handled, so the learner must resend it
    "rasa_down": {
        "en": "Sorry, the assistant is having trouble and could not handle your message. "
        "Please send it again in a moment, or talk to a person: they will see what you wrote.",
        "zh": "抱歉，智能助手暂时出了点问题，没能处理您刚才的消息。请稍后重新发送，"
        "或者转人工客服（客服能看到您写的内容）。",
    },
    # Rasa has the message but is slow: its answer still comes here (bot/chat.py, late turns)
    "rasa_slow": {
        "en": "The assistant is taking longer than usual. Its answer will appear here when it "
        "comes; no need to send your message again. You can also talk to a person now.",
        "zh": "智能助手响应较慢，回复稍后会显示在这里，无需重新发送。您也可以现在转人工客服。",
    },
    "rasa_lost": {
        "en": "Sorry, the assistant could not answer “{text}” after all. Please send it "
        "again, or talk to a person.",
        "zh": "抱歉，智能助手最终没能回答“{text}”。请重新发送，或者转人工客服。",
    },
    "human_button": {"en": "Talk to a person", "zh": "转人工客服"},
    "queued": {
        "en": "You're in the queue for the {team} team (ticket #{ticket}). "
        "A person will reply here.",
        "zh": "已为您转接{team}（工单 #{ticket}），请稍候，客服会在这里回复您。",
    },
    "claimed": {"en": "{agent} has joined the chat.", "zh": "客服 {agent} 已接入对话。"},
    "transferred": {
        "en": "Your chat was passed to the {team} team.",
        "zh": "您的对话已转给{team}。",
    },
    "released": {
        "en": "Your chat is back in the queue for the {team} team. "
        "The next available person will reply here.",
        "zh": "您的对话已回到{team}的排队中，下一位有空的客服会在这里回复您。",
    },
    "resolved": {
        "en": "{agent} marked this as resolved. You're back with the assistant. "
        "How would you rate the help you got?",
        "zh": "客服 {agent} 已处理完毕，接下来由智能助手继续为您服务。请为本次服务打分：",
    },
    "cancelled": {"en": "OK, you're back with the assistant.", "zh": "好的，已为您切回智能助手。"},
    # back to the assistant with a ticket that is the team's work (handoff.FOLLOW_UP_REASONS)
    "left_case": {
        "en": "OK, you're back with the assistant. Your request (ticket #{ticket}) is not "
        "withdrawn: the {team} team still has it and will reply in this chat, so you don't "
        "need to wait here.",
        "zh": "好的，已为您切回智能助手。您的请求（工单 #{ticket}）不会撤销，仍由{team}处理，"
        "处理结果会在这段对话里回复您，您无需在线等待。",
    },
    "thanks_rating": {"en": "Thank you for your rating!", "zh": "感谢您的评价！"},
    "next_best": {
        "en": "Sorry that didn't help. Is one of these closer? Or talk to a person.",
        "zh": "抱歉没能帮到您。下面这些是否更接近您的问题？也可以转人工客服。",
    },
}


def say(key: str, lang: str, **values: object) -> str:
    lang = "zh" if lang == "zh" else "en"
    return _TEXT[key][lang].format(**values)
