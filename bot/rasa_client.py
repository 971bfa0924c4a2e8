"""Talking to the Rasa server: its REST channel for turns, its HTTP API for the parse."""

from typing import Any

import httpx


class RasaUnavailable(Exception):
    """Rasa did not answer in time or answered with an error."""


class RasaClient:
    def __init__(self, base_url: str, timeout_s: float, late_s: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        # how long a turn the learner was told is slow may still bring its answer (Rasa goes
        # on with a message it has received; its reply must not be lost)
        self.late_s = max(timeout_s, late_s if late_s is not None else 120.0)
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)

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
                "/webhooks/rest/webhook",
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
                f"/conversations/{sender}/tracker", params={"include_events": "NONE"}
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
            r = await self._client.post("/model/parse", json={"text": text}, timeout=timeout_s)
            r.raise_for_status()
            return dict(r.json() or {})
        except (httpx.HTTPError, ValueError) as e:
            raise RasaUnavailable(f"{type(e).__name__}: {e}") from e

    async def ready(self) -> bool:
        try:
            r = await self._client.get("/status", timeout=2)
            return r.status_code == 200 and bool(r.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False
