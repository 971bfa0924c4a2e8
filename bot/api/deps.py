"""FastAPI dependencies, named as Annotated aliases.

A route that touches the database declares its unit of work: `DbRead` (a read-only
transaction, a consistent snapshot) or `DbWrite` (one write transaction, committed before
the response is sent, rolled back if the route raises). Both are taken from the pool for the
request and given back; none is shared with another request. The hub's own services (the
router) take `Database` itself and open short units of work around the waits they make.
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.engine import Connection

import handoff
from bot import access, auth, transcript
from bot.auth import Principal
from bot.db import Database
from bot.hub import Hub
from bot.rate_limits import RateLimits
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


def get_limits(request: Request) -> RateLimits:
    return request.app.state.limits


def client_address(request: Request) -> str:
    """The caller's address (behind a proxy, uvicorn's --forwarded-allow-ips makes it the
    client's, from X-Forwarded-For, for proxies it trusts)."""
    return request.client.host if request.client else "unknown"


AppSettings = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
# scope="function": the transaction ends (commits) before the response goes out, so an
# acknowledged write is a durable one
DbWrite = Annotated[Connection, Depends(write_conn, scope="function")]
DbRead = Annotated[Connection, Depends(read_conn, scope="function")]
HubDep = Annotated[Hub, Depends(get_hub)]
KB = Annotated[KnowledgeBase, Depends(get_kb)]
Platform = Annotated[CoursePlatform, Depends(get_platform)]
Limits = Annotated[RateLimits, Depends(get_limits)]
Address = Annotated[str, Depends(client_address)]


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


def current_admin(principal: CurrentPrincipal) -> Principal:
    if principal.kind != "staff" or "admin" not in principal.roles:
        raise HTTPException(403, "this endpoint needs the admin role")
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
CurrentAdmin = Annotated[Principal, Depends(current_admin)]


def conversation_for(conn: Connection, principal: Principal, conversation_id: str) -> Conversation:
    """A conversation the caller may read (bot/access.py): a learner's own; for staff, by
    their role and teams. Anyone else probing an id learns nothing about whether it exists."""
    conv = transcript.get_conversation(conn, conversation_id)
    if conv is None or not access.may_read_conversation(conn, principal, conv):
        raise HTTPException(404, f"conversation {conversation_id} not found")
    return conv


def ticket_for(conn: Connection, principal: Principal, ticket_id: int) -> handoff.Ticket:
    """A ticket the caller may read (bot/access.py); the same 404 for any other as for one
    that does not exist, so ids cannot be probed."""
    try:
        ticket = handoff.get_ticket(conn, ticket_id)
    except handoff.NotFound:
        ticket = None
    if ticket is None or not access.may_read_ticket(conn, principal, ticket):
        raise HTTPException(404, f"ticket {ticket_id} not found · 找不到工单 #{ticket_id}")
    return ticket


def revoked_topics(token: str, who: Principal) -> list[str]:
    """The broadcaster topics that say a socket's sign-in ended: this token signed out, or
    the staff account was disabled (bot/api/staff.py, bot/api/admin.py)."""
    return [f"revoked:token:{auth.token_hash(token)}", f"revoked:{who.kind}:{who.id}"]
