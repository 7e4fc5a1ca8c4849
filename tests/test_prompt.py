"""Prompt token ids, languages and output parsing against the official qwen-asr goldens (build_transcription.py)."""

import json

import pytest
from helpers import asset, reference

from mlx_asr.prompt import (PromptBuilder, SUPPORTED_LANGUAGES, detect_and_fix_repetitions, merge_languages,
                            parse_asr_output, resolve_language)

FOLDERS = ["qwen3-asr-0.6b", "qwen3-asr-tiny-espeak"]


@pytest.fixture(scope="module", params=FOLDERS)
def folder_and_builder(request):
    return request.param, PromptBuilder(asset(request.param))


def test_prompt_ids_equal_official(folder_and_builder):
    folder, builder = folder_and_builder
    cases = json.loads(reference("transcription", "prompts.json").read_text())[folder]
    assert len(cases) >= 40
    for case in cases:
        language = resolve_language(case["language_in"], builder.languages)
        assert language == case["language"]
        ids = builder.build(case["num_audio_tokens"], context=case["context"], language=language)
        assert ids == case["input_ids"], (case["context_name"], case["language"], case["seconds"])


def test_special_ids_come_from_the_folder():
    tiny = PromptBuilder(asset("qwen3-asr-tiny-espeak")).special
    real = PromptBuilder(asset("qwen3-asr-0.6b")).special
    assert (tiny.audio_start, tiny.audio_end, tiny.audio_pad, tiny.asr_text, tiny.im_end) == (966, 967, 973, 1001, 942)
    assert tiny.stop_ids == (940, 942)
    assert (real.audio_pad, real.asr_text, real.im_end) == (151676, 151704, 151645)
    assert real.stop_ids == (151643, 151645)


def test_decode_keeps_asr_text_and_drops_specials(folder_and_builder):
    _, builder = folder_and_builder
    ids = builder.encode("language English<asr_text>Hello world.") + [builder.special.im_end]
    assert builder.decode(ids) == "language English<asr_text>Hello world."


def test_parse_equals_official():
    goldens = json.loads(reference("transcription", "parsing.json").read_text())
    for case in goldens["parse"]:
        assert parse_asr_output(case["raw"]) == (case["language"], case["text"]), case["raw"]
        assert parse_asr_output(case["raw"], "English") == (case["forced_language"], case["forced_text"])
        assert detect_and_fix_repetitions(case["raw"]) == case["fixed"]
    for case in goldens["merge"]:
        assert merge_languages(case["langs"]) == case["merged"]


@pytest.mark.parametrize("given,expected", [("en", "English"), ("EN", "English"), ("english", "English"),
                                            ("zh", "Chinese"), ("yue", "Cantonese"), ("Macedonian", "Macedonian"),
                                            (None, None), ("", None), ("auto", None)])
def test_resolve_language(given, expected):
    assert resolve_language(given) == expected


def test_unknown_language_lists_supported():
    with pytest.raises(ValueError, match="unsupported language 'Klingon'") as err:
        resolve_language("Klingon")
    assert all(name in str(err.value) for name in SUPPORTED_LANGUAGES)
    assert "English (en)" in str(err.value)
    with pytest.raises(ValueError):
        resolve_language("English", supported=("German",))


def test_missing_tokenizer_files_fail_loudly(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocab.json"):
        PromptBuilder(tmp_path)
