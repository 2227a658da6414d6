"""Trains the stance model: does a line about violence or extremism endorse it, or not?

    python models/train/train_stance.py            # writes models/stance/*

The models and the exemplars read a message's topic, not which side its speaker is on: "can a
mod ban the guy spamming 1488" and "1488 brothers, the day is coming" share their strongest
words. The stance model is a logistic regression on the fast tier's hashed n-gram features
(featurize.py, the same function the SDK runs), trained on three kinds of lines:

- the hand-written natural lines of `deep/templates/natural_violence_and_stance.toml`: lines that
  endorse an attacker, a code, a call or a threat (stance 1) next to lines with the same words
  from someone who reports, rejects, explains or quotes them, and game talk, news, faith and
  politics that use them (stance 0);
- `stance/lines.tsv`: pairs of the same kind for hate against protected groups (English and
  Dutch) and for extremism next to news, history, school-safety talk, faith and game lore;
- hateful posts of the training corpora (datasets.py; positive for hate or extremism, at most
  40 words, the quarter of each source whose text hashes to 0 modulo 4), all stance 1, so that
  plainly hateful statements, which the chat lines hold few of, read as endorsing.

The
SDK reads its probability only for a message whose hate or extremism score is high enough to
matter, and only to scale those scores (`cascade.stance_threshold`); it never clears a message
on its own.

Steps: template rows (deep/synthetic.py) → stance labels → the SDK's normaliser (normalize.py) →
hashed features → five-fold cross-validated ROC-AUC (reported) → one fit on every row → ONNX graph
(export_onnx.py, one output), checked in ONNX Runtime against sklearn → golden probabilities for
the Rust test (`sdk/waypoint/tests/stance_golden.rs`) → manifest. Deterministic: fixed seeds,
sorted keys.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "deep"))

import datasets  # noqa: E402
import export_onnx  # noqa: E402
import normalize  # noqa: E402
import synthetic  # noqa: E402
from featurize import FEATURE_SPEC_VERSION, BatchFeaturizer, check_batch_matches_reference  # noqa: E402

OUT = HERE.parent / "stance"
MODEL_VERSION = "1.1.0"
SEED = 20261207
TEMPLATE_FILES = ("natural_violence_and_stance.toml",)
# Hate templates (Dutch and English) whose hateful lines have benign twins that name the same
# groups (quoting the hate to reject it, defending, negating, or neutral): a seeded sample of each
# side per file, so the model also learns the stance of hate statements in Dutch, where no
# corpus of hateful posts is at hand.
HATE_STANCE_FILES = ("dutch_reference.toml", "dutch_contrast.toml",
                     "dutch_natural_statements.toml", "identity_hate.toml")
HATE_STANCE_NOT_KINDS = ("reference_slur_counter", "reference_benign", "contrast_counter_quote",
                         "contrast_defend", "contrast_negated", "dutch_natural_group_talk",
                         "counter_speech_quote", "counter_speech_reference", "negated_hate")
HATE_STANCE_PER_SIDE = 250
HATEFUL_SOURCES = {
    "hatexplain": datasets.hatexplain_train,
    "implicit_hate": datasets.implicit_hate,
    "hateval": datasets.hateval,
    "gab": datasets.gab_train,
    "stormfront": datasets.stormfront,
    "radical_tt": datasets.radical_tt,
}
HATEFUL_MAX_WORDS = 40
# Posts whose text's crc32 is 0 modulo this are used; the others are left for measuring.
HATEFUL_SHARE = 4
HATEFUL_PER_SOURCE = 300
# Inverse regularisation strength (lbfgs, L2). Among 4, 8 and 16, 8 cleared the most responses
# to counter-speech on probe lines written apart from the training lines, the extremism suite's
# dev part and a check set without taking one from a call there, and kept MHC Dutch F1 above its
# floor (16 cleared more, lost calls and left MHC Dutch at 0.810).
C_VALUE = 8.0
OUTPUTS = ("endorsement",)
GOLDEN_ROWS = 80


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def template_rows(templates) -> list[tuple[str, int]]:
    """Natural template lines: 1 when positive for hate, threat or extremism, 0 when negative
    for both threat and extremism (and not positive for hate); others are left out."""
    df = templates[templates["template_file"].isin(TEMPLATE_FILES)]
    rows = []
    for row in df.itertuples():
        if row.hate == 1 or row.threat == 1 or row.extremism == 1:
            rows.append((row.text, 1))
        elif row.threat == 0 and row.extremism == 0:
            rows.append((row.text, 0))
    return rows


def hate_template_rows(templates) -> list[tuple[str, int]]:
    """Per hate template file, a seeded sample of its hateful lines (1) and of its benign twins
    of the kinds in `HATE_STANCE_NOT_KINDS` (0)."""
    rows = []
    for name in HATE_STANCE_FILES:
        part = templates[templates["template_file"] == name]
        sides = {1: part[part["hate"] == 1], 0: part[part["kind"].isin(HATE_STANCE_NOT_KINDS)]}
        for label, side in sides.items():
            texts = sorted(set(side["text"]))
            rng = np.random.default_rng([SEED, zlib.crc32(name.encode()), label])
            keep = min(HATE_STANCE_PER_SIDE, len(texts))
            rows += [(texts[i], label) for i in sorted(rng.choice(len(texts), size=keep, replace=False))]
    return rows


def stance_line_rows() -> list[tuple[str, int]]:
    """`stance/lines.tsv`: endorsing lines stance 1, the others 0."""
    return [(text, int(stance == "endorse")) for stance, _group, text in datasets.stance_lines()]


def hateful_rows() -> tuple[list[tuple[str, int]], dict]:
    """A seeded sample of each source's hateful posts in the training share, all stance 1."""
    rows, counts = [], {}
    for name, load in HATEFUL_SOURCES.items():
        df = load()
        labelled = [c for c in ("hate", "extremism") if c in df.columns]
        positive = df[df[labelled].max(axis=1) > 0]["text"]
        eligible = sorted({t.replace("\n", " ") for t in positive
                           if len(t.split()) <= HATEFUL_MAX_WORDS
                           and zlib.crc32(t.encode("utf-8")) % HATEFUL_SHARE == 0})
        rng = np.random.default_rng([SEED, zlib.crc32(name.encode())])
        keep = min(HATEFUL_PER_SOURCE, len(eligible))
        chosen = sorted(rng.choice(len(eligible), size=keep, replace=False))
        rows += [(eligible[i], 1) for i in chosen]
        counts[name] = keep
    return rows, counts


def stance_rows():
    """(texts, labels, counts per part)."""
    templates = synthetic.generate()
    parts = {"natural_templates": template_rows(templates),
             "hate_templates": hate_template_rows(templates),
             "stance_lines": stance_line_rows()}
    hateful, per_source = hateful_rows()
    parts["hateful_posts"] = hateful
    rows = [r for part in parts.values() for r in part]
    counts = {name: {"rows": len(part), "endorsing": sum(y for _, y in part)}
              for name, part in parts.items()}
    counts["hateful_posts"]["per_source"] = per_source
    texts = [t for t, _ in rows]
    return texts, np.array([y for _, y in rows], dtype=np.int64), counts


def fit(x, y) -> LogisticRegression:
    return LogisticRegression(C=C_VALUE, max_iter=5000, class_weight="balanced").fit(x, y)


def main() -> None:
    t_start = time.time()
    raw, y, counts = stance_rows()
    mapping, fingerprint = normalize.normalize_all(raw)
    texts = [normalize.lookup(mapping, t) for t in raw]
    log(f"{len(texts)} rows: {int(y.sum())} endorsing, {int((y == 0).sum())} not")
    feats = BatchFeaturizer()
    log(f"batch featuriser equals reference on {check_batch_matches_reference(texts[::25])} rows")
    x = feats.transform(texts)

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
    out_of_fold = np.zeros(len(y))
    for train, test in folds.split(x, y):
        out_of_fold[test] = fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    cv_auc = float(roc_auc_score(y, out_of_fold))
    below = {f"{t:.2f}": {"endorsing": float((out_of_fold[y == 1] < t).mean()),
                          "not_endorsing": float((out_of_fold[y == 0] < t).mean())}
             for t in (0.1, 0.15, 0.2, 0.3)}
    log(f"five-fold ROC-AUC {cv_auc:.3f}")

    model = fit(x, y)
    weights = model.coef_.T.astype(np.float32)
    bias = model.intercept_.astype(np.float32)
    one = np.ones(1, dtype=np.float32)
    OUT.mkdir(parents=True, exist_ok=True)
    onnx_path = OUT / "stance.onnx"
    graph = export_onnx.build_model(
        weights, bias, one, np.zeros(1, dtype=np.float32),
        "Waypoint stance model: hashed n-grams -> logistic regression, probability that a line "
        "about violence or extremism endorses it.",
        outputs=OUTPUTS, graph_name="waypoint_stance")
    export_onnx.onnx.save(graph, str(onnx_path))
    reference = model.predict_proba(x)[:, 1:2]
    max_diff = export_onnx.check_against_reference(str(onnx_path), x, reference)
    log(f"ONNX matches sklearn within {max_diff:.2e}")

    # Golden probabilities: a seeded sample of training rows from both sides, plus edge cases.
    rng = np.random.default_rng(SEED)
    picked = sorted(rng.choice(len(texts), size=GOLDEN_ROWS, replace=False))
    golden_texts = ["", "gg", "1488"] + [texts[i] for i in picked]
    golden_probs = export_onnx.run_onnx(str(onnx_path), feats.transform(golden_texts), outputs=1)
    with (OUT / "golden.jsonl").open("w", encoding="utf-8") as f:
        for text, p in zip(golden_texts, golden_probs[:, 0]):
            f.write(json.dumps({"text": text, "endorsement": float(p)}, ensure_ascii=False) + "\n")

    onnx_sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    manifest = {
        "version": f"stance-{MODEL_VERSION}+{onnx_sha[:12]}",
        "sha256": onnx_sha,
        "file": "stance.onnx",
        "bytes": onnx_path.stat().st_size,
        "outputs": {"probabilities": "float32 [batch, 1]: probability that the line endorses"},
        "features": {"spec_version": FEATURE_SPEC_VERSION, "same_as": "models/fast"},
        "normalizer": normalize.normalizer_name(),
        "normalizer_fingerprint": fingerprint,
        "golden_rows": len(golden_texts),
        "onnx_max_abs_diff_vs_sklearn": float(f"{max_diff:.3e}"),
        "training": {
            "template_files": list(TEMPLATE_FILES),
            "hate_template_files": {"files": list(HATE_STANCE_FILES), "per_side": HATE_STANCE_PER_SIDE,
                                    "not_kinds": list(HATE_STANCE_NOT_KINDS)},
            "stance_lines": "models/train/stance/lines.tsv",
            "hateful_posts": {"max_words": HATEFUL_MAX_WORDS, "share": f"crc32 % {HATEFUL_SHARE} == 0",
                              "per_source": HATEFUL_PER_SOURCE},
            "parts": counts,
            "rows": len(texts),
            "endorsing_rows": int(y.sum()),
            "c": C_VALUE,
            "solver": "lbfgs L2 logistic regression, class_weight=balanced",
            "labels": "templates: 1 = positive for hate, threat or extremism, 0 = negative for "
                      "threat and extremism and not positive for hate; stance lines: endorse = 1, "
                      "not = 0; hateful posts: 1",
            "seed": SEED,
        },
        "cross_validation": {
            "folds": 5,
            "roc_auc": round(cv_auc, 4),
            "share_below_threshold": below,
        },
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log(f"wrote {OUT} in {time.time() - t_start:.0f}s")


if __name__ == "__main__":
    main()
