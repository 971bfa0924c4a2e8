"""Human handoff: tickets, priority, routing to teams, SLA clocks in business hours, CSAT.

A library: callers pass a connection (SQLAlchemy, one unit of work: the caller's transaction,
which the library never commits); it never calls Rasa and never imports the hub.
"""

from handoff.errors import AlreadyRated, Conflict, Forbidden, NotFound, TicketError
from handoff.routing import TEAMS, names_a_team, route, team_name
from handoff.severity import Severity, assess_complaint
from handoff.sla import BusinessHours
from handoff.tickets import (
    FOLLOW_UP_REASONS,
    PRIORITIES,
    Ticket,
    cancel,
    claim,
    create_ticket,
    get_ticket,
    handover_notes,
    human_mode,
    leave_chat,
    open_ticket,
    queue,
    rate,
    reassign,
    record_agent_reply,
    release,
    resolve,
    settle,
    tickets_for,
    transfer,
)

__all__ = [
    "AlreadyRated",
    "FOLLOW_UP_REASONS",
    "PRIORITIES",
    "TEAMS",
    "BusinessHours",
    "Severity",
    "assess_complaint",
    "Conflict",
    "Forbidden",
    "NotFound",
    "Ticket",
    "TicketError",
    "cancel",
    "claim",
    "create_ticket",
    "get_ticket",
    "handover_notes",
    "human_mode",
    "leave_chat",
    "names_a_team",
    "open_ticket",
    "queue",
    "rate",
    "reassign",
    "record_agent_reply",
    "release",
    "resolve",
    "settle",
    "tickets_for",
    "route",
    "team_name",
    "transfer",
]
