"""`afterclass` command line: thin wrappers over the library functions of the same name."""

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from bot import rasa_env
from bot.settings import Settings, get_settings


def banner(settings: Settings, rasa_url: str, seconds: float) -> str:
    """What `afterclass run` prints once both processes answer: every page, and how each
    kind of user signs in (the demo accounts of the staff seed, if it is used)."""
    import yaml

    staff = []
    if settings.demo_mode and settings.staff_seed and Path(settings.staff_seed).is_file():
        staff = yaml.safe_load(Path(settings.staff_seed).read_text("utf-8")).get("staff") or []

    def who(role: str, but: str = "") -> str:
        users = [
            f"{s['username']} / {s['password']}"
            for s in staff
            if role in s.get("roles", []) and but not in s.get("roles", []) and s.get("password")
        ]
        return f"(sign in: {', '.join(users)})" if users else "(staff sign-in)"

    base = settings.base_url
    learners = (
        "(pick a demo learner on the page)"
        if settings.demo_mode
        else "(learners arrive signed from the course app)"
    )
    demo = (
        "\n  DEMO MODE: demo learners and demo staff passwords are public (AFTERCLASS_DEMO)"
        if settings.demo_mode
        else ""
    )
    return f"""
[afterclass] ready in {seconds:.0f}s{demo}
  Learner chat       {base}/chat       {learners}
  Agent console      {base}/agent      {who("agent", but="manager")}
  Knowledge base     {base}/kb         {who("content_editor")}
  Manager dashboard  {base}/dashboard  {who("manager")}
  Staff accounts     {base}/admin      {who("admin")}
  Hub API docs       {base}/docs
  Rasa server        {rasa_url}
Press Ctrl-C to stop."""


def run(args: argparse.Namespace) -> int:
    """Train if needed, start Rasa and the hub, print the URLs, stop both on Ctrl-C."""
    from bot.launcher import PortInUse, start_stack

    settings = get_settings()
    t0 = time.time()
    model, trained = rasa_env.train(quiet=False)
    print(
        f"[afterclass] Rasa model {'trained' if trained else 'up to date'}: {model.name} "
        f"({time.time() - t0:.0f}s)",
        flush=True,
    )
    log_dir = settings.var_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"[afterclass] starting Rasa and the hub (logs in {log_dir}) ...", flush=True)
    try:
        stack = start_stack(settings, model, log_dir=log_dir)
    except PortInUse as e:
        print(f"[afterclass] {e}", file=sys.stderr)
        return 1
    print(banner(settings, stack.rasa_url, time.time() - t0), flush=True)

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while stack.rasa.poll() is None and stack.hub.poll() is None:
            time.sleep(0.5)
        print("[afterclass] a process exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[afterclass] stopping ...", flush=True)
        return 0
    finally:
        stack.stop()


def serve(args: argparse.Namespace) -> int:
    """Only the hub, in this process (Rasa must be started separately)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run("bot.app:create_app", factory=True, host=settings.host, port=settings.port)
    return 0


def train(args: argparse.Namespace) -> int:
    model, trained = rasa_env.train(force=args.force)
    print(f"{'trained' if trained else 'up to date'}: {model}")
    return 0


def validate(args: argparse.Namespace) -> int:
    return rasa_env.validate()


def rasa(args: argparse.Namespace) -> int:
    return rasa_env.run_rasa(args.rasa_args)


def build_index(args: argparse.Namespace) -> int:
    """Seed the KB store if empty and (re)build the search index."""
    from bot import migrate
    from bot.db import Database
    from kb_index import store
    from kb_index.service import KnowledgeBase

    settings = get_settings()
    db = Database(settings.database)
    migrate.upgrade(db)
    db.writing(store.seed_if_empty, settings.kb_seed_dir)
    kb = KnowledgeBase(
        settings.index_dir,
        settings.kb.encoder(),
        settings.kb.search_settings(),
        settings.kb.thresholds(),
    )
    entries = db.reading(store.published_entries)
    if args.force:
        kb.rebuild(entries)
        how = "built"
    else:
        how = kb.ensure(entries)
    print(
        f"{how}: {len(entries)} entries, {kb.index.manifest.rows} questions "
        f"-> {kb.current_dir.resolve()}"
    )
    return 0


def db_command(args: argparse.Namespace) -> int:
    """`db upgrade`: migrate the hub database to this release's schema (the hub also does it
    at start-up); `db current`: the revisions it is at, and whether that is the newest."""
    from bot import migrate
    from bot.db import Database

    db = Database(get_settings().database)
    if args.action == "upgrade":
        migrate.upgrade(db)
    at, newest = migrate.current(db), migrate.heads()
    print(f"database: {db.url.render_as_string(hide_password=True)}")
    print(f"at:       {', '.join(sorted(at)) or '(never migrated)'}")
    print(f"newest:   {', '.join(sorted(newest))}")
    print("up to date" if at == newest else "needs `afterclass db upgrade`")
    return 0 if at == newest else 1


def _password(args: argparse.Namespace) -> str:
    """From stdin (--password-stdin, for scripts) or asked twice at the terminal."""
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the two passwords differ; nothing was changed")
    return first


def staff(args: argparse.Namespace) -> int:
    """Staff accounts: add, passwd, disable, enable, list (bot/auth.py does the work)."""
    from bot import auth, migrate
    from bot.db import Database

    db = Database(get_settings().database)
    migrate.upgrade(db)
    try:
        with db.write() as conn:
            if args.action == "list":
                for a in auth.staff_accounts(conn):
                    state = "active" if a["active"] else "disabled"
                    print(
                        f"{a['username']:<16} {state:<9} roles={','.join(a['roles'])} "
                        f"teams={','.join(a['teams']) or '-'}  {a['display_name']}"
                    )
                return 0
            if not args.username:
                raise SystemExit(f"afterclass staff {args.action} needs a user name")
            if args.action == "add":
                account = auth.add_staff(
                    conn,
                    args.username,
                    _password(args),
                    args.role,
                    args.team,
                    args.name or "",
                    by=cli_actor(),
                )
                print(f"added {account['username']}: roles {', '.join(account['roles'])}")
            elif args.action == "passwd":
                auth.set_password(conn, args.username, _password(args), by=cli_actor())
                print(f"new password for {args.username}; their sessions have ended")
            else:
                auth.set_active(conn, args.username, args.action == "enable", by=cli_actor())
                print(f"{args.username} {args.action}d")
    except auth.StaffError as e:
        print(f"refused: {e}", file=sys.stderr)
        return 2
    except KeyError:
        print(f"no staff account {args.username}", file=sys.stderr)
        return 2
    return 0


def _records(settings: Settings):  # type: ignore[no-untyped-def]
    """The learner records the hub itself works with (bot/app.py), for the commands below."""
    from bot import migrate
    from bot.db import Database
    from bot.learner_records import LearnerRecords
    from course_platform.loader import load_platform

    db = Database(settings.database)
    migrate.upgrade(db)
    platform = load_platform(settings.platform, db, settings.platform_options)
    return LearnerRecords.for_settings(settings, db, platform)


def learner(args: argparse.Namespace) -> int:
    """A learner's rights from the command line, for a request that came by mail: `export`
    writes their JSON file, `erase` erases them (docs/privacy.md). The privacy team's console
    does the same for requests made in the chat."""
    import json

    from bot.learner_records import write_file

    settings = get_settings()
    records = _records(settings)
    if args.action == "export":
        data = records.export(args.learner_id)
        if not data["conversations"] and not (data.get("platform") or {}).get("profile"):
            print(f"note: nothing names learner {args.learner_id} here", file=sys.stderr)
        if args.out == "-":
            json.dump(data, sys.stdout, ensure_ascii=False, indent=1, default=str)
            print()
        else:
            out = Path(args.out or f"learner-{args.learner_id}.json")
            write_file(data, out)
            print(f"wrote {out} (readable by you only)")
        return 0
    if not args.yes:
        print(
            f"this erases learner {args.learner_id} for good; run again with --yes",
            file=sys.stderr,
        )
        return 2
    report = records.erase(args.learner_id, actor=cli_actor())
    print(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    return 0


def retention(args: argparse.Namespace) -> int:
    """The retention purge the hub runs daily, now; `--dry-run` only reports."""
    import json

    from bot import retention as purge

    settings = get_settings()
    records = _records(settings)
    report = purge.run(
        records.db,
        records.tracker,
        records.key,
        purge.Policy.from_settings(settings),
        dry_run=args.dry_run,
        actor=cli_actor(),
    )
    print(json.dumps(report.counts(), indent=1))
    print("dry run: nothing was changed" if args.dry_run else "done")
    return 0


def cli_actor() -> str:
    """Who the audit log names for a command: the operating-system user who ran it."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def reference_platform(args: argparse.Namespace) -> int:
    """Serve the demo course platform over the HTTP API that `HttpPlatform` speaks: the
    executable spec a course platform's engineers can point the hub at."""
    import uvicorn
    from fastapi import FastAPI

    from bot import migrate
    from bot.db import Database, sqlite_url
    from course_platform.demo_store import DemoPlatform, seed_if_empty
    from course_platform.reference_api import build_router

    settings = get_settings()
    db = Database(sqlite_url(settings.var_dir / "platform_reference.db"))
    migrate.upgrade(db)
    db.writing(seed_if_empty, settings.platform_seed_dir / "demo.yml")
    app = FastAPI(title="Course platform reference API")
    app.include_router(build_router(DemoPlatform(db)))
    uvicorn.run(app, host="127.0.0.1", port=args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a migration says so itself
    parser = argparse.ArgumentParser(prog="afterclass", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="train if needed, start Rasa + hub, print URLs").set_defaults(fn=run)
    sub.add_parser("serve", help="run only the hub in this process").set_defaults(fn=serve)
    p = sub.add_parser("train", help="train the Rasa model if its sources changed")
    p.add_argument("--force", action="store_true")
    p.set_defaults(fn=train)
    sub.add_parser("validate", help="rasa data validate --fail-on-warnings").set_defaults(
        fn=validate
    )
    p = sub.add_parser(
        "rasa",
        help="any rasa command with our components' environment, "
        "e.g. afterclass rasa test nlu --nlu my.yml --model models/…",
    )
    p.add_argument("rasa_args", nargs=argparse.REMAINDER)
    p.set_defaults(fn=rasa)
    p = sub.add_parser("build-index", help="seed the KB if empty and build its index")
    p.add_argument("--force", action="store_true")
    p.set_defaults(fn=build_index)
    p = sub.add_parser("db", help="the hub database: upgrade its schema, or say where it stands")
    p.add_argument("action", choices=["upgrade", "current"])
    p.set_defaults(fn=db_command)
    p = sub.add_parser("staff", help="staff accounts: add, passwd, disable, enable, list")
    p.add_argument("action", choices=["add", "passwd", "disable", "enable", "list"])
    p.add_argument("username", nargs="?")
    p.add_argument(
        "--role", action="append", default=[], help="agent, content_editor, manager, admin"
    )
    p.add_argument("--team", action="append", default=[], help="a team the agent works for")
    p.add_argument("--name", help="the name learners and colleagues see")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(fn=staff)
    p = sub.add_parser("learner", help="a learner's data: export it as JSON, or erase it")
    p.add_argument("action", choices=["export", "erase"])
    p.add_argument("learner_id")
    p.add_argument("--out", help="export: the file to write ('-': standard output)")
    p.add_argument("--yes", action="store_true", help="erase: yes, erase them for good")
    p.set_defaults(fn=learner)
    p = sub.add_parser("retention", help="the daily retention purge, now")
    p.add_argument("--dry-run", action="store_true", help="report what it would do, change nothing")
    p.set_defaults(fn=retention)
    p = sub.add_parser(
        "reference-platform", help="serve the demo course platform's HTTP API (HttpPlatform's spec)"
    )
    p.add_argument("--port", type=int, default=8100)
    p.set_defaults(fn=reference_platform)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
