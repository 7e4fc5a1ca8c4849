"""Transcription result types."""

from dataclasses import asdict, dataclass, field
from typing import List, Optional

FINISH_REASONS = ("stop", "length", "repetition")


@dataclass
class Word:
    """One timed unit from the forced aligner: a word (punctuation stripped) or a single CJK character.

    Attributes:
        text: the unit.
        start: start time in seconds (80 ms resolution, rounded to ms).
        end: end time in seconds.
    """

    text: str
    start: float
    end: float


@dataclass
class Segment:
    """One decoded chunk of the audio (chunk-level until word timestamps exist).

    Attributes:
        start: start time in seconds.
        end: end time in seconds.
        text: parsed transcript of the chunk.
        language: language the model detected (or was forced to); "" when it heard no speech.
        finish_reason: "stop" (end of turn), "length" (token budget spent) or "repetition" (loop cut short).
        tokens: generated token ids.
        raw: decoded model output before parsing.
        words: word timestamps (with ``timestamps=True``; empty otherwise).
    """

    start: float
    end: float
    text: str
    language: str = ""
    finish_reason: str = "stop"
    tokens: List[int] = field(default_factory=list)
    raw: str = ""
    words: List[Word] = field(default_factory=list)


@dataclass
class Stats:
    """Timings in seconds, token counts and speed figures for one transcription."""

    duration: float = 0.0
    load_audio: float = 0.0
    encode: float = 0.0
    prefill: float = 0.0
    decode: float = 0.0
    align: float = 0.0
    total: float = 0.0
    prompt_tokens: int = 0
    generated_tokens: int = 0
    peak_memory_gb: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        """Decode speed: generated tokens per second of decoding (prefill excluded)."""
        return self.generated_tokens / self.decode if self.decode > 0 else 0.0

    @property
    def rtf(self) -> float:
        """Real-time factor: processing time over audio duration (below 1 is faster than real time)."""
        return self.total / self.duration if self.duration > 0 else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "tokens_per_second": self.tokens_per_second, "rtf": self.rtf}


@dataclass
class Result:
    """What `transcribe` returns.

    Attributes:
        text: full transcript (chunk texts joined with no separator, as the official package does).
        language: detected language(s), comma-joined in order of appearance ("" when no speech).
        segments: one `Segment` per chunk, with times.
        duration: audio duration in seconds.
        finish_reason: "stop" if every chunk ended normally, else the first abnormal chunk's reason.
        stats: timing figures.
        source: name of the input (a path, "-" for stdin, or None for arrays).
    """

    text: str
    language: str
    segments: List[Segment]
    duration: float
    finish_reason: str = "stop"
    stats: Stats = field(default_factory=Stats)
    source: Optional[str] = None

    @property
    def languages(self) -> List[str]:
        """Detected languages as a list."""
        return [x for x in self.language.split(",") if x]

    @property
    def words(self) -> List[Word]:
        """Every timed word, in order (empty unless transcribed with ``timestamps=True``)."""
        return [word for segment in self.segments for word in segment.words]

    def to_dict(self) -> dict:
        """JSON-serialisable dict: text, language, duration, finish_reason, segments, stats (and source)."""
        return {
            "text": self.text,
            "language": self.language,
            "duration": self.duration,
            "finish_reason": self.finish_reason,
            "source": self.source,
            "segments": [asdict(s) for s in self.segments],
            "stats": self.stats.to_dict(),
        }
