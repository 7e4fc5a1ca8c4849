"""The units that Qwen3-ForcedAligner puts a timestamp on, as the official `encode_timestamp` splits a transcript.

- Most languages (and no language at all): split on whitespace, keep only letters and numbers (Unicode categories
  L* and N*) and the apostrophe "'", drop what ends up empty, and make every CJK ideograph a unit of its own.
- Japanese: the words of the `nagisa` tagger, cleaned the same way but with no per-ideograph split. nagisa is not
  a dependency of mlx-asr; it is imported on first use and its absence raises `WordSplitError`.
- Korean: **a deliberate difference from the official package.** It splits with soynlp's `LTokenizer` scored by a
  dictionary bundled inside qwen-asr, which we cannot ship; here Korean follows the whitespace rule, so each cleaned
  eojeol is one unit (the official splits some of them, e.g. "피하면서" into "피하" + "면서", and it keeps runs of
  hanja whole where the whitespace rule makes each ideograph a unit).

The aligner reads one start and one end slot after every unit: `aligner_text` builds that part of its input.
"""

import unicodedata
from typing import List, Optional, Tuple

TIMESTAMP_TOKEN = "<timestamp>"
SLOTS_PER_WORD = 2  # a start and an end timestamp after every unit

# Code-point ranges that the official processor treats as CJK ideographs (one unit each).
CJK_RANGES: Tuple[Tuple[int, int], ...] = (
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0x3400, 0x4DBF),  # Extension A
    (0x20000, 0x2A6DF),  # Extension B
    (0x2A700, 0x2B73F),  # Extension C
    (0x2B740, 0x2B81F),  # Extension D
    (0x2B820, 0x2CEAF),  # Extension E
    (0xF900, 0xFAFF),  # Compatibility Ideographs
)

NAGISA_HINT = "Japanese word timestamps need the nagisa tokenizer: pip install nagisa"


class WordSplitError(ValueError):
    """A transcript cannot be split into aligner units (e.g. Japanese without nagisa installed)."""


def is_cjk_ideograph(ch: str) -> bool:
    """True when the character lies in one of the official CJK ideograph ranges."""
    code = ord(ch)
    return any(low <= code <= high for low, high in CJK_RANGES)


def keeps(ch: str) -> bool:
    """True for the characters a unit keeps: letters, numbers (categories L*, N*) and the apostrophe."""
    return ch == "'" or unicodedata.category(ch)[0] in ("L", "N")


def clean(token: str) -> str:
    """`token` without the characters that `keeps` rejects (punctuation, symbols, marks, spaces...)."""
    return "".join(ch for ch in token if keeps(ch))


def split_ideographs(segment: str) -> List[str]:
    """Cut `segment` so that each CJK ideograph is its own piece, the runs between them staying whole."""
    pieces: List[str] = []
    run_start = 0
    for pos, ch in enumerate(segment):
        if is_cjk_ideograph(ch):
            if pos > run_start:
                pieces.append(segment[run_start:pos])
            pieces.append(ch)
            run_start = pos + 1
    if run_start < len(segment):
        pieces.append(segment[run_start:])
    return pieces


def split_on_whitespace(text: str) -> List[str]:
    """The whitespace rule: cleaned whitespace-separated segments, CJK ideographs split off one by one."""
    units: List[str] = []
    for segment in text.split():
        units.extend(split_ideographs(clean(segment)))
    return units


def split_japanese(text: str) -> List[str]:
    """nagisa's words, cleaned, empty ones dropped (no per-ideograph split: kanji compounds stay whole).

    Raises:
        WordSplitError: nagisa is not installed.
    """
    try:
        import nagisa
    except ImportError as err:
        raise WordSplitError(NAGISA_HINT) from err
    cleaned = (clean(word) for word in nagisa.tagging(text).words)
    return [word for word in cleaned if word]


def split_words(text: str, language: Optional[str]) -> List[str]:
    """The units the forced aligner times for `text` in `language` (a name such as "English", any case).

    None or "" (no language known) and every language but Japanese use the whitespace rule; Korean does too (a
    documented difference, see the module docstring).

    Raises:
        WordSplitError: Japanese text while nagisa is not installed.
    """
    if (language or "").lower() == "japanese":
        return split_japanese(text)
    return split_on_whitespace(text)


def aligner_text(words: List[str]) -> str:
    """The text part of the aligner input: each unit followed by its start and end slots, no separators.

    An empty list gives "" (there is nothing to align; the caller refuses it).
    """
    slots = TIMESTAMP_TOKEN * SLOTS_PER_WORD
    return "".join(word + slots for word in words)
