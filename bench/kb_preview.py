"""Time the admin page's "Try with this form's text" previews as a freshly started hub sees
them: the seed KB's index loaded from disk (not built), one live search, then previews of an
entry whose answer the editor changed.

    .venv/bin/python bench/kb_preview.py [--var DIR] [--lang en|zh] [--runs 3]

The first run builds the index into DIR (default a temporary directory), as `make run` does.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.settings import Settings  # noqa: E402
from kb_index.service import KnowledgeBase  # noqa: E402
from kb_index.store import read_seed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--var", type=Path, default=None)
    ap.add_argument("--lang", choices=("en", "zh"), default="en")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    var = args.var or Path(tempfile.mkdtemp(prefix="kb-preview-"))
    settings = Settings(var_dir=var)
    entries = read_seed(sorted((ROOT / "data" / "kb").glob("*.yml")))

    def kb() -> KnowledgeBase:
        k = settings.kb
        return KnowledgeBase(settings.index_dir, k.encoder(), k.search_settings(), k.thresholds())

    started = time.perf_counter()
    how = kb().ensure(entries)
    print(f"index {how}: {time.perf_counter() - started:.2f} s")
    live = kb()  # a restarted hub: loads the index; the encoder's text cache is seeded from it
    live.ensure(entries)
    live.search("Can I download the videos?" if args.lang == "en" else "课程能下载吗", 8)
    target = next(e for e in entries if e.lang == args.lang)
    for n in range(args.runs):
        edited = target.model_copy(update={"answer": f"{target.answer} (edit {n})"})
        started = time.perf_counter()
        live.preview([e for e in entries if e.id != target.id] + [edited])
        print(f"preview {n + 1} ({target.id}): {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
