"""End to end on the tiny trained espeak model: `load` + `model.transcribe` reproduce the official greedy outputs.

`testset/reference_outputs.tsv` holds, for 148 files, the official PyTorch model's generated ids and parsed
language/text (float32, windowed encoder, 1200 s chunk limit). One model load, all files (~40 s on 2 CPU cores).
"""

import csv
import time

import pytest
from helpers import asset

import mlx_asr

pytestmark = [pytest.mark.parity, pytest.mark.slow]


@pytest.fixture(scope="module")
def espeak():
    folder = asset("qwen3-asr-tiny-espeak")
    return folder, mlx_asr.load(folder, dtype="float32")


def test_every_testset_file_matches_official(espeak):
    folder, model = espeak
    with open(folder / "testset" / "reference_outputs.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert len(rows) == 148
    mismatches, seconds, start = [], 0.0, time.perf_counter()
    for row in rows:
        result = model.transcribe(str(folder / "testset" / row["file"]), max_chunk_seconds=1200)
        seconds += result.duration
        expected = [int(t) for t in row["generated_token_ids"].split()]
        got = [t for s in result.segments for t in s.tokens]
        if (got, result.language, result.text) != (expected, row["language"], row["text"]):
            mismatches.append(f"{row['file']}: ids {got[:12]}.. vs {expected[:12]}.., "
                              f"{result.language!r}/{result.text!r} vs {row['language']!r}/{row['text']!r}")
        assert len(result.segments) == 1 and result.segments[0].finish_reason == "stop"
    elapsed = time.perf_counter() - start
    print(f"\n148 files, {seconds:.0f} s of audio in {elapsed:.1f} s (RTF {elapsed / seconds:.3f})")
    assert not mismatches, f"{len(mismatches)} of 148 differ:\n" + "\n".join(mismatches)


def test_silence_is_no_speech(espeak):
    import numpy as np

    _, model = espeak
    result = model.transcribe(np.zeros(16000 * 2, dtype=np.float32))
    assert (result.text, result.language, result.finish_reason) == ("", "", "stop")
    assert result.segments[0].raw.startswith("language None")


def test_forced_language_and_chunked_long_file(espeak):
    folder, model = espeak
    with open(folder / "testset" / "manifest.tsv", newline="") as f:
        longest = max(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE), key=lambda r: float(r["duration_s"]))
    path = folder / "testset" / longest["file"]
    result = model.transcribe(str(path), max_chunk_seconds=20, language="en")
    assert len(result.segments) >= 3
    assert all(s.language == "English" for s in result.segments) and result.language == "English"
    assert result.segments[0].start == 0.0 and result.segments[-1].end == pytest.approx(result.duration)
    assert all(a.end == b.start for a, b in zip(result.segments, result.segments[1:]))
    assert result.text == "".join(s.text for s in result.segments) and result.text
    stats = result.stats
    assert stats.encode > 0 and stats.prefill > 0 and stats.decode > 0 and stats.rtf > 0
