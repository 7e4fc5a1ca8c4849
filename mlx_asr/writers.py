"""Transcript writers (txt, json, srt, vtt, tsv), written atomically; subtitle cues come from `subtitles.cues`."""

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Union

from .result import Result
from .subtitles import cues

FORMATS = ("txt", "json", "srt", "vtt", "tsv")


def _timestamp(seconds: float, marker: str) -> str:
    ms = max(0, int(round(seconds * 1000)))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{marker}{ms:03d}"


def _one_line(text: str) -> str:
    """Subtitle-safe text: no blank lines (cue separators) and no "-->" (timing marker)."""
    return re.sub(r"\s+", " ", text).replace("-->", "->").strip()


def render_txt(result: Result) -> str:
    return result.text.strip() + "\n"


def render_json(result: Result) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"


def render_srt(result: Result) -> str:
    blocks = [f"{i}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{_one_line(s.text)}\n"
              for i, s in enumerate(cues(result), start=1)]
    return "\n".join(blocks)


def render_vtt(result: Result) -> str:
    blocks = [f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{_one_line(s.text)}\n" for s in cues(result)]
    return "\n".join(["WEBVTT\n"] + blocks)


def render_tsv(result: Result) -> str:
    rows = [f"{int(round(s.start * 1000))}\t{int(round(s.end * 1000))}\t{_one_line(s.text)}" for s in cues(result)]
    return "\n".join(["start\tend\ttext"] + rows) + "\n"


RENDERERS: Dict[str, Callable[[Result], str]] = {
    "txt": render_txt, "json": render_json, "srt": render_srt, "vtt": render_vtt, "tsv": render_tsv,
}


def expand_formats(output_format: Union[str, Iterable[str]]) -> List[str]:
    """["txt", ...] from "txt", "all" or a list; unknown formats raise ValueError."""
    names = [output_format] if isinstance(output_format, str) else list(output_format)
    out: List[str] = []
    for name in names:
        for fmt in FORMATS if name == "all" else [name]:
            if fmt not in RENDERERS:
                raise ValueError(f"unknown output format {fmt!r}; choose from {', '.join(FORMATS)}, all")
            if fmt not in out:
                out.append(fmt)
    return out


def atomic_write_text(path: Union[str, Path], text: str) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and a rename (never half-written)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_result(result: Result, output_dir: Union[str, Path], name: str,
                 output_format: Union[str, Iterable[str]] = "txt") -> List[Path]:
    """Write `result` as `<output_dir>/<name>.<ext>` for each format; returns the paths written."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    return [atomic_write_text(output_dir / f"{name}.{fmt}", RENDERERS[fmt](result))
            for fmt in expand_formats(output_format)]
