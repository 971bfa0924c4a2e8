"""Time the manager dashboard's SQLite work on a synthetic history of N conversations.

    .venv/bin/python bench/dashboard_queries.py [--conversations 20000] [--days 30] [--repeat 3]

Builds a throwaway hub database (a real SQLite file in a temp folder, migrated to the hub's
own schema by `bot.migrate.upgrade`) with N conversations spread over the last `--days` days:
3-8 learner and bot messages each with the intents the NLU would store, a ticket for about a
fifth of them (claimed, answered, resolved and rated for most), refund decisions and KB gaps.
Then times what the dashboard and the alert watcher call, each in its own read unit of work
(`Database.reading`), the best of `--repeat` runs:

- cards: `metrics.indicators` over 24 h and over 14 days (the API call every 10 s)
- alerts: `metrics.alert_state` (the 24 h rules plus the surge check; the watcher's tick)
- surges alone: `surges.check` over the last hour against the week before
- trend / reasons / refunds: `metrics.trend`, `contact_reasons`, `refund_indicators` over
  14 days (refreshed once a minute)
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bot import metrics, migrate  # noqa: E402
from bot.db import Database, sqlite_url  # noqa: E402
from bot.metrics import surges  # noqa: E402
from bot.tables import conversations as CONVERSATIONS  # noqa: E402
from bot.tables import messages as MESSAGES  # noqa: E402
from bot.tables import refund_requests as REFUNDS  # noqa: E402
from handoff import BusinessHours  # noqa: E402
from handoff import tickets as handoff  # noqa: E402
from handoff.tables import tickets as TICKETS  # noqa: E402

INTENTS = [
    ("ask_question", 30), ("greet", 12), ("login_problem", 8), ("playback_problem", 8),
    ("refund_request", 7), ("refund_status", 4), ("course_access", 5), ("payment_problem", 4),
    ("invoice_request", 4), ("complaint", 3), ("certificate_request", 3), ("account_update", 2),
    ("out_of_scope", 6), ("request_human", 3), ("thank", 6), ("affirm", 4),
]  # fmt: skip


def build(path: Path, n: int, days: float, seed: int = 0) -> float:
    """Fill the database; returns the 'now' the history ends at."""
    rng = random.Random(seed)
    names, weights = zip(*INTENTS, strict=True)
    now = time.time()
    db = Database(sqlite_url(path))
    migrate.upgrade(db)
    hours = BusinessHours()
    conversations, messages = [], []
    starts = sorted(now - rng.random() * days * 86400 for _ in range(n))
    for i, start in enumerate(starts):
        cid = f"c{i:07d}"
        conversations.append(
            {"id": cid, "learner_id": f"L{rng.randrange(5000)}", "lang": "zh", "created_at": start}
        )
        t = start
        for _ in range(rng.randint(2, 4)):
            intent = rng.choices(names, weights)[0]
            tapped = rng.random() < 0.15
            payload = '{"payload": "买错了"}' if tapped else "{}"
            messages.append(
                {
                    "conversation_id": cid,
                    "sender": "learner",
                    "text": "…",
                    "intent": intent,
                    "confidence": rng.uniform(0.4, 1),
                    "lang": "zh",
                    "payload": payload,
                    "tapped": int(tapped),
                    "created_at": t,
                }
            )
            t += rng.uniform(2, 40)
            messages.append(  # one executemany: every row has the same keys
                {
                    "conversation_id": cid,
                    "sender": "bot",
                    "text": "…",
                    "intent": None,
                    "confidence": None,
                    "lang": None,
                    "payload": "{}",
                    "tapped": 0,
                    "created_at": t,
                }
            )
            t += rng.uniform(5, 120)
    with db.write() as conn:
        conn.execute(sa.insert(CONVERSATIONS), conversations)
        conn.execute(sa.insert(MESSAGES), messages)
        for conv in conversations:
            start = conv["created_at"]
            roll = rng.random()
            if roll < 0.05:  # as the refund flow logs a decision (bot/refund_log.py)
                conn.execute(
                    sa.insert(REFUNDS).values(
                        at=start + 60,
                        conversation_id=conv["id"],
                        learner_id=conv["learner_id"],
                        outcome=rng.choice(["approved", "too_late", "too_much_progress"]),
                        amount=199,
                        reason="买错了",
                    )
                )
            if roll < 0.2:
                ticket = handoff.create_ticket(
                    conn,
                    conv["id"],
                    reason=rng.choice(["learner_asked", "complaint", "refund_ineligible"]),
                    hours=hours,
                    now=start + 90,
                )
                if rng.random() < 0.85 and start + 4000 < now:
                    handoff.claim(conn, ticket.id, "agent", now=start + 600, teams=[ticket.team])
                    handoff.record_agent_reply(conn, ticket.id, "agent", now=start + 700)
                    handoff.resolve(conn, ticket.id, "agent", now=start + 3000)
                    if rng.random() < 0.5:
                        handoff.rate(conn, ticket.id, rng.randint(1, 5), now=start + 3100)
    db.dispose()
    return now


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=20000)
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hub.db"
        t0 = time.perf_counter()
        now = build(path, args.conversations, args.days)
        built = time.perf_counter() - t0
        db = Database(sqlite_url(path))
        hours = BusinessHours()
        config = metrics.load_alerts(Path(__file__).resolve().parents[1] / "data" / "alerts.yml")
        with db.read() as conn:
            count = sa.select(sa.func.count())
            n_msgs = conn.execute(count.select_from(MESSAGES)).scalar()
            n_tickets = conn.execute(count.select_from(TICKETS)).scalar()
        day, fortnight = now - 86400, now - 14 * 86400
        rows = [
            ("cards, 24 h (indicators)", lambda: db.reading(metrics.indicators, day, now, hours)),
            ("cards, 14 days", lambda: db.reading(metrics.indicators, fortnight, now, hours)),
            (
                "alert watcher tick (24 h rules + surges)",
                lambda: db.reading(metrics.alert_state, config, hours, now),
            ),
            ("surge check alone", lambda: db.reading(surges.check, config.surges, now)),
            ("trend, 14 days", lambda: db.reading(metrics.trend, fortnight, now, hours)),
            (
                "contact reasons, 14 days",
                lambda: db.reading(metrics.contact_reasons, fortnight, now),
            ),
            ("refunds, 14 days", lambda: db.reading(metrics.refund_indicators, fortnight, now)),
        ]
        print(
            f"{args.conversations} conversations, {n_msgs} messages, "
            f"{n_tickets} tickets over {args.days:g} days (built in {built:.0f} s)"
        )
        print(f"{'query':45} {'best of ' + str(args.repeat):>12}")
        for name, fn in rows:
            print(f"{name:45} {best(fn, args.repeat):9.0f} ms")
        db.dispose()


if __name__ == "__main__":
    main()
