"""Goldens for the forced aligner's text side, from the official qwen-asr 0.0.6 package (run in .venv-ref).

Writes ``<out>/aligner_text/golden.json``:
- ``split``: ``Qwen3ForceAlignProcessor.encode_timestamp(text, language)`` (its unit list and input text) for every
  transcript of ``assets/speech/manifest.tsv`` in its own language and for hand-written edge strings under several
  languages; Japanese units come from nagisa, Korean ones from soynlp (recorded, but mlx-asr deliberately differs);
- ``repair``: ``fix_timestamp`` on random timestamp sequences (float32 ms arrays, as ``align`` passes them).
"""

import csv
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ASSETS, fingerprint, is_current, mark_current, parse_out_dir  # noqa: E402

MANIFEST = ASSETS / "speech" / "manifest.tsv"
LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "ru": "Russian", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "yue": "Cantonese", "ar": "Arabic",
    "nl": "Dutch", "tr": "Turkish", "hi": "Hindi", "th": "Thai", "vi": "Vietnamese", "id": "Indonesian",
    "pl": "Polish", "sv": "Swedish",
}
EDGE_STRINGS = [
    "",
    "   ",
    "\t\n\r",
    "...!?",
    "— – - , ; : ( ) [ ] { }",
    "don't stop 'til it's O'Brien's",
    "' '' '''",
    "rock-n-roll well-known e-mail",
    "3.14 1,000,000 42nd 2024-06-30",
    "½ ² Ⅻ ٣ ७",
    "hello世界foo",
    "你好，世界！",
    "甚至  出现  交易  几乎  停滞  的  情况",
    "Qwen3-ASR模型在2026年发布",
    "emoji 😀 inside😀word 👍🏽",
    "tabs\tand\nnewlines\r\nhere",
    "café naïve Zoë Ærø façade",
    "cafe\u0301 combining n\u0303 marks",
    "Привет, мир! Ёлка",
    "مرحبا بالعالم ١٢٣",
    "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３！",
    "全角　スペース　区切り",
    "𠀀𠀁 extension B 𪜀 C 𫝀 D 𫠠 E",
    "\u3400\u4dbf ext A \uf900\ufa0d compat",
    "〇一二三 々 〆",
    "東京タワーはabc 123です。",
    "カタカナ ひらがな 漢字",
    "그는 이리저리 피하면서 길 한 옆으로 걸어갔다",
    "안녕하세요, 세계! 韓國語 한글",
    "ΑΒΓ αβγ Ελληνικά",
    "עברית שלום",
    "हिन्दी भाषा",
    "ไทย ภาษา",
    "a\u200bzero\u200bwidth and\u00a0nbsp",
    "line\u2028sep\u2029para\x1cfs",
    "#hashtag @user $100 50% a&b",
    "C++ C# .NET x86_64",
    "ﬁ ligature Ǆ dz",
    "'quoted' \"double\" «guillemets» „low“",
    "mixed中文English混合text",
]
EDGE_LANGUAGES = ["English", "Chinese", "Korean"]
EDGE_CASE_VARIANTS = {"": ["hello, world!", "你好世界 abc"], "ENGLISH": ["Hello, World!"], "cHiNeSe": ["你好abc"],
                      "German": ["Grüße aus Köln"], "Cantonese": ["你哋好 ok"]}
JAPANESE_STRINGS = ["", "...!?", "東京タワーはabc 123です。", "カタカナ ひらがな 漢字", "全角　スペース　区切り",
                    "hello世界foo", "don't stop", "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３！", "〇一二三 々 〆",
                    "emoji 😀 inside😀word", "今日は良い天気ですね、散歩に行きましょう！", "客観的実在の判断的知識が成立するのである"]
REPAIR_SEED = 20260630
REPAIR_CASES = 300
STEP_MS = 80
MAX_MS = 400000


def manifest_transcripts():
    """(text, official language name) for every row of the speech manifest."""
    with open(MANIFEST, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [(row["reference"], LANGUAGE_NAMES.get(row["language"], "English")) for row in rows]


def split_cases():
    cases = list(manifest_transcripts())
    cases += [(text, language) for text in EDGE_STRINGS for language in EDGE_LANGUAGES]
    cases += [(text, language) for language, texts in EDGE_CASE_VARIANTS.items() for text in texts]
    cases += [(text, "Japanese") for text in JAPANESE_STRINGS]
    cases += [("東京タワーはabc 123です。", "JAPANESE"), ("東京タワーはabc 123です。", "japanese")]
    return cases


def build_split(processor):
    out = []
    for text, language in split_cases():
        words, input_text = processor.encode_timestamp(text, language)
        out.append({"text": text, "language": language, "words": list(words), "input_text": input_text})
    return out


def _monotone(rng, n):
    """Mostly increasing timestamps: cumulative steps of 0..4 slots from a random start."""
    start = int(rng.integers(0, 200)) * STEP_MS
    return start + np.cumsum(rng.integers(0, 5, n)) * STEP_MS


def repair_sequence(rng, shape, n):
    """One integer ms sequence (multiples of 80 within 0..400000) of the given shape."""
    top = MAX_MS // STEP_MS
    if shape == "outliers":
        seq = _monotone(rng, n)
        for pos in rng.choice(n, size=min(n, int(rng.integers(1, 6))), replace=False):
            seq[pos] = int(rng.integers(0, top + 1)) * STEP_MS
    elif shape == "runs":
        seq = _monotone(rng, n)
        for _ in range(int(rng.integers(1, 5))):
            length = int(rng.integers(1, 7))
            at = int(rng.integers(0, max(1, n - length + 1)))
            seq[at:at + length] = int(rng.integers(0, top + 1)) * STEP_MS
    elif shape == "jitter":
        seq = _monotone(rng, n) + rng.integers(-3, 4, n) * STEP_MS
    elif shape == "equal":
        seq = np.full(n, int(rng.integers(0, top + 1)) * STEP_MS)
    elif shape == "decreasing":
        seq = (top - np.arange(n) * int(rng.integers(1, 4)) - int(rng.integers(0, 100))) * STEP_MS
    elif shape == "few_values":
        seq = rng.integers(0, 6, n) * STEP_MS
    else:
        seq = rng.integers(0, top + 1, n) * STEP_MS
    return [int(v) for v in np.clip(seq, 0, MAX_MS)]


def build_repair(processor):
    rng = np.random.default_rng(REPAIR_SEED)
    shapes = ["outliers", "runs", "jitter", "equal", "decreasing", "few_values", "random"]
    out = []
    try:
        processor.fix_timestamp(np.zeros(0, dtype=np.float32))
    except ValueError as err:
        out.append({"shape": "empty", "values": [], "error": str(err)})
    for case in range(REPAIR_CASES):
        shape = shapes[case % len(shapes)]
        n = int(rng.integers(1, 401)) if case % 3 else int(rng.integers(1, 13))
        values = repair_sequence(rng, shape, n)
        fixed = processor.fix_timestamp(np.asarray(values, dtype=np.float32))
        out.append({"shape": shape, "values": values, "fixed": [int(v) for v in fixed]})
    return out


def main():
    out = parse_out_dir(__doc__) / "aligner_text"
    stamp = fingerprint(Path(__file__), MANIFEST)
    if is_current(out, stamp):
        print(f"{out}: current")
        return
    from qwen_asr.inference.qwen3_forced_aligner import Qwen3ForceAlignProcessor

    processor = Qwen3ForceAlignProcessor()
    golden = {"split": build_split(processor), "repair": build_repair(processor)}
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "golden.json.partial"
    partial.write_text(json.dumps(golden, ensure_ascii=False, indent=1))
    os.replace(partial, out / "golden.json")
    mark_current(out, stamp)
    print(f"{out}: written ({len(golden['split'])} splits, {len(golden['repair'])} repairs)")


if __name__ == "__main__":
    main()
