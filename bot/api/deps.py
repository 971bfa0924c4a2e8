"""FastAPI dependencies, named as Annotated aliases.

A route that touches the database declares its unit of work: `DbRead` (a read-only
transaction, a consistent snapshot) or `DbWrite` (one write transaction, committed before
the response is sent, rolled back if the route raises). Both are taken from the pool for the
request and given back; none is shared with another request. The hub's own services (the
router) take `Database` itself and open short units of work around the waits they make.
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket
from sqlalchemy.engine import Connection

from bot import auth, transcript
from bot.auth import Principal
from bot.db import Database
from bot.hub import Hub
from bot.settings import Settings
from bot.transcript import Conversation
from course_platform import CoursePlatform
from kb_index.service import KnowledgeBase


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.db


def write_conn(request: Request) -> Iterator[Connection]:
    with request.app.state.db.write() as conn:
        yield conn


def read_conn(request: Request) -> Iterator[Connection]:
    with request.app.state.db.read() as conn:
        yield conn


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


def get_kb(request: Request) -> KnowledgeBase:
    return request.app.state.kb


def get_platform(request: Request) -> CoursePlatform:
    return request.app.state.platform


AppSettings = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
# scope="function": the transaction ends (commits) before the response goes out, so an
# acknowledged write is a durable one
DbWrite = Annotated[Connection, Depends(write_conn, scope="function")]
DbRead = Annotated[Connection, Depends(read_conn, scope="function")]
HubDep = Annotated[Hub, Depends(get_hub)]
KB = Annotated[KnowledgeBase, Depends(get_kb)]
Platform = Annotated[CoursePlatform, Depends(get_platform)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def current_principal(request: Request, db: DatabaseDep) -> Principal:
    token = bearer_token(request)
    principal = db.reading(auth.principal_for, token) if token else None
    if principal is None:
        raise HTTPException(
            401, "missing or expired token: log in again", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def current_learner(principal: CurrentPrincipal) -> Principal:
    if principal.kind != "learner":
        raise HTTPException(403, "this endpoint is for learners")
    return principal


def current_agent(principal: CurrentPrincipal) -> Principal:
    if principal.kind != "staff" or not principal.has("agent", "manager"):
        raise HTTPException(403, "this endpoint needs the agent role")
    return principal


def current_editor(principal: CurrentPrincipal) -> Principal:
    if principal.kind != "staff" or not principal.has("content_editor"):
        raise HTTPException(403, "this endpoint needs the content_editor role")
    return principal


def current_manager(principal: CurrentPrincipal) -> Principal:
    if principal.kind != "staff" or not principal.has("manager"):
        raise HTTPException(403, "this endpoint needs the manager role")
    return principal


def current_staff(principal: CurrentPrincipal) -> Principal:
    if principal.kind != "staff":
        raise HTTPException(403, "this endpoint is for staff")
    return principal


CurrentLearner = Annotated[Principal, Depends(current_learner)]
CurrentAgent = Annotated[Principal, Depends(current_agent)]
CurrentEditor = Annotated[Principal, Depends(current_editor)]
CurrentStaff = Annotated[Principal, Depends(current_staff)]
CurrentManager = Annotated[Principal, Depends(current_manager)]


def conversation_for(conn: Connection, principal: Principal, conversation_id: str) -> Conversation:
    """A conversation the caller may see: the learner's own, or any for staff."""
    conv = transcript.get_conversation(conn, conversation_id)
    if conv is None or (principal.kind == "learner" and conv.learner_id != principal.id):
        # a learner probing someone else's id learns nothing about whether it exists
        raise HTTPException(404, f"conversation {conversation_id} not found")
    return conv


def ws_principal(websocket: WebSocket) -> Principal | None:
    token = websocket.query_params.get("token", "")
    return websocket.app.state.db.reading(auth.principal_for, token) if token else None
