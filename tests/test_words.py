"""Aligner word splitting against the official `encode_timestamp` (goldens from build_aligner_text.py)."""

import json
import sys
import types

import pytest
from helpers import reference

from mlx_asr.words import (NAGISA_HINT, WordSplitError, aligner_text, is_cjk_ideograph, split_on_whitespace,
                           split_words)

AUDIO_MARKERS = "<|audio_start|><|audio_pad|><|audio_end|>"


def _nagisa_installed() -> bool:
    try:
        import nagisa  # noqa: F401
    except ImportError:
        return False
    return True


def _golden_splits():
    return json.loads(reference("aligner_text", "golden.json").read_text())["split"]


def test_splits_equal_official_except_korean_and_japanese():
    cases = [c for c in _golden_splits() if c["language"].lower() not in ("korean", "japanese")]
    assert len(cases) >= 150
    for case in cases:
        words = split_words(case["text"], case["language"])
        assert words == case["words"], (case["text"], case["language"])
        if words:
            assert AUDIO_MARKERS + aligner_text(words) == case["input_text"]


def test_korean_uses_the_whitespace_rule():
    cases = [c for c in _golden_splits() if c["language"].lower() == "korean"]
    assert len(cases) >= 40
    differing = 0
    for case in cases:
        words = split_words(case["text"], case["language"])
        assert words == split_on_whitespace(case["text"]) == split_words(case["text"], "English")
        differing += words != case["words"]
    print(f"Korean: ours differs from soynlp on {differing}/{len(cases)} strings (documented)")


def test_japanese_equals_official_or_asks_for_nagisa():
    cases = [c for c in _golden_splits() if c["language"].lower() == "japanese"]
    assert len(cases) >= 10
    for case in cases:
        if _nagisa_installed():
            assert split_words(case["text"], case["language"]) == case["words"], case["text"]
        else:
            with pytest.raises(WordSplitError, match="pip install nagisa"):
                split_words(case["text"], case["language"])


def test_japanese_cleans_nagisa_words_without_splitting_ideographs(monkeypatch):
    seen = []

    def tagging(text):
        seen.append(text)
        return types.SimpleNamespace(words=["東京", "タワー", "は", "、", "abc", " ", "です", "。"])

    monkeypatch.setitem(sys.modules, "nagisa", types.SimpleNamespace(tagging=tagging))
    assert split_words("東京タワーは、abc です。", "JAPANESE") == ["東京", "タワー", "は", "abc", "です"]
    assert seen == ["東京タワーは、abc です。"]


def test_missing_nagisa_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "nagisa", None)  # makes `import nagisa` raise ImportError
    with pytest.raises(WordSplitError) as info:
        split_words("今日は", "Japanese")
    assert isinstance(info.value, ValueError)
    assert str(info.value) == NAGISA_HINT and "\n" not in NAGISA_HINT and "pip install nagisa" in NAGISA_HINT


def test_cjk_ideographs_are_units():
    assert split_words("交易停滞 的情况", "Chinese") == ["交", "易", "停", "滞", "的", "情", "况"]
    assert split_words("Qwen3模型abc", "English") == ["Qwen3", "模", "型", "abc"]
    assert split_words("𠀀x\uf900", None) == ["𠀀", "x", "\uf900"]
    assert is_cjk_ideograph("中") and is_cjk_ideograph("\U0002b820")
    assert not any(is_cjk_ideograph(ch) for ch in "あアa한〇々")


def test_cleaning_keeps_letters_numbers_and_apostrophes():
    assert split_words("Don't stop, O'Brien's 42nd... well-known!", "English") == \
        ["Don't", "stop", "O'Brien's", "42nd", "wellknown"]
    assert split_words("cafe\u0301 ½", "") == ["cafe", "½"]  # combining marks (M*) are dropped, N* kept
    assert split_words("' ''", "English") == ["'", "''"]


def test_punctuation_and_space_only_give_no_words():
    for text in ["", "   ", "\t\n", "...!? — ,;", "😀 👍🏽"]:
        assert split_words(text, "English") == []
        assert split_words(text, None) == []
        assert split_words(text, "Korean") == []


def test_language_is_case_insensitive_and_optional():
    text = "Hello, 世界 again"
    expected = ["Hello", "世", "界", "again"]
    for language in [None, "", "english", "ENGLISH", "Chinese", "Korean", "Cantonese", "Klingon"]:
        assert split_words(text, language) == expected


def test_aligner_text_form():
    assert aligner_text([]) == ""
    assert aligner_text(["a"]) == "a<timestamp><timestamp>"
    assert aligner_text(["hello", "世", "界"]) == \
        "hello<timestamp><timestamp>世<timestamp><timestamp>界<timestamp><timestamp>"
