"""`python -m kb_index eval --entries E.jsonl --queries Q.jsonl [--json]`: measure retrieval."""

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from kb_index.config import KBConfig
from kb_index.evaluate import evaluate, load_entries, read_queries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kb_index")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="build a throwaway index and score a query set")
    ev.add_argument("--entries", type=Path, required=True)
    ev.add_argument("--queries", type=Path, required=True)
    ev.add_argument("--json", action="store_true", help="print only the JSON summary")
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING)
    config = KBConfig()
    result = evaluate(
        load_entries(args.entries),
        read_queries(args.queries),
        config.encoder(),
        config.search_settings(),
        config.thresholds(),
    )
    if not args.json:
        for k, v in result.items():
            if k != "curve":
                print(f"{k:>20}: {v}", file=sys.stderr)
        print(curve_table(result["curve"], result["target_oos_fallback"]), file=sys.stderr)
    print(json.dumps(result))
    return 0


def curve_table(curve: list[dict], target: float) -> str:
    """The answer/fallback curve as a table, the configured operating point marked."""
    cols = [("answered_correct", "ans_ok"), ("answered_wrong", "ans_bad"),
            ("clarified", "clar"), ("fallback_in_scope", "fb_in"), ("oos_fallback_rate", "oos_fb")]
    lines = ["\noperating point (AFTERCLASS_KB_TARGET_OOS_FALLBACK) and its outcomes:",
             f"{'target':>8}" + "".join(f"{label:>8}" for _, label in cols)]
    for row in curve:
        mark = " <" if abs(row["target"] - target) < 1e-9 else ""
        cells = "".join("       -" if row[k] is None else f"{row[k]:>8.3f}" for k, _ in cols)
        lines.append(f"{row['target']:>8.3f}{cells}{mark}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
