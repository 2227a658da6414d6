"""Obfuscates chat lines the way evaders do, deterministically (fixed seed), for the robustness set.

Four kinds of perturbation, applied to words of three or more letters:

- ``leet``: letters replaced by look-alike digits (a→4, e→3, i→1, o→0, s→5, t→7);
- ``homoglyph``: Latin letters replaced by Cyrillic / Greek look-alikes (a→а, e→е, o→о, …);
- ``spacing``: letters spelled out with spaces ("idiot" → "i d i o t");
- ``zero_width``: invisible characters (U+200B, U+200C, U+200D, U+2060) inserted between letters.

Each perturbed word gets one kind; which words (each with probability 0.5, at least one) and
which characters are chosen by a ``random.Random`` seeded per line from the set's seed and the
line's position, so the output is identical on every run and independent of other lines.

Usage as a script: ``perturb.py IN.csv OUT.csv [--seed N] [--kind mixed|leet|...]`` rewrites the
``text`` column of a CSV (other columns unchanged).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys

SEED = 20250117
KINDS = ("leet", "homoglyph", "spacing", "zero_width")

LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
HOMOGLYPHS = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "i": "\u0456", "j": "\u0458", "o": "\u043e",
    "p": "\u0440", "s": "\u0455", "x": "\u0445", "y": "\u0443", "A": "\u0391", "B": "\u0392",
    "E": "\u0395", "H": "\u0397", "K": "\u039a", "M": "\u039c", "O": "\u039f", "P": "\u03a1",
    "T": "\u03a4", "X": "\u03a7",
}
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060")


def _swap(word: str, table: dict[str, str], rng: random.Random) -> str:
    idx = [i for i, ch in enumerate(word) if ch.lower() in table or ch in table]
    if not idx:
        return word
    chosen = {i for i in idx if rng.random() < 0.7} or {rng.choice(idx)}
    out = []
    for i, ch in enumerate(word):
        if i in chosen:
            out.append(table.get(ch, table.get(ch.lower(), ch)))
        else:
            out.append(ch)
    return "".join(out)


def perturb_word(word: str, kind: str, rng: random.Random) -> str:
    """One word obfuscated with `kind` (unchanged when the kind does not apply to its letters)."""
    if kind == "leet":
        return _swap(word, LEET, rng)
    if kind == "homoglyph":
        return _swap(word, HOMOGLYPHS, rng)
    if kind == "spacing":
        return " ".join(word)
    if kind == "zero_width":
        gaps = list(range(1, len(word)))
        chosen = {g for g in gaps if rng.random() < 0.5} or {rng.choice(gaps)}
        return "".join((rng.choice(ZERO_WIDTH) if i in chosen else "") + ch for i, ch in enumerate(word))
    raise ValueError(f"unknown perturbation kind {kind!r}")


def _eligible(token: str) -> bool:
    letters = sum(ch.isalpha() for ch in token)
    return letters >= 3 and letters == len(token)


def perturb(text: str, rng: random.Random, kind: str = "mixed") -> str:
    """The line with some of its words obfuscated; `kind="mixed"` picks a kind per word."""
    tokens = text.split(" ")
    eligible = [i for i, t in enumerate(tokens) if _eligible(t)]
    if not eligible:
        return text
    chosen = [i for i in eligible if rng.random() < 0.5] or [rng.choice(eligible)]
    for i in chosen:
        k = rng.choice(KINDS) if kind == "mixed" else kind
        tokens[i] = perturb_word(tokens[i], k, rng)
    return " ".join(tokens)


def line_rng(seed: int, index: int) -> random.Random:
    """The generator for line `index` of a set seeded with `seed`."""
    return random.Random(seed * 1_000_003 + index)


def perturb_csv(src: str, dst: str, seed: int = SEED, kind: str = "mixed") -> tuple[int, int]:
    """Rewrites the `text` column of `src` into `dst`; returns (rows, rows changed)."""
    rows = changed = 0
    with open(src, newline="", encoding="utf-8") as fin, open(dst, "w", newline="", encoding="utf-8") as fout:
        reader = csv.DictReader(fin)
        writer = csv.DictWriter(fout, fieldnames=reader.fieldnames or ["text", "label"])
        writer.writeheader()
        for i, row in enumerate(reader):
            new = perturb(row["text"], line_rng(seed, i), kind)
            changed += new != row["text"]
            rows += 1
            row["text"] = new
            writer.writerow(row)
    return rows, changed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--kind", default="mixed", choices=("mixed",) + KINDS)
    args = ap.parse_args()
    rows, changed = perturb_csv(args.src, args.dst, args.seed, args.kind)
    print(f"{rows} rows, {changed} changed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
