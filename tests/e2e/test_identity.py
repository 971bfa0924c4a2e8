"""Who is asking for their data: the privacy flow with real Rasa confirms the signed-in
learner with a one-time code the course platform sends (bot/identity.py, read back here
from the demo platform's outbox), and records the request for the privacy team with its
legal deadline. The phone's last 4 digits, which the login guide shows, confirm nothing."""


import pytest

from tests import dbkit
from tests.e2e.test_end_to_end import Learner
from tests.e2e.test_flows_end_to_end import last_bot, latest_code, press, said_by_bot

pytestmark = pytest.mark.e2e

DAY = 86400.0


def another(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def recorded(stack, learner: Learner, learner_id: str, kind: str) -> dict:
    """The request's case, its row and its audit record, as the privacy team finds them."""
    (ticket,) = dbkit.rows(stack.db, "tickets", conversation_id=learner.cid)
    assert (ticket["team"], ticket["channel"], ticket["status"]) == ("compliance", "case", "queued")
    (request,) = dbkit.rows(stack.db, "privacy_requests", conversation_id=learner.cid)
    assert (request["learner_id"], request["kind"], request["status"]) == (
        learner_id,
        kind,
        "open",
    )
    assert request["ticket_id"] == ticket["id"] and request["verified_by"] == "session+code"
    # 15 working days: three weeks, give or take a weekend and the rest of the last day
    assert 19 * DAY <= request["due_at"] - request["created_at"] <= 23 * DAY
    (event,) = dbkit.rows(
        stack.db,
        "audit_events",
        action="privacy.request",
        subject=f"privacy_request:{request['id']}",
    )
    assert (event["actor"], event["learner_id"]) == (f"learner:{learner_id}", learner_id)
    return request


def test_a_deletion_is_confirmed_with_a_code_and_recorded_in_chinese(stack):
    learner = Learner(stack.hub_url, "L1001")
    out = learner.say("我要注销账号，删除我的所有数据")
    ask = last_bot(out)
    assert "我们已向 138****1001 发送了 6 位验证码" in ask["text"], said_by_bot(out)
    code = latest_code(stack, "L1001")
    assert code not in said_by_bot(out) and "13800001001" not in said_by_bot(out)
    # within the minute, another code is not sent: the one out still works
    out = press(learner, ask, "重新发送")
    assert "秒后才能重新发送" in said_by_bot(out) and out["mode"] == "bot"
    out = learner.say("验证码没收到")  # typed: no login problem, no way out
    assert "秒后才能重新发送" in said_by_bot(out) and out["mode"] == "bot"
    assert latest_code(stack, "L1001") == code
    out = learner.say(code)
    confirm = last_bot(out)
    assert "不可恢复" in confirm["text"] and "已提交" not in said_by_bot(out)
    out = press(learner, confirm, "确认注销")
    said = said_by_bot(out)
    request = recorded(stack, learner, "L1001", "delete")
    assert f"申请 #{request['id']} 已提交" in said and "15 个工作日" in said and "最迟" in said
    assert out["mode"] == "bot"


def test_an_export_is_confirmed_with_a_code_and_recorded_in_english(stack):
    learner = Learner(stack.hub_url, "L1002")
    out = learner.say("I'd like a copy of all the personal data you store about me")
    assert "We sent a 6-digit code to 139****1002" in last_bot(out)["text"], said_by_bot(out)
    out = learner.say("I didn't get the code, please resend it")
    assert "I can send a new code in" in said_by_bot(out), said_by_bot(out)
    out = learner.say(f"the code is {latest_code(stack, 'L1002')}")
    said = said_by_bot(out)
    request = recorded(stack, learner, "L1002", "export")
    assert f"Request #{request['id']} recorded" in said and "15 working days" in said
    assert "Deletion is final" not in said and out["mode"] == "bot"


def test_a_typed_yes_that_names_the_deletion_is_a_yes(stack):
    # tried as a learner: "yes, delete it" read as deny (0.68), and the deletion the
    # learner had just confirmed was cancelled
    learner = Learner(stack.hub_url, "L1005")
    learner.say("please delete my account and all my data")
    out = learner.say(latest_code(stack, "L1005"))
    assert "deletion is final" in last_bot(out)["text"], said_by_bot(out)
    out = learner.say("yes, delete it")
    request = recorded(stack, learner, "L1005", "delete")
    assert f"Request #{request['id']} recorded" in said_by_bot(out), said_by_bot(out)


def test_the_phone_digits_the_login_guide_shows_confirm_nothing(stack):
    # the issue: the login guide shows "137****1003", and those last 4 digits were the
    # proof of identity for deleting the account
    learner = Learner(stack.hub_url, "L1003")
    out = learner.say("我登录不上")
    assert "137****1003" in said_by_bot(out), said_by_bot(out)
    out = learner.say("删除我的账号")
    assert "137****1003 发送了 6 位验证码" in last_bot(out)["text"], said_by_bot(out)
    out = learner.say("1003")
    said = said_by_bot(out)
    assert "验证码不正确，您还可以再试 2 次" in said and "不可恢复" not in said
    assert "请输入我们发给您的 6 位验证码" in last_bot(out)["text"]
    assert dbkit.count(stack.db, "privacy_requests", learner_id="L1003") == 0
    # the code itself does, and the failure before it is forgotten
    out = learner.say(latest_code(stack, "L1003"))
    assert "不可恢复" in last_bot(out)["text"], said_by_bot(out)
    (row,) = dbkit.rows(stack.db, "identity_checks", learner_id="L1003")
    assert row["failures"] == 0
    out = press(learner, last_bot(out), "不注销了")
    assert "已为您取消" in last_bot(out)["text"]
    assert dbkit.count(stack.db, "privacy_requests", learner_id="L1003") == 0


def test_three_wrong_codes_lock_the_checks_and_a_new_start_is_still_locked(stack):
    learner = Learner(stack.hub_url, "L1004")
    out = learner.say("Please delete my account and all my data")
    assert "136****1004" in last_bot(out)["text"], said_by_bot(out)
    code = latest_code(stack, "L1004")
    sent = dbkit.count(stack.db, "pf_outbox", learner_id="L1004")
    out = learner.say(another(code))
    assert "Tries left: 2" in said_by_bot(out)
    out = learner.say(another(code))
    assert "Tries left: 1" in said_by_bot(out)
    out = learner.say(another(code))
    said = said_by_bot(out)
    assert "After 3 wrong codes" in said and "Privacy & copyright" in said, said
    assert out["mode"] == "human"
    (ticket,) = dbkit.rows(stack.db, "tickets", conversation_id=learner.cid)
    assert (ticket["team"], ticket["channel"]) == ("compliance", "chat")
    # the right code no longer works, and starting over gives no new tries nor a new code
    again = Learner(stack.hub_url, "L1004")
    out = again.say("I'd like a copy of my data")
    said = said_by_bot(out)
    assert "After 3 wrong codes" in said and "code to" not in said, said
    assert out["mode"] == "human"
    assert dbkit.count(stack.db, "pf_outbox", learner_id="L1004") == sent
    assert dbkit.count(stack.db, "privacy_requests", learner_id="L1004") == 0
