"""Trains the deep tier's head: per category, the logit average of five small MLPs (512 -> 64 -> 1,
ReLU, different seeds), calibrated, over the multilingual encoder's 512-d sentence embeddings,
exported to ONNX as one 512 -> 1280 -> 4 network.

    python models/train/deep/train_head.py --explore   # linear vs MLP on the calibration split

The MLP was chosen over per-category logistic regression on the calibration split only (weighted
average precision, every category higher: insult 0.83 -> 0.87, hate 0.52 -> 0.60, threat
0.22 -> 0.29, extremism 0.30 -> 0.35; C = 4 and 32 gave the same linear figures).

    python models/train/deep/train_head.py     # writes models/deep/head.onnx, head_manifest.json,
                                               # head_metrics.json, head_golden.jsonl

Rows, label mapping, cleaning and the calibration split are the fast tier's (`train_fast.prepare`,
imported, not copied), plus the synthetic rows of `synthetic.py` (training only, counted apart).
Every text is the SDK-normalised text, embedded ALONE (batch of 1) exactly as the SDK's deep tier
does at run time (the int8 encoder quantises activations per batch, so batching would make a
message's embedding depend on its neighbours). Embeddings are cached under
`.cache/waypoint/embeddings/`. Needs `python3 models/fetch.py` first and the fast tier's venv
(`models/train/requirements.txt`). Deterministic: fixed seeds, sorted keys.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
TRAIN = HERE.parent
REPO = TRAIN.parents[1]
sys.path.insert(0, str(TRAIN))
sys.path.insert(0, str(HERE))

import evaluate  # noqa: E402
import normalize  # noqa: E402
import train_fast  # noqa: E402
from datasets import CATEGORIES, SEED, STANCE_HATE_GROUPS, nl_game_chat_split, stance_lines  # noqa: E402

import embed  # noqa: E402
import synthetic  # noqa: E402

OUT = REPO / "models" / "deep"
HEAD_VERSION = "1.0.0"
OPSET = 17
# Inverse regularisation per category (lbfgs, L2), on standardised-free unit-norm embeddings.
C_PER_CATEGORY = {"insult": 4.0, "hate": 4.0, "threat": 4.0, "extremism": 4.0}  # linear baseline (--explore)
# Source weights: the fast tier's, plus the synthetic rows, the Dutch game-chat hard negatives and
# the stance model's chat lines.
SOURCE_WEIGHTS = {**train_fast.SOURCE_WEIGHTS, "synthetic": 2.0, "nl_game_chat": 2.0, "stance_lines": 2.0}
MLP_HIDDEN = 64
MLP_ALPHA = 1e-4
MLP_EPOCHS = 20
# Members per category, averaged in logit space: single members moved held-out AUCs by about
# +-0.01 from seed to seed; the average of five is steadier and, on every set, at least as good
# as the median member.
MLP_SEEDS = 5
EXPLORE_C = (4.0, 32.0)
GOLDEN_TEXTS = [
    "kill the healer first",
    "you are a worthless idiot",
    "ik haat alle moslims, het zijn ratten",
    "goed gespeeld allemaal",
    "i know where you live and i will hurt you",
    "14 words brothers, join the movement",
]


warnings.filterwarnings("ignore", message="Stochastic Optimizer")  # fixed epoch count, by design


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def embed_unique(texts: list[str]) -> dict[str, np.ndarray]:
    unique = sorted(set(texts))
    matrix = embed.embed_texts(unique)
    return {t: matrix[i] for i, t in enumerate(unique)}


def matrix_for(lookup: dict[str, np.ndarray], texts) -> np.ndarray:
    return np.stack([lookup[t] for t in texts]).astype(np.float32) if len(texts) else np.zeros((0, 512), np.float32)


def build_onnx(params, scale: np.ndarray, offset: np.ndarray):
    """embeddings [n, 512] -> Relu(x W1 + b1) W2 + b2 -> Platt -> Sigmoid -> probabilities [n, 4]."""
    import onnx  # noqa: PLC0415
    from onnx import TensorProto, helper, numpy_helper  # noqa: PLC0415

    w1, b1, w2, b2 = params
    inits = [numpy_helper.from_array(np.asarray(a, dtype=np.float32), n) for a, n in
             ((w1, "W1"), (b1, "b1"), (w2, "W2"), (b2, "b2"), (scale, "platt_scale"),
              (offset, "platt_offset"))]
    nodes = [
        helper.make_node("MatMul", ["embeddings", "W1"], ["h_raw"], name="hidden"),
        helper.make_node("Add", ["h_raw", "b1"], ["h_pre"], name="hidden_bias"),
        helper.make_node("Relu", ["h_pre"], ["h"], name="relu"),
        helper.make_node("MatMul", ["h", "W2"], ["raw"], name="output"),
        helper.make_node("Add", ["raw", "b2"], ["logits"], name="add_bias"),
        helper.make_node("Mul", ["logits", "platt_scale"], ["scaled"], name="platt_scale"),
        helper.make_node("Add", ["scaled", "platt_offset"], ["calibrated"], name="platt_offset"),
        helper.make_node("Sigmoid", ["calibrated"], ["probabilities"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes, "waypoint_deep_head",
        inputs=[helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", 512])],
        outputs=[helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", len(CATEGORIES)])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="waypoint",
                              doc_string="Waypoint deep-tier head: encoder embedding -> calibrated MLP per "
                                         "category (insult, hate, threat, extremism).")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort  # noqa: PLC0415

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"embeddings": x.astype(np.float32)})[0]


def f1_at(y: np.ndarray, p: np.ndarray, t: float = 0.5) -> float:
    pred = p >= t
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    fn = int((~pred & (y == 1)).sum())
    return round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0


def nl_game_chat_rows() -> pd.DataFrame:
    """The training part of the Dutch game-chat set: benign hard negatives (its dev part and
    `test.txt` are never trained on)."""
    train, _ = nl_game_chat_split()
    return pd.DataFrame([{"source": "nl_game_chat", "text": text, "kind": "nl_game_chat_train", "lang": "nl",
                          "template_file": "nl_game_chat/train.txt", **{c: 0.0 for c in CATEGORIES}}
                         for text in train])


def stance_line_rows() -> pd.DataFrame:
    """The stance model's chat lines (`models/train/stance/lines.tsv`, sixteen writers): an
    endorsing line is hate (groups in `STANCE_HATE_GROUPS`) or extremism, its other categories
    unknown; a line that does not endorse (reporting, rejecting, explaining, news, faith, game
    talk with the same words) is negative for hate, threat and extremism, its insult unknown."""
    rows = []
    for stance, group, text in stance_lines():
        labels = {c: np.nan for c in CATEGORIES}
        if stance == "endorse":
            labels["hate" if group in STANCE_HATE_GROUPS else "extremism"] = 1.0
        else:
            labels.update(hate=0.0, threat=0.0, extremism=0.0)
        rows.append({"source": "stance_lines", "text": text, "kind": f"stance_lines_{stance}", "lang": "any",
                     "template_file": "stance/lines.tsv", **labels})
    return pd.DataFrame(rows)


def extremism_suite_texts() -> list[str]:
    """Every line of the extremism suite, dev and test part: never trained on, so that the dev
    part stays a fair place to tune and the test part a fair place to report."""
    suite = REPO / "models" / "eval" / "extremism_suite"
    return [json.loads(line)["text"] for part in ("dev.jsonl", "test.jsonl")
            for line in (suite / part).read_text(encoding="utf-8").splitlines() if line.strip()]


def prepare():
    """Rows (fast-tier training rows + synthetic), calibration rows, held-out sets, embeddings."""
    train, calib, evals, info = train_fast.prepare()

    syn = pd.concat([synthetic.generate(), nl_game_chat_rows(), stance_line_rows()], ignore_index=True)
    suite = extremism_suite_texts()
    mapping, _ = normalize.normalize_all(list(syn["text"]) + suite)
    syn["norm"] = [normalize.lookup(mapping, t) for t in syn["text"]]
    held_out = set().union(*(set(df["norm"]) for df in evals.values()))
    held_out |= {normalize.lookup(mapping, t) for t in suite}
    leaked = syn["norm"].isin(held_out)
    syn_dropped = {"text_also_in_a_held_out_set": int(leaked.sum())}
    syn = syn[~leaked & (syn["norm"].str.strip() != "")]
    dup = syn.duplicated(subset=["norm"])
    syn_dropped["duplicate"] = int(dup.sum())
    syn = syn[~dup].reset_index(drop=True)
    log(f"train {len(train)} + synthetic {len(syn)} rows, calibration {len(calib)} rows")

    t0 = time.time()
    # Cached in parts (corpora, then each template file), so editing one template file embeds
    # only that file's rows again.
    lookup = embed_unique(list(train["norm"]) + list(calib["norm"]))
    for _, part in syn.groupby("template_file", sort=True):
        lookup.update(embed_unique(list(part["norm"])))
    eval_lookup = embed_unique([t for df in evals.values() for t in df["norm"]])
    log(f"embeddings ready in {time.time() - t0:.0f}s")

    full = pd.concat([train, syn.drop(columns=["kind", "lang", "template_file"])], ignore_index=True)
    return full, calib, evals, info, syn, syn_dropped, lookup, eval_lookup


def fit_linear(x, full, w, c_per_category):
    """One weighted logistic regression per category: weights [512, 4], bias [4]."""
    weights = np.zeros((512, 4), np.float64)
    bias = np.zeros(4)
    for i, c in enumerate(CATEGORIES):
        known = full[c].notna().to_numpy()
        clf = LogisticRegression(C=c_per_category[c], solver="lbfgs", class_weight="balanced",
                                 max_iter=3000, tol=1e-6, random_state=SEED)
        clf.fit(x[known], full[c].to_numpy()[known].astype(int), sample_weight=w[known])
        weights[:, i], bias[i] = clf.coef_.ravel(), clf.intercept_[0]
        log(f"  {c}: {int(known.sum())} rows")
    return weights, bias


def fit_mlp(x, full, w, hidden: int = MLP_HIDDEN, alpha: float = MLP_ALPHA, seeds: int = MLP_SEEDS,
            skip: frozenset = frozenset()):
    """Per category, `seeds` small MLPs (512 -> hidden -> 1, ReLU) trained from different seeds
    and averaged in logit space, all joined into one 512 -> 4*seeds*hidden -> 4 network
    (block-diagonal output layer, each member's output weights divided by `seeds`). Categories
    in `skip` are left at zero (see `keep_members`). Returns (w1 [512, 4sh], b1 [4sh],
    w2 [4sh, 4], b2 [4])."""
    from sklearn.neural_network import MLPClassifier  # noqa: PLC0415

    k = len(CATEGORIES)
    width = seeds * hidden
    w1 = np.zeros((512, k * width))
    b1 = np.zeros(k * width)
    w2 = np.zeros((k * width, k))
    b2 = np.zeros(k)
    for i, c in enumerate(CATEGORIES):
        if c in skip:
            log(f"  {c}: kept, not trained")
            continue
        known = full[c].notna().to_numpy()
        y = full[c].to_numpy()[known].astype(int)
        sw = w[known].copy()
        for label in (0, 1):  # balanced class weight x source weight, mean 1
            sw[y == label] *= len(y) / (2.0 * max(1, int((y == label).sum())))
        sw /= sw.mean()
        for member in range(seeds):
            clf = MLPClassifier(hidden_layer_sizes=(hidden,), activation="relu", alpha=alpha,
                                batch_size=256, learning_rate_init=1e-3, max_iter=MLP_EPOCHS,
                                shuffle=True, random_state=SEED + member, tol=0.0, n_iter_no_change=1000)
            clf.fit(x[known], y, sample_weight=sw)
            block = slice(i * width + member * hidden, i * width + (member + 1) * hidden)
            w1[:, block], b1[block] = clf.coefs_[0], clf.intercepts_[0]
            w2[block, i] = clf.coefs_[1][:, 0] / seeds
            b2[i] += clf.intercepts_[1][0] / seeds
        log(f"  {c}: {int(known.sum())} rows (mlp x {seeds})")
    return w1, b1, w2, b2


def keep_members(params, head: bytes, keep: frozenset):
    """Copies the members of the categories in `keep` from the serialised `head` into `params`
    (same layout: the head this script writes). Their calibration is refitted afterwards on the
    same calibration split, so the kept categories score as they did in that head."""
    import onnx  # noqa: PLC0415
    from onnx import numpy_helper  # noqa: PLC0415

    old = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in onnx.load_model_from_string(head).graph.initializer}
    w1, b1, w2, b2 = params
    if old["W1"].shape != w1.shape or old["W2"].shape != w2.shape:
        raise SystemExit(f"--keep-from: hidden layer {old['W1'].shape} is not this script's {w1.shape}")
    width = w1.shape[1] // len(CATEGORIES)
    for i, c in enumerate(CATEGORIES):
        if c in keep:
            block = slice(i * width, (i + 1) * width)
            w1[:, block], b1[block], w2[block, i], b2[i] = old["W1"][:, block], old["b1"][block], old["W2"][block, i], old["b2"][i]
    return w1, b1, w2, b2


def mlp_logits(x, params):
    w1, b1, w2, b2 = params
    return np.maximum(x @ w1 + b1, 0.0) @ w2 + b2


def explore(full, calib, x_train, w_train, x_cal, w_cal, evals, eval_lookup) -> None:
    """Prints calibration-split average precision per category for a grid of C (the choice is
    made on the calibration split only; held-out AUCs are printed for information)."""
    from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: PLC0415

    hc = evals["hatecheck_en"]
    nl = evals["mhc_dutch"]
    variants = [(f"linear C={c_value}", c_value) for c_value in EXPLORE_C] + [("mlp", None)]
    for label, c_value in variants:
        if c_value is None:
            params = fit_mlp(x_train, full, w_train)
            logits = lambda x: mlp_logits(x, params)  # noqa: E731
        else:
            weights, bias = fit_linear(x_train, full, w_train, {c: c_value for c in CATEGORIES})
            logits = lambda x, w=weights, b=bias: x @ w + b  # noqa: E731
        z = logits(x_cal)
        parts = []
        for i, c in enumerate(CATEGORIES):
            known = calib[c].notna().to_numpy()
            ap = average_precision_score(calib[c].to_numpy()[known], z[known, i], sample_weight=w_cal[known])
            parts.append(f"{c} AP {ap:.3f}")
        for name, df in (("hatecheck_en", hc), ("mhc_dutch", nl)):
            zz = logits(matrix_for(eval_lookup, list(df["norm"])).astype(np.float64))
            parts.append(f"{name} hate AUC {roc_auc_score(df['hate'], zz[:, 1]):.3f}")
        log(f"{label}: " + " | ".join(parts))


def main() -> int:
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--explore", action="store_true", help="print the C comparison and stop")
    parser.add_argument("--keep", default="", help="comma-separated categories whose members are copied from "
                                                    "--keep-from instead of being retrained")
    parser.add_argument("--keep-from", type=Path, default=OUT / "head.onnx",
                        help="the head to keep categories from (default: the shipped one)")
    args = parser.parse_args()
    keep = frozenset(c for c in args.keep.split(",") if c)
    if not keep <= set(CATEGORIES):
        parser.error(f"--keep: unknown categories {sorted(keep - set(CATEGORIES))}; use {', '.join(CATEGORIES)}")
    kept_from, kept_head = None, b""
    if keep:  # read now: the default --keep-from is the file this run overwrites
        kept_head = args.keep_from.read_bytes()
        kept_manifest = args.keep_from.with_name("head_manifest.json")
        kept_from = {"categories": sorted(keep), "sha256": hashlib.sha256(kept_head).hexdigest(),
                     "version": json.loads(kept_manifest.read_text())["version"] if kept_manifest.is_file() else None}
    t_start = time.time()
    full, calib, evals, info, syn, syn_dropped, lookup, eval_lookup = prepare()
    x_train = matrix_for(lookup, list(full["norm"])).astype(np.float64)
    x_cal = matrix_for(lookup, list(calib["norm"])).astype(np.float64)
    # A template's own `weight` (synthetic.py) multiplies its rows' source weight.
    w_train = (full["source"].map(SOURCE_WEIGHTS) * full["weight"].fillna(1.0)).to_numpy(np.float64)
    w_cal = calib["source"].map(SOURCE_WEIGHTS).to_numpy(np.float64)
    if args.explore:
        explore(full, calib, x_train, w_train, x_cal, w_cal, evals, eval_lookup)
        return 0
    params = fit_mlp(x_train, full, w_train, skip=keep)
    if keep:
        params = keep_members(params, kept_head, keep)

    z_cal = mlp_logits(x_cal, params)
    scale, offset, calibration, suggested = train_fast.calibrate(z_cal, calib, w_cal)

    OUT.mkdir(parents=True, exist_ok=True)
    onnx_path = OUT / "head.onnx"
    import onnx  # noqa: PLC0415

    onnx.save(build_onnx(params, scale.astype(np.float32), offset.astype(np.float32)), str(onnx_path))

    def reference(x: np.ndarray) -> np.ndarray:
        return train_fast.sigmoid(mlp_logits(x.astype(np.float64), params) * scale + offset)

    check = x_cal[:3000]
    max_diff = float(np.abs(run_onnx(onnx_path, check) - reference(check)).max())
    log(f"ONNX head matches numpy within {max_diff:.2e}")

    held_out, quick = {}, {}
    for name, df in evals.items():
        probs = run_onnx(onnx_path, matrix_for(eval_lookup, list(df["norm"])))
        m = evaluate.evaluate_set(df, probs, suggested)
        if name.startswith(("hatecheck", "mhc_")):
            m["functionality_accuracy_hate"] = evaluate.per_group_accuracy(df, probs, "hate")
            y = df["hate"].to_numpy()
            hateful_any = probs[:, 1:].max(axis=1)
            m["hateful_vs_not_f1_at_0.5"] = {"hate": f1_at(y, probs[:, 1]),
                                             "max_hate_threat_extremism": f1_at(y, hateful_any)}
        held_out[name] = m
    benign_any = lambda df, mask, p: round(float((p[mask].max(axis=1) >= 0.5).mean()), 4)  # noqa: E731
    gt = evals["gametox_test"]
    gt_probs = run_onnx(onnx_path, matrix_for(eval_lookup, list(gt["norm"])))
    cd = evals["conda_dota2"]
    cd_probs = run_onnx(onnx_path, matrix_for(eval_lookup, list(cd["norm"])))
    quick = {
        "hatecheck_en_f1_at_0.5": held_out["hatecheck_en"]["hateful_vs_not_f1_at_0.5"],
        "mhc_dutch_f1_at_0.5": held_out["mhc_dutch"]["hateful_vs_not_f1_at_0.5"],
        "hatecheck_nl_f1_at_0.5": held_out["hatecheck_nl"]["hateful_vs_not_f1_at_0.5"],
        "mhc_f1_at_0.5_by_language": {k[4:]: v["hateful_vs_not_f1_at_0.5"]["hate"] for k, v in held_out.items()
                                      if k.startswith("mhc_")},
        "gametox_test_class_0_flagged_any_at_0.5": benign_any(gt, (gt["group"] == "class_0").to_numpy(), gt_probs),
        "conda_class_O_flagged_any_at_0.5": benign_any(cd, (cd["group"] == "O").to_numpy(), cd_probs),
    }
    for k, v in quick.items():
        log(f"  {k}: {v}")

    # Golden cases for the Rust test: stored embeddings -> probabilities (head only), and the
    # text -> probabilities end to end (encoder at batch 1 + head).
    g_mapping, _ = normalize.normalize_all(GOLDEN_TEXTS)
    g_norm = [normalize.lookup(g_mapping, t) for t in GOLDEN_TEXTS]
    g_emb = embed.Encoder().embed(g_norm)
    g_probs = run_onnx(onnx_path, g_emb)
    with open(OUT / "head_golden.jsonl", "w", encoding="utf-8") as fh:
        for text, norm, e, p in zip(GOLDEN_TEXTS, g_norm, g_emb, g_probs):
            fh.write(json.dumps({"text": text, "normalized": norm,
                                 "embedding": [float(v) for v in e],
                                 "probabilities": [float(v) for v in p]}, ensure_ascii=False) + "\n")

    sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    version = f"deep-head-{HEAD_VERSION}+{sha[:12]}"
    syn_counts = {f"{k}/{l}": int(n) for (k, l), n in syn.groupby(["kind", "lang"]).size().items()}
    metrics = {
        "model_version": version,
        "embedding": "SDK-normalised text, encoder at batch 1 (one message per run)",
        "onnx_max_abs_diff_vs_numpy": float(f"{max_diff:.3e}"),
        "training_rows": {**train_fast.row_counts(full), "synthetic_by_kind": syn_counts,
                          "synthetic_dropped": syn_dropped},
        "calibration_rows": train_fast.row_counts(calib),
        "calibration": calibration,
        "quick_checks": quick,
        "held_out": held_out,
    }
    (OUT / "head_metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    manifest = {
        "version": version,
        "sha256": sha,
        "file": "head.onnx",
        "bytes": onnx_path.stat().st_size,
        "categories": list(CATEGORIES),
        "inputs": {"embeddings": "float32 [batch, 512]"},
        "outputs": {"probabilities": "float32 [batch, 4], order = categories"},
        "opset": OPSET,
        "encoder": "Universal Sentence Encoder Multilingual v3 int8 (models/artifacts.toml, artifact `encoder`)",
        "embedding": metrics["embedding"],
        "suggested_thresholds": suggested,
        "normalizer_fingerprint": info["normalizer_fingerprint"],
        "training": {"source_weights": SOURCE_WEIGHTS,
                     "head": f"per category the logit average of {MLP_SEEDS} MLPs 512 -> {MLP_HIDDEN} (ReLU) -> 1 "
                             f"(seeds {SEED}..{SEED + MLP_SEEDS - 1}), adam, {MLP_EPOCHS} epochs, "
                             f"L2 alpha {MLP_ALPHA}, batch 256, class_weight=balanced x source weight",
                     "calibration": "Platt scaling per category on the fast tier's calibration split",
                     "kept_from": kept_from,
                     "seed": SEED},
    }
    (OUT / "head_manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log(f"wrote {OUT} ({version}) in {time.time() - t_start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
