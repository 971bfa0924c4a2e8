"""The handoff library's tables: tickets and their events. Migrations: handoff/migrations/."""

import sqlalchemy as sa

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # see bot/tables.py

metadata = sa.MetaData()

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("channel", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("intent", sa.Text),
    sa.Column("category", sa.Text),
    sa.Column("order_id", sa.Text),
    sa.Column("priority", sa.Text),
    sa.Column("priority_rank", sa.Integer),
    sa.Column("team", sa.Text),
    sa.Column("summary", sa.Text),
    sa.Column("created_at", sa.Float),
    sa.Column("sla_due_at", sa.Float),
    sa.Column("queue_due_at", sa.Float),  # the current queue's deadline (tickets.py docstring)
    sa.Column("claimed_by", sa.Text),
    sa.Column("claimed_at", sa.Float),
    sa.Column("first_response_at", sa.Float),
    sa.Column("first_response_by", sa.Text),  # who answered first: a transfer keeps the credit
    sa.Column("resolved_at", sa.Float),
    sa.Column("resolution_note", sa.Text),
    sa.Column("csat", sa.Integer),
    sa.Column("csat_comment", sa.Text),
    sa.Column("csat_at", sa.Float),
    sa.Index("idx_tickets_conversation_id_status", "conversation_id", "status"),
    sa.Index(
        "idx_tickets_status_priority_rank_sla_due_at", "status", "priority_rank", "sla_due_at"
    ),
)

ticket_events = sa.Table(
    "ticket_events",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", ID),
    sa.Column("kind", sa.Text),
    sa.Column("actor", sa.Text),
    sa.Column("detail", sa.Text),
    sa.Column("at", sa.Float),
    sa.Index("idx_ticket_events_ticket_id", "ticket_id"),
)
