"""The packaged all-MiniLM-L6-v2 run by onnxruntime instead of torch.

Same weights, same vectors (within 1e-6 of sentence-transformers; tests/unit/test_onnx_encoder.py),
but a single short query costs ~4 ms on one core instead of ~12 ms: torch's per-operator
overhead dominates a 6-layer model on a dozen tokens. That is most of the KB's search time.

The ONNX graph is exported once from the packaged weights with torch (which the app
environment has anyway) and cached in the clone (`var/models/` by default, written
atomically, keyed by the weights' size and the export settings). Queries need only
onnxruntime and the `tokenizers` library: no torch import in the serving path.
"""

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "var" / "models"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17
EXPORT_VERSION = 1  # bump when export() changes what it writes


def _max_len(model_dir: Path) -> int:
    """sentence-transformers' max_seq_length for the model (256 for all-MiniLM-L6-v2)."""
    try:
        cfg = json.loads((model_dir / "sentence_bert_config.json").read_text())
        return int(cfg.get("max_seq_length", 256))
    except (OSError, ValueError):
        return 256


def onnx_path(model_dir: Path, cache_dir: Path) -> Path:
    """The cached graph's file: keyed by the weights and the export, not by torch's version,
    so serving never imports torch."""
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    key = "|".join([str(model_dir.resolve())] + [f"{w.name}:{w.stat().st_size}" for w in weights]
                   + [str(OPSET), str(EXPORT_VERSION)])
    return cache_dir / f"{model_dir.name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.onnx"


def export_graph(module, args: tuple, out: Path, inputs: list[str], outputs: list[str],
                 axes: dict) -> None:  # type: ignore[no-untyped-def]
    """torch.onnx.export to `out`, atomically (a concurrent reader sees no file or a whole one)."""
    import warnings

    import torch

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on BERT's shape arithmetic
        torch.onnx.export(module, args, str(tmp), input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    os.replace(tmp, out)


def export(model_dir: Path, out: Path) -> Path:
    """Export the transformer (token embeddings out; pooling stays in numpy) to ONNX."""
    import torch
    from transformers import AutoModel

    class TokenEmbeddings(torch.nn.Module):
        # keyword call: positional export trips over BertModel's newer signature
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    dummy = torch.ones((1, 4), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "embeddings")}
    export_graph(TokenEmbeddings(model), (dummy, dummy, torch.zeros_like(dummy)), out,
                 list(INPUTS), ["embeddings"], axes)
    return out


def ort_session(path: Path, threads: int | None):  # type: ignore[no-untyped-def]
    """An onnxruntime CPU session; threads None = onnxruntime's default (all cores)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or 0
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def tokenizer_path(graph: Path) -> Path:
    """The tokenizer saved beside a graph, so the graph alone is enough to encode (the Rasa
    environment has neither torch nor the model's package)."""
    return graph.with_suffix(".tokenizer.json")


def ensure_graph(model_dir: Path, cache_dir: Path) -> Path:
    """The packaged model's graph and tokenizer in `cache_dir`, built once."""
    from tokenizers import Tokenizer

    model_dir = Path(model_dir)
    path = onnx_path(model_dir, cache_dir)
    tok_file = tokenizer_path(path)
    if not tok_file.exists():
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.enable_truncation(_max_len(model_dir))
        tok.enable_padding(pad_id=tok.token_to_id("[PAD]") or 0, pad_token="[PAD]")
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = tok_file.with_suffix(f".{os.getpid()}.tmp")
        tok.save(str(tmp))
        os.replace(tmp, tok_file)
    if not path.exists():
        log.info("exporting %s to ONNX at %s (once)", model_dir.name, path)
        export(model_dir, path)
    return path


class OnnxMiniLM:
    """Mean-pooled, L2-normalised sentence vectors from an exported MiniLM graph."""

    def __init__(self, graph: Path, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        self._session = ort_session(graph, threads)
        # truncation and padding are saved in the tokenizer file
        self._tok = Tokenizer.from_file(str(tokenizer_path(graph)))
        self._lock = threading.Lock()  # the Tokenizer's padding state is shared
        self.dim = int(self._session.get_outputs()[0].shape[-1] or 384)
        self.path = graph

    @classmethod
    def packaged(cls, model_dir: Path, cache_dir: Path | None = None,
                 threads: int | None = None) -> "OnnxMiniLM":
        """From a sentence-transformers model folder, building the graph on first use."""
        return cls(ensure_graph(model_dir, Path(cache_dir or DEFAULT_CACHE)), threads)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # length-sorted batches waste little on padding
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            with self._lock:
                batch = self._tok.encode_batch([texts[i] for i in idx])
            feeds = {
                "input_ids": np.array([b.ids for b in batch], dtype=np.int64),
                "attention_mask": np.array([b.attention_mask for b in batch], dtype=np.int64),
                "token_type_ids": np.array([b.type_ids for b in batch], dtype=np.int64),
            }
            tokens = self._session.run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out
