"""Per agent: tickets taken and resolved, first-response times and CSAT, counted from the
agents' own actions."""

import json
import statistics
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from bot.metrics.stats import business_minutes, column, p50, rounded
from bot.tables import staff
from handoff import BusinessHours
from handoff.tables import tickets


# ---- agents -------------------------------------------------------------------------
def per_agent(
    conn: Connection,
    since: float,
    now: float | None = None,
    hours: BusinessHours | None = None,
) -> list[dict[str, Any]]:
    """Each agent's own work in the window ("服务效率": issues handled per person), from
    ticket_events, busiest first; see the module docstring."""
    now = time.time() if now is None else now
    hours = hours or BusinessHours()
    names = dict(conn.execute(sa.select(staff.c.username, staff.c.display_name)).all())
    window = {"since": since, "now": now}

    def by_actor(kind: str) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for actor, tid in conn.execute(
            sa.text(
                "SELECT actor, ticket_id FROM ticket_events "
                "WHERE kind = :kind AND at >= :since AND at <= :now"
            ),
            {"kind": kind, **window},
        ).all():
            out.setdefault(actor, set()).add(tid)
        return out

    taken, resolved = by_actor("claimed"), by_actor("resolved")
    # a manager's reassignment gives the ticket to its new owner: taken by them too
    for detail, tid in conn.execute(
        sa.text(
            "SELECT detail, ticket_id FROM ticket_events WHERE kind = 'reassigned' "
            "AND at >= :since AND at <= :now"
        ),
        window,
    ).all():
        to = (json.loads(detail or "{}") or {}).get("to")
        if to:
            taken.setdefault(to, set()).add(tid)
    first: dict[str, list[float]] = {}
    for agent, created, answered in conn.execute(
        sa.text(
            "SELECT first_response_by, created_at, first_response_at FROM tickets "
            "WHERE first_response_by IS NOT NULL "
            "AND first_response_at >= :since AND first_response_at <= :now"
        ),
        window,
    ).all():
        first.setdefault(agent, []).append(business_minutes(hours, created, answered))
    rows = []
    for agent in sorted(set(taken) | set(resolved) | set(first)):
        done = sorted(resolved.get(agent, ()))
        rated = (
            column(
                conn,
                sa.select(tickets.c.csat).where(
                    tickets.c.csat.is_not(None), tickets.c.id.in_(done)
                ),
            )
            if done
            else []
        )
        rows.append(
            {
                "agent": agent,
                "name": names.get(agent, agent),
                "taken": len(taken.get(agent, ())),
                "resolved": len(done),
                "first_response_min_p50": rounded(p50(first.get(agent, []))),
                "csat_avg": round(statistics.mean(rated), 2) if rated else None,
                "csat_responses": len(rated),
            }
        )
    return sorted(rows, key=lambda r: (-r["taken"], -r["resolved"], r["agent"]))
