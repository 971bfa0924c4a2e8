"""A message that does not answer a form's question never becomes a slot value."""

from actions.invoice import ValidateInvoiceForm
from actions.refund import ValidateRefundForm
from bot import transcript
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
    conv = transcript.create_conversation(rt.db, "L1001", "zh")
    msg = transcript.add_message(rt.db, conv.id, "learner", "北京某某科技有限公司", lang="zh")
    said = answer(
        "invoice_form", "invoice_title", "北京某某科技有限公司", "complaint", 0.73, lang="zh"
    )
    said.latest_message["metadata"]["message_id"] = msg.id  # as the hub sends it
    events, _ = run(ValidateInvoiceForm(), said)
    assert slot_events(events)["invoice_title"] == "北京某某科技有限公司"
    assert rt.db["messages"].get(msg.id)["answers"] == "invoice_title"
