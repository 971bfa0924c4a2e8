"""The demo course platform: tables (pf_*) in the hub's database, seeded from
data/platform/demo.yml.

Seed times are relative ("paid 3 days ago") so the demo stays meaningful on any date.
`DemoPlatform` stands in for a remote course platform: each call is its own short unit of
work on the hub's database (a `Database` with `read()`/`write()`, bot/db.py), so a caller
never holds a transaction open across it, as it could not across an HTTP call.
"""

import json
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection

from course_platform.base import Course, Learner, Order, Progress, Refund, ServiceRequest
from course_platform.tables import (
    pf_courses,
    pf_learners,
    pf_orders,
    pf_progress,
    pf_refunds,
    pf_requests,
)

DAY = 86400.0


def _count(conn: Connection, table: sa.Table) -> int:
    return int(conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def seed_if_empty(conn: Connection, seed_file: Path, now: float | None = None) -> int:
    """Load the demo platform data into empty tables; returns the number of orders loaded."""
    if _count(conn, pf_learners) or not seed_file.exists():
        return 0
    now = time.time() if now is None else now
    doc = yaml.safe_load(seed_file.read_text(encoding="utf-8"))
    courses = {c["id"]: c for c in doc["courses"]}
    for c in doc["courses"]:
        starts = c.get("starts_in_days")
        conn.execute(
            sa.insert(pf_courses).values(
                id=c["id"],
                name_zh=c["name_zh"],
                name_en=c["name_en"],
                kind=c["kind"],
                price=c["price"],
                months=c.get("months"),
                starts_at=None if starts is None else now + starts * DAY,
            )
        )
    for learner in doc["learners"]:
        conn.execute(
            sa.insert(pf_learners).values(
                {k: learner.get(k, "") for k in ("id", "name", "email", "phone", "lang")}
            )
        )
        for o in learner.get("orders", []):
            course = courses[o["course"]]
            paid_at = now - o["paid_days_ago"] * DAY
            access_until = None
            if course["kind"] == "membership":
                access_until = paid_at + course["months"] * 30 * DAY
            elif "access_days" in o:
                access_until = paid_at + o["access_days"] * DAY
            refunded = o.get("refunded_days_ago")
            conn.execute(
                sa.insert(pf_orders).values(
                    id=o["id"],
                    learner_id=learner["id"],
                    course_id=o["course"],
                    amount=o.get("amount", course["price"]),
                    status=o.get("status", "refunded" if refunded is not None else "paid"),
                    paid_at=paid_at,
                    payment_method=o.get("payment_method", "wechat"),
                    access_until=access_until,
                    refunded_at=None if refunded is None else now - refunded * DAY,
                )
            )
            if "progress" in o:
                conn.execute(
                    sa.insert(pf_progress).values(
                        learner_id=learner["id"],
                        course_id=o["course"],
                        progress=o["progress"],
                        quiz_passed=int(o.get("quiz_passed", False)),
                        last_studied_at=now - o.get("studied_days_ago", 1) * DAY,
                    )
                )
            if refunded is not None:
                conn.execute(
                    sa.insert(pf_refunds).values(
                        order_id=o["id"],
                        learner_id=learner["id"],
                        amount=o.get("amount", course["price"]),
                        reason="demo",
                        status="paid",
                        requested_at=now - (refunded + 2) * DAY,
                        decided_at=now - refunded * DAY,
                    )
                )
    return _count(conn, pf_orders)


class DemoPlatform:
    """CoursePlatform over the pf_* tables in the hub's database. `db` is the hub's
    `Database` (anything with `read()` and `write()` units of work)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def learner(self, learner_id: str) -> Learner | None:
        with self.db.read() as conn:
            row = _one(conn, sa.select(pf_learners).where(pf_learners.c.id == learner_id))
        return Learner(**row) if row else None

    def learners(self) -> list[Learner]:
        with self.db.read() as conn:
            rows = _all(conn, sa.select(pf_learners).order_by(pf_learners.c.id))
        return [Learner(**r) for r in rows]

    def course(self, course_id: str) -> Course | None:
        with self.db.read() as conn:
            row = _one(conn, sa.select(pf_courses).where(pf_courses.c.id == course_id))
        return Course(**row) if row else None

    def courses(self) -> list[Course]:
        with self.db.read() as conn:
            rows = _all(conn, sa.select(pf_courses).order_by(pf_courses.c.id))
        return [Course(**r) for r in rows]

    def _orders(self, conn: Connection, query: sa.Select) -> list[Order]:
        rows = _all(conn, query)
        ids = {r["course_id"] for r in rows}
        found = _all(conn, sa.select(pf_courses).where(pf_courses.c.id.in_(ids))) if ids else []
        courses = {c["id"]: Course(**c) for c in found}
        return [Order(**r, course=courses.get(r["course_id"])) for r in rows]

    def orders(self, learner_id: str) -> list[Order]:
        query = (
            sa.select(pf_orders)
            .where(pf_orders.c.learner_id == learner_id)
            .order_by(pf_orders.c.paid_at.desc())
        )
        with self.db.read() as conn:
            return self._orders(conn, query)

    def order(self, learner_id: str, order_id: str) -> Order | None:
        query = sa.select(pf_orders).where(
            pf_orders.c.id == order_id.upper(), pf_orders.c.learner_id == learner_id
        )
        with self.db.read() as conn:
            found = self._orders(conn, query)
        return found[0] if found else None

    def progress(self, learner_id: str, course_id: str) -> Progress | None:
        with self.db.read() as conn:
            row = _one(
                conn,
                sa.select(pf_progress).where(
                    pf_progress.c.learner_id == learner_id, pf_progress.c.course_id == course_id
                ),
            )
        return Progress(**{**row, "quiz_passed": bool(row["quiz_passed"])}) if row else None

    def refunds(self, learner_id: str) -> list[Refund]:
        query = (
            sa.select(pf_refunds)
            .where(pf_refunds.c.learner_id == learner_id)
            .order_by(pf_refunds.c.requested_at.desc())
        )
        with self.db.read() as conn:
            return [Refund(**r) for r in _all(conn, query)]

    def create_refund(self, learner_id: str, order_id: str, amount: float, reason: str) -> Refund:
        with self.db.write() as conn:
            refund_id = conn.execute(
                sa.insert(pf_refunds).values(
                    order_id=order_id,
                    learner_id=learner_id,
                    amount=amount,
                    reason=reason,
                    status="pending",
                    requested_at=time.time(),
                )
            ).inserted_primary_key[0]
            conn.execute(
                sa.update(pf_orders)
                .where(pf_orders.c.id == order_id)
                .values(status="refund_pending")
            )
            row = _one(conn, sa.select(pf_refunds).where(pf_refunds.c.id == refund_id))
        return Refund(**row)

    def submit_request(self, learner_id: str, kind: str, payload: dict[str, Any]) -> ServiceRequest:
        with self.db.write() as conn:
            req_id = conn.execute(
                sa.insert(pf_requests).values(
                    kind=kind,
                    learner_id=learner_id,
                    status="open",
                    created_at=time.time(),
                    payload=json.dumps(payload, ensure_ascii=False),
                )
            ).inserted_primary_key[0]
            row = _one(conn, sa.select(pf_requests).where(pf_requests.c.id == req_id))
        return self._request(row)

    def requests(self, learner_id: str, kind: str | None = None) -> list[ServiceRequest]:
        query = sa.select(pf_requests).where(pf_requests.c.learner_id == learner_id)
        if kind:
            query = query.where(pf_requests.c.kind == kind)
        with self.db.read() as conn:
            rows = _all(conn, query.order_by(pf_requests.c.created_at.desc()))
        return [self._request(r) for r in rows]

    @staticmethod
    def _request(row: Any) -> ServiceRequest:
        return ServiceRequest(**{**row, "payload": json.loads(row["payload"] or "{}")})


def _one(conn: Connection, query: sa.Select) -> dict | None:
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def _all(conn: Connection, query: sa.Select) -> list[dict]:
    return [dict(r) for r in conn.execute(query).mappings()]
