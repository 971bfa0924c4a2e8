"""Talking to the Rasa server: the hub's channel for turns (rasa_addons/hub_channel.py), its
HTTP API for the tracker and the parse. Both want the hub's token: the channel in a header,
the API as a JWT signed with it (Rasa runs with --jwt-secret)."""

import time
from typing import Any

import httpx
import jwt

CHANNEL = "/webhooks/hub/webhook"
TOKEN_HEADER = "X-AfterClass-Token"


def api_auth(token: str, expires: float | None = None) -> dict[str, str]:
    """The Authorization header for Rasa's HTTP API: a JWT for the "admin" role (all
    conversations), signed with the hub's token."""
    exp = expires if expires is not None else time.time() + 300
    claims = {"user": {"username": "afterclass-hub", "role": "admin"}, "exp": exp}
    return {"Authorization": f"Bearer {jwt.encode(claims, token, algorithm='HS256')}"}


class RasaUnavailable(Exception):
    """Rasa did not answer in time or answered with an error."""


class RasaClient:
    def __init__(
        self, base_url: str, timeout_s: float, late_s: float | None = None, token: str = ""
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        # how long a turn the learner was told is slow may still bring its answer (Rasa goes
        # on with a message it has received; its reply must not be lost)
        self.late_s = max(timeout_s, late_s if late_s is not None else 120.0)
        self.token = token
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout_s, headers={TOKEN_HEADER: token}
        )
        self._jwt: tuple[dict[str, str], float] = ({}, 0.0)

    def _api(self) -> dict[str, str]:
        """The Authorization header for Rasa's HTTP API, renewed well before it expires."""
        value, expires = self._jwt
        if time.time() > expires - 600:
            expires = time.time() + 3600
            value = api_auth(self.token, expires)
            self._jwt = (value, expires)
        return value

    async def aclose(self) -> None:
        await self._client.aclose()

    async def turn(
        self, sender: str, text: str, metadata: dict[str, Any], wait_s: float | None = None
    ) -> list[dict]:
        """Send one learner message; return the bot's messages (text, buttons, custom).
        `wait_s`: how long to wait for the answer (connecting keeps the short timeout)."""
        timeout = (
            httpx.Timeout(wait_s, connect=self.timeout_s) if wait_s else httpx.USE_CLIENT_DEFAULT
        )
        try:
            r = await self._client.post(
                CHANNEL,
                json={"sender": sender, "message": text, "metadata": metadata},
                timeout=timeout,
            )
            r.raise_for_status()
            return list(r.json() or [])
        except (httpx.HTTPError, ValueError) as e:
            raise RasaUnavailable(f"{type(e).__name__}: {e}") from e

    async def after_turn(self, sender: str) -> dict[str, Any]:
        """What the sender's latest turn left in Rasa's tracker: `parse`, the NLU result of
        their latest message (intent, confidence, entities), and `lang`, the language the
        bot decided the conversation is in (actions/language.py), and `asking`, the form and
        slot the bot is asking for, if any (reading). Empty when unreadable."""
        try:
            r = await self._client.get(
                f"/conversations/{sender}/tracker",
                params={"include_events": "NONE"},
                headers=self._api(),
            )
            r.raise_for_status()
            tracker = r.json() or {}
        except (httpx.HTTPError, ValueError):
            return {}
        slots = tracker.get("slots") or {}
        loop = (tracker.get("active_loop") or {}).get("name")
        slot = slots.get("requested_slot")
        asking = (loop, slot) if loop and slot else None
        return {"parse": tracker.get("latest_message"), "lang": slots.get("lang"), "asking": asking}

    async def parse(self, text: str, timeout_s: float = 3.0) -> dict[str, Any]:
        """The NLU's reading of a text, without a conversation (Rasa's /model/parse)."""
        try:
            r = await self._client.post(
                "/model/parse", json={"text": text}, timeout=timeout_s, headers=self._api()
            )
            r.raise_for_status()
            return dict(r.json() or {})
        except (httpx.HTTPError, ValueError) as e:
            raise RasaUnavailable(f"{type(e).__name__}: {e}") from e

    async def ready(self) -> bool:
        try:
            r = await self._client.get("/status", timeout=2, headers=self._api())
            return r.status_code == 200 and bool(r.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False
