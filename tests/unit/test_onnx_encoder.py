"""The onnxruntime MiniLM gives sentence-transformers' own vectors: same model, same name,
so indexes built by either runtime stay interchangeable."""

import numpy as np
import pytest

from kb_index.encoders import SentenceTransformerEncoder

pytestmark = pytest.mark.model

TEXTS = [
    "how do I get a refund?",
    "hi",
    "The video keeps buffering on my phone even on wifi, what should I try before I give up "
    "on this course? " * 12,  # longer than the model's 256 tokens: both truncate alike
    "我的课程怎么退款",  # MiniLM is English-only, but must still agree on any text
    "",
]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("onnx"))
    onnx = SentenceTransformerEncoder(threads=1, runtime="onnx", onnx_cache=cache)
    torch = SentenceTransformerEncoder(threads=1, runtime="torch")
    return onnx, torch


def test_onnx_runtime_matches_sentence_transformers(encoders):
    onnx, torch = encoders
    assert onnx.runtime == "onnx" and torch.runtime == "torch"
    assert onnx.name == torch.name and onnx.dim == torch.dim == 384
    a = onnx.encode(TEXTS, query=True)
    b = torch.encode(TEXTS, query=True)
    assert a.shape == b.shape == (len(TEXTS), 384)
    assert np.abs(a - b).max() < 1e-4
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_batches_and_single_queries_agree(encoders):
    onnx, _ = encoders
    batch = onnx.encode(TEXTS)  # padded, length-sorted batches
    singles = np.vstack([onnx.encode([t], query=True) for t in TEXTS])
    assert np.abs(batch - singles).max() < 1e-4
