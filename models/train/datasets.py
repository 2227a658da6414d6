"""Loads the corpora under `shared/data` and maps their labels to the four Waypoint categories.

Every loader returns a DataFrame with columns `source`, `text` (raw) and one float column per
category: 1.0 positive, 0.0 negative, NaN = "this source says nothing reliable about this
category for this row" (the row is left out of that category's training and scoring). The
mapping table with its reasons is in `models/README.md` ("Training data and label mapping").
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT.parent / "shared" / "data"

CATEGORIES = ("insult", "hate", "threat", "extremism")
N = np.nan
SEED = 20250117
GAMETOX_TEST_FRACTION = 0.15

# Sources with no label for a category still say a *benign* row is negative for it; on rows that
# are positive for something else, the unlabelled category is unknown (NaN).


def _frame(source: str, texts, labels) -> pd.DataFrame:
    df = pd.DataFrame({"source": source, "text": [str(t) for t in texts]})
    arr = np.asarray(labels, dtype=np.float64).reshape(len(df), len(CATEGORIES))
    for i, c in enumerate(CATEGORIES):
        df[c] = arr[:, i]
    return df


def _read_csv(path: Path, **kw) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""], **kw)


# ---------------------------------------------------------------------------------------------
# GameTox (in-game, World of Tanks): the only in-game training set; 15 % held out for evaluation.

GAMETOX_MAP = {
    0: (0, 0, 0, 0),  # non-toxic: benign game chat, incl. "kill arty", "rush"
    1: (1, 0, 0, 0),  # insults & flaming
    2: (0, 0, 0, 0),  # other offensive: profanity not aimed at anyone ("wtf", "fuck this game")
    3: (N, 1, 0, 0),  # hate & harassment: slurs at people (also insulting: left unknown)
    4: (N, 0, 1, 0),  # threats ("kys", "i will kill you in real life")
    5: (N, N, 0, 1),  # extremism (nazi / glorification; noisy, 30 rows)
}


def _split_key(text: str) -> str:
    return " ".join(text.casefold().split())


def gametox_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """GameTox deduplicated on a normaliser-independent key (case-folded, whitespace squeezed),
    majority label per key (ties go to the higher class), then a stratified 85/15 split."""
    g = _read_csv(DATA / "gametox" / "gametox.csv")
    g = g.dropna(subset=["message", "label"])
    g["message"] = g["message"].astype(str)
    g["label"] = g["label"].astype(int)
    g["key"] = g["message"].map(_split_key)
    g = g[g["key"] != ""]
    counts = g.groupby(["key", "label"]).size().reset_index(name="n")
    counts = counts.sort_values(["key", "n", "label"], ascending=[True, False, False])
    best = counts.drop_duplicates("key").set_index("key")["label"]
    first_text = g.drop_duplicates("key").set_index("key")["message"]
    d = pd.DataFrame({"key": best.index, "label": best.values, "message": first_text[best.index].values})
    d = d.sort_values("key").reset_index(drop=True)
    rng = np.random.default_rng(SEED)
    test_mask = np.zeros(len(d), dtype=bool)
    for _, idx in d.groupby("label").groups.items():
        idx = np.sort(np.asarray(idx))
        k = max(1, int(round(len(idx) * GAMETOX_TEST_FRACTION)))
        test_mask[rng.choice(idx, size=k, replace=False)] = True
    out = []
    for part in (d[~test_mask], d[test_mask]):
        labels = [GAMETOX_MAP[int(l)] for l in part["label"]]
        f = _frame("gametox", part["message"], labels)
        f["group"] = "class_" + part["label"].astype(str).values
        out.append(f)
    return out[0], out[1]


# ---------------------------------------------------------------------------------------------
# Training-only sources.


DAVIDSON_MAP = {0: (N, 1, N, N), 1: (1, 0, N, 0), 2: (0, 0, 0, 0)}  # hate, offensive, neither


def davidson() -> pd.DataFrame:
    d = _read_csv(DATA / "davidson_hate_offensive" / "labeled_data.csv")
    return _frame("davidson", d["tweet"], [DAVIDSON_MAP[int(c)] for c in d["class"]])


HATEXPLAIN_MAP = {"normal": (0, 0, 0, 0), "offensive": (1, 0, N, 0), "hatespeech": (N, 1, N, N)}


def hatexplain_train() -> pd.DataFrame:
    d = _read_csv(DATA / "hatexplain" / "hatexplain_majority.csv")
    d = d[(d["split"] == "train") & d["label_name"].isin(list(HATEXPLAIN_MAP))]
    return _frame("hatexplain", d["text"], [HATEXPLAIN_MAP[l] for l in d["label_name"]])


GAB_RULE = "insult = vo, hate = hd, threat = cv, extremism = unknown if hd or cv else 0"


def _gab_labels(row) -> tuple:
    hd, cv, vo = int(row.hd), int(row.cv), int(row.vo)
    extremism = N if (hd or cv) else 0
    return (vo, hd, cv, extremism)


def gab_train() -> pd.DataFrame:
    d = _read_csv(DATA / "gab_hate_corpus" / "ghc_train.tsv", sep="\t", quoting=csv.QUOTE_MINIMAL)
    return _frame("gab", d["text"], [_gab_labels(r) for r in d.itertuples()])


IMPLICIT_STAGE1_MAP = {
    "not_hate": (0, 0, 0, 0),
    "implicit_hate": (N, 1, N, N),  # used when the post has no stage-2 label
    "explicit_hate": (N, 1, N, N),
}
IMPLICIT_STAGE2_MAP = {
    "incitement": (N, 1, 0, 1),  # promoting hate groups / ideologies: propaganda
    "white_grievance": (N, 1, 0, 1),  # "white genocide", replacement narratives
    "threatening": (N, 1, 1, N),
    "stereotypical": (N, 1, 0, 0),
    "inferiority": (N, 1, 0, 0),
    "irony": (N, 1, 0, 0),
    "other": (N, 1, N, N),
}


def implicit_hate() -> pd.DataFrame:
    base = DATA / "implicit_hate"
    s1 = _read_csv(base / "implicit_hate_v1_stg1_posts.tsv", sep="\t")
    s2 = _read_csv(base / "implicit_hate_v1_stg2_posts.tsv", sep="\t")
    fine = dict(zip(s2["post"].astype(str), s2["implicit_class"].astype(str)))
    labels = []
    for post, cls in zip(s1["post"].astype(str), s1["class"]):
        if cls == "not_hate":
            labels.append(IMPLICIT_STAGE1_MAP["not_hate"])
        elif post in fine and fine[post] in IMPLICIT_STAGE2_MAP:
            labels.append(IMPLICIT_STAGE2_MAP[fine[post]])
        else:  # explicit hate, or implicit without a stage-2 label
            labels.append(IMPLICIT_STAGE1_MAP[cls])
    return _frame("implicit_hate", s1["post"], labels)


# Stormfront "hate" sentences whose wording carries white-supremacist ideology (race-nation,
# antisemitic conspiracy, nazi symbols) are also extremism; other hate sentences leave
# extremism unknown. Matched on the raw, lower-cased sentence.
SUPREMACIST_MARKERS = re.compile(
    r"\b(white (race|nation\w*|homeland|genocide|power|pride|survival|children|women|man|men|"
    r"people|folk|europe\w*|countr\w*|societ\w*)|whites|non-?whites?|aryan\w*|zog|zionis\w*|"
    r"jew\w*|judeo\w*|race[- ]?traitors?|racial\w*|our (race|people|folk|kind|blood)|heil|"
    r"hitler|nazi\w*|national socialis\w*|14 ?words|1488|rahowa|kikes?|mud ?races?)\b"
)


STORMFRONT_MAP = {
    "noHate": (0, 0, 0, 0),
    "hate+marker": (N, 1, N, 1),
    "hate": (N, 1, N, N),
}


def stormfront() -> pd.DataFrame:
    d = _read_csv(DATA / "stormfront_vicomtech" / "stormfront_sentences.csv")
    d = d[d["label"].isin(["hate", "noHate"])]
    labels = []
    for text, label in zip(d["text"].astype(str), d["label"]):
        if label == "hate" and SUPREMACIST_MARKERS.search(text.lower()):
            label = "hate+marker"
        labels.append(STORMFRONT_MAP[label])
    return _frame("stormfront", d["text"], labels)


# HS=0 tweets include much non-hateful abuse, so insult is unknown for every row.
HATEVAL_MAP = {1: (N, 1, N, N), 0: (N, 0, 0, 0)}


def hateval() -> pd.DataFrame:
    parts = [
        _read_csv(DATA / "hateval2019_en" / f"hateval2019_en_{s}.csv") for s in ("train", "dev")
    ]
    d = pd.concat(parts, ignore_index=True)
    return _frame("hateval", d["text"], [HATEVAL_MAP[int(h)] for h in d["HS"]])


OLID_MAP = {
    "NOT": (0, 0, 0, 0),
    "OFF/UNT": (N, 0, N, 0),  # untargeted profanity: not an insult at someone
    "OFF/TIN/IND": (1, 0, N, 0),
    "OFF/TIN/GRP": (N, N, N, N),  # offence at a group: may or may not be hate
    "OFF/TIN/OTH": (N, 0, N, 0),  # organisation, event, issue
}


def olid() -> pd.DataFrame:
    path = DATA / "olid_offenseval2019" / "olid-training-v1.0.tsv"
    with open(path, encoding="utf-8", errors="replace") as fh:
        d = pd.read_csv(fh, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False)
    labels = []
    for a, b, c in zip(d["subtask_a"], d["subtask_b"], d["subtask_c"]):
        key = "NOT" if a == "NOT" else ("OFF/UNT" if b == "UNT" else f"OFF/TIN/{c}")
        labels.append(OLID_MAP.get(key, OLID_MAP["OFF/TIN/OTH"]))
    return _frame("olid", d["tweet"], labels)


RADICAL_TT_MAP = {"radical": (0, 0, 0, 0), "non_radical": (0, 0, 0, 0)}


def radical_tt() -> pd.DataFrame:
    """Weak hashtag labels (ISIS news / counter-terrorism vs cricket): all rows are negatives."""
    d = _read_csv(DATA / "radical_tt_weak" / "radical_tt_tweets.csv")
    d = d[d["label"].isin(["radical", "non_radical"]) & (d["lang"] == "en")]
    return _frame("radical_tt", d["text"], [RADICAL_TT_MAP[l] for l in d["label"]])


def label_mapping() -> dict:
    """The mapping tables as JSON-ready data: [insult, hate, threat, extremism], null = unknown."""

    def conv(table: dict) -> dict:
        return {str(k): [None if np.isnan(v) else int(v) for v in np.asarray(t, dtype=float)]
                for k, t in table.items()}

    return {
        "categories": list(CATEGORIES),
        "gametox": conv(GAMETOX_MAP),
        "davidson": conv(DAVIDSON_MAP),
        "hatexplain_train": conv(HATEXPLAIN_MAP),
        "gab_train": GAB_RULE,
        "implicit_hate_stage1": conv(IMPLICIT_STAGE1_MAP),
        "implicit_hate_stage2": conv(IMPLICIT_STAGE2_MAP),
        "stormfront": conv(STORMFRONT_MAP),
        "stormfront_marker_pattern": SUPREMACIST_MARKERS.pattern,
        "hateval_train_dev_HS": conv(HATEVAL_MAP),
        "olid": conv(OLID_MAP),
        "radical_tt_en": conv(RADICAL_TT_MAP),
    }


TRAIN_LOADERS = {
    "davidson": davidson,
    "hatexplain": hatexplain_train,
    "gab": gab_train,
    "implicit_hate": implicit_hate,
    "stormfront": stormfront,
    "hateval": hateval,
    "olid": olid,
    "radical_tt": radical_tt,
}


def training_sources(gametox_train: pd.DataFrame) -> pd.DataFrame:
    """All training rows (GameTox train part + the other sources), in a fixed order."""
    frames = [gametox_train.drop(columns=["group"])]
    frames += [TRAIN_LOADERS[k]() for k in TRAIN_LOADERS]
    out = pd.concat(frames, ignore_index=True)
    out = out[out["text"].str.strip() != ""].reset_index(drop=True)
    return out


# ---------------------------------------------------------------------------------------------
# Held-out evaluation sets (never trained on). Columns as above plus `group`.


def _eval(name: str, texts, labels, groups=None) -> pd.DataFrame:
    f = _frame(name, texts, labels)
    f["group"] = list(groups) if groups is not None else ""
    return f


def hatecheck_en() -> pd.DataFrame:
    d = _read_csv(DATA / "hatecheck_en" / "test_suite_cases.csv")
    labels = []
    for func, gold in zip(d["functionality"], d["label_gold"]):
        hateful = gold == "hateful"
        threat = 1 if func.startswith("threat_") else (0 if not hateful else N)
        labels.append((N, 1 if hateful else 0, threat, N))
    return _eval("hatecheck_en", d["test_case"], labels, d["functionality"])


MHC_LANGUAGES = (
    "arabic", "dutch", "french", "german", "hindi",
    "italian", "mandarin", "polish", "portuguese", "spanish",
)


def mhc(lang: str) -> pd.DataFrame:
    d = _read_csv(DATA / "multilingual_hatecheck" / f"hatecheck_cases_final_{lang}.csv")
    labels = []
    for func, gold in zip(d["functionality"], d["label_gold"]):
        hateful = gold == "hateful"
        threat = 1 if func.startswith("threat_") else (0 if not hateful else N)
        labels.append((N, 1 if hateful else 0, threat, N))
    return _eval(f"mhc_{lang}", d["test_case"], labels, d["functionality"])


def hatecheck_nl() -> pd.DataFrame:
    d = _read_csv(DATA / "hatecheck_nl" / "hatecheck-nl.csv")
    labels = [(N, 1 if g == "hateful" else 0, N, N) for g in d["label_gold"]]
    return _eval("hatecheck_nl", d["test_case"], labels, d["functionality"])


def conda() -> pd.DataFrame:
    """CONDA train+valid (the test file is unlabelled). E/I toxic, O benign, A (actions) left out.
    Toxicity maps to `insult`; hate/threat/extremism are not annotated."""
    base = DATA / "conda_dota2"
    d = pd.concat([_read_csv(base / f"CONDA_{s}.csv") for s in ("train", "valid")], ignore_index=True)
    d = d[d["intentClass"].isin(["E", "I", "O"])]
    texts = d["utterance"].astype(str).str.replace(r"\s*\[SEPA\]\s*", " ", regex=True)
    labels = [(1, N, N, N) if c in ("E", "I") else (0, 0, 0, 0) for c in d["intentClass"]]
    return _eval("conda_dota2", texts, labels, d["intentClass"])


def gosu() -> pd.DataFrame:
    d = _read_csv(DATA / "gosu_dota2_tagged" / "tagged-data.csv")
    d = d.dropna(subset=["text"])
    labels = [(1, N, N, N) if int(t) > 0 else (0, 0, 0, 0) for t in d["target"]]
    return _eval("gosu_dota2", d["text"], labels, d["target"].astype(str))


def toxigen_seed() -> pd.DataFrame:
    d = _read_csv(DATA / "toxigen_seed" / "toxigen_seed_sentences.csv")
    labels = [(N, 1, N, N) if l == "hate" else (0, 0, 0, 0) for l in d["label"]]
    return _eval("toxigen_seed", d["text"], labels, d["target_group"])


def ethos() -> pd.DataFrame:
    base = DATA / "ethos"
    b = _read_csv(base / "Ethos_Dataset_Binary.csv", sep=";")
    m = _read_csv(base / "Ethos_Dataset_Multi_Label.csv", sep=";")
    violence = dict(zip(m["comment"].astype(str), m["violence"].astype(float)))
    labels = []
    for text, is_hate in zip(b["comment"].astype(str), b["isHate"].astype(float)):
        if is_hate < 0.5:
            labels.append((N, 0, 0, N))
        else:
            v = violence.get(text)
            threat = N if v is None else (1 if v >= 0.5 else 0)
            labels.append((N, 1, threat, N))
    return _eval("ethos", b["comment"], labels)


def hatexplain_test() -> pd.DataFrame:
    d = _read_csv(DATA / "hatexplain" / "hatexplain_majority.csv")
    d = d[d["split"] == "test"]
    m = {"normal": (0, 0, 0, 0), "offensive": (1, 0, N, 0), "hatespeech": (N, 1, N, N)}
    d = d[d["label_name"].isin(list(m))]
    return _eval("hatexplain_test", d["text"], [m[l] for l in d["label_name"]], d["label_name"])


def gab_test() -> pd.DataFrame:
    d = _read_csv(DATA / "gab_hate_corpus" / "ghc_test.tsv", sep="\t", quoting=csv.QUOTE_MINIMAL)
    return _eval("gab_test", d["text"], [_gab_labels(r) for r in d.itertuples()])


def hateval_test() -> pd.DataFrame:
    d = _read_csv(DATA / "hateval2019_en" / "hateval2019_en_test.csv")
    labels = [(N, 1, N, N) if int(h) else (N, 0, 0, 0) for h in d["HS"]]
    return _eval("hateval_test", d["text"], labels)


def _lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return [l.rstrip("\n") for l in fh if l.strip()]


STANCE_LINES = REPO_ROOT / "models" / "train" / "stance" / "lines.tsv"
# Writers' groups in `stance/lines.tsv` whose endorsing lines are hate against protected groups;
# every other group's endorsing lines are violent extremism, attacks or threats.
STANCE_HATE_GROUPS = ("hate_en", "hate_nl")


def stance_lines() -> list[tuple[str, str, str]]:
    """`models/train/stance/lines.tsv` as (stance, group, text) rows: stance `endorse` or `not`,
    the writers' group; `#` lines are comments."""
    rows = []
    for n, line in enumerate(STANCE_LINES.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        stance, group, text = line.split("\t")
        if stance not in ("endorse", "not"):
            raise ValueError(f"{STANCE_LINES}:{n}: unknown stance {stance!r}")
        rows.append((stance, group, text))
    return rows


NL_GAME_CHAT_TRAIN = REPO_ROOT / "models" / "eval" / "nl_game_chat" / "train.txt"
# Every NL_GAME_CHAT_DEV_EVERY-th line of the training file is held back as a dev part (an
# evaluation row thresholds may be tuned on); the rest are hard negatives for the deep head.
NL_GAME_CHAT_DEV_EVERY = 3


def nl_game_chat_split() -> tuple[list[str], list[str]]:
    """The Dutch game-chat training file (benign lines) as (training lines, dev lines).

    `models/eval/nl_game_chat/test.txt` is never read here: it is evaluation only."""
    lines = [l.strip() for l in _lines(NL_GAME_CHAT_TRAIN)]
    dev = [l for i, l in enumerate(lines) if i % NL_GAME_CHAT_DEV_EVERY == NL_GAME_CHAT_DEV_EVERY - 1]
    train = [l for i, l in enumerate(lines) if i % NL_GAME_CHAT_DEV_EVERY != NL_GAME_CHAT_DEV_EVERY - 1]
    return train, dev


def rustrict_benign() -> pd.DataFrame:
    base = DATA / "rustrict_testsets"
    texts = _lines(base / "safe.txt") + _lines(base / "test_safe.txt") + _lines(base / "test_negative.txt")
    groups = (["safe"] * len(_lines(base / "safe.txt")) + ["test_safe"] * len(_lines(base / "test_safe.txt"))
              + ["test_negative"] * len(_lines(base / "test_negative.txt")))
    return _eval("rustrict_benign", texts, [(0, 0, 0, 0)] * len(texts), groups)


def rustrict_profane() -> pd.DataFrame:
    """Profane / obfuscated strings: not all are insults, so only the `any` flag rate is reported."""
    texts = _lines(DATA / "rustrict_testsets" / "test_positive.txt")
    return _eval("rustrict_profane", texts, [(N, N, N, N)] * len(texts))


def eval_sets(gametox_test: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every held-out evaluation set by name, in a fixed order."""
    sets = {"gametox_test": gametox_test.assign(source="gametox_test")}
    sets["hatecheck_en"] = hatecheck_en()
    for lang in MHC_LANGUAGES:
        sets[f"mhc_{lang}"] = mhc(lang)
    sets["hatecheck_nl"] = hatecheck_nl()
    sets["conda_dota2"] = conda()
    sets["gosu_dota2"] = gosu()
    sets["toxigen_seed"] = toxigen_seed()
    sets["ethos"] = ethos()
    sets["hatexplain_test"] = hatexplain_test()
    sets["gab_test"] = gab_test()
    sets["hateval_test"] = hateval_test()
    sets["rustrict_benign"] = rustrict_benign()
    sets["rustrict_profane"] = rustrict_profane()
    return {k: v[v["text"].str.strip() != ""].reset_index(drop=True) for k, v in sets.items()}
