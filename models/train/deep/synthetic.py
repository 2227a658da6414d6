"""Synthetic training rows for the deep tier's head, generated from `templates/*.toml`.

    python models/train/deep/synthetic.py [--out FILE.csv]   # prints counts, optionally writes rows

Each template file has its own `[slots]` and `[[template]]` tables. Every `{slot}` combination of
a template's patterns is expanded, then a seeded sample of at most `max` rows is kept per
template. A template with `typos = F` also gets, for a seeded fraction F of its kept rows, a copy
with one typo (two adjacent letters swapped or one letter dropped in a word of 4+ letters, or two
words run together), since chat is typed fast and the normaliser does not undo typos. A
template with `weight = W` (default 1) has its rows count W times the synthetic source weight in
training: for a few hand-written lines that must not drown among tens of thousands of generated
ones.

Rows carry `source = "synthetic"`, `kind`, `lang`, `template_file`, `weight` and the four
category labels (NaN = unknown),
the same columns as `models/train/datasets.py` returns, so they go through the same cleaning
(normaliser, held-out leakage guard, dedup) and are counted separately in
`models/deep/head_metrics.json`. Files are read in name order, so the output is deterministic.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import tomllib
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = HERE / "templates"
CATEGORIES = ("insult", "hate", "threat", "extremism")
SEED = 20250117
SLOT = re.compile(r"\{(\w+)\}")
WORD = re.compile(r"[^\W\d_]{4,}")


def expand(pattern: str, slots: dict[str, list[str]], depth: int = 0) -> list[str]:
    """Every filling of the pattern's slots, in a fixed order. A slot value may itself hold
    slots (a list of sentence frames, each with its own fillers); those are filled in turn."""
    if depth > 3:
        raise ValueError(f"template slots nest more than three deep in {pattern!r}")
    names = SLOT.findall(pattern)
    for name in names:
        if name not in slots:
            raise KeyError(f"template slot {{{name}}} is not defined in [slots]")
    if not names:
        return [pattern]
    out = []
    for values in itertools.product(*(slots[n] for n in names)):
        text = pattern
        for name, value in zip(names, values):
            text = text.replace("{" + name + "}", value, 1)
        out.extend(expand(text, slots, depth + 1) if SLOT.search(text) else [text])
    return out


def with_typo(text: str, rng: np.random.Generator) -> str:
    """The text with one typo: one space dropped (one time in five, when there is a space), else
    one typo in one of its words of 4+ letters (unchanged if it has none)."""
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if spaces and rng.random() < 0.2:
        i = spaces[int(rng.integers(len(spaces)))]
        return text[:i] + text[i + 1:]
    words = list(WORD.finditer(text))
    if not words:
        return text
    word = words[int(rng.integers(len(words)))]
    start, letters = word.start(), word.group()
    i = int(rng.integers(1, len(letters) - 1))
    if rng.random() < 0.5:
        typo = letters[:i] + letters[i + 1] + letters[i] + letters[i + 2:]
    else:
        typo = letters[:i] + letters[i + 1:]
    return text[:start] + typo + text[word.end():]


def generate_file(path: Path, rng: np.random.Generator) -> list[dict]:
    """The rows of one template file."""
    spec = tomllib.loads(path.read_text(encoding="utf-8"))
    slots = spec["slots"]
    rows = []
    for template in spec["template"]:
        texts = sorted({t for p in template["patterns"] for t in expand(p, slots)})
        keep = min(len(texts), int(template["max"]))
        chosen = sorted(rng.choice(len(texts), size=keep, replace=False)) if keep < len(texts) else range(len(texts))
        kept = [texts[i] for i in chosen]
        typo_share = float(template.get("typos", 0.0))
        if typo_share > 0:
            picked = rng.random(len(kept)) < typo_share
            kept += [with_typo(t, rng) for t, p in zip(list(kept), picked) if p]
        labels = [np.nan if v < 0 else float(v) for v in template["labels"]]
        for text in kept:
            rows.append({"source": "synthetic", "text": text, "kind": template["kind"],
                         "lang": template["lang"], "template_file": path.name,
                         "weight": float(template.get("weight", 1.0)),
                         **dict(zip(CATEGORIES, labels))})
    return rows


def generate(directory: Path = TEMPLATE_DIR, seed: int = SEED) -> pd.DataFrame:
    """All synthetic rows of every template file, deterministic for given files and seed."""
    rows = []
    for path in sorted(directory.glob("*.toml")):
        # One generator per file, seeded by the file name too: adding a file changes no other's rows.
        rng = np.random.default_rng([seed, zlib.crc32(path.name.encode())])
        rows += generate_file(path, rng)
    return pd.DataFrame(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    df = generate()
    print(df.groupby(["kind", "lang"]).size().to_string(), file=sys.stderr)
    print(f"{len(df)} synthetic rows", file=sys.stderr)
    if args.out:
        df.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
