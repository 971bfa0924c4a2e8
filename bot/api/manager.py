"""The manager's dashboard API: indicators over a window and the early-warning alerts.

The cards follow the window the manager picks; the alerts always use the fixed window of
data/alerts.yml (see bot/metrics.py), and the response says which one each uses."""

import time
from dataclasses import asdict

from fastapi import APIRouter, Query, Request

from bot import metrics
from bot.api.deps import CurrentManager, Db

router = APIRouter(prefix="/api/manager", tags=["manager"])


@router.get("/metrics")
def get_metrics(
    request: Request, manager: CurrentManager, db: Db, hours: float = Query(24, gt=0, le=24 * 90)
) -> dict:
    now = time.time()
    config: metrics.AlertConfig = request.app.state.alerts
    business = request.app.state.hours
    values = metrics.indicators(db, since=now - hours * 3600, now=now, hours=business)
    _, alerts = metrics.alert_state(db, config, business, now)
    return {
        "hours": hours,
        "now": now,
        "service_tz": business.tz,
        "business_hours": f"{business.opens:%H:%M}–{business.closes:%H:%M}",
        "values": values,
        "agents": metrics.per_agent(db, since=now - hours * 3600, now=now, hours=business),
        "alert_window_h": config.window_h,
        "alerts": alerts,
        "rules": [asdict(r) | {"basis": r.basis} for r in config.rules],
    }


@router.get("/alerts")
def alert_history(
    request: Request, manager: CurrentManager, db: Db, limit: int = Query(50, ge=1, le=500)
) -> list[dict]:
    """Alerts as they were raised and cleared by the hub's watcher, newest first."""
    return metrics.history(db, request.app.state.alerts, limit)
