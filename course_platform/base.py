"""The data a support desk needs from a course platform, and the interface to get it."""

from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

CourseKind = Literal["recorded", "live", "membership"]


class Learner(BaseModel):
    id: str
    name: str
    email: str = ""
    phone: str = ""
    lang: str = "zh"


class Course(BaseModel):
    id: str
    name_zh: str
    name_en: str
    kind: CourseKind
    price: float
    starts_at: float | None = None  # live classes: first session
    months: int | None = None  # memberships: length

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


class Order(BaseModel):
    id: str
    learner_id: str
    course_id: str
    amount: float
    status: Literal["paid", "refunded", "refund_pending"]
    paid_at: float
    payment_method: str = "wechat"
    access_until: float | None = None  # None = lifetime
    refunded_at: float | None = None
    course: Course | None = None


class Progress(BaseModel):
    learner_id: str
    course_id: str
    progress: float  # 0..1 share of lessons completed
    quiz_passed: bool = False
    last_studied_at: float | None = None


class Refund(BaseModel):
    id: int
    order_id: str
    learner_id: str
    amount: float
    reason: str
    status: Literal["pending", "approved", "rejected", "paid"]
    requested_at: float
    decided_at: float | None = None


class ServiceRequest(BaseModel):
    """A back-office request the bot collected: invoice, privacy, certificate, account..."""

    id: int
    kind: str
    learner_id: str
    payload: dict[str, Any] = Field(default_factory=dict)
    status: str = "open"
    created_at: float


class CoursePlatform(Protocol):
    def learner(self, learner_id: str) -> Learner | None: ...
    def learners(self) -> list[Learner]: ...
    def course(self, course_id: str) -> Course | None: ...
    def courses(self) -> list[Course]: ...
    def orders(self, learner_id: str) -> list[Order]: ...
    def order(self, learner_id: str, order_id: str) -> Order | None: ...
    def progress(self, learner_id: str, course_id: str) -> Progress | None: ...
    def refunds(self, learner_id: str) -> list[Refund]: ...
    def create_refund(
        self, learner_id: str, order_id: str, amount: float, reason: str
    ) -> Refund: ...
    def submit_request(
        self, learner_id: str, kind: str, payload: dict[str, Any]
    ) -> ServiceRequest: ...
    def requests(self, learner_id: str, kind: str | None = None) -> list[ServiceRequest]: ...
    def send_code(self, learner_id: str, code: str, purpose: str, lang: str) -> str | None:
        """Deliver a one-time code to the account's phone (a text message), else its email,
        in the learner's language; `purpose` says what it confirms ("privacy_delete").
        Returns where it went, masked ("138****1001", "l***@example.com"), or None when the
        account has no phone and no email."""
        ...
    # a learner's rights: everything the platform holds about them, and its erasure (what
    # the law makes the platform keep stays, naming the learner by `pseudonym`)
    def export_learner(self, learner_id: str) -> dict[str, Any]: ...
    def erase_learner(self, learner_id: str, pseudonym: str) -> dict[str, Any]: ...
