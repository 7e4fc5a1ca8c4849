"""Goldens for the transcription layer, from the official qwen-asr 0.0.6 package (run in .venv-ref).

Writes ``<out>/transcription/``:
- ``prompts.json``: prompt strings and token ids from the official processor + ``apply_chat_template`` +
  ``Qwen3ASRModel._build_text_prompt``, for several contexts, forced languages and audio lengths, per model folder;
- ``parsing.json``: ``parse_asr_output`` / ``detect_and_fix_repetitions`` / ``merge_languages`` on tricky strings;
- ``chunks.json``: ``split_audio_into_chunks`` cut points on the long clips for several maxima.
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ASSETS, fingerprint, is_current, mark_current, parse_out_dir  # noqa: E402

MODEL_FOLDERS = ["qwen3-asr-0.6b", "qwen3-asr-tiny-espeak"]
CONTEXTS = {
    "none": "",
    "chinese": "交易 停滞",
    "english": "Glossary: EBITDA, non-GAAP, Qwen3-ASR.\nSpeakers: Zoë Ærø, O'Brien  (CFO)",
}
LANGUAGES = [None, "English", "chinese", "GERMAN", "Cantonese"]
SECONDS = [0.37, 3.0, 10.01]
LONG_CLIPS = ["longform_en.wav", "longform_de_fleurs.wav"]
MAX_CHUNK_SECONDS = [20, 30, 45, 60, 100, 1200]

RAW_OUTPUTS = [
    "language English<asr_text>Hello world.",
    "  language Chinese<asr_text>交易停滞。  ",
    "language None<asr_text>",
    "language None<asr_text>stray text",
    "language english\nsecond line<asr_text> text with spaces ",
    "no tag at all",
    "",
    "   ",
    "<asr_text>only text",
    "language German<asr_text>Guten Tag<asr_text>twice",
    "language English<asr_text>" + "ha" * 30,
    "language English<asr_text>" + "a" * 25 + " end",
    "language English<asr_text>start " + "I think. " * 25 + "done",
    "language English<asr_text>" + "像" * 119,
    "language English<asr_text>" + "abc" * 19 + "x",
    "language English<asr_text>" + "xy" * 21 + "z" + "pq" * 20,
    "language English<asr_text>" + "one two three four five six seven " * 21,
]


def build_prompts(Qwen3ASRModel, Qwen3ASRProcessor, normalize_language_name, validate_language):
    out = {}
    for folder_name in MODEL_FOLDERS:
        processor = Qwen3ASRProcessor.from_pretrained(str(ASSETS / folder_name))
        wrapper = Qwen3ASRModel.__new__(Qwen3ASRModel)  # only _build_text_prompt is used: needs .processor
        wrapper.processor = processor
        cases = []
        for context_name, context in CONTEXTS.items():
            for language in LANGUAGES:
                forced = None
                if language is not None:
                    forced = normalize_language_name(language)
                    validate_language(forced)
                for seconds in SECONDS:
                    wav = (0.05 * np.random.default_rng(0).standard_normal(int(seconds * 16000))).astype(np.float32)
                    text = wrapper._build_text_prompt(context=context, force_language=forced)
                    inputs = processor(text=[text], audio=[wav], return_tensors="np", padding=True)
                    ids = [int(i) for i in np.asarray(inputs["input_ids"])[0]]
                    pad = processor.tokenizer.convert_tokens_to_ids(processor.audio_token)
                    cases.append({
                        "context_name": context_name, "context": context, "language_in": language,
                        "language": forced, "seconds": seconds, "num_audio_tokens": ids.count(pad),
                        "prompt_text": text, "input_ids": ids,
                    })
        out[folder_name] = cases
    return out


def build_parsing(parse_asr_output, detect_and_fix_repetitions, merge_languages):
    cases = []
    for raw in RAW_OUTPUTS:
        lang, text = parse_asr_output(raw)
        forced_lang, forced_text = parse_asr_output(raw, user_language="English")
        cases.append({"raw": raw, "language": lang, "text": text, "forced_language": forced_lang,
                      "forced_text": forced_text, "fixed": detect_and_fix_repetitions(raw)})
    merges = [["Chinese", "English", "English"], ["", "English", "", "English", "German"], [], ["", ""]]
    return {"parse": cases, "merge": [{"langs": m, "merged": merge_languages(m)} for m in merges]}


def build_chunks(split_audio_into_chunks, normalize_audio_input):
    out = {}
    for clip in LONG_CLIPS:
        wav = normalize_audio_input(str(ASSETS / "speech" / "long" / clip))
        per_max = {}
        for max_sec in MAX_CHUNK_SECONDS:
            chunks = split_audio_into_chunks(wav=wav, sr=16000, max_chunk_sec=max_sec)
            per_max[str(max_sec)] = {"offsets": [float(o) for _, o in chunks],
                                     "lengths": [int(c.shape[0]) for c, _ in chunks]}
        out[clip] = {"samples": int(wav.shape[0]), "sum_abs": float(np.abs(wav).astype(np.float64).sum()),
                     "chunks": per_max}
    return out


def main():
    out = parse_out_dir(__doc__) / "transcription"
    inputs = [Path(__file__)] + [ASSETS / f / n for f in MODEL_FOLDERS
                                 for n in ("vocab.json", "merges.txt", "tokenizer_config.json", "chat_template.json")]
    inputs += [ASSETS / "speech" / "long" / c for c in LONG_CLIPS]
    stamp = fingerprint(*inputs)
    if is_current(out, stamp):
        print(f"{out}: current")
        return
    from qwen_asr.core.transformers_backend import Qwen3ASRProcessor
    from qwen_asr.inference.qwen3_asr import Qwen3ASRModel
    from qwen_asr.inference.utils import (detect_and_fix_repetitions, merge_languages, normalize_audio_input,
                                          normalize_language_name, parse_asr_output, split_audio_into_chunks,
                                          validate_language)

    out.mkdir(parents=True, exist_ok=True)
    goldens = {
        "prompts.json": build_prompts(Qwen3ASRModel, Qwen3ASRProcessor, normalize_language_name, validate_language),
        "parsing.json": build_parsing(parse_asr_output, detect_and_fix_repetitions, merge_languages),
        "chunks.json": build_chunks(split_audio_into_chunks, normalize_audio_input),
    }
    for name, data in goldens.items():
        (out / name).write_text(json.dumps(data, ensure_ascii=False, indent=1))
    mark_current(out, stamp)
    print(f"{out}: written")


if __name__ == "__main__":
    main()
