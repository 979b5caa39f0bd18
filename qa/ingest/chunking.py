"""Split an article into overlapping passages with exact character offsets.

Wraps langchain's RecursiveCharacterTextSplitter with Arabic-aware separators: paragraphs, lines,
sentence ends (. ؟ ! ؛ ?), then the Arabic comma and spaces. `keep_separator="end"` keeps a
sentence's final mark with it instead of moving it to the next chunk.
"""

from __future__ import annotations

from qa.errors import QAError

# Regexes (is_separator_regex=True). Sentence ends split only before whitespace so 3.5 stays whole.
SEPARATORS = [
    r"\r?\n(?:[ \t]*\r?\n)+",
    r"\r?\n",
    r"(?<=[.؟!؛?])\s+",
    r"(?<=[،,;:])\s+",
    r"\s+",
    "",
]


class Chunker:
    """Turns a text into `(start, end)` spans such that `text[start:end]` is each chunk.

    Example:
        >>> Chunker(chunk_size=200, chunk_overlap=40).spans("...")
    """

    def __init__(self, chunk_size: int, chunk_overlap: int) -> None:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=SEPARATORS,
            is_separator_regex=True,
            keep_separator="end",
            strip_whitespace=True,
        )

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Chunk spans in order; each chunk is found in `text` after the previous one's start."""
        spans: list[tuple[int, int]] = []
        cursor = 0
        for piece in self._splitter.split_text(text):
            start = text.find(piece, cursor)
            if start < 0:  # the splitter only ever returns substrings; this guards the invariant
                raise QAError(f"internal error: chunk not found in its text at or after offset {cursor}")
            spans.append((start, start + len(piece)))
            cursor = start + 1
        return spans
