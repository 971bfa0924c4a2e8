"""The language, KB and handoff actions against a real (temporary) database."""

import json

import handoff
from actions.handoff import ActionHandoff
from actions.kb import ActionAnswerQuestion, ActionOutOfScope, kb_pick
from actions.language import ActionDetectLanguage
from tests import dbkit
from tests.unit.actionkit import make_tracker, run, slot_events


def test_language_follows_each_message(rt):
    events, msgs = run(
        ActionDetectLanguage(), make_tracker("怎么退款", "refund_request", lang="zh")
    )
    assert slot_events(events) == {"lang": "zh"} and msgs == []
    tracker = make_tracker("and the invoice?", "invoice_request", slots={"lang": "zh"})
    tracker.latest_message["metadata"].pop("lang")
    assert slot_events(run(ActionDetectLanguage(), tracker)[0]) == {"lang": "en"}


def test_kb_answer_cites_the_entry(rt):
    events, msgs = run(
        ActionAnswerQuestion(),
        make_tracker("Can I download videos to watch offline?", "ask_question"),
    )
    assert len(msgs) == 1
    custom = msgs[0]["custom"]
    assert custom["citation"]["id"] == "en-offline-download"
    assert custom["citation"]["url"] == "http://hub.test/help/en-offline-download"
    assert "[en-offline-download]" in custom["text"]
    assert slot_events(events)["kb_misses"] == 0.0


def test_kb_answer_in_chinese(rt):
    _, msgs = run(
        ActionAnswerQuestion(),
        make_tracker("课程视频可以下载离线看吗？", "ask_question", lang="zh"),
    )
    assert msgs[0]["custom"]["citation"]["id"] == "zh-offline-download"
    assert "来源" in msgs[0]["custom"]["text"]


def test_picking_an_offered_entry_answers_it(rt):
    tracker = make_tracker(
        kb_pick("en-device-limit"),
        "ask_question",
        entities=[{"entity": "kb_entry", "value": "en-device-limit"}],
    )
    _, msgs = run(ActionAnswerQuestion(), tracker)
    assert msgs[0]["custom"]["citation"]["id"] == "en-device-limit"


def test_second_miss_in_a_row_offers_a_person(rt):
    first = make_tracker("zebra quantum marmalade", "nlu_fallback", sender="c_miss")
    events, msgs = run(ActionAnswerQuestion(), first)
    assert slot_events(events) == {"kb_misses": 1.0}
    assert "couldn't find" in msgs[0]["text"]
    assert rt.db.writing(handoff.open_ticket, "c_miss") is None
    assert dbkit.count(rt.db, "kb_gaps") == 1  # the content team sees the unanswered question

    second = make_tracker(
        "purple elephant tax", "nlu_fallback", sender="c_miss", slots={"kb_misses": 1.0}
    )
    events, msgs = run(ActionAnswerQuestion(), second)
    assert rt.db.writing(handoff.open_ticket, "c_miss") is None  # offered, not imposed
    assert "talk to a person" in msgs[0]["text"]
    assert [b["payload"] for b in msgs[0]["buttons"]] == ["/request_human", "/deny"]
    assert slot_events(events)["kb_misses"] == 0.0
    assert dbkit.count(rt.db, "kb_gaps") == 2


def test_handoff_routes_by_the_topic_of_the_conversation(rt):
    earlier = [
        {
            "event": "user",
            "text": "我要退款",
            "parse_data": {"intent": {"name": "refund_request", "confidence": 0.9}},
        }
    ]
    tracker = make_tracker("转人工", "request_human", sender="c_h", lang="zh", events=earlier)
    _, msgs = run(ActionHandoff(), tracker)
    ticket = rt.db.writing(handoff.open_ticket, "c_h")
    assert (ticket.team, ticket.intent, ticket.reason) == (
        "billing",
        "refund_request",
        "learner_asked",
    )
    assert "我要退款" in ticket.summary
    assert "财务与退款组" in msgs[0]["text"]


def test_an_unanswerable_reply_to_a_troubleshooting_step_goes_on_with_the_guide(rt):
    step = [
        {"event": "action", "name": "action_troubleshoot"},
        {"event": "action", "name": "action_listen"},
    ]
    slots = {"ts_topic": "playback_problem", "ts_step": 0.0}
    tracker = make_tracker("iPhone app", "nlu_fallback", events=step, slots=slots, sender="c_ts")
    events, msgs = run(ActionAnswerQuestion(), tracker)
    assert events == [{"event": "followup", "timestamp": None, "name": "action_troubleshoot"}]
    assert msgs == [] and dbkit.count(rt.db, "kb_gaps") == 0
    # a KB question is still answered, and with no guide going on a miss is a miss
    tracker = make_tracker(
        "Can I download videos to watch offline?", "ask_question", events=step, slots=slots
    )
    assert run(ActionAnswerQuestion(), tracker)[1][0]["custom"]["citation"]
    events, _ = run(ActionAnswerQuestion(), make_tracker("iPhone app", "nlu_fallback", events=step))
    assert slot_events(events) == {"kb_misses": 1.0}


def test_out_of_scope_asks_the_kb_first(rt):
    """An entry published after training is what the NLU calls out of scope; the KB answers
    it. What the KB cannot answer gets the out-of-scope reply and is logged as a gap."""
    _, msgs = run(
        ActionOutOfScope(), make_tracker("Can I download videos to watch offline?", "out_of_scope")
    )
    assert msgs[0]["custom"]["citation"]["id"] == "en-offline-download"
    assert dbkit.count(rt.db, "kb_gaps") == 0
    events, msgs = run(
        ActionOutOfScope(), make_tracker("zebra quantum marmalade", "out_of_scope", sender="c_o")
    )
    assert msgs == [{**msgs[0], "response": "utter_out_of_scope"}] and events == []
    (gap,) = dbkit.rows(rt.db, "kb_gaps")
    assert (gap["conversation_id"], gap["kind"]) == ("c_o", "out_of_scope")


def test_kb_pick_is_rasa_intent_syntax():
    p = kb_pick("zh-refund-policy")
    assert p.startswith("/ask_question{") and json.loads(p[len("/ask_question") :]) == {
        "kb_entry": "zh-refund-policy"
    }


def test_the_action_server_registers_every_custom_action_of_the_domain():
    # the hub's /webhook uses rasa-sdk's own registration, which instantiates every Action
    # subclass it finds; a base class that cannot say its name broke the forms' validations
    from rasa_sdk.executor import ActionExecutor

    from tests.unit.actionkit import domain

    executor = ActionExecutor()
    executor.register_package("actions")
    custom = {a for a in domain()["actions"] if not a.startswith("utter_")}
    custom |= {f"validate_{form}" for form in domain()["forms"]}
    assert custom <= set(executor.actions), sorted(custom - set(executor.actions))
