"""The course-platform interface: the demo store and the HTTP adapter agree."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.settings import ROOT
from course_platform import load_platform
from course_platform.demo_store import DemoPlatform, seed_if_empty
from course_platform.http_adapter import HttpPlatform, PlatformError
from course_platform.reference_api import build_router


@pytest.fixture
def demo(database) -> DemoPlatform:
    """The demo store (on PostgreSQL too, under the API suite's engine matrix)."""
    database.writing(seed_if_empty, ROOT / "data" / "platform" / "demo.yml")
    return DemoPlatform(database)


@pytest.fixture
def over_http(demo) -> HttpPlatform:
    app = FastAPI()
    app.include_router(build_router(demo))
    return HttpPlatform("http://platform.test", client=TestClient(app))


def test_demo_store_has_the_scenarios(demo):
    assert {le.id for le in demo.learners()} >= {"L1001", "L1002", "L1003", "L1004", "L1005"}
    orders = demo.orders("L1001")
    assert orders[0].paid_at >= orders[-1].paid_at  # newest first
    assert demo.order("L1001", "ac10010001").course.name_en == "Python for Beginners"
    assert demo.order("L1002", "AC10010001") is None  # not theirs
    assert demo.order("L1001", "AC10010004").access_until is not None  # membership
    assert demo.progress("L1002", "c-pm301").quiz_passed


@pytest.mark.parametrize("platform", ["demo", "over_http"])
def test_both_implementations_behave_the_same(platform, request):
    p = request.getfixturevalue(platform)
    assert p.learner("L1002").name == "Emma Li" and p.learner("nobody") is None
    assert [o.id for o in p.orders("L1002")] == [
        o.id for o in request.getfixturevalue("demo").orders("L1002")
    ]
    assert p.course("live-ai01").kind == "live"
    refund = p.create_refund("L1002", "AC10020003", 59, "bought by mistake")
    assert refund.status == "pending" and p.refunds("L1002")[0].id == refund.id
    req = p.submit_request("L1002", "invoice", {"order_id": "AC10020003"})
    assert p.requests("L1002", "invoice")[0].id == req.id
    assert p.progress("L1005", "c-py101") is None


def test_http_errors_are_reported(over_http):
    with pytest.raises(PlatformError):
        over_http.create_refund("L1002", "AC99999999", 1, "x")
    down = HttpPlatform("http://127.0.0.1:9", timeout_s=0.5)
    with pytest.raises(PlatformError):
        down.learner("L1001")


def test_platform_is_chosen_by_setting(demo):
    assert isinstance(load_platform("demo", demo.db), DemoPlatform)
    http = load_platform("http", None, {"base_url": "http://x.test", "token": "t"})
    assert isinstance(http, HttpPlatform)
    custom = load_platform("course_platform.demo_store:DemoPlatform", None, {"db": demo.db})
    assert isinstance(custom, DemoPlatform)
    with pytest.raises(ValueError):
        load_platform("nonsense", None)


def test_ids_stay_inside_their_url_segment():
    """An id is data: "../admin" or "a/b?x" must not reach another path of the platform."""
    import httpx

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(404)

    platform = HttpPlatform("http://platform.test", client=httpx.Client(
        base_url="http://platform.test", transport=httpx.MockTransport(handler)
    ))
    assert platform.learner("../admin") is None
    assert platform.order("L1", "a/b?x=1") is None
    assert platform.learner("..") is None
    assert seen == [
        "/learners/..%2Fadmin",
        "/learners/L1/orders/a%2Fb%3Fx%3D1",
        "/learners/%2E%2E",
    ]
