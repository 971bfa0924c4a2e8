"""KB entries and their version history in the shared SQLite file (tables kb_*)."""

import json
import time
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils
import yaml

from kb_index.entries import Entry

ENTRIES = "kb_entries"
VERSIONS = "kb_versions"
_JSON_FIELDS = ("alt_questions", "tags")


def ensure_schema(db: sqlite_utils.Database) -> None:
    db[ENTRIES].create(
        {
            "id": str,
            "lang": str,
            "question": str,
            "alt_questions": str,
            "answer": str,
            "category": str,
            "tags": str,
            "status": str,
            "translation": str,
            "version": int,
            "updated_at": float,
            "updated_by": str,
        },
        transform=True,
        pk="id",
    )
    db[ENTRIES].create_index(["lang", "status"], if_not_exists=True)
    db[VERSIONS].create(
        {
            "entry_id": str,
            "version": int,
            "data": str,
            "author": str,
            "created_at": float,
            "note": str,
        },
        transform=True,
        pk=("entry_id", "version"),
    )


def _row_to_entry(row: dict) -> Entry:
    data = {k: row[k] for k in Entry.model_fields if k in row}
    for k in _JSON_FIELDS:
        data[k] = json.loads(row[k] or "[]")
    return Entry(**data)


def _entry_to_row(entry: Entry, author: str, now: float) -> dict:
    row = entry.model_dump()
    for k in _JSON_FIELDS:
        row[k] = json.dumps(row[k], ensure_ascii=False)
    row.update(updated_at=now, updated_by=author)
    return row


def get_entry(db: sqlite_utils.Database, entry_id: str) -> Entry | None:
    rows = list(db[ENTRIES].rows_where("id = ?", [entry_id]))
    return _row_to_entry(rows[0]) if rows else None


def list_entries(
    db: sqlite_utils.Database,
    *,
    lang: str | None = None,
    status: str | None = None,
    category: str | None = None,
    text: str | None = None,
) -> list[Entry]:
    where, args = [], []
    for col, val in (("lang", lang), ("status", status), ("category", category)):
        if val:
            where.append(f"{col} = ?")
            args.append(val)
    if text:
        where.append("(id LIKE ? OR question LIKE ? OR alt_questions LIKE ? OR answer LIKE ?)")
        args.extend([f"%{text}%"] * 4)
    rows = db[ENTRIES].rows_where(" AND ".join(where) or None, args, order_by="id")
    return [_row_to_entry(r) for r in rows]


def published_entries(db: sqlite_utils.Database) -> list[Entry]:
    return list_entries(db, status="published")


def save_entry(db: sqlite_utils.Database, entry: Entry, author: str, note: str = "") -> Entry:
    """Insert or update an entry; every save is a new version in the history."""
    now = time.time()
    with db.conn:
        current = get_entry(db, entry.id)
        version = (current.version if current else 0) + 1
        saved = entry.model_copy(update={"version": version})
        db[ENTRIES].upsert(_entry_to_row(saved, author, now), pk="id")
        db[VERSIONS].insert(
            {
                "entry_id": saved.id,
                "version": version,
                "data": saved.model_dump_json(),
                "author": author,
                "created_at": now,
                "note": note,
            }
        )
    return saved


def history(db: sqlite_utils.Database, entry_id: str) -> list[dict]:
    rows = db[VERSIONS].rows_where("entry_id = ?", [entry_id], order_by="version desc")
    return [
        {
            "version": r["version"],
            "author": r["author"],
            "created_at": r["created_at"],
            "note": r["note"],
            "entry": json.loads(r["data"]),
        }
        for r in rows
    ]


def rollback(db: sqlite_utils.Database, entry_id: str, version: int, author: str) -> Entry:
    """Restore an earlier version's content as a new version (history is never rewritten)."""
    rows = list(db[VERSIONS].rows_where("entry_id = ? AND version = ?", [entry_id, version]))
    if not rows:
        raise KeyError(f"{entry_id} has no version {version}")
    old = Entry.model_validate_json(rows[0]["data"])
    return save_entry(db, old, author, note=f"rollback to v{version}")


def set_status(db: sqlite_utils.Database, entry_id: str, status: str, author: str) -> Entry:
    entry = get_entry(db, entry_id)
    if entry is None:
        raise KeyError(entry_id)
    return save_entry(db, entry.model_copy(update={"status": status}), author, note=status)


def read_seed(paths: Iterable[Path]) -> list[Entry]:
    """Entries from the YAML seed files (`entries:` list), in file order."""
    out: list[Entry] = []
    for path in paths:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        out.extend(Entry(**{"status": "published", **item}) for item in doc.get("entries", []))
    return out


def seed_if_empty(db: sqlite_utils.Database, seed_dir: Path, author: str = "seed") -> int:
    """Load the seed KB into an empty store; a store that has entries is left alone."""
    ensure_schema(db)
    if db[ENTRIES].count:
        return 0
    entries = read_seed(sorted(Path(seed_dir).glob("*.yml")))
    for e in entries:
        save_entry(db, e, author, note="seed")
    return len(entries)
