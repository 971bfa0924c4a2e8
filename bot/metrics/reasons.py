"""Why learners came (each conversation's main reason, every intent raised, tickets by team
and by reason, complaint categories) and the refund flow's decisions."""

import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from bot import refund_log
from bot.metrics.indicators import cohort_sql, created, created_tickets, window
from bot.metrics.stats import column, share
from bot.tables import refund_requests
from replies import catalogue

# ---- contact reasons ------------------------------------------------------------------
# Intents that say nothing about why the learner came (as actions/context.py's _GENERIC).
SMALL_TALK = {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "nlu_fallback"}


def main_reason(intents: list[str | None]) -> str:
    """A conversation's contact reason: the first intent naming a need (a flow or a KB
    question); failing that an out-of-scope question, then a bare request for a person;
    "other" when the learner only greeted or nothing was classified (Rasa down)."""
    named = [i for i in intents if i and i not in SMALL_TALK]
    needs = [i for i in named if i not in ("out_of_scope", "request_human")]
    if needs:
        return needs[0]
    for fallback in ("out_of_scope", "request_human"):
        if fallback in named:
            return fallback
    return "other"


def _counted(counts: dict[str, int], whole: int, key: str) -> list[dict[str, Any]]:
    return [
        {key: k, "count": n, "share": share(n, whole)}
        for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def contact_reasons(conn: Connection, since: float, now: float | None = None) -> dict[str, Any]:
    """What learners came for, over the window's cohorts (module docstring)."""
    now = time.time() if now is None else now
    args = window(since, now)
    members = cohort_sql()
    # the intent Rasa gave each learner message (bot/router.py stores it); a tapped form option
    # (a plain-value payload: "买错了", `tapped`) or a typed answer to a form's question
    # (`answers`, an invoice title read as a complaint) names no new need
    rows = conn.execute(
        sa.text(
            f"""SELECT conversation_id, intent FROM messages
                WHERE sender = 'learner' AND created_at <= :now
                  AND conversation_id IN ({members})
                  AND tapped = 0 AND answers IS NULL
                ORDER BY id"""
        ),
        args,
    ).all()
    per_conv: dict[str, list[str | None]] = {c: [] for c in column(conn, members, args)}
    for cid, intent in rows:
        per_conv[cid].append(intent)
    main: Counter[str] = Counter()
    raised: Counter[str] = Counter()  # conversations with the intent anywhere in them
    for intents in per_conv.values():
        reason = main_reason(intents)
        main[reason] += 1
        raised.update({i for i in intents if i and i not in SMALL_TALK} | {reason})
    n = len(per_conv)
    intents = [
        {**row, "raised": raised[row["intent"]], "raised_share": share(raised[row["intent"]], n)}
        for row in _counted(main, n, "intent")
    ]
    intents += [  # raised in some conversation without being any conversation's main reason
        {"intent": i, "count": 0, "share": share(0, n), "raised": c, "raised_share": share(c, n)}
        for i, c in sorted(raised.items(), key=lambda kv: (-kv[1], kv[0]))
        if i not in main
    ]
    tickets = created_tickets(conn, since, now)

    def by(key: str, rows: list[dict]) -> Counter[str]:
        return _tally(t[key] for t in rows)

    complaints = [t for t in tickets if t["reason"] == "complaint"]
    return {
        "conversations": n,
        "intents": intents,
        "tickets": len(tickets),
        "teams": _counted(by("team", tickets), len(tickets), "team"),
        "ticket_reasons": _counted(by("reason", tickets), len(tickets), "reason"),
        "complaints": len(complaints),
        "complaint_categories": _counted(by("category", complaints), len(complaints), "category"),
    }


# ---- refunds --------------------------------------------------------------------------
# The refund flow's own handoffs to billing (actions/refund.py): refused by the policy (the
# ticket's category is the policy's code) or no order to refund.
def _reason_choices() -> dict[str, str]:
    """The refund form's reason buttons, either language, to one bilingual label."""
    labels = catalogue()["refund_reasons"]
    pairs = zip(labels["en"].split("|"), labels["zh"].split("|"), strict=True)
    return {text: f"{en} · {zh}" for en, zh in pairs for text in (en, zh)}


def refund_indicators(
    conn: Connection, since: float, now: float | None = None, top: int = 8
) -> dict[str, Any]:
    """Refund requests the bot decided in the window, approved or handed to billing; see the
    module docstring."""
    now = time.time() if now is None else now
    stmt = sa.select(refund_requests).where(created(refund_requests.c.at, since, now))
    rows = [dict(r._mapping) for r in conn.execute(stmt.order_by(refund_requests.c.id))]
    approved = [r for r in rows if r["outcome"] == refund_log.APPROVED]
    withdrawn = [r for r in rows if r["outcome"] == refund_log.WITHDRAWN]
    refused = [r for r in rows if r["outcome"] not in (refund_log.APPROVED, refund_log.WITHDRAWN)]
    choices = _reason_choices()

    def reason(row: dict) -> str | None:  # typed reasons count as typed
        text = (row["reason"] or "").strip()
        return choices.get(text, text)

    ranked = _counted(_tally(reason(r) for r in rows), len(rows), "reason")
    approved_by = _tally(reason(r) for r in approved)
    for row in ranked:
        row["approved"] = approved_by[row["reason"]]
    return {
        "requests": len(rows),
        "approved": len(approved),
        "approved_share": share(len(approved), len(rows)),
        "handed_to_billing": len(refused),
        "amount_approved": round(sum(r["amount"] or 0 for r in approved), 2),
        "withdrawn": len(withdrawn),
        "amount_withdrawn": round(sum(r["amount"] or 0 for r in withdrawn), 2),
        "reasons": ranked[:top],
        "reasons_more": sum(r["count"] for r in ranked[top:]),
        "refusals": _counted(_tally(r["outcome"] for r in refused), len(refused), "code"),
    }


def _tally(keys: Iterable[str | None]) -> Counter[str]:
    """How often each key occurs; a missing one counts as "not_recorded"."""
    return Counter(k or "not_recorded" for k in keys)
