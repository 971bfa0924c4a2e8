"""The knowledge base's tables as release 0.1 made them. Creates only what is missing, so a
database made by release 0.1, which had no migrations, is taken as it is.

Revision ID: kb_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "kb_0001"
down_revision = None
branch_labels = ("kb",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    m = sa.MetaData()
    sa.Table(
        "kb_entries",
        m,
        sa.Column("id", sa.Text, primary_key=True),
        *(sa.Column(c, sa.Text) for c in ("lang", "question", "alt_questions", "answer")),
        *(sa.Column(c, sa.Text) for c in ("category", "tags", "status", "translation")),
        sa.Column("version", sa.Integer),
        sa.Column("updated_at", sa.Float),
        sa.Column("updated_by", sa.Text),
        sa.Index("idx_kb_entries_lang_status", "lang", "status"),
    )
    sa.Table(
        "kb_versions",
        m,
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("data", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("created_at", sa.Float),
        sa.Column("note", sa.Text),
    )
    sa.Table(
        "kb_staged",
        m,
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("data", sa.Text),
        sa.Column("revision", sa.BigInteger),  # microseconds: past 32 bits
        sa.Column("base_version", sa.Integer),
        sa.Column("author", sa.Text),
        sa.Column("created_at", sa.Float),
    )
    sa.Table(
        "kb_gaps",
        m,
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *(sa.Column(c, sa.Text) for c in ("conversation_id", "query", "lang", "kind", "hits")),
        sa.Column("created_at", sa.Float),
        sa.Column("resolved_entry", sa.Text),
        sa.Column("draft_entry", sa.Text),
        sa.Column("dismissed_by", sa.Text),
        sa.Column("dismissed_at", sa.Float),
        sa.Index("idx_kb_gaps_created_at", "created_at"),
    )
    sa.Table(
        "kb_feedback",
        m,
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.Text),
        sa.Column("conversation_id", sa.Text),
        sa.Column("message_id", ID),
        sa.Column("helpful", sa.Integer),
        sa.Column("created_at", sa.Float),
        sa.Index("idx_kb_feedback_entry_id", "entry_id"),
        sa.Index(
            "idx_kb_feedback_conversation_id_message_id",
            "conversation_id",
            "message_id",
            unique=True,
        ),
    )
    m.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    raise NotImplementedError("the baseline is where history starts")
