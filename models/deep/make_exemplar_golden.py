#!/usr/bin/env python3
"""Writes the exemplar golden cases the SDK is checked against (`sdk/waypoint/tests/exemplars.rs`):

- `models/deep/exemplar_golden.toml`: a small fixture exemplar file (not the shipped one);
- `models/deep/exemplar_golden.jsonl`: one line of parameters, then per message the Python
  reference's (`models/train/deep/exemplars.py`) pos, neg, evidence and nearest exemplar per
  category.

    WAYPOINT_BIN=target/release/waypoint models/train/.venv/bin/python models/deep/make_exemplar_golden.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "train" / "deep"))

import exemplars  # noqa: E402

FIXTURE = '''version = "golden-1"

[[set]]
category = "extremism"
lang = "en"
label = "attack_glorification"
examples = [
  "the shooter was a hero and more should follow him",
  "we need another massacre like that one",
  "join the movement, the race war is coming",
]

[[set]]
category = "threat"
lang = "en"
label = "real_world_threat"
examples = [
  "i know where you live and i am coming for you",
  "i am bringing a gun to school tomorrow",
]

[[set]]
category = "threat"
lang = "nl"
label = "echte_dreiging"
examples = ["ik weet waar je woont en ik kom je halen"]

[[set]]
category = "common"
lang = "any"
label = "game_chat"
examples = [
  "kill the healer first",
  "i am coming for you, watch your back on the bridge",
  "the news about the attack is horrible",
  "goed gespeeld allemaal",
]
'''

# Parameters: top_k 2, the defaults, and a threat override, so both paths are checked.
PARAMS = {"top_k": 2, "threat": {"min_similarity": 0.3, "slope": 8.0, "offset": 0.05, "weight": 0.7}}

MESSAGES = [
    "we need another massacre like christchurch",
    "the shooter is a hero, follow him",
    "i know where u live, coming for you tonight",
    "ik weet waar jij woont",
    "kill the healer first",
    "gg wp everyone",
    "that attack on the news was horrible",
]


def main() -> int:
    toml_path = HERE / "exemplar_golden.toml"
    toml_path.write_text(FIXTURE, encoding="utf-8")
    params = exemplars.params_from_table(PARAMS)
    index = exemplars.embed_exemplars(exemplars.load(toml_path))
    rows = exemplars.score(exemplars.embed_messages(MESSAGES), index, params)
    out = [json.dumps({"params": PARAMS})]
    for text, row in zip(MESSAGES, rows):
        out.append(json.dumps({"text": text, "categories": exemplars.as_json(row)}, ensure_ascii=False))
    (HERE / "exemplar_golden.jsonl").write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"exemplar golden: {len(MESSAGES)} messages, {sum(len(s.examples) for s in index_sets(toml_path))} exemplars")
    return 0


def index_sets(path: Path):
    return exemplars.load(path).sets


if __name__ == "__main__":
    sys.exit(main())
