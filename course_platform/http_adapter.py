"""A course platform reached over HTTP: the adapter a deployment points at its own API.

Select it with AFTERCLASS_PLATFORM=http and
AFTERCLASS_PLATFORM_OPTIONS='{"base_url": "https://platform.example/api", "token": "…"}'.
The platform implements these JSON endpoints (bodies are the models in course_platform/base.py;
course_platform/reference_api.py serves them from the demo store and is the executable spec):

    GET  /learners                                   -> [Learner]
    GET  /learners/{id}                              -> Learner            (404 if unknown)
    GET  /courses                                    -> [Course]
    GET  /courses/{id}                               -> Course             (404 if unknown)
    GET  /learners/{id}/orders                       -> [Order]            (newest first)
    GET  /learners/{id}/orders/{order_id}            -> Order              (404 if not theirs)
    GET  /learners/{id}/progress/{course_id}         -> Progress           (404 if none)
    GET  /learners/{id}/refunds                      -> [Refund]
    POST /learners/{id}/refunds  {order_id, amount, reason}  -> Refund
    GET  /learners/{id}/requests?kind=               -> [ServiceRequest]
    POST /learners/{id}/requests {kind, payload}     -> ServiceRequest
    POST /learners/{id}/codes    {code, purpose, lang}  -> {"sent_to": "138****1001" | null}
    GET  /learners/{id}/export                       -> {...}  everything held about them
    POST /learners/{id}/erase    {pseudonym}         -> {...}  what was deleted and kept
"""

from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from course_platform.base import Course, Learner, Order, Progress, Refund, ServiceRequest

M = TypeVar("M", bound=BaseModel)


class PlatformError(RuntimeError):
    """The platform API failed or answered something we cannot read."""


def q(value: str) -> str:
    """One path segment: an id with "/", "?" or "#" in it, or an id that is "..", stays
    inside its own segment (an id is data, never a path)."""
    segment = quote(str(value), safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


class HttpPlatform:
    def __init__(
        self,
        base_url: str,
        token: str = "",
        timeout_s: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = client or httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout_s, headers=headers
        )

    def _get(self, path: str, model: type[M], params: dict | None = None) -> M | None:
        r = self._request("GET", path, params=params)
        return None if r is None else model.model_validate(r)

    def _list(self, path: str, model: type[M], params: dict | None = None) -> list[M]:
        return [model.model_validate(x) for x in self._request("GET", path, params=params) or []]

    def _post(self, path: str, model: type[M], body: dict[str, Any]) -> M:
        r = self._request("POST", path, json=body)
        if r is None:
            raise PlatformError(f"POST {path} answered 404")
        return model.model_validate(r)

    def _request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise PlatformError(f"{method} {path}: {e}") from e
        if r.status_code == 404:
            return None
        if r.status_code >= 400:
            raise PlatformError(f"{method} {path}: HTTP {r.status_code} {r.text[:200]}")
        return r.json()

    def learner(self, learner_id: str) -> Learner | None:
        return self._get(f"/learners/{q(learner_id)}", Learner)

    def learners(self) -> list[Learner]:
        return self._list("/learners", Learner)

    def course(self, course_id: str) -> Course | None:
        return self._get(f"/courses/{q(course_id)}", Course)

    def courses(self) -> list[Course]:
        return self._list("/courses", Course)

    def orders(self, learner_id: str) -> list[Order]:
        return self._list(f"/learners/{q(learner_id)}/orders", Order)

    def order(self, learner_id: str, order_id: str) -> Order | None:
        return self._get(f"/learners/{q(learner_id)}/orders/{q(order_id)}", Order)

    def progress(self, learner_id: str, course_id: str) -> Progress | None:
        return self._get(f"/learners/{q(learner_id)}/progress/{q(course_id)}", Progress)

    def refunds(self, learner_id: str) -> list[Refund]:
        return self._list(f"/learners/{q(learner_id)}/refunds", Refund)

    def create_refund(self, learner_id: str, order_id: str, amount: float, reason: str) -> Refund:
        return self._post(
            f"/learners/{q(learner_id)}/refunds",
            Refund,
            {"order_id": order_id, "amount": amount, "reason": reason},
        )

    def submit_request(self, learner_id: str, kind: str, payload: dict[str, Any]) -> ServiceRequest:
        body = {"kind": kind, "payload": payload}
        return self._post(f"/learners/{q(learner_id)}/requests", ServiceRequest, body)

    def requests(self, learner_id: str, kind: str | None = None) -> list[ServiceRequest]:
        return self._list(
            f"/learners/{q(learner_id)}/requests",
            ServiceRequest,
            params={"kind": kind} if kind else None,
        )

    def send_code(self, learner_id: str, code: str, purpose: str, lang: str) -> str | None:
        body = {"code": code, "purpose": purpose, "lang": lang}
        answer = self._request("POST", f"/learners/{q(learner_id)}/codes", json=body)
        if answer is None:  # an unknown learner has nowhere to send it
            return None
        if not isinstance(answer, dict) or "sent_to" not in answer:
            raise PlatformError(f"POST /learners/…/codes answered {str(answer)[:200]}")
        sent_to = answer["sent_to"]
        return str(sent_to) if sent_to else None

    def export_learner(self, learner_id: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/learners/{q(learner_id)}/export") or {})

    def erase_learner(self, learner_id: str, pseudonym: str) -> dict[str, Any]:
        body = {"pseudonym": pseudonym}
        return dict(self._request("POST", f"/learners/{q(learner_id)}/erase", json=body) or {})
