#!/usr/bin/env python3
"""Write the deep tier's golden cases: token ids from the ORIGINAL tokenizer op, and embeddings.

Usage: python3 models/deep/make_golden.py [--cache DIR] [--out FILE] [--extra TEXTS]

Needs `python3 models/fetch.py` first (it extracts and prepares `<cache>/encoder/`). For every
case this script:

- runs the original, unmodified `SentencepieceTokenizer` node of the shipped model (the node
  copied with its attributes and constant inputs into a one-node graph) under ONNX Runtime with
  onnxruntime-extensions, which is what the shipped model does, and records its ids;
- cross-checks them against the `sentencepiece` Python package with BOS/EOS added and fails on
  any difference;
- for the cases marked `embed`, runs the prepared `encoder.onnx` on those ids and checks that
  its output equals the original model's output on the raw text, then records the first 8
  dimensions and the norm.

Each output line is JSON: {"text", "ids", "embedding_head"?, "norm"?, "batch_embedding_head"?}.
`embedding_head` and `norm` are for the text embedded alone; `batch_embedding_head` for the text
embedded in one batch with all the embedding cases, in file order (the int8 model quantises
activations per batch, so the two differ slightly). The Rust embedding test compares both. The default output is the committed
`models/deep/golden_tokens.jsonl`; `--extra TEXTS` (one text per line) writes ids for those texts
instead, for a larger differential check (`WAYPOINT_TOKENIZER_GOLDEN=FILE cargo test ...`).

The Python packages it needs are installed, pinned, into `<cache>/pydeps-golden/` with pip.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prepare_encoder  # noqa: E402  (models/deep/prepare_encoder.py: its pins and pinned installs)

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_CACHE = REPO / ".cache" / "waypoint"
DEFAULT_OUT = REPO / "models" / "deep" / "golden_tokens.jsonl"

# The encoder preparation's pins, plus what running the original tokenizer op needs.
PYDEPS = prepare_encoder.PYDEPS + [
    "onnxruntime==1.32.0",
    "flatbuffers==25.12.19",
    "packaging==26.3",
    "onnxruntime-extensions==0.15.2",
    "sentencepiece==0.2.3",
]

# Sentences whose embeddings are recorded (and English/Dutch paraphrase pairs for the Rust test).
EMBED = [
    "You played really well today, thanks for the carry!",
    "Je hebt vandaag echt goed gespeeld, bedankt voor het dragen!",
    "I will find where you live and hurt you.",
    "Ik ga uitzoeken waar je woont en je pijn doen.",
    "The weather is sunny and the market sells fresh bread.",
    "gg wp",
    "",
    "k1ll y0ur$elf n00b",
]

ENGLISH = [
    "Hello world", "hello world", "HELLO WORLD", "gg", "gg ez", "gg wp", "glhf", "noob", "uninstall the game",
    "you're trash at this game", "nice shot!", "who wants to queue ranked?", "lag lag lag", "brb 5 min",
    "I'm going to kill you in the next round", "that boss fight was insane", "stop feeding mid",
    "report our jungler pls", "he's literally throwing", "can someone carry me", "let's go team!!!",
    "you people are all the same", "go back to your country", "I hate mondays", "kill the dragon first",
    "headshot!", "what a clutch", "omg lol", "LMAO", "wtf was that", "idiot", "you absolute muppet",
    "nobody asked", "touch grass", "ratio", "the 14 words", "1488", "88", "((( them )))", "white power",
    "great replacement is coming", "day of the rope", "I'm going to shoot up the school",
    "we should bomb them all", "Thanks for the game, everyone.", "Don't be toxic, it's just a game.",
    "Can't wait for the update tomorrow.", "Is this server EU or NA?", "buy gold cheap at www.example.com",
    "She said: \"no way\" — and left.", "It's 5 o'clock; time's up!", "e-mail me at a.b@c.d",
    "C++ vs. Rust?", "3.14159 and 2,718", "100% legit", "$$$ money $$$", "#1 player", "@everyone",
    "A man, a plan, a canal: Panama.", "The quick brown fox jumps over the lazy dog.",
    "don't", "won't", "y'all", "ya'll", "o'clock", "rock'n'roll", "self-destruct", "co-op", "re-queue",
]

DUTCH = [
    "Hallo wereld", "goed gespeeld", "wat een noob", "je bent echt slecht in dit spel", "kanker op",
    "rot op naar je eigen land", "ik maak je af", "ik ga je vermoorden", "lekker bezig!", "gefeliciteerd",
    "jullie zijn allemaal hetzelfde", "doe normaal", "wat een sukkel", "mongool", "tyfus", "tering",
    "ik haat maandagen", "wie wil er ranked spelen?", "bedankt voor het potje", "sorry, mijn fout",
    "Het weer is mooi vandaag.", "Zullen we straks nog een potje doen?", "Ik heb geen zin meer.",
    "Ze zeggen dat ze onze cultuur vervangen.", "Alle moslims zijn terroristen.", "Vrouwen horen in de keuken.",
    "Ik ben het niet eens met wat je zegt, maar haat is nooit oké.", "één, twee, drie", "ruïne", "coördinatie",
    "geïnteresseerd", "naïef", "Curaçao", "ijsje", "IJsselmeer", "'s avonds", "zo'n", "auto's", "d'r",
    "Kun je me helpen met deze quest?", "jij bent een grote loser", "stop met trollen",
    "ik rapporteer je", "wat een kutspel", "gewoon een spelletje, rustig aan",
]

OTHER = [
    "Guten Tag, wie geht's?", "Straße", "Bonjour, ça va ?", "¿Dónde está la biblioteca?", "Olá, tudo bem?",
    "Ciao, come stai?", "Cześć, jak się masz?", "Привет, как дела?", "Merhaba, nasılsın?", "مرحبا كيف حالك",
    "שלום מה שלומך", "你好，你好吗？", "こんにちは、お元気ですか？", "안녕하세요 잘 지내세요?", "สวัสดีครับ",
    "नमस्ते आप कैसे हैं", "Γειά σου", "Здравей", "Xin chào", "Selamat pagi", "漢字かな交じり文",
    "ｶﾀｶﾅ", "ﾊﾟﾝﾀﾞ", "Ærøskøbing", "Ångström", "naïve façade", "Dvořák", "İstanbul", "ǅ ǈ ǋ",
]

EMOJI = [
    "😀", "😀😀", "😀 x", "gg 😂😂😂", "❤️", "👍🏽", "👨‍👩‍👧‍👦", "🇳🇱", "🏳️‍🌈", "☠️", "🔪🔪", "💀 lol", "🙏",
    "🧌🫨 rare", "a😀b", "🤡🤡🤡 clown", "✌", "★☆", "→←", "♥♦♣♠",
]

LEET = [
    "k1ll y0urs3lf", "k!ll yourself", "n00b", "1d10t", "@ss", "a$$hole", "sh1t", "f*ck", "f u c k", "k y s",
    "kys", "h8", "n!gg@", "fag", "r3t4rd", "l0s3r", "st00pid", "ur m0m", "g0 d!e", "5ucks", "8ad", "7h3 3nd",
]

CONFUSABLES = [
    "ｆｕｌｌｗｉｄｔｈ ①", "ⅰⅱ café", "Неllо wоrld", "ѕtupіd", "𝐛𝐨𝐥𝐝", "𝓈𝒸𝓇𝒾𝓅𝓉", "𝔣𝔯𝔞𝔨𝔱𝔲𝔯", "ⓒⓘⓡⓒⓛⓔ",
    "ᴛɪɴʏ ᴄᴀᴘs", "ｈａｔｅ", "k\u0456ll", "i\u0307", "ﬁ ﬂ ﬀ", "½ ¼ ²³", "№ ℡ ™", "㍿ ㌔", "Ⅻ", "ǆ", "µ", "Å",
    "e\u0301", "é", "ñ", "n\u0303", "z\u0335a\u0337l\u0336g\u0334o\u0338", "h\u0336a\u0336t\u0336e",
]

WHITESPACE = [
    "", " ", "   ", "\t", "\n", "\r\n", " \t \n ", "\u00a0", "\u3000", "\u2003", "\u200b", "\u200b\u200b",
    "\ufeff", "a\u200bb", "a\u200cb", "a\u200db", "a\u00adb", "\u202eevil\u202c", "a\u2060b",
    "  leading", "trailing  ", "  both  ", "in   between", "tab\tseparated", "new\nline", "a \u00a0 b",
    "a\u3000b", "\u2028x\u2029", "x\u0085y",
]

PUNCTUATION = [
    ".", "...", "!!!", "???", "?!", "…", "—", "–", "-", "_", "__init__", "----", "!!!!!!!!!!!!!!!!", ",,,",
    "(", ")", "[]", "{}", "<>", "<<<>>>", "\"\"", "''", "``", "´", "¨", "~", "^", "|", "\\", "/", "//", "*",
    "&", "%", "#", "@", "«quote»", "„Anführungszeichen“", "「括弧」", "、。", "¿¡", "·", "•", "§", "¶",
]

SPECIAL = [
    "extra_token_id_1", "extra_token_id_1 hi", "extra_token_id_2extra_token_id_3", "xextra_token_id_1",
    "<s>", "</s>", "<unk>", "▁", "▁▁", "▁hello", "a▁b", "\u2581 \u2581", "\x01\x02", "a\x7fb", "\ufffd",
    "\U000e0041", "\U0010fffd", "\ue000", "a\x00b", "\x00abc", "abc\x00",
    # Equal-scoring segmentations: the op and newer sentencepiece releases break these ties differently.
    # Repeated letters and punctuation, common in game chat, are where such ties occur.
    "Ahahaha [SEPA] GGWP", "guys def!!!!!", ":DDDDDDD", "xddd", "sorry xddddddd", "winnnnnnnnn!!!!!!!!!!!!!",
    "xddddd", "can i do fadin please????", "XDDD", "m41 nobbbbbbbbbbbbbbbbbbbbbbb",
]


def long_cases() -> list[str]:
    return [
        "gg " * 300,
        "a" * 1000,
        "😀" * 200,
        "Dit is een lange zin over niets in het bijzonder. " * 20,
        " ".join(["word"] * 500),
        "x" * 5000,
        "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
    ]


def random_cases(count: int) -> list[str]:
    """Seeded random strings mixing scripts, digits, marks, spaces and compatibility characters."""
    rng = random.Random(20240611)
    ranges = [
        (0x20, 0x7E), (0xA0, 0x17F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF),
        (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0x2000, 0x206F), (0x2100, 0x218F),
        (0x2460, 0x24FF), (0x3000, 0x30FF), (0x3200, 0x33FF), (0x4E00, 0x4E80), (0xAC00, 0xAC80),
        (0xFB00, 0xFB4F), (0xFE30, 0xFE6F), (0xFF00, 0xFFEF), (0x1D400, 0x1D7FF), (0x1F300, 0x1F6FF),
    ]
    out = []
    for _ in range(count):
        chars = []
        for _ in range(rng.randint(1, 24)):
            lo, hi = rng.choice(ranges)
            cp = rng.randint(lo, hi)
            if 0xD800 <= cp <= 0xDFFF:
                continue
            chars.append(chr(cp))
            if rng.random() < 0.2:
                chars.append(" ")
        out.append("".join(chars))
    return out


def all_cases() -> list[str]:
    cases = [*EMBED, *ENGLISH, *DUTCH, *OTHER, *EMOJI, *LEET, *CONFUSABLES, *WHITESPACE, *PUNCTUATION, *SPECIAL]
    cases += long_cases() + random_cases(60)
    seen, unique = set(), []
    for case in cases:
        if case not in seen:
            seen.add(case)
            unique.append(case)
    return unique


def install(cache: Path) -> None:
    try:
        prepare_encoder.install_pinned(cache / "pydeps-golden", PYDEPS, "golden", no_deps=True)
    except prepare_encoder.PrepareError as e:
        sys.exit(f"golden: {e}")


def tokenizer_session(onnx, ort, extensions_library: str, original):
    """A session running only the original tokenizer node, with its own attributes and constants."""
    from onnx import TensorProto, helper  # noqa: PLC0415

    op = original.graph.node[0]
    if op.op_type != "SentencepieceTokenizer":
        sys.exit("golden: the first node is not the SentencepieceTokenizer op")
    inits = {i.name: i for i in original.graph.initializer}
    graph = helper.make_graph(
        [op],
        "tokenizer",
        [helper.make_tensor_value_info(op.input[0], TensorProto.STRING, [None])],
        [
            helper.make_tensor_value_info(op.output[0], TensorProto.INT32, [None]),
            helper.make_tensor_value_info(op.output[1], TensorProto.INT64, [None]),
        ],
        initializer=[inits[n] for n in sorted(set(op.input[1:]))],
    )
    model = helper.make_model(graph, opset_imports=list(original.opset_import))
    model.ir_version = original.ir_version
    options = ort.SessionOptions()
    options.register_custom_ops_library(extensions_library)
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("WAYPOINT_CACHE_DIR", DEFAULT_CACHE)))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--extra", type=Path, help="a file of texts, one a line, to write ids for instead")
    args = parser.parse_args()
    encoder_dir = args.cache / "encoder"
    if not (encoder_dir / "encoder.onnx").is_file():
        sys.exit(f"golden: {encoder_dir}/encoder.onnx is missing; run `python3 models/fetch.py` first")

    install(args.cache)
    import numpy as np  # noqa: PLC0415
    import onnx  # noqa: PLC0415
    import onnxruntime as ort  # noqa: PLC0415
    import sentencepiece as spm  # noqa: PLC0415
    from onnxruntime_extensions import get_library_path  # noqa: PLC0415

    original = onnx.load(str(encoder_dir / "embedding_model_quantized.onnx"))
    tokenizer = tokenizer_session(onnx, ort, get_library_path(), original)
    processor = spm.SentencePieceProcessor(model_file=str(encoder_dir / "sentencepiece.model"))

    if args.extra:
        texts = [line.rstrip("\n") for line in args.extra.read_text(encoding="utf-8").splitlines()]
        embed = set()
        out = args.out or Path("golden_extra.jsonl")
    else:
        texts = all_cases()
        embed = set(EMBED)
        out = args.out or DEFAULT_OUT

    ids_list = []
    for start in range(0, len(texts), 256):
        chunk = texts[start : start + 256]
        ids, splits = tokenizer.run(None, {op_input_name(original): np.array(chunk, dtype=object)})
        ids_list += [ids[splits[i] : splits[i + 1]].tolist() for i in range(len(chunk))]

    # The op (sentencepiece 0.1.x inside onnxruntime-extensions) is the reference. Newer
    # sentencepiece releases break exact ties between equal-scoring segmentations differently
    # (e.g. '<<<>>>', 'xddddd'): such differences are reported; any other difference fails.
    ties = mismatches = 0
    for text, ids in zip(texts, ids_list):
        # The op hands each text to SentencePiece as a C string: it ends at the first NUL.
        reference = [processor.bos_id(), *processor.encode(text.split("\0")[0]), processor.eos_id()]
        if ids == reference:
            continue
        score = lambda seq: sum(processor.get_score(i) for i in seq)  # noqa: E731
        if abs(score(ids) - score(reference)) < 1e-4:
            ties += 1
            print(f"golden: note: tie broken differently by sentencepiece {spm.__version__} on {text!r}",
                  file=sys.stderr)
        else:
            mismatches += 1
            print(f"golden: op and sentencepiece differ on {text!r}: {ids} vs {reference}", file=sys.stderr)

    embeddings = {}
    if embed:
        options = ort.SessionOptions()
        options.register_custom_ops_library(get_library_path())
        full = ort.InferenceSession(str(encoder_dir / "embedding_model_quantized.onnx"), options,
                                    providers=["CPUExecutionProvider"])
        stripped = ort.InferenceSession(str(encoder_dir / "encoder.onnx"), providers=["CPUExecutionProvider"])
        chosen = [t for t in texts if t in embed]
        chosen_ids = [ids_list[texts.index(t)] for t in chosen]

        def run_stripped(batch_ids):
            splits = np.cumsum([0] + [len(i) for i in batch_ids]).astype(np.int64)
            flat = np.array([i for ids in batch_ids for i in ids], dtype=np.int32)
            return stripped.run(None, {"token_ids": flat, "row_splits": splits})[0]

        # The model quantises activations per tensor at run time (DynamicQuantizeLinear), so a
        # text's embedding depends slightly on the rest of its batch: record it alone and as part
        # of the batch of all embedding cases, in order.
        batch = run_stripped(chosen_ids)
        theirs = full.run(None, {"inputs": np.array(chosen, dtype=object)})[0]
        diff = float(np.abs(batch - theirs).max())
        for text, ids in zip(chosen, chosen_ids):
            alone = run_stripped([ids])[0]
            alone_theirs = full.run(None, {"inputs": np.array([text], dtype=object)})[0][0]
            diff = max(diff, float(np.abs(alone - alone_theirs).max()))
            embeddings[text] = (alone, batch[chosen.index(text)])
        print(f"golden: stripped vs original model, max abs difference {diff:.3g}", file=sys.stderr)
        if diff > 1e-5:
            sys.exit("golden: the stripped model does not reproduce the original")

    with out.open("w", encoding="utf-8") as f:
        for text, ids in zip(texts, ids_list):
            record = {"text": text, "ids": ids}
            if text in embeddings:
                alone, in_batch = embeddings[text]
                record["embedding_head"] = [round(float(x), 7) for x in alone[:8]]
                record["norm"] = round(float(np.linalg.norm(alone.astype(np.float64))), 7)
                record["batch_embedding_head"] = [round(float(x), 7) for x in in_batch[:8]]
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"golden: wrote {len(texts)} cases to {out}; versus the sentencepiece package: {ties} ties broken "
          f"differently, {mismatches} other differences", file=sys.stderr)
    return 1 if mismatches else 0


def op_input_name(original) -> str:
    return original.graph.node[0].input[0]


if __name__ == "__main__":
    sys.exit(main())
