"""Early warning of an incident: one contact reason suddenly far above its usual rate.

The brief's 突发问题 ("know about it first, then respond"): a broken video CDN, a payment
provider down or a release that logs everyone out shows up as many learners raising the same
problem within the hour, long before satisfaction or containment move over a 24 h window.
So the watcher also compares, per watched intent, the conversations that raised it in the
last `window_min` minutes with that intent's usual rate over the `baseline_h` hours before,
and raises `surge:<intent>` when the count reaches both `min_count` and `factor` times the
usual. A deployment with no history yet has a usual rate of 0: `min_count` alone decides.
"""

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

# What a manager calls each reason; the dashboard shows the label the alert carries.
NAMES = {
    "login_problem": ("Login problems", "登录问题"),
    "playback_problem": ("Playback problems", "播放问题"),
    "payment_problem": ("Payment problems", "支付问题"),
    "course_access": ("Course access problems", "课程访问问题"),
    "refund_request": ("Refund requests", "退款申请"),
    "complaint": ("Complaints", "投诉"),
    "piracy_report": ("Piracy reports", "盗版举报"),
    "certificate_request": ("Certificate requests", "证书申请"),
    "invoice_request": ("Invoice requests", "发票申请"),
}
PREFIX = "surge:"


@dataclass(frozen=True)
class SurgeRule:
    intents: tuple[str, ...] = (
        "login_problem",
        "playback_problem",
        "payment_problem",
        "course_access",
        "complaint",
        "refund_request",
    )
    window_min: float = 60
    baseline_h: float = 168
    factor: float = 3.0
    min_count: int = 5

    def __post_init__(self) -> None:
        unknown = [i for i in self.intents if i not in NAMES]
        if unknown:
            raise ValueError(f"surge rule on unknown intents {unknown}; known: {sorted(NAMES)}")
        if self.window_min <= 0 or self.baseline_h * 60 <= self.window_min:
            raise ValueError("surges need 0 < window_min < baseline_h * 60")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "SurgeRule":
        return cls(**{**doc, "intents": tuple(doc.get("intents", cls.intents))})


def label(indicator: str) -> str:
    en, zh = NAMES.get(indicator.removeprefix(PREFIX), (indicator, indicator))
    return f"Surge in {en.lower()} · {zh}激增"


def _counts(conn: Connection, rule: SurgeRule, start: float, end: float, after: str = ">") -> dict:
    """Conversations per watched intent with a learner message in (start, end] (or
    [start, end] with after=">="). A tapped form option (a plain-value payload, `tapped`) or
    a typed answer to a form's question names no new need."""
    if after not in (">", ">="):
        raise ValueError(f"after must be '>' or '>=', not {after!r}")
    stmt = sa.text(
        f"""SELECT intent, COUNT(DISTINCT conversation_id) FROM messages
            WHERE sender = 'learner' AND created_at {after} :start AND created_at <= :end
              AND intent IN :intents
              AND tapped = 0 AND answers IS NULL
            GROUP BY intent"""
    ).bindparams(sa.bindparam("intents", expanding=True))
    rows = conn.execute(stmt, {"start": start, "end": end, "intents": list(rule.intents)})
    return dict(rows.all())


def check(conn: Connection, rule: SurgeRule, now: float) -> list[dict[str, Any]]:
    """One entry per watched intent: its count in the window, the usual count for a window
    that long, the limit it is held to, and whether it is breached."""
    window = rule.window_min * 60
    recent = _counts(conn, rule, now - window, now)
    # the baseline is the history there is, up to baseline_h: a week-old deployment
    # compares with its week, a day-old one with its day
    first = conn.execute(
        sa.text("SELECT MIN(created_at) FROM messages WHERE sender = 'learner'")
    ).scalar()
    start = max(now - rule.baseline_h * 3600, first if first is not None else now)
    span = (now - window) - start
    before = _counts(conn, rule, start, now - window, after=">=") if span > 0 else {}
    out = []
    for intent in rule.intents:
        usual = before.get(intent, 0) * window / span if span >= window else 0.0
        limit = max(float(rule.min_count), rule.factor * usual)
        count = recent.get(intent, 0)
        out.append(
            {
                "indicator": PREFIX + intent,
                "value": count,
                "op": "≥",
                "threshold": round(limit, 1),
                "usual": round(usual, 2),
                "window_min": rule.window_min,
                "label": label(intent),
                "breached": count >= limit,
            }
        )
    return out
