"""Try a question (content staff): what the bot would do with it now, or with the editor's
form as if it were published, starting with whether the NLU sends it to the KB at all."""

import asyncio

from fastapi import APIRouter, HTTPException

from bot.api.deps import KB, CurrentEditor, DatabaseDep, HubDep
from bot.api.schemas import TryIn
from bot.hub import Hub
from bot.rasa_client import RasaUnavailable
from kb_index import decide, store
from kb_index.service import PreviewBusy

router = APIRouter(prefix="/api/kb", tags=["kb"])


# The intents whose messages reach the KB (config.yml's FallbackClassifier gives
# nlu_fallback; out_of_scope asks the KB first, actions/kb.py ActionOutOfScope). Any other
# intent runs its own rule or flow, and the KB is not asked.
KB_INTENTS = frozenset({"ask_question", "nlu_fallback", "out_of_scope"})


async def nlu_route(hub: Hub, query: str) -> dict:
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


@router.post("/try")
async def try_question(
    body: TryIn, editor: CurrentEditor, db: DatabaseDep, kb: KB, hub: HubDep
) -> dict:
    """What the bot would do with this question right now: the NLU's reading (does the KB get
    asked at all?), the ranked hits and the decision. With `preview`, what it would do if
    the editor's form were live (seconds: the index is built for the occasion)."""
    if body.preview is None:
        hits = await asyncio.to_thread(kb.search, body.query, 8, body.lang)
    else:
        published = await db.aread(store.published_entries)
        live = [e for e in published if e.id != body.preview.id]
        entries = [*live, body.preview.to_entry("published")]
        try:
            index = await asyncio.to_thread(kb.preview, entries)
        except PreviewBusy as e:
            raise HTTPException(429, f"{e} · 正在生成预览，请几秒后再试") from e
        hits = await asyncio.to_thread(index.search, body.query, 8, body.lang)
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
