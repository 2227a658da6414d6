"""Metrics: per-category classification quality, benign false-positive rates, calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from datasets import CATEGORIES

THRESHOLDS = (0.5, 0.8)
ECE_BINS = 10


def _r(x: float, digits: int = 4):
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def category_metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict:
    """Precision/recall/F1 at `threshold`, ROC-AUC and average precision for one category."""
    pos = int((y == 1).sum())
    neg = int((y == 0).sum())
    out = {"positives": pos, "negatives": neg}
    pred = p >= threshold
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    fn = pos - tp
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / pos if pos else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else float("nan")
    out.update(
        threshold=threshold,
        precision=_r(precision),
        recall=_r(recall),
        f1=_r(f1),
        fpr=_r(fp / neg if neg else float("nan")),
    )
    if pos and neg:
        out["roc_auc"] = _r(roc_auc_score(y, p))
        out["average_precision"] = _r(average_precision_score(y, p))
    return out


def benign_rates(probs: np.ndarray) -> dict:
    """Share of benign rows flagged, per category and for any category, at each threshold."""
    out: dict = {"rows": int(len(probs))}
    for t in THRESHOLDS:
        key = f"at_{t}"
        out[key] = {c: _r(float((probs[:, i] >= t).mean()) if len(probs) else float("nan"))
                    for i, c in enumerate(CATEGORIES)}
        out[key]["any"] = _r(float((probs.max(axis=1) >= t).mean()) if len(probs) else float("nan"))
    return out


def suggested_threshold(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    """The probability threshold (0.05 grid) with the best weighted F1."""
    best, best_f1 = 0.5, -1.0
    for t in np.round(np.arange(0.05, 0.96, 0.05), 2):
        pred = p >= t
        tp = float(w[pred & (y == 1)].sum())
        fp = float(w[pred & (y == 0)].sum())
        fn = float(w[~pred & (y == 1)].sum())
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(t), f1
    return best


def evaluate_set(df: pd.DataFrame, probs: np.ndarray, suggested: dict | None = None) -> dict:
    """All metrics for one held-out set; `probs` is [rows, 4] in CATEGORIES order.
    `suggested` maps categories to operating thresholds chosen on the calibration split."""
    out: dict = {"rows": int(len(df)), "categories": {}}
    for i, c in enumerate(CATEGORIES):
        known = df[c].notna().to_numpy()
        y = df[c].to_numpy()[known]
        if (y == 1).any():
            out["categories"][c] = category_metrics(y, probs[known, i])
            if suggested:
                out["categories"][c]["at_suggested_threshold"] = {
                    k: v for k, v in category_metrics(y, probs[known, i], suggested[c]).items()
                    if k in ("threshold", "precision", "recall", "f1", "fpr")
                }
    labels = df[list(CATEGORIES)].to_numpy()
    benign = np.all(labels == 0, axis=1)
    if benign.any():
        out["benign"] = benign_rates(probs[benign])
        if suggested:
            t = np.array([suggested[c] for c in CATEGORIES])
            out["benign"]["at_suggested_thresholds_any"] = _r(float((probs[benign] >= t).any(axis=1).mean()))
        groups = df["group"].to_numpy()[benign]
        if len(set(groups)) > 1:
            out["benign"]["any_at_0.5_by_group"] = {
                str(g): _r(float((probs[benign][groups == g].max(axis=1) >= 0.5).mean()))
                for g in sorted(set(groups))
            }
    toxic = np.nansum(labels, axis=1) > 0
    if toxic.any() and benign.any():
        y_any = np.where(toxic, 1.0, 0.0)[toxic | benign]
        out["any_toxic"] = category_metrics(y_any, probs[toxic | benign].max(axis=1))
    if not out["categories"] and not benign.any():
        out["flagged_any"] = {f"at_{t}": _r(float((probs.max(axis=1) >= t).mean())) for t in THRESHOLDS}
    return out


def per_group_accuracy(df: pd.DataFrame, probs: np.ndarray, category: str) -> dict:
    """HateCheck-style accuracy per functionality for one category at threshold 0.5."""
    i = CATEGORIES.index(category)
    out = {}
    for g, part in df.groupby("group", sort=True):
        y = part[category].to_numpy()
        known = ~np.isnan(y)
        if not known.any():
            continue
        pred = probs[part.index.to_numpy()[known], i] >= 0.5
        out[str(g)] = _r(float((pred == (y[known] == 1)).mean()), 3)
    return out


def brier(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    return float(np.average((p - y) ** 2, weights=w))


def ece(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None, bins: int = ECE_BINS) -> float:
    """Expected calibration error over equal-width probability bins (optionally weighted)."""
    w = np.ones_like(p) if w is None else w
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = w.sum()
    err = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            wb = w[m].sum()
            err += wb / total * abs(np.average(p[m], weights=w[m]) - np.average(y[m], weights=w[m]))
    return float(err)


def calibration_report(y: np.ndarray, before: np.ndarray, after: np.ndarray,
                       w: np.ndarray | None = None) -> dict:
    """Brier score and ECE before and after calibration for one category."""
    return {
        "rows": int(len(y)),
        "positives": int((y == 1).sum()),
        "brier_before": _r(brier(y, before, w), 5),
        "brier_after": _r(brier(y, after, w), 5),
        "ece_before": _r(ece(y, before, w), 5),
        "ece_after": _r(ece(y, after, w), 5),
    }
