"""The audit log: who read or changed what, when, and from where.

Recorded: every staff read of a transcript or of a learner's personal data (their profile
and orders beside a ticket), every privacy action (a request opened, an export made or
fetched, an erasure, a refusal), every staff account and role change, every KB publish, and
each retention purge. Admins list and filter it (GET /api/admin/audit, the admin page); a
learner's export includes the records about them; the retention purge drops records older
than a year (`Settings.retention_audit_days`).

A record is written before the read it records is answered: a read the log cannot hold is
not served. Repeated reads of the same thing by the same person within a few minutes (the
console refreshes a transcript while the agent works on it) are one record.
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.tables import audit_events as A

# what is recorded, with the label the admin page shows
ACTIONS: dict[str, dict[str, str]] = {
    "transcript.read": {"en": "Read a transcript", "zh": "查看对话记录"},
    "learner.read": {"en": "Read a learner's profile and orders", "zh": "查看学员资料与订单"},
    "privacy.request": {"en": "Privacy request opened", "zh": "提交隐私请求"},
    "privacy.export": {"en": "Learner data exported", "zh": "导出学员数据"},
    "privacy.download": {"en": "Export downloaded by the learner", "zh": "学员下载了数据副本"},
    "privacy.erase": {"en": "Learner data erased", "zh": "删除学员数据"},
    "privacy.refuse": {"en": "Privacy request refused", "zh": "拒绝隐私请求"},
    "staff.add": {"en": "Staff account added", "zh": "新增员工账号"},
    "staff.change": {"en": "Staff roles, teams or name changed", "zh": "修改员工角色/组/姓名"},
    "staff.password": {"en": "Staff password set", "zh": "设置员工密码"},
    "staff.enable": {"en": "Staff account enabled", "zh": "启用员工账号"},
    "staff.disable": {"en": "Staff account disabled", "zh": "停用员工账号"},
    "kb.publish": {
        "en": "Live KB changed (published, edited live, taken offline)",
        "zh": "知识库线上内容变更（发布、线上修改、下线）",
    },
    "kb.import": {"en": "KB imported", "zh": "导入知识库"},
    "retention.purge": {"en": "Retention purge", "zh": "按保留期限清理"},
}

READ_WINDOW_S = 600  # repeated reads within this window are one record


def record(
    conn: Connection,
    action: str,
    *,
    actor: str,
    subject: str | None = None,
    learner_id: str | None = None,
    detail: dict[str, Any] | None = None,
    address: str | None = None,
    now: float | None = None,
) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    conn.execute(
        sa.insert(A).values(
            at=time.time() if now is None else now,
            actor=actor,
            action=action,
            subject=subject,
            learner_id=learner_id,
            detail=json.dumps(detail, ensure_ascii=False) if detail else None,
            address=address,
        )
    )


def record_read(
    conn: Connection,
    action: str,
    *,
    actor: str,
    subject: str,
    learner_id: str | None,
    address: str | None = None,
    now: float | None = None,
) -> bool:
    """A read, unless the same person read the same thing in the last few minutes. True if
    a record was written."""
    now = time.time() if now is None else now
    recent = conn.scalar(
        sa.select(A.c.id)
        .where(
            A.c.actor == actor,
            A.c.action == action,
            A.c.subject == subject,
            A.c.at > now - READ_WINDOW_S,
        )
        .limit(1)
    )
    if recent is not None:
        return False
    record(
        conn,
        action,
        actor=actor,
        subject=subject,
        learner_id=learner_id,
        address=address,
        now=now,
    )
    return True


def _view(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out["detail"] = json.loads(out["detail"]) if out.get("detail") else None
    return out


def events(
    conn: Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    learner_id: str | None = None,
    subject: str | None = None,
    since: float | None = None,
    until: float | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest records first, filtered; `before_id` pages back."""
    stmt = sa.select(A).order_by(A.c.id.desc()).limit(limit)
    if actor:
        stmt = stmt.where(A.c.actor == actor)
    if action:
        # "privacy" matches every privacy.* action
        stmt = stmt.where(A.c.action == action if "." in action else A.c.action.like(f"{action}.%"))
    if learner_id:
        stmt = stmt.where(A.c.learner_id == learner_id)
    if subject:
        stmt = stmt.where(A.c.subject == subject)
    if since is not None:
        stmt = stmt.where(A.c.at >= since)
    if until is not None:
        stmt = stmt.where(A.c.at < until)
    if before_id is not None:
        stmt = stmt.where(A.c.id < before_id)
    return [_view(r) for r in conn.execute(stmt)]


def for_learner(conn: Connection, learner_id: str) -> list[dict[str, Any]]:
    """Every record about one learner, oldest first (their export)."""
    rows = conn.execute(sa.select(A).where(A.c.learner_id == learner_id).order_by(A.c.id))
    return [_view(r) for r in rows]


def pseudonymise(conn: Connection, learner_id: str, pseudonym: str) -> int:
    """After an erasure the records stay (who read what is the platform's accountability)
    but name the learner by pseudonym only. Actor and subject "learner:<id>" (their own
    download, a staff read of their profile) are rewritten too."""
    n = conn.execute(
        sa.update(A).where(A.c.learner_id == learner_id).values(learner_id=pseudonym)
    ).rowcount
    for column in (A.c.actor, A.c.subject):
        conn.execute(
            sa.update(A)
            .where(column == f"learner:{learner_id}")
            .values({column.name: f"learner:{pseudonym}"})
        )
    return n


def purge(conn: Connection, before: float) -> int:
    return conn.execute(sa.delete(A).where(A.c.at < before)).rowcount


def count_before(conn: Connection, before: float) -> int:
    return int(conn.scalar(sa.select(sa.func.count()).select_from(A).where(A.c.at < before)) or 0)
