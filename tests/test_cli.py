"""The `mlx-asr` CLI on the tiny trained espeak model and real clips: formats, stdin, batches with failures, errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import ROOT, asset
from test_writers import parse_srt, parse_vtt

from mlx_asr.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_dir():
    return str(asset("qwen3-asr-tiny-espeak"))


@pytest.fixture(scope="module")
def clips():
    return {"short": str(asset("speech", "en_misc", "jfk.wav")),
            "long": str(asset("speech", "long", "longform_en.wav")),
            "espeak": str(asset("qwen3-asr-tiny-espeak", "testset", "de_150.wav"))}


def run(args, input=None):
    return CliRunner().invoke(main, args, input=input, catch_exceptions=False)


def test_every_format_well_formed(model_dir, clips, tmp_path):
    r = run([clips["short"], clips["long"], "--model", model_dir, "-f", "all", "-o", str(tmp_path),
             "--max-chunk-seconds", "60"])
    assert r.exit_code == 0, r.stderr
    for stem, chunks in (("jfk", 1), ("longform_en", 3)):
        data = json.loads((tmp_path / f"{stem}.json").read_text())
        assert set(data) >= {"text", "language", "duration", "finish_reason", "segments", "stats"}
        assert len(data["segments"]) == chunks
        for seg in data["segments"]:
            assert {"start", "end", "text", "language", "finish_reason", "tokens"} <= set(seg)
            assert seg["finish_reason"] in ("stop", "length", "repetition") and 0 <= seg["start"] < seg["end"]
        assert data["segments"][-1]["end"] == pytest.approx(data["duration"])
        cues = [(s["start"], s["end"]) for s in data["segments"] if s["text"].strip()]
        for parsed in (parse_srt((tmp_path / f"{stem}.srt").read_text()),
                       parse_vtt((tmp_path / f"{stem}.vtt").read_text())):
            assert [(a, b) for a, b, _ in parsed] == [(pytest.approx(a, abs=1e-3), pytest.approx(b, abs=1e-3))
                                                      for a, b in cues]
        assert (tmp_path / f"{stem}.txt").read_text() == data["text"].strip() + "\n"
        rows = (tmp_path / f"{stem}.tsv").read_text().splitlines()
        assert rows[0] == "start\tend\ttext" and len(rows) == len(cues) + 1
        assert data["text"] in r.stdout
    assert not list(tmp_path.glob(".*.tmp"))


def test_stdin_matches_path(model_dir, clips, tmp_path):
    by_path = run([clips["espeak"], "--model", model_dir, "-f", "json", "-o", str(tmp_path)])
    data = Path(clips["espeak"]).read_bytes()
    by_stdin = run(["-", "--model", model_dir, "-f", "json", "-o", str(tmp_path)], input=data)
    assert by_path.exit_code == 0 and by_stdin.exit_code == 0, by_stdin.stderr
    from_path = json.loads((tmp_path / "de_150.json").read_text())
    from_stdin = json.loads((tmp_path / "stdin.json").read_text())
    assert from_stdin["source"] == "stdin" and from_stdin["language"] == "German"
    assert from_stdin["segments"][0]["tokens"] == from_path["segments"][0]["tokens"]


def test_batch_with_broken_files_continues(model_dir, clips, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    out = tmp_path / "out"
    r = run([clips["espeak"], str(broken), str(tmp_path / "missing.wav"), clips["short"], "--model", model_dir,
             "-o", str(out), "-q"])
    assert r.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["de_150.txt", "jfk.txt"]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 3 and "Traceback" not in r.stderr
    assert "broken.wav" in lines[0] and "missing.wav" in lines[1] and "2 of 4" in lines[2]
    assert r.stdout == ""


@pytest.mark.parametrize("case", ["bad_model", "language", "output_dir"])
def test_user_errors_are_one_line(case, model_dir, clips, tmp_path):
    args = [clips["espeak"], "--model", model_dir, "-o", str(tmp_path)]
    if case == "bad_model":
        args[2] = str(tmp_path)  # a folder without config.json
        expected = "cannot load model"
    elif case == "language":
        args += ["--language", "Klingon"]
        expected = "unsupported language 'Klingon'"
    else:
        (tmp_path / "file").write_text("x")
        args[4] = str(tmp_path / "file" / "sub")
        expected = "cannot create output directory"
    r = run(args)
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and expected in r.stderr


def test_entry_points(model_dir, clips, tmp_path):
    args = [clips["espeak"], "--model", model_dir, "-o", str(tmp_path), "-l", "de", "--no-loop-detection"]
    module = subprocess.run([sys.executable, "-m", "mlx_asr.transcribe", *args], capture_output=True, text=True,
                            cwd=ROOT)
    assert module.returncode == 0, module.stderr
    assert (tmp_path / "de_150.txt").read_text().strip() == module.stdout.strip() != ""
    script = Path(sys.executable).with_name("mlx-asr")
    listed = subprocess.run([str(script), "--list-languages"], capture_output=True, text=True)
    assert listed.returncode == 0 and "en\tEnglish" in listed.stdout and len(listed.stdout.splitlines()) == 30
