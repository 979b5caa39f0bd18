"""Reading a build's source on the cluster: files parsed by Ray tasks on every node, in source order.

Parsing is most of reading: trafilatura takes tens of milliseconds a news page, as much as a GPU
takes to embed it. So a folder's files go, `GROUP` at a time, to Ray tasks on any node (the folder
must be on storage every node sees), and the driver takes their articles back in file order, then
checks them (empty, too long, duplicate ids: the first wins) and normalizes dates as a local read
does (`qa.ingest.files.checked`): the same articles in the same order, and the same warnings.

A file larger than `LOCAL_BYTES` is read by the driver itself, in its turn (one such file is one
task's work anyway, and its articles would cross the object store twice); a URL is fetched here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path

import ray

from qa.ingest.fetch import is_url
from qa.ingest.files import checked, iter_path, read_file, source_files
from qa.records import Article

GROUP = 32
"""Files per task: a news page takes milliseconds to parse, a task's round trip about as much."""
IN_FLIGHT_PER_NODE = 2
"""Tasks running or done but not yet consumed, per node: the driver holds a few groups of articles at
a time, and each task is a process (with no CPU reserved: the embedding workers hold them)."""
LOCAL_BYTES = 16 * 2**20


@ray.remote(num_cpus=0, scheduling_strategy="SPREAD")
def _read_files(files: list[tuple[str, str]]) -> list[tuple[list[tuple[Article, str]], list[str]]]:
    return [read_file(Path(path), where) for path, where in files]


def read_on_cluster(path: str | Path, warnings: list[str], env: dict[str, str]) -> Iterator[Article]:
    """`qa.ingest.files.iter_path` with the files parsed on the cluster.

    Raises:
        InputError: as `iter_path` (checked at once).
    """
    if is_url(path):
        return iter_path(path, warnings)
    files, base = source_files(path)
    units: list[tuple[str, list[tuple[str, str]]]] = []
    for file in files:
        where = file.relative_to(base).as_posix()
        if file.stat().st_size > LOCAL_BYTES:
            units.append(("here", [(str(file), where)]))
        elif units and units[-1][0] == "task" and len(units[-1][1]) < GROUP:
            units[-1][1].append((str(file.resolve()), where))
        else:
            units.append(("task", [(str(file.resolve()), where)]))
    task = _read_files.options(runtime_env={"env_vars": env})
    in_flight = IN_FLIGHT_PER_NODE * max(1, sum(1 for n in ray.nodes() if n.get("Alive")))
    return checked(_in_order(units, task, in_flight, warnings), warnings)


def _in_order(units: list, task, in_flight: int, warnings: list[str]) -> Iterator[tuple[Article, str]]:
    pending: deque = deque()
    upcoming = iter(units)

    def submit() -> None:
        for kind, files in upcoming:
            pending.append((kind, files, task.remote(files) if kind == "task" else None))
            if sum(1 for p in pending if p[2] is not None) >= in_flight:
                return

    submit()
    while pending:
        kind, files, ref = pending.popleft()
        results = ray.get(ref) if ref is not None else [read_file(Path(files[0][0]), files[0][1])]
        submit()
        for items, problems in results:
            warnings.extend(problems)
            yield from items
