"""Content staff publish a new KB entry in the admin page; a learner's next question gets
it, with no retraining and no restart."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_editor_publishes_and_the_learner_gets_it(stack, browser, shots):
    editor = _signed_in(browser, stack.hub_url)

    # the try box shows the bot would not answer this yet
    editor.fill("#try-q", "Can I pay for a course with a Starbucks voucher?")
    expect(editor.locator("#try-decision")).not_to_have_text("answer")

    editor.click("#new-entry")
    editor.fill("#e-id", "en-starbucks-vouchers")
    editor.select_option("#e-lang", "en")
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
