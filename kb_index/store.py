"""KB entries and their version history in the shared SQLite file (tables kb_*)."""

import difflib
import json
import time
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils
import yaml

from kb_index import slug
from kb_index.entries import PLACEHOLDER_ANSWER, Entry, question_key, unpublishable

ENTRIES = "kb_entries"
VERSIONS = "kb_versions"
STAGED = "kb_staged"  # edits to a live entry saved without going live (one row an entry)
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
    db[STAGED].create(
        {
            "entry_id": str,
            "data": str,
            # an opaque token, new on every stage: an editor's stale view is refused
            "revision": int,
            "base_version": int,  # the live version the changes were made on
            "author": str,
            "created_at": float,
        },
        transform=True,
        pk="entry_id",
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


# ---- two live entries must not ask the same question ------------------------------------
#
# A duplicate published by mistake splits the matches between two entries, so neither is
# answered outright and the learner gets two identical buttons. Live entries are checked
# against each other (a draft may repeat a live question while it is written, with a
# warning); a translation link must name an entry of the other language that exists.


def question_clashes(entry: Entry, others: Iterable[Entry]) -> list[tuple[str, str]]:
    """(question, other entry's id) for each of the entry's questions that another live
    entry of its language already has (width, case, spaces and punctuation ignored)."""
    taken: dict[str, str] = {}
    for other in others:
        if other.id != entry.id and other.lang == entry.lang and other.status == "published":
            for q in other.questions():
                taken.setdefault(question_key(q), other.id)
    return [(q, taken[k]) for q in entry.questions() if (k := question_key(q)) in taken]


def duplicate_questions(db: sqlite_utils.Database, entry: Entry) -> list[tuple[str, str]]:
    """question_clashes against the live entries in the store."""
    return question_clashes(entry, list_entries(db, lang=entry.lang, status="published"))


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
    db: sqlite_utils.Database, entry: Entry, pending: dict[str, str] | None = None
) -> str | None:
    """Why the entry's translation link is wrong (None if it is right or empty): it must
    name an existing entry (or one in `pending`, id -> lang, e.g. the same import file) of
    the other language."""
    target = entry.translation
    if not target:
        return None
    other = get_entry(db, target)
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
    staged_revision: int | None = None,
) -> Entry:
    """Insert or update an entry; every change is a new version in the history.

    `base_version`: the version the editor started from; if someone saved since, raises
    StaleVersion and writes nothing. A save that changes nothing (a double-clicked Publish)
    returns the stored entry and adds no version. `staged_revision`: the form was loaded
    from those staged changes, so saving it supersedes them (they are cleared); a save
    without it leaves staged changes alone, to be reviewed against the new version.
    """
    now = time.time()
    with db.conn:
        _check_base(db, entry.id, base_version)
        if staged_revision is not None:
            _check_staged(db, entry.id, staged_revision)
            db[STAGED].delete_where("entry_id = ?", [entry.id])
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


def staged(db: sqlite_utils.Database, entry_id: str) -> dict | None:
    """The entry's staged changes: the edited entry, who and when, and whether the live
    entry has changed since they were made on it (`stale`)."""
    rows = list(db[STAGED].rows_where("entry_id = ?", [entry_id]))
    if not rows:
        return None
    row, current = rows[0], get_entry(db, entry_id)
    return {
        "entry": Entry.model_validate_json(row["data"]).model_dump(),
        "revision": row["revision"],
        "base_version": row["base_version"],
        "author": row["author"],
        "created_at": row["created_at"],
        "stale": current is None or current.version != row["base_version"],
    }


def staged_ids(db: sqlite_utils.Database) -> set[str]:
    return {r["entry_id"] for r in db[STAGED].rows}


def _check_staged(db: sqlite_utils.Database, entry_id: str, revision: int | None) -> None:
    found = staged(db, entry_id)
    if (found["revision"] if found else None) != revision:
        raise StaleStaged(entry_id, revision, found)


def stage(
    db: sqlite_utils.Database,
    entry: Entry,
    author: str,
    *,
    base_version: int | None,
    staged_revision: int | None,
) -> dict | None:
    """Save an edit of a live entry without putting it live. Both the live version and the
    staged revision the form was loaded from must still be current. Staging the live text
    itself clears the staged changes (returns None)."""
    with db.conn:
        _check_base(db, entry.id, base_version)
        _check_staged(db, entry.id, staged_revision)
        current = get_entry(db, entry.id)
        if current is None or current.status != "published":
            raise ValueError(
                "only a live entry keeps unpublished changes; save the draft itself"
                " · 只有已发布的条目可以暂存修改；草稿请直接保存"
            )
        edited = entry.model_copy(update={"status": "published", "version": current.version})
        if _same(current, edited):
            db[STAGED].delete_where("entry_id = ?", [entry.id])
            return None
        db[STAGED].upsert(
            {
                "entry_id": entry.id,
                "data": edited.model_dump_json(),
                # microseconds, not a counter: a counter would restart at 1 after a discard
                # and let a view of the discarded changes pass for the new ones
                "revision": max(time.time_ns() // 1000, (staged_revision or 0) + 1),
                "base_version": current.version,
                "author": author,
                "created_at": time.time(),
            },
            pk="entry_id",
        )
    return staged(db, entry.id)


def discard_staged(db: sqlite_utils.Database, entry_id: str, revision: int) -> None:
    with db.conn:
        _check_staged(db, entry_id, revision)
        db[STAGED].delete_where("entry_id = ?", [entry_id])


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


def history(db: sqlite_utils.Database, entry_id: str) -> list[dict]:
    """Every version, newest first, with its status, a short preview of its answer, and
    what it changed against the version before it (`changes`; `entry` is its full text)."""
    rows = list(db[VERSIONS].rows_where("entry_id = ?", [entry_id], order_by="version desc"))
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
    if restored.status == "published" and (clashes := duplicate_questions(db, restored)):
        raise ValueError(clash_text(entry_id, clashes))  # a question since moved elsewhere
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


def free_id(
    db: sqlite_utils.Database, lang: str, question: str, taken: set[str] | None = None
) -> str:
    """An id for a new entry from its question's words ("how do I pay with bitcoin" ->
    en-how-do-i-pay-with-bitcoin, "会员能不能共享给家人" -> zh-huiyuan-gongxiang-jiaren),
    numbered when an entry (or another suggestion in `taken`) has it already. The editor can
    change it before the first save."""
    base = slug.suggest_base(lang, question)
    taken = taken or set()
    entry_id, n = base, 2
    while entry_id in taken or get_entry(db, entry_id) is not None or len(entry_id) < 5:
        entry_id, n = f"{base}-{n}", n + 1
    return entry_id


def new_draft(
    db: sqlite_utils.Database,
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
        id=entry_id or free_id(db, lang, question),
        lang=lang,
        question=question,
        answer=answer or PLACEHOLDER_ANSWER,
        alt_questions=[a for a in alts if a != question][:20],
        status="draft",
        category="general",
    )
    return save_entry(db, entry, author, note)
