"""Import and export of KB entries as YAML, CSV, JSONL or a JSON array, lossless in every
direction.

Exports carry every content field (not the version counter, which the store owns); lists
(alternate questions, tags) are JSON arrays inside CSV cells.

Imports check every row with the editor's own rules (EntryIn) before anything is stored:
one bad row, or one id given twice, and the whole file is refused. A row without a status
comes in as a draft: nothing goes live that nobody chose to publish. A UTF-8 byte-order mark
(Excel's "CSV UTF-8") is ignored in every format.
"""

import csv
import io
import json
from dataclasses import dataclass, field

import yaml
from pydantic import ValidationError

from kb_index.entries import Entry, EntryIn, unpublishable

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
FORMATS = ("yaml", "csv", "jsonl", "json")
# what an import reads: every export format (a .json file may also be {"entries": [...]})
LOAD_FORMATS = FORMATS
_LISTS = ("tags", "alt_questions")


def _record(e: Entry) -> dict:
    return {f: getattr(e, f) for f in FIELDS}


def dumps(entries: list[Entry], fmt: str) -> str:
    records = [_record(e) for e in entries]
    if fmt == "yaml":
        return yaml.safe_dump({"entries": records}, allow_unicode=True, sort_keys=False, width=1000)
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if fmt == "json":
        return json.dumps(records, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FIELDS)
        writer.writeheader()
        for r in records:
            row = {
                **r,
                **{k: json.dumps(r[k], ensure_ascii=False) for k in _LISTS},
                "translation": r["translation"] or "",
            }
            writer.writerow({k: defuse(v) for k, v in row.items()})
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r}; use one of {FORMATS}")


# A cell a spreadsheet would run as a formula (learner text reaches entries through drafts
# made from unanswered questions: "=HYPERLINK(...)"): written with a leading apostrophe,
# which spreadsheets show as text, and read back without it.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: object) -> object:
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA) else value


def _undefuse(value: object) -> object:
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(_FORMULA):
        return value[1:]
    return value


@dataclass
class Parsed:
    entries: list[Entry]
    drafted: list[str] = field(default_factory=list)  # ids of rows that gave no status


def _entries_of(doc: object, fmt: str) -> list:
    """The list of entries in a parsed YAML or JSON file: the document itself, or its
    'entries' list. Any other mapping is refused: read as "no entries", a lone entry that is
    not in a list would import nothing and still report success."""
    if isinstance(doc, dict) and "entries" in doc:
        doc = doc["entries"]
    if isinstance(doc, list):
        return doc
    what, zh = ("a JSON array", "JSON 数组") if fmt == "json" else ("a YAML list", "YAML 列表")
    kind = "object" if fmt == "json" else "mapping"
    got = {str: "text", int: "a number", float: "a number", bool: "true/false"}.get(
        type(doc), "null" if doc is None else type(doc).__name__
    )
    if isinstance(doc, dict):
        keys = ", ".join(map(str, doc))
        got = (
            f"one {kind} ({keys[:60]}{'…' if len(keys) > 60 else ''})"
            if doc
            else f"an empty {kind}"
        )
    raise ValueError(
        f"expected {what} of entries (or an 'entries' list), got {got}; put even a single "
        f"entry in a list · 需要由条目组成的 {zh}（单个条目也要放在列表中）"
    )


def _why(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        where = ".".join(str(x) for x in err["loc"]) or "entry"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def parse(text: str, fmt: str) -> Parsed:
    """Parse and check entries; raises ValueError naming the line, row or entry that is wrong.

    A leading byte-order mark is dropped: Excel saves "CSV UTF-8" with one (and Notepad its
    UTF-8), which made the CSV header's first column read "\ufeffid"."""
    text = text.removeprefix("\ufeff")
    if fmt == "yaml":
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ValueError(f"not valid YAML: {e}") from e
        # an empty file imports nothing, as before; an empty JSON file is not valid JSON
        items = [] if doc is None else _entries_of(doc, fmt)
    elif fmt == "json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"not valid JSON: {e.msg} (line {e.lineno})") from e
        items = _entries_of(doc, fmt)
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
        try:
            fields = reader.fieldnames or []
            rows = list(reader)
        except csv.Error as e:  # a field over csv's 128 KiB, a NUL byte...
            raise ValueError(f"not a CSV file we can read: {e}") from e
        missing = {"id", "lang", "question", "answer"} - set(fields)
        if missing:
            raise ValueError(f"the CSV header lacks the columns {', '.join(sorted(missing))}")
        for n, raw in enumerate(rows, 2):
            row = {k: _undefuse(v) for k, v in raw.items()}
            try:
                items.append(
                    {
                        **row,
                        **{k: json.loads(row.get(k) or "[]") for k in _LISTS},
                        "translation": row.get("translation") or None,
                        "status": row.get("status") or None,  # an empty cell: a draft
                    }
                )
            except json.JSONDecodeError as e:
                raise ValueError(f"row {n}: {e.msg} in a list column") from e
    else:
        raise ValueError(f"unknown format {fmt!r}; use one of {LOAD_FORMATS}")
    out: list[Entry] = []
    drafted: list[str] = []
    seen: dict[str, int] = {}
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ValueError(f"entry {n}: expected a mapping of fields, got {type(item).__name__}")
        try:
            row = EntryIn(**{k: v for k, v in item.items() if k in FIELDS})
        except ValidationError as e:
            raise ValueError(f"entry {n} ({item.get('id', '?')}): {_why(e)}") from e
        except TypeError as e:  # a field of the wrong shape, e.g. a number for the tags
            raise ValueError(f"entry {n} ({item.get('id', '?')}): {e}") from e
        if row.id in seen:
            raise ValueError(f"entry {n}: id {row.id} is also entry {seen[row.id]} in this file")
        seen[row.id] = n
        if row.status is None:
            drafted.append(row.id)
        entry = row.to_entry(row.status or "draft")
        if entry.status == "published" and (why := unpublishable(entry)):
            raise ValueError(f"entry {n} ({row.id}): {why}")
        out.append(entry)
    return Parsed(out, drafted)


def loads(text: str, fmt: str) -> list[Entry]:
    """The entries of an import file (see parse)."""
    return parse(text, fmt).entries
