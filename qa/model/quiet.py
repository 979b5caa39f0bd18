"""Third-party chatter switched off around our own calls into transformers, torch and onnxruntime.

The one-time model preparation prints one line of ours. Without this module it also printed what the
libraries it calls print: a "Loading weights" progress bar per `AutoModel.from_pretrained`, torch's
tracer warnings during the ONNX export, and onnxruntime's quantizer advice, logged through the root
logger with a URL ("Please consider to run pre-processing before quantization ..."). None of these
asks anything of the user.

Only around the calls: each switch is read before and restored after (also when the call raises), so a
program using `qa` keeps its own logging, warning filters and progress bars. The switches are
process-wide while a call runs, as the libraries offer no other kind; the calls wrapped here run once
per machine or once per process, not per question.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_progress_bars() -> Iterator[None]:
    """transformers' and huggingface_hub's progress bars off (e.g. "Loading weights: 100%|...| 199/199"),
    for loading a model whose loading is no news to the user."""
    from huggingface_hub.utils import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )
    from transformers.utils import logging as hf_logging

    bars_on, hub_off = hf_logging.is_progress_bar_enabled(), are_progress_bars_disabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the hub's note when HF_HUB_DISABLE_PROGRESS_BARS=0 overrules us
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if bars_on:
                hf_logging.enable_progress_bar()  # which turns the hub's on too
            (disable_progress_bars if hub_off else enable_progress_bars)()


@contextmanager
def quietly() -> Iterator[None]:
    """No progress bars, no `warnings`, transformers' log at errors only, and python log records below
    ERROR dropped, for the export of our own, known model.

    `logging.warning()` (as onnxruntime's quantizer calls it) gives a root logger without handlers a
    stderr handler for good; a placeholder handler, removed after, keeps it from doing so.
    """
    from transformers.utils import logging as hf_logging

    root = logging.getLogger()
    level, verbosity = root.level, hf_logging.get_verbosity()
    placeholder = None if root.handlers else logging.NullHandler()
    if placeholder is not None:
        root.addHandler(placeholder)
    root.setLevel(logging.ERROR)
    hf_logging.set_verbosity_error()
    try:
        with no_progress_bars(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        root.setLevel(level)
        if placeholder is not None:
            root.removeHandler(placeholder)
