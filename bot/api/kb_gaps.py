"""The questions the bot could not answer (content staff), grouped by topic: a cluster
becomes a draft entry or is dismissed as "not a KB question"."""

from fastapi import APIRouter, HTTPException

from bot.api.deps import KB, CurrentEditor, DbRead, DbWrite
from bot.api.kb_entries import entry_view
from bot.api.schemas import DraftFromGaps, GapIds
from kb_index import gaps as kb_gaps
from kb_index import store
from kb_index.entries import PLACEHOLDER_ANSWER, EntryIn

router = APIRouter(prefix="/api/kb", tags=["kb"])


@router.get("/gaps")
def gaps(editor: CurrentEditor, db: DbRead, kb: KB) -> list[dict]:
    reference = [q for e in kb.index.entries for q in e.questions()]
    out = kb_gaps.clusters(db, kb.encoder, reference)
    taken: set[str] = set()  # two clusters on one topic must not be offered the same id
    for c in out:
        c["suggested_id"] = store.free_id(db, c["lang"], c["representative"], taken)
        taken.add(c["suggested_id"])
    return out


@router.post("/gaps/draft", status_code=201)
def draft_from_gaps(body: DraftFromGaps, editor: CurrentEditor, db: DbWrite) -> dict:
    """Start a draft entry from a cluster of unanswered questions. The gaps stay open until
    the entry is published (the page itself fills a new, unsaved form instead)."""
    entry_id = body.id or store.free_id(db, body.lang, body.question)
    try:
        EntryIn(id=entry_id, lang=body.lang, question=body.question, answer=PLACEHOLDER_ANSWER)
    except ValueError as e:
        raise HTTPException(422, str(e)) from e
    if store.get_entry(db, entry_id):
        raise HTTPException(409, f"entry {entry_id} already exists · 条目 {entry_id} 已存在")
    entry = store.new_draft(
        db,
        body.lang,
        body.question,
        body.alt_questions,
        "",
        editor.id,
        "from unanswered questions",
        entry_id=entry_id,
    )
    kb_gaps.link_draft(db, body.gap_ids, entry.id)
    return {"entry": entry_view(db, entry)}


@router.post("/gaps/dismiss")
def dismiss_gaps(body: GapIds, editor: CurrentEditor, db: DbWrite) -> dict:
    """ "Not a KB question": take a cluster out of the unanswered view."""
    return {"dismissed": kb_gaps.dismiss(db, body.gap_ids, editor.id)}
