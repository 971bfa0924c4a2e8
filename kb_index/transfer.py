"""Import and export of KB entries as YAML, CSV or JSONL, lossless in every direction.

Exports carry every content field (not the version counter, which the store owns); lists
(alternate questions, tags) are JSON arrays inside CSV cells.
"""

import csv
import io
import json

import yaml

from kb_index.entries import Entry

FIELDS = [
    "id",
    "lang",
    "status",
    "category",
    "tags",
    "translation",
    "question",
    "alt_questions",
    "answer",
]
FORMATS = ("yaml", "csv", "jsonl")
_LISTS = ("tags", "alt_questions")


def _record(e: Entry) -> dict:
    return {f: getattr(e, f) for f in FIELDS}


def dumps(entries: list[Entry], fmt: str) -> str:
    records = [_record(e) for e in entries]
    if fmt == "yaml":
        return yaml.safe_dump({"entries": records}, allow_unicode=True, sort_keys=False, width=1000)
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FIELDS)
        writer.writeheader()
        for r in records:
            writer.writerow(
                {
                    **r,
                    **{k: json.dumps(r[k], ensure_ascii=False) for k in _LISTS},
                    "translation": r["translation"] or "",
                }
            )
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r}; use one of {FORMATS}")


def loads(text: str, fmt: str) -> list[Entry]:
    """Parse entries; raises ValueError with the line or row that is wrong."""
    if fmt == "yaml":
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise ValueError(f"not valid YAML: {e}") from e
        items = doc.get("entries", []) if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise ValueError("expected a list of entries (or a mapping with an 'entries' list)")
    elif fmt == "jsonl":
        items = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"line {n}: {e.msg}") from e
    elif fmt == "csv":
        items = []
        reader = csv.DictReader(io.StringIO(text))
        missing = {"id", "lang", "question", "answer"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"the CSV header lacks the columns {', '.join(sorted(missing))}")
        for n, row in enumerate(reader, 2):
            try:
                items.append(
                    {
                        **row,
                        **{k: json.loads(row.get(k) or "[]") for k in _LISTS},
                        "translation": row.get("translation") or None,
                    }
                )
            except json.JSONDecodeError as e:
                raise ValueError(f"row {n}: {e.msg} in a list column") from e
    else:
        raise ValueError(f"unknown format {fmt!r}; use one of {FORMATS}")
    out = []
    for n, item in enumerate(items, 1):
        try:
            out.append(Entry(**{k: v for k, v in item.items() if k in FIELDS}))
        except Exception as e:  # pydantic's message names the field
            raise ValueError(f"entry {n} ({item.get('id', '?')}): {e}") from e
    return out
