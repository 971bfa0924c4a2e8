"""A message that does not answer a form's question never becomes a slot value."""

from actions.complaint import ValidateComplaintForm
from actions.context import lang_of
from actions.invoice import ValidateInvoiceForm
from actions.language import ActionDetectLanguage
from actions.refund import ValidateRefundForm
from bot import transcript
from tests import dbkit
from tests.unit.actionkit import make_tracker, run, slot_events, texts


def answer(form: str, slot: str, text: str, intent: str, confidence: float = 0.93, **kw):
    """The tracker when `form` asked for `slot` and the learner typed `text`."""
    tracker = make_tracker(
        text, intent, active_loop=form, requested_slot=slot, extracted={slot: text}, **kw
    )
    tracker.latest_message["intent"]["confidence"] = confidence
    return tracker


def test_another_errand_is_not_an_invoice_title(rt):
    said = answer("invoice_form", "invoice_title", "我要退款", "refund_request", lang="zh")
    events, msgs = run(ValidateInvoiceForm(), said)
    assert slot_events(events) == {"invoice_title": None}
    assert "要先办别的事" in texts(msgs)
    # unless the NLU is unsure: a company may be called anything
    company = "北京退款无忧科技有限公司"
    said = answer("invoice_form", "invoice_title", company, "refund_request", 0.6, lang="zh")
    events, _ = run(ValidateInvoiceForm(), said)
    assert slot_events(events)["invoice_title"] == company


def test_a_name_at_the_invoice_title_is_the_title_whatever_else_the_nlu_reads(rt):
    # QA: "Shanghai … Information Technology Co., Ltd." read as piracy_report at 0.88-0.96,
    # and the guard told the learner to finish the invoice first
    for lang, name, intent, confidence in (
        ("en", "Shanghai Xinghe Information Technology Co., Ltd.", "piracy_report", 0.96),
        ("en", "Qingdao Haibin Trading Co. Ltd", "piracy_report", 0.91),
        ("zh", "重庆山城盗版图书回收有限公司", "piracy_report", 0.97),
        ("zh", "北京退款无忧科技有限公司", "refund_request", 0.95),
        ("en", "Emma Li", "request_human", 0.3),
    ):
        said = answer("invoice_form", "invoice_title", name, intent, confidence, lang=lang)
        events, msgs = run(ValidateInvoiceForm(), said)
        assert slot_events(events)["invoice_title"] == name, name
        assert msgs == [], name
    # a nickname at the new nickname too
    from actions.account import ValidateAccountForm

    said = answer("account_form", "account_value", "Moonlight Owl", "piracy_report", 0.9,
                  slots={"account_field": "nickname"})
    events, msgs = run(ValidateAccountForm(), said)
    assert slot_events(events)["account_value"] == "Moonlight Owl" and msgs == []
    # a question there is still answered, and another errand still told to wait
    said = answer("invoice_form", "invoice_title", "发票多久能收到？", "ask_question", lang="zh")
    assert slot_events(run(ValidateInvoiceForm(), said)[0])["invoice_title"] is None
    said = answer("invoice_form", "invoice_title", "I want a refund instead", "refund_request",
                  0.97)
    events, msgs = run(ValidateInvoiceForm(), said)
    assert slot_events(events)["invoice_title"] is None and "finish" in texts(msgs)


def test_a_question_where_the_email_goes_is_answered_and_the_email_asked_again(rt):
    said = answer("invoice_form", "email", "发票多久能收到？", "ask_question", lang="zh")
    events, msgs = run(ValidateInvoiceForm(), said)
    assert slot_events(events)["email"] is None
    assert msgs[0]["custom"]["citation"]["id"] == "zh-invoice-timing"
    assert "不是有效的邮箱地址" not in texts(msgs)


def test_a_question_about_the_flow_itself_is_no_title(rt):
    said = answer("invoice_form", "invoice_title", "发票多久能收到？", "invoice_request", lang="zh")
    events, msgs = run(ValidateInvoiceForm(), said)
    assert slot_events(events)["invoice_title"] is None
    assert msgs[0]["custom"]["citation"]["id"] == "zh-invoice-timing"
    # while a question may name the order it is about
    said = answer("refund_form", "order_id", "数据分析那门课能退吗？", "refund_request", lang="zh")
    events, _ = run(ValidateRefundForm(), said)
    assert slot_events(events)["order_id"] == "AC10010002"


def test_free_text_slots_take_anything(rt):
    # "the course is awful" reads as a complaint, and is a fair refund reason
    said = answer("refund_form", "refund_reason", "课程内容太差了", "complaint", lang="zh")
    events, _ = run(ValidateRefundForm(), said)
    assert slot_events(events)["refund_reason"] == "课程内容太差了"


def test_a_tapped_button_is_always_an_answer(rt):
    said = answer("invoice_form", "invoice_type", "company", "refund_request")
    said.latest_message["metadata"]["option"] = True  # how the hub marks a tapped option
    events, msgs = run(ValidateInvoiceForm(), said)
    assert slot_events(events)["invoice_type"] == "company"
    assert "something else" not in texts(msgs)


def test_a_tapped_kb_article_is_answered_on_any_slot(rt):
    # "not helpful" under an article offers others as buttons; one tapped mid-form
    payload = '/ask_question{"kb_entry": "zh-invoice-timing"}'
    entity = [{"entity": "kb_entry", "value": "zh-invoice-timing"}]
    for form, slot, validation in (
        ("invoice_form", "order_id", ValidateInvoiceForm()),
        ("refund_form", "refund_reason", ValidateRefundForm()),
    ):
        said = answer(form, slot, payload, "ask_question", lang="zh", entities=entity)
        events, msgs = run(validation, said)
        assert slot_events(events)[slot] is None
        assert msgs[0]["custom"]["citation"]["id"] == "zh-invoice-timing"


def test_the_value_asked_for_is_the_answer_whatever_the_nlu_reads(rt):
    # QA: the learner's own address read as account_update at 0.82 and was refused
    for text in ("emma.li@example.com", "my email is emma.li@example.com"):
        said = answer("invoice_form", "email", text, "account_update", 0.94)
        events, msgs = run(ValidateInvoiceForm(), said)
        assert slot_events(events)["email"] == "emma.li@example.com", text
        assert "something else" not in texts(msgs)
    # a tax id inside a sentence, lower case: found, checked and normalised
    said = answer(
        "invoice_form",
        "tax_id",
        "税号是91110108ma01abcden",
        "account_update",
        lang="zh",
        slots={"invoice_type": "company", "invoice_title": "北京某某科技有限公司"},
    )
    events, msgs = run(ValidateInvoiceForm(), said)
    assert slot_events(events)["tax_id"] == "91110108MA01ABCDEN"
    # an order number is no such value: naming one in another errand is that errand
    said = answer("invoice_form", "order_id", "我要退 AC10010001", "refund_request", lang="zh")
    events, msgs = run(ValidateInvoiceForm(), said)
    assert slot_events(events) == {"order_id": None} and "要先办别的事" in texts(msgs)


def test_a_code_or_a_request_for_another_is_the_answer_at_the_code_question(rt):
    # "验证码没收到" reads as a login problem, and was told to finish this first; a code with
    # words around it as anything at all
    from actions.privacy import ValidatePrivacyForm

    def said(text: str, intent: str):
        return answer(
            "privacy_form",
            "privacy_identity",
            text,
            intent,
            0.95,
            lang="zh",
            slots={"privacy_type": "delete"},
        )

    with rt.db.write() as conn:
        code = rt.identity.issue(conn, "L1001", "privacy_delete").code
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    events, msgs = run(ValidatePrivacyForm(), said("验证码没收到", "login_problem"))
    assert slot_events(events)["privacy_identity"] is None
    assert "秒后才能重新发送" in texts(msgs) and "要先办别的事" not in texts(msgs)
    events, msgs = run(ValidatePrivacyForm(), said(f"验证码是 {wrong}", "login_problem"))
    assert slot_events(events)["privacy_identity"] is None
    assert "验证码不正确" in texts(msgs) and "要先办别的事" not in texts(msgs)
    # words that are neither are met for what they are
    events, msgs = run(ValidatePrivacyForm(), said("我要退款", "refund_request"))
    assert "要先办别的事" in texts(msgs)


def test_thanks_or_emoji_where_the_order_goes_is_no_order_called_thanks(rt):
    # QA: "ok thx", "谢谢", "👍" were each "not found among your orders", again and again
    for text, intent, lang, expect in (
        ("ok thx", "thank", "en", "You're welcome! To carry on"),
        ("谢谢", "thank", "zh", "不客气！要继续办理"),
        ("👍", "affirm", "zh", "要继续办理"),
        ("😀😀😀", "nlu_fallback", "zh", "要继续办理"),
    ):
        said = answer("invoice_form", "order_id", text, intent, 0.7, lang=lang)
        events, msgs = run(ValidateInvoiceForm(), said)
        assert slot_events(events) == {"order_id": None}, text
        assert texts(msgs).startswith(expect), (text, texts(msgs))
        assert "找到" not in texts(msgs) and "couldn't find" not in texts(msgs)


def test_a_typed_answer_is_marked_so_its_intent_is_not_counted_as_a_need(rt):
    # QA: "北京某某科技有限公司" at the title question was classed complaint (0.73), taken as
    # the title, and counted in the manager's complaint rate
    conv = rt.db.writing(transcript.create_conversation, "L1001", "zh")
    msg = rt.db.writing(
        transcript.add_message, conv.id, "learner", "北京某某科技有限公司", lang="zh"
    )
    said = answer(
        "invoice_form", "invoice_title", "北京某某科技有限公司", "complaint", 0.73, lang="zh"
    )
    said.latest_message["metadata"]["message_id"] = msg.id  # as the hub sends it
    events, _ = run(ValidateInvoiceForm(), said)
    assert slot_events(events)["invoice_title"] == "北京某某科技有限公司"
    assert dbkit.rows(rt.db, "messages", id=msg.id)[0]["answers"] == "invoice_title"


def test_a_question_where_the_refund_reason_goes_is_answered_not_filed(rt):
    # QA: "how long are live class replays kept?" at the reason question filed refund #5
    for text, lang, learner in (
        ("how long are live class replays kept?", "en", "L1004"),
        ("直播回放能看多久", "zh", "L1001"),
    ):
        said = answer(
            "refund_form", "refund_reason", text, "ask_question", lang=lang, learner_id=learner
        )
        events, msgs = run(ValidateRefundForm(), said)
        assert slot_events(events)["refund_reason"] is None, text
        assert texts(msgs), text  # the KB's answer, or its admission that it has none
    # a reason that reads as a complaint, or a question about the refund itself, stays one
    for text, intent in (("课程内容太差了", "complaint"), ("买错了，能退吗？", "refund_request")):
        said = answer("refund_form", "refund_reason", text, intent, lang="zh")
        events, _ = run(ValidateRefundForm(), said)
        assert slot_events(events)["refund_reason"] == text


def test_a_question_where_the_complaint_category_goes_is_no_complaint(rt):
    # QA: 我要投诉 → 发票怎么开 filed a high-priority complaint at once
    for text, intent, lang in (
        ("发票怎么开", "ask_question", "zh"),
        ("how do I get an invoice?", "invoice_request", "en"),
    ):
        said = answer("complaint_form", "complaint_category", text, intent, lang=lang)
        events, msgs = run(ValidateComplaintForm(), said)
        assert slot_events(events)["complaint_category"] is None, text
        assert "complaint_description" not in slot_events(events), text
        assert texts(msgs), text  # answered, or told to finish this one first
    # a category named in a sentence is the answer whatever the NLU reads
    said = answer("complaint_form", "complaint_category", "app老是闪退", "playback_problem", 0.95)
    events, _ = run(ValidateComplaintForm(), said)
    assert slot_events(events)["complaint_category"] == "tech"
    # a short answer naming none is "other", and the description is still asked
    said = answer("complaint_form", "complaint_category", "态度恶劣", "complaint", lang="zh")
    events, _ = run(ValidateComplaintForm(), said)
    assert slot_events(events)["complaint_category"] == "other"
    assert not slot_events(events).get("complaint_description")


def test_a_category_answer_that_says_what_happened_is_the_description_too(rt):
    # QA: 我要投诉 → "内容太浅了，和宣传的不一样" was taken as "content" and then the
    # learner was asked to describe what happened
    for text, lang, category in (
        ("内容太浅了，和宣传的不一样", "zh", "content"),
        ("the teacher never answers our questions", "en", "teacher"),
    ):
        said = answer("complaint_form", "complaint_category", text, "complaint", lang=lang)
        events = slot_events(run(ValidateComplaintForm(), said)[0])
        assert events == {"complaint_category": category, "complaint_description": text}
    # a category on its own is no description: it is still asked for
    for text in ("课程内容", "the teacher"):
        said = answer("complaint_form", "complaint_category", text, "complaint")
        assert not slot_events(run(ValidateComplaintForm(), said)[0]).get("complaint_description")


def test_a_question_naming_no_order_is_answered_at_the_order_question(rt):
    # QA: 我要开发票 → 能开专票吗 → "在您的订单中没有找到“能开专票吗”"
    for form, validation, text, intent, lang in (
        ("invoice_form", ValidateInvoiceForm(), "能开专票吗", "invoice_request", "zh"),
        ("invoice_form", ValidateInvoiceForm(), "发票多久能到", "invoice_request", "zh"),
        ("invoice_form", ValidateInvoiceForm(), "那能开发票吗", "invoice_request", "zh"),
        ("refund_form", ValidateRefundForm(), "录播课可以退款吗", "refund_request", "zh"),
        (
            "invoice_form",
            ValidateInvoiceForm(),
            "Can I get a VAT special invoice?",
            "invoice_request",
            "en",
        ),
        ("invoice_form", ValidateInvoiceForm(), "今天天气不错", "out_of_scope", "zh"),
    ):
        said = answer(form, "order_id", text, intent, lang=lang)
        events, msgs = run(validation, said)
        assert slot_events(events)["order_id"] is None, text
        assert texts(msgs) and "没有找到" not in texts(msgs), (text, texts(msgs))
        assert "couldn't find" not in texts(msgs), text
    # an order number that is not theirs is still "not found"
    said = answer("invoice_form", "order_id", "AC10099999", "invoice_request", lang="zh")
    _, msgs = run(ValidateInvoiceForm(), said)
    assert "没有找到" in texts(msgs)


def test_an_english_value_keeps_a_chinese_form_in_chinese(rt):
    # QA: 企业 → "Acme Tech Ltd" → the tax-id question and the confirmation came in English;
    # 我想改邮箱 → liming#qq.com → the reply in English. The hub's guess for the next message
    # follows the English value, so the slot keeps the language, not the hub's metadata.
    for form, slot, text in (
        ("invoice_form", "invoice_title", "Acme Tech Ltd"),
        ("account_form", "account_value", "liming#qq.com"),
        ("invoice_form", "tax_id", "91110108MA01ABCDEN"),
    ):
        said = answer(form, slot, text, "out_of_scope", lang="en", slots={"lang": "zh"})
        assert slot_events(run(ActionDetectLanguage(), said)[0]) == {"lang": "zh"}, text
        assert lang_of(said) == "zh"
    # a question where the value goes, or an English message outside a form, still switches
    said = answer(
        "invoice_form",
        "invoice_title",
        "how long does the invoice take?",
        "ask_question",
        lang="en",
        slots={"lang": "zh"},
    )
    assert slot_events(run(ActionDetectLanguage(), said)[0]) == {"lang": "en"}
    said = make_tracker("Acme Tech Ltd is my company", "out_of_scope", slots={"lang": "zh"})
    assert slot_events(run(ActionDetectLanguage(), said)[0]) == {"lang": "en"}
    # a choice typed out is the learner's language (seen at stop 19: "不退了" at the refund's
    # confirmation in a chat an English message had switched got its answer in English)
    said = answer(
        "refund_form", "flow_confirmed", "不退了", "deny", lang="zh", slots={"lang": "en"}
    )
    assert slot_events(run(ActionDetectLanguage(), said)[0]) == {"lang": "zh"}
    said = answer("invoice_form", "invoice_type", "个人", "inform", lang="zh", slots={"lang": "en"})
    assert slot_events(run(ActionDetectLanguage(), said)[0]) == {"lang": "zh"}
    # "ok" there has no words to switch on
    said = answer("refund_form", "flow_confirmed", "ok", "affirm", lang="en", slots={"lang": "zh"})
    assert slot_events(run(ActionDetectLanguage(), said)[0]) == {"lang": "zh"}
    # and "ok" after the form stays in the conversation's language whatever the hub guessed
    said = make_tracker("ok", "affirm", lang="en", slots={"lang": "zh"})
    assert slot_events(run(ActionDetectLanguage(), said)[0]) == {"lang": "zh"}


def test_a_question_read_as_another_errand_is_answered_where_free_text_goes(rt):
    # the NLU may read "how long are live class replays kept?" as a playback problem; a
    # question is still no refund reason, and "where is my refund?" gets the refund's status
    said = answer(
        "refund_form", "refund_reason", "where is my refund?", "refund_status", learner_id="L1004"
    )
    events, msgs = run(ValidateRefundForm(), said)
    assert slot_events(events)["refund_reason"] is None and texts(msgs)
    said = answer("invoice_form", "invoice_title", "能退款吗？", "refund_request", lang="zh")
    events, msgs = run(ValidateInvoiceForm(), said)
    assert slot_events(events)["invoice_title"] is None
    assert "要先办别的事" not in texts(msgs)  # answered, not "finish this first"
