"""Abuse limits: how many sign-ins, conversations and messages a learner, a user name or an
address may make in a window, with a 429 and Retry-After past it.

The `limits` library counts in moving windows, in this process's memory: right for one hub
process (several processes would each count on their own; a shared Redis store belongs
behind the same `hit`). The rules are settings (`limit_*`, the library's "30/minute"
notation), so an operator can loosen them for a class that signs in at once.
"""

import time

from fastapi import HTTPException
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from bot.settings import Settings

RULES = (
    "limit_sign_in",
    "limit_sign_in_failures",
    "limit_conversations",
    "limit_messages",
    "limit_messages_address",
)


def unlimited_env(per_minute: int = 100_000) -> dict[str, str]:
    """The environment of a hub whose clients are many simulated learners behind one
    loopback address (the end-to-end tests, the load benches): limits out of their way.
    tests/api/test_security.py checks the limits themselves."""
    return {f"AFTERCLASS_{rule.upper()}": f"{per_minute}/minute" for rule in RULES}


class TooMany(HTTPException):
    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(
            429,
            f"too many {what}: try again in {retry_after} s"
            f" · 操作过于频繁，请 {retry_after} 秒后再试",
            headers={"Retry-After": str(retry_after)},
        )


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rules = {name: parse(getattr(settings, name)) for name in RULES}

    def _retry_after(self, rule: str, keys: tuple[str, ...]) -> int:
        reset, _ = self._limiter.get_window_stats(self._rules[rule], rule, *keys)
        return max(1, int(reset - time.time()) + 1)

    def hit(self, rule: str, what: str, *keys: str) -> None:
        """Count one more; TooMany (429) past the limit."""
        if not self._limiter.hit(self._rules[rule], rule, *keys):
            raise TooMany(what, self._retry_after(rule, keys))

    def check(self, rule: str, what: str, *keys: str) -> None:
        """TooMany if the limit is already reached; counts nothing."""
        if not self._limiter.test(self._rules[rule], rule, *keys):
            raise TooMany(what, self._retry_after(rule, keys))

    def clear(self, rule: str, *keys: str) -> None:
        self._limiter.clear(self._rules[rule], rule, *keys)
