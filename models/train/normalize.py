"""Runs texts through the SDK's own normaliser (`waypoint normalize`), so training sees what the
SDK sees at run time."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path
from typing import Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]

# Characters that would break the one-message-per-line protocol (or that line readers treat as
# line ends) become plain spaces before the text is piped to the CLI.
_LINE_BREAKING = re.compile("[\t\n\x0b\x0c\r\x1c\x1d\x1e\x85\u2028\u2029]")

CLI = ["cargo", "run", "--release", "-q", "-p", "waypoint-cli", "--", "normalize", "-"]
# Optional: path to an already built `waypoint` binary to use instead of `cargo run`.
BIN_ENV = "WAYPOINT_BIN"

# Development only: WAYPOINT_DEV_PY_NORMALIZER=1 replaces the CLI with lowercase + whitespace
# squeeze. Artifacts built that way are marked in the manifest and must not be shipped.
DEV_ENV = "WAYPOINT_DEV_PY_NORMALIZER"


def one_line(text: str) -> str:
    """The text with line/tab separators replaced by spaces."""
    return _LINE_BREAKING.sub(" ", text)


def _dev_normalize(text: str) -> str:
    return " ".join(text.lower().split())


def normalizer_name() -> str:
    """Which normaliser `normalize_all` uses, for the manifest."""
    if os.environ.get(DEV_ENV) == "1":
        return "DEV FALLBACK (python lowercase + whitespace squeeze) - not shippable"
    return "waypoint normalize (SDK normaliser via waypoint-cli)"


def normalize_all(texts: Sequence[str]) -> tuple[dict[str, str], str]:
    """Normalises every distinct text; returns {raw: normalised} and a sha256 fingerprint of
    all (raw, normalised) pairs, which changes whenever the normaliser's behaviour does."""
    unique = sorted({one_line(t) for t in texts})
    if os.environ.get(DEV_ENV) == "1":
        out = [_dev_normalize(t) for t in unique]
    else:
        payload = ("\n".join(unique) + "\n").encode("utf-8")
        cmd = [os.environ[BIN_ENV], "normalize", "-"] if os.environ.get(BIN_ENV) else CLI
        proc = subprocess.run(cmd, input=payload, capture_output=True, cwd=REPO_ROOT, check=False)
        if proc.returncode != 0:
            raise RuntimeError(
                "`waypoint normalize` failed (exit %d): %s"
                % (proc.returncode, proc.stderr.decode("utf-8", "replace")[-2000:])
            )
        text = proc.stdout.decode("utf-8")
        out = text.split("\n")
        if out and out[-1] == "":
            out.pop()
        if len(out) != len(unique):
            raise RuntimeError(
                f"`waypoint normalize` returned {len(out)} lines for {len(unique)} inputs"
            )
    mapping = dict(zip(unique, out))
    digest = hashlib.sha256()
    for raw, norm in zip(unique, out):
        digest.update(raw.encode("utf-8") + b"\x00" + norm.encode("utf-8") + b"\x00")
    return mapping, digest.hexdigest()


def lookup(mapping: dict[str, str], text: str) -> str:
    """The normalised form of a raw text given the mapping from `normalize_all`."""
    return mapping[one_line(text)]
