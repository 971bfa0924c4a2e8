"""Rasa's action server, mounted in the hub: Rasa POSTs action calls to /webhook.

Action calls are trusted with the conversation's identity (the tracker's sender id), so
only Rasa may make them: it sends the shared `actions_token` in the `X-AfterClass-Token`
header (endpoints.yml). There is no way around it, whatever address a call comes from: a
same-host proxy, or a trusted X-Forwarded-For, would make any caller look local.

The actions are plain synchronous code (KB searches that encode text, course-platform calls,
database units of work), and rasa-sdk would run them on the event loop, holding up every
learner and every socket for as long as one action takes. So each call runs in a worker
thread, with an event loop of its own for rasa-sdk's async plumbing. The package is named
by its string (`actions`), so the hub imports no action module.
"""

import asyncio
import hmac
import logging
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

from bot import keys

log = logging.getLogger(__name__)
router = APIRouter(tags=["rasa"])
_executor: ActionExecutor | None = None
ACTIONS_PACKAGE = "actions"
TOKEN_HEADER = "X-AfterClass-Token"


def executor() -> ActionExecutor:
    global _executor
    if _executor is None:
        _executor = ActionExecutor()
        _executor.register_package(ACTIONS_PACKAGE)
    return _executor


def _run_call(call: dict) -> Any:
    """One action call, in a worker thread (module doc)."""
    return asyncio.run(executor().run(call))


@router.post("/webhook", include_in_schema=False)
async def webhook(request: Request) -> JSONResponse:
    expected = keys.secret(request.app.state.settings, "actions_token").encode()
    given = request.headers.get(TOKEN_HEADER, "").encode("utf-8", "replace")
    if not hmac.compare_digest(given, expected):
        return JSONResponse({"error": "action calls need Rasa's token"}, status_code=403)
    try:
        call = await request.json()
    except ValueError:
        return JSONResponse({"error": "invalid JSON"}, status_code=400)
    try:
        result = await anyio.to_thread.run_sync(_run_call, call)
    except ActionExecutionRejection as e:  # a form rejected the input: Rasa tries elsewhere
        return JSONResponse({"error": e.message, "action_name": e.action_name}, 400)
    except ActionNotFoundException as e:
        return JSONResponse({"error": e.message, "action_name": e.action_name}, 404)
    except Exception as e:  # an action bug must not take the hub down
        log.exception("action %s failed", call.get("next_action"))
        return JSONResponse({"error": str(e), "action_name": call.get("next_action")}, 500)
    return JSONResponse(result.model_dump() if result else None)
