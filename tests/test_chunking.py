"""Long-audio cut points against the official `split_audio_into_chunks` (goldens from build_transcription.py)."""

import json

import numpy as np
import pytest
import soundfile as sf
from helpers import asset, reference

from mlx_asr.chunking import DEFAULT_MAX_CHUNK_SECONDS, split_audio


def _load(clip):
    wav, sr = sf.read(str(asset("speech", "long", clip)), dtype="float32")
    assert sr == 16000 and wav.ndim == 1
    return wav


def test_cut_points_equal_official():
    goldens = json.loads(reference("transcription", "chunks.json").read_text())
    assert len(goldens) == 2
    for clip, golden in goldens.items():
        wav = _load(clip)
        assert wav.shape[0] == golden["samples"]
        assert np.abs(wav).astype(np.float64).sum() == pytest.approx(golden["sum_abs"], rel=1e-12)
        for max_seconds, expected in golden["chunks"].items():
            chunks = split_audio(wav, float(max_seconds))
            assert [len(c.audio) for c in chunks] == expected["lengths"], (clip, max_seconds)
            np.testing.assert_allclose([c.offset for c in chunks], expected["offsets"], rtol=0, atol=1e-9)


def test_chunks_tile_the_audio_without_loss():
    wav = _load("longform_en.wav")
    chunks = split_audio(wav, 20.0)
    assert len(chunks) > 5
    rebuilt = np.concatenate([c.audio[:c.length] for c in chunks])
    np.testing.assert_array_equal(rebuilt, wav)
    assert all(c.length <= 25 * 16000 for c in chunks)
    assert chunks[-1].end == pytest.approx(len(wav) / 16000)


def test_short_tail_is_padded_only_when_split():
    wav = np.random.default_rng(0).standard_normal(16000 * 10 + 1600).astype(np.float32)
    wav[16000 * 10 - 800: 16000 * 10 + 800] = 0.0  # silence right at the 10 s mark
    single = split_audio(wav[:3000], 10.0)
    assert len(single) == 1 and len(single[0].audio) == 3000
    chunks = split_audio(wav, 10.0)
    assert len(chunks) == 2
    assert chunks[1].length < 8000 and len(chunks[1].audio) == 8000
    assert not np.any(chunks[1].audio[chunks[1].length:])


def test_no_limit_and_bad_limit():
    wav = np.zeros(16000 * 100, dtype=np.float32)
    assert len(split_audio(wav, None)) == 1
    assert len(split_audio(wav)) == int(np.ceil(100 / DEFAULT_MAX_CHUNK_SECONDS))
    with pytest.raises(ValueError, match="positive"):
        split_audio(wav, 0)
