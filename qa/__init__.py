"""Arabic-first extractive question answering over news articles, with cited verbatim quotes.

    from qa import Index, Retriever, Assistant
    index = Index.build("seeds", "index")
    answer = Assistant(Retriever(index)).ask("ما هي المبادرات التي يشرف عليها المغرب؟")
    print(answer.text)

Names are imported on first use, so `import qa` and `qa --help` stay fast and never load a model.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Index": "qa.index",
    "UpdateReport": "qa.index",
    "Retriever": "qa.retrieve",
    "Assistant": "qa.answer.assistant",
    "Settings": "qa.config",
    "Filters": "qa.filters",
    "Question": "qa.question",
    "Article": "qa.records",
    "Chunk": "qa.records",
    "Hit": "qa.records",
    "Quote": "qa.records",
    "Citation": "qa.records",
    "Answer": "qa.records",
    "QAError": "qa.errors",
    "InputError": "qa.errors",
    "ModelError": "qa.errors",
    "IndexNotFoundError": "qa.errors",
    "IndexCorruptError": "qa.errors",
    "IndexMismatchError": "qa.errors",
    "IndexLockedError": "qa.errors",
}

__all__ = list(_EXPORTS)

if TYPE_CHECKING:
    from qa.answer.assistant import Assistant
    from qa.config import Settings
    from qa.errors import (
        IndexCorruptError,
        IndexLockedError,
        IndexMismatchError,
        IndexNotFoundError,
        InputError,
        ModelError,
        QAError,
    )
    from qa.filters import Filters
    from qa.index import Index, UpdateReport
    from qa.question import Question
    from qa.records import Answer, Article, Chunk, Citation, Hit, Quote
    from qa.retrieve import Retriever


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
