"""The course-platform HTTP API that HttpPlatform expects, served from any CoursePlatform.

It is the executable specification for integrators (and what the adapter is tested
against); `afterclass reference-platform` serves the demo store on port 8100.
"""

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from course_platform.base import (
    Course,
    CoursePlatform,
    Learner,
    Order,
    Progress,
    Refund,
    ServiceRequest,
)


class RefundIn(BaseModel):
    order_id: str
    amount: float
    reason: str = ""


class RequestIn(BaseModel):
    kind: str
    payload: dict[str, Any] = {}


class EraseIn(BaseModel):
    pseudonym: str


class CodeIn(BaseModel):
    code: str
    purpose: str = ""
    lang: str = "zh"


class CodeSent(BaseModel):
    sent_to: str | None  # where it went, masked; null: the account has no phone or email


def _found(value: Any, what: str) -> Any:
    if value is None:
        raise HTTPException(404, f"{what} not found")
    return value


def build_router(platform: CoursePlatform) -> APIRouter:
    r = APIRouter()

    @r.get("/learners", response_model=list[Learner])
    def learners() -> list[Learner]:
        return platform.learners()

    @r.get("/learners/{lid}", response_model=Learner)
    def learner(lid: str) -> Learner:
        return _found(platform.learner(lid), f"learner {lid}")

    @r.get("/courses", response_model=list[Course])
    def courses() -> list[Course]:
        return platform.courses()

    @r.get("/courses/{cid}", response_model=Course)
    def course(cid: str) -> Course:
        return _found(platform.course(cid), f"course {cid}")

    @r.get("/learners/{lid}/orders", response_model=list[Order])
    def orders(lid: str) -> list[Order]:
        return platform.orders(lid)

    @r.get("/learners/{lid}/orders/{oid}", response_model=Order)
    def order(lid: str, oid: str) -> Order:
        return _found(platform.order(lid, oid), f"order {oid}")

    @r.get("/learners/{lid}/progress/{cid}", response_model=Progress)
    def progress(lid: str, cid: str) -> Progress:
        return _found(platform.progress(lid, cid), f"progress in {cid}")

    @r.get("/learners/{lid}/refunds", response_model=list[Refund])
    def refunds(lid: str) -> list[Refund]:
        return platform.refunds(lid)

    @r.post("/learners/{lid}/refunds", response_model=Refund)
    def create_refund(lid: str, body: RefundIn) -> Refund:
        _found(platform.order(lid, body.order_id), f"order {body.order_id}")
        return platform.create_refund(lid, body.order_id, body.amount, body.reason)

    @r.get("/learners/{lid}/requests", response_model=list[ServiceRequest])
    def requests(lid: str, kind: str | None = None) -> list[ServiceRequest]:
        return platform.requests(lid, kind)

    @r.post("/learners/{lid}/requests", response_model=ServiceRequest)
    def submit(lid: str, body: RequestIn) -> ServiceRequest:
        return platform.submit_request(lid, body.kind, body.payload)

    @r.post("/learners/{lid}/codes", response_model=CodeSent)
    def send_code(lid: str, body: CodeIn) -> CodeSent:
        """Deliver a one-time code to the learner's phone, else their email."""
        _found(platform.learner(lid), f"learner {lid}")
        return CodeSent(sent_to=platform.send_code(lid, body.code, body.purpose, body.lang))

    @r.get("/learners/{lid}/export")
    def export(lid: str) -> dict[str, Any]:
        return platform.export_learner(lid)

    @r.post("/learners/{lid}/erase")
    def erase(lid: str, body: EraseIn) -> dict[str, Any]:
        return platform.erase_learner(lid, body.pseudonym)

    return r
