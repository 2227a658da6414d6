"""Runs `waypoint eval` on every held-out set and writes `results.json` and `results.md`.

The held-out sets are read from `shared/data` next to the repository and reshaped into
`text,label` CSV files in a temporary directory (deleted afterwards; nothing is copied into the
repository). Every set is evaluated twice: as is, and with every line obfuscated by
`perturb.py` (fixed seed), to measure the F1 lost to obfuscation. The project's own sets in
`models/eval/extremism_suite/` (the extremism and threat functional suite, grouped by
functionality) and `models/eval/nl_game_chat/` (benign Dutch game chat) are evaluated clean only. Label mappings follow
`models/train/datasets.py` where it defines them (the GameTox held-out split is taken from
there, so it is exactly the split the fast tier never trained on).

Usage: `python3 models/eval/run_eval.py [--bin target/release/waypoint] [--policy FILE]
[--models DIR] [--only NAME,...] [--jobs N]` (normally through `run_all.sh`).
`--render` writes `results.md` again from the stored `results.json` (targets and intervals
recomputed) without scoring any line.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "models" / "train"))
sys.path.insert(0, str(HERE))

import datasets as ds  # noqa: E402  (models/train/datasets.py: loaders and the GameTox split)
import perturb  # noqa: E402

DATA = ds.DATA
CATS = ("insult", "hate", "threat", "extremism", "any")

HATECHECK_MAP = "hateful=hate,hateful_threat=hate+threat,non-hateful=none"
GAMETOX_MAP = "0=none,1=insult,2=skip,3=hate,4=threat,5=extremism"


# ---------------------------------------------------------------------------------------------
# Reshaping each held-out set into text,label rows.


def _hatecheck_rows(frame) -> list[tuple[str, str]]:
    rows = []
    for text, hate, func in zip(frame["text"], frame["hate"], frame["group"]):
        if hate == 1:
            label = "hateful_threat" if str(func).startswith("threat_") else "hateful"
        else:
            label = "non-hateful"
        rows.append((text, label))
    return rows


def _read(path: Path, **kw) -> list[dict]:
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        return list(csv.DictReader(fh, **kw))


def conda_valid_rows() -> list[tuple[str, str]]:
    import re

    rows = []
    for r in _read(DATA / "conda_dota2" / "CONDA_valid.csv"):
        text = re.sub(r"\s*\[SEPA\]\s*", " ", r["utterance"] or "")
        rows.append((text, (r["intentClass"] or "").strip()))
    return rows


def gosu_rows() -> list[tuple[str, str]]:
    return [(r["text"], r["target"]) for r in _read(DATA / "gosu_dota2_tagged" / "tagged-data.csv")]


def toxigen_rows() -> list[tuple[str, str]]:
    return [(r["text"], r["label"]) for r in _read(DATA / "toxigen_seed" / "toxigen_seed_sentences.csv")]


def ethos_rows() -> list[tuple[str, str]]:
    f = ds.ethos()
    rows = []
    for text, hate, threat in zip(f["text"], f["hate"], f["threat"]):
        label = "none" if hate == 0 else ("hate_violence" if threat == 1 else "hate")
        rows.append((text, label))
    return rows


def hatexplain_rows() -> list[tuple[str, str]]:
    return [(r["text"], r["label_name"]) for r in _read(DATA / "hatexplain" / "hatexplain_majority.csv")
            if r["split"] == "test"]


def gab_rows() -> list[tuple[str, str]]:
    rows = []
    for r in _read(DATA / "gab_hate_corpus" / "ghc_test.tsv", delimiter="\t"):
        cats = [c for c, k in (("insult", "vo"), ("hate", "hd"), ("threat", "cv")) if r.get(k, "0").strip() == "1"]
        rows.append((r["text"], "+".join(cats) if cats else "none"))
    return rows


def gametox_rows() -> list[tuple[str, str]]:
    _, test = ds.gametox_split()
    return [(t, g.removeprefix("class_")) for t, g in zip(test["text"], test["group"])]


SUITE = HERE / "extremism_suite"
NL_GAME_CHAT = HERE / "nl_game_chat"
ROUGH_GAME_CHAT = HERE / "rough_game_chat"
SUITE_GROUP = "functionality"
# The suite's parts (`<part>.jsonl`): test (report only), dev (may be tuned on), check (never
# trained on, used to choose builds), blind (report only).
SUITE_PARTS = ("test", "dev", "check", "blind")


def suite_rows(split: str, lang: str) -> list[tuple[str, str, str]]:
    """The functional suite's `split` part (test, dev, check or blind) in one language: text, label, functionality."""
    rows = []
    with open(SUITE / f"{split}.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                case = json.loads(line)
                if case["lang"] == lang:
                    rows.append((case["text"], case["label"], case[SUITE_GROUP]))
    return rows


def benign_lines(path: Path) -> list[tuple[str, str]]:
    """A file of benign chat, one message per line, every line labelled `none`."""
    with open(path, encoding="utf-8") as fh:
        return [(line.strip(), "none") for line in fh if line.strip()]


def nl_game_chat_rows() -> list[tuple[str, str]]:
    return benign_lines(NL_GAME_CHAT / "test.txt")


def rough_game_chat_rows(lang: str) -> list[tuple[str, str]]:
    """Benign game chat in the gamer vocabulary of violence (evaluation only)."""
    return benign_lines(ROUGH_GAME_CHAT / f"{lang}.txt")


def nl_game_chat_dev_rows() -> list[tuple[str, str]]:
    """The dev third of the Dutch game-chat training file (never trained on; tuning allowed)."""
    _, dev = ds.nl_game_chat_split()
    return [(line, "none") for line in dev]


# name → (rows loader, --map, what it measures). Sets marked "rerun" reuse another set's file
# with a different map (benign-only views) and are not perturbed again.
SETS: list[dict] = [
    {"name": "hatecheck_en", "rows": lambda: _hatecheck_rows(ds.hatecheck_en()), "map": HATECHECK_MAP},
    *[
        {"name": f"mhc_{lang}", "rows": (lambda lang=lang: _hatecheck_rows(ds.mhc(lang))), "map": HATECHECK_MAP}
        for lang in ds.MHC_LANGUAGES
    ],
    {"name": "conda_valid", "rows": conda_valid_rows, "map": "E=insult,I=insult,O=none,A=skip"},
    {"name": "gosu_dota2", "rows": gosu_rows, "map": "0=none,1=insult,2=insult"},
    {"name": "toxigen_seed", "rows": toxigen_rows, "map": "hate=hate,neutral=none"},
    {"name": "ethos", "rows": ethos_rows, "map": "hate=hate,hate_violence=hate+threat,none=none"},
    {"name": "hatexplain_test", "rows": hatexplain_rows,
     "map": "normal=none,offensive=insult,hatespeech=hate,undecided=skip"},
    {"name": "gab_test", "rows": gab_rows, "map": None},
    {"name": "gametox_test", "rows": gametox_rows, "map": GAMETOX_MAP},
    # The project's own sets (clean only; suite sets grouped by functionality).
    *[
        {"name": f"extremism_suite_{split}_{lang}", "rows": (lambda split=split, lang=lang: suite_rows(split, lang)),
         "map": None, "group": SUITE_GROUP, "perturb": False}
        for split in SUITE_PARTS for lang in ("en", "nl")
    ],
    {"name": "nl_game_chat_test", "rows": nl_game_chat_rows, "map": None, "perturb": False},
    {"name": "nl_game_chat_dev", "rows": nl_game_chat_dev_rows, "map": None, "perturb": False},
    *[
        {"name": f"rough_game_chat_{lang}", "rows": (lambda lang=lang: rough_game_chat_rows(lang)),
         "map": None, "perturb": False}
        for lang in ("en", "nl")
    ],
    # Benign-only views.
    {"name": "conda_valid_actions", "rerun": "conda_valid", "map": "A=none,E=skip,I=skip,O=skip"},
    {"name": "gametox_test_class2", "rerun": "gametox_test",
     "map": "2=none,0=skip,1=skip,3=skip,4=skip,5=skip"},
]

PER_KIND_SETS = ("hatecheck_en", "mhc_dutch")


def write_csv(path: Path, rows: list[tuple[str, ...]], group: str | None = None) -> int:
    """Writes `text,label` rows (with a third column named `group` when given)."""
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label", group] if group else ["text", "label"])
        for text, label, *rest in rows:
            text = " ".join(str(text).split())  # one physical line per message
            if text:
                w.writerow([text, label, *rest[:1]] if group else [text, label])
                n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Running the CLI and summarising.


def run_cli(args, data: Path, mapping: str | None, out: Path, group: str | None = None) -> dict:
    cmd = [args.bin, "eval", "--data", str(data), "--json", str(out)]
    if mapping:
        cmd += ["--map", mapping]
    if group:
        cmd += ["--group-field", group]
    if args.policy:
        cmd += ["--policy", args.policy]
    if args.models:
        cmd += ["--models", args.models]
    if args.allow_degraded:
        cmd += ["--allow-degraded"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"waypoint eval failed on {data.name}:\n{proc.stderr}")
    return json.loads(out.read_text(encoding="utf-8"))


def _r(x, d=4):
    return None if x is None else round(x, d)


def summarise(report: dict) -> dict:
    cats = {}
    for c in report["categories"]:
        if c["positives"] == 0 and c["negatives"] == 0:
            continue
        best = max((s for s in c["sweep"] if s["f1"] is not None), key=lambda s: s["f1"], default=None)
        cats[c["category"]] = {
            "policy_threshold": c["policy_threshold"],
            "positives": c["positives"],
            "negatives": c["negatives"],
            "tp": c["flagged_positives"],
            "fp": c["flagged_benign"],
            "precision": _r(c["precision"]),
            "recall": _r(c["recall"]),
            "f1": _r(c["f1"]),
            "fpr": _r(c["fpr"]),
            "roc_auc": _r(c["roc_auc"]),
            "best_sweep": None if best is None else {"threshold": best["threshold"], "f1": _r(best["f1"]),
                                                     "fpr": _r(best["fpr"])},
            # threshold, positives flagged, benign flagged
            "sweep": [[round(s["threshold"], 4), s["flagged_positives"], s["flagged_benign"]] for s in c["sweep"]],
        }
    return {
        "rows": report["rows"],
        "bad_rows": report["bad_rows"][:20],
        "benign_flagged_rate": _r(report["benign_flagged_rate"]),
        "levels": report["levels"],
        "labels": [{k: (_r(v) if isinstance(v, float) else v) for k, v in l.items()} for l in report["labels"]],
        "categories": cats,
        "groups": [{k: (_r(v) if isinstance(v, float) else v) for k, v in g.items()}
                   for g in report.get("groups", [])],
        "elapsed_seconds": round(report["elapsed_seconds"], 2),
    }


def _pooled_entry(sets, clean, pert) -> dict:
    drop = None if clean["f1"] is None or pert["f1"] is None else round(100 * (clean["f1"] - pert["f1"]), 2)
    return {"sets": sets, "clean": clean, "perturbed": pert, "f1_drop_points": drop}


def pooled_f1(summaries: list[dict], cat: str = "any") -> dict:
    tp = fp = fn = 0
    for s in summaries:
        c = s["categories"].get(cat)
        if not c or c["positives"] == 0:
            continue
        tp += c["tp"]
        fp += c["fp"]
        fn += c["positives"] - c["tp"]
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else None
    return {"tp": tp, "fp": fp, "fn": fn, "f1": _r(f1)}


def main() -> int:
    ap = argparse.ArgumentParser(description="Evaluate the Waypoint models on every held-out set.")
    ap.add_argument("--bin", default=str(REPO / "target" / "release" / "waypoint"))
    ap.add_argument("--policy")
    ap.add_argument("--models")
    ap.add_argument("--only", help="comma-separated set names")
    ap.add_argument("--jobs", type=int, default=1, help="CLI runs in parallel")
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--allow-degraded", action="store_true",
                    help="evaluate even when a model tier cannot be loaded (recorded in the results)")
    ap.add_argument("--render", action="store_true",
                    help="only re-render results.md (and the targets in results.json) from OUT/results.json")
    args = ap.parse_args()
    if args.render:
        return render_stored(Path(args.out))
    only = set(args.only.split(",")) if args.only else None
    started = time.time()

    with tempfile.TemporaryDirectory(prefix="waypoint-eval-") as tmp:
        tmp = Path(tmp)
        jobs = []  # (key, file, map, group field)
        files: dict[str, Path] = {}
        perturbed_rows: dict[str, dict] = {}
        for s in SETS:
            name = s["name"]
            if only and name not in only and s.get("rerun") not in only:
                continue
            if "rerun" in s:
                base = s["rerun"]
                if base not in files:
                    continue
                jobs.append((("clean", name), files[base], s["map"], None))
                continue
            path = tmp / f"{name}.csv"
            n = write_csv(path, s["rows"](), s.get("group"))
            files[name] = path
            jobs.append((("clean", name), path, s["map"], s.get("group")))
            print(f"prepared {name}: {n} rows", file=sys.stderr)
            if not s.get("perturb", True):
                continue
            seed = perturb.SEED + zlib.crc32(name.encode())
            ppath = tmp / f"{name}.perturbed.csv"
            rows, changed = perturb.perturb_csv(str(path), str(ppath), seed)
            perturbed_rows[name] = {"rows": rows, "changed": changed}
            jobs.append((("perturbed", name), ppath, s["map"], None))
            if name in PER_KIND_SETS:
                for kind in perturb.KINDS:
                    kpath = tmp / f"{name}.{kind}.csv"
                    perturb.perturb_csv(str(path), str(kpath), seed, kind)
                    jobs.append(((kind, name), kpath, s["map"], None))

        def work(job):
            key, path, mapping, group = job
            out = tmp / f"{key[0]}.{key[1]}.report.json"
            t0 = time.time()
            rep = run_cli(args, path, mapping, out, group)
            print(f"  {key[0]:>10} {key[1]:<22} {time.time() - t0:6.1f} s", file=sys.stderr)
            return key, rep

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            reports = dict(pool.map(work, jobs))

    first = next(iter(reports.values()))
    head = Path(args.models or REPO / "models") / "deep" / "head_manifest.json"
    deep_version = json.loads(head.read_text())["version"] if head.is_file() else None
    stance = Path(args.models or REPO / "models") / "stance" / "manifest.json"
    stance_version = json.loads(stance.read_text())["version"] if stance.is_file() else None
    results: dict = {
        "model_version": first["model_version"],
        "deep_head_version_in_tree": deep_version,
        "stance_version_in_tree": stance_version,
        "health": first["health"],
        "policy": first["policy"],
        "flagged_definition": first["flagged_definition"],
        "perturbation": {"seed": perturb.SEED, "kinds": list(perturb.KINDS),
                         "rows": perturbed_rows},
        "sets": {},
        "robustness": {},
    }
    for (variant, name), rep in reports.items():
        if variant == "clean":
            results["sets"][name] = summarise(rep)
    pert_summaries: dict[str, dict] = {}
    for (variant, name), rep in reports.items():
        if variant == "clean":
            continue
        clean = results["sets"][name]
        pert = summarise(rep)
        entry = results["robustness"].setdefault(name, {})
        entry[variant] = {
            cat: {
                "f1_clean": clean["categories"][cat]["f1"],
                "f1_perturbed": pert["categories"][cat]["f1"],
                "f1_drop_points": (None if clean["categories"][cat]["f1"] is None
                                   or pert["categories"][cat]["f1"] is None
                                   else round(100 * (clean["categories"][cat]["f1"] - pert["categories"][cat]["f1"]), 2)),
                "recall_clean": clean["categories"][cat]["recall"],
                "recall_perturbed": pert["categories"][cat]["recall"],
                "fpr_clean": clean["categories"][cat]["fpr"],
                "fpr_perturbed": pert["categories"][cat]["fpr"],
            }
            for cat in clean["categories"]
            if clean["categories"][cat]["positives"] > 0
        }
        if variant == "perturbed":
            pert_summaries[name] = pert
    labelled = list(pert_summaries)
    clean_pool = pooled_f1([results["sets"][n] for n in labelled])
    pert_pool = pooled_f1([pert_summaries[n] for n in labelled])
    results["robustness_pooled_any"] = _pooled_entry(labelled, clean_pool, pert_pool)
    en = [n for n in labelled if not n.startswith("mhc_")]
    results["robustness_pooled_any_english_and_game"] = _pooled_entry(
        en,
        pooled_f1([results["sets"][n] for n in en]),
        pooled_f1([pert_summaries[n] for n in en]),
    )
    results["targets"] = targets(results)
    results["elapsed_seconds"] = round(time.time() - started, 1)

    out = Path(args.out)
    (out / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    print(f"wrote {out / 'results.json'} and {out / 'results.md'} in {results['elapsed_seconds']} s", file=sys.stderr)
    return 0


def render_stored(out: Path) -> int:
    """Recomputes the targets of a stored `results.json` and writes both files again; no line
    is scored."""
    path = out / "results.json"
    if not path.is_file():
        print(f"run_eval: {path} does not exist; run the evaluation first", file=sys.stderr)
        return 1
    results = json.loads(path.read_text(encoding="utf-8"))
    results["targets"] = targets(results)
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    print(f"re-rendered {out / 'results.md'} from {path}", file=sys.stderr)
    return 0


# The normal quantile for a two-sided 95 % interval (as `waypoint eval` uses).
Z_95 = 1.959963984540054


def wilson_interval(hits: int, lines: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval (95 % by default) of the share hits / lines; None for no lines.
    Unlike the normal approximation it stays inside [0, 1] and is sound for small counts and
    for shares near 0 or 1, which is what the suite's groups of 10 to 40 lines give."""
    if lines <= 0:
        return None
    p = hits / lines
    denominator = 1 + z * z / lines
    centre = (p + z * z / (2 * lines)) / denominator
    half = z * math.sqrt(p * (1 - p) / lines + z * z / (4 * lines * lines)) / denominator
    # At a share of 0 or 1 the bound is exact; rounding would leave it a hair off.
    return (0.0 if hits == 0 else centre - half), (1.0 if hits == lines else centre + half)


def _get(results, name, cat, key):
    try:
        return results["sets"][name]["categories"][cat][key]
    except KeyError:
        return None


def _label_count(results, name, label) -> tuple[int, int] | None:
    """(lines flagged, lines) of one label of one set, None when the set did not run."""
    for l in results["sets"].get(name, {}).get("labels", []):
        if l["label"] == label:
            return l["flagged_any"], l["rows"]
    return None


def _pooled_share(results, names, cat, hits, whole) -> tuple[int, int] | None:
    """Pooled (hits, whole) of one category over several sets (None when none of them ran)."""
    h = w = 0
    for name in names:
        c = results["sets"].get(name, {}).get("categories", {}).get(cat)
        if c:
            h += c[hits]
            w += c[whole]
    return (h, w) if w else None


def _pooled_recall(results, names, cat):
    return _pooled_share(results, names, cat, "tp", "positives")


def _pooled_benign_flagged(results, names):
    return _pooled_share(results, names, "any", "fp", "negatives")


def _pooled_benign_referred(results, names) -> tuple[int, int] | None:
    """Pooled (benign lines referred to human review, benign lines) over several sets."""
    referred = lines = 0
    for name in names:
        levels = results["sets"].get(name, {}).get("levels", {}).get("benign")
        if levels:
            referred += levels["review"]
            lines += sum(levels.values())
    return (referred, lines) if lines else None


SUITE_TEST = ("extremism_suite_test_en", "extremism_suite_test_nl")


def targets(results) -> list[dict]:
    out = []

    def add(what, measured, goal, ok, percent=False):
        """`measured` is a value, or (hits, lines) for a share, which also gets its interval;
        `ok` None reports the figure without a goal."""
        entry = {"target": what, "goal": goal, "percent": percent}
        if isinstance(measured, tuple):
            hits, lines = measured
            entry["hits"], entry["lines"] = hits, lines
            entry["interval_95"] = wilson_interval(hits, lines)
            measured = hits / lines
        entry["measured"] = measured
        entry["met"] = None if measured is None or ok is None else bool(ok(measured))
        out.append(entry)

    add("Multilingual HateCheck Dutch F1 (hateful vs non-hateful, any response, default policy)",
        _get(results, "mhc_dutch", "any", "f1"), ">= 0.81", lambda v: v >= 0.81)
    add("HateCheck EN F1 (hateful vs non-hateful, any response, default policy)",
        _get(results, "hatecheck_en", "any", "f1"), ">= 0.86", lambda v: v >= 0.86)
    add("GameTox held-out class 0 flagged (any response)", _label_count(results, "gametox_test", "0"),
        "<= 3 %", lambda v: v <= 0.03, True)
    add("CONDA valid class O flagged (any response)", _label_count(results, "conda_valid", "O"),
        "<= 3 %", lambda v: v <= 0.03, True)
    drop = results.get("robustness_pooled_any", {}).get("f1_drop_points")
    add("Obfuscated lines: pooled F1 drop (any response, all labelled held-out sets), points",
        drop, "<= 5", lambda v: v <= 5)
    drop_en = results.get("robustness_pooled_any_english_and_game", {}).get("f1_drop_points")
    add("Obfuscated lines: pooled F1 drop (any response, English and in-game sets), points",
        drop_en, "<= 5", lambda v: v <= 5)
    add("Deep tier latency at batch 32 (ms/message)", None, "<= 0.5", lambda v: v <= 0.5)
    en, nl = SUITE_TEST
    add("Extremism suite (test, EN): extremism recall (flagged for extremism)",
        _pooled_recall(results, [en], "extremism"), ">= 90 %", lambda v: v >= 0.90, True)
    add("Extremism suite (test, NL): extremism recall (flagged for extremism)",
        _pooled_recall(results, [nl], "extremism"), ">= 85 %", lambda v: v >= 0.85, True)
    add("Extremism suite (test, EN+NL pooled): threat recall (flagged for threat)",
        _pooled_recall(results, SUITE_TEST, "threat"), ">= 85 %", lambda v: v >= 0.85, True)
    for name, lang in ((en, "EN"), (nl, "NL")):
        add(f"Extremism suite (test, {lang}): threat recall (flagged for threat)",
            _pooled_recall(results, [name], "threat"), ">= 85 %", lambda v: v >= 0.85, True)
    add("Extremism suite (test, EN+NL pooled): contrast cases flagged (any response)",
        _pooled_benign_flagged(results, SUITE_TEST), "<= 5 %", lambda v: v <= 0.05, True)
    for name, lang in ((en, "EN"), (nl, "NL")):
        add(f"Extremism suite (test, {lang}): contrast cases flagged (any response)",
            _pooled_benign_flagged(results, [name]), "<= 5 %", lambda v: v <= 0.05, True)
    for name, lang in ((en, "EN"), (nl, "NL")):
        add(f"Extremism suite (test, {lang}): contrast cases referred to human review",
            _pooled_benign_referred(results, [name]), "report only", None, True)
    add("Dutch game-chat set (test) flagged (any response)",
        _pooled_benign_flagged(results, ["nl_game_chat_test"]), "<= 3 %", lambda v: v <= 0.03, True)
    for lang in ("EN", "NL"):
        add(f"Rough game chat ({lang}, written apart) flagged (any response)",
            _pooled_benign_flagged(results, [f"rough_game_chat_{lang.lower()}"]), "<= 3 %",
            lambda v: v <= 0.03, True)
    add("Benign game chat referred to human review (GameTox class 0, CONDA class O, Dutch "
        "game-chat test set, rough game chat EN and NL, pooled)",
        _pooled_benign_referred(results, ["gametox_test", "conda_valid", "nl_game_chat_test",
                                          "rough_game_chat_en", "rough_game_chat_nl"]),
        "report only", None, True)
    return out


def _f(x, pct=False):
    if x is None:
        return "–"
    return f"{100 * x:.1f} %" if pct else f"{x:.2f}"


def _interval(bounds) -> str:
    """A share's 95 % interval (low, high) as text, "–" without one."""
    if bounds is None:
        return "–"
    low, high = bounds
    return f"{100 * low:.1f}–{100 * high:.1f} %"


def functionality_table(results) -> list[str]:
    """Per functionality of the extremism suite: recall for attack groups, flagged for contrast."""
    suite = [n for n in results["sets"] if n.startswith("extremism_suite_") and results["sets"][n]["groups"]]
    if not suite:
        return []
    lines = [
        "", "## Extremism suite per functionality (default policy)", "",
        "Positive functionalities: recall = share flagged for the line's own category (extremism "
        "or threat). Contrast functionalities (label none): share given any response. The test "
        "part is for reporting only; the dev part may be tuned on; the check part (written apart, "
        "`apart_*`) is never trained on and was used to choose between builds; the blind part "
        "(`blind_*`, written after that choice) is for reporting only. The interval is the 95 % "
        "Wilson interval of the figure the functionality is judged by (recall for a positive "
        "one, any response for a contrast one): with 10 to 40 lines a group's share is a rough "
        "reading, and one line more or less moves it by several points.", "",
        "| set | functionality | label | lines | recall (own category) | any response | 95 % interval |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = _suite_functionality_labels()
    for name in suite:
        for g in results["sets"][name]["groups"]:
            label = labels.get(g["group"], "?")
            if label == "none":
                judged = _interval(wilson_interval(g["flagged_any"], g["benign"]))
            else:
                judged = _interval(wilson_interval(g["flagged_own_category"], g["positive"]))
            lines.append(f"| {name} | {g['group']} | {label} | {g['rows']:,} | "
                         f"{_f(g['own_category_recall'], True)} | {_f(g['flagged_any_rate'], True)} | {judged} |")
    return lines


def _suite_functionality_labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for split in SUITE_PARTS:
        path = SUITE / f"{split}.jsonl"
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    case = json.loads(line)
                    labels.setdefault(case[SUITE_GROUP], case["label"])
    return labels


def markdown(results) -> str:
    lines = [
        "# Held-out evaluation results",
        "",
        f"Fast tier `{results['model_version']}`, deep head in tree `{results['deep_head_version_in_tree']}`, "
        f"stance model in tree `{results.get('stance_version_in_tree')}` "
        f"(whether they ran is in `health`), policy `{results['policy']['version']}` "
        f"({results['policy']['origin']}), health: {results['health']['state']}. "
        f"Generated by `bash models/eval/run_all.sh` in {results['elapsed_seconds']} s; "
        "full figures (threshold sweeps included) in `results.json`.",
        "",
        f"Flagged: {results['flagged_definition']}",
        "",
        "## Targets",
        "",
        "A target is met or missed on the measured figure. For a share the table also gives the "
        "lines it counts and its 95 % Wilson interval: the range of true rates the lines are "
        "consistent with, so a reader can tell a clear miss from one within a line or two of "
        "the goal.",
        "",
        "| target | goal | measured | lines | 95 % interval | met |",
        "|---|---|---|---|---|---|",
    ]
    for t in results["targets"]:
        m = t["measured"]
        as_percent = t.get("percent") or "flagged" in t["target"]
        shown = "not measured" if m is None else (f"{100 * m:.1f} %" if as_percent else f"{m:.3g}")
        counted = f"{t['hits']:,} / {t['lines']:,}" if "lines" in t else "–"
        met = "–" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {t['goal']} | {shown} | {counted} | "
                     f"{_interval(t.get('interval_95'))} | {met} |")
    lines += [
        "",
        "## Per set and category (default policy)",
        "",
        "P / R / F1 / FPR at the policy's message-level thresholds; AUC of the combined score; "
        "best F1 = the best 0.05-grid threshold from the sweep (chosen on the test data itself, "
        "so optimistic: for orientation only).",
        "",
        "| set | category | pos / benign | P | R | F1 | FPR | AUC | best F1 (threshold) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in results["sets"].items():
        for cat in CATS:
            c = s["categories"].get(cat)
            if not c or c["positives"] == 0:
                continue
            b = c["best_sweep"]
            best = "–" if b is None else f"{b['f1']:.2f} ({b['threshold']:.2f})"
            lines.append(
                f"| {name} | {cat} | {c['positives']:,} / {c['negatives']:,} | {_f(c['precision'])} | "
                f"{_f(c['recall'])} | {_f(c['f1'])} | {_f(c['fpr'], True)} | {_f(c['roc_auc'])} | {best} |"
            )
    lines += ["", "## Benign lines flagged (any response)", "", "| set | label | rows | flagged |", "|---|---|---|---|"]
    for name, s in results["sets"].items():
        for l in s["labels"]:
            if l["target"] == "none":
                lines.append(f"| {name} | {l['label']} | {l['rows']:,} | {_f(l['flagged_any_rate'], True)} |")
    lines += functionality_table(results)
    lines += [
        "",
        "## Robustness: obfuscated copies of every held-out line",
        "",
        "Each line's words of 3+ letters are obfuscated (each with probability 0.5, at least one; "
        "leet, homoglyph, spacing or zero-width, fixed seed: `perturb.py`). F1 at the default policy.",
        "",
        "| set | variant | category | F1 clean | F1 obfuscated | drop (points) |",
        "|---|---|---|---|---|---|",
    ]
    for name, variants in results["robustness"].items():
        for variant, cats in variants.items():
            for cat, r in cats.items():
                if variant != "perturbed" and cat != "any":
                    continue
                drop = "–" if r["f1_drop_points"] is None else f"{r['f1_drop_points']:.1f}"
                lines.append(f"| {name} | {variant} | {cat} | {_f(r['f1_clean'])} | {_f(r['f1_perturbed'])} | {drop} |")
    for key, what in (("robustness_pooled_any", "all labelled sets"),
                      ("robustness_pooled_any_english_and_game", "English and in-game sets (no MHC)")):
        p = results[key]
        lines += ["", f"Pooled over {what} (any response, micro-averaged): F1 {_f(p['clean']['f1'])} clean, "
                  f"{_f(p['perturbed']['f1'])} obfuscated, drop {p['f1_drop_points']} points."]
    rows = results["perturbation"]["rows"]
    lines += ["", "Lines changed by the perturbation (lines without a word of 3+ letters stay as they are): "
              + ", ".join(f"{n} {v['changed']:,}/{v['rows']:,}" for n, v in rows.items()) + ".", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
