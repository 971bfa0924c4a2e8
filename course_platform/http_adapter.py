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
"""

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from course_platform.base import Course, Learner, Order, Progress, Refund, ServiceRequest

M = TypeVar("M", bound=BaseModel)


class PlatformError(RuntimeError):
    """The platform API failed or answered something we cannot read."""


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
        return self._get(f"/learners/{learner_id}", Learner)

    def learners(self) -> list[Learner]:
        return self._list("/learners", Learner)

    def course(self, course_id: str) -> Course | None:
        return self._get(f"/courses/{course_id}", Course)

    def courses(self) -> list[Course]:
        return self._list("/courses", Course)

    def orders(self, learner_id: str) -> list[Order]:
        return self._list(f"/learners/{learner_id}/orders", Order)

    def order(self, learner_id: str, order_id: str) -> Order | None:
        return self._get(f"/learners/{learner_id}/orders/{order_id}", Order)

    def progress(self, learner_id: str, course_id: str) -> Progress | None:
        return self._get(f"/learners/{learner_id}/progress/{course_id}", Progress)

    def refunds(self, learner_id: str) -> list[Refund]:
        return self._list(f"/learners/{learner_id}/refunds", Refund)

    def create_refund(self, learner_id: str, order_id: str, amount: float, reason: str) -> Refund:
        return self._post(
            f"/learners/{learner_id}/refunds",
            Refund,
            {"order_id": order_id, "amount": amount, "reason": reason},
        )

    def submit_request(self, learner_id: str, kind: str, payload: dict[str, Any]) -> ServiceRequest:
        return self._post(
            f"/learners/{learner_id}/requests", ServiceRequest, {"kind": kind, "payload": payload}
        )

    def requests(self, learner_id: str, kind: str | None = None) -> list[ServiceRequest]:
        return self._list(
            f"/learners/{learner_id}/requests",
            ServiceRequest,
            params={"kind": kind} if kind else None,
        )
