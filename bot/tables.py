"""The hub's own tables: conversations and their transcript, staff and tokens, the refund
log, alert history, leases for once-only jobs, and the personal-data records (audit log,
identity codes, privacy requests). Migrations: bot/migrations/versions/."""

import sqlalchemy as sa

# 64-bit ids on PostgreSQL (the API accepts ids up to 2**63 - 1); on SQLite an INTEGER
# PRIMARY KEY is the rowid, which is 64-bit already and the only auto-increment there is
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("learner_id", sa.Text),
    sa.Column("lang", sa.Text),
    sa.Column("created_at", sa.Float),
    sa.Column("last_message_at", sa.Float),
    # the form question the bot's last turn left open, "form/slot" (reading); stored, not
    # held in the hub's memory, so a restart does not forget it
    sa.Column("asking", sa.Text),
    # when its transcript was anonymised (an erasure, or retention after it closed): the
    # rows stay for the reports, without the words or the learner
    sa.Column("anonymised_at", sa.Float),
    sa.Index("idx_conversations_learner_id", "learner_id"),
    sa.Index("idx_conversations_last_message_at", "last_message_at"),
)

messages = sa.Table(
    "messages",
    metadata,
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
    # the form slot a learner message answered (set by actions/form_guard.py): its intent is
    # then no need of the learner's ("北京某某科技有限公司", an invoice title, read as a
    # complaint), and the manager's reports skip it
    sa.Column("answers", sa.Text),
    # the learner's own id for the message: a resend with it returns the stored message and
    # its replies instead of running a second turn
    sa.Column("client_id", sa.Text),
    # 1 for a learner message that was a tapped (or typed) form option, a plain value: an
    # answer to a question, never a need of its own in the reports
    sa.Column("tapped", sa.Integer, nullable=False, server_default="0"),
    # for the bot's and the hub's messages: the learner message they answer
    sa.Column("reply_to", ID),
    # for learner messages: when the hub was done with it (replies stored, a notice given,
    # or handed to the agent who has the chat); NULL = a turn in flight, or cut short by a
    # crash (bot/recovery.py)
    sa.Column("handled_at", sa.Float),
    sa.Index("idx_messages_conversation_id_id", "conversation_id", "id"),
    # the alert watcher's surge check counts the last hour's messages every few seconds
    sa.Index("idx_messages_created_at", "created_at"),
    sa.Index("idx_messages_client_id", "conversation_id", "client_id", unique=True),
    sa.Index(
        "idx_messages_unhandled",
        "created_at",
        sqlite_where=sa.text("sender = 'learner' AND handled_at IS NULL"),
        postgresql_where=sa.text("sender = 'learner' AND handled_at IS NULL"),
    ),
)

staff = sa.Table(
    "staff",
    metadata,
    sa.Column("username", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text),
    sa.Column("password_hash", sa.Text),
    sa.Column("roles", sa.Text),
    sa.Column("teams", sa.Text),
    sa.Column("active", sa.Integer),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text),
    sa.Column("subject", sa.Text),
    sa.Column("expires_at", sa.Float),
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("indicator", sa.Text),
    sa.Column("state", sa.Text),
    sa.Column("value", sa.Float),
    sa.Column("threshold", sa.Float),
    sa.Column("label", sa.Text),
    sa.Column("at", sa.Float),
)

refund_requests = sa.Table(
    "refund_requests",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float),
    sa.Column("conversation_id", sa.Text),
    sa.Column("learner_id", sa.Text),
    sa.Column("order_id", sa.Text),
    sa.Column("order_amount", sa.Float),
    sa.Column("amount", sa.Float),  # approved amount (offered, when withdrawn); 0 when refused
    sa.Column("reason", sa.Text),  # what the learner gave: a button label or typed text
    sa.Column("outcome", sa.Text),  # APPROVED, WITHDRAWN, NO_ORDER or the policy's refusal code
    sa.Column("refund_id", sa.Text),  # the platform's id of an approved refund
    sa.Index("idx_refund_requests_at", "at"),
)

# once-only work when several hub processes share the database (the alert watcher, the
# recovery sweep): whoever holds the unexpired lease does it
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("holder", sa.Text),
    sa.Column("expires_at", sa.Float),
)

# who read or changed what (bot/audit.py): staff reads of transcripts and learners' personal
# data, privacy actions, staff and role changes, KB publishes
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("actor", sa.Text),  # a staff username, "cli", "retention" or "learner:<id>"
    sa.Column("action", sa.Text, nullable=False),  # "transcript.read", "privacy.erase", ...
    sa.Column("subject", sa.Text),  # what was read or changed: "ticket:12", "staff:li"
    # the learner the record is about, if any: their export includes it, their erasure
    # replaces it with a pseudonym
    sa.Column("learner_id", sa.Text),
    sa.Column("detail", sa.Text),  # JSON
    sa.Column("address", sa.Text),  # the client's address, for calls over HTTP
    sa.Index("idx_audit_events_at", "at"),
    sa.Index("idx_audit_events_learner_id", "learner_id"),
)

# one-time codes that prove a signed-in learner holds the account (bot/identity.py): only
# the hash is kept, and wrong tries are counted per learner across every flow
identity_checks = sa.Table(
    "identity_checks",
    metadata,
    sa.Column("learner_id", sa.Text, primary_key=True),
    sa.Column("code_hash", sa.Text),
    sa.Column("purpose", sa.Text),
    sa.Column("sent_at", sa.Float),
    sa.Column("expires_at", sa.Float),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", sa.Float),
)

# a learner's request for a copy or the erasure of their data, and what became of it
# (bot/privacy_requests.py); kept after an erasure, with the learner's id pseudonymised
privacy_requests = sa.Table(
    "privacy_requests",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("learner_id", sa.Text),
    sa.Column("kind", sa.Text),  # export, delete
    sa.Column("status", sa.Text),  # open, done, refused
    sa.Column("conversation_id", sa.Text),
    sa.Column("ticket_id", ID),
    sa.Column("verified_by", sa.Text),  # how the learner proved it was them: "session+code"
    sa.Column("created_at", sa.Float),
    sa.Column("due_at", sa.Float),  # the legal deadline: 15 working days
    sa.Column("done_at", sa.Float),
    sa.Column("done_by", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("export_file", sa.Text),  # under var/exports/, removed when the link expires
    sa.Column("download_token_hash", sa.Text),
    sa.Column("download_expires_at", sa.Float),
    sa.Column("delivered_at", sa.Float),  # the learner downloaded their copy
    sa.Index("idx_privacy_requests_learner_id", "learner_id"),
    sa.Index("idx_privacy_requests_status_due_at", "status", "due_at"),
)
