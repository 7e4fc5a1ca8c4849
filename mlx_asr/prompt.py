"""Tokenizer, prompt building, languages and output parsing (faithful to the official qwen-asr 0.0.6).

Every special id comes from the model folder (tokenizer files, config.json, generation_config.json), so checkpoints
with other vocabularies (e.g. the tiny espeak test model, ids 940-1001) work unchanged.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

ASR_TEXT_TAG = "<asr_text>"
LANGUAGE_PREFIX = "language "

# The 30 prompt languages of the official package (also `support_languages` in the released config.json).
SUPPORTED_LANGUAGES = (
    "Chinese", "English", "Cantonese", "Arabic", "German", "French", "Spanish", "Portuguese", "Indonesian", "Italian",
    "Korean", "Russian", "Thai", "Vietnamese", "Japanese", "Turkish", "Hindi", "Malay", "Dutch", "Swedish", "Danish",
    "Finnish", "Polish", "Czech", "Filipino", "Persian", "Greek", "Romanian", "Hungarian", "Macedonian",
)
# ISO 639-1 codes (639-3 where there is no 639-1 code, plus common aliases) accepted for `language=`.
LANGUAGE_CODES = {
    "zh": "Chinese", "en": "English", "yue": "Cantonese", "ar": "Arabic", "de": "German", "fr": "French",
    "es": "Spanish", "pt": "Portuguese", "id": "Indonesian", "it": "Italian", "ko": "Korean", "ru": "Russian",
    "th": "Thai", "vi": "Vietnamese", "ja": "Japanese", "tr": "Turkish", "hi": "Hindi", "ms": "Malay", "nl": "Dutch",
    "sv": "Swedish", "da": "Danish", "fi": "Finnish", "pl": "Polish", "cs": "Czech", "fil": "Filipino",
    "tl": "Filipino", "fa": "Persian", "el": "Greek", "ro": "Romanian", "hu": "Hungarian", "mk": "Macedonian",
}


def normalize_language_name(language: str) -> str:
    """Official Titlecase normalisation: 'cHINese' -> 'Chinese'."""
    s = str(language).strip()
    return s[:1].upper() + s[1:].lower()


def resolve_language(language: Optional[str], supported: Sequence[str] = SUPPORTED_LANGUAGES) -> Optional[str]:
    """Canonical prompt name for a language given by name ("english") or ISO code ("en"); None/"" means auto.

    Raises:
        ValueError: the language is not one the model supports (the message lists them).
    """
    if language is None or not str(language).strip() or str(language).strip().lower() == "auto":
        return None
    key = str(language).strip()
    name = LANGUAGE_CODES.get(key.lower(), normalize_language_name(key))
    if name not in supported:
        codes = {v: k for k, v in reversed(list(LANGUAGE_CODES.items()))}
        listed = ", ".join(f"{n} ({codes[n]})" if n in codes else n for n in supported)
        raise ValueError(f"unsupported language {language!r}; supported: {listed}")
    return name


def detect_and_fix_repetitions(text: str, threshold: int = 20) -> str:
    """The official clean-up: collapse a char run > threshold, and a 1-20 char pattern repeated >= threshold times."""
    text = _fix_char_repeats(text, threshold)
    return _fix_pattern_repeats(text, threshold)


def _fix_char_repeats(s: str, threshold: int) -> str:
    out, i = [], 0
    while i < len(s):
        count = 1
        while i + count < len(s) and s[i + count] == s[i]:
            count += 1
        out.append(s[i] if count > threshold else s[i:i + count])
        i += count
    return "".join(out)


def _fix_pattern_repeats(s: str, threshold: int, max_len: int = 20) -> str:
    n = len(s)
    if n < threshold * 2:
        return s
    out, i = [], 0
    while i <= n - threshold * 2:
        for k in range(1, max_len + 1):
            if i + k * threshold > n:
                break
            pattern = s[i:i + k]
            if all(s[i + rep * k:i + rep * k + k] == pattern for rep in range(1, threshold)):
                end = i + threshold * k
                while end + k <= n and s[end:end + k] == pattern:
                    end += k
                return "".join(out) + pattern + _fix_pattern_repeats(s[end:], threshold, max_len)
        out.append(s[i])
        i += 1
    return "".join(out) + s[i:]


def parse_asr_output(raw: Optional[str], forced_language: Optional[str] = None) -> Tuple[str, str]:
    """(language, text) from the decoded output, exactly as the official `parse_asr_output`.

    "language None<asr_text>" (no speech) gives ("", ""); a forced language is returned as is with the whole
    output as text.
    """
    s = str(raw).strip() if raw is not None else ""
    if not s:
        return "", ""
    s = detect_and_fix_repetitions(s)
    if forced_language:
        return forced_language, s
    if ASR_TEXT_TAG not in s:
        return "", s.strip()
    meta, text = s.split(ASR_TEXT_TAG, 1)
    if "language none" in meta.lower():
        return "", text.strip()
    language = ""
    for line in meta.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.lower().startswith(LANGUAGE_PREFIX):
            value = line[len(LANGUAGE_PREFIX):].strip()
            if value:
                language = normalize_language_name(value)
            break
    return language, text.strip()


def merge_languages(languages: Sequence[str]) -> str:
    """Per-chunk languages joined with ",", dropping empties and consecutive duplicates (official)."""
    out: List[str] = []
    for lang in languages:
        lang = (lang or "").strip()
        if lang and (not out or out[-1] != lang):
            out.append(lang)
    return ",".join(out)


@dataclass(frozen=True)
class SpecialTokens:
    """Special ids of one checkpoint, all read from its folder."""

    im_start: int
    im_end: int
    audio_start: int
    audio_end: int
    audio_pad: int
    asr_text: int
    stop_ids: Tuple[int, ...]


class PromptBuilder:
    """Tokenizer of a model folder plus the official ASR prompt (system turn always present).

    Args:
        folder: model folder with `vocab.json`, `merges.txt`, `tokenizer_config.json` (and optionally
            `config.json`, `generation_config.json`).
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.tokenizer = _load_tokenizer(self.folder)
        config = _read_json(self.folder / "config.json")
        thinker = config.get("thinker_config", config)
        self.languages: Tuple[str, ...] = tuple(config.get("support_languages") or SUPPORTED_LANGUAGES)
        names = _audio_token_names(self.folder / "tokenizer_config.json")
        tokens = {
            "im_start": self.token_id("<|im_start|>"),
            "im_end": self.token_id("<|im_end|>"),
            "audio_start": self.token_id(names["audio_bos_token"]),
            "audio_end": self.token_id(names["audio_eos_token"]),
            "audio_pad": self.token_id(names["audio_token"]),
            "asr_text": self.token_id(ASR_TEXT_TAG),
        }
        for key, config_key in (("audio_start", "audio_start_token_id"), ("audio_end", "audio_end_token_id"),
                                ("audio_pad", "audio_token_id")):
            if config_key in thinker and thinker[config_key] != tokens[key]:
                raise ValueError(f"{self.folder}: config.json {config_key}={thinker[config_key]} but the tokenizer "
                                 f"maps {names.get(key, key)!r} to {tokens[key]}")
        self.special = SpecialTokens(**tokens, stop_ids=self._stop_ids(tokens["im_end"]))

    def token_id(self, token: str) -> int:
        """Id of a (special) token of this tokenizer; ValueError when it has none."""
        token_id = self.tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == self.tokenizer.unk_token_id:
            raise ValueError(f"{self.folder}: the tokenizer has no token {token!r}")
        return int(token_id)

    def _stop_ids(self, im_end: int) -> Tuple[int, ...]:
        generation = _read_json(self.folder / "generation_config.json")
        eos = generation.get("eos_token_id")
        if eos is None:
            ids = [im_end, self.tokenizer.pad_token_id]
        else:
            ids = eos if isinstance(eos, list) else [eos]
        return tuple(sorted({int(i) for i in ids if i is not None}))

    def build(self, num_audio_tokens: int, context: str = "", language: Optional[str] = None) -> List[int]:
        """Token ids of the official prompt for one audio chunk.

        Args:
            num_audio_tokens: number of `<|audio_pad|>` placeholders (the encoder's output length).
            context: free text placed in the system turn (hotwords, background).
            language: canonical language name to force (see `resolve_language`), or None to let the model detect.
        """
        head = f"<|im_start|>system\n{context or ''}<|im_end|>\n<|im_start|>user\n"
        tail = "<|im_end|>\n<|im_start|>assistant\n"
        if language:
            tail += f"{LANGUAGE_PREFIX}{language}{ASR_TEXT_TAG}"
        s = self.special
        return (self.encode(head) + [s.audio_start] + [s.audio_pad] * num_audio_tokens + [s.audio_end]
                + self.encode(tail))

    def encode(self, text: str) -> List[int]:
        """Token ids of ``text`` (special tokens written in it are recognised; nothing is added)."""
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def decode(self, token_ids: Sequence[int]) -> str:
        """Text of generated ids, special tokens dropped but `<asr_text>` (not special) kept."""
        return self.tokenizer.decode(list(token_ids), skip_special_tokens=True, clean_up_tokenization_spaces=False)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _audio_token_names(tokenizer_config: Path) -> dict:
    config = _read_json(tokenizer_config)
    extra = config.get("extra_special_tokens") or {}
    defaults = {"audio_token": "<|audio_pad|>", "audio_bos_token": "<|audio_start|>",
                "audio_eos_token": "<|audio_end|>"}
    return {k: extra.get(k) or config.get(k) or v for k, v in defaults.items()}


def _load_tokenizer(folder: Path):
    missing = [n for n in ("vocab.json", "merges.txt", "tokenizer_config.json") if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(f"{folder}: tokenizer files missing: {', '.join(missing)}")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers import AutoTokenizer
    from transformers.utils import logging

    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # silences the harmless "incorrect regex pattern" notice the official code shows too
    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    finally:
        logging.set_verbosity(verbosity)
