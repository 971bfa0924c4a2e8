"""A learner page and an agent console side by side through one handoff, in Chromium."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_learner_and_agent_through_one_handoff(stack, browser, shots):
    learner_ctx = browser.new_context(locale="zh-CN")
    agent_ctx = browser.new_context(locale="en-US")
    learner = learner_ctx.new_page()
    agent = agent_ctx.new_page()

    # the learner asks a question, gets a cited answer, then asks for a person
    learner.goto(f"{stack.hub_url}/chat?learner=L1001&new=1")
    expect(learner.locator("#status")).to_contain_text("智能助手")
    learner.fill("#text", "课程视频可以下载离线看吗")
    learner.press("#text", "Enter")
    answer = learner.locator('.msg.bot[data-sender="bot"]').last
    expect(answer).to_contain_text("来源")
    expect(answer.locator("a.cite")).to_have_attribute("data-entry", "zh-offline-download")
    # the answer's Markdown is rendered (bold, no asterisks), and its source is said once
    expect(answer.locator("strong").first).to_have_text("仅限手机 App")
    expect(answer).not_to_contain_text("**")
    expect(answer).not_to_contain_text("[zh-offline-download]")
    # a message the hub refuses (over 4,000 characters, past the box's own limit) stays on
    # screen marked unsent, and goes back into the box to be shortened
    learner.evaluate("document.getElementById('text').value = '长'.repeat(4001)")
    learner.press("#text", "Enter")
    expect(learner.locator(".msg.learner.unsent")).to_contain_text("未发送")
    expect(learner.locator(".msg.system.error").last).to_contain_text("消息太长了，最多 4000 字")
    expect(learner.locator("#text")).to_have_value("长" * 4001)
    learner.fill("#text", "转人工")
    learner.press("#text", "Enter")
    expect(learner.locator("#status")).to_contain_text("人工客服模式")
    expect(learner.locator(".msg.pending")).to_have_count(1)  # only the refused one
    conversation = learner.locator("body").get_attribute("data-conversation")

    # the agent signs in, sees it in the queue, claims it and reads the bot's part
    agent.goto(f"{stack.hub_url}/agent")
    agent.fill("#username", "agent")
    agent.fill("#password", "agent")
    agent.click("#login button[type=submit]")
    item = agent.locator(f'.queue-item[data-conversation="{conversation}"]')
    expect(item).to_be_visible(timeout=10_000)
    item.click()
    expect(agent.locator("#ticket-title")).to_contain_text("queued")
    expect(agent.locator('#log [data-sender="bot"]').first).to_contain_text("来源")
    # KB suggestions for the learner's question ("转人工" asks nothing); one goes in the reply
    suggestion = agent.locator('#suggest-list .suggestion[data-entry="zh-offline-download"]')
    expect(suggestion).to_be_visible()
    agent.click("#claim")
    expect(agent.locator("#composer")).to_be_visible()
    suggestion.locator("button.insert").click()
    inserted = re.compile(r"仅限手机 App.*/help/zh-offline-download", re.S)
    expect(agent.locator("#text")).to_have_value(inserted)
    agent.fill("#text", "")
    expect(learner.locator(".msg.system").last).to_contain_text("已接入")

    # agent reply reaches the learner live; the learner's answer reaches the agent
    agent.fill("#text", "您好，我是小安，请问是哪门课程下载不了？")
    agent.press("#text", "Enter")
    expect(learner.locator(".msg.agent").last).to_contain_text("我是小安")
    learner.fill("#text", "Python 入门实战，缓存一直失败")
    learner.press("#text", "Enter")
    expect(agent.locator('#log [data-sender="learner"]').last).to_contain_text("缓存一直失败")
    learner.screenshot(path=str(shots / "learner-human-mode.png"))
    agent.screenshot(path=str(shots / "agent-console.png"))

    # the agent keeps the answer for the content team
    offered = []

    def accept(dialog):
        offered.append(dialog.default_value)
        dialog.accept(dialog.default_value)

    agent.on("dialog", accept)
    agent.click("#kb-draft")
    expect(agent.locator("#error")).to_contain_text("Saved draft")
    # prefilled with the learner's last message and the agent's whole last answer
    assert offered == ["Python 入门实战，缓存一直失败", "您好，我是小安，请问是哪门课程下载不了？"]

    # Markdown is rendered as nodes, never as HTML: markup shows as text, no script links
    agent.fill("#text", "**注意** <img src=x onerror=alert(1)> [看这里](javascript:alert(1))")
    agent.press("#text", "Enter")
    shown = learner.locator(".msg.agent").last
    expect(shown).to_contain_text("<img src=x onerror=alert(1)>")
    expect(shown.locator("strong")).to_have_text("注意")
    assert shown.locator("img").count() == 0 and shown.locator("a").count() == 0

    # resolving hands back to the bot and asks the learner for a rating
    agent.click("#resolve")
    expect(learner.locator("#status")).to_contain_text("智能助手在线")
    stars = learner.locator(".stars button")
    expect(stars).to_have_count(5)
    stars.nth(4).click()
    expect(learner.locator(".msg.system").last).to_contain_text("感谢您的评价")
    learner.fill("#text", "谢谢")
    learner.press("#text", "Enter")
    expect(learner.locator(".msg.bot").last).to_contain_text(re.compile("不客气"))
    assert conversation and conversation.startswith("c_")
    learner_ctx.close()
    agent_ctx.close()
