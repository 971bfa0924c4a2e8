"""Retrieval evaluation: a throwaway index from an entries file, every query run through
the same search and answer/clarify/fallback decision the bot uses.

The contract's keys come first (tests/unit/test_kb_eval_floor.py lists them). After them,
for reading a result: what each language's index chose at build time, the operating point
it was calibrated to (`target_oos_fallback`), and `curve`, the outcomes at other operating
points: for each target the share of answerable questions answered right, answered wrong,
offered choices and sent to fallback, and the out-of-scope fallback rate, as the same index
would give them calibrated to that target (only the anchor moves; nothing is rebuilt)."""

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from kb_index.decision import Thresholds, decide
from kb_index.encoders import Encoder
from kb_index.entries import Entry
from kb_index.lang import detect_lang
from kb_index.search import CURVE_TARGETS, Hit, SearchIndex, SearchSettings


def read_jsonl(path: Path) -> list[dict]:
    # utf-8-sig: a file saved by a Windows editor starts with a byte-order mark
    with open(path, encoding="utf-8-sig") as f:
        return [json.loads(line) for line in f if line.strip()]


def _lang(value, question: str) -> str:
    """"zh-CN", "zh_cn", "cmn", "EN-us" and a missing lang all name one of the index's two."""
    tag = str(value or "").strip().lower()
    if tag.startswith(("zh", "cmn", "cn")):
        return "zh"
    if tag.startswith("en"):
        return "en"
    return detect_lang(question)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]


def load_entries(path: Path) -> list[Entry]:
    """Entries as an evaluation set writes them, made to fit the editor's rules rather than
    refused: an eval set is someone else's data, and one odd row must not stop the run."""
    limit = next(m.max_length for m in Entry.model_fields["question"].metadata
                 if hasattr(m, "max_length"))
    entries = []
    for r in read_jsonl(path):
        alts = r.get("alt_questions") or []
        alts = [alts] if isinstance(alts, str) else [str(a) for a in alts if a]
        question = str(r.get("question") or (alts.pop(0) if alts else "")).strip()
        entries.append(Entry(id=str(r["id"]), lang=_lang(r.get("lang"), question),
                             question=_clip(question, limit),
                             alt_questions=[_clip(a, limit) for a in alts],
                             answer=str(r.get("answer") or "")))
    return entries


def read_queries(path: Path) -> list[dict]:
    """Queries with their expected id as a string (entry ids are read as strings)."""
    rows = read_jsonl(path)
    for q in rows:
        if q.get("expected_id") is not None:
            q["expected_id"] = str(q["expected_id"])
        q["query"] = str(q.get("query") or "")
    return rows


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
    oos_n = 0
    latencies = []
    searched: list[tuple[str | None, list[Hit]]] = []
    for q in queries:
        t0 = time.perf_counter()
        hits = index.search(q["query"], k=10)
        decide(hits, thresholds)
        latencies.append((time.perf_counter() - t0) * 1000)
        expected = q.get("expected_id")
        searched.append((expected, hits))
        if expected is None:
            oos_n += 1
            continue
        in_scope += 1
        ids = [h.entry.id for h in hits]
        top1 += bool(ids) and ids[0] == expected
        r5 += expected in ids[:5]
        rr += 1 / (ids.index(expected) + 1) if expected in ids else 0.0
    outcome, oos_fallback = _outcomes(searched, thresholds)

    def rate(x: float) -> float:
        return round(x / in_scope, 4) if in_scope else 0.0

    curve = []
    for target in sorted({*CURVE_TARGETS, settings.target_oos_fallback}):
        shift = {lang: p.anchor - p.anchor_at(target) for lang, p in index.parts.items()}
        moved = [(e, _shifted(hits, shift)) for e, hits in searched]
        at, oos_fb = _outcomes(moved, thresholds)
        curve.append({"target": target, **{k: rate(v) for k, v in at.items()},
                      "oos_fallback_rate": round(oos_fb / oos_n, 4) if oos_n else None})

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
        "target_oos_fallback": settings.target_oos_fallback,
        "exact_answered": rate(sum(
            1 for e, hits in searched if e is not None and hits and hits[0].exact)),
        "curve": curve,
    }


def _outcomes(searched: list[tuple[str | None, list[Hit]]],
              thresholds: Thresholds) -> tuple[dict[str, int], int]:
    """Counts of the four in-scope outcomes, and of out-of-scope questions sent to fallback."""
    outcome = {"answered_correct": 0, "answered_wrong": 0, "clarified": 0, "fallback_in_scope": 0}
    oos_fallback = 0
    for expected, hits in searched:
        decision = decide(hits, thresholds)
        if expected is None:
            oos_fallback += decision.kind == "fallback"
        elif decision.kind == "answer":
            right = decision.hits[0].entry.id == expected
            outcome["answered_correct" if right else "answered_wrong"] += 1
        elif decision.kind == "clarify":
            outcome["clarified"] += 1
        else:
            outcome["fallback_in_scope"] += 1
    return outcome, oos_fallback


def _shifted(hits: list[Hit], shift: dict[str, float]) -> list[Hit]:
    """The hits as an index calibrated to another target would score them: each partition's
    scores move by the difference of its anchors (score = scaled - anchor + 0.5)."""
    moved = [dataclasses.replace(h, score=h.score + shift.get(h.entry.lang, 0.0)) for h in hits]
    moved.sort(key=lambda h: (not h.exact, -h.score))
    return moved
