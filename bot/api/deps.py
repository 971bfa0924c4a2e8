"""FastAPI dependencies, named as Annotated aliases."""

from typing import Annotated

import sqlite_utils
from fastapi import Depends, HTTPException, Request, WebSocket

from bot import auth, transcript
from bot.auth import Principal
from bot.hub import Hub
from bot.settings import Settings
from bot.transcript import Conversation
from course_platform import CoursePlatform
from kb_index.service import KnowledgeBase


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> sqlite_utils.Database:
    return request.app.state.db


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


def get_kb(request: Request) -> KnowledgeBase:
    return request.app.state.kb


def get_platform(request: Request) -> CoursePlatform:
    return request.app.state.platform


AppSettings = Annotated[Settings, Depends(get_settings)]
Db = Annotated[sqlite_utils.Database, Depends(get_db)]
HubDep = Annotated[Hub, Depends(get_hub)]
KB = Annotated[KnowledgeBase, Depends(get_kb)]
Platform = Annotated[CoursePlatform, Depends(get_platform)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def current_principal(request: Request, db: Db) -> Principal:
    token = bearer_token(request)
    principal = auth.principal_for(db, token) if token else None
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


def conversation_for(
    db: sqlite_utils.Database, principal: Principal, conversation_id: str
) -> Conversation:
    """A conversation the caller may see: the learner's own, or any for staff."""
    conv = transcript.get_conversation(db, conversation_id)
    if conv is None or (principal.kind == "learner" and conv.learner_id != principal.id):
        # a learner probing someone else's id learns nothing about whether it exists
        raise HTTPException(404, f"conversation {conversation_id} not found")
    return conv


def ws_principal(websocket: WebSocket) -> Principal | None:
    token = websocket.query_params.get("token", "")
    return auth.principal_for(websocket.app.state.db, token) if token else None
