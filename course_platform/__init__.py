"""The course platform as the support desk sees it: learners, courses, orders, progress,
refunds and back-office requests.

It sits below both the hub (`bot`) and the Rasa actions, which both need it, and imports
neither: only `kb_index`'s text helpers (the course-name matcher reads traditional
characters as simplified, as search does). `DemoPlatform` is the demo store seeded from
data/platform in the hub's own database; `HttpPlatform` talks to a real platform's HTTP
API. The setting AFTERCLASS_PLATFORM picks one (see `load_platform`). `course_match`
tells which of a learner's orders a message names; `refund_policy` and `validation` are
the platform's rules (who gets a refund, what a tax id or a phone number looks like).
"""

from course_platform.base import (
    Course,
    CoursePlatform,
    Learner,
    Order,
    Progress,
    Refund,
    ServiceRequest,
)
from course_platform.loader import load_platform

__all__ = [
    "Course",
    "CoursePlatform",
    "Learner",
    "Order",
    "Progress",
    "Refund",
    "ServiceRequest",
    "load_platform",
]
