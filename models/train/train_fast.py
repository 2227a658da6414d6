"""Trains the fast-tier model end to end.

    python models/train/train_fast.py            # writes models/fast/*
    python models/train/train_fast.py --explore  # only prints the one-off design comparisons

Steps: load and map the corpora (datasets.py) → normalise every text with the SDK's normaliser
(normalize.py) → hash features (featurize.py) → one L2 logistic regression per category on the
training split → Platt scaling per category on the held-out calibration split → ONNX graph
(export_onnx.py), checked in ONNX Runtime against the sklearn pipeline → held-out evaluation
(evaluate.py) → golden feature vectors (golden.py) → manifest. Deterministic: fixed seeds, no
dates, sorted keys, so a rerun with the same normaliser rewrites identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402
import evaluate  # noqa: E402
import export_onnx  # noqa: E402
import golden  # noqa: E402
import normalize  # noqa: E402
from datasets import CATEGORIES  # noqa: E402
from featurize import (  # noqa: E402
    FEATURE_DIM, FEATURE_SPEC_VERSION, MAX_CHAR_NGRAM, MIN_CHAR_NGRAM, STRIP_CHARS,
    BatchFeaturizer, check_batch_matches_reference,
)

OUT = HERE.parent / "fast"
MODEL_VERSION = "1.0.0"
SEED = datasets.SEED
CALIBRATION_FRACTION = 0.10

# Training weight per source (multiplies the balanced class weights). In-game chat is the
# deployment domain, so GameTox counts three times; the weak radical_tt negatives count half.
SOURCE_WEIGHTS = {
    "gametox": 3.0,
    "davidson": 1.0,
    "hatexplain": 1.0,
    "gab": 1.0,
    "implicit_hate": 1.0,
    "stormfront": 1.0,
    "hateval": 1.0,
    "olid": 1.0,
    "radical_tt": 0.5,
}
# Inverse regularisation strength per category (liblinear, L2).
C_PER_CATEGORY = {"insult": 1.0, "hate": 4.0, "threat": 4.0, "extremism": 4.0}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Data preparation


def prepare():
    """Loads, normalises and splits everything. Returns (train, calib, evals, info)."""
    gt_train, gt_test = datasets.gametox_split()
    pool = datasets.training_sources(gt_train)
    evals = datasets.eval_sets(gt_test)
    all_texts = list(pool["text"]) + [t for df in evals.values() for t in df["text"]]
    log(f"normalising {len(set(all_texts))} distinct texts with: {normalize.normalizer_name()}")
    mapping, fingerprint = normalize.normalize_all(all_texts)
    pool["norm"] = [normalize.lookup(mapping, t) for t in pool["text"]]
    for df in evals.values():
        df["norm"] = [normalize.lookup(mapping, t) for t in df["text"]]

    info: dict = {"raw_rows": {s: int(n) for s, n in pool.groupby("source", sort=False).size().items()}}
    held_out_norm = set()
    for df in evals.values():
        held_out_norm.update(df["norm"])
    empty = pool["norm"].str.strip() == ""
    leaked = pool["norm"].isin(held_out_norm)
    label_key = pool[list(CATEGORIES)].fillna(-1).astype(int).astype(str).agg("".join, axis=1)
    dup = pd.Series(list(zip(pool["source"], pool["norm"], label_key))).duplicated().to_numpy()
    info["dropped"] = {
        "empty_after_normalisation": int(empty.sum()),
        "text_also_in_a_held_out_set": int((leaked & ~empty).sum()),
        "duplicate_within_source": int((dup & ~leaked & ~empty).sum()),
    }
    pool = pool[~(empty | leaked | dup)].reset_index(drop=True)
    pool["label_key"] = label_key[~(empty | leaked | dup)].to_numpy()

    # Calibration split: 10 % of every (source, label pattern) stratum.
    rng = np.random.default_rng(SEED)
    calib_mask = np.zeros(len(pool), dtype=bool)
    for _, idx in pool.groupby(["source", "label_key"], sort=True).groups.items():
        idx = np.sort(np.asarray(idx))
        k = int(round(len(idx) * CALIBRATION_FRACTION))
        if k:
            calib_mask[rng.choice(idx, size=k, replace=False)] = True
    train = pool[~calib_mask].reset_index(drop=True)
    calib = pool[calib_mask].reset_index(drop=True)
    info["normalizer"] = normalize.normalizer_name()
    info["normalizer_fingerprint"] = fingerprint
    return train, calib, evals, info


def row_counts(df: pd.DataFrame) -> dict:
    out = {}
    for s, g in df.groupby("source", sort=False):
        out[s] = {"rows": int(len(g))}
        for c in CATEGORIES:
            out[s][c] = {"positive": int((g[c] == 1).sum()), "negative": int((g[c] == 0).sum()),
                         "unknown": int(g[c].isna().sum())}
    return out


# ---------------------------------------------------------------------------------------------
# Model


def fit_category(x, y, w, c_value: float) -> LogisticRegression:
    clf = LogisticRegression(C=c_value, solver="liblinear", class_weight="balanced",
                             max_iter=200, tol=1e-4, random_state=SEED)
    clf.fit(x, y, sample_weight=w)
    return clf


def fit_platt(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Platt scaling p = sigmoid(a*z + b), fitted by (almost unregularised) logistic regression."""
    lr = LogisticRegression(C=1e6, solver="lbfgs", max_iter=1000)
    lr.fit(z.reshape(-1, 1), y, sample_weight=w)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def calibrate(z_cal: np.ndarray, calib: pd.DataFrame, w_cal: np.ndarray):
    """Platt scaling per category on the calibration split's logits `z_cal` [n, 4]. The reported
    "after" figures and the suggested thresholds are 2-fold cross-fitted inside the calibration
    split, so they are not measured on the rows the scaler saw. Returns (scale [4], offset [4],
    the per-category calibration report, the suggested thresholds)."""
    scale, offset = np.zeros(4), np.zeros(4)
    calibration = {}
    suggested: dict[str, float] = {}
    half = np.random.default_rng(SEED).random(len(calib)) < 0.5
    for i, c in enumerate(CATEGORIES):
        known = calib[c].notna().to_numpy()
        y = calib[c].to_numpy()[known].astype(int)
        z, w = z_cal[known, i], w_cal[known]
        scale[i], offset[i] = fit_platt(z, y, w)
        cross = np.zeros_like(z)
        h = half[known]
        for fit_on, apply_to in ((h, ~h), (~h, h)):
            a, b = fit_platt(z[fit_on], y[fit_on], w[fit_on])
            cross[apply_to] = sigmoid(a * z[apply_to] + b)
        suggested[c] = evaluate.suggested_threshold(y, cross, w)
        calibration[c] = {
            "suggested_threshold": suggested[c],
            "platt_scale": round(float(scale[i]), 6),
            "platt_offset": round(float(offset[i]), 6),
            "calibration_split_weighted": evaluate.calibration_report(y, sigmoid(z), cross, w),
        }
    return scale, offset, calibration, suggested


def weights_for(df: pd.DataFrame) -> np.ndarray:
    return df["source"].map(SOURCE_WEIGHTS).to_numpy(dtype=np.float64)


def train_models(x_train, train: pd.DataFrame, c_per_category=C_PER_CATEGORY):
    models = {}
    w_all = weights_for(train)
    for c in CATEGORIES:
        known = train[c].notna().to_numpy()
        t0 = time.time()
        models[c] = fit_category(x_train[known], train[c].to_numpy()[known].astype(int),
                                 w_all[known], c_per_category[c])
        log(f"  {c}: {int(known.sum())} rows, {time.time() - t0:.1f}s")
    return models


def decision(models, x) -> np.ndarray:
    return np.column_stack([models[c].decision_function(x) for c in CATEGORIES])


# ---------------------------------------------------------------------------------------------
# One-off design comparisons (printed only; the decisions are recorded in models/README.md).


def explore(train, calib) -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    w_cal = weights_for(calib)
    for max_n in (4, 5):
        feats = BatchFeaturizer(max_n)
        x_tr, x_cal = feats.transform(list(train["norm"])), feats.transform(list(calib["norm"]))
        for c_value in (1.0, 4.0, 16.0):
            models = train_models(x_tr, train, {c: c_value for c in CATEGORIES})
            z = decision(models, x_cal)
            parts = []
            for i, c in enumerate(CATEGORIES):
                known = calib[c].notna().to_numpy()
                y = calib[c].to_numpy()[known]
                game = known & (calib["source"] == "gametox").to_numpy()
                yg = calib[c].to_numpy()[game]
                ap = average_precision_score(y, z[known, i], sample_weight=w_cal[known])
                auc = roc_auc_score(y, z[known, i], sample_weight=w_cal[known])
                auc_g = roc_auc_score(yg, z[game, i]) if 0 < yg.sum() < len(yg) else float("nan")
                parts.append(f"{c}: AP {ap:.3f} AUC {auc:.3f} game-AUC {auc_g:.3f}")
            log(f"max_n={max_n} C={c_value}: " + " | ".join(parts))


# ---------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--explore", action="store_true", help="print design comparisons and stop")
    args = ap.parse_args()
    t_start = time.time()

    train, calib, evals, info = prepare()
    log(f"train {len(train)} rows, calibration {len(calib)} rows")
    if args.explore:
        explore(train, calib)
        return

    feats = BatchFeaturizer(MAX_CHAR_NGRAM)
    sample = list(train["norm"].iloc[:: max(1, len(train) // 2000)])
    log(f"batch featuriser equals reference on {check_batch_matches_reference(sample)} rows")
    x_train = feats.transform(list(train["norm"]))
    x_calib = feats.transform(list(calib["norm"]))
    log(f"features: train nnz {x_train.nnz}")

    log("training")
    models = train_models(x_train, train)

    # Platt scaling on the calibration split.
    z_cal = decision(models, x_calib)
    w_cal = weights_for(calib)
    scale, offset, calibration, suggested = calibrate(z_cal, calib, w_cal)

    weights = np.column_stack([models[c].coef_.ravel() for c in CATEGORIES]).astype(np.float32)
    bias = np.array([models[c].intercept_[0] for c in CATEGORIES], dtype=np.float32)
    OUT.mkdir(parents=True, exist_ok=True)
    onnx_path = OUT / "fast.onnx"
    model = export_onnx.build_model(weights, bias, scale.astype(np.float32),
                                    offset.astype(np.float32),
                                    "Waypoint fast tier: hashed n-grams -> calibrated logistic "
                                    "regression per category (insult, hate, threat, extremism).")
    export_onnx.onnx.save(model, str(onnx_path))

    def reference_probs(x) -> np.ndarray:
        return sigmoid(decision(models, x) * scale + offset)

    gt_x = feats.transform(list(evals["gametox_test"]["norm"]))
    check_rows = x_calib[:3000]
    max_diff = max(export_onnx.check_against_reference(str(onnx_path), check_rows, reference_probs(check_rows)),
                   export_onnx.check_against_reference(str(onnx_path), gt_x, reference_probs(gt_x)))
    log(f"ONNX matches sklearn within {max_diff:.2e}")

    # Held-out evaluation with the exported model itself.
    metrics_sets = {}
    for name, df in evals.items():
        x = gt_x if name == "gametox_test" else feats.transform(list(df["norm"]))
        probs = export_onnx.run_onnx(str(onnx_path), x)
        m = evaluate.evaluate_set(df, probs, suggested)
        if name.startswith(("hatecheck", "mhc_")):
            m["functionality_accuracy_hate"] = evaluate.per_group_accuracy(df, probs, "hate")
        if name in ("gametox_test", "hatexplain_test", "gab_test"):
            raw = sigmoid(decision(models, x))
            m["calibration"] = {}
            for i, c in enumerate(CATEGORIES):
                known = df[c].notna().to_numpy()
                y = df[c].to_numpy()[known]
                if (y == 1).any():
                    m["calibration"][c] = evaluate.calibration_report(y, raw[known, i], probs[known, i])
        metrics_sets[name] = m

    n_golden = golden.write_golden(OUT / "golden_features.jsonl")
    onnx_sha = sha256_file(onnx_path)

    metrics = {
        "model_version": f"fast-{MODEL_VERSION}+{onnx_sha[:12]}",
        "thresholds_note": ("precision/recall/F1/FPR at probability 0.5 and at the per-category "
                            "threshold with the best F1 on the calibration split "
                            "(calibration.<category>.suggested_threshold); benign rates at 0.5 and 0.8"),
        "normalizer": info["normalizer"],
        "onnx_max_abs_diff_vs_sklearn": float(f"{max_diff:.3e}"),
        "calibration": calibration,
        "held_out": metrics_sets,
    }
    (OUT / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")

    manifest = {
        "version": metrics["model_version"],
        "sha256": onnx_sha,
        "file": "fast.onnx",
        "bytes": onnx_path.stat().st_size,
        "categories": list(CATEGORIES),
        "inputs": {"indices": "int64 [batch, L]", "values": "float32 [batch, L]"},
        "outputs": {"probabilities": "float32 [batch, 4], order = categories"},
        "opset": export_onnx.OPSET,
        "features": {
            "spec_version": FEATURE_SPEC_VERSION,
            "dim": FEATURE_DIM,
            "char_ngrams": [MIN_CHAR_NGRAM, MAX_CHAR_NGRAM],
            "strip_chars": STRIP_CHARS,
            "hash": "fnv1a-32 mod dim",
            "golden_vectors": n_golden,
        },
        "suggested_thresholds": suggested,
        "normalizer": info["normalizer"],
        "normalizer_fingerprint": info["normalizer_fingerprint"],
        "training": {
            "source_weights": SOURCE_WEIGHTS,
            "c_per_category": C_PER_CATEGORY,
            "solver": "liblinear L2 logistic regression, class_weight=balanced x source weight",
            "calibration": "Platt scaling per category on a 10% stratified calibration split",
            "seed": SEED,
            "raw_rows_per_source": info["raw_rows"],
            "dropped_rows": info["dropped"],
            "train_rows": row_counts(train),
            "calibration_rows": row_counts(calib),
        },
        "label_mapping": datasets.label_mapping(),
        "label_mapping_doc": "models/README.md#training-data-and-label-mapping",
        "held_out_sets": list(evals),
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log(f"wrote {OUT} ({onnx_path.stat().st_size} bytes model) in {time.time() - t_start:.0f}s")


if __name__ == "__main__":
    main()
