"""KB entries and their version history in the hub's database (tables kb_*, kb_index/tables.py).

Every function takes the caller's connection (one unit of work, bot/db.py) and never commits.
Saves are optimistic: an entry's update is conditional on the version it was read at, and
staged changes on their revision, so of two editors saving at once one wins and the other is
told (StaleVersion, StaleStaged), on SQLite and PostgreSQL alike."""

import difflib
import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy import Connection

from kb_index import slug
from kb_index.entries import PLACEHOLDER_ANSWER, Entry, question_key, unpublishable
from kb_index.tables import kb_entries as ENTRIES
from kb_index.tables import kb_staged as STAGED
from kb_index.tables import kb_versions as VERSIONS

_JSON_FIELDS = ("alt_questions", "tags")
_SAVE_TRIES = 20  # a save without a base version retries on top of others' saves


def _insert_new(conn: Connection, table: sa.Table, row: dict[str, Any]) -> bool:
    """Insert `row` unless its primary key is taken (also by a transaction not yet committed,
    which this one then waits for): True if it was inserted. INSERT ... ON CONFLICT DO
    NOTHING, which SQLite and PostgreSQL both have, so a lost race is a False, not an error
    that would abort the caller's transaction."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(**row).on_conflict_do_nothing()
    # an INSERT's rowcount is kept only when asked for (SQLAlchemy 2: preserve_rowcount)
    return conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount == 1


def _row_to_entry(row: Mapping[str, Any]) -> Entry:
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


def _entry_row(conn: Connection, entry_id: str) -> Mapping[str, Any] | None:
    row = conn.execute(sa.select(ENTRIES).where(ENTRIES.c.id == entry_id)).first()
    return row._mapping if row else None


def get_entry(conn: Connection, entry_id: str) -> Entry | None:
    row = _entry_row(conn, entry_id)
    return _row_to_entry(row) if row else None


def list_entries(
    conn: Connection,
    *,
    lang: str | None = None,
    status: str | None = None,
    category: str | None = None,
    text: str | None = None,
) -> list[Entry]:
    stmt = sa.select(ENTRIES)
    for col, val in (("lang", lang), ("status", status), ("category", category)):
        if val:
            stmt = stmt.where(ENTRIES.c[col] == val)
    if text:
        # the text is literal: "_" and "%" are LIKE wildcards, so "_" used to match every
        # entry; case-insensitive on both engines (PostgreSQL's LIKE is not, SQLite's is)
        cols = ("id", "question", "alt_questions", "answer", "tags", "category")
        literal = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(sa.or_(*(ENTRIES.c[c].ilike(f"%{literal}%", escape="\\") for c in cols)))
    # sorted here, not by the database: PostgreSQL orders text by its locale's collation
    return sorted((_row_to_entry(r._mapping) for r in conn.execute(stmt)), key=lambda e: e.id)


def published_entries(conn: Connection) -> list[Entry]:
    return list_entries(conn, status="published")


# ---- two live entries must not ask the same question ------------------------------------
#
# A duplicate published by mistake splits the matches between two entries, so neither is
# answered outright and the learner gets two identical buttons. Live entries are checked
# against each other (a draft may repeat a live question while it is written, with a
# warning); a translation link must name an entry of the other language that exists.


class QuestionIndex:
    """The live entries' questions by language and key, built once, so checking a whole
    import file against them takes time linear in the file (an entry against every other
    entry made a 5,000-row import quadratic)."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._ids: dict[tuple[str, str], list[str]] = {}
        for e in entries:
            if e.status == "published":
                for q in e.questions():
                    ids = self._ids.setdefault((e.lang, question_key(q)), [])
                    if e.id not in ids:
                        ids.append(e.id)

    def clashes(self, entry: Entry) -> list[tuple[str, str]]:
        """(question, other entry's id) for each of the entry's questions that another live
        entry of its language already has (width, case, spaces and punctuation ignored)."""
        out = []
        for q in entry.questions():
            ids = self._ids.get((entry.lang, question_key(q)), [])
            other = next((i for i in ids if i != entry.id), None)
            if other is not None:
                out.append((q, other))
        return out


def question_clashes(entry: Entry, others: Iterable[Entry]) -> list[tuple[str, str]]:
    """(question, other entry's id) for each of the entry's questions that another live
    entry of its language already has (width, case, spaces and punctuation ignored)."""
    return QuestionIndex(o for o in others if o.id != entry.id).clashes(entry)


def duplicate_questions(conn: Connection, entry: Entry) -> list[tuple[str, str]]:
    """question_clashes against the live entries in the store."""
    return question_clashes(entry, list_entries(conn, lang=entry.lang, status="published"))


def clash_text(entry_id: str, clashes: list[tuple[str, str]]) -> str:
    """Which live entry already asks which of this entry's questions, in both languages."""
    pairs = "; ".join(f"“{q}” → {other}" for q, other in clashes[:5])
    more = f" (+{len(clashes) - 5})" if len(clashes) > 5 else ""
    return (
        f"{entry_id}: another live entry already has this question: {pairs}{more}. Edit that "
        f"entry, or remove the question here · 已有其他已发布条目包含相同问题：{pairs}{more}。"
        f"请修改那个条目，或从本条目中删去该问题"
    )


def translation_problem(
    conn: Connection, entry: Entry, pending: dict[str, str] | None = None
) -> str | None:
    """Why the entry's translation link is wrong (None if it is right or empty): it must
    name an existing entry (or one in `pending`, id -> lang, e.g. the same import file) of
    the other language."""
    target = entry.translation
    if not target:
        return None
    other = get_entry(conn, target)
    lang = (pending or {}).get(target) or (other.lang if other else None)
    if lang is None:
        return (
            f"translation {target}: no such entry; create it first or leave the link empty"
            f" · 对应译文 {target} 不存在，请先创建该条目或留空"
        )
    if lang == entry.lang:
        return (
            f"translation {target}: that entry is also in {lang}; link the entry in the other"
            f" language · 对应译文 {target} 与本条目语言相同，请填写另一种语言的条目"
        )
    return None


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


def _check_base(conn: Connection, entry_id: str, base_version: int | None) -> None:
    if base_version is not None:
        _check_row(entry_id, base_version, _entry_row(conn, entry_id))


def _check_row(entry_id: str, base_version: int | None, row: Mapping[str, Any] | None) -> None:
    """StaleVersion if the entry's row (None: there is none) is no longer at `base_version`
    (None: no check)."""
    if base_version is None:
        return
    version = row["version"] if row else 0
    if version != base_version:
        by, at = (row["updated_by"], row["updated_at"]) if row else ("?", time.time())
        raise StaleVersion(entry_id, base_version, version, by or "?", at or 0.0)


def _same(a: Entry, b: Entry) -> bool:
    return a.model_dump(exclude={"version"}) == b.model_dump(exclude={"version"})


def _put_entry(conn: Connection, saved: Entry, author: str, now: float, was: int | None) -> bool:
    """Write the entry if it is still at version `was` (None: still absent), in one
    conditional statement: False if someone saved (or created it) in between."""
    row = _entry_to_row(saved, author, now)
    if was is None:
        return _insert_new(conn, ENTRIES, row)
    stmt = (
        sa.update(ENTRIES)
        .where(ENTRIES.c.id == saved.id, ENTRIES.c.version == was)
        .values(**{k: v for k, v in row.items() if k != "id"})
    )
    return conn.execute(stmt).rowcount == 1


def save_entry(
    conn: Connection,
    entry: Entry,
    author: str,
    note: str = "",
    *,
    base_version: int | None = None,
    staged_revision: int | None = None,
) -> Entry:
    """Insert or update an entry; every change is a new version in the history.

    `base_version`: the version the editor started from; if someone saved since, raises
    StaleVersion and writes nothing. A save that changes nothing (a double-clicked Publish)
    returns the stored entry and adds no version. `staged_revision`: the form was loaded
    from those staged changes, so saving it supersedes them (they are cleared); a save
    without it leaves staged changes alone, to be reviewed against the new version.

    The write is conditional on the version read (`_put_entry`), so two saves at once never
    both make version n + 1: with a `base_version` the later one is refused (StaleVersion);
    without one it is applied on top of the other, as a save after it would be.
    """
    now = time.time()
    for attempt in range(_SAVE_TRIES):
        row = _entry_row(conn, entry.id)
        _check_row(entry.id, base_version, row)
        if staged_revision is not None and attempt == 0:
            _take_staged(conn, entry.id, staged_revision)
        current = _row_to_entry(row) if row else None
        if current is not None and _same(current, entry):
            return current
        version = (current.version if current else 0) + 1
        saved = entry.model_copy(update={"version": version})
        if _put_entry(conn, saved, author, now, current.version if current else None):
            break
    else:  # others kept saving in between: refused as a stale copy is
        _check_row(entry.id, version - 1, _entry_row(conn, entry.id))  # raises: it moved on
        raise StaleVersion(entry.id, version - 1, version, "?", now)
    conn.execute(
        sa.insert(VERSIONS).values(
            entry_id=saved.id,
            version=version,
            data=saved.model_dump_json(),
            author=author,
            created_at=now,
            note=note,
        )
    )
    return saved


# ---- staged changes: editing a live entry without changing what learners get ----------
#
# A live entry's fix may take several sittings or a colleague's review; saving each step
# live would show learners half-written answers. Staged changes live beside the entry (the
# index, export and history only ever see the entry itself) until a save of the form
# supersedes them or they are discarded. They remember the live version they were made on:
# if the entry changes underneath (a colleague's edit, a restore, taking it offline) they
# are kept but marked stale, so the editor reviews them instead of silently overwriting.


class StaleStaged(Exception):
    """The editor's view of the staged changes is out of date (re-staged or discarded)."""

    def __init__(self, entry_id: str, expected: int | None, found: dict | None) -> None:
        self.entry_id, self.expected, self.found = entry_id, expected, found
        if found is None:
            text = (
                f"the unpublished changes to {entry_id} were published or discarded meanwhile"
                f" · {entry_id} 的未发布修改已被发布或放弃"
            )
        else:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(found["created_at"]))
            text = (
                f"{found['author']} saved unpublished changes to {entry_id} at {when}. "
                f"Reload to see them; nothing was saved · {found['author']} 于 {when} 保存了"
                f" {entry_id} 的未发布修改。请重新加载后再修改；本次未保存"
            )
        super().__init__(text)


def staged(conn: Connection, entry_id: str) -> dict | None:
    """The entry's staged changes: the edited entry, who and when, and whether the live
    entry has changed since they were made on it (`stale`)."""
    row = conn.execute(sa.select(STAGED).where(STAGED.c.entry_id == entry_id)).first()
    if row is None:
        return None
    current = get_entry(conn, entry_id)
    return {
        "entry": Entry.model_validate_json(row.data).model_dump(),
        "revision": row.revision,
        "base_version": row.base_version,
        "author": row.author,
        "created_at": row.created_at,
        "stale": current is None or current.version != row.base_version,
    }


def staged_ids(conn: Connection) -> set[str]:
    return set(conn.execute(sa.select(STAGED.c.entry_id)).scalars())


def _check_staged(conn: Connection, entry_id: str, revision: int | None) -> None:
    found = staged(conn, entry_id)
    if (found["revision"] if found else None) != revision:
        raise StaleStaged(entry_id, revision, found)


def _take_staged(conn: Connection, entry_id: str, revision: int) -> None:
    """Clear the staged changes if they are still at `revision` (one conditional delete),
    else StaleStaged: they were re-staged or discarded meanwhile."""
    stmt = sa.delete(STAGED).where(STAGED.c.entry_id == entry_id, STAGED.c.revision == revision)
    if conn.execute(stmt).rowcount != 1:
        raise StaleStaged(entry_id, revision, staged(conn, entry_id))


def stage(
    conn: Connection,
    entry: Entry,
    author: str,
    *,
    base_version: int | None,
    staged_revision: int | None,
) -> dict | None:
    """Save an edit of a live entry without putting it live. Both the live version and the
    staged revision the form was loaded from must still be current. Staging the live text
    itself clears the staged changes (returns None). The write is conditional on that
    revision (or on there being none), so of two editors staging at once one is refused."""
    _check_base(conn, entry.id, base_version)
    _check_staged(conn, entry.id, staged_revision)
    current = get_entry(conn, entry.id)
    if current is None or current.status != "published":
        raise ValueError(
            "only a live entry keeps unpublished changes; save the draft itself"
            " · 只有已发布的条目可以暂存修改；草稿请直接保存"
        )
    edited = entry.model_copy(update={"status": "published", "version": current.version})
    if _same(current, edited):
        if staged_revision is not None:
            _take_staged(conn, entry.id, staged_revision)
        return None
    row = {
        "entry_id": entry.id,
        "data": edited.model_dump_json(),
        # microseconds, not a counter: a counter would restart at 1 after a discard
        # and let a view of the discarded changes pass for the new ones
        "revision": max(time.time_ns() // 1000, (staged_revision or 0) + 1),
        "base_version": current.version,
        "author": author,
        "created_at": time.time(),
    }
    if staged_revision is None:
        written = _insert_new(conn, STAGED, row)
    else:
        stmt = (
            sa.update(STAGED)
            .where(STAGED.c.entry_id == entry.id, STAGED.c.revision == staged_revision)
            .values(**{k: v for k, v in row.items() if k != "entry_id"})
        )
        written = conn.execute(stmt).rowcount == 1
    if not written:
        raise StaleStaged(entry.id, staged_revision, staged(conn, entry.id))
    return staged(conn, entry.id)


def discard_staged(conn: Connection, entry_id: str, revision: int) -> None:
    _take_staged(conn, entry_id, revision)


def _preview(text: str, n: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


# what a version can change, in the order the editor's form shows it
_CONTENT = ("question", "alt_questions", "answer", "category", "tags", "translation", "status")


def _text_diff(before: str, after: str, context: int = 1) -> list[list[str]]:
    """A line diff as [op, line] pairs ("-" removed, "+" added, " " unchanged context), with
    `context` unchanged lines around each change and "…" for the lines skipped."""
    a, b = before.splitlines(), after.splitlines()
    out: list[list[str]] = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        if out:
            out.append([" ", "…"])
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [[" ", line] for line in a[i1:i2]]
            else:
                out += [["-", line] for line in a[i1:i2]] + [["+", line] for line in b[j1:j2]]
    return out


def changes(before: dict | None, after: dict) -> list[dict]:
    """What `after` changed against `before` (None: the first version, nothing to compare):
    per field, the old and new value, and for the answer a line diff, so two versions whose
    answers differ past the preview's 80 characters no longer look the same."""
    if before is None:
        return []
    out = []
    for f in _CONTENT:
        old, new = before.get(f), after.get(f)
        if old == new:
            continue
        change: dict = {"field": f, "before": old, "after": new}
        if f == "answer":
            change["diff"] = _text_diff(old or "", new or "")
        out.append(change)
    return out


def history(conn: Connection, entry_id: str) -> list[dict]:
    """Every version, newest first, with its status, a short preview of its answer, and
    what it changed against the version before it (`changes`; `entry` is its full text)."""
    rows = [
        r._mapping
        for r in conn.execute(
            sa.select(VERSIONS)
            .where(VERSIONS.c.entry_id == entry_id)
            .order_by(VERSIONS.c.version.desc())
        )
    ]
    datas = [json.loads(r["data"]) for r in rows]
    out = []
    for n, (r, data) in enumerate(zip(rows, datas, strict=True)):
        out.append(
            {
                "version": r["version"],
                "author": r["author"],
                "created_at": r["created_at"],
                "note": r["note"],
                "status": data.get("status"),
                "preview": _preview(data.get("answer", "")),
                "changes": changes(datas[n + 1] if n + 1 < len(datas) else None, data),
                "entry": data,
            }
        )
    return out


def rollback(
    conn: Connection,
    entry_id: str,
    version: int,
    author: str,
    *,
    base_version: int | None = None,
) -> Entry:
    """Restore an earlier version's CONTENT as a new version (history is never rewritten).

    The status stays what it is now: restoring an old wording must not take a live entry
    offline (or put a draft live); going live or offline is its own, explicit action."""
    data = conn.execute(
        sa.select(VERSIONS.c.data).where(
            VERSIONS.c.entry_id == entry_id, VERSIONS.c.version == version
        )
    ).scalar()
    current = get_entry(conn, entry_id)
    if data is None or current is None:
        raise KeyError(f"{entry_id} has no version {version}")
    old = Entry.model_validate_json(data)
    restored = old.model_copy(update={"status": current.status})
    if restored.status == "published" and (why := unpublishable(restored)):
        raise ValueError(why)  # v1 of a draft from unanswered questions is a placeholder
    if restored.status == "published" and (clashes := duplicate_questions(conn, restored)):
        raise ValueError(clash_text(entry_id, clashes))  # a question since moved elsewhere
    return save_entry(
        conn, restored, author, note=f"restored content of v{version}", base_version=base_version
    )


# how a status change reads in the history: what happened, not "edited"
STATUS_NOTES = {"published": "published", "draft": "unpublished", "archived": "archived"}


def set_status(
    conn: Connection,
    entry_id: str,
    status: str,
    author: str,
    *,
    base_version: int | None = None,
) -> Entry:
    """Publish, unpublish or archive; a status the entry already has adds no version."""
    entry = get_entry(conn, entry_id)
    if entry is None:
        raise KeyError(entry_id)
    return save_entry(
        conn,
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


def seed_if_empty(conn: Connection, seed_dir: Path, author: str = "seed") -> int:
    """Load the seed KB into an empty store; a store that has entries is left alone."""
    if conn.execute(sa.select(ENTRIES.c.id).limit(1)).first() is not None:
        return 0
    entries = read_seed(sorted(Path(seed_dir).glob("*.yml")))
    for e in entries:
        save_entry(conn, e, author, note="seed")
    return len(entries)


def free_id(conn: Connection, lang: str, question: str, taken: set[str] | None = None) -> str:
    """An id for a new entry from its question's words ("how do I pay with bitcoin" ->
    en-how-do-i-pay-with-bitcoin, "会员能不能共享给家人" -> zh-huiyuan-gongxiang-jiaren),
    numbered when an entry (or another suggestion in `taken`) has it already. The editor can
    change it before the first save."""
    base = slug.suggest_base(lang, question)
    taken = taken or set()
    entry_id, n = base, 2
    while entry_id in taken or get_entry(conn, entry_id) is not None or len(entry_id) < 5:
        entry_id, n = f"{base}-{n}", n + 1
    return entry_id


def new_draft(
    conn: Connection,
    lang: str,
    question: str,
    alts: list[str],
    answer: str,
    author: str,
    note: str,
    entry_id: str | None = None,
) -> Entry:
    """A draft entry for a question (from unanswered questions, or an agent's answer); its id
    is read from the question unless given. Ids are permanent and show in /help links."""
    entry = Entry(
        id=entry_id or free_id(conn, lang, question),
        lang=lang,
        question=question,
        answer=answer or PLACEHOLDER_ANSWER,
        alt_questions=[a for a in alts if a != question][:20],
        status="draft",
        category="general",
    )
    return save_entry(conn, entry, author, note)
