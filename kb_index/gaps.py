"""Questions the KB could not answer well, logged with their conversation for curation.

Every function takes the caller's connection (one unit of work) and never commits."""

import json
import time
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Connection

from kb_index.tables import kb_gaps as GAPS
from privacy import mask


def log_gap(
    conn: Connection,
    *,
    conversation_id: str,
    query: str,
    lang: str,
    kind: str,
    hits: list[dict],
) -> int:
    """kind: "clarify" (not sure), "fallback" (no answer), "out_of_scope" (the NLU said so
    and the KB had no answer either) or "not_helpful" (learner said so)."""
    result = conn.execute(
        sa.insert(GAPS).values(
            conversation_id=conversation_id,
            query=mask(query),  # content staff need the question, not the learner's number
            lang=lang,
            kind=kind,
            hits=json.dumps(hits, ensure_ascii=False),
            created_at=time.time(),
        )
    )
    return int(result.inserted_primary_key[0])


def recent_gaps(conn: Connection, limit: int = 500) -> list[dict]:
    rows = conn.execute(sa.select(GAPS).order_by(GAPS.c.id.desc()).limit(limit))
    return [{**r._mapping, "hits": json.loads(r.hits or "[]")} for r in rows]


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


def _scaled_cosines(rows: list[dict], encoder) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Cosine between every two gaps, put on the encoder's own scale: (cos - lo) / (hi - lo)
    with (lo, hi) = score_scale of the language's encoder. Without it one cutoff cannot serve
    both models: e5 (zh) scores unrelated Chinese sentences 0.82-0.86, MiniLM (en) ~0.1-0.3.
    Gaps of different languages are never compared (-inf)."""
    from kb_index.encoders import encoder_for, score_scale

    sims = np.full((len(rows), len(rows)), -np.inf, dtype=np.float32)
    for lang in {r["lang"] for r in rows}:
        idx = [i for i, r in enumerate(rows) if r["lang"] == lang]
        enc = encoder_for(encoder, lang)
        lo, hi = score_scale(enc)
        vec = np.asarray(enc.encode([rows[i]["query"] for i in idx], query=True), dtype=np.float32)
        sims[np.ix_(idx, idx)] = (vec @ vec.T - lo) / (hi - lo)
    return sims


# The cutoff on the encoder's own scale ((cos - lo) / (hi - lo), see _scaled_cosines), chosen
# per scale on tests/fixtures/gap_topics.yml (20 zh + 20 en questions in 6 topics, mean
# linkage): even on its scale e5 rates unrelated Chinese questions higher (median 0.48, 90th
# percentile 0.60) than MiniLM rates unrelated English ones (0.11, 0.27); questions on one
# topic: e5 0.69, MiniLM 0.42 (medians). Any other scale (the hashing encoder) gets 0.5.
# MiniLM's cutoff is the top of the range the fixture cannot tell apart (0.30-0.35: the same
# 8 clusters, purity 1.00, inverse purity 0.90), not its bottom: a false merge hides a topic
# under another's title, a false split only shows one topic as two cards. At 0.32 unrelated
# questions in the courses' domain merged ("download the course slides as PDF" / "student
# discounts for teachers", cosine 0.321). e5's 0.62 is the fixture's only best value.
CUTOFFS = {(0.70, 1.0): 0.62, (0.0, 1.0): 0.34}


def cutoff_for(encoder, lang: str) -> float:  # type: ignore[no-untyped-def]
    from kb_index.encoders import HashingEncoder, encoder_for, score_scale

    enc = encoder_for(encoder, lang)
    if isinstance(enc, HashingEncoder):
        return 0.5
    return CUTOFFS.get(score_scale(enc), 0.5)


def clusters(
    conn: Connection,
    encoder,  # type: ignore[no-untyped-def]
    reference: list[str] | None = None,
    *,
    limit: int = 1000,
    threshold: float | None = None,
) -> list[dict]:
    """Open gaps (not resolved, not dismissed) grouped by similar wording, biggest first.

    Similarity is the larger of the encoder's cosine on its own scale (see _scaled_cosines)
    and an IDF-weighted overlap of lexical terms (words, CJK bigrams), so Chinese questions
    group even with an English-only encoder. IDF comes from `reference` (the KB's questions)
    plus the gaps, so words every question shares ("怎么", "how") weigh little and the topic
    words weigh a lot. Greedy single pass, mean linkage: a gap joins the cluster (same
    language) it is most similar to on average, if that clears the language's cutoff
    (`threshold` overrides it). Single linkage (the most similar member) chained every
    Chinese question into one cluster. A cluster is titled by its most central member (the
    highest mean similarity to the others), not by whichever came first.
    """
    import math

    rows: list[dict[str, Any]] = [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(GAPS)
            .where(GAPS.c.resolved_entry.is_(None), GAPS.c.dismissed_at.is_(None))
            .order_by(GAPS.c.id.desc())
            .limit(limit)
        )
    ]
    if not rows:
        return []
    texts = [r["query"] for r in rows]
    sims = _scaled_cosines(rows, encoder)
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

    def sim(i: int, j: int) -> float:
        return max(float(sims[i, j]), overlap(bags[i], bags[j]))

    cutoffs = {
        lang: threshold if threshold is not None else cutoff_for(encoder, lang)
        for lang in {r["lang"] for r in rows}
    }
    groups: list[list[int]] = []
    for i in range(len(rows)):
        best, best_sim = None, cutoffs[rows[i]["lang"]]
        for g in groups:
            if rows[g[0]]["lang"] != rows[i]["lang"]:
                continue
            s = sum(sim(i, j) for j in g) / len(g)
            if s >= best_sim:
                best, best_sim = g, s
        if best is None:
            groups.append([i])
        else:
            best.append(i)
    out = []
    for g in groups:
        members = [rows[i] for i in g]
        centre = max(g, key=lambda i: (sum(float(sims[i, j]) for j in g if j != i), -i))
        queries = list(dict.fromkeys([rows[centre]["query"], *(m["query"] for m in members)]))
        drafts = sorted({m["draft_entry"] for m in members if m.get("draft_entry")})
        out.append(
            {
                "key": members[-1]["id"],
                "size": len(members),
                "lang": members[0]["lang"],
                "representative": rows[centre]["query"],
                "queries": queries[:20],
                "gap_ids": [m["id"] for m in members],
                # no conversation ids: the editors who read this view read no transcripts
                "conversations": len({m["conversation_id"] for m in members}),
                "kinds": {
                    k: sum(m["kind"] == k for m in members) for k in {m["kind"] for m in members}
                },
                "last_seen": max(m["created_at"] for m in members),
                "best_hits": json.loads(rows[centre]["hits"] or "[]")[:3],
                "drafts": drafts,
            }
        )
    out.sort(key=lambda c: (-c["size"], -c["last_seen"]))
    return out


def _update(conn: Connection, gap_ids: list[int], **values: Any) -> int:
    if not gap_ids:
        return 0
    return conn.execute(sa.update(GAPS).where(GAPS.c.id.in_(gap_ids)).values(**values)).rowcount


def link_draft(conn: Connection, gap_ids: list[int], entry_id: str) -> int:
    """Note that an entry is being written for these gaps. They stay in the gaps view until
    it is published: an abandoned draft must not hide the questions for good."""
    return _update(conn, gap_ids, draft_entry=entry_id)


def resolve_published(conn: Connection, entry_id: str) -> int:
    """The entry went live: the gaps it was written for are answered now."""
    stmt = (
        sa.update(GAPS)
        .where(GAPS.c.draft_entry == entry_id, GAPS.c.resolved_entry.is_(None))
        .values(resolved_entry=entry_id)
    )
    return conn.execute(stmt).rowcount


def dismiss(conn: Connection, gap_ids: list[int], who: str) -> int:
    """ "Not a KB question": hide these gaps from curation (kept in the table for the record)."""
    return _update(conn, gap_ids, dismissed_by=who, dismissed_at=time.time())


def resolve(conn: Connection, gap_ids: list[int], entry_id: str) -> int:
    """Mark gaps as covered by an existing, live entry, so they leave the gaps view."""
    return _update(conn, gap_ids, resolved_entry=entry_id)
