"""The course platform as the support desk sees it: learners, courses, orders, progress,
refunds and back-office requests.

A leaf package (it imports nothing else from the project) so the Rasa actions can use it.
`SqlitePlatform` is the demo store seeded from data/platform; `HttpPlatform` talks to a real
platform's HTTP API. The setting AFTERCLASS_PLATFORM picks one (see `load_platform`).
"""

from bot.platform.base import (
    Course,
    CoursePlatform,
    Learner,
    Order,
    Progress,
    Refund,
    ServiceRequest,
)
from bot.platform.loader import load_platform

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
