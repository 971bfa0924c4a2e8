"""N concurrent learners against the real product (Rasa + hub), closed loop, per engine.

Each simulated learner signs in (demo mode), opens a conversation and sends a bilingual
10-turn script as fast as the replies come: greetings and thanks (rule turns), FAQ questions
in zh and en (KB turns, the embedding model), and a refund form walked to its confirmation
and left with "no" (form turns: the course platform and the refund policy). Every message
carries a client id. A level runs for --seconds; then the next level starts.

Printed per level: turns/s, latency p50/p95/max, errors (non-2xx or no answer), the hub's
own time per turn (p50, from the Server-Timing header: the turn minus its wait for Rasa),
the CPU the hub, Rasa and the PostgreSQL server used (% of one core, from /proc), and the
database check: every
acknowledged message stored exactly once (none lost, none duplicated).

    .venv/bin/python bench/load.py [--engines sqlite,postgresql] [--levels 1,10,20,50]
        [--seconds 30]

It starts its own stack per engine on free loopback ports (a throwaway PostgreSQL cluster
for postgresql, tests/pgcluster.py) and stops everything at the end. Only loopback.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import rasa_env  # noqa: E402
from bot.db import Database, sqlite_url  # noqa: E402
from bot.launcher import start_stack  # noqa: E402
from bot.rate_limits import unlimited_env  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests import dbkit  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.pgcluster import PostgresCluster  # noqa: E402

LEARNERS = ["L1001", "L1002", "L1003", "L1004", "L1005"]
# (kind, text, payload): a script of 10 turns; the refund form's turns depend on the order
# buttons the bot offers, so its payloads are filled in from the replies
SCRIPT: list[tuple[str, str, str | None]] = [
    ("rule", "你好", None),
    ("kb", "课程视频能不能下载下来离线看？", None),
    ("kb", "how many devices can I log in on", None),
    ("form", "我要退款", None),
    ("form", "<order>", "<order>"),
    ("form", "买错了", "买错了"),
    ("form", "不退了", None),
    ("kb", "直播课有回放吗", None),
    ("rule", "thanks!", None),
    ("kb", "发票多久能收到", None),
]


@dataclass
class Level:
    learners: int
    latencies: list[float] = field(default_factory=list)
    hub_ms: list[float] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    acked: list[tuple[str, str, int]] = field(default_factory=list)  # conv, client id, msg id
    lock: threading.Lock = field(default_factory=threading.Lock)


def cpu_seconds(pgid: int | None = None, parent: int | None = None) -> float:
    """User + system CPU seconds of every process in a process group, or of a process and
    its children (from /proc)."""
    total = 0.0
    tick = 100.0  # os.sysconf("SC_CLK_TCK") on Linux
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid, group = int(stat.parent.name), int(fields[1]), int(fields[2])
        if group == pgid or (parent is not None and parent in (pid, ppid)):
            total += (int(fields[11]) + int(fields[12])) / tick
        if parent is not None and pid == parent:  # and its children that have exited
            total += (int(fields[13]) + int(fields[14])) / tick
    return total


def learner_loop(base: str, who: str, level: Level, stop_at: float) -> None:
    http = httpx.Client(base_url=base, timeout=60)
    try:
        token = http.post("/api/auth/learner", json={"learner_id": who}).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        while time.time() < stop_at:
            r = http.post("/api/conversations")
            if r.status_code != 201:
                with level.lock:
                    level.errors.append(f"new conversation: {r.status_code}")
                continue
            cid = r.json()["conversation"]["id"]
            order = None
            for kind, text, payload in SCRIPT:
                if time.time() >= stop_at:
                    break
                if text == "<order>":
                    if order is None:
                        break  # no order offered (Rasa slow?): next conversation
                    text, payload = order["title"], order["payload"]
                body = {"text": text, "client_id": uuid.uuid4().hex}
                if payload:
                    body["payload"] = payload
                t0 = time.perf_counter()
                try:
                    r = http.post(f"/api/conversations/{cid}/messages", json=body)
                except httpx.HTTPError as e:
                    with level.lock:
                        level.errors.append(f"{type(e).__name__}")
                    continue
                took = time.perf_counter() - t0
                with level.lock:
                    if r.status_code != 200:
                        level.errors.append(f"HTTP {r.status_code}")
                        continue
                    out = r.json()
                    level.latencies.append(took)
                    level.kinds[kind] = level.kinds.get(kind, 0) + 1
                    level.acked.append((cid, body["client_id"], out["message"]["id"]))
                    timing = r.headers.get("server-timing", "")
                    for part in timing.split(","):
                        name, _, dur = part.strip().partition(";dur=")
                        if name == "hub" and dur:
                            level.hub_ms.append(float(dur))
                if text == "我要退款":
                    buttons = [
                        b
                        for reply in out["replies"]
                        for b in reply["payload"].get("buttons") or []
                        if str(b.get("payload", "")).startswith("AC")
                    ]
                    order = buttons[0] if buttons else None
    finally:
        http.close()


def check_stored(db: Database, acked: list[tuple[str, str, int]]) -> tuple[int, int]:
    """(lost, duplicated): acknowledged messages missing from the database, and client ids
    stored more than once."""
    rows = dbkit.rows(db, "messages", sender="learner")
    by_client: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        if r["client_id"]:
            by_client.setdefault((r["conversation_id"], r["client_id"]), []).append(r["id"])
    lost = sum(1 for cid, client, mid in acked if mid not in by_client.get((cid, client), []))
    duplicated = sum(len(ids) - 1 for ids in by_client.values() if len(ids) > 1)
    return lost, duplicated


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if values else 0.0


def run_level(stack, db: Database, n: int, seconds: float, server: int | None) -> dict:  # type: ignore[no-untyped-def]
    """`server`: the PostgreSQL server's pid, whose CPU is reported too (it shares the
    machine's cores with Rasa and the hub here)."""
    level = Level(n)
    hub0, rasa0 = cpu_seconds(stack.hub.pid), cpu_seconds(stack.rasa.pid)
    db0 = cpu_seconds(parent=server) if server else 0.0
    started = time.time()
    stop_at = started + seconds
    threads = [
        threading.Thread(
            target=learner_loop, args=(stack.hub_url, LEARNERS[i % len(LEARNERS)], level, stop_at)
        )
        for i in range(n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    wall = time.time() - started
    hub_cpu = (cpu_seconds(stack.hub.pid) - hub0) / wall * 100
    rasa_cpu = (cpu_seconds(stack.rasa.pid) - rasa0) / wall * 100
    db_cpu = (cpu_seconds(parent=server) - db0) / wall * 100 if server else None
    lost, duplicated = check_stored(db, level.acked)
    ms = [x * 1000 for x in level.latencies]
    return {
        "learners": n,
        "turns": len(ms),
        "turns_s": len(ms) / wall,
        "p50": statistics.median(ms) if ms else 0.0,
        "p95": pct(ms, 95),
        "max": max(ms, default=0.0),
        "errors": len(level.errors),
        "error_kinds": sorted(set(level.errors))[:5],
        "hub_p50": statistics.median(level.hub_ms) if level.hub_ms else 0.0,
        "hub_cpu": hub_cpu,
        "rasa_cpu": rasa_cpu,
        "db_cpu": db_cpu,
        "lost": lost,
        "duplicated": duplicated,
    }


def bench_engine(engine: str, levels: list[int], seconds: float) -> list[dict]:
    model, _ = rasa_env.train(quiet=True)
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        env = {
            "AFTERCLASS_VAR_DIR": str(var),
            **unlimited_env(),  # every simulated learner comes from one address
            "AFTERCLASS_KB_MODEL": "",
            "AFTERCLASS_ALERT_CHECK_S": "0",
        }
        pg = PostgresCluster().start() if engine == "postgresql" else None
        try:
            url = pg.create_database() if pg else sqlite_url(var / "hub.db")
            env["AFTERCLASS_DATABASE_URL"] = url
            settings = Settings(var_dir=var, port=free_port(), rasa_port=free_port())
            stack = start_stack(settings, model, log_dir=var, hub_env=env, timeout=300)
            db = Database(url)
            server = (
                int((pg.dir / "data" / "postmaster.pid").read_text().split()[0]) if pg else None
            )
            try:
                # warm up: the first turns load what loads lazily
                run_level(stack, db, 1, 5, server)
                return [run_level(stack, db, n, seconds, server) for n in levels]
            finally:
                stack.stop()
                db.dispose()
        finally:
            if pg:
                pg.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engines", default="sqlite,postgresql")
    ap.add_argument("--levels", default="1,10,20,50")
    ap.add_argument("--seconds", type=float, default=30)
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    print(
        "| engine | learners | turns/s | p50 ms | p95 ms | max ms | errors | hub p50 ms "
        "| hub CPU % | Rasa CPU % | PostgreSQL CPU % | lost | duplicated |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for engine in args.engines.split(","):
        for r in bench_engine(engine, levels, args.seconds):
            print(
                f"| {engine} | {r['learners']} | {r['turns_s']:.1f} | {r['p50']:.0f} | "
                f"{r['p95']:.0f} | {r['max']:.0f} | {r['errors']} | {r['hub_p50']:.1f} | "
                f"{r['hub_cpu']:.0f} | {r['rasa_cpu']:.0f} | "
                f"{'–' if r['db_cpu'] is None else format(r['db_cpu'], '.0f')} | "
                f"{r['lost']} | {r['duplicated']} |",
                flush=True,
            )
            if r["error_kinds"]:
                print(f"  errors seen: {', '.join(r['error_kinds'])}", flush=True)


if __name__ == "__main__":
    main()
