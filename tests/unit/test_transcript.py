"""The transcript on both engines: what the bot offered, the open question, resends by the
learner's own message id, and what a crash leaves unhandled."""

import time

import pytest
from sqlalchemy.exc import IntegrityError

from bot import recovery, transcript
from bot.broadcast import Broadcaster
from bot.outbox import Outbox


def test_only_the_latest_bot_offer_counts(any_database):
    with any_database.write() as conn:
        conv = transcript.create_conversation(conn, "L1")
        payload = {"buttons": [{"title": "A"}]}
        transcript.add_message(conn, conv.id, "bot", "Which one?", payload=payload)
        transcript.add_message(conn, conv.id, "bot", "(a second bubble, no buttons)")
        assert transcript.offered_buttons(conn, conv.id) == [{"title": "A"}]
        transcript.add_message(conn, conv.id, "learner", "something else")
        assert transcript.offered_buttons(conn, conv.id) == []


def test_the_open_question_is_stored_with_the_conversation(any_database):
    """Stored in the hub's database, so a hub restart still knows what the bot asked."""
    with any_database.write() as conn:
        conv = transcript.create_conversation(conn, "L1")
        assert transcript.asking(conn, conv.id) is None
        transcript.set_asking(conn, conv.id, ("refund_form", "refund_reason"))
    with any_database.read() as conn:  # another connection, as a restarted hub's
        assert transcript.asking(conn, conv.id) == ("refund_form", "refund_reason")
    with any_database.write() as conn:
        transcript.set_asking(conn, conv.id, None)  # the form ended
        assert transcript.asking(conn, conv.id) is None
        assert transcript.asking(conn, "c_unknown") is None


def test_a_client_id_names_one_message_per_conversation(any_database):
    with any_database.write() as conn:
        conv = transcript.create_conversation(conn, "L1")
        msg = transcript.add_message(conn, conv.id, "learner", "hi", client_id="m-1")
        transcript.add_message(conn, conv.id, "bot", "Hello!", reply_to=msg.id)
        other = transcript.create_conversation(conn, "L1")
        transcript.add_message(conn, other.id, "learner", "hi", client_id="m-1")  # its own
    with any_database.read() as conn:
        found = transcript.by_client_id(conn, conv.id, "m-1")
        assert found.id == msg.id
        assert [m.text for m in transcript.replies_to(conn, found)] == ["Hello!"]
    with pytest.raises(IntegrityError), any_database.write() as conn:
        transcript.add_message(conn, conv.id, "learner", "hi", client_id="m-1")


def test_tapped_options_are_marked_for_the_reports(any_database):
    with any_database.write() as conn:
        conv = transcript.create_conversation(conn, "L1")
        tapped = transcript.add_message(
            conn, conv.id, "learner", "买错了", payload={"payload": "买错了"}
        )
        intent = transcript.add_message(
            conn, conv.id, "learner", "Talk to a person", payload={"payload": "/request_human"}
        )
        typed = transcript.add_message(conn, conv.id, "learner", "我要退款")
    from tests import dbkit

    marks = {r["id"]: r["tapped"] for r in dbkit.rows(any_database, "messages")}
    assert (marks[tapped.id], marks[intent.id], marks[typed.id]) == (1, 0, 0)


def test_a_message_left_unhandled_gets_a_notice_once(any_database):
    outbox = Outbox(Broadcaster())
    with any_database.write() as conn:
        conv = transcript.create_conversation(conn, "L1", "en")
        cut = transcript.add_message(conn, conv.id, "learner", "where is my refund?", lang="en")
        done = transcript.add_message(conn, conv.id, "learner", "thanks", lang="en")
        transcript.mark_handled(conn, done.id)
    later = time.time() + 1
    assert any_database.writing(recovery.sweep, outbox, later) == 1
    assert any_database.writing(recovery.sweep, outbox, later) == 0  # once
    with any_database.read() as conn:
        (notice,) = transcript.replies_to(conn, cut)
        assert notice.sender == "system" and "where is my refund?" in notice.text
        assert notice.payload["kind"] == "turn_lost"
        assert transcript.unhandled(conn, later) == []
