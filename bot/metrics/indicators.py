"""The indicator cards: conversations, tickets, ratings and the live queue over a window
(what each number means is the package docstring).

Every function takes a connection (a read unit of work is enough) and runs SQL both engines
read alike: named parameters, no engine's own functions."""

import statistics
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from bot.metrics.stats import business_minutes, column, p50, p90, rounded, share
from bot.tables import privacy_requests
from handoff import BusinessHours
from handoff.tables import tickets

# What each indicator is counted over: the value a rule's min_sample is compared with.
BASIS: dict[str, str] = {
    "conversations": "conversations",
    "containment": "conversations",
    "complaint_rate": "conversations",
    "resolution_rate": "closed",
    "sla_breach_rate": "sla_due",
    "first_response_min_p50": "responded",
    "first_response_min_p90": "responded",
    "resolution_min_p50": "resolved",
    "resolution_min_p90": "resolved",
    "csat_avg": "csat_responses",
    "csat_satisfied_share": "csat_responses",
    "queue_waiting": "queue_waiting",
    "queue_oldest_min": "queue_waiting",
    "privacy_overdue": "privacy_open",
}


# ---- conversations -------------------------------------------------------------------
def cohort_sql(until: float | None = None) -> str:
    """The conversation cohort's ids, as SQL with the parameters :since and :now (and :until,
    the exclusive end a trend row gives, when `until` is not None)."""
    before = "AND c.created_at < :until " if until is not None else ""
    return (
        "SELECT c.id FROM conversations c WHERE c.created_at >= :since AND c.created_at <= :now "
        f"{before}"
        "AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id "
        "AND m.sender = 'learner' AND m.created_at <= :now)"
    )


def window(since: float, now: float, until: float | None = None) -> dict[str, float]:
    """The parameters of `cohort_sql(until)`."""
    return {"since": since, "now": now} | ({"until": until} if until is not None else {})


def conversation_indicators(
    conn: Connection, since: float, now: float, until: float | None = None
) -> dict[str, Any]:
    args = window(since, now, until)
    members = cohort_sql(until)
    cohort = set(column(conn, members, args))
    handed = set(
        column(
            conn,
            f"SELECT DISTINCT conversation_id FROM tickets WHERE conversation_id IN ({members}) "
            "AND created_at <= :now",
            args,
        )
    )
    # the last bot turn of each conversation: its last bot message and the learner message
    # it answered; a 'fallback' gap logged between the two means it answered "no answer found"
    unanswered = (
        set(
            column(
                conn,
                f"""WITH last AS (
                  SELECT conversation_id, MAX(id) AS bot_id FROM messages
                  WHERE sender = 'bot' AND created_at <= :now
                    AND conversation_id IN ({members})
                  GROUP BY conversation_id),
                turn AS (
                  SELECT last.conversation_id, b.created_at AS replied_at,
                    (SELECT MAX(l.created_at) FROM messages l
                     WHERE l.conversation_id = last.conversation_id AND l.sender = 'learner'
                       AND l.id < last.bot_id) AS asked_at
                  FROM last JOIN messages b ON b.id = last.bot_id)
                SELECT conversation_id FROM turn WHERE EXISTS (
                  SELECT 1 FROM kb_gaps g WHERE g.conversation_id = turn.conversation_id
                  AND g.kind = 'fallback'
                  AND g.created_at BETWEEN turn.asked_at AND turn.replied_at)""",
                args,
            )
        )
        - handed
    )
    complained = set(
        column(
            conn,
            f"SELECT conversation_id FROM messages WHERE sender = 'learner' "
            f"AND intent = 'complaint' AND answers IS NULL AND created_at <= :now "
            f"AND conversation_id IN ({members}) "
            f"UNION SELECT conversation_id FROM tickets WHERE created_at <= :now "
            f"AND (intent = 'complaint' OR reason = 'complaint') "
            f"AND conversation_id IN ({members})",
            args,
        )
    )
    n = len(cohort)
    return {
        "conversations": n,
        "handed_off": len(handed),
        "ended_unanswered": len(unanswered),
        "containment": share(n - len(handed) - len(unanswered), n),
        "complaints": len(complained),
        "complaint_rate": share(len(complained), n),
    }


# ---- tickets ------------------------------------------------------------------------
def created(
    at: sa.ColumnElement[Any], since: float, now: float, until: float | None = None
) -> sa.ColumnElement[bool]:
    """`at` in [since, now], and before `until` when a trend row gives one: tickets created
    in the window (at = tickets.created_at), ratings given in it."""
    cond = sa.and_(at >= since, at <= now)
    return cond if until is None else sa.and_(cond, at < until)


def created_tickets(
    conn: Connection, since: float, now: float, until: float | None = None
) -> list[dict[str, Any]]:
    """Tickets created in the window, as dicts."""
    stmt = sa.select(tickets).where(created(tickets.c.created_at, since, now, until))
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(tickets.c.id))]


def ticket_indicators(
    conn: Connection,
    since: float,
    now: float,
    hours: BusinessHours,
    until: float | None = None,
) -> dict[str, Any]:
    tickets = created_tickets(conn, since, now, until)
    resolved = [t for t in tickets if t["status"] == "resolved"]
    closed = [t for t in tickets if t["status"] in ("resolved", "cancelled")]
    answered = [t for t in tickets if t["first_response_at"]]
    due = [t for t in tickets if t["first_response_at"] or t["sla_due_at"] <= now]
    breached = [t for t in due if (t["first_response_at"] or now) > t["sla_due_at"]]
    first = [business_minutes(hours, t["created_at"], t["first_response_at"]) for t in answered]
    to_resolve = [
        business_minutes(hours, t["created_at"], t["resolved_at"])
        for t in resolved
        if t["resolved_at"]
    ]
    return {
        "tickets": len(tickets),
        "open": len(tickets) - len(closed),
        "closed": len(closed),
        "resolved": len(resolved),
        "resolution_rate": share(len(resolved), len(closed)),
        "sla_due": len(due),
        "sla_breached": len(breached),
        "sla_breach_rate": share(len(breached), len(due)),
        "responded": len(answered),
        "first_response_min_p50": rounded(p50(first)),
        "first_response_min_p90": rounded(p90(first)),
        "resolution_min_p50": rounded(p50(to_resolve)),
        "resolution_min_p90": rounded(p90(to_resolve)),
    }


def csat_indicators(
    conn: Connection, since: float, now: float, until: float | None = None
) -> dict[str, Any]:
    given = sa.func.coalesce(tickets.c.csat_at, tickets.c.resolved_at)
    rated = column(
        conn,
        sa.select(tickets.c.csat).where(
            tickets.c.csat.is_not(None), created(given, since, now, until)
        ),
    )
    return {
        "csat_avg": round(statistics.mean(rated), 2) if rated else None,
        "csat_responses": len(rated),
        "csat_satisfied_share": share(sum(r >= 4 for r in rated), len(rated)),
    }


def waiting_since(conn: Connection, now: float) -> dict[int, float]:
    """Open chat tickets no person has answered yet, and since when each learner waits."""
    rows = conn.execute(
        sa.text(
            "SELECT t.id, t.created_at, t.first_response_at, "
            "(SELECT MAX(e.at) FROM ticket_events e WHERE e.ticket_id = t.id "
            " AND e.kind IN ('transferred', 'released')) AS transferred_at "
            "FROM tickets t WHERE t.channel = 'chat' AND t.created_at <= :now AND "
            "(t.status = 'queued' OR (t.status = 'claimed' AND t.first_response_at IS NULL))"
        ),
        {"now": now},
    ).all()
    return {
        tid: (transferred or created) if answered else created
        for tid, created, answered, transferred in rows
    }


def queue_indicators(conn: Connection, now: float, hours: BusinessHours) -> dict[str, Any]:
    waits = [business_minutes(hours, since, now) for since in waiting_since(conn, now).values()]
    return {"queue_waiting": len(waits), "queue_oldest_min": rounded(max(waits, default=None))}


def privacy_indicators(conn: Connection, now: float) -> dict[str, Any]:
    """Learners' privacy requests not carried out yet, and those past their legal deadline
    (15 working days, bot/privacy_requests.py): a deadline the law sets, watched like an SLA."""
    pr = privacy_requests
    open_ = pr.c.status == "open"
    count = sa.func.count()
    waiting = conn.scalar(sa.select(count).where(open_)) or 0
    overdue = conn.scalar(sa.select(count).where(open_, pr.c.due_at < now)) or 0
    return {"privacy_open": int(waiting), "privacy_overdue": int(overdue)}


def indicators(
    conn: Connection,
    since: float,
    now: float | None = None,
    hours: BusinessHours | None = None,
) -> dict[str, Any]:
    """Every indicator of the module docstring over [since, now]; times in business minutes
    of `hours` (the hub passes its configured hours)."""
    now = time.time() if now is None else now
    hours = hours or BusinessHours()
    return {
        **conversation_indicators(conn, since, now),
        **ticket_indicators(conn, since, now, hours),
        **csat_indicators(conn, since, now),
        **queue_indicators(conn, now, hours),
        **privacy_indicators(conn, now),
    }
