"""The manager's dashboard API: indicators over a window and the early-warning alerts."""

import time

from fastapi import APIRouter, Query, Request

from bot import metrics
from bot.api.deps import CurrentManager, Db

router = APIRouter(prefix="/api/manager", tags=["manager"])


@router.get("/metrics")
def get_metrics(
    request: Request, manager: CurrentManager, db: Db, hours: float = Query(24, gt=0, le=24 * 90)
) -> dict:
    now = time.time()
    values = metrics.indicators(db, since=now - hours * 3600, now=now)
    rules = request.app.state.alert_rules
    return {
        "hours": hours,
        "values": values,
        "agents": metrics.per_agent(db, since=now - hours * 3600),
        "alerts": metrics.alerts(values, rules),
        "rules": [r.__dict__ for r in rules],
    }


@router.get("/alerts")
def alert_history(
    manager: CurrentManager, db: Db, limit: int = Query(50, ge=1, le=500)
) -> list[dict]:
    """Alerts as they were raised and cleared by the hub's watcher, newest first."""
    return list(db["alert_events"].rows_where(order_by="id desc", limit=limit))
