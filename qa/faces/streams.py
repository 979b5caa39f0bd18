"""Standard output that carries JSON only, for the `--json` commands.

Libraries the commands run print to standard output on their own: Ray's driver prints the cluster's
error messages ("(raylet) The node with node id ... has been marked dead") from a background thread,
at any moment, with `print(..., file=sys.stdout)`; native code (ONNX Runtime, Ray's core worker)
writes to file descriptor 1. Any such line before or after the JSON breaks a program that parses
it. So while a JSON command runs, `sys.stdout` and descriptor 1 both lead to stderr, and the JSON
alone is written to a private copy of the real standard output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_json_stdout: TextIO | None = None
"""The private copy of the process's standard output, once a JSON command has made it."""


@contextmanager
def stdout_for_json_only() -> Iterator[TextIO]:
    """Yield the stream the JSON goes to; everything else printed meanwhile goes to stderr.

    In a real process the redirection of descriptor 1 and of `sys.stdout` is kept after the block:
    the process ends with the command, and Ray's thread may still print while it does. Where
    standard output is no file descriptor (click's test runner, an embedding program's buffer), only
    `sys.stdout` is redirected, and given back at the end.
    """
    global _json_stdout
    out = sys.stdout
    if _json_stdout is not None and out is sys.stderr:  # a second command in this process
        yield _json_stdout
        _json_stdout.flush()
        return
    try:
        descriptor = out.fileno()
    except (AttributeError, OSError, ValueError):
        descriptor = None
    if descriptor is None:
        sys.stdout = sys.stderr
        try:
            yield out
        finally:
            sys.stdout = out
        return
    out.flush()
    _json_stdout = os.fdopen(os.dup(descriptor), "w", encoding=out.encoding or "utf-8", errors=out.errors or "strict")
    os.dup2(sys.stderr.fileno(), descriptor)
    sys.stdout = sys.stderr
    try:
        yield _json_stdout
    finally:
        _json_stdout.flush()
