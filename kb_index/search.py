"""The hybrid search index: per-language dense vectors plus BM25, fused per entry.

Every question and alternate question of an entry is a row. Entries are split by language
into partitions, each embedded by its language's encoder (MiniLM for English, e5 for
Chinese by default). An entry's score for a query mixes three signals:

- best row: the cosine of its best-matching question or alternate;
- centroid: the cosine to the mean of its question vectors (a prototype: with a handful of
  paraphrases per entry this generalises better than any single one);
- lexical: BM25 of its best-matching row, as a 0..1 share of the query's best case.

    dense = (1 - c) * best_row + c * centroid          c = centroid_weight(lang)
    fused = w * dense + (1 - w) * lexical              w = dense_weight(lang)
    scaled = (fused - lo) / (hi - lo)                  (lo, hi) = the encoder's score_scale
    score = scaled - anchor + 0.5

The anchor calibrates each KB against itself. At build time every question of the KB (a
sample of 2,000 for big ones) is scored as if it were a user message, against all the
*other* entries: that is what an unanswerable but on-topic message looks like in this KB.
The anchor is the 80th percentile of those scores, so a score of 0.5 means "as close as the
80th percentile of near-miss questions". A dense KB (BANKING77's 77 neighbouring card and
transfer intents) gets a higher anchor than a sparse one (StackFAQ), and e5's compressed
cosines a different one than MiniLM's; on the dev sets the self-estimated percentile lands
within ~0.02 of the real out-of-scope one. One set of thresholds then serves every KB and
both languages (see decision.py).
"""

import json
import pickle
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from kb_index.encoders import Encoder, default_anchor, encoder_for, score_scale
from kb_index.entries import Entry
from kb_index.lang import detect_lang
from kb_index.lexical import BM25

FORMAT_VERSION = 2
# a KB too small to calibrate itself leans on its encoder's default_anchor, weighted as
# this many pseudo-queries
CALIB_PRIOR = 20
DEFAULT_ANCHOR = 0.6


@dataclass(frozen=True)
class SearchSettings:
    """Fusion weights per query language; chosen on the kbeval dev sets (kb_index/README.md)."""

    # dense share of the fused score; the rest is lexical
    dense_weight_en: float = 0.95
    dense_weight_zh: float = 0.97
    # centroid share of the dense score; the rest is the best single row
    centroid_weight_en: float = 0.5
    centroid_weight_zh: float = 1.0
    # rows (and entries) taken from each signal as candidates when the index is approximate
    candidate_rows: int = 64
    # above this many rows in one language the dense side switches from exact to HNSW
    exact_limit: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80  # 200 builds 2.5x slower for <0.01 recall (bench/kb_scale.py)
    # efSearch at 100k rows, grown with sqrt(rows) above: at 1M rows a fixed 128 kept only
    # 0.90 recall@10 against exact search, 384 kept 0.974 (bench/kb_scale.py --ef-sweep)
    hnsw_ef_search: int = 128
    # self-calibration: KB questions scored against the other entries (see the module doc)
    calib_quantile: float = 0.8
    calib_queries: int = 2000

    def ef_search_for(self, rows: int) -> int:
        return int(min(1024, max(self.hnsw_ef_search, self.hnsw_ef_search * (rows / 1e5) ** 0.5)))

    def dense_weight(self, lang: str) -> float:
        return self.dense_weight_zh if lang == "zh" else self.dense_weight_en

    def centroid_weight(self, lang: str) -> float:
        return self.centroid_weight_zh if lang == "zh" else self.centroid_weight_en


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


class _Partition:
    """The entries of one language: their row vectors, centroids and row layout."""

    def __init__(self, lang: str, entry_idx: np.ndarray, row_start: np.ndarray,
                 rows: np.ndarray, vectors: np.ndarray, ann: faiss.Index | None = None,
                 anchor: float = DEFAULT_ANCHOR) -> None:
        self.lang = lang
        self.anchor = float(anchor)  # see the module doc; in score_scale units
        self.entry_idx = entry_idx  # (E,) indices into SearchIndex.entries
        self.row_start = row_start  # (E,) first local row of each entry; rows are contiguous
        self.rows = rows  # (n,) global row ids, for the lexical scores and row texts
        self.vectors = vectors  # (n, d) L2-normalised
        self.row_end = np.append(row_start[1:], len(rows)).astype(np.int64)
        sums = np.add.reduceat(vectors, row_start, axis=0) if len(rows) else vectors[:0]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        self.centroids = np.ascontiguousarray(sums / np.maximum(norms, 1e-12), dtype=np.float32)
        self.owner = np.repeat(np.arange(len(row_start)), self.row_end - row_start)
        self.ann = ann

    @property
    def kind(self) -> str:
        return "hnsw" if self.ann is not None else "flat"


class SearchIndex:
    def __init__(
        self,
        entries: list[Entry],
        row_entry: np.ndarray,
        row_text: list[str],
        parts: dict[str, _Partition],
        lexical: BM25,
        encoder: Encoder,
        settings: SearchSettings,
        manifest: Manifest,
    ) -> None:
        self.entries = entries
        self.row_entry = row_entry
        self.row_text = row_text
        self.parts = parts
        self.lexical = lexical
        self.encoder = encoder
        self.settings = settings
        self.manifest = manifest
        self._langs = set(parts)

    # ---- building -------------------------------------------------------------------
    @classmethod
    def build(cls, entries: list[Entry], encoder: Encoder,
              settings: SearchSettings) -> "SearchIndex":
        started = time.perf_counter()
        row_entry: list[int] = []
        row_text: list[str] = []
        for i, entry in enumerate(entries):
            for q in entry.questions():
                row_entry.append(i)
                row_text.append(q)
        row_entry_arr = np.asarray(row_entry, dtype=np.int64)
        parts: dict[str, _Partition] = {}
        for lang in sorted({e.lang for e in entries}):
            idx = np.asarray([i for i, e in enumerate(entries) if e.lang == lang], dtype=np.int64)
            rows = np.flatnonzero(np.isin(row_entry_arr, idx))
            counts = np.bincount(row_entry_arr[rows], minlength=len(entries))[idx]
            row_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
            enc = encoder_for(encoder, lang)
            vectors = np.ascontiguousarray(enc.encode([row_text[r] for r in rows]), np.float32)
            parts[lang] = _Partition(lang, idx, row_start, rows, vectors,
                                     _ann_index(vectors, settings))
        lexical = BM25(row_text)
        for lang, p in parts.items():
            enc = encoder_for(encoder, lang)
            p.anchor = _self_anchor(p, lexical, row_text, settings, score_scale(enc),
                                    default_anchor(enc))
        manifest = Manifest(
            format=FORMAT_VERSION,
            model=encoder.name,
            dim=encoder.dim,
            settings=asdict(settings),
            entries={e.id: e.version for e in entries},
            rows=len(row_text),
            kind="+".join(sorted({p.kind for p in parts.values()})) or "flat",
            built_at=time.time(),
            build_s=round(time.perf_counter() - started, 3),
            extra={"encoders": _encoder_info(encoder, parts)},
        )
        return cls(entries, row_entry_arr, row_text, parts, lexical, encoder, settings, manifest)

    # ---- persistence ----------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for lang, p in self.parts.items():
            arrays.update({f"{lang}.entry_idx": p.entry_idx, f"{lang}.row_start": p.row_start,
                           f"{lang}.rows": p.rows, f"{lang}.vectors": p.vectors,
                           f"{lang}.anchor": np.float64(p.anchor)})
            if p.ann is not None:
                faiss.write_index(p.ann, str(directory / f"dense-{lang}.faiss"))
        np.savez(directory / "dense.npz", **arrays)
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
        with open(directory / "lexical.pkl", "rb") as f:
            lexical, row_entry, row_text = pickle.load(f)
        with open(directory / "entries.jsonl", encoding="utf-8") as f:
            entries = [Entry.model_validate_json(line) for line in f if line.strip()]
        parts: dict[str, _Partition] = {}
        with np.load(directory / "dense.npz") as z:
            for lang in sorted({k.split(".")[0] for k in z.files}):
                ann = None
                ann_path = directory / f"dense-{lang}.faiss"
                if ann_path.exists():
                    ann = faiss.read_index(str(ann_path))
                    ann.hnsw.efSearch = settings.ef_search_for(ann.ntotal)
                parts[lang] = _Partition(lang, z[f"{lang}.entry_idx"], z[f"{lang}.row_start"],
                                         z[f"{lang}.rows"], z[f"{lang}.vectors"], ann,
                                         float(z[f"{lang}.anchor"]))
        if is_compatible(manifest, encoder, settings):
            # seed the encoder's row cache, so the next rebuild re-encodes only what changed
            for lang, p in parts.items():
                remember = getattr(encoder_for(encoder, lang), "remember", None)
                if remember:
                    remember([row_text[int(r)] for r in p.rows], p.vectors)
        return cls(entries, row_entry, row_text, parts, lexical, encoder, settings, manifest)

    def is_compatible(self, encoder: Encoder, settings: SearchSettings) -> bool:
        return is_compatible(self.manifest, encoder, settings)

    # ---- searching ------------------------------------------------------------------
    def search(self, query: str, k: int = 5, lang: str | None = None) -> list[Hit]:
        """Top-k entries for a query, best first, restricted to the query's language
        when the KB has entries in it."""
        if not self.entries or not query.strip() or k <= 0:
            return []
        lang = lang or detect_lang(query)
        parts = [self.parts[lang]] if lang in self.parts else list(self.parts.values())
        raw, ideal = self.lexical.scores(query)
        lex_rows = np.minimum(raw / ideal, 1.0) if ideal > 0 else np.zeros_like(raw)
        qvecs: dict[int, np.ndarray] = {}
        hits: list[Hit] = []
        for part in parts:
            enc = encoder_for(self.encoder, part.lang)
            if id(enc) not in qvecs:
                qv = enc.encode([query], query=True)[0]
                qvecs[id(enc)] = np.ascontiguousarray(qv, dtype=np.float32)
            hits.extend(self._search_part(part, qvecs[id(enc)], lex_rows, k, score_scale(enc)))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]

    def _search_part(self, p: _Partition, q: np.ndarray, lex_rows: np.ndarray, k: int,
                     scale: tuple[float, float]) -> list[Hit]:
        s = self.settings
        w, c = s.dense_weight(p.lang), s.centroid_weight(p.lang)
        lex_local = lex_rows[p.rows]
        if p.ann is None:
            cand = None
            row_sim = p.vectors @ q
            best_row = np.maximum.reduceat(row_sim, p.row_start)
            cent = p.centroids @ q
            lex = np.maximum.reduceat(lex_local, p.row_start)
        else:
            cand, row_sim = self._candidates(p, q, lex_local)
            best_row = np.array([row_sim[p.row_start[e]:p.row_end[e]].max() for e in cand])
            cent = p.centroids[cand] @ q
            lex = np.array([lex_local[p.row_start[e]:p.row_end[e]].max() for e in cand])
        dense = (1 - c) * best_row + c * cent
        fused = w * dense + (1 - w) * lex
        lo, hi = scale
        score = (fused - lo) / max(hi - lo, 1e-9) - p.anchor + 0.5
        n = len(score)
        top = np.argpartition(-score, min(k, n) - 1)[:k] if n > k else np.arange(n)
        top = top[np.argsort(-score[top], kind="stable")]
        hits = []
        for j in top:
            e = int(cand[j]) if cand is not None else int(j)
            a, b = int(p.row_start[e]), int(p.row_end[e])
            best = a + int(np.argmax(w * row_sim[a:b] + (1 - w) * lex_local[a:b]))
            hits.append(Hit(self.entries[int(p.entry_idx[e])], float(score[j]), float(dense[j]),
                            float(lex[j]), self.row_text[int(p.rows[best])]))
        return hits

    def _candidates(self, p: _Partition, q: np.ndarray,
                    lex_local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Approximate mode: entries near the query by rows, centroids or words; row
        similarities are exact for those entries' rows (and -1 elsewhere)."""
        n_cand = self.settings.candidate_rows
        _, ids = p.ann.search(q[None, :], n_cand)
        found = ids[0][ids[0] >= 0]
        cand = set(p.owner[found].tolist())
        cent_all = p.centroids @ q
        cand.update(np.argpartition(-cent_all, min(n_cand, len(cent_all)) - 1)[:n_cand].tolist())
        if lex_local.any():
            top_lex = np.argpartition(-lex_local, min(n_cand, len(lex_local)) - 1)[:n_cand]
            cand.update(p.owner[top_lex].tolist())
        cand_arr = np.asarray(sorted(cand), dtype=np.int64)
        row_sim = np.full(len(p.rows), -1.0, dtype=np.float32)
        for e in cand_arr:
            a, b = p.row_start[e], p.row_end[e]
            row_sim[a:b] = p.vectors[a:b] @ q
        return cand_arr, row_sim


def is_compatible(manifest: Manifest | None, encoder: Encoder, settings: SearchSettings) -> bool:
    """An index is reusable only if built by this format, model, dimension and settings."""
    return (
        manifest is not None
        and manifest.format == FORMAT_VERSION
        and manifest.model == encoder.name
        and manifest.dim == encoder.dim
        and manifest.settings == asdict(settings)
    )


def _encoder_info(encoder: Encoder, parts: dict[str, _Partition]) -> dict:
    out = {}
    for lang, p in parts.items():
        enc = encoder_for(encoder, lang)
        dim = int(p.vectors.shape[1]) if p.vectors.ndim == 2 else enc.dim
        out[lang] = {"name": enc.name, "dim": dim, "score_scale": list(score_scale(enc)),
                     "anchor": round(p.anchor, 4)}
    return out


def _self_anchor(p: _Partition, lexical: BM25, row_text: list[str], settings: SearchSettings,
                 scale: tuple[float, float], prior: float) -> float:
    """The KB's near-miss level: its own questions scored against the other entries.

    Each sampled row is treated as a query (its vector is the query vector: neither encoder
    prefixes queries differently from questions) and scored exactly as `search` would,
    with its own entry left out. Returns the calib_quantile of those top scores, in
    score_scale units, shrunk towards the encoder's prior when there are few of them.
    """
    n_entries, n_rows = len(p.row_start), len(p.rows)
    if n_entries < 2:
        return prior
    w, c = settings.dense_weight(p.lang), settings.centroid_weight(p.lang)
    rng = np.random.default_rng(0)
    sample = np.arange(n_rows)
    if n_rows > settings.calib_queries:
        sample = np.sort(rng.choice(n_rows, settings.calib_queries, replace=False))
    tops = []
    chunk = max(1, 4_000_000 // max(n_rows, 1))
    for i in range(0, len(sample), chunk):
        rows = sample[i : i + chunk]
        qv = p.vectors[rows]
        best_row = np.maximum.reduceat(qv @ p.vectors.T, p.row_start, axis=1)
        cent = qv @ p.centroids.T
        lex = np.zeros_like(cent)
        for j, r in enumerate(rows):
            raw, ideal = lexical.scores(row_text[int(p.rows[r])])
            if ideal > 0:
                lex[j] = np.maximum.reduceat(np.minimum(raw[p.rows] / ideal, 1.0), p.row_start)
        fused = w * ((1 - c) * best_row + c * cent) + (1 - w) * lex
        fused[np.arange(len(rows)), p.owner[rows]] = -np.inf
        tops.append(fused.max(axis=1))
    lo, hi = scale
    top = (np.concatenate(tops) - lo) / max(hi - lo, 1e-9)
    q = float(np.quantile(top, settings.calib_quantile))
    n = len(top)
    return (n * q + CALIB_PRIOR * prior) / (n + CALIB_PRIOR)


def _ann_index(vectors: np.ndarray, settings: SearchSettings) -> faiss.Index | None:
    """An HNSW index over the rows when there are too many for exact search, else None."""
    if len(vectors) <= settings.exact_limit:
        return None
    index = faiss.IndexHNSWFlat(vectors.shape[1], settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = settings.hnsw_ef_construction
    index.add(vectors)
    index.hnsw.efSearch = settings.ef_search_for(index.ntotal)
    return index
