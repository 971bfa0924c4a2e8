"""Play the blind set of issue #25 against the real product and print its pass rate per kind
and language.

    .venv/bin/python bench/blind_set.py [--kinds two_needs,value,late,kb] [--json OUT] [-v]

Starts its own Rasa + hub on free ports with a throwaway SQLite database (the model is
trained first if data/config/domain changed), plays every conversation of
tests/fixtures/blind_set.yml through the hub's learner API as the chat page does, and checks
each outcome the way a manager would, in the hub's database: the ticket and its team, the
intent stored on the learner's message, the message marked as a form's answer, the
citation. The `late` kind talks to a second hub whose Rasa answers every turn after that
hub's timeout (tests/e2e/slow_link.py). The file's header says what passing means per kind.

The set was written before the fixes and is never trained on: read its failures to report
them, not to tune the bot on them.
"""

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import rasa_env  # noqa: E402
from bot.db import Database, sqlite_url  # noqa: E402
from bot.launcher import Stack, start_stack  # noqa: E402
from bot.rate_limits import unlimited_env  # noqa: E402
from bot.settings import Settings  # noqa: E402
from replies import t  # noqa: E402
from tests import dbkit  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.e2e.slow_link import slow_hub  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "blind_set.yml"
KINDS = ("two_needs", "value", "late", "kb")
GUIDES = ("login_problem", "playback_problem", "course_access", "payment_problem")
# the runner signs in and opens far more conversations than a learner may (bot/rate_limits.py)
NO_LIMITS = unlimited_env()


class Chat:
    """One learner's conversation through the hub's learner API."""

    def __init__(self, base: str, learner_id: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        r = self.http.post("/api/auth/learner", json={"learner_id": learner_id})
        r.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {r.json()['token']}"
        r = self.http.post("/api/conversations")
        r.raise_for_status()
        self.cid = r.json()["conversation"]["id"]
        self.last: dict = {}

    def say(self, text: str, payload: str | None = None) -> dict:
        body = {"text": text, **({"payload": payload} if payload else {})}
        r = self.http.post(f"/api/conversations/{self.cid}/messages", json=body)
        r.raise_for_status()
        out = r.json()
        bots = [m for m in out["replies"] if m["sender"] == "bot"]
        if bots:
            self.last = bots[-1]
        return out

    def press(self, match) -> dict | None:  # type: ignore[no-untyped-def]
        """Tap the first button of the bot's latest message that `match(button)` accepts."""
        for b in (self.last.get("payload") or {}).get("buttons") or []:
            if match(b):
                return self.say(b["title"], b["payload"])
        return None

    def messages(self) -> list[dict]:
        r = self.http.get(f"/api/conversations/{self.cid}/messages")
        r.raise_for_status()
        return r.json()["messages"]


def bot_said(out: dict) -> str:
    return " ".join(m["text"] for m in out["replies"] if m["sender"] == "bot")


def has_buttons(message: dict, *payloads: str) -> bool:
    got = {b.get("payload") for b in (message.get("payload") or {}).get("buttons") or []}
    return set(payloads) <= got


def shows_a_step(message: dict, lang: str) -> bool:
    return t("ts_did_it_help", lang) in message["text"] and has_buttons(message, "/affirm", "/deny")


def offers_a_guide(message: dict, lang: str) -> bool:
    """A troubleshooting step shown, or a button that starts one."""
    buttons = (message.get("payload") or {}).get("buttons") or []
    starts = any(str(b.get("payload", "")).lstrip("/").split("{")[0] in GUIDES for b in buttons)
    return shows_a_step(message, lang) or starts


# ---- the kinds ----------------------------------------------------------------------------


def two_needs(base: str, db: Database, case: dict) -> tuple[bool, str]:
    lang = case["lang"]
    chat = Chat(base, case["learner"])
    first = chat.say(case["say"][0])
    for text in case["say"][1:]:
        chat.say(text)
    if case["expect"] == "complaint_and_guide":  # answer the complaint form if it asks
        category = t("complaint_categories", lang).split("|")[2]  # App or website
        for _ in range(3):
            if dbkit.rows(db, "tickets", conversation_id=chat.cid, reason="complaint"):
                break
            if chat.press(lambda b, c=category: b["title"] == c):
                continue
            if t("ask_complaint_description", lang) in chat.last.get("text", ""):
                chat.say(case["details"])
                continue
            break
    stored = dbkit.rows(db, "messages", id=first["message"]["id"])[0]["intent"]
    tickets = dbkit.rows(db, "tickets", conversation_id=chat.cid)
    complaints = [tk for tk in tickets if tk["reason"] == "complaint"]
    bots = [m for m in chat.messages() if m["sender"] == "bot"]
    if case["expect"] == "guide":
        ok = any(shows_a_step(m, lang) for m in bots) and not complaints and stored in GUIDES
    else:
        ok = (
            any(tk["team"] == "tech" for tk in complaints)
            and stored == "complaint"
            and any(offers_a_guide(m, lang) for m in bots)
        )
    teams = ",".join(f"{tk['reason']}/{tk['team']}" for tk in tickets) or "no ticket"
    guide = "guide" if any(offers_a_guide(m, lang) for m in bots) else "no guide"
    return ok, f"intent {stored}; {teams}; {guide}"


def value(base: str, db: Database, case: dict) -> tuple[bool, str]:
    lang, kind = case["lang"], case["kind"]
    chat = Chat(base, case["learner"])
    chat.say(case["start"])
    asked = {
        "company": t("ask_invoice_title_company", lang),
        "personal": t("ask_invoice_title", lang),
        "nickname": t("ask_account_value_nickname", lang),
    }[kind]
    for _ in range(4):  # the order and the invoice's type first, as buttons
        if asked in chat.last.get("text", ""):
            break
        if chat.press(lambda b: str(b["payload"]).startswith("AC")):
            continue
        if chat.press(lambda b: b["payload"] == kind):
            continue
        break
    else:
        return False, "the value's question never came"
    if asked not in chat.last.get("text", ""):
        return False, f"the value's question never came: {chat.last.get('text', '')[:60]}"
    out = chat.say(case["value"])
    slot = "account_value" if kind == "nickname" else "invoice_title"
    row = dbkit.rows(db, "messages", id=out["message"]["id"])[0]
    follow = {
        "company": t("ask_tax_id", lang),
        "personal": t("ask_email_invoice", lang),
        "nickname": case["value"],
    }[kind]
    said = bot_said(out)
    ok = row["answers"] == slot and follow in said and t("form_other_errand", lang) not in said
    chat.say("算了" if lang == "zh" else "cancel")  # nothing recorded: the order stays open
    return ok, f"intent {row['intent']} {row['confidence'] or 0:.2f}; answers {row['answers']}"


def _answered(chat: Chat, message_id: int, timeout: float) -> tuple[list[dict], bool]:
    """Wait until something answers `message_id` besides the hub's "slow" notice; return
    the answers and whether a queue notice is among them."""
    end = time.monotonic() + timeout
    late: list[dict] = []
    while not late and time.monotonic() < end:
        time.sleep(0.25)
        replies = [m for m in chat.messages() if m.get("reply_to") == message_id]
        late = [m for m in replies if (m.get("payload") or {}).get("kind") != "rasa_slow"]
    # the hub stores a late answer and its queue notice in one unit of work: all or nothing
    bots = [m for m in late if m["sender"] == "bot"]
    if bots:
        chat.last = bots[-1]
    return late, any((m.get("payload") or {}).get("event") == "handoff" for m in late)


def late(base: str, db: Database, case: dict) -> tuple[bool, str]:
    lang = case["lang"]
    chat = Chat(base, case["learner"])
    turns = [*case["say"], *(case.get("then") or []) * 4]
    got, handoff, said = [], False, []
    for text in turns:
        if text == "press":
            out = chat.press(lambda b: b["payload"] == "/deny")
            if out is None:
                out = chat.say("还是不行" if lang == "zh" else "still not working")
        else:
            out = chat.say(text)
        said.append(out["message"]["text"])
        if out["mode"] == "human":
            # a typed request for a person while Rasa is slow: the hub queues the learner at
            # once, with its own notice (bot/router.py), and the late answer is not needed
            notice = any(m["payload"].get("event") == "handoff" for m in out["replies"])
            return notice, "queued by the hub at once" if notice else "human mode, no notice"
        got, handoff = _answered(chat, out["message"]["id"], timeout=12)
        if handoff or not got:
            break
    bots = [m for m in got if m["sender"] == "bot"]
    tickets = [tk for tk in dbkit.rows(db, "tickets", conversation_id=chat.cid)
               if tk["status"] in ("queued", "claimed")]
    ok = handoff and bool(bots) and bool(tickets)
    why = "handover + queue notice" if ok else (
        f"after “{said[-1]}”: {'a ticket' if tickets else 'no ticket'}, "
        f"{len(bots)} bot message(s), {'a' if handoff else 'no'} queue notice")
    return ok, why


def kb(base: str, db: Database, case: dict) -> tuple[bool, str]:
    chat = Chat(base, case["learner"])
    for text in case.get("before") or []:
        chat.say(text)
    out = chat.say(case["say"])
    cited = [
        (m.get("payload") or {}).get("citation", {}).get("id")
        for m in out["replies"]
        if (m.get("payload") or {}).get("citation")
    ]
    ok = case["entry"] in cited
    return ok, f"cited {cited or 'nothing'}; intent {out['message']['intent']}"


RUNNERS = {"two_needs": two_needs, "value": value, "late": late, "kb": kb}


def run(stack: Stack, db: Database, cases: dict, kinds: list[str], verbose: bool) -> dict:
    results: dict = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    failures = []

    def play(base: str, kind: str) -> None:
        for i, case in enumerate(cases[kind]):
            try:
                ok, why = RUNNERS[kind](base, db, case)
            except Exception as e:  # a broken turn is a failed case, not a stopped run
                ok, why = False, f"{type(e).__name__}: {e}"
            tally = results[kind][case["lang"]]
            tally[0] += ok
            tally[1] += 1
            text = case.get("say") if kind != "value" else case["value"]
            if not ok:
                failures.append((kind, i, case["lang"], text, why))
            if verbose:
                print(f"{'PASS' if ok else 'FAIL'} {kind} #{i} {case['lang']} {text}: {why}")

    for kind in kinds:
        if kind == "late":
            with slow_hub(stack, env=NO_LIMITS) as url:
                play(url, kind)
        else:
            play(stack.hub_url, kind)
    return {"results": results, "failures": failures}


def report(out: dict) -> dict:
    summary: dict = {}
    print(f"{'kind':<10} {'zh':>9} {'en':>9} {'all':>9}")
    for kind, by_lang in out["results"].items():
        row, total = [], [0, 0]
        for lang in ("zh", "en"):
            ok, n = by_lang.get(lang, [0, 0])
            total[0] += ok
            total[1] += n
            row.append(f"{ok}/{n}")
        row.append(f"{total[0]}/{total[1]}")
        print(f"{kind:<10} {row[0]:>9} {row[1]:>9} {row[2]:>9}")
        summary[kind] = {lang: dict(zip(("passed", "n"), by_lang.get(lang, [0, 0]), strict=True))
                         for lang in ("zh", "en")}
        summary[kind]["rate"] = round(total[0] / total[1], 3) if total[1] else None
    if out["failures"]:
        print("\nfailures:")
        for kind, i, lang, text, why in out["failures"]:
            print(f"  {kind} #{i} {lang} {text}: {why}")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    cases = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    model, _ = rasa_env.train(quiet=True)
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        settings = Settings(var_dir=var, port=free_port(), rasa_port=free_port())
        env = {"AFTERCLASS_VAR_DIR": tmp, "AFTERCLASS_KB_MODEL": "", **NO_LIMITS}
        stack = start_stack(settings, model, log_dir=var, hub_env=env, timeout=240)
        db = Database(sqlite_url(var / "hub.db"))
        try:
            out = run(stack, db, cases, kinds, args.verbose)
        finally:
            stack.stop()
            db.dispose()
    summary = report(out)
    print(f"\n{time.time() - started:.0f} s, model {model.name}")
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
