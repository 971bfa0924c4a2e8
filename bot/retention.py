"""How long personal data is kept, and the daily purge that enforces it.

Defaults (settings `retention_*`, docs/privacy.md says why):

- a transcript is anonymised `retention_transcript_days` (180) after its conversation's last
  message, once no ticket of it is open: the words go (messages, ticket summaries and notes,
  Rasa's dialogue events), the rows stay, under the learner's pseudonym, for the reports;
- unanswered questions (the learners' words, for content staff) are deleted after
  `retention_gaps_days` (90);
- audit records after `retention_audit_days` (365);
- a learner's export file and its link after `export_link_days` (7);
- expired sessions, and identity checks with neither a live code nor a lock.

The hub runs the purge once a day: every `retention_check_s` each process asks whether the
day's run is due, and one process across all of them gets it (leases.claim_due). `afterclass
retention --dry-run` reports what a run would do without doing it. Every real run is
recorded in the audit log with its counts.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import handoff.personal_data
import kb_index.personal_data
from bot import audit, privacy_requests, transcript
from bot.db import Database
from bot.learner_records import pseudonym
from bot.tables import identity_checks, messages, tokens
from bot.tracker_store import TrackerStore

DAY = 86400.0
BATCH = 500  # conversations per transaction: a long purge never holds the write lock long


@dataclass(frozen=True)
class Policy:
    transcript_days: int = 180
    gaps_days: int = 90
    audit_days: int = 365

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        return cls(
            transcript_days=settings.retention_transcript_days,
            gaps_days=settings.retention_gaps_days,
            audit_days=settings.retention_audit_days,
        )


@dataclass
class Report:
    dry_run: bool
    now: float
    cutoffs: dict[str, float] = field(default_factory=dict)
    conversations_anonymised: int = 0
    messages_stripped: int = 0
    rasa_events_deleted: int = 0
    gaps_deleted: int = 0
    audit_records_deleted: int = 0
    export_files_deleted: int = 0
    sessions_deleted: int = 0
    identity_checks_deleted: int = 0

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int) and k != "dry_run"}


def run(
    db: Database,
    tracker: TrackerStore,
    key: str,
    policy: Policy,
    *,
    now: float | None = None,
    dry_run: bool = False,
    actor: str = "retention",
) -> Report:
    now = time.time() if now is None else now
    report = Report(dry_run=dry_run, now=now)
    transcripts_before = now - policy.transcript_days * DAY
    gaps_before = now - policy.gaps_days * DAY
    audit_before = now - policy.audit_days * DAY
    report.cutoffs = {
        "transcripts": transcripts_before,
        "gaps": gaps_before,
        "audit": audit_before,
    }
    _transcripts(db, tracker, key, transcripts_before, now, dry_run, report)
    with db.read() if dry_run else db.write() as conn:
        if dry_run:
            report.gaps_deleted = kb_index.personal_data.old_gaps(conn, gaps_before)
            report.audit_records_deleted = audit.count_before(conn, audit_before)
            report.export_files_deleted = len(privacy_requests.expired_exports(conn, now))
            report.sessions_deleted = _count(conn, tokens, tokens.c.expires_at < now)
            report.identity_checks_deleted = _count(conn, identity_checks, _idle_check(now))
        else:
            report.gaps_deleted = kb_index.personal_data.purge_gaps(conn, gaps_before)
            report.audit_records_deleted = audit.purge(conn, audit_before)
            for r in privacy_requests.expired_exports(conn, now):
                Path(r["export_file"]).unlink(missing_ok=True)
                privacy_requests.forget_export(conn, r["id"])
                report.export_files_deleted += 1
            report.sessions_deleted = conn.execute(
                sa.delete(tokens).where(tokens.c.expires_at < now)
            ).rowcount
            report.identity_checks_deleted = conn.execute(
                sa.delete(identity_checks).where(_idle_check(now))
            ).rowcount
            audit.record(conn, "retention.purge", actor=actor, detail=report.counts(), now=now)
    return report


def _transcripts(
    db: Database,
    tracker: TrackerStore,
    key: str,
    before: float,
    now: float,
    dry_run: bool,
    report: Report,
) -> None:
    """Anonymise quiet conversations in batches, oldest first; one with an open ticket
    waits for a later run."""
    after: tuple[float, str] | None = None
    while True:
        with db.read() as conn:
            quiet = transcript.quiet_since(conn, before, after, limit=BATCH)
            if not quiet:
                return
            busy = handoff.personal_data.open_conversations(conn, [c for c, _, _ in quiet])
        after = (quiet[-1][2], quiet[-1][0])
        due = [(cid, lid) for cid, lid, _ in quiet if cid not in busy]
        report.conversations_anonymised += len(due)
        if not due:
            continue
        ids = [cid for cid, _ in due]
        if dry_run:  # what a real run would strip and delete, counted the same way
            with db.read() as conn:
                stripped = _count(conn, messages, messages.c.conversation_id.in_(ids))
            report.messages_stripped += stripped
            report.rasa_events_deleted += tracker.count(ids)
            continue
        report.rasa_events_deleted += tracker.delete(ids)
        by_learner: dict[str, list[str]] = defaultdict(list)
        for cid, lid in due:
            by_learner[lid or ""].append(cid)
        with db.write() as conn:
            # read again under the write lock: a learner who came back since the read above
            # keeps their words (their Rasa events, 180 days stale, are gone: a fresh start)
            quiet_now = transcript.still_quiet(conn, ids, before)
            quiet_now -= handoff.personal_data.open_conversations(conn, list(quiet_now))
            report.conversations_anonymised -= len(ids) - len(quiet_now)
            for lid, cids in by_learner.items():
                cids = [c for c in cids if c in quiet_now]
                if not cids:
                    continue
                alias = pseudonym(key, lid) if lid and not lid.startswith("erased-") else lid
                report.messages_stripped += transcript.anonymise(conn, cids, alias, now)
                handoff.personal_data.erase(conn, cids)


def _idle_check(now: float) -> Any:
    """An identity check with no live code and no lock holds nothing worth keeping."""
    return sa.and_(
        sa.or_(identity_checks.c.expires_at.is_(None), identity_checks.c.expires_at < now - DAY),
        sa.or_(identity_checks.c.locked_until.is_(None), identity_checks.c.locked_until < now),
    )


def _count(conn: Any, table: sa.Table, where: Any) -> int:
    return int(conn.scalar(sa.select(sa.func.count()).select_from(table).where(where)) or 0)
