"""The launcher refuses ports that are taken instead of mistaking another server for its own."""

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
