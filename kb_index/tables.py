"""The knowledge base's tables: entries, their versions, staged edits, unanswered questions
(gaps) and learners' feedback. Migrations: kb_index/migrations/."""

import sqlalchemy as sa

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # see bot/tables.py

metadata = sa.MetaData()

kb_entries = sa.Table(
    "kb_entries",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("lang", sa.Text),
    sa.Column("question", sa.Text),
    sa.Column("alt_questions", sa.Text),  # JSON list
    sa.Column("answer", sa.Text),
    sa.Column("category", sa.Text),
    sa.Column("tags", sa.Text),  # JSON list
    sa.Column("status", sa.Text),
    sa.Column("translation", sa.Text),
    sa.Column("version", sa.Integer),
    sa.Column("updated_at", sa.Float),
    sa.Column("updated_by", sa.Text),
    sa.Index("idx_kb_entries_lang_status", "lang", "status"),
)

kb_versions = sa.Table(
    "kb_versions",
    metadata,
    sa.Column("entry_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("data", sa.Text),
    sa.Column("author", sa.Text),
    sa.Column("created_at", sa.Float),
    sa.Column("note", sa.Text),
)

# edits to a live entry saved without going live (one row an entry)
kb_staged = sa.Table(
    "kb_staged",
    metadata,
    sa.Column("entry_id", sa.Text, primary_key=True),
    sa.Column("data", sa.Text),
    # an opaque token, new on every stage: an editor's stale view is refused
    sa.Column("revision", sa.BigInteger),
    sa.Column("base_version", sa.Integer),  # the live version the changes were made on
    sa.Column("author", sa.Text),
    sa.Column("created_at", sa.Float),
)

kb_gaps = sa.Table(
    "kb_gaps",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.Text),
    sa.Column("query", sa.Text),
    sa.Column("lang", sa.Text),
    sa.Column("kind", sa.Text),
    sa.Column("hits", sa.Text),  # JSON
    sa.Column("created_at", sa.Float),
    sa.Column("resolved_entry", sa.Text),  # the published entry that now answers it
    sa.Column("draft_entry", sa.Text),  # an entry being written for it (resolves when published)
    sa.Column("dismissed_by", sa.Text),  # "not a KB question": hidden, kept for the record
    sa.Column("dismissed_at", sa.Float),
    sa.Index("idx_kb_gaps_created_at", "created_at"),
)

kb_feedback = sa.Table(
    "kb_feedback",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("entry_id", sa.Text),
    sa.Column("conversation_id", sa.Text),
    sa.Column("message_id", ID),
    sa.Column("helpful", sa.Integer),
    sa.Column("created_at", sa.Float),
    sa.Index("idx_kb_feedback_entry_id", "entry_id"),
    sa.Index(
        "idx_kb_feedback_conversation_id_message_id", "conversation_id", "message_id", unique=True
    ),
)
