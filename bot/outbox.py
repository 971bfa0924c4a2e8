"""Writing to a conversation: every bot, agent and system message goes into the transcript,
then out to the conversation's WebSockets; a mode change goes out to the agent consoles too.

The router and the ticket operations both speak into conversations; this is the one way
they do it, so nothing reaches a learner's screen that is not in the transcript."""

from typing import Any

import sqlite_utils

import handoff
from bot import transcript
from bot.broadcast import Broadcaster
from bot.transcript import Message


def mode_of(db: sqlite_utils.Database, conversation_id: str) -> str:
    """"human" while the conversation has an open chat ticket, else "bot": derived from the
    tickets, never stored, so there is no second flag to drift out of sync."""
    return "human" if handoff.human_mode(db, conversation_id) else "bot"


class Outbox:
    def __init__(self, db: sqlite_utils.Database, broadcaster: Broadcaster) -> None:
        self.db = db
        self.broadcaster = broadcaster

    def post(
        self, conversation_id: str, sender: transcript.Sender, text: str, **fields: Any
    ) -> Message:
        msg = transcript.add_message(self.db, conversation_id, sender, text, **fields)
        self.broadcaster.publish(
            f"conv:{conversation_id}", {"type": "message", "message": msg.model_dump()}
        )
        return msg

    def announce_mode(self, conversation_id: str) -> None:
        mode = mode_of(self.db, conversation_id)
        self.broadcaster.publish(f"conv:{conversation_id}", {"type": "mode", "mode": mode})
        self.broadcaster.publish("queue", {"type": "queue", "conversation_id": conversation_id})

    def lang(self, conversation_id: str) -> str:
        conv = transcript.get_conversation(self.db, conversation_id)
        return conv.lang if conv else "zh"
