"""A dense sentence featurizer for Rasa 3.6: pretrained sentence embeddings as classifier input.

It adds one *sentence* feature (no sequence features) per message text: the concatenated,
L2-normalised embeddings of the configured encoders (see rasa_addons/encoders.py). The intent
classifier (rasa_addons/hybrid_classifier.py, or DIET) combines it with the sparse sentence
features of the CountVectorsFeaturizers.

config.yml::

    - name: rasa_addons.sentence_featurizer.SentenceEmbeddingFeaturizer
      encoders: [e5, minilm]  # rasa_addons/encoders.py (both on onnxruntime)
      english_only: [minilm]  # these give zeros for Chinese text (see below)
      threads: null         # CPU threads per encoder; null = the library default
      batch_size: 256

An English-only encoder's vector for Chinese text is noise, and a hidden layer fits noise:
with MiniLM beside e5, MASSIVE zh-CN lost 0.7-0.8 point (outside-Rasa probe, two seeds). So
encoders listed in ``english_only`` are not run on text that kb_index.lang.detect_lang calls
Chinese; their block is zero there, a constant the classifier can read as "Chinese".
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from kb_index.lang import detect_lang, to_simplified
from rasa_addons import encoders as enc

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Sentence embeddings from small pretrained encoders that need neither torch nor a
    download at run time."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "encoders": ["e5"],
            "english_only": [],
            "threads": None,
            "batch_size": 256,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["numpy"]

    @staticmethod
    def supported_languages() -> list[str] | None:
        return None

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        names = config.get("encoders")
        if isinstance(names, str):
            names = [names]
        if not names or any(n not in enc.ENCODERS for n in names):
            raise InvalidConfigException(
                f"{cls.__name__}: 'encoders' must list one or more of {sorted(enc.ENCODERS)}, "
                f"got {config.get('encoders')!r}"
            )
        english_only = config.get("english_only") or []
        if isinstance(english_only, str) or any(n not in names for n in english_only):
            raise InvalidConfigException(
                f"{cls.__name__}: 'english_only' must list some of the encoders {names}, "
                f"got {english_only!r}"
            )

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The encoders' versions, so Rasa's training cache never serves features that an
        older model or export produced."""
        names = config.get("encoders") or []
        return enc.versions([names] if isinstance(names, str) else list(names))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls(config, execution_context.node_name)

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        names = config["encoders"]
        self._names: list[str] = [names] if isinstance(names, str) else list(names)
        self._english_only = set(config.get("english_only") or [])
        self._threads = config.get("threads")
        self._batch_size = int(config.get("batch_size") or 256)
        self._encoders: list | None = None

    def _loaded(self) -> list:
        # lazily: the core-training graph also runs this node, usually on no text at all
        if self._encoders is None:
            self._encoders = [enc.get_encoder(n, self._threads) for n in self._names]
        return self._encoders

    def embed(self, texts: list[str], remember: bool = True) -> np.ndarray:
        """(len(texts), sum of encoder dims) float32."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        english: list[int] | None = None
        parts = []
        for name, encoder in zip(self._names, self._loaded(), strict=True):
            if name not in self._english_only:
                parts.append(encoder.encode(texts, remember=remember))
                continue
            if english is None:
                english = [i for i, t in enumerate(texts) if detect_lang(t) == "en"]
            block = np.zeros((len(texts), encoder.dim), dtype=np.float32)
            if english:
                block[english] = encoder.encode([texts[i] for i in english], remember=remember)
            parts.append(block)
        return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]

    def _featurize(self, messages: list[Message], remember: bool) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        for start in range(0, len(todo), self._batch_size):
            batch = todo[start : start + self._batch_size]
            # traditional characters read as simplified, as the tokenizer and the KB do
            texts = [to_simplified(" ".join(str(m.get(TEXT)).split())) for m in batch]
            vectors = self.embed(texts, remember=remember)
            for message, vector in zip(batch, vectors, strict=False):
                self.add_features_to_message(
                    sequence=None, sentence=vector[None, :], attribute=TEXT, message=message
                )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples, remember=True)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize(messages, remember=False)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class DropSequenceFeatures(GraphComponent):
    """Replaces the token-level (sequence) features of the message text by one zero.

    With ``number_of_transformer_layers: 0`` and ``entity_recognition: false`` DIET's intent
    prediction reads the sentence-level features only (the last position of its feature
    sequence: nothing mixes positions), yet it still pushes every token's sparse
    char-n-gram vector through its dense layers on each step. DIET insists on some
    sequence-level feature, so each message keeps a single 1x1 zero one: the intent model
    is unchanged and trains several times faster. Do not use it with transformer layers or
    DIET's entity recognition, which need the real sequence features.
    """

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DropSequenceFeatures:
        return cls(execution_context.node_name)

    def __init__(self, name: str = "DropSequenceFeatures") -> None:
        self._name = name

    def _drop(self, messages: list[Message]) -> None:
        for message in messages:
            if not message.get(TEXT):
                continue
            message.features = [
                f
                for f in message.features
                if not (f.attribute == TEXT and f.type == FEATURE_TYPE_SEQUENCE)
            ]
            message.add_features(
                Features(np.zeros((1, 1), np.float32), FEATURE_TYPE_SEQUENCE, TEXT, self._name)
            )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._drop(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._drop(messages)
        return messages
