"""A Rasa slower than the hub's timeout, reproducibly: a second hub that reaches the real
Rasa through a link that holds every turn's answer back.

`SlowLink` forwards every request to Rasa unchanged and, for turns (POSTs to a channel
webhook), waits `delay` seconds before passing Rasa's answer on. Rasa has run the whole
turn by then (its actions have filed their tickets through the first hub's /webhook), so
the hub sees exactly what a slow Rasa gives it: no answer within its timeout, then the
answer. `slow_hub` starts a second hub process on the same database, var dir and secrets,
whose Rasa URL is the link; the first hub keeps serving Rasa's action calls.

Used by tests/e2e/test_two_needs_end_to_end.py and bench/blind_set.py.
"""

import contextlib
import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bot.launcher import Stack, start_hub, wait_until
from bot.settings import Settings

# the hub's own timeout on the second hub, and how long the link holds a turn back
HUB_TIMEOUT_S = 1.0
DELAY_S = 1.8


class SlowLink:
    """An HTTP relay to `target` that holds back the answers of turns (module doc)."""

    def __init__(self, target: str, delay: float = DELAY_S) -> None:
        outer = self
        self.delay = delay
        self._client = httpx.Client(base_url=target.rstrip("/"), timeout=120)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection")
                }
                r = outer._client.request(self.command, self.path, content=body, headers=headers)
                if self.command == "POST" and self.path.startswith("/webhooks/"):
                    time.sleep(outer.delay)  # the turn is done in Rasa; its answer is late
                raw = r.content
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_DELETE = _relay  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._client.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def slow_hub(stack: Stack, delay: float = DELAY_S, env: dict[str, str] | None = None,
             log_dir: Path | None = None) -> Iterator[str]:
    """A second hub on `stack`'s database whose Rasa answers every turn `delay` seconds
    late, past its own timeout (HUB_TIMEOUT_S); yields its URL."""
    if stack.settings is None:
        raise RuntimeError("this stack does not know how its hub was started")
    link = SlowLink(stack.rasa_url, delay)
    port = _free_port()
    settings = Settings(
        var_dir=stack.settings.var_dir, host="127.0.0.1", port=port,
        rasa_port=stack.settings.rasa_port,
    )
    hub_env = {
        **stack.hub_env,
        **(env or {}),
        "AFTERCLASS_PORT": str(port),
        "AFTERCLASS_RASA_URL": link.url,
        "AFTERCLASS_RASA_TIMEOUT_S": str(HUB_TIMEOUT_S),
    }
    log = (log_dir or stack.log_dir)
    hub = start_hub(settings, env=hub_env, log_file=log / "slow-hub.log" if log else None)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(url), 180, [hub])
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(hub.pid, 15)
        hub.wait(timeout=20)
        link.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
