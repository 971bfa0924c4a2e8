"""What the hub itself says (not the bot): system notices, in the learner's language."""

_TEXT = {
    "rasa_down": {
        "en": "Sorry, the assistant is having trouble right now. Your message is saved. "
        "Would you like to talk to a person?",
        "zh": "抱歉，智能助手暂时出了点问题。您的消息已保存。需要为您转接人工客服吗？",
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
