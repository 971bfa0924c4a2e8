"""The service indicators a support manager watches, and the early-warning rules on them.

What each number means
======================
Every indicator is computed over a window [since, now]. One cohort per family, so a rate's
numerator is always part of its denominator and stays within 0..1:

Conversations: those *started* in the window with at least one learner message, counting
only the tickets and messages of those conversations.
- ``conversations``: how many.
- ``handed_off``: of those, conversations with a ticket of any channel: a chat, or a case
  (a complaint or piracy case needs a person too).
- ``ended_unanswered``: of those without a ticket, conversations whose last bot turn was a
  knowledge-base miss ("no answer found": the turn logged a ``fallback`` KB gap,
  kb_index/gaps.py). The learner left without an answer; the bot did not solve it.
- ``containment`` = (conversations - handed_off - ended_unanswered) / conversations.
- ``complaint_rate`` = conversations with a learner message classed ``complaint``, or a
  ticket whose intent or reason is ``complaint``, / conversations. ("我要投诉，我要找人工"
  may be classed request_human; the complaint form's case still counts.) A message typed as
  the answer to a form's question (``messages.answers``) is not counted: an invoice title
  such as "北京某某科技有限公司" or a refund reason "课程质量太差" is classed complaint.

Tickets: those *created* in the window, any channel.
- ``tickets``; ``open`` (queued or claimed); ``closed`` = resolved + cancelled; ``resolved``.
- ``resolution_rate`` = resolved / closed: an open ticket is not yet a success or a failure.
- ``sla_due``: tickets whose first-response deadline has come: answered, or
  ``sla_due_at <= now``. ``sla_breach_rate`` = breached / sla_due, a breach being
  ``(first_response_at or now) > sla_due_at``. A ticket not yet due neither dilutes nor counts.
- ``responded``: tickets a person has answered. ``first_response_min_p50/p90`` over them,
  from creation to the first answer.
- ``resolution_min_p50/p90``: over resolved tickets, from creation to resolution.

Ratings: CSAT scores *given* in the window (``csat_at``).
- ``csat_responses``, ``csat_avg`` (1-5), ``csat_satisfied_share`` (share of 4 and 5).

The queue right now (the window does not apply):
- ``queue_waiting``: open chat tickets a person has not answered yet: queued, or claimed
  with no first response. A ticket transferred or released back to a queue after it was
  answered waits since then (ticket_events 'transferred', 'released'); one nobody answered
  waits since it was created, because that is how long the learner has waited.
- ``queue_oldest_min``: the longest of those waits.

Times are business minutes (handoff.BusinessHours.elapsed with the hub's hours): the clock the
SLA runs on, so a ticket filed at 23:00 and answered at 09:05 took 5 minutes, not 10 hours.
p50 is the median (statistics.median: the mean of the two middle values of an even count);
p90 is nearest-rank (the smallest value with at least 90% of values at or below it), so it
is a wait some learner actually had.

Per agent (``per_agent``): the agent's own actions in the window, from ticket_events, so a
transfer does not move credit: ``taken`` = distinct tickets the agent claimed or a manager
reassigned to them, ``resolved`` = tickets the agent resolved, ``first_response_min_p50``
over tickets the agent answered first (tickets.first_response_by), CSAT over the ratings of
tickets the agent resolved.

Trends (``trend``): the same conversation, ticket and rating indicators day by day: the
window cut at local midnights of the service time zone, each day a shorter window computed by
the same functions (its cohort ends at the next midnight; outcomes as of now), so the days'
counts add up to the window's. The first and last days may be partial; the queue has no
daily value.

Contact reasons (``contact_reasons``), over the same conversation cohort:
- ``intents``: per conversation, its *main reason*: the intent Rasa gave its first learner
  message that names a need (a flow, or ``ask_question`` for a knowledge-base question); else
  ``out_of_scope``; else ``request_human`` (asked for a person and nothing else); else
  ``other`` (greetings only, or nothing classified because Rasa was down). ``count``/``share``
  of main reasons add up to the conversations; ``raised``/``raised_share`` count every
  conversation with the intent anywhere, so they may add up to more. A tapped form option
  (a plain-value payload such as "买错了") answers a question and is not read as a need.
- ``teams``, ``ticket_reasons``: tickets created in the window by team and by reason.
- ``complaint_categories``: complaint cases (reason ``complaint``) by the category the
  complaint form recorded (``tickets.category``; ``not_recorded`` for tickets filed before
  the column existed).

Refunds (``refund_indicators``): the refund flow's decisions in the window, from the hub's
own log (``refund_requests``, bot/refund_log.py; one row per decision, whatever the course
platform). ``approved``: the policy approved it and the platform recorded the refund
(``amount_approved`` sums them). ``handed_to_billing``: refused by the policy or no order to
refund; the flow handed them to billing, and ``refusals`` counts them by the policy's code.
``withdrawn``: the policy would have paid, and the learner said no when told the amount
(``amount_withdrawn`` sums what they were offered; a membership's pro-rata share, say).
``reasons``: what learners gave, over all requests, with how many of each were approved (a
reason button's label in either language is one reason). Asking again about a refund
already pending is not a new request.

Alerts: rules in data/alerts.yml, always evaluated over that file's fixed ``window_h``
(default 24 h) in the API, the watcher and the webhook alike: an early warning on the current
state, whatever window the manager is looking at. A rule's ``min_sample`` counts its
indicator's own basis (``BASIS``): answered tickets for first-response times, due tickets
for SLA breaches, and so on.
"""

import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils
import yaml

from actions.messages import catalogue
from bot import refund_log, surges
from bot.surges import SurgeRule
from handoff import BusinessHours

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
}


def p50(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    """Nearest-rank: the ceil(0.9 n)-th smallest value."""
    if not values:
        return None
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def business_minutes(hours: BusinessHours, start: float, end: float) -> float:
    return hours.elapsed(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _column(db: sqlite_utils.Database, sql: str, args: list) -> list:
    return [r[0] for r in db.execute(sql, args).fetchall()]


# ---- conversations -------------------------------------------------------------------
_COHORT = (
    "SELECT c.id FROM conversations c WHERE c.created_at >= :since AND c.created_at <= :now "
    "AND (:until IS NULL OR c.created_at < :until) "
    "AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id "
    "AND m.sender = 'learner' AND m.created_at <= :now)"
)


def conversation_indicators(
    db: sqlite_utils.Database, since: float, now: float, until: float | None = None
) -> dict[str, Any]:
    args = {"since": since, "now": now, "until": until}
    cohort = set(_column(db, _COHORT, args))
    handed = set(
        _column(
            db,
            f"SELECT DISTINCT conversation_id FROM tickets WHERE conversation_id IN ({_COHORT}) "
            "AND created_at <= :now",
            args,
        )
    )
    # the last bot turn of each conversation: its last bot message and the learner message
    # it answered; a 'fallback' gap logged between the two means it answered "no answer found"
    unanswered = (
        set(
            _column(
                db,
                f"""WITH last AS (
                  SELECT conversation_id, MAX(id) AS bot_id FROM messages
                  WHERE sender = 'bot' AND created_at <= :now
                    AND conversation_id IN ({_COHORT})
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
        _column(
            db,
            f"SELECT conversation_id FROM messages WHERE sender = 'learner' "
            f"AND intent = 'complaint' AND answers IS NULL AND created_at <= :now "
            f"AND conversation_id IN ({_COHORT}) "
            f"UNION SELECT conversation_id FROM tickets WHERE created_at <= :now "
            f"AND (intent = 'complaint' OR reason = 'complaint') "
            f"AND conversation_id IN ({_COHORT})",
            args,
        )
    )
    n = len(cohort)
    return {
        "conversations": n,
        "handed_off": len(handed),
        "ended_unanswered": len(unanswered),
        "containment": _share(n - len(handed) - len(unanswered), n),
        "complaints": len(complained),
        "complaint_rate": _share(len(complained), n),
    }


# ---- tickets ------------------------------------------------------------------------
# tickets created in [since, now], and before `until` when a trend row gives one
_CREATED = "created_at >= ? AND created_at <= ? AND (? IS NULL OR created_at < ?)"


def ticket_indicators(
    db: sqlite_utils.Database,
    since: float,
    now: float,
    hours: BusinessHours,
    until: float | None = None,
) -> dict[str, Any]:
    tickets = list(db["tickets"].rows_where(_CREATED, [since, now, until, until]))
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
        "resolution_rate": _share(len(resolved), len(closed)),
        "sla_due": len(due),
        "sla_breached": len(breached),
        "sla_breach_rate": _share(len(breached), len(due)),
        "responded": len(answered),
        "first_response_min_p50": _round(p50(first)),
        "first_response_min_p90": _round(p90(first)),
        "resolution_min_p50": _round(p50(to_resolve)),
        "resolution_min_p90": _round(p90(to_resolve)),
    }


def csat_indicators(
    db: sqlite_utils.Database, since: float, now: float, until: float | None = None
) -> dict[str, Any]:
    rated = _column(
        db,
        "SELECT csat FROM tickets WHERE csat IS NOT NULL AND "
        + _CREATED.replace("created_at", "COALESCE(csat_at, resolved_at)"),
        [since, now, until, until],
    )
    return {
        "csat_avg": round(statistics.mean(rated), 2) if rated else None,
        "csat_responses": len(rated),
        "csat_satisfied_share": _share(sum(r >= 4 for r in rated), len(rated)),
    }


def waiting_since(db: sqlite_utils.Database, now: float) -> dict[int, float]:
    """Open chat tickets no person has answered yet, and since when each learner waits."""
    rows = db.execute(
        "SELECT t.id, t.created_at, t.first_response_at, "
        "(SELECT MAX(e.at) FROM ticket_events e WHERE e.ticket_id = t.id "
        " AND e.kind IN ('transferred', 'released')) AS transferred_at "
        "FROM tickets t WHERE t.channel = 'chat' AND t.created_at <= ? AND "
        "(t.status = 'queued' OR (t.status = 'claimed' AND t.first_response_at IS NULL))",
        [now],
    ).fetchall()
    return {
        tid: (transferred or created) if answered else created
        for tid, created, answered, transferred in rows
    }


def queue_indicators(db: sqlite_utils.Database, now: float, hours: BusinessHours) -> dict[str, Any]:
    waits = [business_minutes(hours, since, now) for since in waiting_since(db, now).values()]
    return {"queue_waiting": len(waits), "queue_oldest_min": _round(max(waits, default=None))}


def indicators(
    db: sqlite_utils.Database,
    since: float,
    now: float | None = None,
    hours: BusinessHours | None = None,
) -> dict[str, Any]:
    """Every indicator of the module docstring over [since, now]; times in business minutes
    of `hours` (the hub passes its configured hours)."""
    now = time.time() if now is None else now
    hours = hours or BusinessHours()
    return {
        **conversation_indicators(db, since, now),
        **ticket_indicators(db, since, now, hours),
        **csat_indicators(db, since, now),
        **queue_indicators(db, now, hours),
    }


# ---- trends --------------------------------------------------------------------------
def day_bounds(since: float, now: float, tz: str) -> list[tuple[str, float, float | None]]:
    """The window cut at local midnights of `tz`: (date, start, end) per day, end exclusive,
    None for the day that runs up to now. The first and last day may be partial."""
    zone = ZoneInfo(tz)
    days, start = [], since
    while True:
        local = datetime.fromtimestamp(start, zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), dtime(0), zone).timestamp()
        days.append((local.date().isoformat(), start, midnight if midnight <= now else None))
        if midnight > now:
            return days
        start = midnight


def trend(
    db: sqlite_utils.Database,
    since: float,
    now: float | None = None,
    hours: BusinessHours | None = None,
) -> list[dict[str, Any]]:
    """The window's indicators day by day (local days of the service time zone), computed by
    the same functions as the headline figures: a day is a shorter window whose cohorts end at
    the next midnight, outcomes as of now. The rows partition the window, so their counts add
    up to the headline's. The queue is a now-only figure and has no daily value."""
    now = time.time() if now is None else now
    hours = hours or BusinessHours()
    return [
        {
            "day": day,
            "since": start,
            "until": end if end is not None else now,
            "partial": start != _midnight(start, hours.tz) or end is None,
            **conversation_indicators(db, start, now, until=end),
            **ticket_indicators(db, start, now, hours, until=end),
            **csat_indicators(db, start, now, until=end),
        }
        for day, start, end in day_bounds(since, now, hours.tz)
    ]


def _midnight(ts: float, tz: str) -> float:
    zone = ZoneInfo(tz)
    return datetime.combine(datetime.fromtimestamp(ts, zone).date(), dtime(0), zone).timestamp()


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
        {key: k, "count": n, "share": _share(n, whole)}
        for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def contact_reasons(
    db: sqlite_utils.Database, since: float, now: float | None = None
) -> dict[str, Any]:
    """What learners came for, over the window's cohorts (module docstring)."""
    now = time.time() if now is None else now
    args = {"since": since, "now": now, "until": None}
    # the intent Rasa gave each learner message (bot/chat.py stores it); a tapped form option
    # (a plain-value payload: "买错了") or a typed answer to a form's question (`answers`, an
    # invoice title read as a complaint) names no new need
    rows = db.execute(
        f"""SELECT conversation_id, intent FROM messages
            WHERE sender = 'learner' AND created_at <= :now AND conversation_id IN ({_COHORT})
              AND COALESCE(json_extract(payload, '$.payload'), '/') LIKE '/%'
              AND answers IS NULL
            ORDER BY id""",
        args,
    ).fetchall()
    per_conv: dict[str, list[str | None]] = {c: [] for c in _column(db, _COHORT, args)}
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
        {**row, "raised": raised[row["intent"]], "raised_share": _share(raised[row["intent"]], n)}
        for row in _counted(main, n, "intent")
    ]
    intents += [  # raised in some conversation without being any conversation's main reason
        {"intent": i, "count": 0, "share": _share(0, n), "raised": c, "raised_share": _share(c, n)}
        for i, c in sorted(raised.items(), key=lambda kv: (-kv[1], kv[0]))
        if i not in main
    ]
    tickets = list(db["tickets"].rows_where(_CREATED, [since, now, None, None]))

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
    db: sqlite_utils.Database, since: float, now: float | None = None, top: int = 8
) -> dict[str, Any]:
    """Refund requests the bot decided in the window, approved or handed to billing; see the
    module docstring."""
    now = time.time() if now is None else now
    rows = list(db["refund_requests"].rows_where("at >= ? AND at <= ?", [since, now]))
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
        "approved_share": _share(len(approved), len(rows)),
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
        rated = _column(
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
                "first_response_min_p50": _round(p50(first.get(agent, []))),
                "csat_avg": round(statistics.mean(rated), 2) if rated else None,
                "csat_responses": len(rated),
            }
        )
    return sorted(rows, key=lambda r: (-r["taken"], -r["resolved"], r["agent"]))


# ---- alerts -------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    indicator: str
    op: str  # "<" or ">"
    threshold: float
    min_sample: int = 0  # ignore the rule until its basis (BASIS[indicator]) is this large
    label: str = ""

    def __post_init__(self) -> None:
        if self.indicator not in BASIS:
            raise ValueError(f"alert rule on unknown indicator {self.indicator!r}")
        if self.op not in ("<", ">"):
            raise ValueError(f"alert rule op must be '<' or '>', not {self.op!r}")

    @property
    def basis(self) -> str:
        return BASIS[self.indicator]

    def breached(self, values: dict[str, Any]) -> bool:
        v = values.get(self.indicator)
        if v is None or values.get(self.basis, 0) < self.min_sample:
            return False
        return v < self.threshold if self.op == "<" else v > self.threshold


@dataclass(frozen=True)
class AlertConfig:
    rules: list[Rule] = field(default_factory=list)
    window_h: float = 24  # alerts always look at this window, whatever the dashboard shows
    surges: SurgeRule | None = None  # one contact reason far above its usual rate (surges.py)

    def label(self, indicator: str) -> str:
        if indicator.startswith(surges.PREFIX):
            return surges.label(indicator)
        return next((r.label for r in self.rules if r.indicator == indicator and r.label), "")


def load_alerts(path: Path) -> AlertConfig:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return AlertConfig(
        rules=[Rule(**r) for r in doc.get("rules", [])],
        window_h=float(doc.get("window_h", 24)),
        surges=SurgeRule.from_doc(doc["surges"]) if doc.get("surges") else None,
    )


def load_rules(path: Path) -> list[Rule]:
    return load_alerts(path).rules


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


def alert_state(
    db: sqlite_utils.Database, config: AlertConfig, hours: BusinessHours, now: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The indicators over the alert window and the alerts they raise, surges included (their
    counts join the values as ``surge:<intent>``): the one evaluation the dashboard's
    banners, the watcher and the webhook share."""
    values = indicators(db, now - config.window_h * 3600, now, hours)
    found = surges.check(db, config.surges, now) if config.surges else []
    values |= {c["indicator"]: c["value"] for c in found}
    raised = [{k: v for k, v in c.items() if k != "breached"} for c in found if c["breached"]]
    return values, alerts(values, config.rules) + raised


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


def record_changes(
    db: sqlite_utils.Database,
    values: dict[str, Any],
    config: AlertConfig,
    now: float,
    raised: list[dict[str, Any]] | None = None,
) -> list[dict]:
    """Store alerts that started or cleared since the last check; returns those changes.
    `raised`: the alerts active now (alert_state's; default: the rules' over `values`).
    A cleared row carries the rule's label, threshold and the value that cleared it."""
    last: dict[str, str] = {}
    for row in db["alert_events"].rows_where(order_by="id"):
        last[row["indicator"]] = row["state"]
    active = {
        a["indicator"]: a for a in (alerts(values, config.rules) if raised is None else raised)
    }
    thresholds = {r.indicator: r.threshold for r in config.rules}
    changes = [
        {**alert, "state": "raised"} for name, alert in active.items() if last.get(name) != "raised"
    ]
    changes += [
        {
            "indicator": name,
            "state": "cleared",
            "value": values.get(name),
            "threshold": thresholds.get(name),
            "label": config.label(name),
        }
        for name, state in last.items()
        if state == "raised" and name not in active
    ]
    for c in changes:
        db["alert_events"].insert(
            {k: c[k] for k in ("indicator", "state", "value", "threshold", "label")} | {"at": now}
        )
    return changes


def history(db: sqlite_utils.Database, config: AlertConfig, limit: int) -> list[dict]:
    """Alert events newest first; rows stored before cleared rows kept their label get it
    from the rules."""
    return [
        {**row, "label": row["label"] or config.label(row["indicator"])}
        for row in db["alert_events"].rows_where(order_by="id desc", limit=limit)
    ]
