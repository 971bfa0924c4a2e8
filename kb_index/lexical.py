"""Lexical retrieval that works for Chinese and English alike: BM25 over mixed terms.

Chinese has no spaces and the default dense model is English-only, so Chinese queries
rely on jieba words plus character uni/bi-grams; English gets lower-cased, lightly
stemmed words. Both kinds of term live in one vocabulary.
"""

import re
from collections import Counter
from functools import lru_cache

import numpy as np
from scipy import sparse

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_EN_STOP = frozenset(
    "a an the is are am was were be been do does did i me my we our you your it its of to in on"
    " for at by with and or can could would should will please hi hello there this that".split()
)


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def words(text: str) -> list[str]:
    """jieba's words of a text (its dictionary is loaded once, shared with the KB)."""
    return list(_jieba().lcut(text))


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Lexical terms of a text: "w:" words, "c:" CJK characters, "b:" CJK bigrams."""
    out: list[str] = []
    low = text.lower()
    for run in _CJK_RUN.findall(low):
        out.extend("c:" + ch for ch in run)
        out.extend("b:" + run[i : i + 2] for i in range(len(run) - 1))
        out.extend("w:" + w for w in _jieba().lcut(run) if len(w) > 1)
    for word in _WORD.findall(_CJK_RUN.sub(" ", low)):
        if word not in _EN_STOP:
            out.append("w:" + _stem(word))
    return out


class BM25:
    """Okapi BM25 over short documents (questions), as one sparse matrix product."""

    def __init__(self, docs: list[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        tokenised = [terms(d) for d in docs]
        self.vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        for r, toks in enumerate(tokenised):
            for t, n in Counter(toks).items():
                rows.append(r)
                cols.append(self.vocab.setdefault(t, len(self.vocab)))
                vals.append(n)
        n_docs, n_terms = len(docs), len(self.vocab)
        tf = sparse.csr_matrix((vals, (rows, cols)), shape=(n_docs, n_terms), dtype=np.float32)
        lengths = np.asarray(tf.sum(axis=1)).ravel()
        self.avgdl = float(lengths.mean()) if n_docs else 1.0
        df = np.bincount(cols, minlength=n_terms) if cols else np.zeros(n_terms)
        self.idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        # Pre-weight every cell so a query costs one sparse mat-vec.
        coo = tf.tocoo()
        norm = k1 * (1 - b + b * lengths[coo.row] / max(self.avgdl, 1e-9))
        weights = self.idf[coo.col] * coo.data * (k1 + 1) / (coo.data + norm)
        self.matrix = sparse.csr_matrix((weights, (coo.row, coo.col)), shape=tf.shape)

    def scores(self, query: str) -> tuple[np.ndarray, float]:
        """BM25 of the query against every doc, and the query's own best-case score.

        The best case (a doc made of exactly the query's terms) turns raw BM25 into a
        0..1 coverage figure that can be compared across queries and fused with cosine.
        """
        counts = Counter(t for t in terms(query) if t in self.vocab)
        if not counts:
            return np.zeros(self.matrix.shape[0], dtype=np.float32), 0.0
        q = np.zeros(len(self.vocab), dtype=np.float32)
        ideal = 0.0
        qlen = sum(counts.values())
        for t, n in counts.items():
            q[self.vocab[t]] = 1.0
            norm = self.k1 * (1 - self.b + self.b * qlen / max(self.avgdl, 1e-9))
            ideal += float(self.idf[self.vocab[t]]) * n * (self.k1 + 1) / (n + norm)
        return self.matrix @ q, ideal

    @staticmethod
    def unknown_share(query: str, vocab: dict[str, int]) -> float:
        """Share of a query's terms the index has never seen (a hint it is out of scope)."""
        toks = terms(query)
        return 0.0 if not toks else sum(t not in vocab for t in toks) / len(toks)

