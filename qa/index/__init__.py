"""Building, updating and storing the searchable index."""

from qa.index.base import Index, Snapshot, UpdateReport

__all__ = ["Index", "Snapshot", "UpdateReport"]
