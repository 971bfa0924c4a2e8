"""The manager's dashboard API: indicators over a window, their trend day by day, what
learners came for, refunds, a CSV export, and the early-warning alerts.

The cards follow the window the manager picks; the alerts always use the fixed window of
data/alerts.yml (see bot/metrics/), and the response says which one each uses. Every
number is computed in bot/metrics/; this module only picks the window and the format."""

import csv
import io
import time
from dataclasses import asdict
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

import handoff
from bot import metrics
from bot.api.deps import CurrentManager, DbRead

router = APIRouter(prefix="/api/manager", tags=["manager"])

Hours = Query(24, gt=0, le=24 * 90)

# the export's labels, as the dashboard's cards name them (bot/pages/dashboard.js)
LABELS = {
    "conversations": "Conversations · 会话数",
    "handed_off": "Handed to a person · 转人工会话",
    "ended_unanswered": "Ended unanswered · 未获解答",
    "containment": "Containment (bot only) · 机器人独立解决",
    "complaints": "Conversations with a complaint · 投诉会话",
    "complaint_rate": "Complaint rate · 投诉率",
    "tickets": "Tickets · 工单",
    "open": "Open tickets · 处理中",
    "closed": "Tickets closed · 已关闭工单",
    "resolved": "Resolved · 已解决",
    "resolution_rate": "Resolution rate · 问题解决率",
    "sla_due": "Due tickets · 已到期工单",
    "sla_breached": "SLA breached · SLA 超时",
    "sla_breach_rate": "SLA breaches · SLA 超时率",
    "responded": "Answered by a person · 人工已响应",
    "first_response_min_p50": "First response p50, business min · 首次响应中位数（工作分钟）",
    "first_response_min_p90": "First response p90, business min · 首次响应 P90（工作分钟）",
    "resolution_min_p50": "Resolution time p50, business min · 解决时长中位数（工作分钟）",
    "resolution_min_p90": "Resolution time p90, business min · 解决时长 P90（工作分钟）",
    "csat_avg": "Satisfaction (CSAT, 1–5) · 满意度",
    "csat_responses": "Ratings · 评分数",
    "csat_satisfied_share": "Satisfied (4–5) · 满意占比",
    "queue_waiting": "Waiting now · 当前等待",
    "queue_oldest_min": "Longest wait, business min · 最长等待（工作分钟）",
    "privacy_open": "Privacy requests open · 待处理隐私请求",
    "privacy_overdue": "Privacy requests overdue · 逾期隐私请求",
}


def _window(request: Request, hours: float) -> tuple[float, float, handoff.BusinessHours]:
    now = time.time()
    return now - hours * 3600, now, request.app.state.hours


@router.get("/metrics")
def get_metrics(
    request: Request, manager: CurrentManager, db: DbRead, hours: float = Hours
) -> dict:
    since, now, business = _window(request, hours)
    config: metrics.AlertConfig = request.app.state.alerts
    values = metrics.indicators(db, since=since, now=now, hours=business)
    _, alerts = metrics.alert_state(db, config, business, now)
    return {
        "hours": hours,
        "now": now,
        "service_tz": business.tz,
        "business_hours": f"{business.opens:%H:%M}–{business.closes:%H:%M}",
        "values": values,
        "agents": metrics.per_agent(db, since=since, now=now, hours=business),
        "alert_window_h": config.window_h,
        "alerts": alerts,
        "rules": [asdict(r) | {"basis": r.basis} for r in config.rules],
        "surges": asdict(config.surges) if config.surges else None,
    }


@router.get("/trends")
def get_trends(request: Request, manager: CurrentManager, db: DbRead, hours: float = Hours) -> dict:
    """The window's indicators per local day of the service time zone."""
    since, now, business = _window(request, hours)
    days = metrics.trend(db, since, now, business)
    return {"hours": hours, "now": now, "service_tz": business.tz, "days": days}


@router.get("/reasons")
def get_reasons(
    request: Request, manager: CurrentManager, db: DbRead, hours: float = Hours
) -> dict:
    """Contact reasons (intents, teams, ticket reasons, complaint categories) and refunds."""
    since, now, _ = _window(request, hours)
    return {
        "hours": hours,
        **metrics.contact_reasons(db, since, now),
        "refunds": metrics.refund_indicators(db, since, now),
    }


@router.get("/export")
def export_csv(
    request: Request,
    manager: CurrentManager,
    db: DbRead,
    hours: float = Hours,
    table: Literal["indicators", "trend"] = "indicators",
) -> Response:
    """The indicators table or the trend rows of the window as CSV (UTF-8 with a BOM, so
    spreadsheet programs read the Chinese labels right)."""
    since, now, business = _window(request, hours)
    zone = ZoneInfo(business.tz)

    def local(ts: float) -> str:
        return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M:%S")

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    if table == "indicators":
        values = metrics.indicators(db, since=since, now=now, hours=business)
        writer.writerow(["indicator", "label", "value", "counted_over", "basis", "from", "to"])
        for key, value in values.items():
            basis = metrics.BASIS.get(key, "")
            writer.writerow(
                [key, LABELS.get(key, key), _cell(value), basis, _cell(values.get(basis))]
                + [local(since), local(now)]
            )
    else:
        days = metrics.trend(db, since, now, business)
        keys = [k for k in (days[0] if days else {}) if k not in ("day", "since", "until")]
        writer.writerow(["day", "from", "to", *keys])
        for d in days:
            writer.writerow(
                [d["day"], local(d["since"]), local(d["until"])] + [_cell(d[k]) for k in keys]
            )
    stamp = datetime.fromtimestamp(now, zone).strftime("%Y%m%d-%H%M")
    name = f"afterclass-{table}-{hours:g}h-{stamp}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _cell(value: object) -> object:
    """Empty for a figure with nothing to count over, so it never reads as zero."""
    return "" if value is None else value


@router.get("/alerts")
def alert_history(
    request: Request, manager: CurrentManager, db: DbRead, limit: int = Query(50, ge=1, le=500)
) -> list[dict]:
    """Alerts as they were raised and cleared by the hub's watcher, newest first."""
    return metrics.history(db, request.app.state.alerts, limit)
