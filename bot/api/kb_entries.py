"""KB entries for content staff: list, read, create, edit (or stage an edit of a live
entry), publish, take offline, archive, restore a version. Every change names the version
it was based on. Publishing re-indexes off the event loop; searches keep using the old index
until the new one is swapped in."""

import logging
import re
import time
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException
from sqlalchemy.engine import Connection

from bot import audit
from bot.api.deps import KB, CurrentEditor, DatabaseDep, DbRead, DbWrite
from bot.api.schemas import EditIn, RollbackIn, StagedIn, VersionIn
from bot.auth import Principal
from bot.db import Database
from kb_index import Entry, store
from kb_index import feedback as kb_feedback
from kb_index import gaps as kb_gaps
from kb_index.entries import unpublishable
from kb_index.service import KnowledgeBase

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/kb", tags=["kb"])
# Entry ids are path segments taken with the :path converter, so an id stored before the id
# rules applied to imports ("S14TEST weird/id") can still be opened and archived.
ENTRY = "/entries/{entry_id:path}"
IfMatch = Annotated[str | None, Header()]


def reindex(db: Database, kb: KnowledgeBase) -> dict:
    """Rebuild the live index from the published entries, after the change committed. Runs
    in the request's worker thread (the routes are plain `def`), never on the event loop;
    the entries are read under the build lock, so two publishes at once cannot leave the
    older set live."""
    started = time.perf_counter()
    index = kb.rebuild_from(lambda: db.reading(store.published_entries))
    return {
        "entries": len(index.entries),
        "rows": index.manifest.rows,
        "seconds": round(time.perf_counter() - started, 2),
    }


def entry_view(
    conn: Connection, entry: Entry, votes: dict | None = None, staged: set | None = None
) -> dict:
    """An entry as the KB page shows it: with its 👍/👎 counts and whether it has staged edits."""
    votes = votes if votes is not None else kb_feedback.counts(conn)
    staged = staged if staged is not None else store.staged_ids(conn)
    return {
        **entry.model_dump(),
        "feedback": votes.get(entry.id, {"helpful": 0, "not_helpful": 0}),
        "has_staged": entry.id in staged,
    }


def _get(conn: Connection, entry_id: str) -> Entry:
    entry = store.get_entry(conn, entry_id)
    if entry is None:
        raise HTTPException(404, f"entry {entry_id} not found · 找不到条目 {entry_id}")
    return entry


@router.get("/entries")
def list_entries(
    editor: CurrentEditor,
    db: DbRead,
    lang: str | None = None,
    status: str | None = None,
    category: str | None = None,
    q: str | None = None,
) -> list[dict]:
    votes, staged = kb_feedback.counts(db), store.staged_ids(db)
    return [
        entry_view(db, e, votes, staged)
        for e in store.list_entries(db, lang=lang, status=status, category=category, text=q)
    ]


def _base_version(body_version: int | None, if_match: str | None) -> int:
    """The version the editor loaded, from the body or an If-Match header. Required: a change
    that does not say what it was based on could silently overwrite a colleague's."""
    if body_version is not None:
        return body_version
    digits = re.sub(r'^W/|"', "", (if_match or "").strip())
    if digits.isdigit():
        return int(digits)
    raise HTTPException(
        428,
        "say which version you edited (base_version or If-Match) · 请注明你编辑的是哪个版本",
    )


def _refuse_placeholder(entry: Entry) -> None:
    if entry.status == "published" and (why := unpublishable(entry)):
        raise HTTPException(422, why)


def _check_links(
    db: Connection, entry: Entry, *, live: bool, translation: bool = True
) -> list[str]:
    """A translation link must name an entry of the other language (422), and an entry going
    live must not ask a question another live entry of its language has (422, naming it):
    learners would get two identical buttons. Not yet live, the same clash is a warning
    (returned) so the editor can fix it before publishing."""
    if translation and (why := store.translation_problem(db, entry)):
        raise HTTPException(422, why)
    clashes = store.duplicate_questions(db, entry)
    if not clashes:
        return []
    if live:
        raise HTTPException(422, store.clash_text(entry.id, clashes))
    return [store.clash_text(entry.id, clashes)]


def _saved(
    db: Connection,
    old: Entry | None,
    entry: Entry,
    warnings: list[str] | None = None,
    *,
    actor: str,
) -> tuple[dict, bool]:
    """The response for a change (the entry, and what the editor should fix before
    publishing, `warnings`) and whether the live set changed, so the index must be rebuilt
    once the change commits. Gaps an entry was written for count as answered only once it
    is live."""
    out: dict = {"entry": entry_view(db, entry), "warnings": warnings or []}
    if entry.status == "published":
        kb_gaps.resolve_published(db, entry.id)
    changed = old is None or old.version != entry.version
    live_changed = changed and "published" in (old.status if old else "", entry.status)
    if live_changed:  # what learners are told changed: the audit log says who and when
        audit.record(
            db,
            "kb.publish",
            actor=actor,
            subject=f"kb:{entry.id}",
            detail={"version": entry.version, "status": entry.status},
        )
    return out, live_changed


def _reindexed(out: dict, live_changed: bool, db: Database, kb: KnowledgeBase) -> dict:
    if live_changed:
        out["index"] = reindex(db, kb)
    return out


def _stale(e: store.StaleVersion | store.StaleStaged) -> HTTPException:
    return HTTPException(409, str(e))


@router.get(ENTRY + "/history")
def history(entry_id: str, editor: CurrentEditor, db: DbRead) -> list[dict]:
    _get(db, entry_id)
    return store.history(db, entry_id)


@router.get(ENTRY)
def get_entry(entry_id: str, editor: CurrentEditor, db: DbRead) -> dict:
    entry = _get(db, entry_id)
    clashes = store.duplicate_questions(db, entry)
    return {
        **entry_view(db, entry),
        "history": store.history(db, entry_id),
        "staged": store.staged(db, entry_id),
        "warnings": [store.clash_text(entry.id, clashes)] if clashes else [],
    }


@router.post("/entries", status_code=201)
def create_entry(body: EditIn, editor: CurrentEditor, database: DatabaseDep, kb: KB) -> dict:
    with database.write() as db:
        if store.get_entry(db, body.id):
            raise HTTPException(
                409,
                f"entry {body.id} already exists; edit it instead"
                f" · 条目 {body.id} 已存在，请直接编辑",
            )
        entry = body.to_entry(body.status or "draft")
        _refuse_placeholder(entry)
        warnings = _check_links(db, entry, live=entry.status == "published")
        entry = store.save_entry(db, entry, editor.id, body.note or "created")
        kb_gaps.link_draft(db, body.gap_ids, entry.id)
        out, live_changed = _saved(db, None, entry, warnings, actor=editor.id)
    return _reindexed(out, live_changed, database, kb)


@router.put(ENTRY)
def edit_entry(
    entry_id: str,
    body: EditIn,
    editor: CurrentEditor,
    database: DatabaseDep,
    kb: KB,
    if_match: IfMatch = None,
) -> dict:
    """Save the form. The status stays what is stored unless the body names one (the page's
    Publish button does); a stale base version is refused, so an old form can neither
    overwrite a colleague's edit nor bring an archived entry back."""
    with database.write() as db:
        out, live_changed = _edit(db, entry_id, body, editor, if_match)
    return _reindexed(out, live_changed, database, kb)


def _edit(
    db: Connection, entry_id: str, body: EditIn, editor: Principal, if_match: str | None
) -> tuple[dict, bool]:
    old = _get(db, entry_id)
    base = _base_version(body.base_version, if_match)
    if body.id != entry_id or body.lang != old.lang:
        raise HTTPException(
            422, "the id and language of an entry cannot change · 条目 ID 和语言不能修改"
        )
    if body.stage:
        return _stage(db, editor, old, body, base), False
    entry = body.to_entry(body.status or old.status)
    _refuse_placeholder(entry)
    warnings = _check_links(db, entry, live=entry.status == "published")
    note = body.note or (
        "edited" if entry.status == old.status else f"edited, {store.STATUS_NOTES[entry.status]}"
    )
    try:
        entry = store.save_entry(
            db, entry, editor.id, note, base_version=base, staged_revision=body.staged_revision
        )
    except (store.StaleVersion, store.StaleStaged) as e:
        raise _stale(e) from e
    return _saved(db, old, entry, warnings, actor=editor.id)


def _stage(db: Connection, editor: Principal, live: Entry, body: EditIn, base: int) -> dict:
    """Keep the form's edit of a live entry unpublished: nothing is re-indexed, learners keep
    getting the live text until the form is saved with Save & publish."""
    # not live yet: a clash is a warning here, and refused when the changes are published
    warnings = _check_links(db, body.to_entry("published"), live=False)
    try:
        staged = store.stage(
            db,
            body.to_entry("published"),
            editor.id,
            base_version=base,
            staged_revision=body.staged_revision,
        )
    except (store.StaleVersion, store.StaleStaged) as e:
        raise _stale(e) from e
    except ValueError as e:
        raise HTTPException(422, str(e)) from e
    return {"entry": entry_view(db, live), "staged": staged, "warnings": warnings}


@router.post(ENTRY + "/staged/discard")
def discard_staged(entry_id: str, body: StagedIn, editor: CurrentEditor, db: DbWrite) -> dict:
    """Drop a live entry's unpublished changes; the live entry is untouched."""
    entry = _get(db, entry_id)
    try:
        store.discard_staged(db, entry_id, body.staged_revision)
    except store.StaleStaged as e:
        raise _stale(e) from e
    return {"entry": entry_view(db, entry), "staged": None}


def _set_status(
    entry_id: str,
    status: str,
    body: VersionIn | None,
    if_match: str | None,
    editor: Principal,
    database: Database,
    kb: KnowledgeBase,
) -> dict:
    with database.write() as db:
        old = _get(db, entry_id)
        base = _base_version(body.base_version if body else None, if_match)
        _refuse_placeholder(old.model_copy(update={"status": status}))
        if status == "published" and old.status != "published":
            _check_links(db, old, live=True, translation=False)
        try:
            entry = store.set_status(db, entry_id, status, editor.id, base_version=base)
        except store.StaleVersion as e:
            raise _stale(e) from e
        out, live_changed = _saved(db, old, entry, actor=editor.id)
    return _reindexed(out, live_changed, database, kb)


@router.post(ENTRY + "/publish")
def publish(
    entry_id: str,
    editor: CurrentEditor,
    database: DatabaseDep,
    kb: KB,
    body: VersionIn | None = None,
    if_match: IfMatch = None,
) -> dict:
    return _set_status(entry_id, "published", body, if_match, editor, database, kb)


@router.post(ENTRY + "/unpublish")
def unpublish(
    entry_id: str,
    editor: CurrentEditor,
    database: DatabaseDep,
    kb: KB,
    body: VersionIn | None = None,
    if_match: IfMatch = None,
) -> dict:
    return _set_status(entry_id, "draft", body, if_match, editor, database, kb)


@router.post(ENTRY + "/archive")
def archive(
    entry_id: str,
    editor: CurrentEditor,
    database: DatabaseDep,
    kb: KB,
    body: VersionIn | None = None,
    if_match: IfMatch = None,
) -> dict:
    return _set_status(entry_id, "archived", body, if_match, editor, database, kb)


@router.post(ENTRY + "/rollback")
def rollback(
    entry_id: str,
    body: RollbackIn,
    editor: CurrentEditor,
    database: DatabaseDep,
    kb: KB,
    if_match: IfMatch = None,
) -> dict:
    """Restore an old version's content; the entry keeps its current status."""
    with database.write() as db:
        old = _get(db, entry_id)
        base = _base_version(body.base_version, if_match)
        try:
            entry = store.rollback(db, entry_id, body.version, editor.id, base_version=base)
        except KeyError as e:
            raise HTTPException(404, str(e).strip("'")) from e
        except store.StaleVersion as e:
            raise _stale(e) from e
        except ValueError as e:
            raise HTTPException(422, str(e)) from e
        out, live_changed = _saved(db, old, entry, actor=editor.id)
    return _reindexed(out, live_changed, database, kb)
