"""The demo course platform's tables (pf_*), kept in the hub's database beside its own.
Migrations: course_platform/migrations/."""

import sqlalchemy as sa

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # see bot/tables.py

metadata = sa.MetaData()

pf_learners = sa.Table(
    "pf_learners",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("lang", sa.Text),
)

pf_courses = sa.Table(
    "pf_courses",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name_zh", sa.Text),
    sa.Column("name_en", sa.Text),
    sa.Column("kind", sa.Text),
    sa.Column("price", sa.Float),
    sa.Column("starts_at", sa.Float),
    sa.Column("months", sa.Integer),
)

pf_orders = sa.Table(
    "pf_orders",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("learner_id", sa.Text),
    sa.Column("course_id", sa.Text),
    sa.Column("amount", sa.Float),
    sa.Column("status", sa.Text),
    sa.Column("paid_at", sa.Float),
    sa.Column("payment_method", sa.Text),
    sa.Column("access_until", sa.Float),
    sa.Column("refunded_at", sa.Float),
    sa.Index("idx_pf_orders_learner_id", "learner_id"),
)

pf_progress = sa.Table(
    "pf_progress",
    metadata,
    sa.Column("learner_id", sa.Text, primary_key=True),
    sa.Column("course_id", sa.Text, primary_key=True),
    sa.Column("progress", sa.Float),
    sa.Column("quiz_passed", sa.Integer),
    sa.Column("last_studied_at", sa.Float),
)

pf_refunds = sa.Table(
    "pf_refunds",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.Text),
    sa.Column("learner_id", sa.Text),
    sa.Column("amount", sa.Float),
    sa.Column("reason", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("requested_at", sa.Float),
    sa.Column("decided_at", sa.Float),
    sa.Index("idx_pf_refunds_learner_id", "learner_id"),
)

pf_requests = sa.Table(
    "pf_requests",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.Text),
    sa.Column("learner_id", sa.Text),
    sa.Column("payload", sa.Text),  # JSON
    sa.Column("status", sa.Text),
    sa.Column("created_at", sa.Float),
    sa.Index("idx_pf_requests_learner_id_kind", "learner_id", "kind"),
)

# what the demo platform "sent" to a learner's phone (SMS) or email: one-time codes
# (DemoPlatform.send_code). A real platform sends them; here a test reads them back.
pf_outbox = sa.Table(
    "pf_outbox",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("learner_id", sa.Text),
    sa.Column("channel", sa.Text),  # sms, email
    sa.Column("destination", sa.Text),  # the phone number or address, unmasked
    sa.Column("text", sa.Text),
    sa.Column("sent_at", sa.Float),
    sa.Index("idx_pf_outbox_learner_id", "learner_id"),
)
