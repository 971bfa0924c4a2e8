"""What every HTTP response and request goes through: a body limit that holds for chunked
requests too, and the security headers the pages need; and what every log line goes
through: secrets and personal data masked.

A limit on Content-Length alone let a chunked body of any size be read and parsed before
the route even checked who was calling; here the bytes are counted as they arrive and the
request is cut off with a 413 at the limit, whatever the headers say.

The pages load only their own scripts and styles (no inline script or style), so the
Content-Security-Policy can say 'self' for both. Only /chat may be framed, and only by the
origins in AFTERCLASS_CHAT_FRAME_ANCESTORS (the course app that embeds it); FastAPI's own
/docs pages, which load Swagger UI from a CDN with inline script, keep no CSP.
"""

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacy import mask

MAX_BODY_BYTES = 64 * 1024  # chat and API bodies
MAX_IMPORT_BYTES = 20 * 1024 * 1024  # KB imports
# Rasa's action calls carry the whole tracker, which grows with the conversation
MAX_ACTION_CALL_BYTES = 32 * 1024 * 1024
BODY_LIMITS = {"/api/kb/import": MAX_IMPORT_BYTES, "/webhook": MAX_ACTION_CALL_BYTES}
UNGUARDED = ("/docs", "/redoc", "/docs/oauth2-redirect")


class BodyLimit:
    """Reads a request's body before the app sees it, up to the path's limit: past it, a 413
    and the rest is never read. The app then reads the buffered body (at most the limit: 64
    KB for the chat and APIs).

    A NUL character anywhere in a request (path, query, body) is refused with a 422: no
    learner or editor types one, SQLite would store it and PostgreSQL refuses it, so one
    let through became a 500 on one engine (found by tests/api/test_fuzz.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or _NUL_QUERY.search(scope.get("query_string", b"")):
            if scope["type"] == "http":
                await _refuse(send, 422, "a NUL character is not text we take")
            else:
                await send({"type": "websocket.close", "code": 4400})
            return
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = BODY_LIMITS.get(scope["path"], MAX_BODY_BYTES)
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _too_large(send, limit)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await _too_large(send, limit)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"\x00" in body or _NUL_JSON.search(body):
            await _refuse(send, 422, "a NUL character is not text we take")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: a disconnect, when it comes

        await self.app(scope, replay, send)


_NUL_QUERY = re.compile(rb"%00")
_NUL_JSON = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.I)  # an escaped NUL in JSON


async def _too_large(send: Send, limit: int) -> None:
    await _refuse(send, 413, f"request body over {limit} bytes")


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def csp(frame_ancestors: str) -> str:
    # "none" and "self" are keywords a .env file strips the quotes from
    frame_ancestors = " ".join(
        f"'{w}'" if w in ("none", "self") else w for w in frame_ancestors.split()
    ) or "'none'"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {frame_ancestors}"
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, chat_frame_ancestors: str = "'none'") -> None:
        self.app = app
        self.chat_policy = csp(chat_frame_ancestors).encode()
        self.policy = csp("'none'").encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNGUARDED:
            await self.app(scope, receive, send)
            return
        chat = scope["path"] == "/chat"

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", self.chat_policy if chat else self.policy),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                ]
                if not chat:
                    headers.append((b"x-frame-options", b"DENY"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add)


_SECRET_IN_URL = re.compile(r"((?:token|ticket|signature)=)[^&\s\"]+", re.I)


class RedactSecrets(logging.Filter):
    """Access logs write request lines down: whatever a client put in a URL by mistake (an
    old page's ?token=) is masked before it reaches a log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_IN_URL.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def install_log_redaction() -> Any:
    """Secrets in URLs out of the access log, and personal data out of every log: a log
    line is kept by the operator's tooling for as long as it likes, so a learner's phone,
    email, ID-card or bank-card number that reaches one (a message quoted in a warning, a
    ticket summary) is masked when the record is made (docs/privacy.md). Tracebacks are
    formatted later, by the handler, and are not masked."""
    global _factory_installed
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
    if not _factory_installed:
        logging.setLogRecordFactory(_masking(logging.getLogRecordFactory()))
        _factory_installed = True


_factory_installed = False


def _masking(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is logging's to report, not ours
            return record
        clean = mask(text)
        if clean != text:
            record.msg, record.args = clean, ()
        return record

    return masked_record
