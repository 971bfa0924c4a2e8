"""The channel the hub talks to Rasa through: Rasa's REST channel behind a shared secret.

Rasa's own REST channel takes a message for any sender id, with any metadata, from anyone
who can reach its port, and the metadata carries the learner id whose orders the actions
touch. The hub is the only one meant to talk to Rasa, so this channel refuses a request
without the hub's token (the `X-AfterClass-Token` header; AFTERCLASS_RASA_TOKEN in Rasa's
environment, set by the hub's launcher). Rasa listens on loopback only, and its HTTP API
(the tracker, /model/parse) takes only JWTs signed with the same secret (`--jwt-secret`).

credentials.yml::

    rasa_addons.hub_channel.HubInput:
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

HEADER = "X-AfterClass-Token"


class HubInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "hub"

    def __init__(self, token: str | None = None) -> None:
        self.token = token or os.environ.get("AFTERCLASS_RASA_TOKEN", "")
        if not self.token:
            raise ValueError("AFTERCLASS_RASA_TOKEN is not set: the hub channel needs it")

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> HubInput:
        return cls((credentials or {}).get("token"))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)
        expected = self.token.encode()

        @bp.middleware("request")
        async def only_the_hub(request: Request) -> Any:
            given = (request.headers.get(HEADER) or "").encode()
            if not hmac.compare_digest(given, expected):
                return response.json({"error": "this channel answers the hub only"}, 403)
            return None

        return bp
