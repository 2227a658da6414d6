#!/usr/bin/env python3
"""Reference implementation of example-based detection (exemplars), the numbers the SDK's
`model::exemplars` module must reproduce (checked by `models/deep/make_exemplar_golden.py` and
`sdk/waypoint/tests/exemplar_golden.rs`).

Usage as a script (prints one JSON object per message):

    python models/train/deep/exemplars.py [--exemplars FILE] [--policy FILE] "message" ...

Usage as a module:

    import exemplars
    ex = exemplars.load("models/exemplars/exemplars.toml")       # parse + validate
    index = exemplars.embed_exemplars(ex)                          # normalised, embedded, cached
    params = exemplars.params_from_policy("sdk/waypoint/policy.toml")
    rows = exemplars.score(message_embeddings, index, params)     # per message, per category
    rows[0]["extremism"].evidence

Scoring, for a message embedding e and a category c that has exemplars:

- pos_c = mean of the top-k cosine similarities between e and the category-c exemplars,
  k = min(top_k, count); neg = the same over the `common` exemplars (0 when there are none);
- evidence_c = 0 if pos_c < min_similarity, else sigmoid(slope * (pos_c - neg - offset));
- the category's model probability p becomes 1 - (1 - p) * (1 - weight * evidence_c)
  (`combine`).

Exemplar texts are normalised with the SDK normaliser (`models/train/normalize.py`) and embedded
alone (batch of 1, `models/train/deep/embed.py`, cached), exactly as the SDK embeds messages.
The normaliser runs `cargo run -p waypoint-cli -- normalize`; set `WAYPOINT_BIN=target/release/waypoint`
to use an already built binary instead. Run with the training venv (`models/train/.venv`).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRAIN = HERE.parent
REPO = TRAIN.parents[1]
sys.path.insert(0, str(TRAIN))
sys.path.insert(0, str(HERE))

import embed  # noqa: E402
import normalize  # noqa: E402

RARE_CATEGORIES = ("insult", "hate", "threat", "extremism")
COMMON = "common"
CATEGORIES = RARE_CATEGORIES + (COMMON,)
DEFAULT_FILE = REPO / "models" / "exemplars" / "exemplars.toml"
DEFAULT_POLICY = REPO / "sdk" / "waypoint" / "policy.toml"
_LANG = re.compile(r"^([a-z]{2,3}|any)$")

# Defaults of the policy's `[exemplars]` section (the SDK's `ExemplarPolicy::default()`).
DEFAULT_TOP_K = 3
DEFAULT_MIN_SIMILARITY = 0.45
DEFAULT_SLOPE = 12.0
DEFAULT_OFFSET = 0.12
DEFAULT_WEIGHT = 0.9


class ExemplarError(ValueError):
    """The exemplar file or the policy's `[exemplars]` section is invalid."""


@dataclass(frozen=True)
class ExemplarSet:
    """One `[[set]]` of the file."""

    category: str
    lang: str
    label: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Exemplars:
    """A parsed, validated exemplar file."""

    version: str
    sets: tuple[ExemplarSet, ...]
    path: Path | None = None


@dataclass(frozen=True)
class Nearest:
    """The exemplar of a category most similar to a message."""

    label: str
    lang: str
    index: int  # position of the example inside its set
    text: str  # the example as written in the file
    similarity: float


@dataclass(frozen=True)
class Evidence:
    """One category's exemplar evidence for one message."""

    pos: float
    neg: float
    evidence: float
    nearest: Nearest


@dataclass(frozen=True)
class CategoryParams:
    """The four per-category floats of `[exemplars]` (overridable in `[exemplars.<category>]`)."""

    min_similarity: float = DEFAULT_MIN_SIMILARITY
    slope: float = DEFAULT_SLOPE
    offset: float = DEFAULT_OFFSET
    weight: float = DEFAULT_WEIGHT


@dataclass(frozen=True)
class Params:
    """The policy's `[exemplars]` section."""

    enabled: bool = True
    file: str = "exemplars/exemplars.toml"
    top_k: int = DEFAULT_TOP_K
    base: CategoryParams = CategoryParams()
    overrides: dict[str, CategoryParams] = field(default_factory=dict)

    def for_category(self, category: str) -> CategoryParams:
        return self.overrides.get(category, self.base)


# ---------------------------------------------------------------- parsing and validation


def parse(text: str, path: Path | None = None) -> Exemplars:
    """Parses and validates the TOML text of an exemplar file (the SDK's rules)."""
    where = str(path) if path else "<exemplars>"
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ExemplarError(f"{where}: {e}") from e
    unknown = set(doc) - {"version", "set"}
    if unknown:
        raise ExemplarError(f"{where}: unknown key(s) {sorted(unknown)}; expected `version` and `[[set]]`")
    version = doc.get("version")
    if not isinstance(version, str) or not version.strip():
        raise ExemplarError(f"{where}: `version` is required (a non-empty string)")
    raw_sets = doc.get("set", [])
    if not isinstance(raw_sets, list):
        raise ExemplarError(f"{where}: `set` must be an array of tables ([[set]])")
    sets = tuple(_parse_set(where, i, raw) for i, raw in enumerate(raw_sets))
    return Exemplars(version=version, sets=sets, path=path)


def _parse_set(where: str, i: int, raw: object) -> ExemplarSet:
    ctx = f"{where}: set #{i + 1}"
    if not isinstance(raw, dict):
        raise ExemplarError(f"{ctx}: must be a table")
    unknown = set(raw) - {"category", "lang", "label", "examples"}
    if unknown:
        raise ExemplarError(f"{ctx}: unknown key(s) {sorted(unknown)}")
    category = raw.get("category")
    if category not in CATEGORIES:
        raise ExemplarError(f"{ctx}: `category` must be one of {', '.join(CATEGORIES)} (got {category!r})")
    lang = raw.get("lang")
    if not isinstance(lang, str) or not _LANG.match(lang):
        raise ExemplarError(f"{ctx}: `lang` must be an ISO 639 code in lower case or \"any\" (got {lang!r})")
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ExemplarError(f"{ctx}: `label` is required (a non-empty string)")
    examples = raw.get("examples")
    if not isinstance(examples, list) or not examples:
        raise ExemplarError(f"{ctx}: `examples` must be a non-empty array of strings")
    for j, example in enumerate(examples):
        if not isinstance(example, str) or not example.strip():
            raise ExemplarError(f"{ctx}: example #{j + 1} must be a non-empty string")
    return ExemplarSet(category=category, lang=lang, label=label, examples=tuple(examples))


def load(path: Path | str = DEFAULT_FILE) -> Exemplars:
    """Reads, parses and validates an exemplar file."""
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), path)


def params_from_policy(policy: Path | str = DEFAULT_POLICY) -> Params:
    """The `[exemplars]` section of a policy file (defaults for everything it leaves out)."""
    doc = tomllib.loads(Path(policy).read_text(encoding="utf-8"))
    return params_from_table(doc.get("exemplars", {}))


def params_from_table(table: dict) -> Params:
    """Params from an `[exemplars]` table (as parsed TOML), validated like the SDK does."""
    floats = {"min_similarity", "slope", "offset", "weight"}
    known = {"enabled", "file", "top_k"} | floats | set(RARE_CATEGORIES)
    unknown = set(table) - known
    if unknown:
        raise ExemplarError(f"[exemplars]: unknown key(s) {sorted(unknown)}")
    top_k = table.get("top_k", DEFAULT_TOP_K)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise ExemplarError("[exemplars]: `top_k` must be an integer >= 1")
    base = _category_params("[exemplars]", table, CategoryParams())
    overrides = {}
    for category in RARE_CATEGORIES:
        if category in table:
            sub = table[category]
            if not isinstance(sub, dict) or set(sub) - floats:
                raise ExemplarError(f"[exemplars.{category}]: only {sorted(floats)} may be set")
            overrides[category] = _category_params(f"[exemplars.{category}]", sub, base)
    return Params(
        enabled=bool(table.get("enabled", True)),
        file=str(table.get("file", "exemplars/exemplars.toml")),
        top_k=top_k,
        base=base,
        overrides=overrides,
    )


# Valid ranges (inclusive), the SDK's.
RANGES = {"min_similarity": (-1.0, 1.0), "slope": (0.0, 1000.0), "offset": (-2.0, 2.0), "weight": (0.0, 1.0)}


def _category_params(ctx: str, table: dict, base: CategoryParams) -> CategoryParams:
    values = {}
    for key, (lo, hi) in RANGES.items():
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise ExemplarError(f"{ctx}: `{key}` must be a number in [{lo}, {hi}]")
            values[key] = float(value)
    return replace(base, **values)


# ---------------------------------------------------------------- embedding


@dataclass(frozen=True)
class Entry:
    """One exemplar: its set and position, and its text."""

    label: str
    lang: str
    index: int
    text: str


@dataclass
class Index:
    """Per category, the unit-norm exemplar embeddings (float64 [n, 512]) and their entries."""

    version: str
    matrices: dict
    entries: dict[str, list[Entry]]


def entries_by_category(exemplars: Exemplars) -> dict[str, list[Entry]]:
    """Every exemplar, grouped by category, in file order."""
    out: dict[str, list[Entry]] = {}
    for s in exemplars.sets:
        for i, text in enumerate(s.examples):
            out.setdefault(s.category, []).append(Entry(s.label, s.lang, i, text))
    return out


def embed_exemplars(exemplars: Exemplars, cache: Path = embed.DEFAULT_CACHE) -> Index:
    """Normalises (SDK normaliser) and embeds (batch of 1, cached) every exemplar."""
    entries = entries_by_category(exemplars)
    raw = [e.text for group in entries.values() for e in group]
    mapping, _ = normalize.normalize_all(raw)
    normalised = [normalize.lookup(mapping, t) for t in raw]
    matrix = embed.embed_texts(normalised, cache) if normalised else None
    matrices, start = {}, 0
    for category, group in entries.items():
        matrices[category] = unit_rows(matrix[start : start + len(group)])
        start += len(group)
    return Index(version=exemplars.version, matrices=matrices, entries=entries)


def embed_messages(texts: list[str], cache: Path = embed.DEFAULT_CACHE):
    """Message embeddings as the SDK's deep tier computes them: SDK-normalised, batch of 1."""
    mapping, _ = normalize.normalize_all(texts)
    return embed.embed_texts([normalize.lookup(mapping, t) for t in texts], cache)


def unit_rows(matrix):
    """Rows scaled to unit L2 norm (zero rows stay zero), as float64."""
    import numpy as np  # noqa: PLC0415 (installed by embed)

    m = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)


# ---------------------------------------------------------------- scoring


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def top_k_mean(similarities, top_k: int):
    """Per row, the mean of the k = min(top_k, columns) largest values (0 for no columns)."""
    import numpy as np  # noqa: PLC0415

    n, count = similarities.shape
    if count == 0:
        return np.zeros(n)
    k = min(top_k, count)
    top = np.partition(similarities, count - k, axis=1)[:, count - k :]
    return top.mean(axis=1)


def score(embeddings, index: Index, params: Params) -> list[dict[str, Evidence]]:
    """Per message (rows of `embeddings`), per rare category with exemplars: pos, neg, evidence
    and the nearest exemplar."""
    import numpy as np  # noqa: PLC0415

    e = unit_rows(np.atleast_2d(embeddings))
    rows: list[dict[str, Evidence]] = [{} for _ in range(e.shape[0])]
    common = index.matrices.get(COMMON)
    neg = top_k_mean(e @ common.T, params.top_k) if common is not None else np.zeros(e.shape[0])
    for category in RARE_CATEGORIES:
        matrix = index.matrices.get(category)
        if matrix is None:
            continue
        sims = e @ matrix.T
        pos = top_k_mean(sims, params.top_k)
        p = params.for_category(category)
        for r in range(e.shape[0]):
            best = int(np.argmax(sims[r]))
            entry = index.entries[category][best]
            rows[r][category] = Evidence(
                pos=float(pos[r]),
                neg=float(neg[r]),
                evidence=evidence(float(pos[r]), float(neg[r]), p),
                nearest=Nearest(entry.label, entry.lang, entry.index, entry.text, float(sims[r, best])),
            )
    return rows


def evidence(pos: float, neg: float, p: CategoryParams) -> float:
    """0 below `min_similarity`, else sigmoid(slope * (pos - neg - offset))."""
    if pos < p.min_similarity:
        return 0.0
    return sigmoid(p.slope * (pos - neg - p.offset))


def combine(probability: float, evidence_value: float, weight: float) -> float:
    """The category's model probability after the exemplar evidence: 1 - (1-p)(1 - w·e)."""
    return 1.0 - (1.0 - probability) * (1.0 - weight * evidence_value)


def as_json(row: dict[str, Evidence]) -> dict:
    return {
        c: {
            "pos": ev.pos,
            "neg": ev.neg,
            "evidence": ev.evidence,
            "nearest": {"label": ev.nearest.label, "lang": ev.nearest.lang, "index": ev.nearest.index,
                        "text": ev.nearest.text, "similarity": ev.nearest.similarity},
        }
        for c, ev in row.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("messages", nargs="+", help="chat messages to score")
    parser.add_argument("--exemplars", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--policy", type=Path, default=DEFAULT_POLICY,
                        help="policy whose [exemplars] section gives the parameters")
    args = parser.parse_args()
    try:
        params = params_from_policy(args.policy) if args.policy.is_file() else Params()
        index = embed_exemplars(load(args.exemplars))
    except (ExemplarError, OSError) as e:
        print(f"exemplars: {e}", file=sys.stderr)
        return 2
    embeddings = embed_messages(args.messages)
    for text, row in zip(args.messages, score(embeddings, index, params)):
        print(json.dumps({"text": text, "version": index.version, "categories": as_json(row)},
                         ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
