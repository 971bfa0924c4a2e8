"""The KB curation API: roles, versions, publishing re-indexes live, import/export, gaps,
feedback, and drafts from agents."""

import json

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from tests.api.test_chat_api import send, start
from tests.conftest import learner_token, staff_token

NEW = {
    "id": "en-gift-cards",
    "lang": "en",
    "question": "Do you sell gift cards?",
    "alt_questions": ["can i buy a voucher for a friend", "gift card for courses"],
    "answer": "Yes: **Me → Gift cards**, from ¥50.",
    "category": "payment",
    "tags": ["gift"],
    "status": "draft",
}


@pytest.fixture
def editor(client):
    return staff_token(client, "editor")


def test_only_content_staff_may_edit(client, editor):
    learner = learner_token(client)
    agent = staff_token(client, "agent")
    for headers in (learner, agent, {}):
        assert client.post("/api/kb/entries", json=NEW, headers=headers).status_code in (401, 403)
        assert client.get("/api/kb/entries", headers=headers).status_code in (401, 403)
    assert client.post("/api/kb/entries", json=NEW, headers=editor).status_code == 201
    admin = staff_token(client, "admin")
    assert client.get("/api/kb/entries/en-gift-cards", headers=admin).status_code == 200


def test_publish_makes_the_bot_find_it_without_restart(client, editor):
    r = client.post("/api/kb/try", json={"query": "Do you sell gift cards?"}, headers=editor)
    assert "en-gift-cards" not in [h["id"] for h in r.json()["hits"]]
    client.post("/api/kb/entries", json=NEW, headers=editor)
    r = client.post(
        "/api/kb/entries/en-gift-cards/publish", json={"base_version": 1}, headers=editor
    )
    assert r.status_code == 200 and r.json()["index"]["entries"] >= 89
    r = client.post("/api/kb/try", json={"query": "Do you sell gift cards?"}, headers=editor)
    assert r.json()["hits"][0]["id"] == "en-gift-cards" and r.json()["decision"] == "answer"
    client.post("/api/kb/entries/en-gift-cards/unpublish", headers={**editor, "If-Match": '"2"'})
    r = client.post("/api/kb/try", json={"query": "Do you sell gift cards?"}, headers=editor)
    assert "en-gift-cards" not in [h["id"] for h in r.json()["hits"]]


def test_the_try_box_still_answers_when_the_nlu_is_down(client, editor):
    # the test hub's Rasa URL points at a closed port: the KB part works, the NLU says so
    r = client.post("/api/kb/try", json={"query": "Can I download videos?"}, headers=editor)
    assert r.status_code == 200 and r.json()["nlu"] == {"available": False}
    assert r.json()["hits"]


def test_versions_history_and_rollback(client, editor):
    client.post("/api/kb/entries", json=NEW, headers=editor)
    edit = {**NEW, "answer": "No, sorry.", "base_version": 1}
    client.put("/api/kb/entries/en-gift-cards", json=edit, headers=editor)
    entry = client.get("/api/kb/entries/en-gift-cards", headers=editor).json()
    assert entry["version"] == 2 and [h["version"] for h in entry["history"]] == [2, 1]
    assert (
        entry["history"][0]["preview"] == "No, sorry." and entry["history"][1]["status"] == "draft"
    )
    url = "/api/kb/entries/en-gift-cards"
    client.post(f"{url}/publish", json={"base_version": 2}, headers=editor)
    # restoring v1 (a draft) brings back its words, not its status: the entry stays live
    r = client.post(f"{url}/rollback", json={"version": 1, "base_version": 3}, headers=editor)
    assert r.json()["entry"]["version"] == 4 and "¥50" in r.json()["entry"]["answer"]
    assert r.json()["entry"]["status"] == "published" and "index" in r.json()
    notes = [h["note"] for h in client.get(f"{url}/history", headers=editor).json()]
    assert notes == ["restored content of v1", "published", "edited", "created"]
    r = client.post(f"{url}/rollback", json={"version": 9, "base_version": 4}, headers=editor)
    assert r.status_code == 404
    # publishing twice or unpublishing a draft adds no version
    assert (
        client.post(f"{url}/publish", json={"base_version": 4}, headers=editor).json()["entry"][
            "version"
        ]
        == 4
    )


def test_a_stale_form_gets_409_and_never_overwrites(client, editor):
    url = "/api/kb/entries/en-gift-cards"
    client.post("/api/kb/entries", json=NEW, headers=editor)
    mia = staff_token(client, "admin")
    r = client.put(url, json={**NEW, "answer": "Mia's answer", "base_version": 1}, headers=mia)
    assert r.status_code == 200 and r.json()["entry"]["version"] == 2
    # the editor still has v1 open
    r = client.put(url, json={**NEW, "answer": "Eddie's answer", "base_version": 1}, headers=editor)
    assert r.status_code == 409
    assert (
        "v1" in r.json()["detail"] and "v2" in r.json()["detail"] and "admin" in r.json()["detail"]
    )
    assert "重新加载" in r.json()["detail"]
    assert client.get(url, headers=editor).json()["answer"] == "Mia's answer"
    # archived by Mia; a stale Publish (or a stale form saying "published") cannot revive it
    client.post(f"{url}/archive", json={"base_version": 2}, headers=mia)
    assert (
        client.post(f"{url}/publish", json={"base_version": 2}, headers=editor).status_code == 409
    )
    stale = {**NEW, "status": "published", "base_version": 2}
    assert client.put(url, json=stale, headers=editor).status_code == 409
    assert client.get(url, headers=editor).json()["status"] == "archived"
    # a change that does not say what it was based on is refused, not applied blindly
    assert client.put(url, json=NEW, headers=editor).status_code == 428
    assert client.post(f"{url}/unpublish", headers=editor).status_code == 428
    # an edit without a status keeps the stored one (archived stays archived)
    r = client.put(
        url, json={**NEW, "status": None, "answer": "x!", "base_version": 3}, headers=editor
    )
    assert r.json()["entry"]["status"] == "archived"


def test_placeholder_and_blank_answers_cannot_go_live(client, editor):
    r = client.post("/api/kb/entries", json={**NEW, "answer": "   "}, headers=editor)
    assert r.status_code == 422
    r = client.post("/api/kb/entries", json={**NEW, "answer": "(draft)"}, headers=editor)
    assert r.status_code == 201
    r = client.post(
        "/api/kb/entries/en-gift-cards/publish", json={"base_version": 1}, headers=editor
    )
    assert r.status_code == 422 and "答案" in r.json()["detail"]


def test_bad_entries_are_refused(client, editor):
    assert (
        client.post("/api/kb/entries", json={**NEW, "id": "Gift Cards"}, headers=editor).status_code
        == 422
    )
    assert (
        client.post(
            "/api/kb/entries", json={**NEW, "id": "zh-gift-cards"}, headers=editor
        ).status_code
        == 422
    )
    assert (
        client.post("/api/kb/entries", json={**NEW, "answer": ""}, headers=editor).status_code
        == 422
    )
    client.post("/api/kb/entries", json=NEW, headers=editor)
    assert client.post("/api/kb/entries", json=NEW, headers=editor).status_code == 409
    assert (
        client.put(
            "/api/kb/entries/en-nope", json={**NEW, "id": "en-nope"}, headers=editor
        ).status_code
        == 404
    )


SHARE = {
    "id": "zh-share-membership-family",
    "lang": "zh",
    "question": "会员可以和家人共享吗？",
    "alt_questions": ["会员能给家人用吗"],
    "answer": "会员仅限本人账号使用。",
    "status": "published",
}


def test_a_question_of_a_live_entry_cannot_go_live_twice_and_links_must_exist(client, editor):
    assert client.post("/api/kb/entries", json=SHARE, headers=editor).status_code == 201
    # the tester's duplicate: same question (other punctuation) and alternate, published
    twin = {**SHARE, "id": "zh-huiyuan-gongxiang", "question": "会员可以和家人共享吗?"}
    r = client.post("/api/kb/entries", json=twin, headers=editor)
    assert r.status_code == 422 and "zh-share-membership-family" in r.json()["detail"]
    assert "会员能给家人用吗" in r.json()["detail"] and "已有其他已发布条目" in r.json()["detail"]
    # as a draft it is saved, with a warning naming the live entry, also when opened again
    r = client.post("/api/kb/entries", json={**twin, "status": "draft"}, headers=editor)
    assert r.status_code == 201 and "zh-share-membership-family" in r.json()["warnings"][0]
    url = "/api/kb/entries/zh-huiyuan-gongxiang"
    assert "zh-share-membership-family" in client.get(url, headers=editor).json()["warnings"][0]
    r = client.post(f"{url}/publish", json={"base_version": 1}, headers=editor)
    assert r.status_code == 422 and "zh-share-membership-family" in r.json()["detail"]
    r = client.put(url, json={**twin, "base_version": 1}, headers=editor)
    assert r.status_code == 422
    # another question of its own: it may go live
    own = {**twin, "question": "会员能多人登录吗？", "alt_questions": [], "base_version": 1}
    r = client.put(url, json=own, headers=editor)
    assert r.status_code == 200 and r.json()["warnings"] == []
    assert r.json()["entry"]["status"] == "published"
    # a translation link must name an existing entry of the other language
    link = {**SHARE, "translation": "en-share-membership-family", "base_version": 1}
    r = client.put("/api/kb/entries/zh-share-membership-family", json=link, headers=editor)
    assert r.status_code == 422 and "en-share-membership-family" in r.json()["detail"]
    assert "不存在" in r.json()["detail"]
    same_lang = {**link, "translation": "zh-huiyuan-gongxiang"}
    r = client.put("/api/kb/entries/zh-share-membership-family", json=same_lang, headers=editor)
    assert r.status_code == 422 and "语言相同" in r.json()["detail"]
    en = {
        "id": "en-share-membership-family",
        "lang": "en",
        "question": "Can I share my membership with my family?",
        "answer": "Memberships are for one account.",
        "translation": "zh-share-membership-family",
    }
    assert client.post("/api/kb/entries", json=en, headers=editor).status_code == 201
    r = client.put("/api/kb/entries/zh-share-membership-family", json=link, headers=editor)
    assert r.status_code == 200 and r.json()["entry"]["translation"] == en["id"]


def test_import_applies_the_duplicate_and_link_rules_to_the_whole_file(client, editor):
    def imp(rows):
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        return client.post("/api/kb/import?format=jsonl", content=body.encode(), headers=editor)

    assert imp([SHARE]).status_code == 200
    twin = {**SHARE, "id": "zh-huiyuan-gongxiang", "alt_questions": []}
    r = imp([twin])
    assert r.status_code == 422 and "nothing was changed" in r.json()["detail"]
    assert "zh-share-membership-family" in r.json()["detail"]
    r = imp([{**SHARE, "translation": "en-nowhere"}])
    assert r.status_code == 422 and "en-nowhere" in r.json()["detail"]
    # a draft twin comes in with a warning; a file may move a question between entries and
    # bring a pair that link to each other
    r = imp([{**twin, "status": "draft"}])
    assert r.status_code == 200 and "zh-share-membership-family" in r.json()["warnings"][0]
    moved = [
        {**SHARE, "question": "会员可以转让吗？", "alt_questions": [], "translation": "en-x-share"},
        {**twin, "status": "published", "translation": "en-x-share"},
        {
            "id": "en-x-share",
            "lang": "en",
            "question": "Can I share it?",
            "answer": "No.",
            "translation": "zh-huiyuan-gongxiang",
        },
    ]
    r = imp(moved)
    assert r.status_code == 200 and r.json()["warnings"] == [], r.text
    assert client.get("/api/kb/entries/zh-huiyuan-gongxiang", headers=editor).json()["status"] == (
        "published"
    )


@pytest.mark.parametrize("fmt", ["yaml", "csv", "jsonl", "json"])
def test_export_import_round_trip(client, editor, fmt):
    before = client.get("/api/kb/entries", headers=editor).json()
    body = client.get(f"/api/kb/export?format={fmt}", headers=editor).text
    r = client.post(f"/api/kb/import?format={fmt}", content=body.encode(), headers=editor)
    assert r.json() == {
        "created": 0,
        "updated": 0,
        "unchanged": len(before),
        "drafted": 0,
        "warnings": [],
    }
    changed = body.replace(
        "Can I get a refund for a live class?", "Can I get a refund for a live class (直播课)?"
    )
    r = client.post(f"/api/kb/import?format={fmt}", content=changed.encode(), headers=editor)
    assert r.json()["updated"] == 1 and r.json()["index"]["entries"] == len(before)
    bad = client.post(f"/api/kb/import?format={fmt}", content=b"{{not: [valid", headers=editor)
    assert bad.status_code == 422 and "nothing was changed" in bad.json()["detail"]
    bad = client.post(f"/api/kb/import?format={fmt}", content=b"\x00{{", headers=editor)
    assert bad.status_code == 422 and "NUL" in bad.json()["detail"]  # refused at the door


def test_gaps_cluster_and_become_drafts(client, editor):
    headers, cid = start(client)
    rt = client.app.state  # the hub logs gaps when the KB cannot answer
    from kb_index import gaps

    for q in (
        "can I pay in bitcoin",
        "do you accept bitcoin payments",
        "bitcoin payment?",
        "怎么开通花呗分期",
        "能用花呗分期付款吗",
    ):
        rt.db.writing(
            gaps.log_gap,
            conversation_id=cid,
            query=q,
            lang="zh" if "花呗" in q else "en",
            kind="fallback",
            hits=[],
        )
    clusters = client.get("/api/kb/gaps", headers=editor).json()
    sizes = sorted(c["size"] for c in clusters)
    assert sizes[-1] == 3 and 2 in sizes
    biggest = clusters[0]
    r = client.post(
        "/api/kb/gaps/draft",
        headers=editor,
        json={
            "gap_ids": biggest["gap_ids"],
            "lang": biggest["lang"],
            "question": biggest["representative"],
            "alt_questions": biggest["queries"],
        },
    )
    assert r.status_code == 201 and r.json()["entry"]["status"] == "draft"
    entry = r.json()["entry"]
    assert entry["id"] == "en-bitcoin-payment" == biggest["suggested_id"]  # from the question
    # a Chinese cluster gets its words in pinyin, not a numbered "zh-question"
    (zh,) = [c for c in clusters if c["lang"] == "zh"]
    assert zh["suggested_id"].startswith("zh-") and "huabei" in zh["suggested_id"]
    # an unwritten draft does not hide the questions; publishing the entry does
    assert len(client.get("/api/kb/gaps", headers=editor).json()) == len(clusters)
    url = f"/api/kb/entries/{entry['id']}"
    written = {**entry, "answer": "No, only WeChat Pay and Alipay.", "base_version": 1}
    assert client.put(url, json=written, headers=editor).status_code == 200
    assert len(client.get("/api/kb/gaps", headers=editor).json()) == len(clusters)
    client.post(f"{url}/publish", json={"base_version": 2}, headers=editor)
    left = client.get("/api/kb/gaps", headers=editor).json()
    assert len(left) == len(clusters) - 1
    # a nonsense cluster can be dismissed
    r = client.post("/api/kb/gaps/dismiss", json={"gap_ids": left[0]["gap_ids"]}, headers=editor)
    assert r.json() == {"dismissed": 2}
    assert client.get("/api/kb/gaps", headers=editor).json() == []


def test_a_new_entry_written_for_gaps_resolves_them_when_published(client, editor):
    headers, cid = start(client)
    from kb_index import gaps

    gid = client.app.state.db.writing(
        gaps.log_gap,
        conversation_id=cid,
        query="gift cards?",
        lang="en",
        kind="fallback",
        hits=[],
    )
    client.post("/api/kb/entries", json={**NEW, "gap_ids": [gid]}, headers=editor)
    assert len(client.get("/api/kb/gaps", headers=editor).json()) == 1
    client.post("/api/kb/entries/en-gift-cards/publish", json={"base_version": 1}, headers=editor)
    assert client.get("/api/kb/gaps", headers=editor).json() == []


def test_feedback_is_stored_and_not_helpful_offers_next_best(client, editor):
    headers, cid = start(client)
    db = client.app.state.db
    from bot import transcript

    asked = db.writing(transcript.add_message, cid, "learner", "how do I get a refund?", lang="en")
    answer = db.writing(
        transcript.add_message,
        cid,
        "bot",
        "…",
        payload={
            "citation": {"id": "en-refund-policy", "title": "x", "url": "/help/en-refund-policy"}
        },
    )
    url = f"/api/conversations/{cid}/feedback"
    r = client.post(
        url,
        headers=headers,
        json={"entry_id": "en-invoice-request", "message_id": answer.id, "helpful": True},
    )
    assert r.status_code == 422  # that message did not cite that entry
    r = client.post(
        url,
        headers=headers,
        json={"entry_id": "en-refund-policy", "message_id": answer.id, "helpful": False},
    )
    reply = r.json()["reply"]
    ids = [b["payload"] for b in reply["payload"]["buttons"]]
    assert ids[-1] == "/request_human" and all("en-refund-policy" not in p for p in ids)
    assert asked.id < answer.id
    entry = client.get("/api/kb/entries/en-refund-policy", headers=editor).json()
    assert entry["feedback"] == {"helpful": 0, "not_helpful": 1}
    assert any(
        c["kinds"].get("not_helpful") for c in client.get("/api/kb/gaps", headers=editor).json()
    )


def test_agent_saves_an_answer_as_a_draft(client, editor):
    headers, cid = start(client)
    send(client, headers, cid, "Can I pause my membership?")
    send(client, headers, cid, "human", payload="/request_human")
    send(client, headers, cid, "hello? are you there?")  # waiting for a person
    agent = staff_token(client, "agent")
    tid = client.get("/api/agent/queue", headers=agent).json()[0]["id"]
    # the form starts from the question that led to the handoff, not the latest line
    r = client.get(f"/api/agent/tickets/{tid}/kb-draft", headers=agent)
    assert r.json()["question"] == "Can I pause my membership?", r.json()
    assert r.json()["lang"] == "en" and r.json()["id"] == "en-can-i-pause-my-membership"
    r = client.post(
        f"/api/agent/tickets/{tid}/kb-draft",
        headers=agent,
        json={
            "question": "Can I pause my membership?",
            "answer": "Not yet; you can turn off auto-renewal.",
        },
    )
    # ids are permanent and in /help links: read from the question, not a number
    assert r.status_code == 201 and r.json()["entry"]["id"] == "en-can-i-pause-my-membership"
    drafts = client.get("/api/kb/entries?status=draft", headers=editor).json()
    assert [d["question"] for d in drafts] == ["Can I pause my membership?"]
    # a Chinese question gets a pinyin id (and its own language), a second one a number after
    for n in ("", "-2"):
        r = client.post(
            f"/api/agent/tickets/{tid}/kb-draft",
            headers=agent,
            json={"question": "会员能不能共享给家人", "answer": "不能，会员仅限本人使用。"},
        )
        assert r.json()["entry"]["id"] == f"zh-huiyuan-gongxiang-jiaren{n}"
        assert r.json()["entry"]["lang"] == "zh"


def test_the_draft_question_is_the_first_real_one_when_none_came_before(client, editor):
    headers, cid = start(client)
    send(client, headers, cid, "human", payload="/request_human")
    send(client, headers, cid, "How do I get a VAT invoice for my company?")
    send(client, headers, cid, "hello? are you there?")
    agent = staff_token(client, "agent")
    tid = client.get("/api/agent/queue", headers=agent).json()[0]["id"]
    r = client.get(f"/api/agent/tickets/{tid}/kb-draft", headers=agent)
    assert r.json()["question"] == "How do I get a VAT invoice for my company?"
    learner_only = {"Authorization": headers["Authorization"]}
    assert client.get(f"/api/agent/tickets/{tid}/kb-draft", headers=learner_only).status_code in (
        401,
        403,
    )


def test_agents_get_kb_suggestions_for_the_learners_question(client, editor):
    headers, cid = start(client)
    send(client, headers, cid, "What is your refund policy?")
    send(client, headers, cid, "human", payload="/request_human")
    agent = staff_token(client, "agent")
    tid = client.get("/api/agent/queue", headers=agent).json()[0]["id"]
    r = client.get(f"/api/agent/tickets/{tid}/suggestions", headers=agent)
    assert r.status_code == 200
    body = r.json()
    # "human" asks nothing; the question before it is what the suggestions are for
    assert body["query"] == "What is your refund policy?"
    assert body["entries"][0]["id"] == "en-refund-policy"
    assert body["entries"][0]["url"].endswith("/help/en-refund-policy")
    # nudges while waiting match nothing in the KB: the suggestions stay with the question
    send(client, headers, cid, "hello? are you there?")
    body = client.get(f"/api/agent/tickets/{tid}/suggestions", headers=agent).json()
    assert body["query"] == "What is your refund policy?"
    assert body["entries"][0]["id"] == "en-refund-policy"
    # a new question the KB knows takes over
    send(client, headers, cid, "Can I get an invoice for my company?")
    body = client.get(f"/api/agent/tickets/{tid}/suggestions", headers=agent).json()
    assert body["query"] == "Can I get an invoice for my company?"
    assert "refund" not in body["entries"][0]["id"]
    r = client.get(f"/api/agent/tickets/{tid}/suggestions?q=gift a course", headers=agent)
    assert r.json()["query"] == "gift a course" and len(r.json()["entries"]) <= 3
    assert client.get("/api/agent/tickets/99999/suggestions", headers=agent).status_code == 404
    learner_headers = {"Authorization": headers["Authorization"]}
    r = client.get(f"/api/agent/tickets/{tid}/suggestions", headers=learner_headers)
    assert r.status_code in (401, 403)


def test_import_checks_every_row_and_legacy_ids_stay_reachable(client, editor):
    def imp(fmt, text):
        return client.post(f"/api/kb/import?format={fmt}", content=text.encode(), headers=editor)

    row = {k: NEW[k] for k in ("id", "lang", "question", "answer")}
    # a .json array is read; a row without a status comes in as a draft, and says so
    r = imp("json", json.dumps([row]))
    assert r.status_code == 200 and r.json()["created"] == 1 and r.json()["drafted"] == 1
    assert client.get("/api/kb/entries/en-gift-cards", headers=editor).json()["status"] == "draft"
    for fmt, text, why in (
        # one entry not in a list: refused, not "nothing imported"
        ("json", json.dumps({**row, "id": "en-lone"}), "expected a JSON array of entries"),
        ("yaml", "entries:\n  - just a string\n", "expected a mapping"),
        ("json", '["a"]', "expected a mapping"),
        ("jsonl", json.dumps({**row, "id": "S14TEST weird/id"}), "lowercase"),
        ("jsonl", json.dumps({**row, "id": "zh-gift"}), "starts with 'en-'"),
        ("jsonl", json.dumps({**row, "answer": " "}), "blank"),
        ("jsonl", json.dumps(row) + "\n" + json.dumps(row), "also entry 1"),
    ):
        r = imp(fmt, text)
        assert r.status_code == 422, (fmt, text)
        assert "nothing was changed" in r.json()["detail"] and why in r.json()["detail"]
    assert client.get("/api/kb/entries/en-lone", headers=editor).status_code == 404
    # an entry stored before these checks, with an id that is not one URL segment
    from kb_index import Entry, store

    db = client.app.state.db
    db.writing(
        store.save_entry, Entry(id="S14TEST weird/id", lang="en", question="q?", answer="a"), "x"
    )
    url = "/api/kb/entries/S14TEST%20weird%2Fid"
    assert client.get(url, headers=editor).json()["id"] == "S14TEST weird/id"
    assert client.get(url + "/history", headers=editor).json()[0]["version"] == 1
    r = client.post(url + "/archive", json={"base_version": 1}, headers=editor)
    assert r.status_code == 200 and r.json()["entry"]["status"] == "archived"


def test_an_excel_csv_with_a_byte_order_mark_imports(client, editor):
    # Excel's "CSV UTF-8" starts with EF BB BF; it was refused: "lacks the columns id"
    csv = "id,lang,question,answer\nzh-gift-card,zh,能买礼品卡吗？,可以。\n"
    r = client.post(
        "/api/kb/import?format=csv", content=b"\xef\xbb\xbf" + csv.encode(), headers=editor
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1
    assert client.get("/api/kb/entries/zh-gift-card", headers=editor).json()["answer"] == "可以。"


def test_export_follows_the_list_filters_and_help_pages_stay_html(client, editor):
    r = client.get("/api/kb/export?format=jsonl&lang=zh&status=published&q=退款", headers=editor)
    ids = [json.loads(line)["id"] for line in r.text.splitlines()]
    listed = client.get("/api/kb/entries?lang=zh&status=published&q=退款", headers=editor).json()
    assert ids == [e["id"] for e in listed] and 0 < len(ids) < 20
    page = client.get("/help/zh-refund-policy")
    assert 'href="/help/en-refund-policy"' in page.text
    en = client.get("/api/kb/entries/en-refund-policy", headers=editor).json()
    client.post(
        "/api/kb/entries/en-refund-policy/unpublish",
        json={"base_version": en["version"]},
        headers=editor,
    )
    # the English page is offline: no link to it, and its own URL is a readable 404 page
    assert 'href="/help/en-refund-policy"' not in client.get("/help/zh-refund-policy").text
    gone = client.get("/help/en-refund-policy")
    assert gone.status_code == 404 and gone.headers["content-type"].startswith("text/html")
    assert "Help article not found" in gone.text and "找不到" in gone.text


def test_a_live_entry_can_be_edited_without_going_live(client, editor):
    url = "/api/kb/entries/en-gift-cards"
    ask = {"query": "Do you sell gift cards?"}
    client.post("/api/kb/entries", json={**NEW, "status": "published"}, headers=editor)
    change = {**NEW, "answer": "Gift cards are sold out until March.", "base_version": 1}
    r = client.put(url, json={**change, "stage": True}, headers=editor)
    assert r.status_code == 200 and "index" not in r.json()
    staged = r.json()["staged"]
    assert staged["author"] == "editor" and not staged["stale"]
    # learners still get the live text; the editor sees the changes and the list marks them
    entry = client.get(url, headers=editor).json()
    assert entry["answer"] == NEW["answer"] and entry["version"] == 1 and entry["has_staged"]
    assert entry["staged"]["entry"]["answer"] == "Gift cards are sold out until March."
    hit = client.post("/api/kb/try", json=ask, headers=editor).json()
    assert hit["answer_id"] == "en-gift-cards" and "¥50" in hit["answer"]
    listed = client.get("/api/kb/entries?q=gift", headers=editor).json()
    assert [e["has_staged"] for e in listed if e["id"] == "en-gift-cards"] == [True]

    # a colleague with an old view of the staged changes is refused, nothing is lost
    stale = {**change, "stage": True, "answer": "Mia's", "staged_revision": 1}
    r = client.put(url, json=stale, headers=staff_token(client, "admin"))
    assert r.status_code == 409 and "editor" in r.json()["detail"]
    # a draft keeps no changes aside, and a learner cannot touch any of it
    assert client.post(
        f"{url}/staged/discard", json={"staged_revision": 1}, headers=learner_token(client)
    ).status_code in (401, 403)

    # Save & publish of the form loaded from the staged changes puts them live and clears them
    publish = {**change, "status": "published", "staged_revision": staged["revision"]}
    r = client.put(url, json=publish, headers=editor)
    assert r.status_code == 200 and r.json()["entry"]["version"] == 2 and "index" in r.json()
    assert client.get(url, headers=editor).json()["staged"] is None
    hit = client.post("/api/kb/try", json=ask, headers=editor).json()
    assert "sold out" in hit["answer"]

    # staged again, then discarded: the live text stays
    r = client.put(
        url, json={**change, "base_version": 2, "answer": "x", "stage": True}, headers=editor
    )
    rev = r.json()["staged"]["revision"]
    assert (
        client.post(
            f"{url}/staged/discard", json={"staged_revision": rev + 1}, headers=editor
        ).status_code
        == 409
    )
    r = client.post(f"{url}/staged/discard", json={"staged_revision": rev}, headers=editor)
    assert r.status_code == 200 and client.get(url, headers=editor).json()["staged"] is None
    assert client.get(url, headers=editor).json()["answer"] == change["answer"]
    # only a live entry keeps changes aside
    client.post(f"{url}/unpublish", json={"base_version": 2}, headers=editor)
    r = client.put(url, json={**change, "base_version": 3, "stage": True}, headers=editor)
    assert r.status_code == 422 and "草稿" in r.json()["detail"]


def test_the_try_box_previews_the_form_without_publishing(client, editor):
    ask = {"query": "Do you sell gift cards?"}
    live = client.post("/api/kb/try", json=ask, headers=editor).json()
    assert not live["preview"] and "en-gift-cards" not in [h["id"] for h in live["hits"]]
    # an entry nobody saved yet: the preview finds it and says so
    r = client.post("/api/kb/try", json={**ask, "preview": NEW}, headers=editor)
    assert r.status_code == 200 and r.json()["preview"]
    assert r.json()["answer_id"] == "en-gift-cards" and "¥50" in r.json()["answer"]
    # the live index, and the store, are untouched
    again = client.post("/api/kb/try", json=ask, headers=editor).json()
    assert [h["id"] for h in again["hits"]] == [h["id"] for h in live["hits"]]
    assert client.get("/api/kb/entries/en-gift-cards", headers=editor).status_code == 404
    # a form the editor's rules refuse is refused here too, and only editors may preview
    bad = {**NEW, "id": "no language prefix"}
    assert (
        client.post("/api/kb/try", json={**ask, "preview": bad}, headers=editor).status_code == 422
    )
    agent = staff_token(client, "agent")
    assert (
        client.post("/api/kb/try", json={**ask, "preview": NEW}, headers=agent).status_code == 403
    )


def test_an_import_that_fails_halfway_changes_nothing(settings, monkeypatch):
    """One transaction for the whole file: a failure on the third row leaves no trace of the
    first two (they used to be committed one by one)."""
    from kb_index import store

    saved = store.save_entry
    calls = {"n": 0}

    def third_fails(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return saved(*args, **kwargs)

    rows = "\n".join(
        json.dumps({"id": f"en-zzimport-{i}", "lang": "en", "question": f"q{i}?", "answer": "a"})
        for i in range(4)
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        editor = staff_token(client, "editor")
        monkeypatch.setattr(store, "save_entry", third_fails)
        r = client.post("/api/kb/import?format=jsonl", content=rows.encode(), headers=editor)
        assert r.status_code == 500
        monkeypatch.setattr(store, "save_entry", saved)
        listed = client.get("/api/kb/entries?q=zzimport", headers=editor).json()
        assert listed == []
