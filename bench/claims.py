"""Ticket claims under contention, through the hub's HTTP API: 16 agents claim the same 200
waiting tickets at once, each trying every ticket in its own random order.

Prints, per engine: successful claims, 409s, double claims (a ticket two agents both got a
200 for, or with more than one 'claimed' event: must be 0), claims/s and attempts/s.

    .venv/bin/python bench/claims.py [--engines sqlite,postgresql] [--agents 16] [--tickets 200]

It starts a hub process on a free loopback port with a throwaway database (and a throwaway
PostgreSQL cluster for postgresql, tests/pgcluster.py); Rasa is not needed for claims.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import handoff  # noqa: E402
from bot import auth, migrate, transcript  # noqa: E402
from bot.db import Database, sqlite_url  # noqa: E402
from bot.launcher import start_hub, wait_until  # noqa: E402
from bot.rate_limits import unlimited_env  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests import dbkit  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.pgcluster import PostgresCluster  # noqa: E402


def seed(db: Database, agents: int, tickets: int) -> list[int]:
    migrate.upgrade(db)
    with db.write() as conn:
        for i in range(agents):
            auth.upsert_staff(conn, f"a{i:02d}", f"a{i:02d}", ["agent"], ["general"])
        ids = []
        for _ in range(tickets):
            conv = transcript.create_conversation(conn, "L1001")
            ids.append(handoff.create_ticket(conn, conv.id, reason="learner_asked").id)
    return ids


def run(engine: str, agents: int, tickets: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        pg = PostgresCluster().start() if engine == "postgresql" else None
        try:
            url = pg.create_database() if pg else sqlite_url(Path(tmp) / "hub.db")
            db = Database(url)
            ids = seed(db, agents, tickets)
            settings = Settings(var_dir=Path(tmp), port=free_port())
            env = {
                "AFTERCLASS_VAR_DIR": tmp,
                **unlimited_env(),
                "AFTERCLASS_DATABASE_URL": url,
                "AFTERCLASS_KB_MODEL": "hashing",  # the KB plays no part in claiming
                "AFTERCLASS_ALERT_CHECK_S": "0",
                "AFTERCLASS_RASA_URL": f"http://127.0.0.1:{free_port()}",
            }
            hub = start_hub(settings, env=env, log_file=Path(tmp) / "hub.log")
            base = f"http://127.0.0.1:{settings.port}"
            try:
                wait_until(lambda: _up(base), 120, [hub])
                return _contend(base, db, ids, agents)
            finally:
                hub.terminate()
                hub.wait(timeout=20)
                db.dispose()
        finally:
            if pg:
                pg.stop()


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _contend(base: str, db: Database, ids: list[int], agents: int) -> dict:
    won: list[tuple[str, int]] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(agents)

    def agent(name: str) -> None:
        http = httpx.Client(base_url=base, timeout=60)
        token = http.post("/api/auth/login", json={"username": name, "password": name}).json()
        http.headers["Authorization"] = f"Bearer {token['token']}"
        order = ids[:]
        random.Random(name).shuffle(order)
        barrier.wait()
        for tid in order:
            r = http.post(f"/api/agent/tickets/{tid}/claim")
            with lock:
                statuses[r.status_code] += 1
                if r.status_code == 200:
                    won.append((name, tid))
        http.close()

    threads = [threading.Thread(target=agent, args=(f"a{i:02d}",)) for i in range(agents)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    per_ticket = Counter(tid for _, tid in won)
    events = Counter(e["ticket_id"] for e in dbkit.rows(db, "ticket_events", kind="claimed"))
    doubles = sum(1 for n in per_ticket.values() if n > 1) + sum(
        1 for n in events.values() if n > 1
    )
    return {
        "claimed": len(won),
        "conflicts": statuses[409],
        "other": sum(n for s, n in statuses.items() if s not in (200, 409)),
        "double": doubles,
        "unclaimed": len(set(ids) - set(per_ticket)),
        "claims_s": len(won) / wall,
        "attempts_s": sum(statuses.values()) / wall,
        "seconds": wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engines", default="sqlite,postgresql")
    ap.add_argument("--agents", type=int, default=16)
    ap.add_argument("--tickets", type=int, default=200)
    args = ap.parse_args()
    print(
        "| engine | agents | tickets | claimed | 409s | other | double claims | unclaimed "
        "| claims/s | attempts/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for engine in args.engines.split(","):
        r = run(engine, args.agents, args.tickets)
        print(
            f"| {engine} | {args.agents} | {args.tickets} | {r['claimed']} | {r['conflicts']} | "
            f"{r['other']} | {r['double']} | {r['unclaimed']} | {r['claims_s']:.0f} | "
            f"{r['attempts_s']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
