"""The hub's router: whose a chat is when a late Rasa answer comes (the whole path with a
slow Rasa: tests/e2e/test_two_needs_end_to_end.py)."""

import handoff
from bot import transcript
from bot.router import _taken_over
from tests import dbkit


def test_a_late_answer_that_handed_over_is_posted_and_one_overtaken_is_not(any_database):
    db = any_database
    with db.write() as conn:
        conv = transcript.create_conversation(conn, "L1003", "zh")
        asked = transcript.add_message(conn, conv.id, "learner", "还是不行")
        slow = {"event": "rasa_down", "kind": "rasa_slow"}
        transcript.add_message(conn, conv.id, "system", "回复稍后", payload=slow, reply_to=asked.id)
    # no person: the answer is the bot's, as always
    assert not db.reading(_taken_over, conv.id, asked.id)
    # QA: the turn itself (the guide's last step) opened the chat ticket, while the learner
    # only saw "the answer is coming": its handover and queue notice must still be posted
    with db.write() as conn:
        handoff.create_ticket(conn, conv.id, reason="troubleshooting_failed",
                              intent="playback_problem")
    assert not db.reading(_taken_over, conv.id, asked.id)
    # but once someone else has told the learner a person has the chat (the hub's own queue
    # notice after "talk to a person" while the turn was pending, an agent joining or
    # writing), the late answer is not posted
    for sender, payload in (
        ("system", {"event": "handoff", "ticket_id": 1}),
        ("system", {"event": "claimed", "ticket_id": 1, "agent": "agent"}),
        ("agent", {}),
    ):
        with db.write() as conn:
            said = transcript.add_message(conn, conv.id, sender, "…", payload=payload)
        assert db.reading(_taken_over, conv.id, asked.id), sender
        dbkit.delete(db, "messages", id=said.id)
    # a notice before the message is about an earlier handover, not this turn's
    with db.write() as conn:
        transcript.add_message(conn, conv.id, "system", "…", payload={"event": "handoff"})
        later = transcript.add_message(conn, conv.id, "learner", "还是不行")
    assert not db.reading(_taken_over, conv.id, later.id)
