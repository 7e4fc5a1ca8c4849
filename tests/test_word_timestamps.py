"""`transcribe(..., timestamps=True)` and `mlx-asr --word-timestamps`: the trained tiny ASR model transcribes, the
random-weight aligner reference times the words (its times are meaningless, their bookkeeping is what is tested)."""

import json

import pytest
from click.testing import CliRunner

from helpers import asset, reference
from mlx_asr.aligner import ForcedAligner
from mlx_asr.audio import load_audio
from mlx_asr.cli import main
from mlx_asr.load import load
from mlx_asr.pipeline import transcribe
from mlx_asr.words import split_words
from test_writers import parse_srt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def asr():
    return load(asset("qwen3-asr-tiny-espeak"), dtype="float32")


@pytest.fixture(scope="module")
def aligner():
    return ForcedAligner(load(reference("models", "aligner", "model"), dtype="float32"))


def test_every_chunk_gets_its_words_at_its_offset(asr, aligner):
    result = transcribe(str(asset("speech", "long", "longform_en.wav")), model=asr, timestamps=True,
                        aligner=aligner, max_chunk_seconds=60)
    assert len(result.segments) == 3 and result.stats.align > 0
    for segment in result.segments:
        assert [w.text for w in segment.words] == split_words(segment.text, segment.language)
        times = [t for w in segment.words for t in (w.start, w.end)]
        assert times == sorted(times) and all(t >= segment.start for t in times)
    assert result.words == [w for s in result.segments for w in s.words] and len(result.words) > 20
    last = result.segments[-1]
    wav = load_audio(str(asset("speech", "long", "longform_en.wav")))[round(last.start * 16000):]
    alone = aligner.align(wav, last.text, last.language)
    assert [(w.text, round(w.start + last.start, 3), round(w.end + last.start, 3)) for w in alone] == [
        (w.text, w.start, w.end) for w in last.words]


def test_timestamps_cap_chunks_at_the_aligner_limit(asr, aligner, monkeypatch):
    import mlx_asr.pipeline as pipeline

    seen = []
    real_split = pipeline.split_audio
    monkeypatch.setattr(pipeline, "split_audio", lambda wav, seconds: seen.append(seconds) or real_split(wav, seconds))
    transcribe(str(asset("qwen3-asr-tiny-espeak", "testset", "de_150.wav")), model=asr, timestamps=True,
               aligner=aligner, max_chunk_seconds=None)
    assert seen == [180.0]


def test_cli_writes_words_and_word_cues(tmp_path):
    clip = asset("qwen3-asr-tiny-espeak", "testset", "de_150.wav")
    args = [str(clip), "--model", str(asset("qwen3-asr-tiny-espeak")), "--word-timestamps",
            "--aligner", str(reference("models", "aligner", "model")), "-f", "json", "-f", "srt", "-o", str(tmp_path),
            "--dtype", "float32", "-v"]
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    data = json.loads((tmp_path / "de_150.json").read_text())
    words = [w for s in data["segments"] for w in s["words"]]
    assert words and all(set(w) == {"text", "start", "end"} for w in words)
    parsed = parse_srt((tmp_path / "de_150.srt").read_text())
    assert len(parsed) >= 1 and parsed[0][0] == pytest.approx(words[0]["start"], abs=1e-3)
    assert "align" in r.stderr and f"({len(words)} words)" in r.stderr


def test_cli_refuses_an_asr_model_as_aligner(tmp_path):
    model = str(asset("qwen3-asr-tiny-espeak"))
    r = CliRunner().invoke(main, [str(asset("qwen3-asr-tiny-espeak", "testset", "de_150.wav")), "--model", model,
                                  "-t", "--aligner", model, "-o", str(tmp_path)])
    assert r.exit_code != 0 and "not a forced aligner" in r.stderr and len(r.stderr.strip().splitlines()) == 1
