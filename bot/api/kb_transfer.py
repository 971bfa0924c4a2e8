"""Import and export of KB entries (content staff): YAML, CSV, JSONL or a JSON array. An
import is checked row by row with the editor's rules first and saved in one transaction:
one bad row, or a failure halfway, changes nothing. Parsing, checking and saving run in a
worker thread, never on the event loop."""

import asyncio

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy.engine import Connection

from bot import audit
from bot.api.deps import KB, CurrentEditor, DatabaseDep, DbRead
from bot.api.kb_entries import reindex
from kb_index import Entry, store, transfer
from kb_index import gaps as kb_gaps

router = APIRouter(prefix="/api/kb", tags=["kb"])


@router.get("/export")
def export(
    editor: CurrentEditor,
    db: DbRead,
    format: str = "yaml",
    status: str | None = None,
    lang: str | None = None,
    category: str | None = None,
    q: str | None = None,
) -> Response:
    """The entries the list shows (same filters as /kb/entries), in one file."""
    if format not in transfer.FORMATS:
        raise HTTPException(422, f"format must be one of {', '.join(transfer.FORMATS)}")
    entries = store.list_entries(db, status=status, lang=lang, category=category, text=q)
    body = transfer.dumps(entries, format)
    media = {
        "yaml": "application/yaml",
        "csv": "text/csv",
        "jsonl": "application/jsonl",
        "json": "application/json",
    }
    return Response(
        body,
        media_type=f"{media[format]}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kb-export.{format}"'},
    )


def _check_import(db: Connection, entries: list[Entry]) -> list[str]:
    """The editor's link and duplicate rules for a whole file, against the KB as it will be
    after the import (so a file may move a question from one entry to another, or bring a
    zh/en pair that link to each other). A wrong link or a live clash refuses the file (422,
    nothing changed); a draft's clash is a warning."""
    incoming = {e.id: e for e in entries}
    live = [e for e in store.published_entries(db) if e.id not in incoming]
    live += [e for e in entries if e.status == "published"]
    questions = store.QuestionIndex(live)  # built once: the check is linear in the file
    pending = {e.id: e.lang for e in entries}
    problems, warnings = [], []
    for n, e in enumerate(entries, 1):
        if why := store.translation_problem(db, e, pending):
            problems.append(f"entry {n} ({e.id}): {why}")
        if clashes := questions.clashes(e):
            text = f"entry {n}: {store.clash_text(e.id, clashes)}"
            (problems if e.status == "published" else warnings).append(text)
    if problems:
        why = " | ".join(problems)
        raise HTTPException(
            422, f"import failed, nothing was changed · 导入失败，未做任何修改: {why}"
        )
    return warnings


@router.post("/import")
async def import_entries(
    request: Request, editor: CurrentEditor, database: DatabaseDep, kb: KB, format: str = "yaml"
) -> dict:
    """Create or update every entry in the body (each update is a new version). Every row is
    checked first with the editor's rules; one bad row and nothing is changed. Rows without
    a status come in as drafts."""
    raw = await request.body()
    try:
        parsed = await asyncio.to_thread(transfer.parse, raw.decode("utf-8"), format)
    except (ValueError, UnicodeDecodeError) as e:
        raise HTTPException(
            422, f"import failed, nothing was changed · 导入失败，未做任何修改: {e}"
        ) from e
    out, touched_published = await database.awrite(_save_all, parsed, editor.id, format)
    if touched_published:
        out["index"] = await asyncio.to_thread(reindex, database, kb)
    return out


def _save_all(
    db: Connection, parsed: transfer.Parsed, author: str, format: str
) -> tuple[dict, bool]:
    warnings = _check_import(db, parsed.entries)
    created = updated = unchanged = 0
    touched_published = False
    for e in parsed.entries:
        old = store.get_entry(db, e.id)
        saved = store.save_entry(db, e, author, note=f"imported ({format})")
        if old is not None and saved.version == old.version:
            unchanged += 1
            continue
        created += old is None
        updated += old is not None
        touched_published |= "published" in (e.status, old.status if old else "")
        if saved.status == "published":
            kb_gaps.resolve_published(db, saved.id)
    out: dict = {
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "drafted": len(parsed.drafted),  # rows without a status: stored as drafts
        "warnings": warnings,  # drafts asking what a live entry asks
    }
    if created or updated:
        audit.record(
            db,
            "kb.import",
            actor=author,
            subject="kb",
            detail={k: out[k] for k in ("created", "updated", "unchanged", "drafted")}
            | {"format": format, "live_changed": touched_published},
        )
    return out, touched_published
