"""Per agent: tickets taken and resolved, first-response times and CSAT, counted from the
agents' own actions."""

import json
import statistics
import time
from typing import Any

import sqlite_utils

from bot.metrics.stats import business_minutes, column, p50, rounded
from handoff import BusinessHours


# ---- agents -------------------------------------------------------------------------
def per_agent(
    db: sqlite_utils.Database,
    since: float,
    now: float | None = None,
    hours: BusinessHours | None = None,
) -> list[dict[str, Any]]:
    """Each agent's own work in the window ("服务效率": issues handled per person), from
    ticket_events, busiest first; see the module docstring."""
    now = time.time() if now is None else now
    hours = hours or BusinessHours()
    names = {r["username"]: r["display_name"] for r in db["staff"].rows}

    def by_actor(kind: str) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for actor, tid in db.execute(
            "SELECT actor, ticket_id FROM ticket_events WHERE kind = ? AND at >= ? AND at <= ?",
            [kind, since, now],
        ).fetchall():
            out.setdefault(actor, set()).add(tid)
        return out

    taken, resolved = by_actor("claimed"), by_actor("resolved")
    # a manager's reassignment gives the ticket to its new owner: taken by them too
    for detail, tid in db.execute(
        "SELECT detail, ticket_id FROM ticket_events WHERE kind = 'reassigned' "
        "AND at >= ? AND at <= ?",
        [since, now],
    ).fetchall():
        to = (json.loads(detail or "{}") or {}).get("to")
        if to:
            taken.setdefault(to, set()).add(tid)
    first: dict[str, list[float]] = {}
    for agent, created, answered in db.execute(
        "SELECT first_response_by, created_at, first_response_at FROM tickets "
        "WHERE first_response_by IS NOT NULL AND first_response_at >= ? AND first_response_at <= ?",
        [since, now],
    ).fetchall():
        first.setdefault(agent, []).append(business_minutes(hours, created, answered))
    rows = []
    for agent in sorted(set(taken) | set(resolved) | set(first)):
        done = sorted(resolved.get(agent, ()))
        rated = column(
            db,
            f"SELECT csat FROM tickets WHERE csat IS NOT NULL "
            f"AND id IN ({','.join('?' * len(done))})",
            done,
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
