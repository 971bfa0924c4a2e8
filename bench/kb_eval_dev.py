"""Run the KB retrieval eval on every kbeval dev set plus out-of-scope mixes, print a table.

    .venv/bin/python bench/kb_eval_dev.py [--data DIR] [--sets a,b] [--json OUT] [--cli] [--curve]

The out-of-scope (OOS) mixes are made here from the dev sets, deterministically: 30% of a
set's entries (random.Random(0)) are dropped from the KB and their queries kept with
expected_id null, so the right outcome for them is fallback. Those are the sets the
answer/clarify/fallback thresholds were chosen on.

--scale N instead builds one synthetic N-entry KB (the dev entries of all four sets,
recycled with numbered variants, English and Chinese) with the production settings, and
times the build and 500 dev queries through search + decide: the latency check for big KBs.
--threads 2 lets the encoders use both cores (the production default is 1; see KBConfig).

--curve also prints each set's answer/fallback curve: its outcomes at other operating points
(AFTERCLASS_KB_TARGET_OOS_FALLBACK), from the same index (the eval JSON's `curve`).

By default every set runs in this process through kb_index.evaluate with the production
KBConfig, exactly as `python -m kb_index eval` does (one model load for all sets);
--cli runs the real CLI in a subprocess per set instead.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = Path(os.environ.get("KBEVAL_DIR", "/work/shared/datasets/kbeval"))
DEV_SETS = ["stackfaq_dev", "banking77_dev", "massive_zh_dev", "bq_dev"]
# OOS mix name -> (source set, share of entries held out)
OOS_SETS = {
    "oos_stackfaq": ("stackfaq_dev", 0.3),
    "oos_banking77": ("banking77_dev", 0.3),
    "oos_massive_zh": ("massive_zh_dev", 0.3),
    "oos_bq": ("bq_dev", 0.3),
}
TARGETS = {
    "stackfaq_dev": "top1>=0.97",
    "banking77_dev": "top1>=0.85",
    "massive_zh_dev": "top1>=0.60",
    "bq_dev": "top1>=0.25 r@5>=0.60",
    "oos_stackfaq": "ans_ok>=0.80 oos_fb>=0.80",
    "oos_banking77": "ans_ok>=0.80 oos_fb>=0.80",
}
COLUMNS = [("n", "n"), ("top1", "top1"), ("recall_at_5", "r@5"), ("mrr", "mrr"),
           ("answered_correct", "ans_ok"), ("answered_wrong", "ans_bad"), ("clarified", "clar"),
           ("fallback_in_scope", "fb_in"), ("oos_fallback_rate", "oos_fb"), ("p50_ms", "p50"),
           ("p95_ms", "p95"), ("build_s", "build_s")]


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def make_oos(data: Path, source: str, held_share: float, out_dir: Path,
             seed: int = 0) -> tuple[Path, Path]:
    entries = read_jsonl(data / f"{source}.entries.jsonl")
    queries = read_jsonl(data / f"{source}.queries.jsonl")
    ids = sorted(e["id"] for e in entries)
    held = set(random.Random(seed).sample(ids, round(held_share * len(ids))))
    kept = [e for e in entries if e["id"] not in held]
    mixed = [{"query": q["query"],
              "expected_id": None if q["expected_id"] in held else q["expected_id"]}
             for q in queries]
    name = f"oos_{source}"
    ep, qp = out_dir / f"{name}.entries.jsonl", out_dir / f"{name}.queries.jsonl"
    write_jsonl(ep, kept)
    write_jsonl(qp, mixed)
    return ep, qp


def run_cli(entries: Path, queries: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "kb_index", "eval", "--entries", str(entries),
                          "--queries", str(queries), "--json"], cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def scale_bench(data: Path, n_entries: int, n_queries: int = 500, threads: int = 0) -> dict:
    import numpy as np

    from kb_index.config import KBConfig
    from kb_index.decision import decide
    from kb_index.entries import Entry
    from kb_index.search import SearchIndex

    pool, queries = [], []
    for name in DEV_SETS:
        pool.extend(read_jsonl(data / f"{name}.entries.jsonl"))
        queries.extend(q["query"] for q in read_jsonl(data / f"{name}.queries.jsonl"))
    entries = []
    for i in range(n_entries):
        src = pool[i % len(pool)]
        tag = "" if i < len(pool) else f" ({i // len(pool)})"
        entries.append(Entry(id=f"{src['id']}#{i}", lang=src.get("lang", "en"),
                             question=src["question"] + tag,
                             alt_questions=[a + tag for a in src.get("alt_questions") or []],
                             answer=src.get("answer") or ""))
    config = KBConfig(**({"threads": threads} if threads else {}))
    encoder, settings, thresholds = config.encoder(), config.search_settings(), config.thresholds()
    encoder.encode(["warm up"], query=True)
    encoder.encode(["预热"], query=True)
    t0 = time.perf_counter()
    index = SearchIndex.build(entries, encoder, settings)
    build_s = time.perf_counter() - t0
    sample = random.Random(0).sample(queries, min(n_queries, len(queries)))
    for q in sample[:20]:
        index.search(q, k=10)
    from kb_index.encoders import encoder_for
    from kb_index.lang import detect_lang

    lat: dict[str, list[float]] = {"all": [], "en": [], "zh": []}
    enc_ms: dict[str, list[float]] = {"en": [], "zh": []}
    for q in sample:
        t = time.perf_counter()
        decide(index.search(q, k=10), thresholds)
        ms = (time.perf_counter() - t) * 1000
        lang = detect_lang(q)
        lat["all"].append(ms)
        lat[lang].append(ms)
        t = time.perf_counter()  # the query embedding alone, the bulk of it
        encoder_for(encoder, lang).encode([q], query=True)
        enc_ms[lang].append((time.perf_counter() - t) * 1000)

    def pct(xs: list[float], p: int) -> float | None:
        return round(float(np.percentile(xs, p)), 2) if xs else None

    return {"entries": n_entries, "threads": config.threads, "runtime": config.runtime,
            "rows": index.manifest.rows, "kind": index.manifest.kind,
            "build_s": round(build_s, 1), "queries": len(lat["all"]),
            "p50_ms": pct(lat["all"], 50), "p95_ms": pct(lat["all"], 95),
            "p99_ms": pct(lat["all"], 99),
            "by_lang": {lang: {"n": len(lat[lang]), "p50_ms": pct(lat[lang], 50),
                               "p95_ms": pct(lat[lang], 95),
                               "encode_p50_ms": pct(enc_ms[lang], 50),
                               "encode_p95_ms": pct(enc_ms[lang], 95)}
                        for lang in ("en", "zh")},
            "anchors": {k: v.get("anchor") for k, v in index.manifest.extra["encoders"].items()},
            "answer_weights": {k: v.get("answer_weight")
                               for k, v in index.manifest.extra["encoders"].items()},
            "learned_weights": {k: v.get("learned_weight")
                                for k, v in index.manifest.extra["encoders"].items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sets", default="", help="comma-separated subset of set names")
    ap.add_argument("--json", type=Path, help="also write all results to this file")
    ap.add_argument("--cli", action="store_true", help="run `python -m kb_index eval` per set")
    ap.add_argument("--scale", type=int, default=0, help="time a synthetic KB of this many entries")
    ap.add_argument("--curve", action="store_true",
                    help="also print each set's answer/fallback curve over the targets")
    ap.add_argument("--threads", type=int, default=0,
                    help="encoding threads for --scale (default: AFTERCLASS_KB_THREADS, 1)")
    args = ap.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.scale:
        print(json.dumps(scale_bench(args.data, args.scale, threads=args.threads)))
        return 0
    wanted = [s for s in args.sets.split(",") if s] or DEV_SETS + list(OOS_SETS)
    with tempfile.TemporaryDirectory(prefix="kbeval-oos-") as tmp:
        return run_sets(args, wanted, Path(tmp))


def run_sets(args: argparse.Namespace, wanted: list[str], tmp: Path) -> int:
    """Evaluate the named sets (OOS mixes written into tmp) and print the table."""
    files: dict[str, tuple[Path, Path]] = {}
    for name in wanted:
        if name in OOS_SETS:
            source, share = OOS_SETS[name]
            files[name] = make_oos(args.data, source, share, tmp)
        else:
            files[name] = (args.data / f"{name}.entries.jsonl", args.data / f"{name}.queries.jsonl")

    if not args.cli:
        from kb_index.config import KBConfig
        from kb_index.evaluate import evaluate, load_entries

        config = KBConfig()
        encoder, settings = config.encoder(), config.search_settings()
        thresholds = config.thresholds()
        print(f"model: {encoder.name}\nthresholds: {thresholds}", file=sys.stderr)

    results: dict[str, dict] = {}
    for name, (ep, qp) in files.items():
        t0 = time.perf_counter()
        if args.cli:
            results[name] = run_cli(ep, qp)
        else:
            results[name] = evaluate(load_entries(ep), read_jsonl(qp), encoder, settings,
                                     thresholds)
        print(f"{name}: done in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)

    head = f"{'set':<16}" + "".join(f"{label:>8}" for _, label in COLUMNS) + "  target"
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        cells = []
        for key, _ in COLUMNS:
            v = r.get(key)
            text = "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
            cells.append(f"{text:>8}")
        print(f"{name:<16}" + "".join(cells) + f"  {TARGETS.get(name, '')}")
    if args.curve:
        from kb_index.__main__ import curve_table

        for name, r in results.items():
            print(f"\n{name}" + curve_table(r["curve"], r["target_oos_fallback"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
