#!/usr/bin/env python3
"""Deep-tier sentence embeddings for training a head, cached under `.cache/waypoint/embeddings/`.

Usage as a script:  python3 models/train/deep/embed.py TEXTS.txt [--out FILE.npy]
Usage as a module:  from embed import embed_texts; matrix = embed_texts(list_of_texts)

Embeddings are computed exactly as the SDK computes them: ids from the encoder's ORIGINAL
tokenizer op (the Rust tokenizer is proven identical to it, see
`sdk/waypoint/tests/deep_tokenizer_golden.rs`), then the prepared `encoder.onnx`. Each text is
embedded alone (batch of 1): the int8 model quantises activations per batch, so batching would
make a text's embedding depend slightly on its neighbours (cosine ≥ 0.99 to the batch-of-1 one).

The result for a list of texts is cached by the sha256 of the texts, so re-running a training
script costs nothing; each text's embedding is also kept in shards keyed by the text's own sha256
(`embeddings/shards/`), so a changed list embeds only the texts not seen before. Needs `python3 models/fetch.py` first; the Python packages are installed,
pinned, by `models/deep/make_golden.py`'s installer into `<cache>/pydeps-golden/`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DEFAULT_CACHE = Path(os.environ.get("WAYPOINT_CACHE_DIR", REPO / ".cache" / "waypoint"))
EMBEDDING_DIM = 512
# Texts per cache shard.
SHARD_ROWS = 10_000


def _golden_module():
    spec = importlib.util.spec_from_file_location("make_golden", REPO / "models" / "deep" / "make_golden.py")
    if spec is None or spec.loader is None:
        sys.exit("embed: cannot load models/deep/make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Encoder:
    """The original tokenizer op plus the stripped encoder, under ONNX Runtime."""

    def __init__(self, cache: Path = DEFAULT_CACHE, threads: int = 1):
        golden = _golden_module()
        encoder_dir = cache / "encoder"
        if not (encoder_dir / "encoder.onnx").is_file():
            sys.exit(f"embed: {encoder_dir}/encoder.onnx is missing; run `python3 models/fetch.py` first")
        golden.install(cache)
        import numpy as np  # noqa: PLC0415
        import onnx  # noqa: PLC0415
        import onnxruntime as ort  # noqa: PLC0415
        from onnxruntime_extensions import get_library_path  # noqa: PLC0415

        self.np = np
        original = onnx.load(str(encoder_dir / "embedding_model_quantized.onnx"))
        self.input_name = original.graph.node[0].input[0]
        self.tokenizer = golden.tokenizer_session(onnx, ort, get_library_path(), original)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.encoder = ort.InferenceSession(str(encoder_dir / "encoder.onnx"), options,
                                            providers=["CPUExecutionProvider"])

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        np = self.np
        ids, splits = self.tokenizer.run(None, {self.input_name: np.array(texts, dtype=object)})
        return [ids[splits[i] : splits[i + 1]].tolist() for i in range(len(texts))]

    def embed(self, texts: list[str]):
        """One 512-d embedding per text, each text embedded alone."""
        np = self.np
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for start in range(0, len(texts), 1024):
            chunk = texts[start : start + 1024]
            for offset, ids in enumerate(self.token_ids(chunk)):
                feed = {"token_ids": np.array(ids, dtype=np.int32),
                        "row_splits": np.array([0, len(ids)], dtype=np.int64)}
                out[start + offset] = self.encoder.run(None, feed)[0][0]
        return out


def texts_digest(texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        encoded = text.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()


def text_key(text: str) -> bytes:
    """The shard key of one text: the sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def _cached_rows(shards: Path, wanted: set[bytes], np) -> dict[bytes, object]:
    """The embeddings of the `wanted` text keys that the shards hold. Only the small key files
    are read whole; a shard's matrix is memory-mapped and only the wanted rows are copied."""
    found: dict[bytes, object] = {}
    for keys_file in sorted(shards.glob("*.keys.npy")):
        matrix_file = keys_file.with_name(keys_file.name.replace(".keys.npy", ".npy"))
        if len(found) == len(wanted) or not matrix_file.is_file():
            continue
        keys = np.load(keys_file)
        rows = [(row, key.tobytes()) for row, key in enumerate(keys)]
        rows = [(row, key) for row, key in rows if key in wanted and key not in found]
        if not rows:
            continue
        matrix = np.load(matrix_file, mmap_mode="r")
        if keys.shape != (matrix.shape[0], 32) or matrix.shape[1:] != (EMBEDDING_DIM,):
            continue
        for row, key in rows:
            found[key] = np.array(matrix[row])
    return found


def _save_atomically(np, target: Path, array) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part.npy")
    np.save(tmp, array)
    os.replace(tmp, target)


def embed_texts(texts: list[str], cache: Path = DEFAULT_CACHE, threads: int = 1):
    """Embeddings for `texts` (float32 [n, 512]), from the cache when they were computed before."""
    target = cache / "embeddings" / f"{texts_digest(texts)}.npy"
    _golden_module().install(cache)
    import numpy as np  # noqa: PLC0415

    if target.is_file():
        matrix = np.load(target)
        if matrix.shape == (len(texts), EMBEDDING_DIM):
            return matrix
    shards = cache / "embeddings" / "shards"
    keys = [text_key(t) for t in texts]
    known = _cached_rows(shards, set(keys), np)
    missing: dict[bytes, str] = {}
    for key, text in zip(keys, texts):
        if key not in known:
            missing.setdefault(key, text)
    pending = list(missing.items())
    encoder = Encoder(cache, threads) if pending else None
    for start in range(0, len(pending), SHARD_ROWS):
        # One shard per chunk: an interrupted run keeps what it embedded.
        chunk = pending[start : start + SHARD_ROWS]
        chunk_texts = [text for _, text in chunk]
        fresh = encoder.embed(chunk_texts)
        shard = texts_digest(chunk_texts)
        key_matrix = np.frombuffer(b"".join(key for key, _ in chunk), dtype=np.uint8).reshape(len(chunk), 32)
        _save_atomically(np, shards / f"{shard}.npy", fresh)
        _save_atomically(np, shards / f"{shard}.keys.npy", key_matrix)
        for row, (key, _) in enumerate(chunk):
            known[key] = fresh[row]
    matrix = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
    for row, key in enumerate(keys):
        matrix[row] = known[key]
    _save_atomically(np, target, matrix)
    return matrix


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", type=Path, help="a UTF-8 file, one text a line")
    parser.add_argument("--out", type=Path, help="also write the matrix here (.npy)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    texts = args.texts.read_text(encoding="utf-8").split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    matrix = embed_texts(texts, args.cache, args.threads)
    if args.out:
        import numpy as np  # noqa: PLC0415 (installed by embed_texts)

        np.save(args.out, matrix)
    print(f"embed: {matrix.shape[0]} texts embedded ({matrix.shape[1]} dimensions)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
