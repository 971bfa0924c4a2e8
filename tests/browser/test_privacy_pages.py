"""The personal-data workflow in Chromium: the privacy team's requests in the agent console
(export, erase, refuse), the learner's download in their chat, and the admin's audit log.

A request is seeded the way the bot's privacy flow leaves it (a case for the privacy team
and the request beside it, bot/privacy_requests.py): the flow itself needs a one-time code
sent to the learner's phone. The learners here are made for these tests (L19xx) so that an
erasure leaves the demo learners the other tests use as they were."""

import json
import re
import time

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

import handoff
from bot import audit, privacy_requests, transcript
from bot.tables import privacy_requests as requests_table
from course_platform.tables import pf_learners
from tests.browser.screenshots import for_docs
from tests.browser.test_handoff_pages import sign_in
from tests.e2e.test_end_to_end import Learner, agent_client

pytestmark = pytest.mark.browser
DAY = 86400


def a_learner(stack, learner_id: str, name: str, lang: str = "zh") -> None:
    """A learner on the demo platform, for these tests alone."""
    with stack.db.write() as conn:
        if conn.scalar(sa.select(pf_learners.c.id).where(pf_learners.c.id == learner_id)) is None:
            conn.execute(
                sa.insert(pf_learners).values(
                    id=learner_id,
                    name=name,
                    email=f"{learner_id.lower()}@example.com",
                    phone="13500001900",
                    lang=lang,
                )
            )


def a_request(stack, learner_id: str, kind: str, conversation_id: str | None, due_at=None):
    """A verified request with its case for the privacy team, as the bot's flow files them."""
    with stack.db.write() as conn:
        ticket = None
        if conversation_id:
            ticket = handoff.create_ticket(
                conn,
                conversation_id,
                reason=f"privacy_{kind}",
                intent="privacy_request",
                team="compliance",
                channel="case",
                summary=f"Privacy request: {kind} data of learner {learner_id}",
            )
        found = privacy_requests.open_request(
            conn,
            learner_id=learner_id,
            kind=kind,
            conversation_id=conversation_id,
            ticket_id=ticket.id if ticket else None,
            verified_by="session+code",
        )
        if due_at is not None:
            conn.execute(
                sa.update(requests_table)
                .where(requests_table.c.id == found["id"])
                .values(due_at=due_at)
            )
    return found, ticket


def open_chat(browser, url: str, learner_id: str):
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{url}/chat?learner={learner_id}&new=1")
    expect(page.locator("body[data-conversation]")).to_have_count(1)  # the page is ready
    return page, page.locator("body").get_attribute("data-conversation")


def test_the_privacy_team_exports_and_the_learner_downloads(stack, browser, tmp_path):
    url = stack.hub_url
    a_learner(stack, "L1901", "隐私 导出")
    a_learner(stack, "L1902", "隐私 删除")
    learner, conversation = open_chat(browser, url, "L1901")
    exporting, ticket = a_request(stack, "L1901", "export", conversation)
    # another learner's erasure, past its deadline
    late, _ = a_request(
        stack, "L1902", "delete", Learner(url, "L1902").cid, due_at=time.time() - 2 * DAY - 60
    )

    agent = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800}).new_page()
    sign_in(agent, url, "agent")  # the demo agent is in the privacy team
    agent.click("#view-privacy")
    expect(agent.locator("#privacy")).to_be_visible()
    expect(agent.locator("#console")).to_be_hidden()
    item = agent.locator(f'.privacy-item[data-request="{exporting["id"]}"]')
    expect(item).to_contain_text("L1901")
    expect(item).to_contain_text("Data export · 导出数据")
    # 15 working days: three weeks away, counted down in days
    expect(item.locator(".pill.due")).to_have_text(re.compile(r"^due in 2[01] d · 2[01] 天内办结$"))
    expect(item.locator(".pill.due")).not_to_have_class(re.compile(r"\bbreached\b"))
    # the late one says so, in red, and comes first (nearest deadline first)
    overdue = agent.locator(f'.privacy-item[data-request="{late["id"]}"]')
    expect(overdue).to_have_class(re.compile(r"\boverdue\b"))
    expect(overdue.locator(".pill.due")).to_have_text("overdue 2 d · 已逾期 2 天")
    expect(overdue.locator(".pill.due")).to_have_class(re.compile(r"\bbreached\b"))
    expect(agent.locator(".privacy-item").first).to_have_attribute("data-request", str(late["id"]))
    expect(agent.locator("#privacy-count")).to_have_class(re.compile(r"\bbreached\b"))

    # the request: its legal deadline as a date, its actions, and its ticket
    item.click()
    facts = agent.locator(f'table.privacy-facts[data-request="{exporting["id"]}"]')
    due = time.strftime("%Y-%m-%d", time.localtime(exporting["due_at"]))
    expect(facts).to_contain_text(due)
    expect(facts).to_contain_text("session+code")
    expect(agent.locator("#privacy-export")).to_be_visible()
    expect(agent.locator("#privacy-refuse")).to_be_visible()
    expect(agent.locator("#privacy-erase")).to_have_count(0)  # an export is not erased
    for_docs(agent, "agent-privacy")
    agent.click("#privacy-ticket")
    expect(agent.locator("#console")).to_be_visible()
    expect(agent.locator("#ticket-title")).to_contain_text(f"#{ticket.id}")
    expect(agent.locator('#ticket-info [data-info="reason"]')).to_contain_text("隐私：导出数据")
    expect(agent.locator("#ticket-info")).not_to_contain_text("null")
    # and from the ticket back to its request
    agent.click("#ticket-privacy")
    expect(agent.locator("#privacy")).to_be_visible()
    expect(agent.locator("#privacy-title")).to_contain_text(f"#{exporting['id']}")

    agent.click("#privacy-export")
    expect(agent.locator('[data-delivery="waiting"]')).to_have_text(
        "Not downloaded yet · 学员尚未下载"
    )
    expect(agent.locator("#privacy-export")).to_have_count(0)
    expect(item).to_have_count(0)  # no longer open
    (row,) = [
        r
        for r in agent_client(url).get("/api/agent/privacy-requests?status=done").json()["requests"]
        if r["id"] == exporting["id"]
    ]
    assert row["exported"] and row["ticket_id"] == ticket.id

    # the learner's chat has the button at once; it fetches the file with their sign-in
    button = learner.locator('.msg.system [data-download="ready"]')
    expect(button).to_have_text("⬇ 下载我的数据")
    expect(learner.locator(".msg.system").last).to_contain_text("数据副本已生成")
    with learner.expect_download() as got:
        button.click()
    download = got.value
    assert download.suggested_filename == "afterclass-data.json"
    saved = tmp_path / "afterclass-data.json"
    download.save_as(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["learner_id"] == "L1901"
    assert conversation in [c["id"] for c in data["conversations"]]
    # a plain link would not work (the file needs the learner's sign-in): none is left behind
    assert learner.locator('a[href*="privacy-exports"]').count() == 0
    assert httpx.get(f"{url}/api/learner/privacy-exports/x").status_code == 401
    # the console learns of the delivery
    expect(agent.locator('[data-delivery="delivered"]')).to_contain_text("学员已下载")

    # once the link has expired the button says so instead of failing
    with stack.db.write() as conn:
        conn.execute(
            sa.update(requests_table)
            .where(requests_table.c.id == exporting["id"])
            .values(download_expires_at=time.time() - 1)
        )
    with learner.expect_response(lambda r: "privacy-exports" in r.url) as answer:
        button.click()
    assert answer.value.status == 410, (answer.value.status, answer.value.text())
    expect(learner.locator('.msg.system [data-download="expired"]')).to_contain_text("已过期")
    expect(learner.locator('[data-download="ready"]')).to_have_count(0)

    # when the conversation is anonymised (the retention period), its messages are muted
    # placeholders, not empty bubbles
    with stack.db.write() as conn:
        transcript.anonymise(conn, [conversation], "L1901")
    learner.goto(f"{url}/chat?learner=L1901")
    expect(learner.locator("body[data-conversation]")).to_have_count(1)
    assert learner.locator("body").get_attribute("data-conversation") == conversation
    erased = learner.locator(".msg.erased")
    expect(erased.first).to_have_text("内容已删除")
    texts = learner.locator(".msg").evaluate_all("ns => ns.map((n) => n.textContent.trim())")
    assert texts and all(texts), texts
    learner.context.close()

    # the late erasure: the learner's id must be typed again before the button works
    overdue = agent.locator(f'.privacy-item[data-request="{late["id"]}"]')
    overdue.click()
    agent.click("#privacy-erase")
    expect(agent.locator("#erase-dialog")).to_be_visible()
    expect(agent.locator("#erase-learner")).to_have_text("L1902")
    go = agent.locator("#erase-go")
    expect(go).to_be_disabled()
    agent.fill("#erase-confirm", "L190")
    expect(go).to_be_disabled()
    agent.fill("#erase-confirm", "L1902")
    expect(go).to_be_enabled()
    # the hub checks it too: a wrong id forced through is refused, nothing is erased
    agent.fill("#erase-confirm", "L1903")
    agent.eval_on_selector("#erase-go", "b => { b.disabled = false; }")
    go.click()
    expect(agent.locator("#erase-error")).to_contain_text("type the learner's id exactly")
    expect(agent.locator("#erase-dialog")).to_be_visible()
    with stack.db.read() as conn:
        assert privacy_requests.get(conn, late["id"])["status"] == "open"
    agent.fill("#erase-confirm", "L1902")
    go.click()
    expect(agent.locator("#erase-dialog")).to_be_hidden()
    expect(agent.locator(f'table.privacy-facts[data-request="{late["id"]}"]')).to_contain_text(
        "Done · 已办结"
    )
    expect(agent.locator("#privacy-message")).to_contain_text("已删除该学员数据")
    with stack.db.read() as conn:
        assert conn.scalar(sa.select(pf_learners.c.id).where(pf_learners.c.id == "L1902")) is None
        assert privacy_requests.get(conn, late["id"])["learner_id"].startswith("erased-")
    agent.context.close()


def test_a_request_is_refused_with_a_note_the_learner_reads(stack, browser):
    url = stack.hub_url
    a_learner(stack, "L1903", "隐私 拒绝")
    learner, conversation = open_chat(browser, url, "L1903")
    found, _ = a_request(stack, "L1903", "delete", conversation)
    agent = browser.new_context(locale="en-US").new_page()
    sign_in(agent, url, "manager")  # a manager may carry out requests too
    agent.click("#view-privacy")
    agent.locator(f'.privacy-item[data-request="{found["id"]}"]').click()
    agent.click("#privacy-refuse")
    expect(agent.locator("#refuse-dialog")).to_be_visible()
    agent.fill("#refuse-note", "该账号不是申请人本人的。")
    agent.click("#refuse-go")
    expect(agent.locator("#refuse-dialog")).to_be_hidden()
    expect(agent.locator(f'table.privacy-facts[data-request="{found["id"]}"]')).to_contain_text(
        "Refused · 已拒绝"
    )
    expect(learner.locator(".msg.system").last).to_contain_text("该账号不是申请人本人的。")
    learner.context.close()
    agent.context.close()


def test_an_agent_outside_the_privacy_team_has_no_privacy_view(stack, browser):
    agent = browser.new_context(locale="en-US").new_page()
    requests_seen: list[str] = []
    agent.on(
        "request",
        lambda r: requests_seen.append(r.url) if "privacy-requests" in r.url else None,
    )
    sign_in(agent, stack.hub_url, "billing")
    expect(agent.locator("#console")).to_be_visible()
    agent.wait_for_timeout(1000)  # the page has asked for what it shows
    expect(agent.locator("#views")).to_be_hidden()
    expect(agent.locator("#privacy")).to_be_hidden()
    assert requests_seen == []
    # and the hub would refuse them anyway
    r = agent_client(stack.hub_url, "billing").get("/api/agent/privacy-requests")
    assert r.status_code == 403
    agent.context.close()


def test_the_admin_reads_the_audit_log(stack, browser):
    url = stack.hub_url
    # an export of L1005's data (no conversation to tell: the request alone)
    found, _ = a_request(stack, "L1005", "export", None)
    r = agent_client(url).post(f"/api/agent/privacy-requests/{found['id']}/export")
    assert r.status_code == 200, r.text

    page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{url}/admin")
    page.fill("#username", "admin")
    page.fill("#password", "admin")
    page.click("#login button[type=submit]")
    expect(page.locator("#staff-view")).to_be_visible()
    page.click("#tab-audit")
    expect(page.locator("#audit-view")).to_be_visible()
    expect(page.locator("#staff-view")).to_be_hidden()
    export = page.locator(
        '#audit tr[data-action="privacy.export"]', has_text=f"privacy_request:{found['id']}"
    )
    expect(export).to_have_count(1)
    expect(export).to_contain_text("Learner data exported · 导出学员数据")
    expect(export).to_contain_text("agent")
    expect(export).to_contain_text("L1005")
    expect(export.locator("td.when")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"))

    # a family of actions: every privacy step (with the tests above: the download, the
    # erasure, the refusal too)
    page.select_option("#f-action", "privacy")
    page.click("#audit-filters button[type=submit]")
    expect(page.locator('#audit tbody tr:not([data-action^="privacy."])')).to_have_count(0)
    expect(export).to_have_count(1)
    for_docs(page, "admin-audit")
    # filtered by one action: only exports
    page.select_option("#f-action", "privacy.export")
    page.click("#audit-filters button[type=submit]")
    expect(page.locator('#audit tbody tr:not([data-action="privacy.export"])')).to_have_count(0)
    expect(export).to_have_count(1)
    page.fill("#f-learner", "L1005")
    page.click("#audit-filters button[type=submit]")
    expect(page.locator("#audit tbody tr")).to_have_count(1)
    # a date range that ends before today finds nothing
    page.fill("#f-until", "2020-01-01")
    page.click("#audit-filters button[type=submit]")
    expect(page.locator("#audit tbody tr")).to_have_count(0)
    expect(page.locator("#audit-status")).to_contain_text("没有符合条件的记录")

    # paging back: 50 at a time, "older" for the rest
    with stack.db.write() as conn:
        for i in range(60):
            audit.record(
                conn,
                "learner.read",
                actor="pager",
                subject=f"conversation:c_{i}",
                learner_id="L1001",
                address="203.0.113.9",
            )
    page.click("#f-clear")
    page.fill("#f-actor", "pager")
    page.click("#audit-filters button[type=submit]")
    expect(page.locator("#audit tbody tr")).to_have_count(50)
    expect(page.locator("#audit-older")).to_be_visible()
    page.click("#audit-older")
    expect(page.locator("#audit tbody tr")).to_have_count(60)
    expect(page.locator("#audit-older")).to_be_hidden()
    subjects = page.locator("#audit tbody tr td:nth-child(4)").all_text_contents()
    assert subjects == [f"conversation:c_{i}" for i in range(59, -1, -1)]
    # the tab survives a reload
    page.reload()
    expect(page.locator("#audit-view")).to_be_visible()
    page.context.close()


def test_the_audit_log_is_for_admins_only(stack, browser):
    page = browser.new_context().new_page()
    page.goto(f"{stack.hub_url}/admin#audit")
    page.fill("#username", "manager")
    page.fill("#password", "manager")
    page.click("#login button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("admin role")
    expect(page.locator("#audit-view")).to_be_hidden()
    assert agent_client(stack.hub_url, "manager").get("/api/admin/audit").status_code == 403
    page.context.close()
