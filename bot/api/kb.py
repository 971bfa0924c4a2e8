"""The KB curation API for content staff: entries, versions, publishing, try-a-question,
import/export, gaps and learner feedback. Publishing re-indexes in the background; searches
keep using the old index until the new one is swapped in."""

import asyncio
import json
import logging
import re
import time
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from bot import transcript
from bot.api.deps import KB, AppSettings, CurrentAgent, CurrentEditor, CurrentLearner, Db, HubDep
from bot.api.schemas import SQLITE_MAX, RowId, TicketId
from bot.rasa_client import RasaUnavailable
from kb_index import Entry, decide, detect_lang, store, transfer
from kb_index import feedback as kb_feedback
from kb_index import gaps as kb_gaps
from kb_index import slug as kb_slug
from kb_index.entries import PLACEHOLDER_ANSWER, EntryIn, unpublishable
from kb_index.service import PreviewBusy

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["kb"])
# Entry ids are path segments taken with the :path converter, so an id stored before the id
# rules applied to imports ("S14TEST weird/id") can still be opened and archived.
ENTRY = "/kb/entries/{entry_id:path}"
IfMatch = Annotated[str | None, Header()]


class EditIn(EntryIn):
    note: str = Field(default="", max_length=500)
    # the version the editor loaded (or an If-Match header): a stale one gets 409
    base_version: RowId | None = None
    # a new entry written for these unanswered questions (resolved when it is published)
    gap_ids: list[RowId] = Field(default_factory=list, max_length=500)
    # stage: keep a live entry's edit unpublished (learners keep the live text)
    stage: bool = False
    # the staged changes the form was loaded from, if any (a stale one gets 409)
    staged_revision: RowId | None = None


class VersionIn(BaseModel):
    base_version: RowId | None = None


class StagedIn(BaseModel):
    staged_revision: RowId


class TryIn(BaseModel):
    query: str = Field(min_length=1, max_length=1000)
    lang: str | None = Field(default=None, pattern="^(zh|en)$")
    # the editor's form: search as if it were live (a throwaway index; the live one is untouched)
    preview: EntryIn | None = None


class RollbackIn(VersionIn):
    version: int = Field(ge=1, le=SQLITE_MAX)


class DraftFromGaps(BaseModel):
    gap_ids: list[RowId] = Field(min_length=1, max_length=500)
    lang: str = Field(pattern="^(zh|en)$")
    question: str = Field(min_length=2, max_length=500)
    alt_questions: list[str] = Field(default_factory=list, max_length=50)
    id: str | None = None  # the editor's choice; else derived from the question


class GapIds(BaseModel):
    gap_ids: list[RowId] = Field(min_length=1, max_length=500)


class AgentDraft(BaseModel):
    question: str = Field(min_length=2, max_length=500)
    answer: str = Field(min_length=1, max_length=20_000)
    lang: str | None = Field(default=None, pattern="^(zh|en)$")


class FeedbackIn(BaseModel):
    entry_id: str = Field(min_length=1, max_length=200)
    message_id: RowId
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


def _entry_view(db, entry: Entry, votes: dict | None = None, staged: set | None = None) -> dict:  # type: ignore[no-untyped-def]
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


@router.get("/kb/entries")
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
        _entry_view(db, e, votes, staged)
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
    out: dict = {"entry": _entry_view(db, entry), "warnings": warnings or []}
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
        **_entry_view(db, entry),
        "history": store.history(db, entry_id),
        "staged": store.staged(db, entry_id),
        "warnings": [store.clash_text(entry.id, clashes)] if clashes else [],
    }


@router.post("/kb/entries", status_code=201)
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
    return {"entry": _entry_view(db, live), "staged": staged, "warnings": warnings}


@router.post(ENTRY + "/staged/discard")
def discard_staged(entry_id: str, body: StagedIn, editor: CurrentEditor, db: Db) -> dict:
    """Drop a live entry's unpublished changes; the live entry is untouched."""
    entry = _get(db, entry_id)
    try:
        store.discard_staged(db, entry_id, body.staged_revision)
    except store.StaleStaged as e:
        raise _stale(e) from e
    return {"entry": _entry_view(db, entry), "staged": None}


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


# The intents whose messages reach the KB (config.yml's FallbackClassifier gives
# nlu_fallback; out_of_scope asks the KB first, actions/kb.py ActionOutOfScope). Any other
# intent runs its own rule or flow, and the KB is not asked.
KB_INTENTS = frozenset({"ask_question", "nlu_fallback", "out_of_scope"})


async def nlu_route(hub, query: str) -> dict:  # type: ignore[no-untyped-def]
    """Whether the bot would search the KB for this message at all: an entry can score well
    and still never be used, when the NLU reads its question as a flow ("I want a refund")."""
    try:
        parse = await hub.rasa.parse(query)
    except RasaUnavailable:
        return {"available": False}
    intent = parse.get("intent") or {}
    name = intent.get("name")
    return {
        "available": True,
        "intent": name,
        "confidence": round(float(intent.get("confidence") or 0), 3),
        "route": "kb" if name in KB_INTENTS else "intent",
    }


@router.post("/kb/try")
async def try_question(body: TryIn, editor: CurrentEditor, db: Db, kb: KB, hub: HubDep) -> dict:
    """What the bot would do with this question right now: the NLU's reading (does the KB get
    asked at all?), the ranked hits and the decision. With `preview`, what it would do if
    the editor's form were live (seconds: the index is built for the occasion)."""
    if body.preview is None:
        hits = await asyncio.to_thread(kb.search, body.query, 8, body.lang)
    else:
        live = [e for e in store.published_entries(db) if e.id != body.preview.id]
        entries = [*live, body.preview.to_entry("published")]
        try:
            index = await asyncio.to_thread(kb.preview, entries)
        except PreviewBusy as e:
            raise HTTPException(429, f"{e} · 正在生成预览，请几秒后再试") from e
        hits = index.search(body.query, 8, body.lang)
    decision = decide(hits, kb.thresholds)
    return {
        "preview": body.preview is not None,
        "nlu": await nlu_route(hub, body.query),
        "decision": decision.kind,
        "answer_id": decision.top.entry.id if decision.kind == "answer" else None,
        # the text learners would get (the live text, unless this is a preview)
        "answer": decision.top.entry.answer if decision.kind == "answer" else None,
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


def _check_import(db, entries: list[Entry]) -> list[str]:  # type: ignore[no-untyped-def]
    """The editor's link and duplicate rules for a whole file, against the KB as it will be
    after the import (so a file may move a question from one entry to another, or bring a
    zh/en pair that link to each other). A wrong link or a live clash refuses the file (422,
    nothing changed); a draft's clash is a warning."""
    incoming = {e.id: e for e in entries}
    live = [e for e in store.published_entries(db) if e.id not in incoming]
    live += [e for e in entries if e.status == "published"]
    pending = {e.id: e.lang for e in entries}
    problems, warnings = [], []
    for n, e in enumerate(entries, 1):
        if why := store.translation_problem(db, e, pending):
            problems.append(f"entry {n} ({e.id}): {why}")
        if clashes := store.question_clashes(e, live):
            text = f"entry {n}: {store.clash_text(e.id, clashes)}"
            (problems if e.status == "published" else warnings).append(text)
    if problems:
        why = " | ".join(problems)
        raise HTTPException(
            422, f"import failed, nothing was changed · 导入失败，未做任何修改: {why}"
        )
    return warnings


@router.post("/kb/import")
async def import_entries(
    request: Request, editor: CurrentEditor, db: Db, format: str = "yaml"
) -> dict:
    """Create or update every entry in the body (each update is a new version). Every row is
    checked first with the editor's rules; one bad row and nothing is changed. Rows without
    a status come in as drafts."""
    try:
        parsed = transfer.parse((await request.body()).decode("utf-8"), format)
    except (ValueError, UnicodeDecodeError) as e:
        raise HTTPException(
            422, f"import failed, nothing was changed · 导入失败，未做任何修改: {e}"
        ) from e
    warnings = _check_import(db, parsed.entries)
    created = updated = unchanged = 0
    touched_published = False
    for e in parsed.entries:
        old = store.get_entry(db, e.id)
        saved = store.save_entry(db, e, editor.id, note=f"imported ({format})")
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
    if touched_published:
        out["index"] = await reindex(request)
    return out


def _suggest_id(db, lang: str, question: str, taken: set[str] | None = None) -> str:  # type: ignore[no-untyped-def]
    """An id for a new entry from its question's words ("how do I pay with bitcoin" ->
    en-how-do-i-pay-with-bitcoin, "会员能不能共享给家人" -> zh-huiyuan-gongxiang-jiaren),
    numbered when an entry (or another suggestion in `taken`) has it already. The editor can
    change it before the first save."""
    base = kb_slug.suggest_base(lang, question)
    taken = taken or set()
    slug, n = base, 2
    while slug in taken or store.get_entry(db, slug) is not None or len(slug) < 5:
        slug, n = f"{base}-{n}", n + 1
    return slug


@router.get("/kb/gaps")
def gaps(editor: CurrentEditor, db: Db, kb: KB) -> list[dict]:
    reference = [q for e in kb.index.entries for q in e.questions()]
    out = kb_gaps.clusters(db, kb.encoder, reference)
    taken: set[str] = set()  # two clusters on one topic must not be offered the same id
    for c in out:
        c["suggested_id"] = _suggest_id(db, c["lang"], c["representative"], taken)
        taken.add(c["suggested_id"])
    return out


@router.post("/kb/gaps/draft", status_code=201)
def draft_from_gaps(body: DraftFromGaps, editor: CurrentEditor, db: Db) -> dict:
    """Start a draft entry from a cluster of unanswered questions. The gaps stay open until
    the entry is published (the page itself fills a new, unsaved form instead)."""
    entry_id = body.id or _suggest_id(db, body.lang, body.question)
    try:
        EntryIn(id=entry_id, lang=body.lang, question=body.question, answer=PLACEHOLDER_ANSWER)
    except ValueError as e:
        raise HTTPException(422, str(e)) from e
    if store.get_entry(db, entry_id):
        raise HTTPException(409, f"entry {entry_id} already exists · 条目 {entry_id} 已存在")
    entry = _new_draft(
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
    return {"entry": _entry_view(db, entry)}


@router.post("/kb/gaps/dismiss")
def dismiss_gaps(body: GapIds, editor: CurrentEditor, db: Db) -> dict:
    """ "Not a KB question": take a cluster out of the unanswered view."""
    return {"dismissed": kb_gaps.dismiss(db, body.gap_ids, editor.id)}


def _new_draft(
    db,  # type: ignore[no-untyped-def]
    lang: str,
    question: str,
    alts: list[str],
    answer: str,
    author: str,
    note: str,
    entry_id: str | None = None,
) -> Entry:
    # ids are permanent and show in /help links: read from the question, never a number
    slug = entry_id or _suggest_id(db, lang, question)
    entry = Entry(
        id=slug,
        lang=lang,
        question=question,
        answer=answer or PLACEHOLDER_ANSWER,
        alt_questions=[a for a in alts if a != question][:20],
        status="draft",
        category="general",
    )
    return store.save_entry(db, entry, author, note)


@router.post("/agent/tickets/{ticket_id}/kb-draft", status_code=201)
def agent_draft(ticket_id: TicketId, body: AgentDraft, agent: CurrentAgent, db: Db) -> dict:
    """Save the answer an agent gave in a handed-off chat as a KB draft for content staff."""
    import handoff

    ticket = handoff.get_ticket(db, ticket_id)
    conv = transcript.get_conversation(db, ticket.conversation_id)
    # the question's own language: its id and the index it joins follow it
    lang = body.lang or detect_lang(body.question, default=conv.lang if conv else "zh")
    entry = _new_draft(
        db, lang, body.question, [], body.answer, agent.id, f"from ticket #{ticket_id}"
    )
    return {"entry": entry.model_dump()}


# what a learner says that asks nothing: the KB has no answer for "human please" or "ok"
_NOT_A_QUESTION = {"request_human", "affirm", "deny", "greet", "thank", "goodbye"}


def _asks(row: dict) -> bool:
    """A learner message that asks something (not a request for a person, a yes or no, or
    a tapped button's payload)."""
    text = (row["text"] or "").strip()
    tapped = bool(json.loads(row["payload"] or "{}")) or text.startswith("/")
    return bool(text) and not tapped and row.get("intent") not in _NOT_A_QUESTION


def _learner_questions(db, conversation_id: str, n: int = 5) -> list[str]:  # type: ignore[no-untyped-def]
    """The learner's latest messages that ask something, newest first."""
    rows = db["messages"].rows_where(
        "conversation_id = ? AND sender = 'learner'",
        [conversation_id],
        order_by="id desc",
        limit=20,
    )
    return [(r["text"] or "").strip() for r in rows if _asks(r)][:n]


def _handoff_question(db, ticket) -> str:  # type: ignore[no-untyped-def]
    """The question a ticket is about, for a KB draft: the learner's last question before
    the handoff (what the bot could not settle), else their first one after it. Not their
    latest line: while waiting for a person that is "hello? are you there?", which the NLU
    never reads (the chat is with a human), so nothing marks it as asking nothing."""
    where = "conversation_id = ? AND sender = 'learner' AND created_at "
    args = [ticket.conversation_id, ticket.created_at]
    before = db["messages"].rows_where(where + "<= ?", args, order_by="id desc", limit=20)
    after = db["messages"].rows_where(where + "> ?", args, order_by="id", limit=20)
    return next(((r["text"] or "").strip() for r in [*before, *after] if _asks(r)), "")


@router.get("/agent/tickets/{ticket_id}/kb-draft")
def agent_draft_prefill(ticket_id: TicketId, agent: CurrentAgent, db: Db) -> dict:
    """What the agent's "Save to KB" form starts from: the learner's question, its language
    and the id a draft of it would get (from the question's words, as the editor's are)."""
    import handoff

    ticket = handoff.get_ticket(db, ticket_id)
    conv = transcript.get_conversation(db, ticket.conversation_id)
    question = _handoff_question(db, ticket)
    lang = detect_lang(question, default=conv.lang if conv else "zh")
    return {"question": question, "lang": lang, "id": _suggest_id(db, lang, question)}


@router.get("/agent/tickets/{ticket_id}/suggestions")
def agent_suggestions(
    ticket_id: TicketId,
    agent: CurrentAgent,
    db: Db,
    kb: KB,
    settings: AppSettings,
    q: str | None = Query(default=None, max_length=1000),
) -> dict:
    """KB entries an agent might send: for the learner's latest question the KB knows
    something about (else their latest question), or for `q`."""
    import handoff

    ticket = handoff.get_ticket(db, ticket_id)
    query, hits = (q or "").strip(), []
    if query:
        hits = kb.search(query, k=3)
    else:
        # the newest question the KB recognises: while waiting for a person the latest line
        # is often "hello? are you there?" (never seen by the NLU, so nothing marks it as
        # asking nothing), and its hits would push out the ones for the real question
        searched = [(t, kb.search(t, k=3)) for t in _learner_questions(db, ticket.conversation_id)]
        known = [(t, h) for t, h in searched if h and h[0].score >= kb.thresholds.suggest]
        query, hits = (known or searched or [("", [])])[0]
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
