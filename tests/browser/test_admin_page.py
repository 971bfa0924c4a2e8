"""The admin's staff page, and every page under the hub's Content-Security-Policy: nothing the
browser refuses to run, and the demo banner while demo mode is on."""

import pytest
from playwright.sync_api import expect

from tests.browser.screenshots import for_docs

pytestmark = pytest.mark.browser


def test_an_admin_adds_and_disables_an_account(stack, browser):
    page = browser.new_context().new_page()
    page.goto(f"{stack.hub_url}/admin")
    page.fill("#username", "admin")
    page.fill("#password", "admin")
    page.click("#login button[type=submit]")
    expect(page.locator('#staff tr[data-user="agent"]')).to_have_count(1)
    page.fill("#new-username", "wei")
    page.fill("#new-name", "客服 Wei")
    page.fill("#new-password", "a long enough password")
    page.check('#new-roles input[value="agent"]')
    page.check('#new-teams input[value="tech"]')
    page.click("#add button[type=submit]")
    row = page.locator('#staff tr[data-user="wei"]')
    expect(row).to_contain_text("客服 Wei")
    expect(row.locator('input[value="tech"]')).to_be_checked()
    # the new agent can sign in to the console
    console = browser.new_context().new_page()
    console.goto(f"{stack.hub_url}/agent")
    console.fill("#username", "wei")
    console.fill("#password", "a long enough password")
    console.click("#login button[type=submit]")
    expect(console.locator("#logout")).to_be_visible()
    for_docs(page, "admin")
    # disabled: the row says so, and the console's next call finds the session ended
    row.locator("button.toggle").click()
    expect(row.locator(".state")).to_contain_text("disabled")
    console.reload()
    expect(console.locator("#login")).to_be_visible()
    # a too-short password is refused with the reason
    page.fill("#new-username", "short")
    page.fill("#new-password", "0123456789")  # long enough for the page, too common for the hub
    page.check('#new-roles input[value="agent"]')
    page.click("#add button[type=submit]")
    expect(page.locator("#error")).to_contain_text("too easy")


@pytest.mark.parametrize("path", ["/", "/chat", "/agent", "/kb", "/dashboard", "/admin"])
def test_every_page_keeps_to_its_content_security_policy(stack, browser, path):
    page = browser.new_context().new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(f"{stack.hub_url}{path}")
    expect(page.locator("#demo-banner")).to_contain_text("Demo")  # make run is a demo
    page.wait_for_timeout(500)  # the page's own scripts have run
    assert not refused, refused
