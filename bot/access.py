"""Who among the staff may read what: least privilege over transcripts and tickets.

A learner reads their own conversations. Managers (and admins) read everything. An agent
reads the tickets of their own teams and the tickets they handled themselves (claimed,
answered, passed on or resolved: their name is on the ticket's events), and the
transcripts of the conversations those tickets belong to. A content editor reads no
transcript: the unanswered-questions view gives them the questions' text, not the chats.
An agent with no team reads only what they handled.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

import handoff
from bot.auth import Principal
from bot.transcript import Conversation
from handoff.tables import ticket_events as E
from handoff.tables import tickets as T


def sees_everything(who: Principal) -> bool:
    return who.kind == "staff" and who.has("manager")


def may_read_ticket(conn: Connection, who: Principal, ticket: handoff.Ticket) -> bool:
    if sees_everything(who):
        return True
    if who.kind != "staff" or not who.has("agent"):
        return False
    if ticket.team in who.teams or ticket.claimed_by == who.id:
        return True
    handled = sa.select(E.c.id).where(E.c.ticket_id == ticket.id, E.c.actor == who.id).limit(1)
    return conn.scalar(handled) is not None


def may_read_conversation(conn: Connection, who: Principal, conv: Conversation) -> bool:
    if who.kind == "learner":
        return conv.learner_id == who.id
    if sees_everything(who):
        return True
    if who.kind != "staff" or not who.has("agent"):
        return False
    mine = sa.or_(
        T.c.team.in_(who.teams or ["-"]),
        T.c.claimed_by == who.id,
        T.c.id.in_(sa.select(E.c.ticket_id).where(E.c.actor == who.id)),
    )
    found = sa.select(T.c.id).where(T.c.conversation_id == conv.id, mine).limit(1)
    return conn.scalar(found) is not None
