"""The demo platform's outbox (pf_outbox): the text messages and emails it "sends", such as
one-time identity codes (DemoPlatform.send_code).

Revision ID: platform_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "platform_0002"
down_revision = "platform_0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pf_outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *(sa.Column(c, sa.Text) for c in ("learner_id", "channel", "destination", "text")),
        sa.Column("sent_at", sa.Float),
    )
    op.create_index("idx_pf_outbox_learner_id", "pf_outbox", ["learner_id"])


def downgrade() -> None:
    op.drop_table("pf_outbox")
