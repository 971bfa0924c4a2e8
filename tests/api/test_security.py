"""Safe by default: demo only when meant, learners vouched for by the course app, staff
managed and throttled, sockets that close when a sign-in ends, abuse limits, bodies that
cannot outgrow their limit, the headers pages need, and the smaller holes."""

import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bot import auth, learner_tokens
from bot.app import create_app
from bot.http_guard import MAX_BODY_BYTES
from tests.api.test_chat_api import bearer, human, signed_socket, start
from tests.conftest import hub_settings, learner_token, staff_token

SECRET = "course-app-secret-for-tests-0123456789"


@pytest.fixture
def production(tmp_path, db_url):  # type: ignore[no-untyped-def]
    """A hub out of demo mode, with a course app that signs learners, and one admin."""
    settings = hub_settings(
        tmp_path, database_url=db_url, demo=False, learner_signing_secret=SECRET
    )
    with TestClient(create_app(settings)) as client:
        client.app.state.db.writing(
            auth.add_staff, "root", "correct horse battery", ["admin"], [], "Root", by="test"
        )
        yield client


def admin(client: TestClient) -> dict:
    r = client.post(
        "/api/auth/login", json={"username": "root", "password": "correct horse battery"}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


# ---- demo is explicit ---------------------------------------------------------------------


def test_demo_mode_follows_the_address_unless_set():
    from bot.settings import Settings

    assert Settings(host="127.0.0.1").demo_mode and Settings(host="localhost").demo_mode
    assert not Settings(host="0.0.0.0").demo_mode
    assert not Settings(host="10.0.0.5").demo_mode
    assert Settings(host="0.0.0.0", demo=True).demo_mode  # only when said
    assert not Settings(host="127.0.0.1", demo=False).demo_mode


def test_outside_demo_mode_there_are_no_demo_learners_nor_demo_staff(production):
    client = production
    assert client.get("/api/demo/learners").status_code == 404
    assert client.post("/api/auth/learner", json={"learner_id": "L1001"}).status_code == 401
    for name in ("admin", "agent", "manager", "editor"):  # data/staff.yml is not seeded
        r = client.post("/api/auth/login", json={"username": name, "password": name})
        assert r.status_code == 401, name
    assert client.get("/api/info").json()["demo"] is False


def test_demo_mode_says_so_to_every_page(client):
    assert client.get("/api/info").json()["demo"] is True
    assert "demoBanner" in client.get("/static/common.js").text


# ---- learners vouched for by the course app ---------------------------------------------------


def test_a_signed_learner_token_opens_a_session_that_ends_with_it(production):
    client = production
    token = learner_tokens.sign(SECRET, "L1001", ttl_s=600, name="李明", locale="zh")
    r = client.post("/api/auth/learner", json={"token": token})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["display_name"], body["locale"]) == ("L1001", "李明", "zh")
    assert body["expires_at"] <= time.time() + 601  # never longer than the course app said
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.post("/api/conversations", headers=headers).status_code == 201


@pytest.mark.parametrize(
    "token",
    [
        learner_tokens.sign("another secret", "L1001"),  # not signed by the course app
        learner_tokens.sign(SECRET, "L1001", audience="someone-else"),
        learner_tokens.sign(SECRET, "L1001", ttl_s=-120),  # expired
        learner_tokens.sign(SECRET, "L1001", ttl_s=30 * 24 * 3600),  # lives too long
        "not.a.jwt",
        "签名不对",  # non-ASCII: was a 500 (TypeError in compare_digest)
        learner_tokens.sign(SECRET, "x" * 65),
    ],
)
def test_an_unsigned_expired_or_foreign_token_is_refused(production, token):
    r = production.post("/api/auth/learner", json={"token": token})
    assert r.status_code == 401 and r.json()["detail"]


# ---- staff: managed, throttled ------------------------------------------------------------------


def test_admins_manage_staff_and_a_disabled_account_is_signed_out_at_once(production):
    client = production
    root = admin(client)
    r = client.post(
        "/api/admin/staff",
        headers=root,
        json={"username": "ann", "roles": ["agent"], "teams": ["billing"], "password": "short"},
    )
    assert r.status_code == 422 and "10" in r.json()["detail"]
    body = {
        "username": "ann",
        "roles": ["agent"],
        "teams": ["billing"],
        "password": "long enough pw",
    }
    assert client.post("/api/admin/staff", headers=root, json=body).status_code == 201
    assert client.post("/api/admin/staff", headers=root, json=body).status_code == 422  # taken
    r = client.post("/api/auth/login", json={"username": "ann", "password": "long enough pw"})
    ann = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/api/agent/queue", headers=ann).status_code == 200
    r = client.patch("/api/admin/staff/ann", headers=root, json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/agent/queue", headers=ann).status_code == 401
    # a new password ends the sessions too
    client.patch("/api/admin/staff/ann", headers=root, json={"active": True})
    r = client.post("/api/auth/login", json={"username": "ann", "password": "long enough pw"})
    ann = {"Authorization": f"Bearer {r.json()['token']}"}
    r = client.post(
        "/api/admin/staff/ann/password", headers=root, json={"password": "another long pw"}
    )
    assert r.status_code == 204
    assert client.get("/api/agent/queue", headers=ann).status_code == 401
    # an admin cannot lock themselves out
    r = client.patch("/api/admin/staff/root", headers=root, json={"active": False})
    assert r.status_code == 409
    assert client.get("/api/admin/staff", headers=ann).status_code == 401


def test_wrong_passwords_are_throttled_per_user_name_and_unknown_names_cost_the_same(
    tmp_path, db_url, monkeypatch
):
    settings = hub_settings(
        tmp_path, database_url=db_url, limit_sign_in_failures="3 per 15 minutes"
    )
    checked = []
    real = auth._check_password
    monkeypatch.setattr(auth, "_check_password", lambda p, s: checked.append(s) or real(p, s))
    with TestClient(create_app(settings)) as client:
        wrong = {"username": "agent", "password": "nope"}
        for _ in range(3):
            assert client.post("/api/auth/login", json=wrong).status_code == 401
        r = client.post("/api/auth/login", json=wrong)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        # even the right password waits: that is what stops guessing
        r = client.post("/api/auth/login", json={"username": "agent", "password": "agent"})
        assert r.status_code == 429
        assert (
            client.post(
                "/api/auth/login", json={"username": "editor", "password": "editor"}
            ).status_code
            == 200
        )
        checked.clear()
        r = client.post("/api/auth/login", json={"username": "nobody-here", "password": "x"})
        assert r.status_code == 401 and len(checked) == 1  # the same scrypt work


def test_sign_ins_messages_and_conversations_are_rate_limited(tmp_path, db_url):
    settings = hub_settings(
        tmp_path,
        database_url=db_url,
        limit_sign_in="3/minute",
        limit_messages="3/minute",
        limit_conversations="2/minute",
    )
    with TestClient(create_app(settings)) as client:
        headers = learner_token(client)
        for _ in range(2):
            assert client.post("/api/conversations", headers=headers).status_code == 201
        r = client.post("/api/conversations", headers=headers)
        assert r.status_code == 429 and "Retry-After" in r.headers
        other = learner_token(client, "L1002")  # another learner: their own count
        cid = client.post("/api/conversations", headers=other).json()["conversation"]["id"]
        for i in range(3):
            r = client.post(
                f"/api/conversations/{cid}/messages", headers=other, json={"text": f"hi {i}"}
            )
            assert r.status_code == 200
        r = client.post(f"/api/conversations/{cid}/messages", headers=other, json={"text": "again"})
        assert r.status_code == 429 and "Retry-After" in r.headers
        stored = client.get(f"/api/conversations/{cid}/messages", headers=other).json()["messages"]
        assert "again" not in [m["text"] for m in stored]  # refused, so not stored: said so
        assert client.post("/api/auth/learner", json={"learner_id": "L1003"}).status_code == 200
        # the fourth sign-in from this address this minute, a staff one: they count together
        r = client.post("/api/auth/login", json={"username": "editor", "password": "editor"})
        assert r.status_code == 429 and "Retry-After" in r.headers


# ---- sockets close when the sign-in ends -----------------------------------------------------


def test_signing_out_closes_the_socket_and_agents_see_only_their_chats(client):
    _, cid = start(client)
    agent = staff_token(client, "agent")
    # no ticket yet: no agent reads this conversation
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        signed_socket(client, cid, bearer(agent)) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4404
    headers, cid, _ = human(client)  # now it waits for the general team
    with signed_socket(client, cid, bearer(agent)) as ws:
        while ws.receive_json()["type"] != "mode":  # the replay, then the mode
            pass
        assert client.post("/api/auth/logout", headers=agent).status_code == 204
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
        assert closed.value.code == 4401
    del headers


# ---- bodies and headers --------------------------------------------------------------------------


def test_a_chunked_body_cannot_outgrow_the_limit(client):
    def chunks():  # no Content-Length: the old check looked at that header only
        for _ in range(MAX_BODY_BYTES // 1024 + 8):
            yield b"x" * 1024

    r = client.post(
        "/api/auth/learner", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and "over" in r.json()["detail"]


def test_pages_carry_a_policy_they_satisfy(tmp_path, db_url):
    settings = hub_settings(
        tmp_path, database_url=db_url, chat_frame_ancestors="https://app.example.com"
    )
    with TestClient(create_app(settings)) as client:
        for path in ("/", "/agent", "/kb", "/dashboard", "/admin", "/api/info"):
            r = client.get(path)
            policy = r.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, path
            assert "frame-ancestors 'none'" in policy and r.headers["x-frame-options"] == "DENY"
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        chat = client.get("/chat").headers
        assert "frame-ancestors https://app.example.com" in chat["content-security-policy"]
        assert "x-frame-options" not in chat
        # the pages keep to it: no inline script, style element or style attribute
        from bot.api.pages import PAGES

        for page in PAGES.glob("*.html"):
            html = page.read_text("utf-8")
            assert "<style" not in html and " style=" not in html, page.name
            scripts = html.count("<script")
            assert scripts == html.count('<script src="/static/'), page.name
            assert " onclick=" not in html and " onload=" not in html, page.name


def test_a_nul_character_is_refused_on_either_engine(client):
    """Found by the fuzzer: PostgreSQL refuses NUL in text, so one let through was a 500 there
    (SQLite stored it)."""
    r = client.post("/api/auth/login", json={"username": "a\u0000b", "password": "x"})
    assert r.status_code == 422 and "NUL" in r.json()["detail"]
    editor = staff_token(client, "editor")
    r = client.get("/api/kb/entries?category=%00", headers=editor)
    assert r.status_code == 422
    # an escaped backslash followed by u0000 is only text
    r = client.post("/api/auth/login", json={"username": "a\\u0000b", "password": "x"})
    assert r.status_code == 401
