"""Synthetic training rows for the deep tier's head, generated from `templates/synthetic.toml`.

    python models/train/deep/synthetic.py [--out FILE.csv]   # prints counts, optionally writes rows

Every `{slot}` combination of a template's patterns is expanded, then a seeded sample of at most
`max` rows is kept per template. Rows carry `source = "synthetic"`, `kind`, `lang` and the four
category labels (NaN = unknown), the same columns as `models/train/datasets.py` returns, so
they go through the same cleaning (normaliser, held-out leakage guard, dedup) and are counted
separately in `models/deep/head_metrics.json`.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates" / "synthetic.toml"
CATEGORIES = ("insult", "hate", "threat", "extremism")
SEED = 20250117
SLOT = re.compile(r"\{(\w+)\}")


def expand(pattern: str, slots: dict[str, list[str]]) -> list[str]:
    """Every filling of the pattern's slots, in a fixed order."""
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
        out.append(text)
    return out


def generate(path: Path = TEMPLATES, seed: int = SEED) -> pd.DataFrame:
    """All synthetic rows, deterministic for a given template file and seed."""
    spec = tomllib.loads(path.read_text(encoding="utf-8"))
    slots = spec["slots"]
    rng = np.random.default_rng(seed)
    rows = []
    for template in spec["template"]:
        texts = sorted({t for p in template["patterns"] for t in expand(p, slots)})
        keep = min(len(texts), int(template["max"]))
        chosen = sorted(rng.choice(len(texts), size=keep, replace=False)) if keep < len(texts) else range(len(texts))
        labels = [np.nan if v < 0 else float(v) for v in template["labels"]]
        for i in chosen:
            rows.append({"source": "synthetic", "text": texts[i], "kind": template["kind"],
                         "lang": template["lang"], **dict(zip(CATEGORIES, labels))})
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
