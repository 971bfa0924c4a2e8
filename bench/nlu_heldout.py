"""Held-out test of the bot's intent classifier on learner messages written blind.

    .venv/bin/python bench/nlu_heldout.py [--model PATH] [--top 12] [--fixture YML]

Parses every message of tests/fixtures/nlu_heldout.yml (504: 21 intents x 12 zh + 12 en,
written without reading data/nlu) with a trained Rasa model, inside .venv-rasa, and prints
accuracy and macro F1 overall, per language and per split, per-intent accuracy per language,
the fallback rate and the most frequent confusions, then one JSON line.

The model defaults to the newest under models/ (`afterclass train` first if there is none).
The intent counted is the classifier's top intent; "fallback" is how often its confidence is
under FallbackClassifier's threshold in config.yml (those messages go to the KB / fallback
ladder instead of the intent's flow). Confusions quote dev-split texts only: test-split
errors are counts, so that nobody tunes the training data on them. (`afterclass rasa test nlu`
on the same messages gives the same accuracy and macro F1; this adds the splits, languages,
fallback and dev-only examples.)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "nlu_heldout.yml"
FALLBACK = "nlu_fallback"


def parse_in_rasa(model: str, texts_file: str, out_file: str) -> None:
    """Runs in .venv-rasa: the model's whole NLU pipeline on each text, as the bot sees it."""
    import asyncio

    from rasa.core.agent import Agent

    agent = Agent.load(model)
    texts = json.loads(Path(texts_file).read_text(encoding="utf-8"))

    async def parse_all() -> list[dict]:
        out = []
        for text in texts:
            parsed = await agent.parse_message(text)
            ranking = [r for r in parsed["intent_ranking"] if r["name"] != FALLBACK]
            out.append(
                {
                    "intent": ranking[0]["name"],
                    "confidence": ranking[0]["confidence"],
                    "fallback": parsed["intent"]["name"] == FALLBACK,
                }
            )
        return out

    Path(out_file).write_text(json.dumps(asyncio.run(parse_all())), encoding="utf-8")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % interval of a proportion: 504 messages leave about +-2 points on accuracy."""
    p, d = k / n, 1 + z * z / n
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    return round((p + z * z / (2 * n) - half) / d, 4), round((p + z * z / (2 * n) + half) / d, 4)


def scores(rows: list[dict]) -> dict:
    """Accuracy (with its 95 % interval) and macro F1 over the gold intents of these rows."""
    hits = Counter(r["intent"] for r in rows if r["pred"] == r["intent"])
    gold = Counter(r["intent"] for r in rows)
    pred = Counter(r["pred"] for r in rows)
    f1 = [2 * hits[i] / (gold[i] + pred[i]) for i in gold]
    return {
        "n": len(rows),
        "accuracy": round(sum(hits.values()) / len(rows), 4),
        "accuracy_ci95": wilson(sum(hits.values()), len(rows)),
        "macro_f1": round(sum(f1) / len(f1), 4),
        "fallback": round(sum(r["below"] for r in rows) / len(rows), 4),
    }


def default_model() -> Path:
    from bot import rasa_env

    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        print("no model under models/: training one from the current data", flush=True)
        return rasa_env.train()[0]
    if models[-1] != rasa_env.model_path(ROOT):
        print(f"warning: {models[-1].name} is not trained from the current data "
              f"({rasa_env.model_path(ROOT).name}); `.venv/bin/afterclass train` makes that one")
    return models[-1]


def main(argv: list[str] | None = None) -> int:
    import yaml

    from bench.nlu_benchmarks import run
    from bot import rasa_env

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--top", type=int, default=12, help="confusions to list")
    parser.add_argument("--fixture", type=Path, default=FIXTURE,
                        help="another held-out set of the same format (tests/fixtures/"
                        "nlu_heldout_b.yml: a second writer, other registers)")
    args = parser.parse_args(argv)
    model = (args.model or default_model()).resolve()
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    fallback = next(c for c in config["pipeline"] if c["name"] == "FallbackClassifier")
    threshold = fallback["threshold"]
    fixture = args.fixture.resolve()
    rows = yaml.safe_load(fixture.read_text(encoding="utf-8"))["messages"]

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="nlu_heldout_") as tmp:
        texts, out = Path(tmp) / "texts.json", Path(tmp) / "parsed.json"
        texts.write_text(json.dumps([r["text"] for r in rows], ensure_ascii=False), "utf-8")
        python = rasa_env.rasa_bin(ROOT).parent / "python"  # .venv-rasa's
        run([str(python), __file__, "--parse", str(model), str(texts), str(out)],
            rasa_env.rasa_env(ROOT), Path(tmp) / "rasa.log")
        parsed = json.loads(out.read_text(encoding="utf-8"))
    for row, p in zip(rows, parsed, strict=True):
        row.update(pred=p["intent"], conf=p["confidence"], below=p["confidence"] < threshold,
                   nlu_fallback=p["fallback"])
    seconds = time.time() - started

    groups = {"all": rows}
    for key, value in (("lang", "zh"), ("lang", "en"), ("split", "dev"), ("split", "test")):
        groups[value] = [r for r in rows if r[key] == value]
    result = {name: scores(group) for name, group in groups.items() if group}

    print(f"model: {model.name}  ({len(rows)} messages, {seconds:.0f} s)")
    print(f"fixture: {fixture.relative_to(ROOT) if fixture.is_relative_to(ROOT) else fixture}\n")
    print("| set | n | accuracy (95 % interval) | macro F1 | fallback |")
    print("|---|---|---|---|---|")
    for name, s in result.items():
        low, high = s["accuracy_ci95"]
        print(f"| {name} | {s['n']} | {s['accuracy']:.3f} ({low:.3f}–{high:.3f}) | "
              f"{s['macro_f1']:.3f} | {s['fallback']:.3f} |")

    right = [r for r in rows if r["pred"] == r["intent"]]
    wrong = [r for r in rows if r["pred"] != r["intent"]]
    print(f"\nfallback = top confidence < {threshold} (FallbackClassifier, config.yml): "
          f"{sum(r['below'] for r in rows)} of {len(rows)}; of the right predictions "
          f"{sum(r['below'] for r in right)} / {len(right)} (lost to the KB ladder), of the "
          f"wrong ones {sum(r['below'] for r in wrong)} / {len(wrong)} (caught); with the "
          f"ambiguity rule nlu_fallback fires on {sum(r['nlu_fallback'] for r in rows)}")

    tally: dict[tuple[str, str], int] = defaultdict(int)
    for r in right:
        tally[r["intent"], r["lang"]] += 1
    each = Counter((r["intent"], r["lang"]) for r in rows)
    print(f"\nper-intent accuracy (right / {max(each.values())}):\n")
    print("| intent | zh | en |")
    print("|---|---|---|")
    intents = sorted({r["intent"] for r in rows},
                     key=lambda i: (tally[i, "zh"] + tally[i, "en"], i))
    for intent in intents:
        print(f"| {intent} | {tally[intent, 'zh']} | {tally[intent, 'en']} |")

    confusions = Counter((r["intent"], r["pred"]) for r in wrong)
    print(f"\nmost frequent confusions (gold → predicted; dev texts only) of {len(wrong)}:\n")
    for (gold, pred), n in confusions.most_common(args.top):
        dev = [r for r in wrong if (r["intent"], r["pred"]) == (gold, pred)
               and r["split"] == "dev"]
        print(f"- {gold} → {pred}: {n} (dev {len(dev)}, test {n - len(dev)})")
        for r in dev:
            print(f"    [{r['lang']}] {r['text']!r}  ({r['conf']:.2f})")

    summary = {"model": model.name, "threshold": threshold, "seconds": round(seconds),
               **result, "per_intent": {i: [tally[i, "zh"], tally[i, "en"]] for i in intents}}
    print("\n" + json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--parse"]:
        parse_in_rasa(*sys.argv[2:5])
    else:
        sys.path.insert(0, str(ROOT))
        sys.exit(main())
