"""The Rasa layer: training data validation and end-to-end test stories on a trained model."""

import subprocess
import sys

import pytest

from bot import rasa_env
from bot.settings import ROOT

pytestmark = pytest.mark.rasa


def test_training_data_validates_without_warnings():
    assert rasa_env.validate() == 0


def test_stories_predict_every_intent_and_action(rasa_model, tmp_path):
    # through `afterclass rasa`, the documented way to run any rasa command on our model
    cmd = [
        sys.executable, "-m", "bot.cli", "rasa",
        "test",
        "core",
        "--model",
        str(rasa_model),
        "--stories",
        str(ROOT / "tests" / "rasa" / "stories"),
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path / "results"),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


TEXTS = ["I was charged twice for the course", "视频一直卡顿怎么办", "开发票 invoice pls"]


def _array_from_rasa_env(script: str, tmp_path, texts: list[str]):  # type: ignore[no-untyped-def]
    """Run `script` in the Rasa environment with argv [out.npy, *texts]; return what it saved."""
    import numpy as np

    out = tmp_path / "out.npy"
    python = rasa_env.rasa_bin().parent / "python"
    proc = subprocess.run([str(python), "-c", script, str(out), *texts], cwd=ROOT,
                          env=rasa_env.rasa_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.load(out)


def test_nlu_sentence_features_equal_the_kb_encoders(tmp_path):
    """The Rasa environment runs the graphs the app environment built (rasa_addons/encoders.py):
    its vectors must be the KB's own, or the two environments disagree about a sentence."""
    import numpy as np

    from kb_index.encoders import E5Encoder, SentenceTransformerEncoder

    texts = TEXTS
    script = (
        "import sys, numpy as np\n"
        "from rasa_addons import encoders as enc\n"
        "texts = sys.argv[2:]\n"
        "np.save(sys.argv[1], np.hstack([enc.get_encoder(n).encode(texts) "
        "for n in ('e5', 'minilm', 'e5_layers')]))\n"
    )
    rasa_side = _array_from_rasa_env(script, tmp_path, texts)
    e5 = E5Encoder(threads=1, runtime="onnx").encode(texts, query=True)
    minilm = SentenceTransformerEncoder(threads=1, runtime="onnx").encode(texts, query=True)
    assert rasa_side.shape == (3, 384 * 4)
    # the two environments' onnxruntime releases differ; their 4-bit MatMulNBits kernels
    # round differently (max abs difference ~1e-3), the fp32 MiniLM graph does not
    assert (rasa_side[:, :384] * e5).sum(axis=1).min() > 0.9995
    assert np.abs(rasa_side[:, 384:768] - minilm).max() < 1e-4
    # e5_layers (config.yml's): the same sentence vector, then a middle layer's mean, another
    # unit vector that is not the sentence vector
    layers = rasa_side[:, 768:]
    assert (layers[:, :384] * e5).sum(axis=1).min() > 0.9995
    assert np.allclose(np.linalg.norm(layers[:, 384:], axis=1), 1, atol=1e-4)
    assert (layers[:, 384:] * e5).sum(axis=1).max() < 0.99


def test_english_only_encoders_give_chinese_text_zeros(tmp_path):
    """config.yml's featurizer runs MiniLM (an English model) on English text only."""
    import numpy as np

    script = (
        "import sys, numpy as np\n"
        "from rasa_addons import encoders as enc\n"
        "from rasa_addons.sentence_featurizer import SentenceEmbeddingFeaturizer as F\n"
        "config = {**F.get_default_config(), 'encoders': ['e5', 'minilm'],\n"
        "          'english_only': ['minilm']}\n"
        "F.validate_config(config)\n"
        "texts = sys.argv[2:]\n"
        "both = F(config, 'f').embed(texts)\n"
        "alone = enc.get_encoder('minilm').encode(texts[:1])\n"
        "np.save(sys.argv[1], np.vstack([both[:, 384:], alone]))\n"
    )
    features = _array_from_rasa_env(script, tmp_path, TEXTS)
    minilm, alone = features[:3], features[3]
    assert np.allclose(minilm[0], alone) and np.abs(alone).sum() > 0
    assert not minilm[1:].any()  # Chinese, and code-mixed Chinese


def test_traditional_characters_are_tokenized_as_simplified_with_their_offsets(tmp_path):
    """config.yml's tokenizer: what the featurizers count is folded, the text is not."""
    import json

    from kb_index.lang import to_simplified

    script = (
        "import sys, json\n"
        "from rasa.shared.nlu.training_data.message import Message\n"
        "from rasa_addons.tokenizer import SimplifiedJiebaTokenizer as T\n"
        "t = T(T.get_default_config(), None, None)\n"
        "m = Message(data={'text': sys.argv[2]})\n"
        "tokens = t.tokenize(m, 'text')\n"
        "json.dump({'text': m.get('text'), 'tokens': [[k.text, k.start, k.end] for k in tokens]},\n"
        "          open(sys.argv[1], 'w'), ensure_ascii=False)\n"
    )
    out = tmp_path / "tokens.json"
    python = rasa_env.rasa_bin().parent / "python"
    text = "我想申請退費 AC10010001"
    proc = subprocess.run([str(python), "-c", script, str(out), text], cwd=ROOT,
                          env=rasa_env.rasa_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["text"] == text
    words = [w for w, _, _ in got["tokens"]]
    assert "申请" in words and "申請" not in words and "AC10010001" in words
    for word, start, end in got["tokens"]:  # offsets point at the same span of the original
        assert to_simplified(text[start:end]) == word


def test_option_guard_applies_the_hubs_reading_of_both_needs_and_of_values(tmp_path):
    """rasa_addons/option_guard.py in the Rasa environment, on parsed messages as the NLU
    leaves them: a fault told angrily is the guide, an explicit complaint the complaint, a
    value typed at a form its answer (but never over a "no")."""
    import json

    script = (
        "import json, sys\n"
        "from rasa.shared.nlu.training_data.message import Message\n"
        "from rasa_addons.option_guard import OptionGuard\n"
        "guard = OptionGuard({**OptionGuard.get_default_config(), 'complaint_over': "
        "['playback_problem', 'ask_question'], 'tech_over': ['complaint', 'out_of_scope']})\n"
        "out = []\n"
        "for meta, first, second in json.loads(sys.argv[2]):\n"
        "    ranking = [{'name': first, 'confidence': 0.6}, {'name': second, 'confidence': 0.3}]\n"
        "    m = Message(data={'text': 'x', 'metadata': meta, 'intent': dict(ranking[0]),"
        " 'intent_ranking': ranking})\n"
        "    guard.process([m])\n"
        "    out.append([m.get('intent')['name'], m.get('intent').get('read_from'),"
        " [r['name'] for r in m.get('intent_ranking')]])\n"
        "open(sys.argv[1], 'w').write(json.dumps(out))\n"
    )
    cases = [
        ({"tech_problem": "playback_problem"}, "complaint", "playback_problem"),
        ({"tech_problem": "playback_problem", "complain": True}, "complaint", "playback_problem"),
        ({"complain": True}, "playback_problem", "complaint"),
        ({"complain": True}, "refund_request", "complaint"),  # another need: left alone
        ({"value_intent": "invoice_request"}, "piracy_report", "out_of_scope"),
        ({"value_intent": "invoice_request"}, "request_human", "thank"),
        ({"value_intent": "account_update"}, "deny", "account_update"),  # a "no" still leaves
        ({}, "complaint", "playback_problem"),
    ]
    out = tmp_path / "out.json"
    python = rasa_env.rasa_bin().parent / "python"
    proc = subprocess.run([str(python), "-c", script, str(out), json.dumps(cases)], cwd=ROOT,
                          env=rasa_env.rasa_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(out.read_text())
    assert got == [
        ["playback_problem", "complaint", ["playback_problem", "complaint"]],
        ["complaint", None, ["complaint", "playback_problem"]],
        ["complaint", "playback_problem", ["complaint", "playback_problem"]],
        ["refund_request", None, ["refund_request", "complaint"]],
        ["invoice_request", "piracy_report", ["invoice_request", "piracy_report", "out_of_scope"]],
        ["invoice_request", "request_human", ["invoice_request", "request_human", "thank"]],
        ["deny", None, ["deny", "account_update"]],
        ["complaint", None, ["complaint", "playback_problem"]],
    ]
