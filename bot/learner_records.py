"""A learner's right to a copy of their data and to its erasure, carried out.

`export` gathers everything the desk and the course platform hold about one learner into
one JSON document: their conversations with every message, the tickets about them with
their events and CSAT, KB feedback and unanswered questions, the refund decisions, their
privacy requests, the audit records about them, Rasa's dialogue events for their
conversations, and the platform's profile, orders, progress, refunds and requests.

`erase` deletes or anonymises all of it, Rasa's tracker store included. What stays names
the learner by a pseudonym (`pseudonym`: a keyed hash of their id, so a repeated request
can be recognised and nobody can turn it back into the id): the conversations and tickets
as rows the reports count, without a word the learner wrote; the refund decisions (the
platform keeps its orders, refunds and invoices as the law requires: docs/privacy.md); the
privacy request itself and the audit records, which show the erasure was done.

Each library says what it holds (transcript, handoff.personal_data, kb_index.personal_data,
the platform's export_learner / erase_learner); this module calls them in an order that a
crash cannot spoil: Rasa's events and the platform's records go first, while the hub's rows
still lead to them, then the hub's rows in one transaction, then Rasa's events once more for
anything written meanwhile. Running it again finishes a run cut short.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

import handoff.personal_data
import kb_index.personal_data
from bot import audit, privacy_requests, transcript
from bot.db import Database
from bot.tables import identity_checks, refund_requests, tokens
from bot.tracker_store import TrackerStore
from course_platform import CoursePlatform
from privacy import mask

FORMAT = "afterclass-learner-export/1"


def pseudonym(key: str, learner_id: str) -> str:
    digest = hmac.new(key.encode(), learner_id.encode(), hashlib.sha256).hexdigest()
    return f"erased-{digest[:24]}"


@dataclass
class LearnerRecords:
    """Where a learner's data lives: the hub's database, the course platform and Rasa's
    tracker store; `key` makes pseudonyms (bot/keys.py: pseudonym_key)."""

    db: Database
    platform: CoursePlatform
    tracker: TrackerStore
    key: str

    @classmethod
    def for_settings(cls, settings: Any, db: Database, platform: CoursePlatform) -> LearnerRecords:
        """Where the hub, and the command line, find a learner's data."""
        from bot import keys

        tracker = TrackerStore(settings.tracker_path)
        return cls(db, platform, tracker, keys.secret(settings, "pseudonym_key"))

    def pseudonym(self, learner_id: str) -> str:
        return pseudonym(self.key, learner_id)

    # ---- the right to a copy ---------------------------------------------------------------

    def export(self, learner_id: str, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        with self.db.read() as conn:
            conversations = transcript.export_conversations(conn, learner_id)
            ids = [c["id"] for c in conversations]
            tickets = handoff.personal_data.export(conn, ids)
            kb = kb_index.personal_data.export(conn, ids)
            refunds = _rows(conn, refund_requests, refund_requests.c.learner_id == learner_id)
            requests = privacy_requests.for_learner(conn, learner_id)
            audit_records = audit.for_learner(conn, learner_id)
        rasa = self.tracker.events(ids)
        for conv in conversations:
            conv["rasa_events"] = rasa.get(conv["id"], [])
        return {
            "format": FORMAT,
            "learner_id": learner_id,
            "exported_at": now,
            "platform": self.platform.export_learner(learner_id),
            "conversations": conversations,
            "tickets": tickets,
            "refund_decisions": refunds,
            **kb,
            "privacy_requests": requests,
            "audit": audit_records,
        }

    # ---- the right to erasure --------------------------------------------------------------

    def erase(
        self,
        learner_id: str,
        *,
        actor: str,
        address: str | None = None,
        request_id: int | None = None,
        now: float | None = None,
    ) -> dict[str, Any]:
        """Erase a learner; returns what was deleted and kept. Recorded in the audit log
        under the pseudonym."""
        now = time.time() if now is None else now
        alias = self.pseudonym(learner_id)
        with self.db.read() as conn:
            # the pseudonym's too: a run cut short after the hub's step left them renamed
            ids = transcript.conversation_ids(conn, learner_id)
            ids += transcript.conversation_ids(conn, alias)
            files = [
                r["export_file"]
                for r in privacy_requests.for_learner(conn, learner_id)
                if r.get("export_file")
            ]
        report: dict[str, Any] = {"learner": alias, "conversations": len(ids)}
        report["rasa_events_deleted"] = self.tracker.delete(ids)
        report["platform"] = self.platform.erase_learner(learner_id, alias)
        for f in files:  # copies made for the learner earlier
            Path(f).unlink(missing_ok=True)
        with self.db.write() as conn:
            report.update(self._erase_hub(conn, learner_id, alias, ids, now))
            audit.record(
                conn,
                "privacy.erase",
                actor=actor,
                subject=f"privacy_request:{request_id}" if request_id else None,
                learner_id=alias,
                detail={k: v for k, v in report.items() if k != "learner"},
                address=address,
                now=now,
            )
        # events Rasa wrote while we worked (a message in flight)
        report["rasa_events_deleted"] += self.tracker.delete(ids)
        return report

    def _erase_hub(
        self, conn: Connection, learner_id: str, alias: str, ids: list[str], now: float
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["messages_stripped"] = transcript.anonymise(conn, ids, alias, now)
        out["tickets_stripped"] = handoff.personal_data.erase(conn, ids)
        out.update(kb_index.personal_data.erase(conn, ids))
        rows = conn.execute(
            sa.select(refund_requests.c.id, refund_requests.c.reason).where(
                refund_requests.c.learner_id == learner_id
            )
        ).all()
        for rid, reason in rows:
            # the reason stays for the refund-reason figures, without contact details nor
            # the id the learner may have typed in it
            conn.execute(
                sa.update(refund_requests)
                .where(refund_requests.c.id == rid)
                .values(learner_id=alias, reason=mask(reason or "").replace(learner_id, alias))
            )
        out["refund_decisions_kept"] = len(rows)
        out["sessions_ended"] = conn.execute(
            sa.delete(tokens).where(tokens.c.kind == "learner", tokens.c.subject == learner_id)
        ).rowcount
        conn.execute(sa.delete(identity_checks).where(identity_checks.c.learner_id == learner_id))
        for r in privacy_requests.for_learner(conn, learner_id):
            if r.get("export_file"):
                privacy_requests.forget_export(conn, r["id"])
        out["privacy_requests_kept"] = privacy_requests.pseudonymise(conn, learner_id, alias)
        out["audit_records_kept"] = audit.pseudonymise(conn, learner_id, alias)
        return out


def _rows(conn: Connection, table: sa.Table, where: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(sa.select(table).where(where))]


def write_file(data: dict[str, Any], path: Path) -> Path:
    """The export as a JSON file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1, default=str)
    return path
