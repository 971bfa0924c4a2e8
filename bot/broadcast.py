"""In-process fan-out of new messages to WebSocket subscribers, per topic.

Topics: "conv:<id>" (one conversation) and "queue" (ticket changes for agent consoles).
One hub process owns all sockets; see the README's scale notes for more than one.
"""

import asyncio
import contextlib
from collections import defaultdict
from typing import Any


class Broadcaster:
    def __init__(self) -> None:
        self._subs: dict[str, set[asyncio.Queue]] = defaultdict(set)

    def subscribe(self, topic: str) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self._subs[topic].add(q)
        return q

    def unsubscribe(self, topic: str, q: asyncio.Queue) -> None:
        self._subs[topic].discard(q)
        if not self._subs[topic]:
            self._subs.pop(topic, None)

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        for q in list(self._subs.get(topic, ())):
            # a stuck client loses live events, never the transcript
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(event)
