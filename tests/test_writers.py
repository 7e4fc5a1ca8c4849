"""Writers: every format well-formed, atomic writes."""

import json
import re

import pytest

from mlx_asr.result import Result, Segment, Stats
from mlx_asr.writers import FORMATS, atomic_write_text, expand_formats, render_srt, render_vtt, write_result

SRT_TIME = r"(\d{2}):(\d{2}):(\d{2}),(\d{3})"
VTT_TIME = r"(\d{2}):(\d{2}):(\d{2})\.(\d{3})"


def _seconds(groups):
    h, m, s, ms = map(int, groups)
    return h * 3600 + m * 60 + s + ms / 1000


def parse_srt(text):
    """Strict SRT parser: numbered blocks, timing line, one or more text lines, blank-line separated."""
    cues = []
    for i, block in enumerate(text.strip("\n").split("\n\n"), start=1):
        lines = block.split("\n")
        assert lines[0] == str(i), block
        m = re.fullmatch(f"{SRT_TIME} --> {SRT_TIME}", lines[1])
        assert m, lines[1]
        assert len(lines) >= 3 and all(line.strip() for line in lines[2:]), block
        cues.append((_seconds(m.groups()[:4]), _seconds(m.groups()[4:]), "\n".join(lines[2:])))
    return cues


def parse_vtt(text):
    """Strict WebVTT parser: header, then blank-line separated cues."""
    head, *blocks = text.strip("\n").split("\n\n")
    assert head == "WEBVTT"
    cues = []
    for block in blocks:
        lines = block.split("\n")
        m = re.fullmatch(f"{VTT_TIME} --> {VTT_TIME}", lines[0])
        assert m, lines[0]
        assert len(lines) >= 2 and all(line.strip() for line in lines[1:]), block
        cues.append((_seconds(m.groups()[:4]), _seconds(m.groups()[4:]), "\n".join(lines[1:])))
    return cues


def make_result():
    segments = [
        Segment(0.0, 59.5, "Hello world.\n\nSecond --> line", "English", tokens=[1, 2]),
        Segment(59.5, 61.0, "", "", raw="language None<asr_text>"),
        Segment(61.0, 3725.25, "你好，世界。", "Chinese", finish_reason="repetition"),
    ]
    return Result(text="Hello world.\n\nSecond --> line你好，世界。", language="English,Chinese", segments=segments,
                  duration=3725.25, finish_reason="repetition", stats=Stats(duration=3725.25, total=10.0),
                  source="a.wav")


def test_srt_and_vtt_parse():
    result = make_result()
    srt, vtt = parse_srt(render_srt(result)), parse_vtt(render_vtt(result))
    expected = [(0.0, 59.5, "Hello world. Second -> line"), (61.0, 3725.25, "你好，世界。")]
    assert srt == expected and vtt == expected


def test_json_schema_and_tsv(tmp_path):
    paths = write_result(make_result(), tmp_path, "a", "all")
    assert sorted(p.suffix for p in paths) == sorted(f".{f}" for f in FORMATS)
    data = json.loads((tmp_path / "a.json").read_text())
    assert set(data) == {"text", "language", "duration", "finish_reason", "source", "segments", "stats"}
    assert data["language"] == "English,Chinese" and data["finish_reason"] == "repetition"
    assert [set(s) for s in data["segments"]] == [{"start", "end", "text", "language", "finish_reason", "tokens",
                                                   "raw", "words"}] * 3
    assert {"encode", "prefill", "decode", "tokens_per_second", "rtf"} <= set(data["stats"])
    assert data["stats"]["rtf"] == pytest.approx(10.0 / 3725.25)
    rows = (tmp_path / "a.tsv").read_text().splitlines()
    assert rows[0] == "start\tend\ttext" and rows[2] == "61000\t3725250\t你好，世界。"
    assert (tmp_path / "a.txt").read_text() == make_result().text + "\n"


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(target, "new \ud800")  # lone surrogate: fails while writing
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_expand_formats():
    assert expand_formats("all") == list(FORMATS)
    assert expand_formats(["srt", "all"]) == ["srt", "txt", "json", "vtt", "tsv"]
    with pytest.raises(ValueError, match="unknown output format 'doc'"):
        expand_formats("doc")
