"""The whole path with real processes: Rasa server + hub, real SQLite, real MiniLM.

Everything goes through the hub's public API, as the course app and the agent console do.
"""

import json
import time

import httpx
import pytest
from websockets.sync.client import connect

pytestmark = pytest.mark.e2e


class Learner:
    def __init__(self, base: str, learner_id: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        token = self.http.post("/api/auth/learner", json={"learner_id": learner_id}).json()["token"]
        self.token = token
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.cid = self.http.post("/api/conversations").json()["conversation"]["id"]

    def say(self, text: str) -> dict:
        r = self.http.post(f"/api/conversations/{self.cid}/messages", json={"text": text})
        assert r.status_code == 200, r.text
        return r.json()


def agent_client(base: str, username: str = "agent") -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=30)
    token = http.post("/api/auth/login", json={"username": username, "password": username}).json()[
        "token"
    ]
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def cited(reply: dict) -> str | None:
    return (reply["payload"].get("citation") or {}).get("id")


def test_faq_answers_cite_the_right_entry_in_both_languages(stack):
    en = Learner(stack.hub_url, "L1002")
    out = en.say("Is it possible to download the lessons and watch them offline?")
    assert out["message"]["intent"] == "ask_question"
    assert [cited(r) for r in out["replies"]] == ["en-offline-download"]
    assert "en-offline-download" in out["replies"][0]["text"]

    zh = Learner(stack.hub_url, "L1001")
    out = zh.say("课程视频能不能下载下来离线看？")
    assert [cited(r) for r in out["replies"]] == ["zh-offline-download"]
    assert "来源" in out["replies"][0]["text"]
    # the citation links to a page that exists
    page = httpx.get(out["replies"][0]["payload"]["citation"]["url"])
    assert page.status_code == 200 and "离线" in page.text


def test_handoff_round_trip(stack):
    learner = Learner(stack.hub_url, "L1003")
    learner.say("你好")
    out = learner.say("转人工")
    assert out["message"]["intent"] == "request_human"
    assert out["mode"] == "human"
    assert out["replies"][-1]["payload"]["event"] == "handoff"

    agent = agent_client(stack.hub_url)
    queue = agent.get("/api/agent/queue").json()
    ticket = next(t for t in queue if t["conversation_id"] == learner.cid)
    assert ticket["status"] == "queued" and ticket["reason"] == "learner_asked"

    ws_url = stack.hub_url.replace("http", "ws") + f"/api/conversations/{learner.cid}/ws"
    with connect(ws_url) as ws:
        ws.send(json.dumps({"type": "auth", "token": learner.token}))
        backlog_ids = []
        while True:  # replayed history, then the current mode
            event = json.loads(ws.recv(timeout=10))
            if event["type"] == "mode":
                assert event["mode"] == "human"
                break
            backlog_ids.append(event["message"]["id"])
        assert agent.post(f"/api/agent/tickets/{ticket['id']}/claim").status_code == 200
        assert agent.post(f"/api/agent/tickets/{ticket['id']}/claim").status_code == 409
        r = agent.post(
            f"/api/agent/tickets/{ticket['id']}/reply",
            json={"text": "您好，我是客服小安，请问有什么可以帮您？"},
        )
        assert r.status_code == 200
        received = []
        deadline = time.time() + 10
        while time.time() < deadline:
            event = json.loads(ws.recv(timeout=10))
            if event["type"] == "message":
                received.append(event["message"])
                if event["message"]["sender"] == "agent":
                    break
        assert received[-1]["text"] == "您好，我是客服小安，请问有什么可以帮您？"
        assert any(m["payload"].get("event") == "claimed" for m in received)

    # human mode: the learner's message reaches the agent, the bot stays silent
    out = learner.say("我的发票一直没收到")
    assert out["replies"] == [] and out["mode"] == "human"
    transcript = agent.get(f"/api/agent/conversations/{learner.cid}/messages").json()["messages"]
    senders = [m["sender"] for m in transcript]
    assert senders[:2] == ["learner", "bot"]  # the bot part is in the agent's view
    assert transcript[-1]["text"] == "我的发票一直没收到"

    r = agent.post(f"/api/agent/tickets/{ticket['id']}/resolve", json={"note": "已补发"})
    assert r.status_code == 200
    out = learner.say("谢谢")
    assert out["mode"] == "bot"
    assert out["message"]["intent"] == "thank"
    assert [r["sender"] for r in out["replies"]] == ["bot"]
    assert (
        learner.http.post(f"/api/conversations/{learner.cid}/csat", json={"score": 4}).json()[
            "csat"
        ]
        == 4
    )


def test_rasa_knows_the_learner_from_the_hub_not_from_the_text(stack):
    learner = Learner(stack.hub_url, "L1004")
    learner.say("hello")
    from bot import keys
    from bot.rasa_client import RasaClient

    as_hub = RasaClient(stack.rasa_url, 5, token=keys.secret(stack.settings, "rasa_token"))
    url = f"{stack.rasa_url}/conversations/{learner.cid}/tracker"
    tracker = httpx.get(url, headers=as_hub._api()).json()
    assert tracker["latest_message"]["metadata"]["learner_id"] == "L1004"
    assert tracker["slots"]["lang"] == "en"


def test_rasa_answers_only_the_hub(stack):
    """Rasa listens on loopback, and even there only the hub gets in: its channel wants the
    hub's token in a header, its API a JWT signed with it. Anyone else could speak for any
    learner (the learner id travels in the message's metadata) or read any conversation."""
    body = {"sender": "c_x", "message": "我要退款", "metadata": {"learner_id": "L1001"}}
    assert httpx.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=body).status_code == 404
    r = httpx.post(f"{stack.rasa_url}/webhooks/hub/webhook", json=body)
    assert r.status_code == 403
    wrong = {"X-AfterClass-Token": "guess"}
    r = httpx.post(f"{stack.rasa_url}/webhooks/hub/webhook", json=body, headers=wrong)
    assert r.status_code == 403
    assert httpx.get(f"{stack.rasa_url}/conversations/c_x/tracker").status_code == 401
    assert httpx.post(f"{stack.rasa_url}/model/parse", json={"text": "hi"}).status_code == 401
