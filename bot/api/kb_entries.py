"""KB entries for content staff: list, read, create, edit (or stage an edit of a live
entry), publish, take offline, archive, restore a version. Every change names the version
it was based on. Publishing re-indexes off the event loop; searches keep using the old index
until the new one is swapped in."""

import asyncio
import logging
import re
import time
from typing import Annotated

import sqlite_utils
from fastapi import APIRouter, Header, HTTPException, Request

from bot.api.deps import CurrentEditor, Db
from bot.api.schemas import EditIn, RollbackIn, StagedIn, VersionIn
from kb_index import Entry, store
from kb_index import feedback as kb_feedback
from kb_index import gaps as kb_gaps
from kb_index.entries import unpublishable

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/kb", tags=["kb"])
# Entry ids are path segments taken with the :path converter, so an id stored before the id
# rules applied to imports ("S14TEST weird/id") can still be opened and archived.
ENTRY = "/entries/{entry_id:path}"
IfMatch = Annotated[str | None, Header()]


async def reindex(request: Request) -> dict:
    """Rebuild the live index from the published entries, off the event loop."""
    db, kb = request.app.state.db, request.app.state.kb
    entries = store.published_entries(db)
    started = time.perf_counter()
    index = await asyncio.to_thread(kb.rebuild, entries)
    return {
        "entries": len(index.entries),
        "rows": index.manifest.rows,
        "seconds": round(time.perf_counter() - started, 2),
    }


def entry_view(
    db: sqlite_utils.Database, entry: Entry, votes: dict | None = None, staged: set | None = None
) -> dict:
    """An entry as the KB page shows it: with its 👍/👎 counts and whether it has staged edits."""
    votes = votes if votes is not None else kb_feedback.counts(db)
    staged = staged if staged is not None else store.staged_ids(db)
    return {
        **entry.model_dump(),
        "feedback": votes.get(entry.id, {"helpful": 0, "not_helpful": 0}),
        "has_staged": entry.id in staged,
    }


def _get(db, entry_id: str) -> Entry:  # type: ignore[no-untyped-def]
    entry = store.get_entry(db, entry_id)
    if entry is None:
        raise HTTPException(404, f"entry {entry_id} not found · 找不到条目 {entry_id}")
    return entry


@router.get("/entries")
def list_entries(
    editor: CurrentEditor,
    db: Db,
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


def _check_links(db, entry: Entry, *, live: bool, translation: bool = True) -> list[str]:  # type: ignore[no-untyped-def]
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


async def _saved(  # type: ignore[no-untyped-def]
    request: Request, db, old: Entry | None, entry: Entry, warnings: list[str] | None = None
) -> dict:
    """The response for a change: the entry, what the editor should fix before publishing
    (`warnings`), and the re-index when the live set changed. Gaps an entry was written for
    count as answered only once it is live."""
    out: dict = {"entry": entry_view(db, entry), "warnings": warnings or []}
    if entry.status == "published":
        kb_gaps.resolve_published(db, entry.id)
    changed = old is None or old.version != entry.version
    if changed and "published" in (old.status if old else "", entry.status):
        out["index"] = await reindex(request)
    return out


def _stale(e: store.StaleVersion | store.StaleStaged) -> HTTPException:
    return HTTPException(409, str(e))


@router.get(ENTRY + "/history")
def history(entry_id: str, editor: CurrentEditor, db: Db) -> list[dict]:
    _get(db, entry_id)
    return store.history(db, entry_id)


@router.get(ENTRY)
def get_entry(entry_id: str, editor: CurrentEditor, db: Db) -> dict:
    entry = _get(db, entry_id)
    clashes = store.duplicate_questions(db, entry)
    return {
        **entry_view(db, entry),
        "history": store.history(db, entry_id),
        "staged": store.staged(db, entry_id),
        "warnings": [store.clash_text(entry.id, clashes)] if clashes else [],
    }


@router.post("/entries", status_code=201)
async def create_entry(body: EditIn, editor: CurrentEditor, db: Db, request: Request) -> dict:
    if store.get_entry(db, body.id):
        raise HTTPException(
            409,
            f"entry {body.id} already exists; edit it instead · 条目 {body.id} 已存在，请直接编辑",
        )
    entry = body.to_entry(body.status or "draft")
    _refuse_placeholder(entry)
    warnings = _check_links(db, entry, live=entry.status == "published")
    entry = store.save_entry(db, entry, editor.id, body.note or "created")
    kb_gaps.link_draft(db, body.gap_ids, entry.id)
    return await _saved(request, db, None, entry, warnings)


@router.put(ENTRY)
async def edit_entry(
    entry_id: str,
    body: EditIn,
    editor: CurrentEditor,
    db: Db,
    request: Request,
    if_match: IfMatch = None,
) -> dict:
    """Save the form. The status stays what is stored unless the body names one (the page's
    Publish button does); a stale base version is refused, so an old form can neither
    overwrite a colleague's edit nor bring an archived entry back."""
    old = _get(db, entry_id)
    base = _base_version(body.base_version, if_match)
    if body.id != entry_id or body.lang != old.lang:
        raise HTTPException(
            422, "the id and language of an entry cannot change · 条目 ID 和语言不能修改"
        )
    if body.stage:
        return _stage(db, editor, old, body, base)
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
    return await _saved(request, db, old, entry, warnings)


def _stage(db, editor, live: Entry, body: EditIn, base: int) -> dict:  # type: ignore[no-untyped-def]
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
def discard_staged(entry_id: str, body: StagedIn, editor: CurrentEditor, db: Db) -> dict:
    """Drop a live entry's unpublished changes; the live entry is untouched."""
    entry = _get(db, entry_id)
    try:
        store.discard_staged(db, entry_id, body.staged_revision)
    except store.StaleStaged as e:
        raise _stale(e) from e
    return {"entry": entry_view(db, entry), "staged": None}


async def _set_status(  # type: ignore[no-untyped-def]
    entry_id: str, status: str, body: VersionIn | None, if_match: str | None, editor, db, request
) -> dict:
    old = _get(db, entry_id)
    base = _base_version(body.base_version if body else None, if_match)
    _refuse_placeholder(old.model_copy(update={"status": status}))
    if status == "published" and old.status != "published":
        _check_links(db, old, live=True, translation=False)
    try:
        entry = store.set_status(db, entry_id, status, editor.id, base_version=base)
    except store.StaleVersion as e:
        raise _stale(e) from e
    return await _saved(request, db, old, entry)


@router.post(ENTRY + "/publish")
async def publish(
    entry_id: str,
    editor: CurrentEditor,
    db: Db,
    request: Request,
    body: VersionIn | None = None,
    if_match: IfMatch = None,
) -> dict:
    return await _set_status(entry_id, "published", body, if_match, editor, db, request)


@router.post(ENTRY + "/unpublish")
async def unpublish(
    entry_id: str,
    editor: CurrentEditor,
    db: Db,
    request: Request,
    body: VersionIn | None = None,
    if_match: IfMatch = None,
) -> dict:
    return await _set_status(entry_id, "draft", body, if_match, editor, db, request)


@router.post(ENTRY + "/archive")
async def archive(
    entry_id: str,
    editor: CurrentEditor,
    db: Db,
    request: Request,
    body: VersionIn | None = None,
    if_match: IfMatch = None,
) -> dict:
    return await _set_status(entry_id, "archived", body, if_match, editor, db, request)


@router.post(ENTRY + "/rollback")
async def rollback(
    entry_id: str,
    body: RollbackIn,
    editor: CurrentEditor,
    db: Db,
    request: Request,
    if_match: IfMatch = None,
) -> dict:
    """Restore an old version's content; the entry keeps its current status."""
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
    return await _saved(request, db, old, entry)


