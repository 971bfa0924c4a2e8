"""KB entries and their version history in the shared SQLite file (tables kb_*)."""

import json
import time
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils
import yaml

from kb_index.entries import Entry, unpublishable

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
        # the text is literal: "_" and "%" are LIKE wildcards, so "_" used to match every entry
        cols = ("id", "question", "alt_questions", "answer", "tags", "category")
        where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in cols) + ")")
        literal = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args.extend([f"%{literal}%"] * len(cols))
    rows = db[ENTRIES].rows_where(" AND ".join(where) or None, args, order_by="id")
    return [_row_to_entry(r) for r in rows]


def published_entries(db: sqlite_utils.Database) -> list[Entry]:
    return list_entries(db, status="published")


class StaleVersion(Exception):
    """The editor's copy is older than the stored entry: someone saved in between.

    Carries who saved which version when, so the editor can be told and offered a reload
    instead of silently overwriting their colleague's work."""

    def __init__(self, entry_id: str, base: int, version: int, by: str, at: float) -> None:
        self.entry_id, self.base, self.version, self.by, self.at = entry_id, base, version, by, at
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))
        super().__init__(
            f"{entry_id} changed since you opened v{base}: {by} saved v{version} at {when}. "
            f"Reload to see it; nothing was saved · 你打开的是 v{base}，之后 {by} 于 {when} "
            f"保存了 v{version}。请重新加载后再修改；本次未保存"
        )


def _check_base(db: sqlite_utils.Database, entry_id: str, base_version: int | None) -> None:
    if base_version is None:
        return
    rows = list(db[ENTRIES].rows_where("id = ?", [entry_id]))
    version = rows[0]["version"] if rows else 0
    if version != base_version:
        by, at = (rows[0]["updated_by"], rows[0]["updated_at"]) if rows else ("?", time.time())
        raise StaleVersion(entry_id, base_version, version, by or "?", at or 0.0)


def _same(a: Entry, b: Entry) -> bool:
    return a.model_dump(exclude={"version"}) == b.model_dump(exclude={"version"})


def save_entry(
    db: sqlite_utils.Database,
    entry: Entry,
    author: str,
    note: str = "",
    *,
    base_version: int | None = None,
) -> Entry:
    """Insert or update an entry; every change is a new version in the history.

    `base_version`: the version the editor started from; if someone saved since, raises
    StaleVersion and writes nothing. A save that changes nothing (a double-clicked Publish)
    returns the stored entry and adds no version.
    """
    now = time.time()
    with db.conn:
        _check_base(db, entry.id, base_version)
        current = get_entry(db, entry.id)
        if current is not None and _same(current, entry):
            return current
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


def _preview(text: str, n: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def history(db: sqlite_utils.Database, entry_id: str) -> list[dict]:
    """Every version, newest first, with its status and a short preview of its answer."""
    rows = db[VERSIONS].rows_where("entry_id = ?", [entry_id], order_by="version desc")
    out = []
    for r in rows:
        data = json.loads(r["data"])
        out.append(
            {
                "version": r["version"],
                "author": r["author"],
                "created_at": r["created_at"],
                "note": r["note"],
                "status": data.get("status"),
                "preview": _preview(data.get("answer", "")),
                "entry": data,
            }
        )
    return out


def rollback(
    db: sqlite_utils.Database,
    entry_id: str,
    version: int,
    author: str,
    *,
    base_version: int | None = None,
) -> Entry:
    """Restore an earlier version's CONTENT as a new version (history is never rewritten).

    The status stays what it is now: restoring an old wording must not take a live entry
    offline (or put a draft live); going live or offline is its own, explicit action."""
    rows = list(db[VERSIONS].rows_where("entry_id = ? AND version = ?", [entry_id, version]))
    current = get_entry(db, entry_id)
    if not rows or current is None:
        raise KeyError(f"{entry_id} has no version {version}")
    old = Entry.model_validate_json(rows[0]["data"])
    restored = old.model_copy(update={"status": current.status})
    if restored.status == "published" and (why := unpublishable(restored)):
        raise ValueError(why)  # v1 of a draft from unanswered questions is a placeholder
    return save_entry(
        db, restored, author, note=f"restored content of v{version}", base_version=base_version
    )


# how a status change reads in the history: what happened, not "edited"
STATUS_NOTES = {"published": "published", "draft": "unpublished", "archived": "archived"}


def set_status(
    db: sqlite_utils.Database,
    entry_id: str,
    status: str,
    author: str,
    *,
    base_version: int | None = None,
) -> Entry:
    """Publish, unpublish or archive; a status the entry already has adds no version."""
    entry = get_entry(db, entry_id)
    if entry is None:
        raise KeyError(entry_id)
    return save_entry(
        db,
        entry.model_copy(update={"status": status}),
        author,
        note=STATUS_NOTES.get(status, status),
        base_version=base_version,
    )


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
