"""Dense search at scale: the approximate index the KB switches to above `exact_limit` rows,
against exact search, at 100k and 1M vectors.

The vectors are synthetic but shaped like real ones: Gaussian with the mean and covariance
of all-MiniLM-L6-v2 embeddings of real support questions (BANKING77 texts, read from
../shared at run time). Isotropic random vectors would be far harder than any real corpus
and say nothing about it. Prints, per size: the index kb_index.search picks, build time,
index size, recall@10 against exact inner-product search, and p50/p95 query latency.

    .venv/bin/python bench/kb_scale.py [--sizes 100000 1000000] [--queries 500]
"""

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb_index.encoders import SentenceTransformerEncoder  # noqa: E402
from kb_index.search import SearchSettings, _ann_index  # noqa: E402

SHARED = ROOT.parent / "shared" / "datasets" / "banking77" / "train.csv"


def embedding_shape(n_texts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, eigenvalues and eigenvectors of real MiniLM embeddings."""
    with open(SHARED, newline="", encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)][:n_texts]
    vectors = SentenceTransformerEncoder(threads=os.cpu_count()).encode(texts)
    mean = vectors.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov((vectors - mean).T))
    return mean, np.clip(eigenvalues, 0, None), eigenvectors


def sample(n: int, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    mean, eigenvalues, eigenvectors = shape
    out = np.empty((n, len(mean)), dtype=np.float32)
    scale = np.sqrt(eigenvalues).astype(np.float32)
    basis = eigenvectors.T.astype(np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        x = mean + (rng.standard_normal((m, len(mean))).astype(np.float32) * scale) @ basis
        out[start:start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def timed_search(index: faiss.Index, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    latencies, found = [], np.empty((len(queries), 10), dtype=np.int64)
    for i in range(len(queries)):
        t = time.perf_counter()
        _, found[i] = index.search(queries[i:i + 1], 10)
        latencies.append((time.perf_counter() - t) * 1000)
    return latencies, found


def bench(n: int, n_queries: int, shape: tuple, settings: SearchSettings,
          rng: np.random.Generator, sweep: tuple[int, ...] = ()) -> dict:
    vectors = sample(n, shape, rng)
    queries = sample(n_queries, shape, rng)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # build with every core
    t0 = time.perf_counter()
    ann = _ann_index(vectors, settings)
    build_s = time.perf_counter() - t0
    faiss.omp_set_num_threads(1)  # one query at a time, as the hub searches
    index = ann if ann is not None else exact
    exact_lat, truth = timed_search(exact, queries[:100])
    latencies, found = timed_search(index, queries)
    _, truth = exact.search(queries, 10)
    recall = np.mean([len(set(found[i]) & set(truth[i])) / 10 for i in range(n_queries)])
    ef_search = ann.hnsw.efSearch if ann is not None else "-"
    for ef in sweep if ann is not None else []:  # efSearch is a search-time knob: no rebuild
        ann.hnsw.efSearch = ef
        lat, got = timed_search(ann, queries)
        r = np.mean([len(set(got[i]) & set(truth[i])) / 10 for i in range(n_queries)])
        print(f"  {n} rows, efSearch {ef}: recall@10 {r:.4f}, p50 {np.percentile(lat, 50):.2f} ms,"
              f" p95 {np.percentile(lat, 95):.2f} ms", flush=True)
    return {"rows": n, "index": "hnsw" if ann is not None else "flat (exact)",
            "ef_search": ef_search,
            "build_s": round(build_s, 1),
            "index_mb": round(len(faiss.serialize_index(index)) / 2**20),
            "recall@10": round(float(recall), 4),
            "p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "p95_ms": round(float(np.percentile(latencies, 95)), 2),
            "exact_p50_ms": round(float(np.percentile(exact_lat, 50)), 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--shape-texts", type=int, default=4000)
    ap.add_argument("--ef-sweep", type=int, nargs="*", default=[],
                    help="also measure these efSearch values on the same index")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = SearchSettings()
    shape = embedding_shape(args.shape_texts)
    rng = np.random.default_rng(7)
    print(f"exact up to {settings.exact_limit} rows, then HNSW M={settings.hnsw_m} "
          f"efConstruction={settings.hnsw_ef_construction} efSearch={settings.hnsw_ef_search} at "
          "100k rows, x sqrt(rows/100k) above; "
          f"384-d vectors shaped like MiniLM embeddings of {args.shape_texts} real questions")
    cols = ["rows", "index", "ef_search", "build_s", "index_mb", "recall@10", "p50_ms", "p95_ms",
            "exact_p50_ms"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for n in args.sizes:
        result = bench(n, args.queries, shape, settings, rng, tuple(args.ef_sweep))
        print("| " + " | ".join(str(result[c]) for c in cols) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
