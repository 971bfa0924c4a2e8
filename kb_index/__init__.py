"""Knowledge base: entries and versions, the hybrid retrieval index, and the answer decision.

A library: callers hand in a connection (SQLAlchemy, one unit of work: the caller's
transaction, which the library never commits) and settings; nothing here imports the hub,
the handoff library or the Rasa actions.

The names below load on first use, so a light submodule (the ONNX sentence encoders, which
the Rasa environment's featurizer shares) can be imported without faiss or pydantic.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Decision": "kb_index.decision",
    "Thresholds": "kb_index.decision",
    "decide": "kb_index.decision",
    "Entry": "kb_index.entries",
    "detect_lang": "kb_index.lang",
    "Hit": "kb_index.search",
    "SearchIndex": "kb_index.search",
    "SearchSettings": "kb_index.search",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kb_index' has no attribute {name!r}")
