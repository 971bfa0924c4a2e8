"""Request and response bodies shared by the routers."""

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, Field

from bot.transcript import Conversation, Message
from kb_index.entries import EntryIn

# A row id or version as SQLite stores it (a signed 64-bit integer): a larger number is
# refused with a 422 instead of reaching SQLite ("Python int too large to convert to SQLite
# INTEGER", a 500 found by schemathesis).
SQLITE_MAX = 2**63 - 1
RowId = Annotated[int, Field(ge=0, le=SQLITE_MAX)]
TicketId = Annotated[int, Path(ge=1, le=SQLITE_MAX)]
After = Annotated[int, Query(ge=0, le=SQLITE_MAX)]


class LearnerLogin(BaseModel):
    # the course app's signed token for the learner (bot/learner_tokens.py)...
    token: str | None = Field(default=None, min_length=1, max_length=4096)
    # ...or, in demo mode only, a demo learner's id
    learner_id: str | None = Field(default=None, min_length=1, max_length=64)


class StaffLogin(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    token: str
    kind: str
    id: str
    display_name: str = ""
    roles: list[str] = []
    teams: list[str] = []
    locale: str | None = None  # a learner's language, as the course app said
    expires_at: float | None = None


class NewConversation(BaseModel):
    lang: str | None = Field(default=None, pattern="^(zh|en)$")


class ConversationOut(BaseModel):
    conversation: Conversation
    mode: str
    ticket: dict[str, Any] | None = None
    max_message_chars: int  # the chat box's counter warns before the hub refuses


class SendMessage(BaseModel):
    # Length is checked by the route against the configured limit, for a precise message.
    text: str
    # what a button sends to the bot instead of its title: "/intent{...}" or a plain value
    payload: str | None = Field(default=None, min_length=1, max_length=500)
    # the sender's own id for this message (the chat page makes one per message): sending it
    # again returns what was stored and answered, and never runs a second turn
    client_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"
    )


class SendResult(BaseModel):
    message: Message
    replies: list[Message]
    mode: str


class MessagesOut(BaseModel):
    messages: list[Message]
    mode: str


class CsatIn(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1000)
    # the ticket the star row belongs to; without it, the latest resolved one (older pages)
    ticket_id: RowId | None = None


class AgentReply(BaseModel):
    text: str


class TransferIn(BaseModel):
    team: str
    note: str = Field(default="", max_length=500)


class ReleaseIn(BaseModel):
    note: str = Field(default="", max_length=500)


class ReassignIn(BaseModel):
    agent: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=500)


class ResolveIn(BaseModel):
    note: str = Field(default="", max_length=2000)


class Ok(BaseModel):
    ok: bool = True


class EditIn(EntryIn):
    note: str = Field(default="", max_length=500)
    # the version the editor loaded (or an If-Match header): a stale one gets 409
    base_version: RowId | None = None
    # a new entry written for these unanswered questions (resolved when it is published)
    gap_ids: list[RowId] = Field(default_factory=list, max_length=500)
    # stage: keep a live entry's edit unpublished (learners keep the live text)
    stage: bool = False
    # the staged changes the form was loaded from, if any (a stale one gets 409)
    staged_revision: RowId | None = None


class VersionIn(BaseModel):
    base_version: RowId | None = None


class StagedIn(BaseModel):
    staged_revision: RowId


class TryIn(BaseModel):
    query: str = Field(min_length=1, max_length=1000)
    lang: str | None = Field(default=None, pattern="^(zh|en)$")
    # the editor's form: search as if it were live (a throwaway index; the live one is untouched)
    preview: EntryIn | None = None


class RollbackIn(VersionIn):
    version: int = Field(ge=1, le=SQLITE_MAX)


class DraftFromGaps(BaseModel):
    gap_ids: list[RowId] = Field(min_length=1, max_length=500)
    lang: str = Field(pattern="^(zh|en)$")
    question: str = Field(min_length=2, max_length=500)
    alt_questions: list[str] = Field(default_factory=list, max_length=50)
    id: str | None = None  # the editor's choice; else derived from the question


class GapIds(BaseModel):
    gap_ids: list[RowId] = Field(min_length=1, max_length=500)


class AgentDraft(BaseModel):
    question: str = Field(min_length=2, max_length=500)
    answer: str = Field(min_length=1, max_length=20_000)
    lang: str | None = Field(default=None, pattern="^(zh|en)$")


class FeedbackIn(BaseModel):
    entry_id: str = Field(min_length=1, max_length=200)
    message_id: RowId
    helpful: bool


class NewStaff(BaseModel):
    username: str = Field(min_length=2, max_length=32)
    display_name: str = Field(default="", max_length=64)
    roles: list[str] = Field(min_length=1, max_length=4)
    teams: list[str] = Field(default_factory=list, max_length=10)
    password: str = Field(min_length=1, max_length=256)


class StaffChange(BaseModel):
    display_name: str | None = Field(default=None, max_length=64)
    roles: list[str] | None = Field(default=None, min_length=1, max_length=4)
    teams: list[str] | None = Field(default=None, max_length=10)
    active: bool | None = None


class PasswordIn(BaseModel):
    password: str = Field(min_length=1, max_length=256)
