"""The hybrid search index: dense vectors in FAISS plus BM25, fused per question.

Every question and alternate question of an entry is a row; an entry scores as its
best-matching row, so alternates widen what an entry answers without diluting it.
"""

import json
import pickle
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from kb_index.encoders import Encoder
from kb_index.entries import Entry
from kb_index.lang import detect_lang
from kb_index.lexical import BM25

FORMAT_VERSION = 1


@dataclass(frozen=True)
class SearchSettings:
    """Fusion weights per query language; chosen with `python -m kb_index eval`."""

    dense_weight_en: float = 0.7
    dense_weight_zh: float = 0.3
    # rows scanned before grouping by entry; entries have a handful of rows each
    candidate_rows: int = 64
    # above this many rows the dense side switches from exact to HNSW search
    exact_limit: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_search: int = 128

    def dense_weight(self, lang: str) -> float:
        return self.dense_weight_zh if lang == "zh" else self.dense_weight_en


@dataclass
class Hit:
    entry: Entry
    score: float
    dense: float
    lexical: float
    matched: str  # the question or alternate that matched best

    def brief(self) -> dict:
        return {
            "id": self.entry.id,
            "title": self.entry.question,
            "score": round(self.score, 4),
            "dense": round(self.dense, 4),
            "lexical": round(self.lexical, 4),
            "matched": self.matched,
        }


@dataclass
class Manifest:
    format: int
    model: str
    dim: int
    settings: dict
    entries: dict[str, int]  # entry id -> version
    rows: int
    kind: str
    built_at: float
    build_s: float = 0.0
    extra: dict = field(default_factory=dict)


class SearchIndex:
    def __init__(
        self,
        entries: list[Entry],
        row_entry: np.ndarray,
        row_text: list[str],
        dense: faiss.Index,
        lexical: BM25,
        encoder: Encoder,
        settings: SearchSettings,
        manifest: Manifest,
    ) -> None:
        self.entries = entries
        self.row_entry = row_entry
        self.row_text = row_text
        self.dense = dense
        self.lexical = lexical
        self.encoder = encoder
        self.settings = settings
        self.manifest = manifest
        self._langs = {e.lang for e in entries}

    # ---- building -------------------------------------------------------------------
    @classmethod
    def build(cls, entries: list[Entry], encoder: Encoder, settings: SearchSettings) -> "SearchIndex":
        started = time.perf_counter()
        row_entry: list[int] = []
        row_text: list[str] = []
        for i, entry in enumerate(entries):
            for q in entry.questions():
                row_entry.append(i)
                row_text.append(q)
        vectors = encoder.encode(row_text) if row_text else np.zeros((0, encoder.dim), np.float32)
        dense, kind = _dense_index(vectors, encoder.dim, settings)
        lexical = BM25(row_text)
        manifest = Manifest(
            format=FORMAT_VERSION,
            model=encoder.name,
            dim=encoder.dim,
            settings=asdict(settings),
            entries={e.id: e.version for e in entries},
            rows=len(row_text),
            kind=kind,
            built_at=time.time(),
            build_s=round(time.perf_counter() - started, 3),
        )
        return cls(entries, np.asarray(row_entry, dtype=np.int64), row_text, dense, lexical,
                   encoder, settings, manifest)

    # ---- persistence ----------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.dense, str(directory / "dense.faiss"))
        with open(directory / "lexical.pkl", "wb") as f:
            pickle.dump((self.lexical, self.row_entry, self.row_text), f)
        with open(directory / "entries.jsonl", "w", encoding="utf-8") as f:
            for e in self.entries:
                f.write(e.model_dump_json() + "\n")
        # the manifest is written last: a directory without one is an unfinished build
        (directory / "manifest.json").write_text(json.dumps(asdict(self.manifest), indent=1))

    @staticmethod
    def read_manifest(directory: Path) -> Manifest | None:
        try:
            return Manifest(**json.loads((directory / "manifest.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    @classmethod
    def load(cls, directory: Path, encoder: Encoder, settings: SearchSettings) -> "SearchIndex":
        manifest = cls.read_manifest(directory)
        if manifest is None:
            raise FileNotFoundError(f"no finished index in {directory}")
        dense = faiss.read_index(str(directory / "dense.faiss"))
        with open(directory / "lexical.pkl", "rb") as f:
            lexical, row_entry, row_text = pickle.load(f)
        with open(directory / "entries.jsonl", encoding="utf-8") as f:
            entries = [Entry.model_validate_json(line) for line in f if line.strip()]
        if isinstance(dense, faiss.IndexHNSW):
            dense.hnsw.efSearch = settings.hnsw_ef_search
        return cls(entries, row_entry, row_text, dense, lexical, encoder, settings, manifest)

    def is_compatible(self, encoder: Encoder, settings: SearchSettings) -> bool:
        return is_compatible(self.manifest, encoder, settings)

    # ---- searching ------------------------------------------------------------------
    def search(self, query: str, k: int = 5, lang: str | None = None) -> list[Hit]:
        """Top-k entries for a query, best first, restricted to the query's language
        when the KB has entries in it."""
        if not self.entries or not query.strip():
            return []
        lang = lang or detect_lang(query)
        only = lang if lang in self._langs else None
        w = self.settings.dense_weight(lang)

        n_rows = len(self.row_text)
        dense_scores = np.zeros(n_rows, dtype=np.float32)
        qv = self.encoder.encode([query], query=True)
        n_cand = min(n_rows, self.settings.candidate_rows)
        sims, ids = self.dense.search(qv, n_cand)
        valid = ids[0] >= 0
        dense_scores[ids[0][valid]] = sims[0][valid]

        raw, ideal = self.lexical.scores(query)
        lex_scores = np.minimum(raw / ideal, 1.0) if ideal > 0 else raw

        fused = w * dense_scores + (1 - w) * lex_scores
        # candidates: best rows by either signal, so a strong lexical match is never lost
        cand = set(ids[0][valid].tolist())
        if ideal > 0:
            top_lex = np.argpartition(-lex_scores, min(n_cand, n_rows) - 1)[:n_cand]
            cand.update(top_lex.tolist())
        best: dict[int, int] = {}
        for row in cand:
            e = int(self.row_entry[row])
            if only and self.entries[e].lang != only:
                continue
            if e not in best or fused[row] > fused[best[e]]:
                best[e] = row
        ranked = sorted(best.items(), key=lambda kv: -fused[kv[1]])[:k]
        return [
            Hit(self.entries[e], float(fused[r]), float(dense_scores[r]), float(lex_scores[r]),
                self.row_text[r])
            for e, r in ranked
        ]


def is_compatible(manifest: Manifest | None, encoder: Encoder, settings: SearchSettings) -> bool:
    """An index is reusable only if built by this format, model, dimension and settings."""
    return (
        manifest is not None
        and manifest.format == FORMAT_VERSION
        and manifest.model == encoder.name
        and manifest.dim == encoder.dim
        and manifest.settings == asdict(settings)
    )


def _dense_index(vectors: np.ndarray, dim: int, settings: SearchSettings) -> tuple[faiss.Index, str]:
    if len(vectors) > settings.exact_limit:
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 200
        index.hnsw.efSearch = settings.hnsw_ef_search
        kind = "hnsw"
    else:
        index = faiss.IndexFlatIP(dim)
        kind = "flat"
    if len(vectors):
        index.add(vectors)
    return index, kind
