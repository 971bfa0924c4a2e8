"""Bot-turn latency through the hub: POST a learner message, wait for the bot's replies.

Starts its own Rasa + hub on free ports with a throwaway database (or uses --url), sends
N sequential messages from a fixed bilingual mix, and prints p50 / p95 per kind of turn.
A learner's conversation is a few turns long, so by default each run of the mix (10
messages) is a new conversation; --turns-per-conversation 0 puts all N in one, which shows
how a turn slows as Rasa's tracker grows (every action call carries the whole tracker).
When it starts its own stack it then sends the same turns to Rasa's REST channel directly,
to show what the hub adds.

    .venv/bin/python bench/turn_latency.py [-n 200] [--turns-per-conversation 10]
        [--url http://127.0.0.1:8000]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import keys, rasa_env  # noqa: E402
from bot.launcher import start_stack  # noqa: E402
from bot.rasa_client import CHANNEL, TOKEN_HEADER  # noqa: E402
from bot.rate_limits import unlimited_env  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.conftest import free_port  # noqa: E402

# (kind, text): "rule" turns are answered by a domain response, "kb" turns run the
# custom action that searches the knowledge base with the embedding model.
MIX = [
    ("rule", "hi there"),
    ("kb", "can I download lessons to watch offline?"),
    ("rule", "thanks!"),
    ("kb", "how many devices can I log in on"),
    ("rule", "你好"),
    ("kb", "直播课有回放吗"),
    ("rule", "谢谢"),
    ("kb", "发票多久能收到"),
    ("rule", "are you a bot?"),
    ("kb", "how do I change my phone number"),
]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed_turns(n: int, per_conversation: int, new_conversation, send) -> dict:  # type: ignore[no-untyped-def]
    """Send the mix n times in order, a new conversation every `per_conversation` turns
    (0 = never); `send(conversation, text)` makes one turn. Returns ms per turn kind."""
    times: dict[str, list[float]] = {"all": [], "rule": [], "kb": []}
    conversation = new_conversation()
    for _kind, text in MIX[:4]:  # warm-up: first calls load lazily initialised pieces
        send(conversation, text)
    for i in range(n):
        if per_conversation and i and i % per_conversation == 0:
            conversation = new_conversation()
        kind, text = MIX[i % len(MIX)]
        t0 = time.perf_counter()
        send(conversation, text)
        ms = (time.perf_counter() - t0) * 1000
        times["all"].append(ms)
        times[kind].append(ms)
    return times


def run(base: str, n: int, per_conversation: int = len(MIX)) -> dict[str, list[float]]:
    http = httpx.Client(base_url=base, timeout=30)
    token = http.post("/api/auth/learner", json={"learner_id": "L1002"}).json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"

    def new_conversation() -> str:
        return http.post("/api/conversations").json()["conversation"]["id"]

    def send(cid: str, text: str) -> None:
        r = http.post(f"/api/conversations/{cid}/messages", json={"text": text})
        r.raise_for_status()
        if not r.json()["replies"]:
            raise SystemExit(f"no bot reply to {text!r}: {r.text}")

    return timed_turns(n, per_conversation, new_conversation, send)


def run_rasa_direct(
    rasa_url: str, token: str, n: int, per_conversation: int = len(MIX)
) -> dict:
    """The same turns sent straight to Rasa's channel (with the hub's token, as the hub does):
    what the hub adds on top. (KB turns still call the hub's /webhook for the custom action,
    as in production.)"""
    http = httpx.Client(base_url=rasa_url, timeout=30, headers={TOKEN_HEADER: token})
    counter = iter(range(10**9))

    def send(sender: str, text: str) -> None:
        r = http.post(CHANNEL, json={"sender": sender, "message": text})
        r.raise_for_status()

    return timed_turns(n, per_conversation, lambda: f"bench-{next(counter)}", send)


def report(title: str, times: dict[str, list[float]]) -> None:
    print(title)
    print(f"{'turn kind':<10} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for kind, values in times.items():
        if values:
            print(
                f"{kind:<10} {len(values):>4} {pct(values, 50):>8.1f} {pct(values, 95):>8.1f} "
                f"{statistics.mean(values):>8.1f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--turns-per-conversation", type=int, default=len(MIX))
    parser.add_argument("--url", help="use a running hub instead of starting one")
    args = parser.parse_args()
    per = args.turns_per_conversation
    label = f"{args.n} sequential messages, {per or args.n} per conversation"
    if args.url:
        report(f"bot-turn latency through the hub, {label}", run(args.url, args.n, per))
        return 0
    model, _ = rasa_env.train(quiet=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp), port=free_port(), rasa_port=free_port())
        stack = start_stack(settings, model, hub_env={"AFTERCLASS_VAR_DIR": tmp, **unlimited_env()})
        try:
            report(f"bot-turn latency through the hub, {label}", run(stack.hub_url, args.n, per))
            token = keys.secret(settings, "rasa_token")
            report(f"\nRasa's channel directly, {label}",
                   run_rasa_direct(stack.rasa_url, token, args.n, per))
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
