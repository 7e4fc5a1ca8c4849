"""Subtitle cues from word timestamps: the transcript's own words (punctuation kept) grouped into short lines.

The aligner times cleaned units (punctuation stripped, one unit per CJK ideograph). For display, each unit is given
back its surrounding punctuation from the transcript, then consecutive units are grouped into cues of at most
``max_chars`` characters and ``max_seconds`` seconds, breaking at pauses longer than ``max_gap`` and after
sentence-ending punctuation. Without word timestamps a segment is one cue.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence

from .result import Result, Segment, Word
from .words import clean, is_cjk_ideograph, split_words

MAX_CHARS = 42  # a common subtitle line limit
MAX_SECONDS = 6.0
MAX_GAP = 1.0
SENTENCE_END = tuple(".!?。！？")


@dataclass
class Cue:
    start: float
    end: float
    text: str


@dataclass
class _Piece:
    text: str  # as written in the transcript (punctuation included)
    spaced: bool  # a space precedes it
    units: int  # aligned units it covers


def _pieces(text: str, language: Optional[str]) -> List[_Piece]:
    """The transcript cut into displayable pieces, each covering one or more aligned units, in order."""
    pieces: List[_Piece] = []
    for token in text.split():
        spaced, current = True, ""
        for ch in token:
            if is_cjk_ideograph(ch):
                if current and clean(current):
                    pieces.append(_Piece(current, spaced, 0))
                    spaced, current = False, ""
                pieces.append(_Piece(current + ch, spaced, 1))
                spaced, current = False, ""
            else:
                current += ch
        if current and clean(current):
            pieces.append(_Piece(current, spaced, 0))
        elif current and pieces:  # trailing punctuation belongs to the piece before it
            pieces[-1].text += current
    for piece in pieces:
        if piece.units == 0:
            piece.units = len(split_words(piece.text, language))
    return pieces


def _timed_pieces(segment: Segment) -> List[tuple]:
    """(text, spaced, start, end) per piece; the aligned units themselves when the mapping does not line up."""
    words: Sequence[Word] = segment.words
    pieces = _pieces(segment.text, segment.language)
    if sum(p.units for p in pieces) != len(words) or any(p.units == 0 for p in pieces):
        return [(w.text, not (is_cjk_ideograph(w.text[:1]) and i and is_cjk_ideograph(words[i - 1].text[-1:])),
                 w.start, w.end) for i, w in enumerate(words)]
    timed, index = [], 0
    for piece in pieces:
        first, last = words[index], words[index + piece.units - 1]
        timed.append((piece.text, piece.spaced, first.start, last.end))
        index += piece.units
    return timed


def cues(result: Result, max_chars: int = MAX_CHARS, max_seconds: float = MAX_SECONDS,
         max_gap: float = MAX_GAP) -> List[Cue]:
    """Subtitle cues of a result: from its word timestamps when it has them, else one per non-empty segment."""
    out: List[Cue] = []
    for segment in result.segments:
        if not segment.text.strip():
            continue
        if not segment.words:
            out.append(Cue(segment.start, segment.end, segment.text.strip()))
            continue
        current: Optional[Cue] = None
        for text, spaced, start, end in _timed_pieces(segment):
            joined = f"{current.text} {text}" if current and spaced else (current.text + text if current else text)
            if current is not None and (len(joined) > max_chars or end - current.start > max_seconds
                                        or start - current.end > max_gap or current.text.endswith(SENTENCE_END)):
                out.append(current)
                current = None
                joined = text
            if current is None:
                current = Cue(start, end, joined)
            else:
                current.text, current.end = joined, max(current.end, end)
        if current is not None:
            out.append(current)
    return out
