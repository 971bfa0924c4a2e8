"""Ticket errors, each with the HTTP status the hub maps it to."""


class TicketError(Exception):
    status = 400


class NotFound(TicketError):
    status = 404


class Conflict(TicketError):
    """The ticket is not in a state that allows this (claimed by someone else, closed)."""

    status = 409


class AlreadyRated(Conflict):
    """The ticket has its rating; a learner rates a ticket once."""


class Forbidden(TicketError):
    """The agent does not own the ticket, or is not in its team."""

    status = 403
