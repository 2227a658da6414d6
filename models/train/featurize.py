"""Hashed n-gram featuriser, the Python twin of `sdk/waypoint/src/model/features.rs`.

The specification is in `models/README.md` ("Featuriser specification"). `featurize` is the
reference implementation (plain Python, exact float steps); `featurize_batch` builds the sparse
training matrix quickly with caches and is checked against `featurize` on every run.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

FEATURE_DIM = 1 << 18
FEATURE_SPEC_VERSION = "waypoint-fast-features/1"
MIN_CHAR_NGRAM = 2
MAX_CHAR_NGRAM = 4
STRIP_CHARS = ".,!?;:\"'()[]{}<>*_~`"

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619
_MASK32 = 0xFFFFFFFF


def fnv1a_32(data: bytes, start: int = FNV_OFFSET) -> int:
    """FNV-1a 32-bit over `data`, continuing from the hash state `start`."""
    h = start
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & _MASK32
    return h


def bucket_of(feature: str) -> int:
    """Bucket of one feature string: FNV-1a 32 of its UTF-8 bytes, modulo FEATURE_DIM."""
    return fnv1a_32(feature.encode("utf-8")) % FEATURE_DIM


def tokens(text: str) -> list[str]:
    """Split on U+0020 only, strip STRIP_CHARS from both ends, drop empty tokens."""
    out = []
    for raw in text.split(" "):
        tok = raw.strip(STRIP_CHARS)
        if tok:
            out.append(tok)
    return out


def char_ngrams(token: str, max_n: int = MAX_CHAR_NGRAM) -> list[str]:
    """All code-point n-grams (MIN_CHAR_NGRAM..max_n) of `<token>`, by start then length."""
    padded = "<" + token + ">"
    grams = []
    for start in range(len(padded)):
        for n in range(MIN_CHAR_NGRAM, max_n + 1):
            if start + n > len(padded):
                break
            grams.append(padded[start : start + n])
    return grams


def feature_strings(text: str, max_n: int = MAX_CHAR_NGRAM) -> list[str]:
    """Every feature occurrence of `text` (with repeats), as strings."""
    toks = tokens(text)
    feats = []
    for i, tok in enumerate(toks):
        feats.append("w:" + tok)
        if i > 0:
            feats.append("b:" + toks[i - 1] + " " + tok)
        feats.extend("c:" + g for g in char_ngrams(tok, max_n))
    return feats


def _weights(counts: dict[int, int]) -> tuple[list[int], list[float]]:
    indices = sorted(counts)
    weights = [1.0 + math.log(counts[i]) for i in indices]
    norm = math.sqrt(sum(w * w for w in weights))
    values = [float(np.float32(w / norm)) for w in weights]
    return indices, values


def featurize(text: str, max_n: int = MAX_CHAR_NGRAM) -> tuple[list[int], list[float]]:
    """Reference featuriser: sorted bucket indices and their float32 values (as Python floats)."""
    counts: dict[int, int] = {}
    for f in feature_strings(text, max_n):
        b = bucket_of(f)
        counts[b] = counts.get(b, 0) + 1
    if not counts:
        return [], []
    return _weights(counts)


class BatchFeaturizer:
    """Builds CSR matrices for many texts, caching token and n-gram hashes between calls."""

    def __init__(self, max_n: int = MAX_CHAR_NGRAM):
        self.max_n = max_n
        self._gram_cache: dict[str, int] = {}
        self._token_cache: dict[str, list[int]] = {}
        self._w = fnv1a_32(b"w:")
        self._b = fnv1a_32(b"b:")
        self._c = fnv1a_32(b"c:")

    def _gram_bucket(self, gram: str) -> int:
        b = self._gram_cache.get(gram)
        if b is None:
            b = fnv1a_32(gram.encode("utf-8"), self._c) % FEATURE_DIM
            self._gram_cache[gram] = b
        return b

    def _token_buckets(self, tok: str) -> list[int]:
        cached = self._token_cache.get(tok)
        if cached is None:
            cached = [fnv1a_32(tok.encode("utf-8"), self._w) % FEATURE_DIM]
            cached.extend(self._gram_bucket(g) for g in char_ngrams(tok, self.max_n))
            self._token_cache[tok] = cached
        return cached

    def row_buckets(self, text: str) -> list[int]:
        """Buckets of every feature occurrence of `text` (with repeats)."""
        toks = tokens(text)
        out: list[int] = []
        for i, tok in enumerate(toks):
            out.extend(self._token_buckets(tok))
            if i > 0:
                pair = (toks[i - 1] + " " + tok).encode("utf-8")
                out.append(fnv1a_32(pair, self._b) % FEATURE_DIM)
        return out

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """CSR matrix [len(texts), FEATURE_DIM] of float32 feature values."""
        rows: list[np.ndarray] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for r, text in enumerate(texts):
            b = np.asarray(self.row_buckets(text), dtype=np.int64)
            rows.append(b)
            lengths[r] = b.size
        cols = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        row_ids = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        counts = sp.csr_matrix(
            (np.ones(cols.size, dtype=np.float64), (row_ids, cols)),
            shape=(len(texts), FEATURE_DIM),
        )
        counts.sum_duplicates()
        counts.sort_indices()
        counts.data = 1.0 + np.log(counts.data)
        sq = np.asarray(counts.multiply(counts).sum(axis=1)).ravel()
        norms = np.sqrt(sq)
        norms[norms == 0] = 1.0
        counts = sp.diags(1.0 / norms) @ counts
        out = counts.astype(np.float32).tocsr()
        out.sort_indices()
        return out


def check_batch_matches_reference(texts: Iterable[str], max_n: int = MAX_CHAR_NGRAM) -> int:
    """Asserts the batch path equals the reference featuriser on `texts`; returns how many."""
    texts = list(texts)
    m = BatchFeaturizer(max_n).transform(texts)
    for r, t in enumerate(texts):
        idx, val = featurize(t, max_n)
        lo, hi = m.indptr[r], m.indptr[r + 1]
        if list(m.indices[lo:hi]) != idx:
            raise AssertionError(f"batch featuriser indices differ from reference for {t!r}")
        if idx and float(np.max(np.abs(m.data[lo:hi] - np.asarray(val, dtype=np.float32)))) > 1e-6:
            raise AssertionError(f"batch featuriser values differ from reference for {t!r}")
    return len(texts)
