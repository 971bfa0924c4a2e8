"""The live knowledge base: one owner of the index, rebuilt beside the old one and
swapped in atomically, so searches during a publish keep working."""

import dataclasses
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kb_index.decision import Decision, Thresholds, decide
from kb_index.encoders import Encoder
from kb_index.entries import Entry
from kb_index.search import Hit, SearchIndex, SearchSettings, is_compatible

log = logging.getLogger(__name__)
KEEP_BUILDS = 2


class PreviewBusy(RuntimeError):
    """Another preview index is being built."""


class KnowledgeBase:
    def __init__(
        self,
        index_dir: Path,
        encoder: Encoder,
        settings: SearchSettings | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.encoder = encoder
        self.settings = settings or SearchSettings()
        self.thresholds = thresholds or Thresholds()
        self._index: SearchIndex | None = None
        self._build_lock = threading.RLock()  # rebuild_from holds it around rebuild
        self._preview_lock = threading.Lock()

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            raise RuntimeError("the KB index is not loaded yet")
        return self._index

    @property
    def current_dir(self) -> Path:
        return self.index_dir / "current"

    def ensure(self, entries: list[Entry]) -> str:
        """Load the index on disk if it matches these entries and settings, else rebuild.

        Returns "loaded" or "built".
        """
        manifest = SearchIndex.read_manifest(self.current_dir)
        wanted = {e.id: e.version for e in entries}
        if is_compatible(manifest, self.encoder, self.settings) and manifest.entries == wanted:
            self._index = SearchIndex.load(self.current_dir, self.encoder, self.settings)
            return "loaded"
        self.rebuild(entries)
        return "built"

    def rebuild(self, entries: list[Entry]) -> SearchIndex:
        """Build a new index beside the live one, then swap it in (on disk and in memory)."""
        with self._build_lock:
            started = time.perf_counter()
            index = SearchIndex.build(entries, self.encoder, self.settings)
            builds = self.index_dir / "builds"
            target = builds / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
            index.save(target)
            tmp_link = self.index_dir / f".current-{uuid.uuid4().hex[:6]}"
            tmp_link.symlink_to(target.relative_to(self.index_dir))
            tmp_link.replace(self.current_dir)  # rename(2): atomic on POSIX
            self._index = index  # a single reference assignment: readers see old or new
            self._prune(builds, keep=target)
            log.info(
                "KB index rebuilt: %d entries, %d rows in %.2fs",
                len(entries),
                index.manifest.rows,
                time.perf_counter() - started,
            )
            return index

    def rebuild_from(self, load: Callable[[], list[Entry]]) -> SearchIndex:
        """Rebuild from the entries `load` reads, read under the build lock: of two publishes
        at once, the later build always sees the later set."""
        with self._build_lock:
            return self.rebuild(load())

    def preview(self, entries: list[Entry]) -> SearchIndex:
        """A throwaway index of these entries, never saved nor swapped in: what the bot
        would do if an editor's unsaved text were live. One at a time (a build takes a core
        for seconds on the seed KB); a second caller gets PreviewBusy instead of queueing."""
        if not self._preview_lock.acquire(blocking=False):
            raise PreviewBusy("a preview is being built; try again in a few seconds")
        try:
            return SearchIndex.build(entries, self.encoder, self._preview_settings())
        finally:
            self._preview_lock.release()

    def _preview_settings(self) -> SearchSettings:
        """The live index's settings, minus the learned signal's gate when no language of
        the live index adopted it: the gate cross-fits a classifier in 5 folds per language,
        seconds of CPU on every preview (most of a preview's time on the seed KB, which does
        not adopt it) to re-decide what one edited entry does not change. A KB that uses the
        signal keeps the gate, so its preview trains the classifier as a publish would."""
        live = self._index
        if live is not None and all(p.learned_weight <= 0 for p in live.parts.values()):
            return dataclasses.replace(self.settings, learned_weights=(0.0,))
        return self.settings

    def _prune(self, builds: Path, keep: Path) -> None:
        old = sorted(p for p in builds.iterdir() if p != keep)
        for p in old[: max(len(old) - (KEEP_BUILDS - 1), 0)]:
            shutil.rmtree(p, ignore_errors=True)

    def search(self, query: str, k: int = 5, lang: str | None = None) -> list[Hit]:
        return self.index.search(query, k=k, lang=lang)

    def answer(self, query: str, lang: str | None = None) -> Decision:
        return decide(
            self.search(query, k=max(5, self.thresholds.clarify_max), lang=lang), self.thresholds
        )
