"""The demo course platform's tables (pf_*) as release 0.1 made them. Creates only what is
missing, so a database made by release 0.1, which had no migrations, is taken as it is.

Revision ID: platform_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "platform_0001"
down_revision = None
branch_labels = ("demo_platform",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    m = sa.MetaData()
    sa.Table(
        "pf_learners",
        m,
        sa.Column("id", sa.Text, primary_key=True),
        *(sa.Column(c, sa.Text) for c in ("name", "email", "phone", "lang")),
    )
    sa.Table(
        "pf_courses",
        m,
        sa.Column("id", sa.Text, primary_key=True),
        *(sa.Column(c, sa.Text) for c in ("name_zh", "name_en", "kind")),
        sa.Column("price", sa.Float),
        sa.Column("starts_at", sa.Float),
        sa.Column("months", sa.Integer),
    )
    sa.Table(
        "pf_orders",
        m,
        sa.Column("id", sa.Text, primary_key=True),
        *(sa.Column(c, sa.Text) for c in ("learner_id", "course_id")),
        sa.Column("amount", sa.Float),
        sa.Column("status", sa.Text),
        sa.Column("paid_at", sa.Float),
        sa.Column("payment_method", sa.Text),
        sa.Column("access_until", sa.Float),
        sa.Column("refunded_at", sa.Float),
        sa.Index("idx_pf_orders_learner_id", "learner_id"),
    )
    sa.Table(
        "pf_progress",
        m,
        sa.Column("learner_id", sa.Text, primary_key=True),
        sa.Column("course_id", sa.Text, primary_key=True),
        sa.Column("progress", sa.Float),
        sa.Column("quiz_passed", sa.Integer),
        sa.Column("last_studied_at", sa.Float),
    )
    sa.Table(
        "pf_refunds",
        m,
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *(sa.Column(c, sa.Text) for c in ("order_id", "learner_id")),
        sa.Column("amount", sa.Float),
        sa.Column("reason", sa.Text),
        sa.Column("status", sa.Text),
        sa.Column("requested_at", sa.Float),
        sa.Column("decided_at", sa.Float),
        sa.Index("idx_pf_refunds_learner_id", "learner_id"),
    )
    sa.Table(
        "pf_requests",
        m,
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *(sa.Column(c, sa.Text) for c in ("kind", "learner_id", "payload", "status")),
        sa.Column("created_at", sa.Float),
        sa.Index("idx_pf_requests_learner_id_kind", "learner_id", "kind"),
    )
    m.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    raise NotImplementedError("the baseline is where history starts")
