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
    pf_outbox,
    pf_progress,
    pf_refunds,
    pf_requests,
)
from privacy.redact import mask_email, mask_phone

DAY = 86400.0

# the platform's own one-time code message (a real platform words and sends its own)
_CODE_TEXT_ZH = (
    "【AfterClass】您的验证码是 {code}，用于{what}。"
    "请只在 AfterClass 客服对话中输入，切勿告诉他人。"
)
_CODE_TEXT_EN = (
    "AfterClass: your code is {code}, for {what}. Type it only in the AfterClass support chat;"
    " never share it."
)
_PURPOSES = {  # purpose -> (zh, en)
    "privacy_export": ("导出您的个人数据", "exporting your personal data"),
    "privacy_delete": ("注销账号并删除个人数据", "deleting your account and personal data"),
    "": ("确认是您本人", "confirming it's you"),
}


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

    def send_code(self, learner_id: str, code: str, purpose: str, lang: str) -> str | None:
        """A text message to the account's phone, else an email: recorded in pf_outbox,
        where a real platform would hand it to its SMS or mail provider."""
        learner = self.learner(learner_id)
        if learner is None:
            return None
        if learner.phone:
            channel, destination, shown = "sms", learner.phone, mask_phone(learner.phone)
        elif learner.email:
            channel, destination, shown = "email", learner.email, mask_email(learner.email)
        else:
            return None
        zh = lang == "zh"
        what = _PURPOSES.get(purpose, _PURPOSES[""])[0 if zh else 1]
        text = (_CODE_TEXT_ZH if zh else _CODE_TEXT_EN).format(code=code, what=what)
        with self.db.write() as conn:
            conn.execute(
                sa.insert(pf_outbox).values(
                    learner_id=learner_id,
                    channel=channel,
                    destination=destination,
                    text=text,
                    sent_at=time.time(),
                )
            )
        return shown

    # ---- personal data: a learner's export and erasure (bot/learner_records.py) -----------

    def export_learner(self, learner_id: str) -> dict[str, Any]:
        """Everything the platform holds about a learner, as plain data."""
        with self.db.read() as conn:
            mine = [
                (name, _all(conn, sa.select(t).where(t.c.learner_id == learner_id)))
                for name, t in _LEARNER_TABLES.items()
            ]
            profile = _one(conn, sa.select(pf_learners).where(pf_learners.c.id == learner_id))
        out: dict[str, Any] = {"profile": profile}
        for name, rows in mine:
            for r in rows:
                if "payload" in r:
                    r["payload"] = json.loads(r["payload"] or "{}")
            out[name] = rows
        return out

    def erase_learner(self, learner_id: str, pseudonym: str) -> dict[str, Any]:
        """Delete what the platform holds about a learner, except what the law makes it keep
        (docs/privacy.md): orders and refunds (China's E-Commerce Law art. 31 keeps
        transaction records three years; accounting rules keep payment records longer) and
        invoice requests (invoicing rules keep issued invoices five years), which then name
        the learner by pseudonym only, without the refund reason they typed or the email an
        invoice was sent to. The profile, study progress, other requests and messages sent
        to them are deleted."""
        kept_requests = ("invoice",)
        with self.db.write() as conn:
            counts: dict[str, Any] = {}
            counts["orders_kept"] = conn.execute(
                sa.update(pf_orders)
                .where(pf_orders.c.learner_id == learner_id)
                .values(learner_id=pseudonym)
            ).rowcount
            counts["refunds_kept"] = conn.execute(
                sa.update(pf_refunds)
                .where(pf_refunds.c.learner_id == learner_id)
                .values(learner_id=pseudonym, reason="")
            ).rowcount
            invoices = _all(
                conn,
                sa.select(pf_requests).where(
                    pf_requests.c.learner_id == learner_id, pf_requests.c.kind.in_(kept_requests)
                ),
            )
            for r in invoices:
                payload = json.loads(r["payload"] or "{}")
                payload.pop("email", None)
                conn.execute(
                    sa.update(pf_requests)
                    .where(pf_requests.c.id == r["id"])
                    .values(learner_id=pseudonym, payload=json.dumps(payload, ensure_ascii=False))
                )
            counts["invoice_requests_kept"] = len(invoices)
            counts["requests_deleted"] = conn.execute(
                sa.delete(pf_requests).where(pf_requests.c.learner_id == learner_id)
            ).rowcount
            counts["progress_deleted"] = conn.execute(
                sa.delete(pf_progress).where(pf_progress.c.learner_id == learner_id)
            ).rowcount
            for name, t in _LEARNER_TABLES.items():
                if name not in ("orders", "refunds", "requests", "progress"):
                    counts[f"{name}_deleted"] = conn.execute(
                        sa.delete(t).where(t.c.learner_id == learner_id)
                    ).rowcount
            counts["profile_deleted"] = conn.execute(
                sa.delete(pf_learners).where(pf_learners.c.id == learner_id)
            ).rowcount
        return counts


# the tables with a learner_id column, by the name an export gives them
_LEARNER_TABLES = {
    "orders": pf_orders,
    "progress": pf_progress,
    "refunds": pf_refunds,
    "requests": pf_requests,
    "outbox": pf_outbox,  # the codes sent to their phone or email
}


def _one(conn: Connection, query: sa.Select) -> dict | None:
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def _all(conn: Connection, query: sa.Select) -> list[dict]:
    return [dict(r) for r in conn.execute(query).mappings()]
