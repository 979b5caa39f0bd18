"""Exceptions raised by the library; the CLI and the app turn them into one-line messages."""

from __future__ import annotations


class QAError(Exception):
    """Base class for every error a user can cause or fix; its message is one line with a next step."""


class InputError(QAError):
    """A document, file, folder or question the user gave cannot be used."""


class ModelError(QAError):
    """The embedding model cannot be found, loaded or materialized."""


class IndexNotFoundError(QAError):
    """The index folder does not exist or does not hold an index."""


class IndexCorruptError(QAError):
    """An index file is missing, truncated or altered; rebuilding is the fix."""


class IndexMismatchError(QAError):
    """The index was built by another model or format version than the one in use."""


class IndexLockedError(QAError):
    """Another process is writing to the same index folder."""


class ClusterError(QAError):
    """A cluster was asked for and cannot be used: Ray is not installed, or it cannot be reached."""
