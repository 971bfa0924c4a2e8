"""The manager's dashboard shows the indicators and raises an alert when the queue builds up."""

import re

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_manager_sees_indicators_and_an_alert(stack, browser, shots):
    learners = []
    for i in range(12):  # twelve learners ask for a person at once; eleven stay waiting
        http = httpx.Client(base_url=stack.hub_url, timeout=30)
        token = http.post("/api/auth/learner", json={"learner_id": f"L100{i % 5 + 1}"}).json()
        http.headers["Authorization"] = f"Bearer {token['token']}"
        cid = http.post("/api/conversations").json()["conversation"]["id"]
        r = http.post(
            f"/api/conversations/{cid}/messages",
            json={"text": "转人工", "payload": "/request_human"},
        )
        assert r.json()["mode"] == "human"
        learners.append((http, cid))

    # one agent takes and resolves one of them: the agents table counts it
    staff = httpx.Client(base_url=stack.hub_url, timeout=30)
    login = staff.post("/api/auth/login", json={"username": "agent", "password": "agent"})
    staff.headers["Authorization"] = f"Bearer {login.json()['token']}"
    queued = staff.get("/api/agent/queue").json()
    mine = next(t for t in queued if t["conversation_id"] == learners[0][1])
    assert staff.post(f"/api/agent/tickets/{mine['id']}/claim").status_code == 200
    staff.post(f"/api/agent/tickets/{mine['id']}/reply", json={"text": "您好"})
    assert staff.post(f"/api/agent/tickets/{mine['id']}/resolve", json={"note": ""}).is_success

    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{stack.hub_url}/dashboard")
    page.fill("#username", "manager")
    page.fill("#password", "manager")
    page.click("#login button[type=submit]")
    waiting = page.locator('[data-indicator="queue_waiting"] .value')
    expect(waiting).not_to_have_text("—")
    assert int(waiting.inner_text()) >= 11
    expect(page.locator('[data-alert="queue_waiting"]')).to_contain_text("排队积压")
    expect(page.locator('[data-indicator="queue_waiting"]')).to_have_class("card bad")
    # a rate says what it is counted over
    expect(page.locator('[data-indicator="sla_breach_rate"] .basis')).to_contain_text("tickets")
    # times under a minute read "< 1 min" (the API's 0.1-minute rounding once showed "0 min")
    first = page.locator('[data-indicator="first_response_min_p50"] .value')
    expect(first).to_have_text(re.compile(r"^(< 1 min|[1-9][\d.]* min|[\d.]+ h)$"))
    ann = page.locator('#agents tr[data-agent="agent"] td')
    expect(ann.nth(0)).to_have_text("小安 Ann")
    assert int(ann.nth(1).inner_text()) >= 1 and int(ann.nth(2).inner_text()) >= 1
    page.select_option("#hours", "168")
    expect(page.locator('[data-indicator="conversations"] .value')).not_to_have_text("—")
    page.screenshot(path=str(shots / "dashboard.png"))
    for http, cid in learners:  # leave the shared queue as it was for the other tests
        assert http.post(f"/api/conversations/{cid}/back-to-bot").json()["mode"] == "bot"
