"""The demo course platform: SQLite tables (pf_*) seeded from data/platform/demo.yml.

Seed times are relative ("paid 3 days ago") so the demo stays meaningful on any date.
"""

import json
import time
from pathlib import Path
from typing import Any

import sqlite_utils
import yaml

from course_platform.base import Course, Learner, Order, Progress, Refund, ServiceRequest

DAY = 86400.0
_TABLES = {
    "pf_learners": ({"id": str, "name": str, "email": str, "phone": str, "lang": str}, "id"),
    "pf_courses": (
        {
            "id": str,
            "name_zh": str,
            "name_en": str,
            "kind": str,
            "price": float,
            "starts_at": float,
            "months": int,
        },
        "id",
    ),
    "pf_orders": (
        {
            "id": str,
            "learner_id": str,
            "course_id": str,
            "amount": float,
            "status": str,
            "paid_at": float,
            "payment_method": str,
            "access_until": float,
            "refunded_at": float,
        },
        "id",
    ),
    "pf_progress": (
        {
            "learner_id": str,
            "course_id": str,
            "progress": float,
            "quiz_passed": int,
            "last_studied_at": float,
        },
        ("learner_id", "course_id"),
    ),
    "pf_refunds": (
        {
            "id": int,
            "order_id": str,
            "learner_id": str,
            "amount": float,
            "reason": str,
            "status": str,
            "requested_at": float,
            "decided_at": float,
        },
        "id",
    ),
    "pf_requests": (
        {
            "id": int,
            "kind": str,
            "learner_id": str,
            "payload": str,
            "status": str,
            "created_at": float,
        },
        "id",
    ),
}


def ensure_schema(db: sqlite_utils.Database) -> None:
    for name, (columns, pk) in _TABLES.items():
        db[name].create(columns, pk=pk, transform=True)
    for table, cols in (
        ("pf_orders", ["learner_id"]),
        ("pf_refunds", ["learner_id"]),
        ("pf_requests", ["learner_id", "kind"]),
    ):
        db[table].create_index(cols, if_not_exists=True)


def seed_if_empty(db: sqlite_utils.Database, seed_file: Path, now: float | None = None) -> int:
    """Load the demo platform data into empty tables; returns the number of orders loaded."""
    ensure_schema(db)
    if db["pf_learners"].count or not seed_file.exists():
        return 0
    now = time.time() if now is None else now
    doc = yaml.safe_load(seed_file.read_text(encoding="utf-8"))
    courses = {c["id"]: c for c in doc["courses"]}
    with db.conn:
        for c in doc["courses"]:
            starts = c.get("starts_in_days")
            db["pf_courses"].insert(
                {
                    "id": c["id"],
                    "name_zh": c["name_zh"],
                    "name_en": c["name_en"],
                    "kind": c["kind"],
                    "price": c["price"],
                    "months": c.get("months"),
                    "starts_at": None if starts is None else now + starts * DAY,
                }
            )
        for learner in doc["learners"]:
            db["pf_learners"].insert(
                {k: learner.get(k, "") for k in ("id", "name", "email", "phone", "lang")}
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
                db["pf_orders"].insert(
                    {
                        "id": o["id"],
                        "learner_id": learner["id"],
                        "course_id": o["course"],
                        "amount": o.get("amount", course["price"]),
                        "status": o.get("status", "refunded" if refunded is not None else "paid"),
                        "paid_at": paid_at,
                        "payment_method": o.get("payment_method", "wechat"),
                        "access_until": access_until,
                        "refunded_at": None if refunded is None else now - refunded * DAY,
                    }
                )
                if "progress" in o:
                    db["pf_progress"].insert(
                        {
                            "learner_id": learner["id"],
                            "course_id": o["course"],
                            "progress": o["progress"],
                            "quiz_passed": int(o.get("quiz_passed", False)),
                            "last_studied_at": now - o.get("studied_days_ago", 1) * DAY,
                        }
                    )
                if refunded is not None:
                    db["pf_refunds"].insert(
                        {
                            "order_id": o["id"],
                            "learner_id": learner["id"],
                            "amount": o.get("amount", course["price"]),
                            "reason": "demo",
                            "status": "paid",
                            "requested_at": now - (refunded + 2) * DAY,
                            "decided_at": now - refunded * DAY,
                        }
                    )
    return db["pf_orders"].count


class DemoPlatform:
    """CoursePlatform over the pf_* tables in the hub's SQLite file."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def learner(self, learner_id: str) -> Learner | None:
        rows = list(self.db["pf_learners"].rows_where("id = ?", [learner_id]))
        return Learner(**rows[0]) if rows else None

    def learners(self) -> list[Learner]:
        return [Learner(**r) for r in self.db["pf_learners"].rows_where(order_by="id")]

    def course(self, course_id: str) -> Course | None:
        rows = list(self.db["pf_courses"].rows_where("id = ?", [course_id]))
        return Course(**rows[0]) if rows else None

    def courses(self) -> list[Course]:
        return [Course(**r) for r in self.db["pf_courses"].rows_where(order_by="id")]

    def _with_course(self, row: dict) -> Order:
        return Order(**row, course=self.course(row["course_id"]))

    def orders(self, learner_id: str) -> list[Order]:
        rows = self.db["pf_orders"].rows_where(
            "learner_id = ?", [learner_id], order_by="paid_at desc"
        )
        return [self._with_course(r) for r in rows]

    def order(self, learner_id: str, order_id: str) -> Order | None:
        rows = list(
            self.db["pf_orders"].rows_where(
                "id = ? AND learner_id = ?", [order_id.upper(), learner_id]
            )
        )
        return self._with_course(rows[0]) if rows else None

    def progress(self, learner_id: str, course_id: str) -> Progress | None:
        rows = list(
            self.db["pf_progress"].rows_where(
                "learner_id = ? AND course_id = ?", [learner_id, course_id]
            )
        )
        return (
            Progress(**{**rows[0], "quiz_passed": bool(rows[0]["quiz_passed"])}) if rows else None
        )

    def refunds(self, learner_id: str) -> list[Refund]:
        rows = self.db["pf_refunds"].rows_where(
            "learner_id = ?", [learner_id], order_by="requested_at desc"
        )
        return [Refund(**r) for r in rows]

    def create_refund(self, learner_id: str, order_id: str, amount: float, reason: str) -> Refund:
        now = time.time()
        with self.db.conn:
            refund_id = (
                self.db["pf_refunds"]
                .insert(
                    {
                        "order_id": order_id,
                        "learner_id": learner_id,
                        "amount": amount,
                        "reason": reason,
                        "status": "pending",
                        "requested_at": now,
                    }
                )
                .last_pk
            )
            self.db["pf_orders"].update(order_id, {"status": "refund_pending"})
        return Refund(**self.db["pf_refunds"].get(refund_id))

    def submit_request(self, learner_id: str, kind: str, payload: dict[str, Any]) -> ServiceRequest:
        req_id = (
            self.db["pf_requests"]
            .insert(
                {
                    "kind": kind,
                    "learner_id": learner_id,
                    "status": "open",
                    "created_at": time.time(),
                    "payload": json.dumps(payload, ensure_ascii=False),
                }
            )
            .last_pk
        )
        return self._request(self.db["pf_requests"].get(req_id))

    def requests(self, learner_id: str, kind: str | None = None) -> list[ServiceRequest]:
        where, args = "learner_id = ?", [learner_id]
        if kind:
            where += " AND kind = ?"
            args.append(kind)
        return [
            self._request(r)
            for r in self.db["pf_requests"].rows_where(where, args, order_by="created_at desc")
        ]

    @staticmethod
    def _request(row: dict) -> ServiceRequest:
        return ServiceRequest(**{**row, "payload": json.loads(row["payload"] or "{}")})
