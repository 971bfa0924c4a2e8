"""Pick the course-platform implementation a deployment configured."""

import importlib
from typing import Any

from course_platform.base import CoursePlatform


def load_platform(spec: str, db: Any, options: dict[str, Any] | None = None) -> CoursePlatform:
    """spec "demo" = the demo store in the hub's database ("sqlite", its older name, too);
    "http" = HttpPlatform; "package.module:Class" = a deployment's own adapter, constructed
    with **options."""
    if spec in ("demo", "sqlite"):
        from course_platform.demo_store import DemoPlatform

        return DemoPlatform(db)
    if spec == "http":
        spec = "course_platform.http_adapter:HttpPlatform"
    module, _, cls = spec.partition(":")
    if not cls:
        raise ValueError(f"platform spec {spec!r} must be 'demo', 'http' or 'module:Class'")
    return getattr(importlib.import_module(module), cls)(**(options or {}))
