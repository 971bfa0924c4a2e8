"""Tickets and their events as release 0.1 made them. Creates only what is missing, so a
database made by release 0.1, which had no migrations, is taken as it is.

Revision ID: handoff_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "handoff_0001"
down_revision = None
branch_labels = ("handoff",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    m = sa.MetaData()
    text = ("conversation_id", "status", "channel", "reason", "intent", "category", "order_id")
    sa.Table(
        "tickets",
        m,
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *(sa.Column(c, sa.Text) for c in text),
        sa.Column("priority", sa.Text),
        sa.Column("priority_rank", sa.Integer),
        sa.Column("team", sa.Text),
        sa.Column("summary", sa.Text),
        sa.Column("created_at", sa.Float),
        sa.Column("sla_due_at", sa.Float),
        sa.Column("queue_due_at", sa.Float),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claimed_at", sa.Float),
        sa.Column("first_response_at", sa.Float),
        sa.Column("first_response_by", sa.Text),
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
    sa.Table(
        "ticket_events",
        m,
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", ID),
        sa.Column("kind", sa.Text),
        sa.Column("actor", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("at", sa.Float),
        sa.Index("idx_ticket_events_ticket_id", "ticket_id"),
    )
    m.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    raise NotImplementedError("the baseline is where history starts")
