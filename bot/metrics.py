"""The service indicators a support manager watches, and the early-warning rules on them.

Computed from the transcript and the tickets over a time window: satisfaction (CSAT),
resolution rate, first-response and resolution times, containment (conversations the bot
handled without a person), complaint rate, SLA breaches, and the queue right now.
"""

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils
import yaml


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def indicators(db: sqlite_utils.Database, since: float, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    convs = db.execute(
        "SELECT id FROM conversations WHERE created_at >= ? AND EXISTS "
        "(SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id "
        "AND m.sender = 'learner')",
        [since],
    ).fetchall()
    n_conv = len(convs)
    chats = db.execute(
        "SELECT COUNT(DISTINCT conversation_id) FROM tickets WHERE channel = 'chat' "
        "AND created_at >= ?",
        [since],
    ).fetchone()[0]
    complaints = db.execute(
        "SELECT COUNT(DISTINCT conversation_id) FROM messages WHERE intent = 'complaint' "
        "AND created_at >= ?",
        [since],
    ).fetchone()[0]
    tickets = list(db["tickets"].rows_where("created_at >= ?", [since]))
    closed = [t for t in tickets if t["status"] in ("resolved", "cancelled")]
    resolved = [t for t in tickets if t["status"] == "resolved"]
    first = [
        (t["first_response_at"] - t["created_at"]) / 60 for t in tickets if t["first_response_at"]
    ]
    to_resolve = [(t["resolved_at"] - t["created_at"]) / 60 for t in resolved if t["resolved_at"]]
    breached = [t for t in tickets if (t["first_response_at"] or now) > t["sla_due_at"]]
    rated = [t["csat"] for t in tickets if t["csat"]]
    waiting = list(db["tickets"].rows_where("status = 'queued' AND channel = 'chat'"))
    return {
        "conversations": n_conv,
        "handed_off": chats,
        "containment": round(1 - chats / n_conv, 3) if n_conv else None,
        "complaint_rate": round(complaints / n_conv, 3) if n_conv else None,
        "tickets": len(tickets),
        "resolution_rate": round(len(resolved) / len(tickets), 3) if tickets else None,
        "closed": len(closed),
        "resolved": len(resolved),
        "responded": len(first),  # tickets a person has answered: the basis of the times
        "first_response_min_p50": _round(_pct(first, 50)),
        "first_response_min_p90": _round(_pct(first, 90)),
        "resolution_min_p50": _round(_pct(to_resolve, 50)),
        "resolution_min_p90": _round(_pct(to_resolve, 90)),
        "sla_breach_rate": round(len(breached) / len(tickets), 3) if tickets else None,
        "csat_avg": round(statistics.mean(rated), 2) if rated else None,
        "csat_responses": len(rated),
        "csat_satisfied_share": round(sum(r >= 4 for r in rated) / len(rated), 3)
        if rated
        else None,
        "queue_waiting": len(waiting),
        "queue_oldest_min": _round(
            max(((now - t["created_at"]) / 60 for t in waiting), default=None)
        ),
    }


def per_agent(db: sqlite_utils.Database, since: float) -> list[dict[str, Any]]:
    """Each agent's share of the work in the window: chats and cases taken, resolved, how
    fast the first answer came, and what the learners rated them ("服务效率": issues handled
    per person), busiest first."""
    names = {r["username"]: r["display_name"] for r in db["staff"].rows}
    by_agent: dict[str, list[dict]] = {}
    for t in db["tickets"].rows_where("created_at >= ? AND claimed_by IS NOT NULL", [since]):
        by_agent.setdefault(t["claimed_by"], []).append(t)
    rows = []
    for agent, tickets in by_agent.items():
        first = [
            (t["first_response_at"] - t["created_at"]) / 60
            for t in tickets
            if t["first_response_at"]
        ]
        rated = [t["csat"] for t in tickets if t["csat"]]
        rows.append(
            {
                "agent": agent,
                "name": names.get(agent, agent),
                "taken": len(tickets),
                "resolved": sum(t["status"] == "resolved" for t in tickets),
                "first_response_min_p50": _round(_pct(first, 50)),
                "csat_avg": round(statistics.mean(rated), 2) if rated else None,
                "csat_responses": len(rated),
            }
        )
    return sorted(rows, key=lambda r: (-r["taken"], r["agent"]))


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


@dataclass(frozen=True)
class Rule:
    indicator: str
    op: str  # "<" or ">"
    threshold: float
    min_sample: int = 0  # ignore the rule until there is this much data (conversations/tickets)
    label: str = ""

    def breached(self, values: dict[str, Any]) -> bool:
        v = values.get(self.indicator)
        if v is None:
            return False
        sample = values.get(
            "csat_responses"
            if self.indicator.startswith("csat")
            else "conversations"
            if self.indicator in ("containment", "complaint_rate")
            else "tickets",
            0,
        )
        if sample < self.min_sample:
            return False
        return v < self.threshold if self.op == "<" else v > self.threshold


def load_rules(path: Path) -> list[Rule]:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return [Rule(**r) for r in doc.get("rules", [])]


def alerts(values: dict[str, Any], rules: list[Rule]) -> list[dict[str, Any]]:
    return [
        {
            "indicator": r.indicator,
            "value": values[r.indicator],
            "op": r.op,
            "threshold": r.threshold,
            "label": r.label,
        }
        for r in rules
        if r.breached(values)
    ]


def ensure_schema(db: sqlite_utils.Database) -> None:
    db["alert_events"].create(
        {
            "id": int,
            "indicator": str,
            "state": str,
            "value": float,
            "threshold": float,
            "label": str,
            "at": float,
        },
        pk="id",
        transform=True,
    )


def record_changes(db: sqlite_utils.Database, current: list[dict], now: float) -> list[dict]:
    """Store alerts that started or cleared since the last check; returns those changes."""
    last: dict[str, str] = {}
    for row in db["alert_events"].rows_where(order_by="id"):
        last[row["indicator"]] = row["state"]
    active = {a["indicator"]: a for a in current}
    changes = []
    for name, alert in active.items():
        if last.get(name) != "raised":
            changes.append({**alert, "state": "raised"})
    for name, state in last.items():
        if state == "raised" and name not in active:
            changes.append(
                {
                    "indicator": name,
                    "state": "cleared",
                    "value": None,
                    "threshold": None,
                    "label": "",
                }
            )
    for c in changes:
        db["alert_events"].insert(
            {
                "indicator": c["indicator"],
                "state": c["state"],
                "value": c["value"],
                "threshold": c["threshold"],
                "label": c["label"],
                "at": now,
            }
        )
    return changes
