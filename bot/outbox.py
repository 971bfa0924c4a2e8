"""Writing to a conversation: every bot, agent and system message goes into the transcript,
then out to the conversation's WebSockets once its transaction commits; a mode change goes
out to the agent consoles too.

The router and the ticket operations both speak into conversations; this is the one way
they do it, so nothing reaches a learner's screen that is not in the transcript."""

from typing import Any

from sqlalchemy.engine import Connection

import handoff
from bot import transcript
from bot.broadcast import Broadcaster
from bot.db import after_commit
from bot.transcript import Message


def mode_of(conn: Connection, conversation_id: str) -> str:
    """ "human" while the conversation has an open chat ticket, else "bot": derived from the
    tickets, never stored, so there is no second flag to drift out of sync."""
    return "human" if handoff.human_mode(conn, conversation_id) else "bot"


class Outbox:
    def __init__(self, broadcaster: Broadcaster) -> None:
        self.broadcaster = broadcaster

    def post(
        self,
        conn: Connection,
        conversation_id: str,
        sender: transcript.Sender,
        text: str,
        **fields: Any,
    ) -> Message:
        msg = transcript.add_message(conn, conversation_id, sender, text, **fields)
        event = {"type": "message", "message": msg.model_dump()}
        after_commit(conn, lambda: self.broadcaster.publish(f"conv:{conversation_id}", event))
        return msg

    def post_replies(
        self, conn: Connection, conversation_id: str, replies: list[dict[str, Any]], **fields: Any
    ) -> list[Message]:
        """A turn's bot replies, stored in one statement, then pushed in order."""
        out = transcript.add_replies(conn, conversation_id, replies, **fields)
        for msg in out:
            event = {"type": "message", "message": msg.model_dump()}
            after_commit(
                conn, lambda e=event: self.broadcaster.publish(f"conv:{conversation_id}", e)
            )
        return out

    def announce_mode(self, conn: Connection, conversation_id: str) -> None:
        mode = mode_of(conn, conversation_id)

        def tell() -> None:
            self.broadcaster.publish(f"conv:{conversation_id}", {"type": "mode", "mode": mode})
            self.broadcaster.publish("queue", {"type": "queue", "conversation_id": conversation_id})

        after_commit(conn, tell)

    def tell_queue(self, conn: Connection, event: dict[str, Any]) -> None:
        after_commit(conn, lambda: self.broadcaster.publish("queue", event))

    @staticmethod
    def lang(conn: Connection, conversation_id: str) -> str:
        conv = transcript.get_conversation(conn, conversation_id)
        return conv.lang if conv else "zh"
