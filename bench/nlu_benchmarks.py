"""Public intent-classification benchmarks for the project's NLU pipeline.

    .venv/bin/python bench/nlu_benchmarks.py [banking77|massive|all] [--config FILE]
        [--limit N] [--seed 13] [--keep DIR]

For each dataset: read the CSVs from ../shared/datasets at run time (nothing is copied into
the repo), make a stratified 80/20 split with a fixed seed, write Rasa NLU YAML to a temp
dir, train the NLU part of the pipeline (`rasa train nlu`, config.yml unchanged unless
--config is given), evaluate it with `rasa test nlu` on the 20% split and, for MASSIVE, on
the official validation file too, and print accuracy, macro F1 and the training time.

Datasets (see SOURCE.md beside each):
- banking77: English, 77 intents, train.csv (10,003 rows); the official test split is held out.
- massive:   MASSIVE zh-CN, 60 intents, train.csv (11,514) + validation.csv (2,033).

--limit N / --test-limit N keep at most N training / test examples per intent (for quick
exploration only; the reported numbers use neither).
Rasa's training cache goes to the temp dir, so every run featurizes and trains from scratch
and the printed training time is honest.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import rasa_env  # noqa: E402

DATASETS_DIR = Path(os.environ.get("AFTERCLASS_DATASETS", ROOT.parent / "shared" / "datasets"))
SEED = 13
TEST_FRACTION = 0.2
# Rasa parses "[text](entity)", "[text]{...}" and "[text][...]" inside examples as entity
# annotations, even in the `- text:` form: such texts get their brackets made full-width.
ENTITY_SYNTAX = re.compile(r"\[[^\]]+?\](\(|\{|\[)")
PUBLISHED = {
    "banking77": "target >= 0.93 on the official test split (BERT-large 93.7, USE+ConveRT 93.4)",
    "massive": "target >= 0.85 on the official zh-CN test split",
}


def read_csv(path: Path, label_column: str) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return [(row["text"], row[label_column]) for row in csv.DictReader(f)]


def load(name: str) -> tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]]]:
    """(training rows, {extra test set name: rows})."""
    if name == "banking77":
        return read_csv(DATASETS_DIR / "banking77" / "train.csv", "category"), {}
    if name == "massive":
        base = DATASETS_DIR / "massive_zh_cn"
        return read_csv(base / "train.csv", "label_text"), {
            "validation": read_csv(base / "validation.csv", "label_text")
        }
    raise SystemExit(f"unknown dataset {name!r}")


def stratified_split(
    rows: list[tuple[str, str]], seed: int = SEED, fraction: float = TEST_FRACTION
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Per intent: shuffle with a fixed seed and hold out round(n * fraction) examples, at
    least one, and never the last one (an intent with a single example stays in training)."""
    by_intent: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        by_intent[row[1]].append(row)
    rng = random.Random(seed)
    train, test = [], []
    for intent in sorted(by_intent):
        items = by_intent[intent][:]
        rng.shuffle(items)
        k = min(max(1, round(len(items) * fraction)), len(items) - 1)
        test += items[:k]
        train += items[k:]
    return train, test


def limit_per_intent(rows: list[tuple[str, str]], n: int, seed: int = SEED) -> list:
    by_intent: dict[str, list] = defaultdict(list)
    for row in rows:
        by_intent[row[1]].append(row)
    rng = random.Random(seed)
    out = []
    for intent in sorted(by_intent):
        items = by_intent[intent][:]
        rng.shuffle(items)
        out += items[:n]
    return out


def clean_text(text: str) -> tuple[str, bool]:
    """One line, no surrounding blanks, no accidental entity annotation."""
    text = " ".join(text.split())
    if ENTITY_SYNTAX.search(text):
        return text.replace("[", "［").replace("]", "］"), True
    return text, False


def write_nlu_yaml(rows: list[tuple[str, str]], path: Path) -> int:
    """Rasa 3 NLU YAML with each example as a `- text:` JSON-quoted scalar (valid YAML), so
    quotes, colons, '#' or a leading '-' in a text need no further thought. Returns how many
    texts had entity-like brackets neutralised."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    changed = 0
    for text, intent in rows:
        text, was_changed = clean_text(text)
        changed += was_changed
        if text:
            by_intent[intent].append(text)
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines.append(f"- intent: {json.dumps(intent)}")
        lines.append("  examples:")
        lines += [f"  - text: {json.dumps(t, ensure_ascii=False)}" for t in by_intent[intent]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


def run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")


def evaluate(model: Path, test_file: Path, out_dir: Path, env: dict, log: Path) -> dict:
    started = time.time()
    run(
        [
            str(rasa_env.rasa_bin()),
            "test",
            "nlu",
            "--model",
            str(model),
            "--nlu",
            str(test_file),
            "--out",
            str(out_dir),
            "--no-plot",
        ],
        env,
        log,
    )
    report = json.loads((out_dir / "intent_report.json").read_text(encoding="utf-8"))
    return {
        "accuracy": report["accuracy"],
        "macro_f1": report["macro avg"]["f1-score"],
        "weighted_f1": report["weighted avg"]["f1-score"],
        "examples": int(report["macro avg"]["support"]),
        "eval_seconds": round(time.time() - started, 1),
    }


def bench(
    name: str,
    config: Path,
    tmp: Path,
    limit: int | None,
    seed: int,
    test_limit: int | None = None,
    cache: Path | None = None,
) -> dict:
    rows, extra_tests = load(name)
    train, test = stratified_split(rows, seed)
    if limit:
        train = limit_per_intent(train, limit, seed)
    if test_limit:
        test = limit_per_intent(test, test_limit, seed)
        extra_tests = {k: limit_per_intent(v, test_limit, seed) for k, v in extra_tests.items()}
    work = tmp / name
    work.mkdir(parents=True)
    changed = write_nlu_yaml(train, work / "train.yml")
    tests = {"split20": work / "test_split20.yml"}
    changed += write_nlu_yaml(test, tests["split20"])
    for test_name, test_rows in extra_tests.items():
        tests[test_name] = work / f"test_{test_name}.yml"
        changed += write_nlu_yaml(test_rows, tests[test_name])
    if changed:
        print(f"[{name}] {changed} texts had entity-like brackets made full-width")
    print(
        f"[{name}] {len(train)} training examples over {len({r[1] for r in train})} intents, "
        f"{len(test)} in the 20% split" + (f" (limit {limit} per intent)" if limit else ""),
        flush=True,
    )
    # Rasa's training cache lives in the temp dir: a cold cache every run, nothing in ~/.rasa
    # (--cache DIR keeps it and the sentence vectors, so trying DIET settings skips most
    # of the featurizing; the training time printed is then not a cold one)
    extra = {"RASA_CACHE_DIRECTORY": str(cache or tmp / "rasa_cache")}
    if cache:
        # and the sentence encoders' vectors by text (rasa_addons/encoders.py)
        extra["AFTERCLASS_EMBEDDING_CACHE"] = str(ROOT / "var" / "embedding_cache")
    env = rasa_env.rasa_env(**extra)
    log = work / "rasa.log"
    started = time.time()
    run(
        [
            str(rasa_env.rasa_bin()),
            "train",
            "nlu",
            "--config",
            str(config),
            "--nlu",
            str(work / "train.yml"),
            "--out",
            str(work / "models"),
            "--fixed-model-name",
            name,
        ],
        env,
        log,
    )
    train_seconds = time.time() - started
    model = work / "models" / f"{name}.tar.gz"
    result = {
        "dataset": name,
        "config": str(config),
        "train_examples": len(train),
        "train_seconds": round(train_seconds, 1),
        "warm_cache": cache is not None,
        "tests": {},
    }
    for test_name, test_file in tests.items():
        result["tests"][test_name] = evaluate(
            model, test_file, work / f"results_{test_name}", env, log
        )
        r = result["tests"][test_name]
        print(
            f"[{name}] {test_name:<10} accuracy {r['accuracy']:.4f}  macro F1 {r['macro_f1']:.4f}"
            f"  ({r['examples']} examples, evaluated in {r['eval_seconds']:.0f} s)",
            flush=True,
        )
    print(f"[{name}] training time {train_seconds / 60:.1f} min; {PUBLISHED[name]}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "dataset", nargs="?", default="all", choices=["banking77", "massive", "all"]
    )
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--limit", type=int, default=None, help="max training examples/intent")
    parser.add_argument("--test-limit", type=int, default=None, help="max test examples/intent")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--keep", type=Path, default=None, help="keep data, models, logs here")
    parser.add_argument("--cache", type=Path, default=None, help="keep Rasa's training cache here")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    names = ["banking77", "massive"] if args.dataset == "all" else [args.dataset]
    config = args.config.resolve()
    results = []
    with tempfile.TemporaryDirectory(prefix="nlu_bench_") as tmp_name:
        tmp = args.keep.resolve() if args.keep else Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        print(f"config: {config}", flush=True)
        for name in names:
            results.append(
                bench(name, config, tmp, args.limit, args.seed, args.test_limit, args.cache)
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("\n| dataset | test set | accuracy | macro F1 | training |")
    print("|---|---|---|---|---|")
    for r in results:
        for test_name, t in r["tests"].items():
            print(
                f"| {r['dataset']} | {test_name} ({t['examples']}) | {t['accuracy']:.4f} | "
                f"{t['macro_f1']:.4f} | {r['train_seconds'] / 60:.1f} min |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
