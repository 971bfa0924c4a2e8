"""Questions the KB could not answer well, logged with their conversation for curation."""

import json
import time

import sqlite_utils

GAPS = "kb_gaps"


def ensure_schema(db: sqlite_utils.Database) -> None:
    db[GAPS].create(
        {
            "id": int,
            "conversation_id": str,
            "query": str,
            "lang": str,
            "kind": str,
            "hits": str,
            "created_at": float,
            "resolved_entry": str,
        },
        transform=True,
        pk="id",
    )
    db[GAPS].create_index(["created_at"], if_not_exists=True)


def log_gap(
    db: sqlite_utils.Database,
    *,
    conversation_id: str,
    query: str,
    lang: str,
    kind: str,
    hits: list[dict],
) -> int:
    """kind: "clarify" (not sure), "fallback" (no answer) or "not_helpful" (learner said so)."""
    return int(
        db[GAPS]
        .insert(
            {
                "conversation_id": conversation_id,
                "query": query,
                "lang": lang,
                "kind": kind,
                "hits": json.dumps(hits, ensure_ascii=False),
                "created_at": time.time(),
            }
        )
        .last_pk
    )


def recent_gaps(db: sqlite_utils.Database, limit: int = 500) -> list[dict]:
    rows = db[GAPS].rows_where(order_by="id desc", limit=limit)
    return [{**r, "hits": json.loads(r["hits"] or "[]")} for r in rows]


def _topic_terms(text: str) -> set[str]:
    """Terms for grouping questions: English content words; Chinese bigrams taken inside
    jieba words (runs of single characters joined, so an unknown word like 花呗 survives),
    never across word boundaries where bigrams are noise."""
    import re

    from kb_index.lexical import _jieba, terms

    out = {t for t in terms(text) if t.startswith("w:") and not re.search(r"[一-鿿]", t)}
    for run in re.findall(r"[\u3400-\u9fff]+", text):
        pieces, singles = [], ""
        for tok in _jieba().lcut(run):
            if len(tok) == 1:
                singles += tok
                continue
            pieces += [singles, tok] if singles else [tok]
            singles = ""
        for piece in [*pieces, singles]:
            out.update("b:" + piece[i : i + 2] for i in range(len(piece) - 1))
    return out


def clusters(
    db: sqlite_utils.Database,
    encoder,
    reference: list[str] | None = None,  # type: ignore[no-untyped-def]
    *,
    limit: int = 1000,
    threshold: float = 0.5,
) -> list[dict]:
    """Open gaps grouped by similar wording, most frequent first.

    Similarity is the larger of the encoder's cosine and an IDF-weighted overlap of lexical
    terms (words, CJK bigrams), so Chinese questions group even with an English-only encoder.
    IDF comes from `reference` (the KB's questions) plus the gaps, so words every question
    shares ("怎么", "how") weigh little and the topic words weigh a lot. Greedy single pass:
    a gap joins the cluster (same language) holding its most similar member.
    """
    import math

    import numpy as np

    rows = list(db[GAPS].rows_where("resolved_entry IS NULL", order_by="id desc", limit=limit))
    if not rows:
        return []
    texts = [r["query"] for r in rows]
    vectors = encoder.encode(texts)
    bags = [_topic_terms(x) for x in texts]
    docs = [*bags, *(_topic_terms(x) for x in reference or [])]
    df: dict[str, int] = {}
    for bag in docs:
        for term in bag:
            df[term] = df.get(term, 0) + 1
    idf = {term: math.log(1 + len(docs) / n) for term, n in df.items()}

    def overlap(a: set[str], b: set[str]) -> float:
        small = min(sum(idf[t] for t in a), sum(idf[t] for t in b))
        return sum(idf[t] for t in a & b) / small if small else 0.0

    groups: list[list[int]] = []
    for i in range(len(rows)):
        best, best_sim = None, threshold
        for g in groups:
            if rows[g[0]]["lang"] != rows[i]["lang"]:
                continue
            sim = max(
                max(float(np.dot(vectors[i], vectors[j])), overlap(bags[i], bags[j])) for j in g
            )
            if sim >= best_sim:
                best, best_sim = g, sim
        if best is None:
            groups.append([i])
        else:
            best.append(i)
    out = []
    for g in groups:
        members = [rows[i] for i in g]
        queries = list(dict.fromkeys(m["query"] for m in members))
        out.append(
            {
                "key": members[-1]["id"],
                "size": len(members),
                "lang": members[0]["lang"],
                "representative": members[-1]["query"],
                "queries": queries[:20],
                "gap_ids": [m["id"] for m in members],
                "conversation_ids": list(dict.fromkeys(m["conversation_id"] for m in members))[:20],
                "kinds": {
                    k: sum(m["kind"] == k for m in members) for k in {m["kind"] for m in members}
                },
                "last_seen": max(m["created_at"] for m in members),
                "best_hits": json.loads(members[-1]["hits"] or "[]")[:3],
            }
        )
    out.sort(key=lambda c: (-c["size"], -c["last_seen"]))
    return out


def resolve(db: sqlite_utils.Database, gap_ids: list[int], entry_id: str) -> int:
    """Mark gaps as covered by an entry, so they leave the gaps view."""
    if not gap_ids:
        return 0
    marks = ",".join("?" * len(gap_ids))
    cur = db.execute(
        f"UPDATE {GAPS} SET resolved_entry = ? WHERE id IN ({marks})", [entry_id, *gap_ids]
    )
    db.conn.commit()
    return cur.rowcount
