"""What people do with tickets, and what the learner is told: an agent claims, replies,
transfers, releases or resolves; a manager reassigns; the learner goes back to the
assistant or rates the help they got.

Each operation is a `handoff` state change plus a system message in the conversation (in the
learner's language) and a mode announcement for the consoles, all in the caller's unit of
work: a state change that loses a race (handoff.Conflict, a 409) writes no message."""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

import handoff
from bot.outbox import Outbox
from bot.transcript import Conversation, Message
from handoff.tables import tickets as T
from replies import t


class TicketOps:
    def __init__(self, outbox: Outbox, hours: handoff.BusinessHours) -> None:
        self.outbox = outbox
        self.hours = hours

    # ---- the agent side -----------------------------------------------------------
    def claim(
        self,
        conn: Connection,
        ticket_id: int,
        agent: str,
        agent_name: str,
        teams: list[str] | None = None,
    ) -> handoff.Ticket:
        """`teams`: the teams whose tickets the agent may take (None: any, for managers)."""
        ticket = handoff.claim(conn, ticket_id, agent, teams=teams)
        self._joined(conn, ticket, agent, agent_name)
        return ticket

    def _joined(
        self, conn: Connection, ticket: handoff.Ticket, agent: str, agent_name: str
    ) -> None:
        lang = self.outbox.lang(conn, ticket.conversation_id)
        self.outbox.post(
            conn,
            ticket.conversation_id,
            "system",
            t("claimed", lang, agent=agent_name),
            lang=lang,
            payload={"event": "claimed", "ticket_id": ticket.id, "agent": agent},
        )
        self.outbox.announce_mode(conn, ticket.conversation_id)  # a claimed case is now a chat

    def reply(
        self, conn: Connection, ticket_id: int, agent: str, agent_name: str, text: str
    ) -> Message:
        was = handoff.get_ticket(conn, ticket_id)
        ticket = handoff.record_agent_reply(conn, ticket_id, agent)
        msg = self.outbox.post(
            conn,
            ticket.conversation_id,
            "agent",
            text,
            author=agent,
            payload={"agent_name": agent_name, "ticket_id": ticket.id},
        )
        if was.channel != ticket.channel:  # a case answered in the chat: now human mode
            self.outbox.announce_mode(conn, ticket.conversation_id)
        return msg

    def transfer(
        self,
        conn: Connection,
        ticket_id: int,
        agent: str,
        team: str,
        note: str = "",
        override: bool = False,
    ) -> handoff.Ticket:
        ticket = handoff.transfer(
            conn, ticket_id, agent, team, note, override=override, hours=self.hours
        )
        self._notice(conn, ticket, "transferred", team=team)
        return ticket

    def release(
        self, conn: Connection, ticket_id: int, agent: str, note: str = "", override: bool = False
    ) -> handoff.Ticket:
        """Back to the same team's queue; the learner stays in human mode and is told."""
        ticket = handoff.release(conn, ticket_id, agent, note, override=override, hours=self.hours)
        self._notice(conn, ticket, "released", team=ticket.team)
        return ticket

    def _notice(self, conn: Connection, ticket: handoff.Ticket, event: str, team: str) -> None:
        lang = self.outbox.lang(conn, ticket.conversation_id)
        self.outbox.post(
            conn,
            ticket.conversation_id,
            "system",
            t(event, lang, team=handoff.team_name(team, lang)),
            lang=lang,
            payload={"event": event, "ticket_id": ticket.id, "team": team},
        )
        self.outbox.announce_mode(conn, ticket.conversation_id)

    def reassign(
        self,
        conn: Connection,
        ticket_id: int,
        manager: str,
        to_agent: str,
        to_name: str,
        note: str = "",
        to_teams: list[str] | None = None,
    ) -> handoff.Ticket:
        """`to_teams`: the new owner's teams (None: a manager, any team)."""
        ticket = handoff.reassign(conn, ticket_id, manager, to_agent, note, to_teams=to_teams)
        self._joined(conn, ticket, to_agent, to_name)
        return ticket

    def resolve(
        self, conn: Connection, ticket_id: int, agent: str, agent_name: str, note: str = ""
    ) -> handoff.Ticket:
        ticket = handoff.resolve(conn, ticket_id, agent, note)
        lang = self.outbox.lang(conn, ticket.conversation_id)
        self.outbox.post(
            conn,
            ticket.conversation_id,
            "system",
            t("resolved", lang, agent=agent_name),
            lang=lang,
            payload={
                "event": "resolved",
                "ticket_id": ticket.id,
                "csat": {"ticket_id": ticket.id, "scale": [1, 2, 3, 4, 5]},
            },
        )
        self.outbox.announce_mode(conn, ticket.conversation_id)
        return ticket

    # ---- the learner side -----------------------------------------------------------
    def back_to_bot(self, conn: Connection, conv: Conversation) -> Message | None:
        """The learner goes back to the assistant, also while an agent holds the chat: a
        learner must never be stuck waiting on a person. Only the wish to talk is withdrawn:
        a ticket that is a team's work (a refused refund's review, a complaint) stays open as
        a case and the learner is told who still has it (handoff.leave_chat); any other is
        cancelled. The notice (in the learner's language) names the agent it was with, so
        the console can tell them."""
        if handoff.human_mode(conn, conv.id) is None:
            return None
        # the ticket as leaving changed it, so the agent named is the one who held it then
        ticket = handoff.leave_chat(conn, conv.id)
        if ticket is None:  # it closed meanwhile (resolved, cancelled): nothing to withdraw
            return None
        kept = ticket.is_open
        text = (
            t(
                "left_case",
                conv.lang,
                team=handoff.team_name(ticket.team, conv.lang),
                ticket=ticket.id,
            )
            if kept
            else t("cancelled", conv.lang)
        )
        msg = self.outbox.post(
            conn,
            conv.id,
            "system",
            text,
            lang=conv.lang,
            payload={
                "event": "left_chat" if kept else "cancelled",
                "ticket_id": ticket.id,
                "agent": ticket.claimed_by,
            },
        )
        self.outbox.announce_mode(conn, conv.id)
        return msg

    def rate(
        self,
        conn: Connection,
        conv: Conversation,
        score: int,
        comment: str = "",
        ticket_id: int | None = None,
    ) -> handoff.Ticket:
        """Rate the ticket the star row belongs to (or, for an older page that sends no id,
        the latest resolved one), once."""
        query = sa.select(T.c.id).where(T.c.conversation_id == conv.id, T.c.status == "resolved")
        if ticket_id is not None:
            query = query.where(T.c.id == ticket_id)
        found = conn.scalar(query.order_by(T.c.resolved_at.desc()).limit(1))
        if found is None:
            raise handoff.NotFound(
                "this conversation has no such resolved ticket to rate · 没有可评价的已解决工单"
            )
        ticket = handoff.rate(conn, found, score, comment)
        self.outbox.post(
            conn,
            conv.id,
            "system",
            t("thanks_rating", conv.lang),
            lang=conv.lang,
            payload={"event": "csat", "ticket_id": ticket.id, "score": score},
        )
        return ticket
