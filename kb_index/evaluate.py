"""Retrieval evaluation: a throwaway index from an entries file, every query run through
the same search and answer/clarify/fallback decision the bot uses."""

import json
import time
from pathlib import Path

import numpy as np

from kb_index.decision import Thresholds, decide
from kb_index.encoders import Encoder
from kb_index.entries import Entry
from kb_index.search import SearchIndex, SearchSettings


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_entries(path: Path) -> list[Entry]:
    return [
        Entry(id=r["id"], lang=r.get("lang", "en"), question=r["question"],
              alt_questions=r.get("alt_questions") or [], answer=r.get("answer") or "")
        for r in read_jsonl(path)
    ]


def evaluate(
    entries: list[Entry],
    queries: list[dict],
    encoder: Encoder,
    settings: SearchSettings,
    thresholds: Thresholds,
) -> dict:
    started = time.perf_counter()
    index = SearchIndex.build(entries, encoder, settings)
    build_s = time.perf_counter() - started

    in_scope = top1 = r5 = 0
    rr = 0.0
    outcome = {"answered_correct": 0, "answered_wrong": 0, "clarified": 0, "fallback_in_scope": 0}
    oos_n = oos_fallback = 0
    latencies = []
    for q in queries:
        t0 = time.perf_counter()
        hits = index.search(q["query"], k=10)
        decision = decide(hits, thresholds)
        latencies.append((time.perf_counter() - t0) * 1000)
        expected = q.get("expected_id")
        if expected is None:
            oos_n += 1
            oos_fallback += decision.kind == "fallback"
            continue
        in_scope += 1
        ids = [h.entry.id for h in hits]
        top1 += bool(ids) and ids[0] == expected
        r5 += expected in ids[:5]
        rr += 1 / (ids.index(expected) + 1) if expected in ids else 0.0
        if decision.kind == "answer":
            right = decision.hits[0].entry.id == expected
            outcome["answered_correct" if right else "answered_wrong"] += 1
        elif decision.kind == "clarify":
            outcome["clarified"] += 1
        else:
            outcome["fallback_in_scope"] += 1

    def rate(x: float) -> float:
        return round(x / in_scope, 4) if in_scope else 0.0

    lat = np.asarray(latencies) if latencies else np.zeros(1)
    return {
        "n": len(queries),
        "top1": rate(top1),
        "recall_at_5": rate(r5),
        "mrr": rate(rr),
        **{k: rate(v) for k, v in outcome.items()},
        "oos_n": oos_n,
        "oos_fallback_rate": round(oos_fallback / oos_n, 4) if oos_n else None,
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p95_ms": round(float(np.percentile(lat, 95)), 2),
        "build_s": round(build_s, 2),
        "in_scope_n": in_scope,
        "entries": len(entries),
        "model": encoder.name,
        "anchors": {lang: info.get("anchor")
                    for lang, info in index.manifest.extra.get("encoders", {}).items()},
        "answer_weights": {lang: info.get("answer_weight")
                           for lang, info in index.manifest.extra.get("encoders", {}).items()},
        "learned_weights": {lang: info.get("learned_weight")
                            for lang, info in index.manifest.extra.get("encoders", {}).items()},
    }
