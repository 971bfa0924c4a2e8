"""The KB curation API for content staff: entries, versions, publishing, try-a-question,
import/export, gaps and learner feedback. Publishing re-indexes in the background; searches
keep using the old index until the new one is swapped in."""

import asyncio
import json
import logging
import time

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from bot import transcript
from bot.api.deps import KB, AppSettings, CurrentAgent, CurrentEditor, CurrentLearner, Db, HubDep
from kb_index import Entry, decide, store, transfer
from kb_index import feedback as kb_feedback
from kb_index import gaps as kb_gaps

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["kb"])
SLUG = r"^[a-z]{2}-[a-z0-9][a-z0-9-]{1,80}$"


class EntryIn(BaseModel):
    id: str = Field(pattern=SLUG, description="<lang>-<slug>, e.g. en-refund-policy")
    lang: str = Field(pattern="^(zh|en)$")
    question: str = Field(min_length=2, max_length=500)
    alt_questions: list[str] = Field(default_factory=list, max_length=50)
    answer: str = Field(min_length=1, max_length=20_000)
    category: str = Field(default="general", max_length=40)
    tags: list[str] = Field(default_factory=list, max_length=20)
    translation: str | None = Field(default=None, pattern=SLUG)
    status: str = Field(default="draft", pattern="^(draft|published|archived)$")
    note: str = Field(default="", max_length=500)


class TryIn(BaseModel):
    query: str = Field(min_length=1, max_length=1000)
    lang: str | None = Field(default=None, pattern="^(zh|en)$")


class RollbackIn(BaseModel):
    version: int = Field(ge=1)


class DraftFromGaps(BaseModel):
    gap_ids: list[int] = Field(min_length=1, max_length=500)
    lang: str = Field(pattern="^(zh|en)$")
    question: str = Field(min_length=2, max_length=500)
    alt_questions: list[str] = Field(default_factory=list, max_length=50)


class AgentDraft(BaseModel):
    question: str = Field(min_length=2, max_length=500)
    answer: str = Field(min_length=1, max_length=20_000)
    lang: str | None = Field(default=None, pattern="^(zh|en)$")


class FeedbackIn(BaseModel):
    entry_id: str = Field(min_length=1, max_length=200)
    message_id: int
    helpful: bool


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


def _entry_view(db, entry: Entry, votes: dict | None = None) -> dict:  # type: ignore[no-untyped-def]
    votes = votes if votes is not None else kb_feedback.counts(db)
    return {**entry.model_dump(), "feedback": votes.get(entry.id, {"helpful": 0, "not_helpful": 0})}


def _get(db, entry_id: str) -> Entry:  # type: ignore[no-untyped-def]
    entry = store.get_entry(db, entry_id)
    if entry is None:
        raise HTTPException(404, f"entry {entry_id} not found")
    return entry


@router.get("/kb/entries")
def list_entries(
    editor: CurrentEditor,
    db: Db,
    lang: str | None = None,
    status: str | None = None,
    category: str | None = None,
    q: str | None = None,
) -> list[dict]:
    votes = kb_feedback.counts(db)
    return [
        _entry_view(db, e, votes)
        for e in store.list_entries(db, lang=lang, status=status, category=category, text=q)
    ]


@router.get("/kb/entries/{entry_id}")
def get_entry(entry_id: str, editor: CurrentEditor, db: Db) -> dict:
    return {**_entry_view(db, _get(db, entry_id)), "history": store.history(db, entry_id)}


@router.post("/kb/entries", status_code=201)
async def create_entry(body: EntryIn, editor: CurrentEditor, db: Db, request: Request) -> dict:
    if store.get_entry(db, body.id):
        raise HTTPException(409, f"entry {body.id} already exists; edit it instead")
    if not body.id.startswith(body.lang + "-"):
        raise HTTPException(422, f"the id of a {body.lang} entry starts with '{body.lang}-'")
    entry = store.save_entry(
        db, Entry(**body.model_dump(exclude={"note"})), editor.id, body.note or "created"
    )
    out = {"entry": _entry_view(db, entry)}
    if entry.status == "published":
        out["index"] = await reindex(request)
    return out


@router.put("/kb/entries/{entry_id}")
async def edit_entry(
    entry_id: str, body: EntryIn, editor: CurrentEditor, db: Db, request: Request
) -> dict:
    old = _get(db, entry_id)
    if body.id != entry_id or body.lang != old.lang:
        raise HTTPException(422, "the id and language of an entry cannot change")
    entry = store.save_entry(
        db, Entry(**body.model_dump(exclude={"note"})), editor.id, body.note or "edited"
    )
    out = {"entry": _entry_view(db, entry)}
    if "published" in (old.status, entry.status):
        out["index"] = await reindex(request)
    return out


async def _set_status(entry_id: str, status: str, editor, db, request) -> dict:  # type: ignore[no-untyped-def]
    old = _get(db, entry_id)
    entry = store.set_status(db, entry_id, status, editor.id)
    out = {"entry": _entry_view(db, entry)}
    if "published" in (old.status, status):
        out["index"] = await reindex(request)
    return out


@router.post("/kb/entries/{entry_id}/publish")
async def publish(entry_id: str, editor: CurrentEditor, db: Db, request: Request) -> dict:
    return await _set_status(entry_id, "published", editor, db, request)


@router.post("/kb/entries/{entry_id}/unpublish")
async def unpublish(entry_id: str, editor: CurrentEditor, db: Db, request: Request) -> dict:
    return await _set_status(entry_id, "draft", editor, db, request)


@router.post("/kb/entries/{entry_id}/archive")
async def archive(entry_id: str, editor: CurrentEditor, db: Db, request: Request) -> dict:
    return await _set_status(entry_id, "archived", editor, db, request)


@router.get("/kb/entries/{entry_id}/history")
def history(entry_id: str, editor: CurrentEditor, db: Db) -> list[dict]:
    _get(db, entry_id)
    return store.history(db, entry_id)


@router.post("/kb/entries/{entry_id}/rollback")
async def rollback(
    entry_id: str, body: RollbackIn, editor: CurrentEditor, db: Db, request: Request
) -> dict:
    old = _get(db, entry_id)
    try:
        entry = store.rollback(db, entry_id, body.version, editor.id)
    except KeyError as e:
        raise HTTPException(404, str(e).strip("'")) from e
    out = {"entry": _entry_view(db, entry)}
    if "published" in (old.status, entry.status):
        out["index"] = await reindex(request)
    return out


@router.post("/kb/try")
def try_question(body: TryIn, editor: CurrentEditor, kb: KB) -> dict:
    """What the bot would do with this question right now: ranked hits and the decision."""
    hits = kb.search(body.query, k=8, lang=body.lang)
    decision = decide(hits, kb.thresholds)
    return {
        "decision": decision.kind,
        "answer_id": decision.top.entry.id if decision.kind == "answer" else None,
        "hits": [h.brief() for h in hits],
        "thresholds": {
            "answer": kb.thresholds.answer,
            "margin": kb.thresholds.margin,
            "clarify": kb.thresholds.clarify,
        },
    }


@router.get("/kb/export")
def export(
    editor: CurrentEditor,
    db: Db,
    format: str = "yaml",
    status: str | None = None,
    lang: str | None = None,
) -> Response:
    if format not in transfer.FORMATS:
        raise HTTPException(422, f"format must be one of {', '.join(transfer.FORMATS)}")
    body = transfer.dumps(store.list_entries(db, status=status, lang=lang), format)
    media = {"yaml": "application/yaml", "csv": "text/csv", "jsonl": "application/jsonl"}
    return Response(
        body,
        media_type=f"{media[format]}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kb-export.{format}"'},
    )


@router.post("/kb/import")
async def import_entries(
    request: Request, editor: CurrentEditor, db: Db, format: str = "yaml"
) -> dict:
    """Create or update every entry in the body (each update is a new version)."""
    try:
        entries = transfer.loads((await request.body()).decode("utf-8"), format)
    except (ValueError, UnicodeDecodeError) as e:
        raise HTTPException(422, f"import failed, nothing was changed: {e}") from e
    created = updated = unchanged = 0
    touched_published = False
    for e in entries:
        old = store.get_entry(db, e.id)
        if old and old.model_dump(exclude={"version"}) == e.model_dump(exclude={"version"}):
            unchanged += 1
            continue
        store.save_entry(db, e, editor.id, note=f"imported ({format})")
        created += old is None
        updated += old is not None
        touched_published |= "published" in (e.status, old.status if old else "")
    out: dict = {"created": created, "updated": updated, "unchanged": unchanged}
    if touched_published:
        out["index"] = await reindex(request)
    return out


@router.get("/kb/gaps")
def gaps(editor: CurrentEditor, db: Db, kb: KB) -> list[dict]:
    reference = [q for e in kb.index.entries for q in e.questions()]
    return kb_gaps.clusters(db, kb.encoder, reference)


@router.post("/kb/gaps/draft", status_code=201)
def draft_from_gaps(body: DraftFromGaps, editor: CurrentEditor, db: Db) -> dict:
    """Start a draft entry from a cluster of unanswered questions."""
    entry = _new_draft(
        db, body.lang, body.question, body.alt_questions, "", editor.id, "from unanswered questions"
    )
    kb_gaps.resolve(db, body.gap_ids, entry.id)
    return {"entry": _entry_view(db, entry)}


def _new_draft(
    db,
    lang: str,
    question: str,
    alts: list[str],
    answer: str,
    author: str,  # type: ignore[no-untyped-def]
    note: str,
) -> Entry:
    slug = f"{lang}-draft-{int(time.time() * 1000) % 10**10}"
    entry = Entry(
        id=slug,
        lang=lang,
        question=question,
        answer=answer or "(draft)",
        alt_questions=[a for a in alts if a != question][:20],
        status="draft",
        category="general",
    )
    return store.save_entry(db, entry, author, note)


@router.post("/agent/tickets/{ticket_id}/kb-draft", status_code=201)
def agent_draft(ticket_id: int, body: AgentDraft, agent: CurrentAgent, db: Db) -> dict:
    """Save the answer an agent gave in a handed-off chat as a KB draft for content staff."""
    import handoff

    ticket = handoff.get_ticket(db, ticket_id)
    conv = transcript.get_conversation(db, ticket.conversation_id)
    lang = body.lang or (conv.lang if conv else "zh")
    entry = _new_draft(
        db, lang, body.question, [], body.answer, agent.id, f"from ticket #{ticket_id}"
    )
    return {"entry": entry.model_dump()}


# what a learner says that asks nothing: the KB has no answer for "human please" or "ok"
_NOT_A_QUESTION = {"request_human", "affirm", "deny", "greet", "thank", "goodbye"}


def _learner_question(db, conversation_id: str) -> str:  # type: ignore[no-untyped-def]
    """The learner's latest message that asks something (not a request for a person, a yes
    or no, or a tapped button's payload)."""
    rows = db["messages"].rows_where(
        "conversation_id = ? AND sender = 'learner'",
        [conversation_id],
        order_by="id desc",
        limit=20,
    )
    for row in rows:
        text = (row["text"] or "").strip()
        tapped = bool(json.loads(row["payload"] or "{}")) or text.startswith("/")
        if text and not tapped and row.get("intent") not in _NOT_A_QUESTION:
            return text
    return ""


@router.get("/agent/tickets/{ticket_id}/suggestions")
def agent_suggestions(
    ticket_id: int,
    agent: CurrentAgent,
    db: Db,
    kb: KB,
    settings: AppSettings,
    q: str | None = Query(default=None, max_length=1000),
) -> dict:
    """KB entries an agent might send: for the learner's latest question, or for `q`."""
    import handoff

    ticket = handoff.get_ticket(db, ticket_id)
    query = (q or "").strip() or _learner_question(db, ticket.conversation_id)
    hits = kb.search(query, k=3) if query else []
    return {
        "query": query,
        "entries": [
            {
                "id": h.entry.id,
                "question": h.entry.question,
                "answer": h.entry.answer,
                "score": round(h.score, 3),
                "url": f"{settings.base_url}/help/{h.entry.id}",
            }
            for h in hits
        ],
    }


@router.post("/conversations/{conversation_id}/feedback")
async def learner_feedback(
    conversation_id: str, body: FeedbackIn, learner: CurrentLearner, db: Db, hub: HubDep, kb: KB
) -> dict:
    """👍/👎 on a KB answer. "Not helpful" logs a gap and offers the next-best entries."""
    from bot.api.deps import conversation_for

    conv = conversation_for(db, learner, conversation_id)
    msg = next(
        (
            m
            for m in transcript.messages(db, conv.id, after=body.message_id - 1, limit=1)
            if m.id == body.message_id
        ),
        None,
    )
    cited = (msg.payload.get("citation") or {}).get("id") if msg else None
    if cited != body.entry_id:
        raise HTTPException(422, "that message did not cite that entry")
    kb_feedback.record(
        db,
        entry_id=body.entry_id,
        conversation_id=conv.id,
        message_id=body.message_id,
        helpful=body.helpful,
    )
    if body.helpful:
        return {"recorded": True}
    return {
        "recorded": True,
        "reply": hub.offer_alternatives(conv, body.message_id, body.entry_id, kb).model_dump(),
    }
