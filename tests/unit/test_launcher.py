"""The launcher refuses ports that are taken instead of mistaking another server for its own."""

import re
import socket

import pytest

from bot.launcher import PortInUse, check_port_free


def test_a_taken_port_is_refused_with_a_clear_message():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortInUse, match=f"127.0.0.1:{port} is already in use"):
            check_port_free("127.0.0.1", port)
    check_port_free("127.0.0.1", port)  # free again once closed


def test_the_run_banner_names_every_page_and_how_each_user_signs_in(tmp_path):
    # QA: the banner listed only /chat and /agent
    from bot.cli import banner
    from bot.settings import ROOT, Settings

    settings = Settings(var_dir=tmp_path, staff_seed=ROOT / "data" / "staff.yml")
    text = banner(settings, "http://127.0.0.1:5005", 18)
    base = settings.base_url
    for page in ("/chat", "/agent", "/kb", "/dashboard", "/docs"):
        assert re.search(rf"{re.escape(base + page)}(\s|$)", text, re.M), page
    assert "agent / agent" in text and "editor / editor" in text and "manager / manager" in text
    assert "demo learner" in text
    quiet = banner(Settings(var_dir=tmp_path, demo=False), "http://r", 1)
    assert "editor / editor" not in quiet and "signed from the course app" in quiet


def test_internal_secrets_are_made_once_and_kept_private(tmp_path):
    from bot import keys
    from bot.settings import Settings

    settings = Settings(var_dir=tmp_path)
    first = keys.secret(settings, "actions_token")
    assert len(first) >= 32 and keys.secret(settings, "actions_token") == first
    path = tmp_path / "secrets" / "actions_token"
    assert path.stat().st_mode & 0o077 == 0  # its owner's only
    assert keys.secret(settings, "rasa_token") != first
    assert keys.secret(Settings(var_dir=tmp_path, actions_token="set"), "actions_token") == "set"
