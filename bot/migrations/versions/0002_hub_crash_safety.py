"""Crash safety and the reports' own column for tapped options:

- messages.client_id (unique per conversation): a learner's resend returns what was stored;
- messages.reply_to: which learner message a bot or hub message answers;
- messages.handled_at: when the hub was done with a learner message (NULL: cut short);
- messages.tapped: a tapped form option, read until now from the JSON payload in SQL
  (json_extract), which PostgreSQL spells differently;
- leases: once-only jobs across hub processes.

Messages stored before this revision count as handled, and their tapped flag is read from
their payload.

Revision ID: hub_0002
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "hub_0002"
down_revision = "hub_0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("client_id", sa.Text))
        batch.add_column(sa.Column("tapped", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("reply_to", ID))
        batch.add_column(sa.Column("handled_at", sa.Float))
    op.create_index(
        "idx_messages_client_id", "messages", ["conversation_id", "client_id"], unique=True
    )
    where = sa.text("sender = 'learner' AND handled_at IS NULL")
    op.create_index(
        "idx_messages_unhandled",
        "messages",
        ["created_at"],
        sqlite_where=where,
        postgresql_where=where,
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("holder", sa.Text),
        sa.Column("expires_at", sa.Float),
    )
    bind = op.get_bind()
    messages = sa.table(
        "messages",
        sa.column("id", ID),
        sa.column("sender", sa.Text),
        sa.column("payload", sa.Text),
        sa.column("created_at", sa.Float),
        sa.column("handled_at", sa.Float),
        sa.column("tapped", sa.Integer),
    )
    bind.execute(
        messages.update()
        .where(messages.c.sender == "learner")
        .values(handled_at=messages.c.created_at)
    )
    tapped = []
    rows = bind.execute(
        sa.select(messages.c.id, messages.c.payload).where(
            messages.c.sender == "learner", messages.c.payload.like('%"payload"%')
        )
    )
    for message_id, payload in rows:
        value = (json.loads(payload or "{}") or {}).get("payload") or ""
        if value and not str(value).startswith("/"):
            tapped.append({"mid": message_id})
    if tapped:
        bind.execute(
            messages.update().where(messages.c.id == sa.bindparam("mid")).values(tapped=1), tapped
        )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index("idx_messages_unhandled", "messages")
    op.drop_index("idx_messages_client_id", "messages")
    with op.batch_alter_table("messages") as batch:
        for name in ("handled_at", "reply_to", "tapped", "client_id"):
            batch.drop_column(name)
