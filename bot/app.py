"""The FastAPI app factory: opens and migrates the database, loads the KB index and the
course platform, installs the actions runtime, answers what a crash cut short, and mounts
the routers."""

import asyncio
import contextlib
import logging
import os
import time
from contextlib import asynccontextmanager
from datetime import time as dtime

import httpx
import yaml
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection

import handoff
from bot import auth, identity, keys, leases, metrics, migrate, recovery, retention
from bot import runtime as actions_runtime
from bot.api import (
    actions_webhook,
    admin,
    agent,
    agent_kb,
    kb_entries,
    kb_gaps,
    kb_transfer,
    kb_try,
    learner,
    manager,
    pages,
    privacy,
    staff,
)
from bot.broadcast import Broadcaster
from bot.db import Database
from bot.http_guard import BodyLimit, SecurityHeaders, install_log_redaction
from bot.hub import Hub
from bot.learner_records import LearnerRecords
from bot.rasa_client import RasaClient
from bot.rate_limits import RateLimits
from bot.settings import Settings, get_settings, is_loopback
from course_platform import demo_store as platform_store
from course_platform import load_platform
from course_platform.refund_policy import RefundPolicy
from kb_index import store as kb_store
from kb_index.service import KnowledgeBase

log = logging.getLogger(__name__)


def business_hours(settings: Settings) -> handoff.BusinessHours:
    return handoff.BusinessHours(
        tz=settings.service_tz,
        opens=dtime.fromisoformat(settings.service_opens),
        closes=dtime.fromisoformat(settings.service_closes),
    )


def check_demo(settings: Settings) -> None:
    """Demo mode lets anyone sign in as any demo learner and as demo staff with public
    passwords: fine on this machine (`make run`), never by accident on a public address:
    there it is on only if AFTERCLASS_DEMO=true says so (Settings.demo_mode), and loudly."""
    if not settings.demo_mode:
        return
    if not is_loopback(settings.host):
        log.warning("DEMO MODE ON A PUBLIC ADDRESS (%s), as AFTERCLASS_DEMO asks", settings.host)
    log.warning(
        "DEMO MODE: anyone can sign in as a demo learner, and demo staff have the public "
        "passwords of %s. Set AFTERCLASS_DEMO=false for real learners.",
        settings.staff_seed,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    check_demo(settings)
    install_log_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        started = time.time()
        db = Database(settings.database)
        await asyncio.to_thread(prepare, db, settings)
        kb = KnowledgeBase(
            settings.index_dir,
            settings.kb.encoder(),
            settings.kb.search_settings(),
            settings.kb.thresholds(),
        )
        how = await asyncio.to_thread(kb.ensure, db.reading(kb_store.published_entries))
        log.info("KB index %s: %d entries", how, len(kb.index.entries))
        platform = load_platform(settings.platform, db, settings.platform_options)
        hours = business_hours(settings)
        rasa = RasaClient(
            settings.rasa_url, settings.rasa_timeout_s, token=keys.secret(settings, "rasa_token")
        )
        broadcaster = Broadcaster()
        broadcaster.bind(asyncio.get_running_loop())
        app.state.settings = settings
        app.state.db = db
        app.state.kb = kb
        app.state.platform = platform
        app.state.hub = Hub.build(db, rasa, broadcaster, hours, platform)
        app.state.hours = hours  # the dashboard's times count these business hours
        app.state.alerts = metrics.load_alerts(settings.alert_rules)
        app.state.limits = RateLimits(settings)
        # a learner's data wherever it lives, for their export and erasure
        app.state.records = LearnerRecords.for_settings(settings, db, platform)
        # what an earlier run left half done: its learners get a notice (bot/recovery.py)
        await db.awrite(recovery.sweep, app.state.hub.outbox, started)
        background = [asyncio.create_task(sweep_stale(app))]
        if settings.alert_check_s > 0:
            background.append(asyncio.create_task(watch_alerts(app)))
        if settings.retention_check_s > 0:
            background.append(asyncio.create_task(purge_daily(app)))
        actions_runtime.install(
            actions_runtime.Runtime(
                db=db,
                kb=kb,
                platform=platform,
                hours=hours,
                base_url=settings.base_url,
                policy=RefundPolicy.load(settings.refund_policy),
                guides=yaml.safe_load(settings.troubleshooting.read_text(encoding="utf-8")),
                identity=identity.Policy(
                    key=keys.secret(settings, "identity_key"),
                    ttl_s=settings.identity_code_ttl_s,
                    lock_s=settings.identity_lock_s,
                ),
            )
        )
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            actions_runtime.install(None)
            await app.state.hub.aclose()  # late Rasa answers no one will post
            await rasa.aclose()
            db.dispose()

    app = FastAPI(title="AfterClass hub", version="0.1.0", lifespan=lifespan)

    app.add_middleware(SecurityHeaders, chat_frame_ancestors=settings.chat_frame_ancestors)
    app.add_middleware(BodyLimit)  # outermost: counts the bytes before anything reads them

    @app.exception_handler(handoff.TicketError)
    async def ticket_error(_: Request, e: handoff.TicketError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=e.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][1:]) or 'body'}: {err['msg']}"
            for err in e.errors()
        )
        return JSONResponse(
            {"detail": f"invalid request: {problems}", "errors": _jsonable(e.errors())},
            status_code=422,
        )

    @app.get("/api/info")
    async def info(request: Request) -> dict:
        """Public: what every page shows before sign-in (the demo banner)."""
        return {"demo": request.app.state.settings.demo_mode, "version": app.version}

    @app.get("/api/health")
    async def health(request: Request) -> dict:
        state = request.app.state
        return {
            "hub": "ok",
            "rasa": await state.hub.rasa.ready(),
            "kb_entries": len(state.kb.index.entries),
        }

    for router in (
        learner.router,
        staff.router,
        agent.router,
        agent_kb.router,
        kb_entries.router,
        kb_try.router,
        kb_transfer.router,
        kb_gaps.router,
        manager.router,
        admin.router,
        privacy.router,
        actions_webhook.router,
        pages.router,
    ):
        app.include_router(router)
    return app


def prepare(db: Database, settings: Settings) -> None:
    """Migrate the schema, then seed what a first start needs (demo staff, the demo course
    platform, the seed KB): each seed only into empty tables."""
    migrate.upgrade(db)
    with db.write() as conn:
        if settings.demo_mode and settings.staff_seed:  # public passwords: demo only
            auth.seed_staff(conn, settings.staff_seed)
        platform_store.seed_if_empty(conn, settings.platform_seed_dir / "demo.yml")
        kb_store.seed_if_empty(conn, settings.kb_seed_dir)


async def watch_alerts(app: FastAPI) -> None:
    """Every few seconds, compare the indicators over the alert window with the rules; record
    alerts that start or clear and tell the webhook. One hub process does it (the lease); a
    failing webhook is logged, never fatal."""
    settings: Settings = app.state.settings
    config: metrics.AlertConfig = app.state.alerts
    db: Database = app.state.db
    while True:
        await asyncio.sleep(settings.alert_check_s)
        try:
            ttl = settings.alert_check_s * 3
            if not await db.awrite(leases.acquire, "alert_watcher", ttl):
                continue
            changes, values = await db.awrite(_check_alerts, config, app.state.hours)
            if changes and settings.alert_webhook:
                async with httpx.AsyncClient(timeout=5) as client:
                    await client.post(
                        settings.alert_webhook,
                        json={"alerts": changes, "values": values, "window_h": config.window_h},
                    )
        except Exception:  # noqa: BLE001 - the watcher must outlive any one failure
            log.exception("alert check failed")


def _check_alerts(
    conn: Connection, config: metrics.AlertConfig, hours: handoff.BusinessHours
) -> tuple[list[dict], dict]:
    now = time.time()
    values, raised = metrics.alert_state(conn, config, hours, now)
    return metrics.record_changes(conn, values, config, now, raised), values


async def purge_daily(app: FastAPI) -> None:
    """The retention purge (bot/retention.py), once a day across every hub process: each
    looks every `retention_check_s` whether the day's run is due, and one gets it."""
    settings: Settings = app.state.settings
    db: Database = app.state.db
    policy = retention.Policy.from_settings(settings)
    while True:
        claimed = False
        try:
            claimed = await db.awrite(leases.claim_due, "retention", retention.DAY)
            if claimed:
                records = app.state.records
                report = await asyncio.to_thread(
                    retention.run, db, records.tracker, records.key, policy
                )
                log.info("retention purge: %s", report.counts())
        except Exception:  # noqa: BLE001 - the next check tries again; the hub stays up
            log.exception("retention purge failed")
            if claimed:
                with contextlib.suppress(Exception):
                    await db.awrite(leases.due_again, "retention")
        await asyncio.sleep(settings.retention_check_s)


async def sweep_stale(app: FastAPI, every_s: float = 60.0) -> None:
    """Now and then, notice learner messages some hub process left unanswered (it died)."""
    db: Database = app.state.db
    while True:
        await asyncio.sleep(every_s)
        try:
            if await db.awrite(leases.acquire, "recovery", every_s * 3):
                before = time.time() - recovery.STALE_AFTER_S
                await db.awrite(recovery.sweep, app.state.hub.outbox, before)
        except Exception:  # noqa: BLE001 - a background task: log, never die
            log.exception("recovery sweep failed")


def _jsonable(errors: list) -> list:
    return [
        {
            k: (v if isinstance(v, (str, int, float, list, type(None))) else str(v))
            for k, v in err.items()
            if k != "ctx"
        }
        for err in errors
    ]
