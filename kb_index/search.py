"""The hybrid search index: per-language dense vectors plus BM25, fused per entry.

Every question and alternate question of an entry is a row. Entries are split by language
into partitions, each embedded by its language's encoder (MiniLM for English, e5 for
Chinese by default). An entry's score for a query mixes these signals:

- best row: the cosine of its best-matching question or alternate;
- centroid: the cosine to the mean of its question vectors (a prototype: with a handful of
  paraphrases per entry this generalises better than any single one);
- lexical: BM25 of its best-matching row, as a 0..1 share of the query's best case;
- answer: the cosine to the entry's answer (its first `answer_chars` characters as plain
  text), for entries that have one, at a weight each KB chooses for itself (below);
- learned: the probability P of the entry under a softmax classifier trained on the
  partition's own question vectors (below), put on the encoder's cosine range.

    dense = (1 - c) * best_row + c * centroid          c = centroid_weight(lang)
    dense = (1 - a) * dense + a * answer               a = the partition's answer_weight
    dense = (1 - g) * dense + g * (lo + P * (hi - lo)) g = the partition's learned_weight
    fused = w * dense + (1 - w) * lexical              w = dense_weight(lang)
    scaled = (fused - lo) / (hi - lo)                  (lo, hi) = the encoder's score_scale
    score = scaled - anchor + 0.5

The anchor calibrates each KB against itself. At build time every question of the KB (a
sample of 2,000 for big ones) is scored as if it were a user message, against all the
*other* entries: that is what an unanswerable but on-topic message looks like in this KB.
Those near misses are kept (`near`), and the anchor puts their `target_oos_fallback`
quantile (the KB's operating point, 0.85 by default) on the gate, GATE = 0.54: that share of
them scores below it and falls back. A dense KB (BANKING77's 77 neighbouring card and
transfer intents) gets a higher anchor than a sparse one (StackFAQ), and e5's compressed
cosines a different one than MiniLM's. One set of thresholds then serves every KB and both
languages (see decision.py), and the anchor for any other target comes from the stored near
misses (`anchor_at`: the eval's answer/fallback curve). On the dev mixes the real
out-of-scope fallback comes out at or above the target at 0.85 and 0.90 (kb_index/README.md).

An entry's own questions are also indexed by `entries.match_key` (fillers, punctuation,
width and script aside): a query with the same key marks that entry's hit `exact`, ranked
first and answered whatever it scores (decision.py).

Whether answers help depends on the KB: short answers that name the topic ("answer for
card_arrival") pull paraphrases towards the right entry, long real answers mostly add noise
(StackFAQ loses 0.5 point at a = 0.1). So each KB measures it on itself, leave-one-out: every
question of an entry that has two or more is scored as a query against the KB without that
question, at each `answer_weights` value, and the best weight wins if it beats 0 by
`answer_min_gain` on at least `answer_min_queries` such questions; otherwise answers are not
used (and not even embedded). Only the answer weight is chosen this way: tried on the
lexical weight, leave-one-out picked more lexical than real queries want (its held-out
questions share topic words with their siblings more than learners' messages do).

The learned signal is chosen the same way. A multinomial logistic regression over the
partition's entries (L2, C = `learned_c`) learns which directions of the encoder's space
separate this KB's entries, which a cosine cannot: in BANKING77 every question is about a
card, and what tells `card_arrival` from `card_delivery_estimate` is a few words. It is
trained on the question vectors (and each answer vector, when the KB uses answers). At build
time the questions of entries with two or more are cross-fitted in `learned_folds` folds: each
is scored leave-one-out with the probability from a classifier that did not train on it, at
every `learned_weights` value, and the best g is adopted if it beats 0 by `learned_min_gain`
on at least `learned_min_queries` questions; then the final classifier is trained on all of
them and stored. Otherwise nothing is trained and the scores are exactly those without it.
With it on, the anchor must see the classifier as an unanswerable message would: a model that
trained on the question (or its siblings) puts its mass on the question's own entry, so the
other entries get too little and the anchor comes out low. So the anchor's learned term comes
from classifiers trained without the question's whole entry (entries split in folds), with the
own entry out of the softmax, exactly as a missing entry is out of a real KB. Above
`learned_max_entries` entries it is not tried (training cost).
"""

import json
import pickle
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from kb_index.encoders import Encoder, default_anchor, encoder_for, score_scale
from kb_index.entries import Entry, match_key
from kb_index.lang import detect_lang, to_simplified
from kb_index.lexical import BM25
from kb_index.markdown import to_plain

FORMAT_VERSION = 5
# a KB too small to calibrate itself leans on its encoder's default_anchor, weighted as
# this many pseudo-queries
CALIB_PRIOR = 20
DEFAULT_ANCHOR = 0.6
# the score the target quantile of a KB's near misses is put on: the decision's default gate
# (decision.Thresholds), so `target_oos_fallback` of the near misses fall below it
GATE = 0.54
# operating points the eval reports the outcomes of (evaluate.py's `curve`)
CURVE_TARGETS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 0.99)


@dataclass(frozen=True)
class SearchSettings:
    """Fusion weights per query language; chosen on the kbeval dev sets (kb_index/README.md)."""

    # dense share of the fused score; the rest is lexical
    dense_weight_en: float = 0.97
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
    # self-calibration: KB questions scored against the other entries (see the module doc);
    # the share of them that must fall below the gate: the out-of-scope fallback rate the
    # KB is calibrated to (its operating point, AFTERCLASS_KB_TARGET_OOS_FALLBACK)
    target_oos_fallback: float = 0.85
    calib_queries: int = 2000
    # the answer signal: weights tried leave-one-out at build time (see the module doc)
    answer_weights: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)
    answer_min_gain: float = 0.01
    answer_min_queries: int = 30
    answer_chars: int = 300
    # the learned signal: a softmax classifier over the partition's entries, trained on its
    # own questions (+ answers when used), fused into dense at a weight chosen by
    # cross-fitting at build time (see the module doc). (0.0, ...) disables it
    learned_weights: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)
    learned_min_gain: float = 0.01  # top1 gain on held-out questions needed to adopt it
    learned_min_queries: int = 30  # held-out questions needed to measure that gain
    learned_folds: int = 5  # cross-fitting folds over the questions
    # inverse L2 strength (sklearn's C): 100 beat 10 on BANKING77 (0.817 vs 0.812 alone)
    learned_c: float = 100.0
    learned_max_iter: int = 100  # L-BFGS iterations; the dev KBs converge in 50-80
    # above this many entries in a partition the classifier is not tried. A fit costs
    # entries x (questions + answers) per step and a build needs 11 (5 folds for the gate, 5
    # for the anchor, 1 final): BQ's 979 entries took 13 s more to build and the gate said no
    learned_max_entries: int = 500
    # traditional Chinese folded to simplified in entries and queries (lang.to_simplified)
    fold_traditional: bool = True

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
    # the query is one of the entry's own questions, up to fillers, punctuation and width
    # (entries.match_key): answered whatever it scores (decision.py)
    exact: bool = False

    def brief(self) -> dict:
        return {
            "id": self.entry.id,
            "title": self.entry.question,
            "score": round(self.score, 4),
            "dense": round(self.dense, 4),
            "lexical": round(self.lexical, 4),
            "matched": self.matched,
            **({"exact": True} if self.exact else {}),
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
                 anchor: float = DEFAULT_ANCHOR, answers: np.ndarray | None = None,
                 has_answer: np.ndarray | None = None, answer_weight: float = 0.0,
                 learned_w: np.ndarray | None = None, learned_b: np.ndarray | None = None,
                 learned_weight: float = 0.0, near: np.ndarray | None = None,
                 prior: float = DEFAULT_ANCHOR) -> None:
        self.lang = lang
        self.anchor = float(anchor)  # see the module doc; in score_scale units
        # the near misses' top scores (sorted, score_scale units) the anchor was read from,
        # and the encoder's prior: the anchor at any other target (`anchor_at`)
        self.near = near if near is not None else np.zeros(0, np.float32)
        self.prior = float(prior)
        # answer vectors (E, d) and which entries have an answer; used when answer_weight > 0
        self.answers = answers if answers is not None else np.zeros((0, vectors.shape[-1]),
                                                                     np.float32)
        self.has_answer = (has_answer if has_answer is not None
                           else np.zeros(len(row_start), dtype=bool))
        self.answer_weight = float(answer_weight)
        # the learned classifier (d, E) + (E,); used when learned_weight > 0
        self.learned_w = (learned_w if learned_w is not None
                          else np.zeros((vectors.shape[-1], 0), np.float32))
        self.learned_b = learned_b if learned_b is not None else np.zeros(0, np.float32)
        self.learned_weight = float(learned_weight)
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

    def anchor_at(self, target: float) -> float:
        """The anchor this partition would have if calibrated to `target` (module doc)."""
        return _anchor(self.near, target, self.prior)

    def with_answers(self, dense: np.ndarray, q: np.ndarray,
                     cand: np.ndarray | None = None) -> np.ndarray:
        """Blend the answer cosine into dense scores (queries q: (d,) or (m, d); dense over
        all entries, or over `cand`)."""
        a = self.answer_weight
        if a <= 0 or not len(self.answers):
            return dense
        answers = self.answers if cand is None else self.answers[cand]
        has = self.has_answer if cand is None else self.has_answer[cand]
        return np.where(has, (1 - a) * dense + a * (q @ answers.T), dense)

    def with_learned(self, dense: np.ndarray, q: np.ndarray, scale: tuple[float, float],
                     cand: np.ndarray | None = None) -> np.ndarray:
        """Blend the classifier's probability, put on the encoder's scale, into dense scores
        (the softmax is over all the partition's entries, then restricted to `cand`)."""
        g = self.learned_weight
        if g <= 0 or not self.learned_w.shape[1]:
            return dense
        prob = _softmax(q @ self.learned_w + self.learned_b)
        return _blend_learned(dense, prob if cand is None else prob[..., cand], g, scale)


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
        self._pos = {e.id: i for i, e in enumerate(entries)}
        self._keys = self._index_keys()

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
                row_text.append(to_simplified(q) if settings.fold_traditional else q)
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
            _choose_answer_weight(p, [entries[int(i)] for i in p.entry_idx], enc, lexical,
                                  row_text, settings)
            _choose_learned_weight(p, lexical, row_text, settings, score_scale(enc))
            oof = _entry_fold_logits(p, settings) if p.learned_weight > 0 else None
            p.near = _near_misses(p, lexical, row_text, settings, score_scale(enc), oof)
            p.prior = default_anchor(enc)
            p.anchor = _anchor(p.near, settings.target_oos_fallback, p.prior)
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

    def _index_keys(self) -> dict[str, list[int]]:
        """Each question's `match_key` -> the entries asking it (an exact question is
        answered, whatever it scores)."""
        keys: dict[str, list[int]] = {}
        for i, entry in enumerate(self.entries):
            for q in entry.questions():
                key = match_key(q)
                if key and i not in keys.setdefault(key, []):
                    keys[key].append(i)
        return keys

    # ---- persistence ----------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for lang, p in self.parts.items():
            arrays.update({f"{lang}.entry_idx": p.entry_idx, f"{lang}.row_start": p.row_start,
                           f"{lang}.rows": p.rows, f"{lang}.vectors": p.vectors,
                           f"{lang}.anchor": np.float64(p.anchor), f"{lang}.answers": p.answers,
                           f"{lang}.has_answer": p.has_answer,
                           f"{lang}.answer_weight": np.float64(p.answer_weight),
                           f"{lang}.learned_w": p.learned_w, f"{lang}.learned_b": p.learned_b,
                           f"{lang}.learned_weight": np.float64(p.learned_weight),
                           f"{lang}.near": p.near, f"{lang}.prior": np.float64(p.prior)})
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
                                         float(z[f"{lang}.anchor"]), z[f"{lang}.answers"],
                                         z[f"{lang}.has_answer"],
                                         float(z[f"{lang}.answer_weight"]),
                                         z[f"{lang}.learned_w"], z[f"{lang}.learned_b"],
                                         float(z[f"{lang}.learned_weight"]),
                                         z[f"{lang}.near"], float(z[f"{lang}.prior"]))
        if is_compatible(manifest, encoder, settings):
            # seed the encoder's row cache, so the next rebuild re-encodes only what changed
            for lang, p in parts.items():
                remember = getattr(encoder_for(encoder, lang), "remember", None)
                if remember:
                    remember([row_text[int(r)] for r in p.rows], p.vectors)
                    if len(p.answers):
                        texts = [_answer_text(entries[int(i)], settings) for i in p.entry_idx]
                        keep = [j for j, t in enumerate(texts) if t]
                        remember([texts[j] for j in keep], p.answers[keep])
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
        if self.settings.fold_traditional:
            query = to_simplified(query)
        parts = [self.parts[lang]] if lang in self.parts else list(self.parts.values())
        raw, ideal = self.lexical.scores(query)
        lex_rows = np.minimum(raw / ideal, 1.0) if ideal > 0 else np.zeros_like(raw)
        exact = set(self._keys.get(match_key(query), ()))
        qvecs: dict[int, np.ndarray] = {}
        hits: list[Hit] = []
        for part in parts:
            enc = encoder_for(self.encoder, part.lang)
            if id(enc) not in qvecs:
                qv = enc.encode([query], query=True)[0]
                qvecs[id(enc)] = np.ascontiguousarray(qv, dtype=np.float32)
            must = np.flatnonzero(np.isin(part.entry_idx, list(exact))) if exact else None
            hits.extend(self._search_part(part, qvecs[id(enc)], lex_rows, k, score_scale(enc),
                                          must))
        for h in hits:
            h.exact = self._pos[h.entry.id] in exact
        # an entry asked by its own question comes first (the better scored of two such)
        hits.sort(key=lambda h: (not h.exact, -h.score))
        return hits[:k]

    def _search_part(self, p: _Partition, q: np.ndarray, lex_rows: np.ndarray, k: int,
                     scale: tuple[float, float], must: np.ndarray | None = None) -> list[Hit]:
        """The partition's top k entries for query vector q, and the entries `must` (local
        indices: those the query asks by their own question) whatever they score."""
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
            cand, row_sim = self._candidates(p, q, lex_local, must)
            best_row = np.array([row_sim[p.row_start[e]:p.row_end[e]].max() for e in cand])
            cent = p.centroids[cand] @ q
            lex = np.array([lex_local[p.row_start[e]:p.row_end[e]].max() for e in cand])
        dense = p.with_answers((1 - c) * best_row + c * cent, q, cand)
        dense = p.with_learned(dense, q, scale, cand)
        fused = w * dense + (1 - w) * lex
        lo, hi = scale
        score = (fused - lo) / max(hi - lo, 1e-9) - p.anchor + 0.5
        n = len(score)
        top = np.argpartition(-score, min(k, n) - 1)[:k] if n > k else np.arange(n)
        if must is not None and len(must):
            local = must if cand is None else np.flatnonzero(np.isin(cand, must))
            top = np.union1d(top, local)
        top = top[np.argsort(-score[top], kind="stable")]
        hits = []
        for j in top:
            e = int(cand[j]) if cand is not None else int(j)
            a, b = int(p.row_start[e]), int(p.row_end[e])
            best = int(np.argmax(w * row_sim[a:b] + (1 - w) * lex_local[a:b]))
            entry = self.entries[int(p.entry_idx[e])]
            # the question as written (row_text may be folded to simplified characters)
            hits.append(Hit(entry, float(score[j]), float(dense[j]), float(lex[j]),
                            entry.questions()[best]))
        return hits

    def _candidates(self, p: _Partition, q: np.ndarray, lex_local: np.ndarray,
                    must: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Approximate mode: entries near the query by rows, centroids or words (and `must`);
        row similarities are exact for those entries' rows (and -1 elsewhere)."""
        n_cand = self.settings.candidate_rows
        _, ids = p.ann.search(q[None, :], n_cand)
        found = ids[0][ids[0] >= 0]
        cand = set(p.owner[found].tolist())
        if must is not None:
            cand.update(must.tolist())
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
        and manifest.settings == json.loads(json.dumps(asdict(settings)))  # tuples -> lists
    )


def _encoder_info(encoder: Encoder, parts: dict[str, _Partition]) -> dict:
    out = {}
    for lang, p in parts.items():
        enc = encoder_for(encoder, lang)
        dim = int(p.vectors.shape[1]) if p.vectors.ndim == 2 else enc.dim
        out[lang] = {"name": enc.name, "dim": dim, "score_scale": list(score_scale(enc)),
                     "anchor": round(p.anchor, 4), "answer_weight": p.answer_weight,
                     "learned_weight": p.learned_weight, "near_misses": len(p.near)}
    return out


def _near_misses(p: _Partition, lexical: BM25, row_text: list[str], settings: SearchSettings,
                 scale: tuple[float, float],
                 oof: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """The KB's near misses: its own questions scored against the other entries.

    Each sampled row is treated as a query (its vector is the query vector: neither encoder
    prefixes queries differently from questions) and scored exactly as `search` would,
    with its own entry left out. Returns those top scores, sorted, in score_scale units:
    what on-topic questions the KB cannot answer score.
    """
    n_entries, n_rows = len(p.row_start), len(p.rows)
    if n_entries < 2:
        return np.zeros(0, np.float32)
    w, c = settings.dense_weight(p.lang), settings.centroid_weight(p.lang)
    rng = np.random.default_rng(0)
    sample = np.arange(n_rows)
    if n_rows > settings.calib_queries:
        sample = np.sort(rng.choice(n_rows, settings.calib_queries, replace=False))
    tops = []
    chunk = max(1, 4_000_000 // max(n_rows, 1))
    for i in range(0, len(sample), chunk):
        rows = sample[i : i + chunk]
        qv, best_row, cent, lex = _row_signals(p, rows, lexical, row_text)
        dense = p.with_answers((1 - c) * best_row + c * cent, qv)
        if oof is not None and p.learned_weight > 0:
            logits = oof(rows)
            logits[np.arange(len(rows)), p.owner[rows]] = -np.inf
            dense = _blend_learned(dense, _softmax(logits), p.learned_weight, scale)
        fused = w * dense + (1 - w) * lex
        fused[np.arange(len(rows)), p.owner[rows]] = -np.inf
        tops.append(fused.max(axis=1))
    lo, hi = scale
    return np.sort((np.concatenate(tops) - lo) / max(hi - lo, 1e-9)).astype(np.float32)


def _anchor(near: np.ndarray, target: float, prior: float) -> float:
    """The anchor that puts the `target` quantile of the near misses on the gate (GATE): a
    share `target` of them score below it and fall back. Shrunk towards the encoder's prior
    (where a near miss at the old 80th percentile sat) when there are few near misses."""
    offset = GATE - 0.5
    if not len(near):
        return prior
    q = float(np.quantile(near, min(max(target, 0.0), 1.0)))
    n = len(near)
    return (n * q + CALIB_PRIOR * (prior + offset)) / (n + CALIB_PRIOR) - offset


def _self_anchor(p: _Partition, lexical: BM25, row_text: list[str], settings: SearchSettings,
                 scale: tuple[float, float], prior: float,
                 oof: Callable[[np.ndarray], np.ndarray] | None = None) -> float:
    """The anchor calibrated to the settings' target (`_near_misses`, `_anchor`)."""
    near = _near_misses(p, lexical, row_text, settings, scale, oof)
    return _anchor(near, settings.target_oos_fallback, prior)


def _row_signals(p: _Partition, rows: np.ndarray, lexical: BM25, row_text: list[str],
                 sums: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """The partition's own rows (local ids) used as queries: their vectors and, against
    every entry, the best-row, centroid and lexical scores that `search` combines.

    With `sums` (each entry's unnormalised row sum) every row is also held out of its own
    entry: its own row does not count and its entry's centroid is taken without it.
    """
    qv = p.vectors[rows]
    sim = qv @ p.vectors.T
    at = np.arange(len(rows))
    if sums is not None:
        sim[at, rows] = -np.inf
    best_row = np.maximum.reduceat(sim, p.row_start, axis=1)
    cent = qv @ p.centroids.T
    if sums is not None:
        own = p.owner[rows]
        rest = sums[own] - qv
        cent[at, own] = np.einsum("ij,ij->i", qv, rest) / np.maximum(
            np.linalg.norm(rest, axis=1), 1e-12)
    lex = np.zeros_like(cent)
    for j, r in enumerate(rows):
        raw, ideal = lexical.scores(row_text[int(p.rows[r])])
        if ideal > 0:
            local = np.minimum(raw[p.rows] / ideal, 1.0)
            if sums is not None:
                local[r] = 0.0
            lex[j] = np.maximum.reduceat(local, p.row_start)
    return qv, best_row, cent, lex


def _answer_text(entry: Entry, settings: SearchSettings) -> str:
    text = to_plain(entry.answer, settings.answer_chars)
    return to_simplified(text) if settings.fold_traditional else text


def _choose_answer_weight(p: _Partition, entries: list[Entry], enc: Encoder, lexical: BM25,
                          row_text: list[str], settings: SearchSettings) -> None:
    """Pick the partition's answer weight leave-one-out on its own questions (module doc).

    Sets p.answer_weight, and p.answers / p.has_answer when the answers are used.
    """
    p.answer_weight = 0.0
    counts = p.row_end - p.row_start
    texts = [_answer_text(e, settings) for e in entries]
    has = np.array([bool(t) for t in texts], dtype=bool)
    held = np.flatnonzero(counts[p.owner] >= 2)  # rows that can be held out of their entry
    if (len(held) < settings.answer_min_queries or not has.any()
            or max(settings.answer_weights, default=0.0) <= 0):
        return
    rng = np.random.default_rng(0)
    if len(held) > settings.calib_queries:
        held = np.sort(rng.choice(held, settings.calib_queries, replace=False))
    answers = np.zeros((len(entries), p.vectors.shape[1]), dtype=np.float32)
    answers[has] = enc.encode([t for t in texts if t])
    w, c = settings.dense_weight(p.lang), settings.centroid_weight(p.lang)
    sums = np.add.reduceat(p.vectors, p.row_start, axis=0)
    weights = [a for a in settings.answer_weights if a >= 0]
    hits = np.zeros(len(weights))
    chunk = max(1, 4_000_000 // max(len(p.rows), 1))
    for i in range(0, len(held), chunk):
        rows = held[i : i + chunk]
        own = p.owner[rows]
        qv, best_row, cent, lex = _row_signals(p, rows, lexical, row_text, sums)
        dense = (1 - c) * best_row + c * cent
        ans = qv @ answers.T
        for k, a in enumerate(weights):
            fused = w * np.where(has, (1 - a) * dense + a * ans, dense) + (1 - w) * lex
            hits[k] += int(np.sum(fused.argmax(axis=1) == own))
    share = hits / len(held)
    base = share[weights.index(0.0)] if 0.0 in weights else 0.0
    k = int(np.argmax(share))
    if weights[k] > 0 and share[k] - base >= settings.answer_min_gain:
        p.answer_weight, p.answers, p.has_answer = float(weights[k]), answers, has


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _blend_learned(dense: np.ndarray, prob: np.ndarray, g: float,
                   scale: tuple[float, float]) -> np.ndarray:
    """dense at weight 1 - g, the probability mapped onto the encoder's cosine range
    (0 -> lo, 1 -> hi) at weight g: a sure classifier counts like a perfect cosine."""
    lo, hi = scale
    return (1 - g) * dense + g * (lo + prob * (hi - lo))


def _fit_softmax(x: np.ndarray, y: np.ndarray, n_classes: int,
                 settings: SearchSettings) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, L2 on the weights (not the biases): the objective of
    scikit-learn's LogisticRegression(C) divided by n, minimised by L-BFGS from zero in
    float32 (deterministic). Returns W (d, n_classes) and b (n_classes,)."""
    n, d = x.shape
    x = np.ascontiguousarray(x, np.float32)
    lam = np.float32(1.0 / (settings.learned_c * n))
    at = np.arange(n)

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * n_classes].reshape(d, n_classes)
        z = x @ w + theta[d * n_classes:]
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1)
        loss = float(np.sum(np.log(s)) - np.sum(z[at, y])) / n + 0.5 * float(lam * np.sum(w * w))
        g = e / s[:, None]
        g[at, y] -= 1.0
        g /= n
        return loss, np.concatenate([(x.T @ g + lam * w).ravel(), g.sum(axis=0)])

    theta = _lbfgs(loss_grad, np.zeros(d * n_classes + n_classes, np.float32),
                   settings.learned_max_iter)
    return (np.ascontiguousarray(theta[: d * n_classes].reshape(d, n_classes)),
            np.ascontiguousarray(theta[d * n_classes:]))


def _lbfgs(loss_grad: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray,
           max_iter: int, memory: int = 10, gtol: float = 1e-5, ftol: float = 1e-9
           ) -> np.ndarray:
    """Plain L-BFGS (two-loop recursion, Armijo backtracking), in float32. scipy's L-BFGS-B
    (float64) reaches the same top1 but made the dev KBs' builds 3.5-5x slower (BANKING77
    3.4 -> 12.1 s, MASSIVE 3.4 -> 16.4 s, `bench/kb_eval_dev.py`), and a publish waits for
    the build."""
    f, g = loss_grad(x)
    steps: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(max_iter):
        if float(np.abs(g).max()) < gtol:
            break
        q = g.copy()
        alphas = []
        for s, y in reversed(steps):
            alpha = float(s @ q) / float(y @ s)
            alphas.append(alpha)
            q -= alpha * y
        if steps:
            s, y = steps[-1]
            q *= float(s @ y) / float(y @ y)
        else:
            q /= max(float(np.linalg.norm(g)), 1e-12)
        for (s, y), alpha in zip(steps, reversed(alphas), strict=True):
            q += (alpha - float(y @ q) / float(y @ s)) * s
        direction, slope = -q, -float(g @ q)
        if slope >= 0:  # not a descent direction: restart from the gradient
            direction, slope, steps = -g, -float(g @ g), []
        t = 1.0
        while True:
            x_new = x + np.float32(t) * direction
            f_new, g_new = loss_grad(x_new)
            if f_new <= f + 1e-4 * t * slope or t < 1e-10:
                break
            t *= 0.5
        s, y = x_new - x, g_new - g
        if float(s @ y) > 1e-12:
            steps = [*steps[-(memory - 1):], (s, y)]
        done = f - f_new <= ftol * max(abs(f), abs(f_new), 1.0)
        x, f, g = x_new, f_new, g_new
        if done:
            break
    return x


def _training_set(p: _Partition, keep_rows: np.ndarray,
                  keep_entries: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The classifier's samples: the kept rows, labelled by their entry, plus each kept
    entry's answer vector when the partition uses answers."""
    x, y = [p.vectors[keep_rows]], [p.owner[keep_rows]]
    if p.answer_weight > 0:
        has = p.has_answer if keep_entries is None else p.has_answer & keep_entries
        x.append(p.answers[has])
        y.append(np.flatnonzero(has))
    return np.concatenate(x), np.concatenate(y)


def _choose_learned_weight(p: _Partition, lexical: BM25, row_text: list[str],
                           settings: SearchSettings, scale: tuple[float, float]) -> None:
    """Decide by cross-fitting on the partition's own questions whether the classifier
    helps, and train it on everything if so (module doc).

    The questions of entries with two or more are split into `learned_folds` folds, an
    entry's questions spread over different folds; per fold a classifier is trained on all
    the other questions (plus the answers when the partition uses them), and the fold's
    questions are scored leave-one-out as in _choose_answer_weight, with that classifier's
    probability at each `learned_weights` value. The best weight is adopted if it beats 0
    by `learned_min_gain` on at least `learned_min_queries` questions: then p.learned_w,
    p.learned_b and p.learned_weight are set. Otherwise nothing more is trained or stored.
    """
    p.learned_weight = 0.0
    n_entries = len(p.row_start)
    counts = p.row_end - p.row_start
    held = np.flatnonzero(counts[p.owner] >= 2)
    weights = [g for g in settings.learned_weights if g >= 0]
    if (len(held) < settings.learned_min_queries or max(weights, default=0.0) <= 0
            or n_entries < 2 or n_entries > settings.learned_max_entries):
        return
    rng = np.random.default_rng(0)
    k_folds = max(2, settings.learned_folds)
    # an entry's questions go to consecutive folds from a random start; -1: never held out
    start = rng.integers(0, k_folds, n_entries)
    rank = np.arange(len(p.rows)) - p.row_start[p.owner]
    fold = np.where(counts[p.owner] >= 2, (start[p.owner] + rank) % k_folds, -1)
    if len(held) > settings.calib_queries:
        held = np.sort(rng.choice(held, settings.calib_queries, replace=False))
    w, c = settings.dense_weight(p.lang), settings.centroid_weight(p.lang)
    sums = np.add.reduceat(p.vectors, p.row_start, axis=0)
    hits = np.zeros(len(weights))
    for k in range(k_folds):
        rows_k = held[fold[held] == k]
        if not len(rows_k):
            continue
        w_k, b_k = _fit_softmax(*_training_set(p, np.flatnonzero(fold != k)), n_entries,
                                settings)
        chunk = max(1, 4_000_000 // max(len(p.rows), 1))
        for i in range(0, len(rows_k), chunk):
            rows = rows_k[i : i + chunk]
            qv, best_row, cent, lex = _row_signals(p, rows, lexical, row_text, sums)
            dense = p.with_answers((1 - c) * best_row + c * cent, qv)
            prob = _softmax(qv @ w_k + b_k)
            for j, g in enumerate(weights):
                fused = w * _blend_learned(dense, prob, g, scale) + (1 - w) * lex
                hits[j] += int(np.sum(fused.argmax(axis=1) == p.owner[rows]))
    share = hits / len(held)
    base = share[weights.index(0.0)] if 0.0 in weights else 0.0
    j = int(np.argmax(share))
    if weights[j] <= 0 or share[j] - base < settings.learned_min_gain:
        return
    p.learned_w, p.learned_b = _fit_softmax(*_training_set(p, np.arange(len(p.rows))),
                                            n_entries, settings)
    p.learned_weight = float(weights[j])


def _entry_fold_logits(p: _Partition, settings: SearchSettings
                       ) -> Callable[[np.ndarray], np.ndarray]:
    """Out-of-fold logits for the anchor: the entries are split into `learned_folds` groups
    and a classifier is trained without each group (its questions, answers and class), so
    a question's logits come from a model that never saw it nor its entry: an unanswerable
    message, as the anchor means. Returns rows -> (m, E) logits, -inf for the entries of
    the row's own group."""
    n_entries = len(p.row_start)
    k_folds = max(2, settings.learned_folds)
    group = np.random.default_rng(1).permutation(n_entries) % k_folds
    models = []
    for k in range(k_folds):
        kept = np.flatnonzero(group != k)
        remap = np.full(n_entries, -1)
        remap[kept] = np.arange(len(kept))
        x, y = _training_set(p, np.flatnonzero(group[p.owner] != k), group != k)
        models.append((kept, *_fit_softmax(x, remap[y], len(kept), settings)))

    def logits(rows: np.ndarray) -> np.ndarray:
        out = np.full((len(rows), n_entries), -np.inf, np.float32)
        for k, (kept, w_k, b_k) in enumerate(models):
            sel = np.flatnonzero(group[p.owner[rows]] == k)
            if len(sel):
                out[np.ix_(sel, kept)] = p.vectors[rows[sel]] @ w_k + b_k
        return out

    return logits


def _ann_index(vectors: np.ndarray, settings: SearchSettings) -> faiss.Index | None:
    """An HNSW index over the rows when there are too many for exact search, else None."""
    if len(vectors) <= settings.exact_limit:
        return None
    index = faiss.IndexHNSWFlat(vectors.shape[1], settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = settings.hnsw_ef_construction
    index.add(vectors)
    index.hnsw.efSearch = settings.ef_search_for(index.ntotal)
    return index
