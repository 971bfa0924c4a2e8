"""Start the whole product (Rasa + hub) as child processes, wait until both answer,
and stop both together."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot import keys, rasa_env
from bot.rasa_client import api_auth
from bot.settings import ROOT, Settings


@dataclass
class Stack:
    rasa: subprocess.Popen
    hub: subprocess.Popen
    hub_url: str
    rasa_url: str
    started: float = field(default_factory=time.time)
    # how the hub was started, so it can be started again (restart_hub)
    settings: Settings | None = None
    hub_env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None

    def restart_hub(self, *, kill: bool = False, timeout: float = 120) -> None:
        """Stop the hub (SIGKILL with `kill`: a crash, nothing cleaned up) and start it again
        on the same port, database and Rasa; returns once it answers."""
        if self.settings is None:
            raise RuntimeError("this stack does not know how its hub was started")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.hub.pid, signal.SIGKILL if kill else signal.SIGTERM)
        self.hub.wait(timeout=20)
        wait_until(lambda: _port_free(self.settings.host, self.settings.port), 20, [])
        log = self.log_dir / "hub.log" if self.log_dir else None
        self.hub = start_hub(self.settings, env=self.hub_env, log_file=log)
        wait_until(lambda: _ok(f"{self.hub_url}/api/health"), timeout, [self.hub])

    def stop(self) -> None:
        for proc in (self.hub, self.rasa):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in (self.hub, self.rasa):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def start_hub(
    settings: Settings, *, env: dict[str, str] | None = None, log_file: Path | None = None
) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bot.app:create_app",
        "--factory",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--log-level",
        "warning",
    ]
    out = open(log_file, "ab") if log_file else None  # noqa: SIM115 (lives with the child)
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=out or sys.stdout,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until(check, timeout: float, procs: list[subprocess.Popen]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{' '.join(map(str, p.args[:3]))} exited with {p.returncode}")
        if check():
            return
        time.sleep(0.3)
    raise TimeoutError(f"not ready after {timeout:.0f}s")


def _ok(url: str, key: str | None = None, headers: dict[str, str] | None = None) -> bool:
    try:
        r = httpx.get(url, timeout=2, headers=headers)
        return r.status_code == 200 and (key is None or bool(r.json().get(key)))
    except (httpx.HTTPError, ValueError):
        return False


class PortInUse(RuntimeError):
    """Another process (often an earlier `afterclass run`) already listens on a port."""


def _port_free(host: str, port: int) -> bool:
    try:
        check_port_free(host, port)
    except PortInUse:
        return False
    return True


def check_port_free(host: str, port: int) -> None:
    # Without this, a leftover hub on the same port answers our readiness check and we
    # would report "ready" for servers that are not ours.
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and Rasa bind
        try:
            s.bind((host, port))
        except OSError as e:
            raise PortInUse(
                f"{host}:{port} is already in use ({e.strerror}); stop what runs there (an "
                "earlier `afterclass run`?) or pick other ports with AFTERCLASS_PORT / "
                "AFTERCLASS_RASA_PORT"
            ) from None


def start_stack(
    settings: Settings,
    model: Path,
    *,
    log_dir: Path | None = None,
    hub_env: dict[str, str] | None = None,
    timeout: float = 180,
) -> Stack:
    """Rasa and the hub, each in its own process group; returns once both answer."""
    check_port_free(settings.host, settings.port)
    check_port_free("127.0.0.1", settings.rasa_port)
    hub_url = f"http://{settings.host}:{settings.port}"
    rasa_url = f"http://127.0.0.1:{settings.rasa_port}"
    # both processes learn the shared secrets from us (kept in var/secrets/, bot/keys.py)
    actions_token = keys.secret(settings, "actions_token")
    rasa_token = keys.secret(settings, "rasa_token")
    rasa = rasa_env.start_server(
        model,
        port=settings.rasa_port,
        actions_url=f"{hub_url}/webhook",
        actions_token=actions_token,
        rasa_token=rasa_token,
        tracker_db=settings.tracker_path,
        log_file=log_dir / "rasa.log" if log_dir else None,
    )
    env = {
        "AFTERCLASS_RASA_URL": rasa_url,
        "AFTERCLASS_PORT": str(settings.port),
        "AFTERCLASS_HOST": settings.host,
        "AFTERCLASS_ACTIONS_TOKEN": actions_token,
        "AFTERCLASS_RASA_TOKEN": rasa_token,
        # the file Rasa keeps its events in is the one an erasure and the purge clear
        "AFTERCLASS_TRACKER_DB": str(settings.tracker_path),
        **(hub_env or {}),
    }
    hub = start_hub(settings, env=env, log_file=log_dir / "hub.log" if log_dir else None)
    stack = Stack(rasa, hub, hub_url, rasa_url, settings=settings, hub_env=env, log_dir=log_dir)
    try:
        wait_until(lambda: _ok(f"{hub_url}/api/health"), timeout, [rasa, hub])
        # /status is behind Rasa's JWT like the rest of its API
        status = f"{rasa_url}/status"
        wait_until(lambda: _ok(status, "model_file", api_auth(rasa_token)), timeout, [rasa, hub])
    except BaseException:
        stack.stop()
        raise
    return stack
