"""Content staff in the KB admin page: a new entry a learner's next question gets, with no
retraining and no restart; edits of a live entry kept unpublished and previewed; unanswered
questions turned into an entry."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.screenshots import for_docs

pytestmark = pytest.mark.browser


def test_editor_publishes_and_the_learner_gets_it(stack, browser, shots):
    editor = _signed_in(browser, stack.hub_url)

    # the try box shows the bot would not answer this yet
    editor.fill("#try-q", "Can I pay for a course with a Starbucks voucher?")
    expect(editor.locator("#try-decision")).not_to_have_text("answer")

    editor.click("#new-entry")
    editor.select_option("#e-lang", "en")
    # the id's example follows the language (it said "en-…" beside a zh entry)
    expect(editor.locator("#e-id")).to_have_attribute("placeholder", "en-my-topic")
    expect(editor.locator("#e-translation")).to_have_attribute("placeholder", "zh-my-topic")
    editor.fill("#e-id", "en-starbucks-vouchers")
    editor.fill("#e-question", "Can I pay with a Starbucks voucher?")
    editor.fill("#e-alts", "do you take starbucks vouchers\nstarbucks gift card as payment")
    editor.fill(
        "#e-answer", "No. We accept WeChat Pay, Alipay, UnionPay cards and Apple in-app purchase."
    )
    editor.fill("#e-category", "payment")
    editor.click("#publish")
    expect(editor.locator("#e-msg")).to_contain_text("re-indexed", timeout=60_000)
    expect(editor.locator("#e-status")).to_contain_text("published")
    editor.fill("#try-q", "Can I pay for a course with a Starbucks voucher?")
    expect(editor.locator("#try-out tr[data-hit]").first).to_have_attribute(
        "data-hit", "en-starbucks-vouchers"
    )
    # the NLU sends this one to the KB; a refund request never reaches it, whatever it scores
    expect(editor.locator("#try-nlu")).to_have_attribute("data-route", "kb")
    editor.fill("#try-q", "I want a refund for the python course")
    expect(editor.locator("#try-nlu")).to_have_attribute("data-route", "intent")
    expect(editor.locator("#try-nlu")).to_contain_text("refund_request")
    expect(editor.locator("#try-nlu")).to_contain_text("不会用知识库回答")
    editor.fill("#try-q", "Can I pay for a course with a Starbucks voucher?")
    editor.screenshot(path=str(shots / "kb-admin.png"))
    for_docs(
        editor,
        "kb",
        ready=('#try-nlu[data-route="kb"]', '#try-out tr[data-hit="en-starbucks-vouchers"]'),
        scroll_to="#try-out",
        block="end",
    )

    learner = browser.new_context(locale="en-US").new_page()
    learner.goto(f"{stack.hub_url}/chat?learner=L1002&new=1")
    expect(learner.locator("body[data-conversation]")).to_have_count(1)  # the page is ready
    learner.fill("#text", "Can I pay for a course with a Starbucks voucher?")
    learner.press("#text", "Enter")
    cite = learner.locator(".msg.bot a.cite").last
    expect(cite).to_have_attribute("data-entry", "en-starbucks-vouchers")

    # the learner's verdict shows up next to the entry for the editor
    learner.locator(".msg.bot .feedback button[data-helpful=yes]").last.click()
    expect(learner.locator(".msg.bot .feedback button[data-helpful=yes]").last).to_be_disabled()
    editor.reload()
    editor.locator('.entry-item[data-entry="en-starbucks-vouchers"]').click()
    expect(editor.locator("#e-feedback")).to_contain_text("👍 1")


def _signed_in(browser, url):  # type: ignore[no-untyped-def]
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{url}/kb")
    page.fill("#username", "editor")
    page.fill("#password", "editor")
    page.click("#login button[type=submit]")
    expect(page.locator(".entry-item").first).to_be_visible()
    return page


def test_save_says_when_it_goes_live_and_a_stale_edit_is_not_saved(stack, browser):
    eddie = _signed_in(browser, stack.hub_url)
    eddie.click("#new-entry")
    eddie.fill("#e-id", "en-pause-membership")
    eddie.select_option("#e-lang", "en")
    eddie.fill("#e-question", "Can I pause my membership?")
    eddie.fill("#e-answer", "Not yet; you can turn off auto-renewal.")
    expect(eddie.locator("#save")).to_have_text("Save draft · 保存草稿")
    eddie.click("#save")
    expect(eddie.locator("#e-status")).to_contain_text("draft · v1")
    eddie.click("#publish")
    expect(eddie.locator("#e-status")).to_contain_text("published", timeout=60_000)
    # a live entry: saving puts the edit live, and the button says so
    expect(eddie.locator("#save")).to_have_text("Save & publish · 保存并发布")
    expect(eddie.locator("#publish")).to_be_hidden()
    expect(eddie.locator("#unpublish")).to_be_enabled()

    mia = _signed_in(browser, stack.hub_url)
    mia.locator('.entry-item[data-entry="en-pause-membership"]').click()
    # the form loads after the click: typing before it lands mixed the old answer in
    expect(mia.locator("#e-answer")).to_have_value("Not yet; you can turn off auto-renewal.")
    mia.fill("#e-answer", "Yes: Me → Membership → Pause, up to 30 days.")
    mia.click("#save")
    expect(mia.locator("#e-status")).to_contain_text("v3", timeout=60_000)

    # Eddie still has v2 open: his save is refused, he is told who saved, and may reload
    eddie.fill("#e-answer", "No.")
    eddie.click("#save")
    expect(eddie.locator("#e-msg")).to_contain_text("editor saved v3")
    expect(eddie.locator("#e-msg")).to_contain_text("重新加载")
    eddie.click("#reload-entry")
    expect(eddie.locator("#e-answer")).to_have_value("Yes: Me → Membership → Pause, up to 30 days.")


def test_a_live_entry_edited_without_publishing_keeps_the_live_text(stack, browser, shots):
    eddie = _signed_in(browser, stack.hub_url)
    eddie.locator('.entry-item[data-entry="en-service-hours"]').click()
    expect(eddie.locator("#e-status")).to_contain_text("published")
    live = eddie.locator("#e-answer").input_value()
    eddie.fill("#e-answer", "Holiday hours: 10:00–16:00 from 1 to 7 October.")
    expect(eddie.locator("#stage")).to_be_visible()
    eddie.click("#stage")
    expect(eddie.locator("#e-msg")).to_contain_text("not published")
    expect(eddie.locator("#e-staged")).to_contain_text("Learners still get the live text")
    expect(eddie.locator('.entry-item[data-entry="en-service-hours"] .pill.staged')).to_be_visible()
    # the bot still answers with the live text
    eddie.fill("#try-q", "What are your customer service hours?")
    expect(eddie.locator("#try-answer")).to_contain_text(live[:30])
    # ...and would answer with the staged text once published: the preview says so
    eddie.click("#try-preview")
    expect(eddie.locator("#try-mode")).to_contain_text("not live")
    expect(eddie.locator("#try-answer")).to_contain_text("Holiday hours", timeout=60_000)
    eddie.screenshot(path=str(shots / "kb-staged.png"))
    for_docs(eddie, "kb-preview")

    # a colleague opens the entry on the unpublished changes, and publishes them
    mia = _signed_in(browser, stack.hub_url)
    mia.locator('.entry-item[data-entry="en-service-hours"]').click()
    expect(mia.locator("#e-answer")).to_have_value(
        "Holiday hours: 10:00–16:00 from 1 to 7 October."
    )
    mia.click("#save")
    expect(mia.locator("#e-msg")).to_contain_text("re-indexed", timeout=60_000)
    expect(mia.locator("#e-staged")).to_be_hidden()
    mia.fill("#try-q", "What are your customer service hours?")
    expect(mia.locator("#try-answer")).to_contain_text("Holiday hours")

    # Eddie's page still shows changes that are gone: discarding them is refused, with a reload
    eddie.once("dialog", lambda d: d.accept())
    eddie.click("#discard-staged")
    expect(eddie.locator("#e-msg")).to_contain_text("published or discarded")
    eddie.click("#reload-entry")
    expect(eddie.locator("#e-staged")).to_be_hidden()
    expect(eddie.locator("#e-answer")).to_have_value(
        "Holiday hours: 10:00–16:00 from 1 to 7 October."
    )


def test_unanswered_questions_become_an_entry_that_answers_the_next_learner(stack, browser):
    from tests.e2e.test_end_to_end import Learner

    # learners ask what the KB does not cover (in two words), plus chit-chat out of scope
    for text in ("Is there an app for smart TVs?", "can I watch the courses on my smart TV"):
        out = Learner(stack.hub_url, "L1003").say(text)
        assert not any(r["payload"].get("citation") for r in out["replies"]), out
    Learner(stack.hub_url, "L1003").say("what's the weather like in Beijing today?")

    eddie = _signed_in(browser, stack.hub_url)
    eddie.click('.tabs button[data-tab="gaps"]')
    tv = eddie.locator(".gap-card", has_text="smart TV").first
    expect(tv).to_contain_text("2×")
    weather = eddie.locator(".gap-card", has_text="weather")
    expect(weather.first).to_contain_text("out of scope")
    # chit-chat can be hidden; the TV cluster stays
    eddie.check("#hide-oos")
    expect(weather).to_have_count(0)
    expect(eddie.locator("#gaps-hidden")).to_be_visible()
    expect(tv).to_be_visible()
    for_docs(eddie, "kb-gaps")

    # the cluster becomes a prefilled entry; published, it leaves the view
    tv.locator("button.primary").click()
    expect(eddie.locator("#e-alts")).to_have_value(re.compile("smart TV"))
    eddie.fill("#e-id", "en-smart-tv")
    eddie.fill("#e-answer", "Not yet: cast from the phone app with AirPlay or Chromecast.")
    eddie.click("#publish")
    expect(eddie.locator("#e-msg")).to_contain_text("re-indexed", timeout=60_000)
    eddie.click('.tabs button[data-tab="gaps"]')
    expect(eddie.locator(".gap-card", has_text="smart TV")).to_have_count(0)

    out = Learner(stack.hub_url, "L1003").say("Is there a smart TV app?")
    assert [r["payload"].get("citation", {}).get("id") for r in out["replies"]][:1] == [
        "en-smart-tv"
    ], out


def test_export_downloads_the_list_and_says_when_it_fails(stack, browser, tmp_path):
    page = _signed_in(browser, stack.hub_url)
    page.select_option("#x-format", "json")
    with page.expect_download() as download:
        page.click("#export")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "kb-export.json"
    entries = json.loads(saved.read_text("utf-8"))
    assert any(e["id"] == "zh-offline-download" for e in entries)
    # a failed export says so instead of saving the error text as the file
    page.route("**/api/kb/export*", lambda route: route.fulfill(status=500, body="boom"))
    page.click("#export")
    expect(page.locator("#e-msg")).to_contain_text("Export failed · 导出失败 (500")


def test_a_live_search_never_overwrites_a_preview_in_progress(stack, browser):
    eddie = _signed_in(browser, stack.hub_url)
    eddie.locator('.entry-item[data-entry="en-refund-policy"]').click()
    expect(eddie.locator("#e-id")).to_have_value("en-refund-policy")
    # the hub's answers are held, so the live search (fired 250 ms after typing) comes back
    # while the preview is building: that late live result used to replace "Building a
    # preview index…" and show the live decision with no preview label
    held = []
    eddie.route("**/api/kb/try", lambda route: held.append(route))
    preview = lambda req: bool((req.post_data_json or {}).get("preview"))  # noqa: E731
    live = lambda r: "/api/kb/try" in r.url and not preview(r)  # noqa: E731
    with eddie.expect_request(live):
        eddie.fill("#try-q", "What is your refund policy?")
    with eddie.expect_request(lambda r: "/api/kb/try" in r.url and preview(r)):
        eddie.click("#try-preview")
    building = eddie.locator("#try-out", has_text="Building a preview index")
    expect(building).to_be_visible()
    with eddie.expect_response(lambda r: live(r.request)):  # the live answer arrives first
        held[0].continue_()
    eddie.wait_for_timeout(500)  # time enough to draw it
    expect(building).to_be_visible()
    expect(eddie.locator("#try-decision")).to_have_count(0)
    held[1].continue_()
    expect(eddie.locator("#try-mode")).to_contain_text("not live", timeout=60_000)
    expect(eddie.locator("#try-decision")).to_have_count(1)


def test_history_shows_what_a_version_changed_before_a_restore(stack, browser):
    import httpx

    api = httpx.Client(base_url=stack.hub_url, timeout=30)
    login = api.post("/api/auth/login", json={"username": "editor", "password": "editor"})
    api.headers["Authorization"] = f"Bearer {login.json()['token']}"
    intro = "Open **Me → Orders**, pick the order and tap **Invoice**, then fill in the title. "
    entry = {
        "id": "en-invoice-history-check",
        "lang": "en",
        "question": "How long does an e-invoice take to reach me?",
        "answer": intro + "\nInvoices arrive by email within a day.",
        "status": "draft",
    }
    assert api.post("/api/kb/entries", json=entry).status_code == 201
    edit = {**entry, "answer": intro + "\nInvoices arrive by email within 3 working days."}
    assert api.put(f"/api/kb/entries/{entry['id']}", json={**edit, "base_version": 1}).is_success

    eddie = _signed_in(browser, stack.hub_url)
    eddie.fill("#q", "en-invoice-history-check")
    eddie.locator('.entry-item[data-entry="en-invoice-history-check"]').click()
    eddie.click("#history-box summary")
    v2, v1 = eddie.locator('[data-history="2"]'), eddie.locator('[data-history="1"]')
    # the 80-character previews are the same; what v2 changed is not
    assert v2.locator(".muted").first.inner_text() == v1.locator(".muted").first.inner_text()
    v2.locator(".history-changes summary").click()
    expect(v2.locator(".history-changes del")).to_contain_text("within a day")
    expect(v2.locator(".history-changes ins")).to_contain_text("within 3 working days")
    v1.locator(".history-full summary").click()
    expect(v1.locator(".history-full")).to_contain_text("Invoices arrive by email within a day.")
    # the restore asks first, saying what it changes
    asked = []
    eddie.once("dialog", lambda d: asked.append(d.message) or d.dismiss())
    v1.locator("button[data-version]").click()
    eddie.wait_for_timeout(300)
    assert asked and "It changes: answer" in asked[0] and "答案" in asked[0], asked
