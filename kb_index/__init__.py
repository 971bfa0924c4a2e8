"""Knowledge base: entries and versions, the hybrid retrieval index, and the answer decision.

A library: callers hand in their SQLite handle and settings; nothing here imports the hub,
the handoff library or the Rasa actions.
"""

from kb_index.decision import Decision, Thresholds, decide
from kb_index.entries import Entry
from kb_index.lang import detect_lang
from kb_index.search import Hit, SearchIndex, SearchSettings

__all__ = [
    "Decision",
    "Entry",
    "Hit",
    "SearchIndex",
    "SearchSettings",
    "Thresholds",
    "decide",
    "detect_lang",
]
