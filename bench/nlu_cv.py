"""5-fold cross-validation of the project's own NLU data with its own config.yml.

Writes reports/nlu_cv.md (committed) and prints the summary. Run with `make nlu-report`.
`--config FILE --out FILE` cross-validates a candidate pipeline instead (bench/configs/).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import rasa_env  # noqa: E402

TARGET_MACRO, TARGET_MIN = 0.95, 0.85


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "nlu_cv.md")
    args = parser.parse_args(argv)
    config = args.config.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.time()
        cmd = [
            str(rasa_env.rasa_bin()),
            "test",
            "nlu",
            "--nlu",
            str(ROOT / "data" / "nlu"),
            "--config",
            str(config),
            "--cross-validation",
            "--folds",
            "5",
            "--out",
            tmp,
        ]
        subprocess.run(
            cmd, cwd=ROOT, env=rasa_env.rasa_env(), check=True, stdout=subprocess.DEVNULL
        )
        minutes = (time.time() - started) / 60
        report = json.loads((Path(tmp) / "intent_report.json").read_text())
        errors_file = Path(tmp) / "intent_errors.json"
        errors = json.loads(errors_file.read_text()) if errors_file.exists() else []
    intents = {
        k: v
        for k, v in report.items()
        if isinstance(v, dict)
        and "f1-score" in v
        and k not in ("macro avg", "weighted avg", "micro avg")
    }
    macro = report["macro avg"]["f1-score"]
    worst = min(v["f1-score"] for v in intents.values())
    confusions = Counter((e["intent"], e["intent_prediction"]["name"]) for e in errors)
    # a candidate config may live outside the clone (the report must still be written)
    shown = config.relative_to(ROOT) if config.is_relative_to(ROOT) else config
    lines = [
        f"# NLU cross-validation (5 folds, project data, {shown})",
        "",
        f"Command: `.venv/bin/python bench/nlu_cv.py --config {shown}`"
        f" ({minutes:.1f} min on this machine; `make nlu-report` for config.yml).",
        "",
        f"- examples: {sum(int(v['support']) for v in intents.values())} "
        f"over {len(intents)} intents",
        f"- macro F1: **{macro:.3f}** (target ≥ {TARGET_MACRO})",
        f"- accuracy: {report.get('accuracy', 0):.3f}",
        f"- lowest intent F1: **{worst:.3f}** (target ≥ {TARGET_MIN})",
        "",
        "| intent | F1 | precision | recall | examples |",
        "|---|---|---|---|---|",
        *[
            f"| {k} | {v['f1-score']:.3f} | {v['precision']:.3f} | {v['recall']:.3f} | "
            f"{int(v['support'])} |"
            for k, v in sorted(intents.items(), key=lambda kv: kv[1]["f1-score"])
        ],
        "",
        "Most frequent confusions (gold → predicted):",
        "",
        *[f"- {gold} → {pred}: {n}" for (gold, pred), n in confusions.most_common(10)],
    ]
    out = args.out
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[:8]))
    return 0 if macro >= TARGET_MACRO and worst >= TARGET_MIN else 1


if __name__ == "__main__":
    sys.exit(main())
