"""What the actions need from the hub process: the database, the live KB, the course
platform and the service settings. The hub installs one Runtime at start-up.

Actions run only inside the hub, so the KB index has a single owner that reloads it
when content staff publish.
"""

from dataclasses import dataclass, field

from bot.db import Database
from bot.identity import Policy as IdentityPolicy
from course_platform import CoursePlatform
from course_platform.refund_policy import RefundPolicy
from handoff import BusinessHours
from kb_index.service import KnowledgeBase


@dataclass
class Runtime:
    db: Database  # units of work: `with rt.db.write() as conn:` (bot/db.py)
    kb: KnowledgeBase
    platform: CoursePlatform
    hours: BusinessHours = field(default_factory=BusinessHours)
    base_url: str = ""
    policy: RefundPolicy = field(default_factory=RefundPolicy)
    guides: dict = field(default_factory=dict)  # troubleshooting steps per topic
    # the one-time identity codes' key and limits (bot/identity.py); the hub's comes from
    # bot/keys.py and the settings, a runtime built without one has a key of its own
    identity: IdentityPolicy = field(default_factory=IdentityPolicy.with_own_key)


_current: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def get() -> Runtime:
    if _current is None:
        raise RuntimeError("actions run inside the hub: start it with `afterclass serve`")
    return _current
