"""Whether a learner has the chat open: the agent console shows it beside the transcript."""

from bot.broadcast import Broadcaster


class Presence:
    """Counts the learner's open chat pages (WebSockets) per conversation, in this process."""

    def __init__(self, broadcaster: Broadcaster) -> None:
        self.broadcaster = broadcaster
        self._pages: dict[str, int] = {}

    def online(self, conversation_id: str) -> bool:
        """Whether the learner has the chat open (a page holds its WebSocket)."""
        return self._pages.get(conversation_id, 0) > 0

    def page(self, conversation_id: str, opened: bool) -> None:
        """A learner's chat page connected or went away; the agent console hears when the
        learner's first page opens or the last one closes."""
        before = self.online(conversation_id)
        n = self._pages.get(conversation_id, 0) + (1 if opened else -1)
        if n > 0:
            self._pages[conversation_id] = n
        else:
            self._pages.pop(conversation_id, None)
        if self.online(conversation_id) != before:
            self.broadcaster.publish(
                f"conv:{conversation_id}",
                {"type": "presence", "learner_online": self.online(conversation_id)},
            )
