"""The bench's audio: real speech clips of about 10 s, 30 s and 160 s, written once as float32 16 kHz .npy.

Every implementation gets the same samples (audio decoding is not timed). There is no ~30 s clip in the shared set,
so the 30 s clip is the first 30.00 s of the 162 s one.
"""

from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT.parent / "shared" / "assets" / "speech"
CLIPS = {  # name -> (file under speech/, seconds kept or None for all)
    "10s": ("fleurs/fleurs-en-000.wav", None),
    "30s": ("long/longform_en.wav", 30.0),
    "160s": ("long/longform_en.wav", None),
}
SAMPLE_RATE = 16000


def prepare(out_dir: Path, names=None) -> dict:
    """Write the clips (if absent) and return ``{name: {"path", "seconds", "source"}}``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    prepared = {}
    for name in names or CLIPS:
        source, keep = CLIPS[name]
        path = out_dir / f"{name}.npy"
        if not path.exists():
            audio, rate = soundfile.read(SPEECH / source, dtype="float32", always_2d=True)
            if rate != SAMPLE_RATE:
                raise ValueError(f"{source}: expected {SAMPLE_RATE} Hz, got {rate}")
            audio = audio.mean(axis=1)
            if keep is not None:
                audio = audio[: int(keep * SAMPLE_RATE)]
            np.save(path, audio.astype(np.float32))
        seconds = len(np.load(path, mmap_mode="r")) / SAMPLE_RATE
        prepared[name] = {"path": str(path), "seconds": seconds, "source": source}
    return prepared
