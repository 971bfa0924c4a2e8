"""Early-warning rules (data/alerts.yml) over the indicators, the surge rules, and the alert
history the watcher records."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy import Connection

from bot.metrics import surges
from bot.metrics.indicators import BASIS, indicators
from bot.metrics.surges import SurgeRule
from bot.tables import alert_events
from handoff import BusinessHours


# ---- alerts -------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    indicator: str
    op: str  # "<" or ">"
    threshold: float
    min_sample: int = 0  # ignore the rule until its basis (BASIS[indicator]) is this large
    label: str = ""

    def __post_init__(self) -> None:
        if self.indicator not in BASIS:
            raise ValueError(f"alert rule on unknown indicator {self.indicator!r}")
        if self.op not in ("<", ">"):
            raise ValueError(f"alert rule op must be '<' or '>', not {self.op!r}")

    @property
    def basis(self) -> str:
        return BASIS[self.indicator]

    def breached(self, values: dict[str, Any]) -> bool:
        v = values.get(self.indicator)
        if v is None or values.get(self.basis, 0) < self.min_sample:
            return False
        return v < self.threshold if self.op == "<" else v > self.threshold


@dataclass(frozen=True)
class AlertConfig:
    rules: list[Rule] = field(default_factory=list)
    window_h: float = 24  # alerts always look at this window, whatever the dashboard shows
    surges: SurgeRule | None = None  # one contact reason far above its usual rate (surges.py)

    def label(self, indicator: str) -> str:
        if indicator.startswith(surges.PREFIX):
            return surges.label(indicator)
        return next((r.label for r in self.rules if r.indicator == indicator and r.label), "")


def load_alerts(path: Path) -> AlertConfig:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return AlertConfig(
        rules=[Rule(**r) for r in doc.get("rules", [])],
        window_h=float(doc.get("window_h", 24)),
        surges=SurgeRule.from_doc(doc["surges"]) if doc.get("surges") else None,
    )


def load_rules(path: Path) -> list[Rule]:
    return load_alerts(path).rules


def alerts(values: dict[str, Any], rules: list[Rule]) -> list[dict[str, Any]]:
    return [
        {
            "indicator": r.indicator,
            "value": values[r.indicator],
            "op": r.op,
            "threshold": r.threshold,
            "label": r.label,
        }
        for r in rules
        if r.breached(values)
    ]


def alert_state(
    conn: Connection, config: AlertConfig, hours: BusinessHours, now: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The indicators over the alert window and the alerts they raise, surges included (their
    counts join the values as ``surge:<intent>``): the one evaluation the dashboard's
    banners, the watcher and the webhook share."""
    values = indicators(conn, now - config.window_h * 3600, now, hours)
    found = surges.check(conn, config.surges, now) if config.surges else []
    values |= {c["indicator"]: c["value"] for c in found}
    raised = [{k: v for k, v in c.items() if k != "breached"} for c in found if c["breached"]]
    return values, alerts(values, config.rules) + raised


def record_changes(
    conn: Connection,
    values: dict[str, Any],
    config: AlertConfig,
    now: float,
    raised: list[dict[str, Any]] | None = None,
) -> list[dict]:
    """Store alerts that started or cleared since the last check; returns those changes.
    `raised`: the alerts active now (alert_state's; default: the rules' over `values`).
    A cleared row carries the rule's label, threshold and the value that cleared it.

    Run it in a write unit of work: it reads the last states and writes the changes in one
    transaction (the hub's watcher holds a lease, so one process records them)."""
    last: dict[str, str] = {}
    for indicator, state in conn.execute(
        sa.select(alert_events.c.indicator, alert_events.c.state).order_by(alert_events.c.id)
    ):
        last[indicator] = state
    active = {
        a["indicator"]: a for a in (alerts(values, config.rules) if raised is None else raised)
    }
    thresholds = {r.indicator: r.threshold for r in config.rules}
    changes = [
        {**alert, "state": "raised"} for name, alert in active.items() if last.get(name) != "raised"
    ]
    changes += [
        {
            "indicator": name,
            "state": "cleared",
            "value": values.get(name),
            "threshold": thresholds.get(name),
            "label": config.label(name),
        }
        for name, state in last.items()
        if state == "raised" and name not in active
    ]
    for c in changes:
        conn.execute(
            sa.insert(alert_events).values(
                **{k: c[k] for k in ("indicator", "state", "value", "threshold", "label")}, at=now
            )
        )
    return changes


def history(conn: Connection, config: AlertConfig, limit: int) -> list[dict]:
    """Alert events newest first; rows stored before cleared rows kept their label get it
    from the rules."""
    rows = conn.execute(sa.select(alert_events).order_by(alert_events.c.id.desc()).limit(limit))
    return [{**row._mapping, "label": row.label or config.label(row.indicator)} for row in rows]
