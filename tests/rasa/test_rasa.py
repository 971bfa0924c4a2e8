"""The Rasa layer: training data validation and end-to-end test stories on a trained model."""

import subprocess

import pytest

from bot import rasa_env
from bot.settings import ROOT

pytestmark = pytest.mark.rasa


def test_training_data_validates_without_warnings():
    assert rasa_env.validate() == 0


def test_stories_predict_every_intent_and_action(rasa_model, tmp_path):
    cmd = [
        str(rasa_env.rasa_bin()),
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
    proc = subprocess.run(cmd, cwd=ROOT, env=rasa_env.rasa_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
