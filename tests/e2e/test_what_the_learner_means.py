"""Acting on what the learner means (#25), with the real Rasa, in both languages: two needs in
one message, values that look like requests, a late answer that hands over, and questions
the KB already has. The sentences are not the blind set's (tests/fixtures/blind_set.yml)."""

import time

import pytest

from tests import dbkit
from tests.e2e.slow_link import slow_hub
from tests.e2e.test_end_to_end import Learner, cited
from tests.e2e.test_flows_end_to_end import last_bot, press, said_by_bot

pytestmark = pytest.mark.e2e

GUIDES = ("login_problem", "playback_problem", "course_access")


def stored(stack, message: dict) -> dict:
    return dbkit.rows(stack.db, "messages", id=message["id"])[0]


def tickets(stack, learner: Learner) -> list[dict]:
    return dbkit.rows(stack.db, "tickets", conversation_id=learner.cid)


# ---- two needs in one message ------------------------------------------------------------


@pytest.mark.parametrize(
    ("learner_id", "text", "step"),
    [
        ("L1003", "什么破课，视频点了半天一直在转圈，根本看不了", "第 1/2 步"),
        ("L1002", "What a rip-off, the lesson videos keep buffering and never load",
         "Step 1 of 2"),
    ],
)
def test_a_fault_told_in_complaint_words_gets_the_guide_first(stack, learner_id, text, step):
    # QA: "课程视频一直在转圈圈，就是放不出来" read as complaint (0.50): filed for customer
    # care, no playback steps
    learner = Learner(stack.hub_url, learner_id)
    out = learner.say(text)
    assert stored(stack, out["message"])["intent"] in GUIDES, out["message"]
    reply = last_bot(out)
    assert step in reply["text"], reply
    assert [b["payload"] for b in reply["payload"]["buttons"]] == ["/affirm", "/deny"]
    assert not [t for t in tickets(stack, learner) if t["reason"] == "complaint"]


@pytest.mark.parametrize(
    ("learner_id", "text", "filed", "try_it"),
    [
        ("L1005", "I'd like to file a complaint: the app crashes every time I open a video lesson",
         "filed your complaint", "Try the steps now"),
        ("L1005", "我要投诉，你们的app一点开课程就闪退，已经好几天了", "已为您登记投诉工单",
         "先试试排查步骤"),
    ],
)
def test_an_explicit_complaint_about_a_fault_is_filed_for_tech_and_offers_the_guide(
    stack, learner_id, text, filed, try_it
):
    # QA: "I want to file a complaint: the app crashes every single time I open a lesson on my
    # Android phone" read as playback_problem (0.58): the guide, and no complaint recorded
    learner = Learner(stack.hub_url, learner_id)
    out = learner.say(text)
    assert stored(stack, out["message"])["intent"] == "complaint"
    assert filed in said_by_bot(out), said_by_bot(out)
    (complaint,) = [t for t in tickets(stack, learner) if t["reason"] == "complaint"]
    assert (complaint["team"], complaint["category"]) == ("tech", "tech")
    out = press(learner, last_bot(out), try_it)  # the guide, right away
    assert last_bot(out)["payload"]["buttons"][-1]["payload"] == "/deny"


# ---- values that look like requests -----------------------------------------------------


@pytest.mark.parametrize(
    ("learner_id", "start", "company_button", "title", "tax_question"),
    [
        ("L1002", "I need an invoice", "Company", "Qingdao Harbour Bright Digital Co., Ltd.",
         "tax ID"),
        ("L1001", "我要开发票", "企业", "Harbin Songhua River Cultural Media Co., Ltd.", "税号"),
    ],
)
def test_a_company_name_at_the_invoice_title_is_the_title(
    stack, learner_id, start, company_button, title, tax_question
):
    # QA: English company names ending in "Co., Ltd." read as piracy_report (0.88-0.96) and
    # the form said "let's finish this first" and asked again
    learner = Learner(stack.hub_url, learner_id)
    out = learner.say(start)
    orders = [b for b in last_bot(out)["payload"].get("buttons") or []
              if b["payload"].startswith("AC")]
    if not orders:  # other tests may have invoiced them all
        pytest.skip("no order left to invoice")
    out = press(learner, last_bot(out), orders[0]["title"])
    out = press(learner, last_bot(out), company_button)
    out = learner.say(title)
    assert tax_question in last_bot(out)["text"], said_by_bot(out)
    row = stored(stack, out["message"])
    assert row["answers"] == "invoice_title" and row["intent"] == "invoice_request"
    learner.say("cancel" if learner_id == "L1002" else "算了")  # nothing recorded


# ---- a late answer that hands over ------------------------------------------------------


def answered(learner: Learner, message_id: int, timeout: float = 15) -> list[dict]:
    """What the hub posted in reply to `message_id`, besides its "answer is coming"."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        messages = learner.http.get(f"/api/conversations/{learner.cid}/messages").json()
        late = [m for m in messages["messages"] if m.get("reply_to") == message_id
                and m["payload"].get("kind") != "rasa_slow"]
        if late:
            return late
        time.sleep(0.25)
    return []


def test_a_late_answer_that_hands_over_reaches_the_learner(stack):
    # QA: Rasa answered the guide's last "still not working" after the hub's timeout; the
    # learner saw only "the answer is coming", never the handover nor the queue notice,
    # because the hub drops late answers once a person has the chat, and this turn gave it
    with slow_hub(stack) as url:
        for learner_id, problem, not_fixed, exhausted in (
            ("L1003", "视频一直黑屏，放不出来", "还是不行", "转给"),
            ("L1002", "the lesson video has no sound", "Still not working", "passing this"),
        ):
            learner = Learner(url, learner_id)
            out = learner.say(problem)
            assert out["replies"][-1]["payload"].get("kind") == "rasa_slow"  # slow, truly
            reply = [m for m in answered(learner, out["message"]["id"]) if m["sender"] == "bot"]
            assert reply, "the first step never came"
            for _ in range(4):
                out = press(learner, {"payload": reply[-1]["payload"]}, not_fixed)
                late = answered(learner, out["message"]["id"])
                if any(m["payload"].get("event") == "handoff" for m in late):
                    break
                reply = [m for m in late if m["sender"] == "bot"]
                assert reply, f"no late answer to {out['message']['text']}"
            # the handover (and, out of hours, when people work) and the hub's queue notice
            assert any(exhausted in m["text"] for m in late if m["sender"] == "bot"), late
            notice = next(m for m in late if m["payload"].get("event") == "handoff")
            assert notice["sender"] == "system" and notice["payload"]["team"] == "tech"
            (ticket,) = tickets(stack, learner)
            assert ticket["channel"] == "chat" and ticket["status"] == "queued"


# ---- what the KB already has ------------------------------------------------------------


@pytest.mark.parametrize(
    ("learner_id", "miss", "question", "entry"),
    [
        ("L1001", "你们的老师都是哪里毕业的？", "字幕在哪里打开？", "zh-playback-speed-subtitles"),
        # typed with a Chinese keyboard in full width: the encoder is lost (0.10), the key is not
        ("L1002", "what's your company's address?",
         "ｈｏｗ ｄｏ ｉ ｃｈａｎｇｅ ｔｈｅ ｐｌａｙｂａｃｋ "
         "ｓｐｅｅｄ ｏｒ ｔｕｒｎ ｏｎ ｓｕｂｔｉｔｌｅｓ",
         "en-playback-speed-subtitles"),
    ],
)
def test_an_entrys_own_question_is_answered_even_after_a_miss(
    stack, learner_id, miss, question, entry
):
    # QA: "字幕在哪里打开？" scored 0.539 under the 0.54 line though "字幕在哪打开" is one of
    # the entry's questions; asked later, it got "shall I get you a person?"
    learner = Learner(stack.hub_url, learner_id)
    learner.say(miss)
    learner.say(miss)  # a second miss: the next one would offer a person
    out = learner.say(question)
    assert [cited(r) for r in out["replies"] if cited(r)] == [entry], said_by_bot(out)
    assert out["mode"] == "bot"
