"""Learner messages the hub never finished with: it died between storing a message and
storing what answered it. Each is answered with a notice (the message was not handled:
send it again, or talk to a person), so no acknowledged message is left without an answer
or a notice. The turn is not run again: Rasa may have taken the message already, and a
second run could file a second refund.

At start-up the hub sweeps what earlier runs left (`before` = the moment it started).
Several hub processes share the database, so a sweep while others run only takes messages
older than any turn still in flight can be (`STALE_AFTER_S`), in whichever process holds the
recovery lease (bot/leases.py).
"""

import logging

from sqlalchemy.engine import Connection

import handoff
from bot import transcript
from bot.outbox import Outbox
from reading import HUMAN_PAYLOAD
from replies import t

log = logging.getLogger(__name__)

# a learner message not handled after this long is no turn in flight: a turn ends within
# the Rasa timeout (a slow one is handled by its "the answer is coming" notice), and one
# waits behind its conversation's earlier turn at most a few timeouts
STALE_AFTER_S = 180.0


def sweep(conn: Connection, outbox: Outbox, before: float) -> int:
    """Give every learner message stored before `before` and never handled its notice;
    returns how many were noticed."""
    noticed = 0
    for msg in transcript.unhandled(conn, before):
        if handoff.human_mode(conn, msg.conversation_id):  # the agent sees it
            transcript.mark_handled(conn, msg.id)
            continue
        lang = msg.lang or outbox.lang(conn, msg.conversation_id)
        button = {"title": t("human_button", lang), "payload": HUMAN_PAYLOAD}
        outbox.post(
            conn,
            msg.conversation_id,
            "system",
            t("turn_lost", lang, text=msg.text[:60]),
            lang=lang,
            payload={"event": "rasa_down", "kind": "turn_lost", "buttons": [button]},
            reply_to=msg.id,
        )
        transcript.mark_handled(conn, msg.id)
        noticed += 1
    if noticed:
        log.warning("recovery: %d learner message(s) cut short were given a notice", noticed)
    return noticed
