"""Golden feature vectors shared by the Python and Rust featurisers.

`models/fast/golden_features.jsonl` holds one `{"text", "indices", "values"}` object per line;
`sdk/waypoint/tests/golden_features.rs` checks that Rust produces the same indices exactly and
values within 1e-6.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from featurize import featurize

HAND_WRITTEN = [
    # empty and whitespace-only
    "", " ", "   ", "\t", " a ", "a  b", "  leading", "trailing  ",
    # ordinary game chat
    "gg", "gg wp", "glhf", "kill the healer", "camp b", "nice headshot", "push mid now",
    "rush their arty", "dont die pls", "spot pls", "who is tanking", "i will carry you guys",
    "report our jungler", "ez", "noob team", "you are so bad at this game", "uninstall",
    "go back to bronze", "thanks for the heal", "can we surrender", "afk 2 min", "brb",
    "lol", "lmao", "wtf was that", "ff at 20", "heal me pls", "reload", "defend a site",
    # upper case, digits, leet, codes
    "GG EZ", "NOOB", "n00b", "h4x0r", "1488", "88", "14 words", "l33t sp34k 1s c00l",
    "123 456 7890", "3.14159", "x2", "2v2", "1v1 me bro", "a1b2c3",
    # accents and combining marks
    "café", "naïve", "résumé", "über", "straße", "ñandú", "crème brûlée", "smørrebrød",
    "e\u0301", "a\u0308\u0304", "zalgo z\u0336\u0337a\u0334", "ångström", "çava", "dziękuję",
    "jalapeño", "élève", "Ærøskøbing", "İstanbul", "ﬁnance", "ǅungla",
    # emoji (single, ZWJ sequences, flags, skin tones, keycaps)
    "🙂", "gg 🙂", "😂😂😂", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🏳\ufe0f\u200d🌈", "🇳🇱 🇬🇧",
    "1\ufe0f\u20e3", "🔥 nice 🔥", "💀", "🤡 team", "❤️", "🎮🕹️", "🐐",
    # other scripts
    "日本語", "你好 世界", "中文 测试 一二三", "カタカナ ひらがな", "한국어 채팅", "привет всем",
    "иди нахуй", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีครับ", "Γειά σου Κόσμε",
    "ქართული", "Հայերեն", "𝕳𝖊𝖑𝖑𝖔", "𐍈𐌰𐌿𐍃", "漢字かな混じり文", "ㅋㅋㅋㅋ",
    # punctuation-only and stripping edge cases
    ".", "...", "!!!", "?!", "()", "[]", "{}", "<>", "*_~`", "'\"", ".,!?;:\"'()[]{}<>*_~`",
    "'quoted'", "\"double\"", "(paren)", "[bracket]", "{brace}", "<angle>", "*bold*", "_under_",
    "~strike~", "`code`", "a.b", "don't", "a--b", "...wait...", "hi!!! there???", "-dash-",
    "#hashtag", "@mention", "http://example.invalid/path?q=1", "e-mail@example.invalid",
    "$100", "50%", "a/b", "c++", "c#", "(a)(b)", "<<a>>", "'", "a'", "'a", "\\", "|", "^^",
    ":)", ":-(", ";)", "<3", "xD", "o_O", "\u200b", "a\u200bb", "\u00a0", "a\u00a0b",
    # repeated tokens and characters
    "gg gg gg gg gg gg gg gg", " ".join(["ez"] * 50), "a" * 30, "aaaaa bbbbb aaaaa",
    "ha" * 20, "no no no no", "kill kill kill", " ".join(["a", "b"] * 25),
    # sentences
    "the quick brown fox jumps over the lazy dog",
    "we should meet at the bridge and then flank left",
    "you played really well, thanks for the game!",
    "why would you pick that hero in this patch?",
    "this is a longer message with several clauses, some punctuation; and an ending.",
]


def _random_strings(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    alphabet = (
        list("abcdefghijklmnopqrstuvwxyz0123456789") * 4
        + list(".,!?;:\"'()[]{}<>*_~`-+=/#@")
        + list("éüñøçßàîõ")
        + list("日本語中文한국어привет")
        + ["🙂", "😂", "👍🏽", "🔥", "\u0301", "\u200d"]
    )
    out = []
    for _ in range(n):
        words = []
        for _ in range(rng.randint(1, 12)):
            words.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))))
        sep = rng.choice([" ", " ", " ", "  "])
        out.append(sep.join(words))
    return out


def long_text() -> str:
    words = ["the", "tank", "should", "hold", "the", "left", "flank", "while", "we", "push",
             "mid", "and", "the", "healer", "stays", "back", "gg", "wp", "café", "日本"]
    text = " ".join(words[i % len(words)] for i in range(400))
    return text[:1024]


def golden_texts() -> list[str]:
    """The ~200 golden inputs, in a fixed order."""
    texts = HAND_WRITTEN + [long_text(), long_text().upper()] + _random_strings(40)
    seen, out = set(), []
    for t in texts:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def write_golden(path: Path) -> int:
    """Writes the golden JSONL; returns the number of lines."""
    lines = []
    for text in golden_texts():
        indices, values = featurize(text)
        lines.append(json.dumps({"text": text, "indices": indices, "values": values},
                                ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)
