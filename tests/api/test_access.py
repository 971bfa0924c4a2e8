"""Every route says who may call it: this table walks every route of the hub with every kind
of caller (nobody, a learner, an agent of every team, a billing agent, a content editor, a
manager, an admin) and checks the answer. A route the table does not list fails the test,
so a new route must say who it is for.

Allowed means the caller gets past the door: any status but 401, 403 and 404 for a thing
they may not see (the body may still be refused, 422, or the state, 409). Refused means 401
without a token, 403 for a role, or 404 for something outside the caller's reach (another
team's ticket, a transcript an editor must not read), which tells nothing about whether it
exists.
"""

import hashlib
import re
import time

import pytest
from fastapi import routing
from fastapi.testclient import TestClient

import handoff
from bot import privacy_requests
from bot.app import create_app
from tests.api.test_chat_api import start
from tests.conftest import staff_token

PUBLIC = "public"
LEARNER, AGENT, BILLING, EDITOR, MANAGER, ADMIN = (
    "learner",
    "agent",
    "billing",
    "editor",
    "manager",
    "admin",
)
STAFF_READERS = {AGENT, MANAGER, ADMIN}  # may read the general team's transcript
AGENTS = {AGENT, BILLING, MANAGER, ADMIN}
# route -> who may call it ({CONV}: the learner's conversation, general team's ticket)
TABLE: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/api/info"): PUBLIC,
    ("GET", "/api/health"): PUBLIC,
    ("POST", "/api/auth/learner"): PUBLIC,
    ("GET", "/api/demo/learners"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("GET", "/api/auth/me"): {LEARNER, AGENT, BILLING, EDITOR, MANAGER, ADMIN},
    ("POST", "/api/auth/logout"): PUBLIC,  # idempotent: without a token there is nothing to end
    # the learner's own conversation; staff who may read its transcript
    ("POST", "/api/conversations"): {LEARNER},
    ("GET", "/api/conversations/open"): {LEARNER},
    ("GET", "/api/conversations/{conversation_id}"): {LEARNER, *STAFF_READERS},
    ("POST", "/api/conversations/{conversation_id}/messages"): {LEARNER},
    ("GET", "/api/conversations/{conversation_id}/messages"): {LEARNER, *STAFF_READERS},
    ("WS", "/api/conversations/{conversation_id}/ws"): {LEARNER, *STAFF_READERS},
    ("POST", "/api/conversations/{conversation_id}/back-to-bot"): {LEARNER},
    ("POST", "/api/conversations/{conversation_id}/csat"): {LEARNER},
    ("POST", "/api/conversations/{conversation_id}/feedback"): {LEARNER},
    # the agent console: the general team's ticket and its conversation
    ("GET", "/api/agent/queue"): AGENTS,
    ("GET", "/api/agent/teams"): AGENTS,
    ("GET", "/api/agent/agents"): {MANAGER, ADMIN},
    ("GET", "/api/agent/tickets/{ticket_id}"): STAFF_READERS,
    ("POST", "/api/agent/tickets/{ticket_id}/claim"): STAFF_READERS,
    ("POST", "/api/agent/tickets/{ticket_id}/reply"): STAFF_READERS,
    ("POST", "/api/agent/tickets/{ticket_id}/transfer"): STAFF_READERS,
    ("POST", "/api/agent/tickets/{ticket_id}/release"): STAFF_READERS,
    ("POST", "/api/agent/tickets/{ticket_id}/reassign"): {MANAGER, ADMIN},
    ("POST", "/api/agent/tickets/{ticket_id}/resolve"): STAFF_READERS,
    ("GET", "/api/agent/conversations/{conversation_id}/messages"): STAFF_READERS,
    ("GET", "/api/agent/conversations/{conversation_id}/learner"): STAFF_READERS,
    ("GET", "/api/agent/tickets/{ticket_id}/suggestions"): STAFF_READERS,
    ("GET", "/api/agent/tickets/{ticket_id}/kb-draft"): STAFF_READERS,
    ("POST", "/api/agent/tickets/{ticket_id}/kb-draft"): STAFF_READERS,
    # privacy requests: the privacy team ("compliance": the demo agent is in it) and
    # managers; the billing agent is not; a learner downloads only their own copy
    ("GET", "/api/agent/privacy-requests"): STAFF_READERS,
    ("GET", "/api/agent/privacy-requests/{request_id}"): STAFF_READERS,
    ("POST", "/api/agent/privacy-requests/{request_id}/export"): STAFF_READERS,
    ("POST", "/api/agent/privacy-requests/{request_id}/erase"): STAFF_READERS,
    ("POST", "/api/agent/privacy-requests/{request_id}/refuse"): STAFF_READERS,
    ("GET", "/api/learner/privacy-exports/{token}"): {LEARNER},
    # content staff
    **{
        (m, p): {EDITOR, ADMIN}
        for m, p in [
            ("GET", "/api/kb/entries"),
            ("POST", "/api/kb/entries"),
            ("GET", "/api/kb/entries/{entry_id}"),
            ("PUT", "/api/kb/entries/{entry_id}"),
            ("GET", "/api/kb/entries/{entry_id}/history"),
            ("POST", "/api/kb/entries/{entry_id}/staged/discard"),
            ("POST", "/api/kb/entries/{entry_id}/publish"),
            ("POST", "/api/kb/entries/{entry_id}/unpublish"),
            ("POST", "/api/kb/entries/{entry_id}/archive"),
            ("POST", "/api/kb/entries/{entry_id}/rollback"),
            ("POST", "/api/kb/try"),
            ("GET", "/api/kb/export"),
            ("POST", "/api/kb/import"),
            ("GET", "/api/kb/gaps"),
            ("POST", "/api/kb/gaps/draft"),
            ("POST", "/api/kb/gaps/dismiss"),
        ]
    },
    # managers
    **{
        (m, p): {MANAGER, ADMIN}
        for m, p in [
            ("GET", "/api/manager/metrics"),
            ("GET", "/api/manager/alerts"),
            ("GET", "/api/manager/trends"),
            ("GET", "/api/manager/reasons"),
            ("GET", "/api/manager/export"),
        ]
    },
    # admins
    ("GET", "/api/admin/staff"): {ADMIN},
    ("POST", "/api/admin/staff"): {ADMIN},
    ("PATCH", "/api/admin/staff/{username}"): {ADMIN},
    ("POST", "/api/admin/staff/{username}/password"): {ADMIN},
    ("GET", "/api/admin/audit"): {ADMIN},
    # Rasa's action calls: its token, never a person's (tests/api/test_chat_api.py)
    ("POST", "/webhook"): set(),
    # pages and help articles: public (what they show needs a sign-in of its own)
    **{
        ("GET", p): PUBLIC
        for p in (
            "/",
            "/chat",
            "/agent",
            "/kb",
            "/dashboard",
            "/admin",
            "/static/{name}",
            "/help/{entry_id}",
            "/openapi.json",
            "/docs",
            "/docs/oauth2-redirect",
            "/redoc",
        )
    },
}


def app_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    walk = getattr(routing, "iter_route_contexts", lambda routes: routes)
    out = set()
    for route in walk(app.routes):
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        methods = getattr(route, "methods", None) or {"WS"}
        out |= {(m, path) for m in methods if m != "HEAD"}
    return out


def test_every_route_is_in_the_table(settings):
    app = create_app(settings)
    assert app_routes(app) == set(TABLE), {
        "missing from the table": sorted(app_routes(app) - set(TABLE)),
        "not in the app": sorted(set(TABLE) - app_routes(app)),
    }


BODIES = {
    "/api/auth/learner": {"learner_id": "L1001"},
    "/api/auth/login": {"username": "editor", "password": "editor"},
    "/messages": {"text": "hi"},
    "/csat": {"score": 5, "ticket_id": "{resolved}"},  # the resolved ticket (world fixture)
    "/feedback": {"entry_id": "en-x", "message_id": 1, "helpful": True},
    "/reply": {"text": "hello"},
    "/transfer": {"team": "tech"},
    "/reassign": {"agent": "agent"},
    "/kb-draft": {"question": "how?", "answer": "so."},
    "/api/kb/try": {"query": "refund"},
    "/api/kb/gaps/draft": {"gap_ids": [1], "lang": "en", "question": "a question?"},
    "/api/kb/gaps/dismiss": {"gap_ids": [1]},
    "/api/admin/staff": {"username": "x", "roles": ["agent"], "password": "x"},
    "/password": {"password": "x"},
    "/erase": {"confirm": "not the learner"},  # refused at the second confirmation: 422
    "/refuse": {"note": "not the account holder"},
}


def body_for(path: str, values: dict) -> dict:
    body = next((b for end, b in BODIES.items() if path.endswith(end)), {})
    return {k: int(values[v[1:-1]]) if v == "{resolved}" else v for k, v in body.items()}


@pytest.fixture
def world(client):  # type: ignore[no-untyped-def]
    """A learner's conversation waiting for the general team, and every caller's headers."""
    headers, cid = start(client, "L1001")
    db = client.app.state.db
    done = db.writing(handoff.create_ticket, cid, reason="learner_asked", team="general")
    db.writing(handoff.claim, done.id, "agent")
    db.writing(handoff.resolve, done.id, "agent")
    ticket = db.writing(handoff.create_ticket, cid, reason="learner_asked", team="general")
    # two privacy requests of the learner's: one to act on, one whose copy is ready
    request = db.writing(
        privacy_requests.open_request,
        learner_id="L1001",
        kind="delete",
        conversation_id=cid,
        ticket_id=None,
        verified_by="session+code",
    )
    ready = db.writing(
        privacy_requests.open_request,
        learner_id="L1001",
        kind="export",
        conversation_id=cid,
        ticket_id=None,
        verified_by="session+code",
    )
    copy = client.app.state.settings.var_dir / "copy.json"
    copy.write_text("{}")
    token = "a-download-token"
    db.writing(
        privacy_requests.export_ready,
        ready["id"],
        by="agent",
        export_file=str(copy),
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        expires_at=time.time() + 3600,
    )
    callers = {
        None: {},
        LEARNER: headers,
        AGENT: staff_token(client, "agent"),
        BILLING: staff_token(client, "billing"),
        EDITOR: staff_token(client, "editor"),
        MANAGER: staff_token(client, "manager"),
        ADMIN: staff_token(client, "admin"),
    }
    values = {
        "conversation_id": cid,
        "ticket_id": str(ticket.id),
        "entry_id": "en-offline-download",
        "username": "billing",
        "name": "app.css",
        "resolved": str(done.id),
        "request_id": str(request["id"]),
        "token": token,
    }
    return client, callers, values


def call(client: TestClient, method: str, path: str, headers: dict, values: dict) -> int:
    if method == "WS":
        from starlette.websockets import WebSocketDisconnect

        token = headers.get("Authorization", "Bearer -")[7:]
        try:
            with client.websocket_connect(path) as ws:
                ws.send_json({"type": "auth", "token": token})
                ws.receive_json()
                return 200
        except WebSocketDisconnect as e:
            return {4401: 401, 4404: 404}.get(e.code, 500)
    kwargs = {"json": body_for(path, values)} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, path, headers=headers, **kwargs).status_code


REFUSED = {401, 403, 404}


def test_every_route_with_every_caller(world):
    client, callers, values = world
    wrong = []
    # read-only and harmless calls first, then the ones that change state, each caller's
    # outcome judged at the door only (a refusal, or not)
    order = sorted(TABLE, key=lambda r: (r[0] != "GET", r[1].endswith(("logout", "password"))))
    for method, template in order:
        allowed = TABLE[(method, template)]
        path = template.format(**{k: v for k, v in values.items() if "{" + k + "}" in template})
        for who, headers in callers.items():
            if method == "POST" and template == "/api/auth/logout":
                continue  # would end the session the rest of the table uses
            status = call(client, method, path, headers, values)
            may = allowed == PUBLIC or (who is not None and who in allowed)
            if may and status in REFUSED and not (status == 404 and template.startswith("/help")):
                wrong.append(f"{method} {template} as {who}: {status}, should get through")
            if not may and status not in REFUSED:
                wrong.append(f"{method} {template} as {who}: {status}, should be refused")
            anonymous = who is None and allowed != PUBLIC and method != "WS"
            if anonymous and status != 401 and template != "/webhook":
                wrong.append(f"{method} {template} without a token: {status}, not 401")
    assert not wrong, "\n".join(wrong)
