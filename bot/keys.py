"""The hub's internal secrets: the token Rasa sends with action calls (`actions_token`), the
one the hub sends to Rasa (`rasa_token`), the key of erased learners' pseudonyms
(`pseudonym_key`) and the one one-time identity codes are hashed with (`identity_key`). A
setting wins (the first two have one); without one, the secret is
made once, kept in var/secrets/<name> (readable by its owner only) and reused, so the hub
and the Rasa server `afterclass run` starts always agree, and a restart changes nothing."""

import os
import secrets
from pathlib import Path

from bot.settings import Settings

NAMES = ("actions_token", "rasa_token", "pseudonym_key", "identity_key")


def secret(settings: Settings, name: str) -> str:
    """The setting if it is set, else the kept secret (made the first time)."""
    if name not in NAMES:
        raise KeyError(name)
    configured = getattr(settings, name, "")
    if configured:
        return configured
    path = Path(settings.var_dir) / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(32)
    # created with mode 0600 before anything is written; a racing creator loses cleanly
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value
