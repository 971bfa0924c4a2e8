"""In-process fan-out of new messages to WebSocket subscribers, per topic.

Topics: "conv:<id>" (one conversation) and "queue" (ticket changes for agent consoles).
Events are published after the transaction that stored them commits, from whichever thread
ran it (a request's worker thread, an action call's), so `publish` hands them to the event
loop that owns the subscribers' queues. One hub process owns its sockets; the scale-out
notes in docs/architecture.md say what more than one needs.
"""

import asyncio
import contextlib
import threading
from collections import defaultdict
from typing import Any


class Broadcaster:
    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._subs: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._loop = loop
        self._loop_thread: int | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the WebSockets run on (the hub's, set at start-up)."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def subscribe(self, topic: str) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self._subs[topic].add(q)
        return q

    def unsubscribe(self, topic: str, q: asyncio.Queue) -> None:
        self._subs[topic].discard(q)
        if not self._subs[topic]:
            self._subs.pop(topic, None)

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        """Safe from any thread: asyncio queues may only be touched from their loop."""
        if self._loop is None or threading.get_ident() == self._loop_thread:
            self._deliver(topic, event)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._deliver, topic, event)

    def _deliver(self, topic: str, event: dict[str, Any]) -> None:
        for q in list(self._subs.get(topic, ())):
            # a stuck client loses live events, never the transcript
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(event)
