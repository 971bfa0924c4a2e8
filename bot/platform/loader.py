"""Pick the course-platform implementation a deployment configured."""

import importlib
from typing import Any

from bot.platform.base import CoursePlatform


def load_platform(spec: str, db: Any, options: dict[str, Any] | None = None) -> CoursePlatform:
    """spec "sqlite" = the demo store in the hub's database; "http" = HttpPlatform;
    "package.module:Class" = a deployment's own adapter, constructed with **options."""
    if spec == "sqlite":
        from bot.platform.sqlite_store import SqlitePlatform

        return SqlitePlatform(db)
    if spec == "http":
        spec = "bot.platform.http_adapter:HttpPlatform"
    module, _, cls = spec.partition(":")
    if not cls:
        raise ValueError(f"platform spec {spec!r} must be 'sqlite', 'http' or 'module:Class'")
    return getattr(importlib.import_module(module), cls)(**(options or {}))
