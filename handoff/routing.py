"""Which team a handed-off conversation goes to, and how urgent it is."""

TEAMS = {
    "general": {"en": "General support", "zh": "综合客服组"},
    "billing": {"en": "Billing & refunds", "zh": "财务与退款组"},
    "tech": {"en": "Technical support", "zh": "技术支持组"},
    "care": {"en": "Customer care", "zh": "客户关怀组"},
    "compliance": {"en": "Privacy & copyright", "zh": "隐私与版权组"},
}


def team_name(team: str, lang: str) -> str:
    return TEAMS.get(team, {}).get("zh" if lang == "zh" else "en", team)


_TEAM_BY_INTENT = {
    "refund_request": "billing",
    "refund_status": "billing",
    "payment_problem": "billing",
    "invoice_request": "billing",
    "login_problem": "tech",
    "playback_problem": "tech",
    "course_access": "tech",
    "certificate_request": "general",
    "account_update": "tech",
    "complaint": "care",
    "privacy_request": "compliance",
    "piracy_report": "compliance",
}


def names_a_team(intent: str | None) -> bool:
    """Whether an intent is a topic some team owns (what a handoff is routed by)."""
    return (intent or "") in _TEAM_BY_INTENT


_PRIORITY_BY_INTENT = {
    "complaint": "high",
    "payment_problem": "high",
    "refund_request": "normal",
    "privacy_request": "normal",
    "piracy_report": "normal",
}


def route(intent: str | None, reason: str = "") -> tuple[str, str]:
    """(team, priority) for a handoff; an explicit complaint or bot outage is never 'low'."""
    team = _TEAM_BY_INTENT.get(intent or "", "general")
    priority = _PRIORITY_BY_INTENT.get(intent or "", "normal")
    if reason == "assistant_unavailable":
        priority = "high"
    return team, priority
