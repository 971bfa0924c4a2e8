"""Personal data (issue #24): the audit log, one-time identity codes, privacy requests as a
workflow, and conversations marked when their transcript is anonymised (an erasure, or the
retention purge, which looks conversations up by their last message).

Revision ID: hub_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "hub_0003"
down_revision = "hub_0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("anonymised_at", sa.Float))
    op.create_index("idx_conversations_last_message_at", "conversations", ["last_message_at"])
    op.create_table(
        "audit_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("actor", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("learner_id", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("address", sa.Text),
    )
    op.create_index("idx_audit_events_at", "audit_events", ["at"])
    op.create_index("idx_audit_events_learner_id", "audit_events", ["learner_id"])
    op.create_table(
        "identity_checks",
        sa.Column("learner_id", sa.Text, primary_key=True),
        sa.Column("code_hash", sa.Text),
        sa.Column("purpose", sa.Text),
        sa.Column("sent_at", sa.Float),
        sa.Column("expires_at", sa.Float),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.Float),
    )
    op.create_table(
        "privacy_requests",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("learner_id", sa.Text),
        sa.Column("kind", sa.Text),
        sa.Column("status", sa.Text),
        sa.Column("conversation_id", sa.Text),
        sa.Column("ticket_id", ID),
        sa.Column("verified_by", sa.Text),
        sa.Column("created_at", sa.Float),
        sa.Column("due_at", sa.Float),
        sa.Column("done_at", sa.Float),
        sa.Column("done_by", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("export_file", sa.Text),
        sa.Column("download_token_hash", sa.Text),
        sa.Column("download_expires_at", sa.Float),
        sa.Column("delivered_at", sa.Float),
    )
    op.create_index("idx_privacy_requests_learner_id", "privacy_requests", ["learner_id"])
    op.create_index(
        "idx_privacy_requests_status_due_at", "privacy_requests", ["status", "due_at"]
    )


def downgrade() -> None:
    op.drop_table("privacy_requests")
    op.drop_table("identity_checks")
    op.drop_table("audit_events")
    op.drop_index("idx_conversations_last_message_at", "conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("anonymised_at")
