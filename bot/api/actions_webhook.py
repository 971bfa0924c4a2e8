"""Rasa's action server, mounted in the hub: Rasa POSTs action calls to /webhook.

Action calls are trusted with the conversation's identity (the tracker's sender id), so
only Rasa may make them: it sends the shared `actions_token` as ``?token=`` (endpoints.yml).
"""

import hmac
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

log = logging.getLogger(__name__)
router = APIRouter(tags=["rasa"])
_executor: ActionExecutor | None = None
# "testclient" is how Starlette's in-process TestClient appears; no socket peer can be named so
LOOPBACK = {"127.0.0.1", "::1", "testclient"}


def executor() -> ActionExecutor:
    global _executor
    if _executor is None:
        _executor = ActionExecutor()
        _executor.register_package("actions")
    return _executor


@router.post("/webhook", include_in_schema=False)
async def webhook(request: Request) -> JSONResponse:
    expected = request.app.state.settings.actions_token
    if expected:
        given = request.query_params.get("token", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return JSONResponse({"error": "action calls need Rasa's token"}, status_code=403)
    elif not request.client or request.client.host not in LOOPBACK:
        return JSONResponse(
            {"error": "set AFTERCLASS_ACTIONS_TOKEN to take action calls from elsewhere"}, 403
        )
    try:
        call = await request.json()
    except ValueError:
        return JSONResponse({"error": "invalid JSON"}, status_code=400)
    try:
        result = await executor().run(call)
    except ActionExecutionRejection as e:  # a form rejected the input: Rasa tries elsewhere
        return JSONResponse({"error": e.message, "action_name": e.action_name}, 400)
    except ActionNotFoundException as e:
        return JSONResponse({"error": e.message, "action_name": e.action_name}, 404)
    except Exception as e:  # an action bug must not take the hub down
        log.exception("action %s failed", call.get("next_action"))
        return JSONResponse({"error": str(e), "action_name": call.get("next_action")}, 500)
    return JSONResponse(result.model_dump() if result else None)
