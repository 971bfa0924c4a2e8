"""Which typed answers the hub marks as the flow's answer rather than a way out."""

import pytest

from reading import answer_intent

REASON = ("refund_form", "refund_reason")


@pytest.mark.parametrize(
    "text",
    [
        "不需要了",
        "没什么用",
        "不想学了",
        "don't need it anymore",
        "not useful",
        "no longer need it",
    ],
)
def test_a_reason_that_sounds_like_no_is_the_reason(text):
    assert answer_intent(REASON, text) == "refund_request"


@pytest.mark.parametrize(
    "text",
    [
        "算了",
        "算了，不退了",
        "取消",
        "不用了",
        "不",
        "no",
        "No thanks!",
        "cancel",
        "never mind",
        "forget it",
        "I don't want a refund anymore",
    ],
)
def test_a_stop_still_leaves(text):
    assert answer_intent(REASON, text) is None


def test_a_complaint_that_sounds_like_no_is_the_complaint():
    # QA: "没用" at "请问主要是哪方面的问题？" cancelled the complaint
    assert answer_intent(("complaint_form", "complaint_category"), "没用") == "complaint"
    assert answer_intent(("complaint_form", "complaint_description"), "没用，不行") == "complaint"
    assert answer_intent(("complaint_form", "complaint_category"), "算了不投诉了") is None


def test_whom_an_invoice_is_for_is_the_answer_and_personal_is_not_a_person():
    from reading import wants_person as _wants_human

    assert answer_intent(("invoice_form", "invoice_type"), "for a company") == "invoice_request"
    assert not _wants_human("personal") and not _wants_human("a personal invoice")
    assert _wants_human("can I talk to a person") and _wants_human("转人工")


def test_only_free_text_questions_are_marked():
    for asking in (
        None,
        ("refund_form", "order_id"),
        ("refund_form", "flow_confirmed"),
        ("invoice_form", "email"),
    ):
        assert answer_intent(asking, "不需要了") is None


def test_a_buttons_title_typed_out_is_that_button():
    from reading import typed_option

    buttons = [
        {"title": "Personal", "payload": "personal"},
        {"title": "Company", "payload": "company"},
        {"title": "确认退款", "payload": "/affirm"},
    ]
    # QA: typed "personal" at "Personal / Company" read as a request for a person
    assert typed_option(buttons, " personal. ")["payload"] == "personal"
    assert typed_option(buttons, "ＣＯＭＰＡＮＹ")["payload"] == "company"
    assert typed_option(buttons, "确认退款！")["payload"] == "/affirm"
    for text in ("a personal invoice please", "", "？", "person"):
        assert typed_option(buttons, text) is None, text


def test_read_is_the_one_entry_point_for_what_the_hub_knows_beyond_the_words():
    from course_platform import Course, Order
    from reading import read

    course = Course(
        id="c-da", name_zh="数据分析从零到一", name_en="Data Analysis", kind="recorded", price=299
    )
    orders = [
        Order(
            id="AC1",
            learner_id="L1",
            course_id="c-da",
            amount=299,
            paid_at=0,
            status="paid",
            course=course,
        )
    ]
    asked = []

    def fetch() -> list:
        asked.append(1)
        return orders

    # a course's name alone, where no form asks anything: a question about that order
    r = read("数据分析", conv_lang="zh", orders=fetch)
    assert r.metadata() == {"lang": "zh", "option": False, "read_as": "ask_question"}
    # a typed button is the tap: an answer, with the button's payload routed to the bot
    r = read("Company", conv_lang="en", buttons=[{"title": "Company", "payload": "company"}])
    assert (r.payload, r.option, r.routed_text) == ("company", True, "company")
    # an English value where a Chinese form asks for one keeps the chat in Chinese...
    title = ("invoice_form", "invoice_title")
    assert read("Acme Tech Ltd", conv_lang="zh", asking=title).lang == "zh"
    # ...a question there does not
    assert read("how long does it take?", conv_lang="zh", asking=title).lang == "en"
    # "不需要了" as a refund's reason is the reason; "算了" still leaves
    reason = ("refund_form", "refund_reason")
    assert read("不需要了", conv_lang="zh", asking=reason).metadata()["answer_intent"] == (
        "refund_request"
    )
    assert "answer_intent" not in read("算了", conv_lang="zh", asking=reason).metadata()
    # a request for a person is no answer, and the platform is not asked for long messages
    asked.clear()
    assert read("转人工", conv_lang="zh", orders=fetch).wants_person
    read(
        "我想问一下这门课的直播回放一般会保留多久，过期以后还能不能再看，另外手机和电脑上的进度会不会同步呢",
        conv_lang="zh",
        orders=fetch,
    ).metadata()
    assert not asked
