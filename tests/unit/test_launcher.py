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
    quiet = banner(
        Settings(var_dir=tmp_path, staff_seed=None, demo_learner_login=False), "http://r", 1
    )
    assert "editor / editor" not in quiet and "signed from the course app" in quiet
