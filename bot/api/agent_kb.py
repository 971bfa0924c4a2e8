"""The KB in the agent console: suggestions to send the learner, and an agent's answer saved
as a KB draft for content staff."""

from fastapi import APIRouter, Query

from bot import transcript
from bot.api.deps import KB, AppSettings, CurrentAgent, DbRead, DbWrite, ticket_for
from bot.api.schemas import AgentDraft, TicketId
from kb_index import detect_lang, store

router = APIRouter(prefix="/api/agent", tags=["agent"])


@router.post("/tickets/{ticket_id}/kb-draft", status_code=201)
def agent_draft(ticket_id: TicketId, body: AgentDraft, agent: CurrentAgent, db: DbWrite) -> dict:
    """Save the answer an agent gave in a handed-off chat as a KB draft for content staff."""
    ticket = ticket_for(db, agent, ticket_id)
    conv = transcript.get_conversation(db, ticket.conversation_id)
    # the question's own language: its id and the index it joins follow it
    lang = body.lang or detect_lang(body.question, default=conv.lang if conv else "zh")
    entry = store.new_draft(
        db, lang, body.question, [], body.answer, agent.id, f"from ticket #{ticket_id}"
    )
    return {"entry": entry.model_dump()}


@router.get("/tickets/{ticket_id}/kb-draft")
def agent_draft_prefill(ticket_id: TicketId, agent: CurrentAgent, db: DbRead) -> dict:
    """What the agent's "Save to KB" form starts from: the learner's question, its language
    and the id a draft of it would get (from the question's words, as the editor's are)."""
    ticket = ticket_for(db, agent, ticket_id)
    conv = transcript.get_conversation(db, ticket.conversation_id)
    question = transcript.question_at(db, ticket.conversation_id, ticket.created_at)
    lang = detect_lang(question, default=conv.lang if conv else "zh")
    return {"question": question, "lang": lang, "id": store.free_id(db, lang, question)}


@router.get("/tickets/{ticket_id}/suggestions")
def agent_suggestions(
    ticket_id: TicketId,
    agent: CurrentAgent,
    db: DbRead,
    kb: KB,
    settings: AppSettings,
    q: str | None = Query(default=None, max_length=1000),
) -> dict:
    """KB entries an agent might send: for the learner's latest question the KB knows
    something about (else their latest question), or for `q`."""
    ticket = ticket_for(db, agent, ticket_id)
    query, hits = (q or "").strip(), []
    if query:
        hits = kb.search(query, k=3)
    else:
        # the newest question the KB recognises: while waiting for a person the latest line
        # is often "hello? are you there?" (never seen by the NLU, so nothing marks it as
        # asking nothing), and its hits would push out the ones for the real question
        asked = transcript.learner_questions(db, ticket.conversation_id)
        searched = [(text, kb.search(text, k=3)) for text in asked]
        known = [(text, h) for text, h in searched if h and h[0].score >= kb.thresholds.suggest]
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
