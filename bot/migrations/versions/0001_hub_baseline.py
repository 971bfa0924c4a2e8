"""The hub's tables as release 0.1 made them (conversations, messages, staff, tokens, the
refund log, alert history). Creates only the tables that are missing, so a database made by
release 0.1, which had no migrations, is taken as it is.

Revision ID: hub_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "hub_0001"
down_revision = None
branch_labels = ("hub",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    m = sa.MetaData()
    sa.Table(
        "conversations",
        m,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("learner_id", sa.Text),
        sa.Column("lang", sa.Text),
        sa.Column("created_at", sa.Float),
        sa.Column("last_message_at", sa.Float),
        sa.Column("asking", sa.Text),
        sa.Index("idx_conversations_learner_id", "learner_id"),
    )
    sa.Table(
        "messages",
        m,
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.Text, sa.ForeignKey("conversations.id")),
        sa.Column("sender", sa.Text),
        sa.Column("text", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("lang", sa.Text),
        sa.Column("intent", sa.Text),
        sa.Column("confidence", sa.Float),
        sa.Column("payload", sa.Text),
        sa.Column("created_at", sa.Float),
        sa.Column("answers", sa.Text),
        sa.Index("idx_messages_conversation_id_id", "conversation_id", "id"),
        sa.Index("idx_messages_created_at", "created_at"),
    )
    sa.Table(
        "staff",
        m,
        sa.Column("username", sa.Text, primary_key=True),
        sa.Column("display_name", sa.Text),
        sa.Column("password_hash", sa.Text),
        sa.Column("roles", sa.Text),
        sa.Column("teams", sa.Text),
        sa.Column("active", sa.Integer),
    )
    sa.Table(
        "tokens",
        m,
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text),
        sa.Column("subject", sa.Text),
        sa.Column("expires_at", sa.Float),
    )
    sa.Table(
        "alert_events",
        m,
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("indicator", sa.Text),
        sa.Column("state", sa.Text),
        sa.Column("value", sa.Float),
        sa.Column("threshold", sa.Float),
        sa.Column("label", sa.Text),
        sa.Column("at", sa.Float),
    )
    sa.Table(
        "refund_requests",
        m,
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float),
        sa.Column("conversation_id", sa.Text),
        sa.Column("learner_id", sa.Text),
        sa.Column("order_id", sa.Text),
        sa.Column("order_amount", sa.Float),
        sa.Column("amount", sa.Float),
        sa.Column("reason", sa.Text),
        sa.Column("outcome", sa.Text),
        sa.Column("refund_id", sa.Text),
        sa.Index("idx_refund_requests_at", "at"),
    )
    m.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    raise NotImplementedError("the baseline is where history starts")
